//! What kubelet's fsGroup step legitimately does to the exchange, so `audit` can tell it from
//! real problems.
//!
//! On storage whose driver manages ownership (csi-driver-nfs with `fsGroupPolicy: File`), kubelet
//! applies a pod's `securityContext.fsGroup` to the whole volume when the pod starts: each
//! entry's group becomes the fsGroup, its mode gains owner and group read-write, and a
//! directory also gains owner and group search and the setgid bit (kubernetes
//! `pkg/volume/volume_linux.go`). It only ever adds those bits: never world access, never
//! another owner. New entries in a setgid directory then inherit its group and, for
//! directories, the setgid bit.

use exchange_core::walk::{Kind, Seen};

/// The mode bits kubelet may add to a directory (`0660 | 0110 | setgid`).
const DIR_BITS: u32 = 0o2770;
/// The mode bits kubelet may add to anything else (`0660`).
const FILE_BITS: u32 = 0o660;

/// True when `seen` is the provisioned `uid`:`gid` with `mode`, changed only by kubelet's
/// fsGroup step for `fs_group`: group `gid` or `fs_group`, and its mode the provisioned one
/// plus some of the bits kubelet adds. False for anything else, including when nothing
/// differs (there is nothing to explain) and for links and special files.
pub fn only_kubelet_bits(seen: &Seen, uid: u32, gid: u32, mode: u32, fs_group: u32) -> bool {
    let added = match seen.kind {
        Kind::Dir => DIR_BITS,
        _ => FILE_BITS,
    };
    let differs = seen.gid != gid || seen.mode != mode;
    let mode_ok = seen.mode & mode == mode && seen.mode & !(mode | added) == 0;
    differs && kubelet_owner(seen, uid, gid, fs_group) && mode_ok
}

/// True when `seen` (a file or directory) has the owner `uid` and the group `gid` or
/// `fs_group`: what kubelet's chgrp leaves, for entries whose mode is not checked.
pub fn kubelet_owner(seen: &Seen, uid: u32, gid: u32, fs_group: u32) -> bool {
    matches!(seen.kind, Kind::Dir | Kind::File)
        && seen.uid == uid
        && (seen.gid == gid || seen.gid == fs_group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exchange_core::walk::Meta;
    use std::path::PathBuf;

    fn seen(kind: Kind, uid: u32, gid: u32, mode: u32) -> Seen {
        Seen {
            path: PathBuf::from("/x"),
            name: "x".into(),
            depth: 1,
            meta: Meta {
                kind,
                uid,
                gid,
                mode,
                size: 0,
                ctime: 0,
                mtime: 0,
            },
        }
    }

    #[test]
    fn kubelets_bits_on_a_provisioned_dir() {
        let ok = |gid, mode| {
            only_kubelet_bits(&seen(Kind::Dir, 1000, gid, mode), 1000, 100, 0o755, 1000)
        };
        assert!(ok(1000, 0o2775)); // walked with fsGroup 1000
        assert!(ok(100, 0o2775)); // walked with fsGroup 100: only the mode differs
        assert!(ok(1000, 0o2755)); // created later in a walked (setgid) dir
        assert!(!ok(100, 0o755)); // as provisioned: nothing to explain
        assert!(!ok(1000, 0o2777)); // world-writable is never kubelet's
        assert!(!ok(1000, 0o700)); // kubelet only adds bits
        assert!(!ok(4242, 0o2775)); // another group
        assert!(!only_kubelet_bits(
            &seen(Kind::Dir, 0, 1000, 0o2775),
            1000,
            100,
            0o755,
            1000
        ));
    }

    #[test]
    fn kubelets_bits_on_a_file_and_never_on_links() {
        let f =
            |mode| only_kubelet_bits(&seen(Kind::File, 1000, 1000, mode), 1000, 100, 0o644, 1000);
        assert!(f(0o664));
        assert!(!f(0o2664)); // setgid is kubelet's on directories only
        assert!(!f(0o666));
        assert!(!only_kubelet_bits(
            &seen(Kind::Symlink, 1000, 1000, 0o777),
            1000,
            100,
            0o644,
            1000
        ));
    }
}
