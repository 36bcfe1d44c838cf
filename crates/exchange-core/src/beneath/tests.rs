use super::*;
use std::os::unix::fs::symlink;

/// `{t}/root` with two courses, a student in both, and `{t}/outside`.
fn volume() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    for dir in [
        "A/inbound/alice",
        "B/inbound/victim",
        "A/feedback_public/alice",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("B/inbound/victim/secret"), b"B's").unwrap();
    std::fs::write(root.join("A/inbound/alice/mine"), b"A's").unwrap();
    std::fs::create_dir(t.path().join("outside")).unwrap();
    (t, root)
}

const DIR: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY);

/// Open `rest` under the root by one method; the error's errno when it fails.
fn by(root: &Path, rest: &str, flags: OFlags, openat2: bool) -> std::result::Result<(), Errno> {
    let base = rfs::openat(CWD, root, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match resolve(base.as_fd(), Path::new(rest), flags, Mode::empty(), openat2) {
        Ok(_) => Ok(()),
        Err(e) => Err(Errno::from_io_error(&e).expect("an errno")),
    }
}

#[test]
fn both_methods_open_real_paths_and_refuse_a_link_in_any_component() {
    let (t, root) = volume();
    // A link in the middle of a path (an instructor's swap), as the last component, an
    // absolute one, one pointing inside the same course, and `..`.
    std::fs::rename(root.join("A/inbound"), root.join("A/inbound-old")).unwrap();
    symlink("../B/inbound", root.join("A/inbound")).unwrap();
    symlink(
        root.join("B/inbound/victim"),
        root.join("A/feedback_public/bob"),
    )
    .unwrap();
    symlink("alice", root.join("A/feedback_public/carol")).unwrap();
    symlink(t.path().join("outside"), root.join("A/out")).unwrap();
    for openat2 in [true, false] {
        let ok = |rest: &str, flags| by(&root, rest, flags, openat2);
        assert_eq!(ok("A/inbound-old/alice/mine", OFlags::RDONLY), Ok(()));
        assert_eq!(ok("A/inbound-old/alice", DIR), Ok(()));
        assert_eq!(ok("", DIR), Ok(()));
        assert_eq!(
            ok("A/inbound/victim/secret", OFlags::RDONLY),
            Err(Errno::LOOP),
            "{openat2}"
        );
        assert_eq!(ok("A/inbound/victim", DIR), Err(Errno::LOOP));
        assert!(ok("A/inbound", DIR).is_err());
        assert!(ok("A/feedback_public/bob", DIR).is_err());
        assert!(
            ok("A/feedback_public/carol", DIR).is_err(),
            "even a link within the course"
        );
        assert!(ok("A/out", OFlags::PATH | OFlags::DIRECTORY).is_err());
        assert!(ok("A/out", DIR).is_err());
        assert_eq!(
            ok("A/../B/inbound/victim/secret", OFlags::RDONLY),
            Err(Errno::XDEV)
        );
        assert_eq!(ok("A/missing/x", OFlags::RDONLY), Err(Errno::NOENT));
    }
}

#[test]
fn an_anchored_path_names_the_link_and_an_unanchored_one_is_opened_as_given() {
    let (t, root) = volume();
    anchor(&root).unwrap();
    std::fs::rename(root.join("A/feedback_public"), root.join("A/fp-old")).unwrap();
    symlink("../B/inbound", root.join("A/feedback_public")).unwrap();
    let err = open(
        &root.join("A/feedback_public/victim/secret"),
        OFlags::RDONLY,
        Mode::empty(),
    )
    .unwrap_err();
    let shown = root.join("A/feedback_public");
    assert!(
        err.to_string()
            .contains(&format!("{} is a symbolic link", shown.display())),
        "{err}"
    );
    assert_eq!(
        first_link(&root.join("A/feedback_public/victim")),
        Some(shown)
    );
    assert_eq!(first_link(&root.join("A/fp-old/alice")), None);
    // Outside the anchor: the caller's own paths, links and all.
    symlink(t.path().join("outside"), t.path().join("home-link")).unwrap();
    assert!(open(&t.path().join("home-link/."), DIR, Mode::empty()).is_ok());
    // The anchor itself may be reached through a link (it is configuration).
    let linked_root = t.path().join("root-link");
    symlink(&root, &linked_root).unwrap();
    anchor(&linked_root).unwrap();
    assert!(open(&linked_root.join("A/fp-old/alice"), DIR, Mode::empty()).is_ok());
    assert!(open(
        &linked_root.join("A/feedback_public/victim"),
        DIR,
        Mode::empty()
    )
    .is_err());
}

#[test]
fn parent_is_held_without_links_on_the_way() {
    let (_t, root) = volume();
    anchor(&root).unwrap();
    let (dir, name) = parent(&root.join("A/inbound/alice/new")).unwrap();
    assert_eq!(name, "new");
    rfs::mkdirat(&dir, &name, Mode::from_raw_mode(0o755)).unwrap();
    assert!(root.join("A/inbound/alice/new").is_dir());
    symlink("../B", root.join("A/sneaky")).unwrap();
    assert!(parent(&root.join("A/sneaky/inbound/x")).is_err());
}

#[test]
fn a_replaced_root_is_seen_as_it_is_now() {
    let (_t, root) = volume();
    anchor(&root).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::create_dir_all(root.join("C/outbound")).unwrap();
    anchor(&root).unwrap();
    assert!(open(&root.join("C/outbound"), DIR, Mode::empty()).is_ok());
}
