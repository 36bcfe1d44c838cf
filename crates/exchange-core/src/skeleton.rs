//! The skeleton: the directories some pod's subPath goes through, and who may change them.
//!
//! kubelet resolves a subPath following symlinks and only checks that the result stays in
//! the volume. So whoever can rename or replace a directory on another pod's subPath can
//! point that pod elsewhere: an instructor of C (uid 1000, read-write on `C/`) who renames
//! `C/inbound/alice` away and links `C/inbound/alice -> ../../D/inbound/victim` gives
//! alice's next pod D's inbox. Renaming, replacing or removing an entry needs write
//! permission on its parent directory, and the owner of a directory can always grant
//! themselves that (`chmod`). Hence the rule (docs/security.md, "The skeleton"):
//!
//! * the directories whose entries are subPaths or lead to them (`{root}`, `C`, `C/inbound`,
//!   `C/feedback_public`) are owned by the **keeper** (a uid no notebook pod runs as; root
//!   by default, the export's anonymous uid on a `root_squash` export) and not writable by
//!   the group: [`Shape::Sealed`], 2755 (setgid, so what kubelet creates in them gets the
//!   pods' group);
//! * the directories pods write inside (`C/outbound`, `C/inbound/{s}`,
//!   `C/feedback_public/{s}`, `C/.nbk8s-removed`, `C/.nbk8s-notary`) are owned by the keeper
//!   too, and group-writable with setgid for the pods' group (the `fsGroup`, 100):
//!   [`Shape::Shared`], 2775. Their own entries are not on anyone's subPath.
//!
//! A pod (uid 1000) then cannot rename, replace, remove or `chmod` any of them; an instructor
//! still releases, removes submissions and releases feedback inside them. A student's
//! directories can be created at spawn by the keeper (the hub when it runs as the keeper)
//! or, when the hub cannot, by kubelet itself: kubelet creates a missing subPath as root
//! with the volume root's mode (2775), which is the shape wanted.
//!
//! The volume root is [`Shape::Shared`]-like (2775, group = fsGroup) because kubelet's
//! `fsGroupChangePolicy: OnRootMismatch` needs exactly that to leave the volume alone; no
//! notebook pod mounts it, so its group write reaches only the hub, the notary and Jobs.

use std::path::PathBuf;

use crate::layout::Course;
use crate::seals::COPIES_DIR;

/// Who owns the skeleton.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owners {
    /// Owner of every skeleton directory: a uid no notebook pod runs as.
    pub keeper: u32,
    /// Their group: the pods' group (`fsGroup`), which writes inside the shared ones.
    pub gid: u32,
}

/// The keeper's uid unless told otherwise: root, which no notebook pod runs as (kubelet
/// creates missing subPaths as root too).
pub const DEFAULT_KEEPER_UID: u32 = 0;

/// The mode of the volume root ([`Shape::Shared`]'s, which kubelet's `OnRootMismatch`
/// policy checks for).
pub const ROOT_MODE: u32 = 0o2775;

/// What a skeleton directory must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Keeper-owned, 2755: only the keeper adds, renames or removes entries in it (setgid:
    /// kubelet's directories in it get the group).
    Sealed,
    /// Keeper-owned, 2775: the pods' group writes inside (its entries are nobody's subPath).
    Shared,
}

impl Shape {
    /// The exact permission bits.
    pub fn mode(self) -> u32 {
        match self {
            Shape::Sealed => 0o2755,
            Shape::Shared => 0o2775,
        }
    }

    /// How messages name it.
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Sealed => "sealed (keeper-owned, 2755: no pod can rename what is in it)",
            Shape::Shared => "shared (keeper-owned, 2775: the pods' group writes inside)",
        }
    }
}

/// The course's own skeleton directories, parents first: `C`, `outbound`, `inbound`,
/// `feedback_public`, `.nbk8s-removed`, `.nbk8s-notary`.
pub fn course_dirs(course: &Course) -> Vec<(PathBuf, Shape)> {
    vec![
        (course.dir().to_path_buf(), Shape::Sealed),
        (course.outbound(), Shape::Shared),
        (course.inbound(), Shape::Sealed),
        (course.feedback_public(), Shape::Sealed),
        (course.removed(), Shape::Shared),
        (course.dir().join(COPIES_DIR), Shape::Shared),
    ]
}

/// How many directories [`student_dirs`] gives.
pub const STUDENT_DIRS: usize = 2;

/// A student's own directories: `inbound/{s}` and `feedback_public/{s}` (the id must have
/// been validated).
pub fn student_dirs(course: &Course, student: &str) -> [(PathBuf, Shape); STUDENT_DIRS] {
    [
        (course.inbound().join(student), Shape::Shared),
        (course.feedback_public().join(student), Shape::Shared),
    ]
}
