"""Hostile students: what a student can plant in their own inbound mount, met by the
instructor's real `nbgrader collect` and `nbgrader list --inbound`.

A student owns a read-write mount of ``inbound/{student}`` and can put anything there, not only
what `nbgrader submit` writes. One course holds one student per hostile pattern next to honest
ones; collect and list run once (module fixture) and each test checks one pattern: the bad entry
is skipped or flagged with a warning naming the student and the path, nothing outside the
student's tree is read, and every other student is still collected and listed.
"""

import datetime
import fcntl
import os
import shutil
import stat

import pytest

from nbgrader_k8s_exchange.demo import Course

CAPS = (
    "c.Exchange.max_files = 40\n"
    "c.Exchange.max_depth = 4\n"
    "c.CourseDirectory.max_file_size = 100\n"  # kB
)
HONEST = ("alice", "carol", "frank", "gina", "ivy", "judy", "kate", "mia", "olga")


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


class Scene:
    """The course, the secret a student must never reach, and what collect/list printed."""

    def __init__(self, base, create=True):
        self.course = Course(base, extra_config=CAPS)
        self.secret_dir = base / "secret"
        if create:
            self.secret_dir.mkdir()
            (self.secret_dir / "answers.txt").write_text("THE SECRET ANSWERS")
        self.inbound = self.course.exchange / "course101" / "inbound"
        self.submitted = self.course.instructor_dir / "submitted"

    def plant(self, student, name=None, timestamp=None):
        """A copy of alice's real submission as ``student``'s, under ``name``."""
        [real] = [p for p in (self.inbound / "alice").iterdir() if not p.name.startswith(".")]
        timestamp = timestamp or _now()
        dest = self.inbound / student / (name or f"ps1+{timestamp}+planted0000")
        shutil.copytree(real, dest)
        (dest / "timestamp.txt").write_text(timestamp)
        return dest


@pytest.fixture(scope="module")
def scene(tmp_path_factory, worker_id):
    """Built once per test session, even with several xdist workers (each CLI call costs
    seconds): the first worker builds it under a lock, the others read its outputs."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    base = shared / "hostile-scene"
    with open(shared / "hostile-scene.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / "done").exists():
            if base.exists():
                shutil.rmtree(base)  # a worker died half-way: start over
            base.mkdir()
            s = _build(base)
            (base / "collect.out").write_text(s.collect)
            (base / "list.out").write_text(s.listing)
            (base / "done").touch()
    s = Scene(base, create=False)
    s.collect = (base / "collect.out").read_text()
    s.listing = (base / "list.out").read_text()
    return s


def _build(base):
    s = Scene(base)
    course = s.course
    course.create_assignment("ps1")
    course.instructor("release_assignment", "ps1")
    course.submit_answer("alice", "ps1", True)

    # Symlinks at depth, to a secret file and to a secret directory.
    carol = s.plant("carol")
    (carol / "sub" / "deeper").mkdir(parents=True)
    os.symlink(s.secret_dir / "answers.txt", carol / "sub" / "deeper" / "leak.txt")
    os.symlink(s.secret_dir / "answers.txt", carol / "stolen.ipynb")
    os.symlink(s.secret_dir, carol / "sub" / "secretdir")
    # The submission directory itself a symlink.
    (s.inbound / "dave").mkdir()
    os.symlink(s.secret_dir, s.inbound / "dave" / f"ps1+{_now()}+linkedsubmis")
    # inbound/{student} itself a symlink (to another student's inbox and to the secret).
    os.symlink(s.inbound / "alice", s.inbound / "erin")
    os.symlink(s.secret_dir, s.inbound / "erin2")
    # A fifo (would hang a reader that opens it), a socket, a character device.
    frank = s.plant("frank")
    os.mkfifo(frank / "pipe.ipynb")
    os.mknod(frank / "sock", stat.S_IFSOCK | 0o644)  # what bind(2) of a unix socket makes
    os.mknod(frank / "null", stat.S_IFCHR | 0o644, os.makedev(1, 3))
    # Oversized file (over max_file_size=100 kB).
    (s.plant("gina") / "huge.bin").write_bytes(b"\0" * 300_000)
    # Too many files (over max_files=40): the whole submission is refused.
    hank = s.plant("hank")
    for i in range(60):
        (hank / f"f{i}.txt").write_text(str(i))
    # Too deep (over max_depth=4).
    deep = s.plant("ivy") / "a" / "b" / "c" / "d" / "e"
    deep.mkdir(parents=True)
    (deep / "buried.txt").write_text("deep")
    # A name claiming another student (the earlier plugin's legacy layout).
    s.plant("judy", name=f"alice+ps1+{_now()}+foreignname0")
    # Non-UTF-8 names: a file inside a submission, an entry of the inbox, a student dir.
    kate = s.plant("kate")
    with open(os.path.join(bytes(kate), b"caf\xe9.txt"), "w") as f:
        f.write("latin-1 name")
    os.mkdir(os.path.join(bytes(s.inbound / "kate"), b"ps1+\xff+r"))
    os.mkdir(os.path.join(bytes(s.inbound), b"st\xffdent"))
    # Malformed submission names.
    for bad in ("notes", "ps1+onlyoneplus", "ps1+yesterday+r"):
        (s.inbound / "leo" / bad).mkdir(parents=True)
    # A malformed timestamp.txt.
    (s.plant("mia") / "timestamp.txt").write_text("the day before the deadline")
    # A file where a student's inbox belongs.
    (s.inbound / "nina").write_text("not a directory")
    # Backdated: claims 2020 but the filesystem saw it written now.
    s.plant("olga", timestamp="2020-01-01 00:00:00.000000 UTC")

    s.collect = course.instructor("collect", "ps1")
    s.listing = course.instructor("list", "--inbound")
    return s


def _warned(output, *parts):
    return any(all(p in line for p in parts) for line in output.splitlines())


def test_honest_students_are_all_collected_and_listed(scene):
    for student in HONEST:
        assert (scene.submitted / student / "ps1" / "squares.ipynb").is_file(), student
        assert f"course101 {student} ps1" in scene.listing, student
    assert f"Processing {len(HONEST)} submissions" in scene.collect
    # Nothing anywhere holds the secret: no link was followed.
    for path in scene.submitted.rglob("*"):
        if path.is_file():
            assert b"THE SECRET" not in path.read_bytes(), path
    assert "Traceback" not in scene.collect + scene.listing


def test_symlinks_inside_a_submission_are_skipped(scene):
    dest = scene.submitted / "carol" / "ps1"
    for rel in ("sub/deeper/leak.txt", "stolen.ipynb", "sub/secretdir"):
        assert not os.path.lexists(dest / rel), rel
        assert _warned(scene.collect, '"carol"', "carol/ps1+", rel, "a symlink"), rel


def test_a_symlinked_submission_dir_is_not_followed(scene):
    assert not (scene.submitted / "dave" / "ps1").exists()
    for out in (scene.collect, scene.listing):
        assert _warned(out, '"dave"', "linkedsubmis", "symlink"), out


def test_a_symlinked_inbox_is_not_followed(scene):
    assert not (scene.submitted / "erin").exists() and not (scene.submitted / "erin2").exists()
    for out in (scene.collect, scene.listing):
        for who in ("erin", "erin2"):
            assert _warned(out, f'"{who}"', f"inbound/{who}", "symlink, not a directory"), out
    assert "course101 erin ps1" not in scene.listing


def test_fifos_sockets_and_devices_are_never_opened(scene):
    dest = scene.submitted / "frank" / "ps1"
    assert (dest / "squares.ipynb").is_file()
    for name, what in (("pipe.ipynb", "a fifo"), ("sock", "a socket"), ("null", "a character")):
        assert not os.path.lexists(dest / name)
        assert _warned(scene.collect, '"frank"', f"/{name}", what), name


def test_oversized_file_is_skipped(scene):
    assert not (scene.submitted / "gina" / "ps1" / "huge.bin").exists()
    assert _warned(scene.collect, '"gina"', "huge.bin", "max_file_size=100")


def test_too_many_files_refuses_that_submission_only(scene):
    assert not (scene.submitted / "hank" / "ps1").exists()
    assert _warned(scene.collect, '"hank"', "not collected", "max_files=40")
    # Nothing half-copied is left beside where it would have gone.
    assert list((scene.submitted / "hank").iterdir()) == []


def test_too_deep_entries_are_skipped(scene):
    dest = scene.submitted / "ivy" / "ps1"
    assert (dest / "a" / "b" / "c").is_dir() and not (dest / "a/b/c/d/e").exists()
    assert _warned(scene.collect, '"ivy"', "a/b/c/d", "max_depth=4")


def test_a_name_claiming_another_student_is_reported_and_ignored(scene):
    assert (scene.submitted / "judy" / "ps1" / "squares.ipynb").is_file()
    for out in (scene.collect, scene.listing):
        assert _warned(out, 'names student "alice"', '"judy"'), out
    assert "course101 judy ps1" in scene.listing


def test_non_utf8_names(scene):
    # A file inside a submission is data: copied under its exact bytes.
    dest = bytes(scene.submitted / "kate" / "ps1")
    assert os.path.isfile(os.path.join(dest, b"caf\xe9.txt"))
    for out in (scene.collect, scene.listing):
        assert _warned(out, '"kate"', "inbound/kate/ps1+", "not UTF-8"), out
        assert _warned(out, "inbound/st", "not UTF-8"), out


def test_malformed_submission_names_are_skipped(scene):
    assert not (scene.submitted / "leo" / "ps1").exists()
    for bad in ("notes", "ps1+onlyoneplus"):
        assert _warned(scene.listing, '"leo"', f"inbound/leo/{bad}", "is not named"), bad
    assert _warned(scene.collect, '"leo"', "ps1+yesterday+r", "unreadable timestamp")


def test_malformed_timestamp_txt_is_replaced_by_the_names(scene):
    dest = scene.submitted / "mia" / "ps1"
    [planted] = (scene.inbound / "mia").iterdir()
    assert (dest / "timestamp.txt").read_text() == planted.name.split("+")[1]
    assert _warned(scene.collect, '"mia"', "the day before the deadline", "the name's is kept")


def test_a_file_in_place_of_an_inbox(scene):
    for out in (scene.collect, scene.listing):
        assert _warned(out, '"nina"', "inbound/nina", "a file, not a directory"), out


def test_backdated_submission_is_flagged_but_collected(scene):
    assert (scene.submitted / "olga" / "ps1" / "squares.ipynb").is_file()
    for out in (scene.collect, scene.listing):
        assert _warned(out, '"olga"', "may be backdated", "claims 2020-01-01 00:00:00 UTC"), out
    # Honest submissions are not.
    assert not _warned(scene.collect, '"alice"', "backdated")


def test_migrated_submissions_are_not_flagged(tmp_path):
    course = Course(tmp_path)
    sub = course.exchange / "course101/inbound/olga/ps1+2020-01-01 00:00:00.000000 UTC+migratedxxxx"
    sub.mkdir(parents=True)
    (sub / "squares.ipynb").write_text("{}")
    (course.exchange / "course101" / ".nbk8s-migrated").write_text(f"olga\t{sub.name}\n")
    out = course.instructor("collect", "ps1")
    assert "Collecting submission: olga ps1" in out and "backdated" not in out
    # Without the record, the same submission is flagged (tolerance 0: any gap).
    (course.exchange / "course101" / ".nbk8s-migrated").unlink()
    out = course.instructor("list", "--inbound", "--Exchange.backdate_tolerance=0")
    assert _warned(out, '"olga"', "may be backdated")


def test_symlinked_feedback_dir_gets_nothing_and_others_get_theirs(tmp_path):
    """An older deployment mounted feedback_public/{student} read-write, so a student may have
    left a symlink there: release_feedback must not write through it, and the others still
    get their feedback."""
    course = Course(tmp_path)
    public = course.exchange / "course101" / "feedback_public"
    victim = tmp_path / "victim"
    victim.mkdir()
    for student in ("alice", "mallory", "zoe"):
        fb = course.instructor_dir / "feedback" / student / "ps1"
        fb.mkdir(parents=True)
        (fb / "submission_secret.txt").write_text(f"secret-{student}")
        (fb / "squares.html").write_text(f"<html>{student}</html>")
    public.mkdir(parents=True)
    os.symlink(victim, public / "mallory")
    out = course.instructor("release_feedback", "ps1")
    assert _warned(out, '"mallory"', "feedback_public/mallory", "not followed"), out
    assert list(victim.iterdir()) == []
    for student in ("alice", "zoe"):
        [html] = (public / student).glob("*.html")
        assert html.read_text() == f"<html>{student}</html>"
