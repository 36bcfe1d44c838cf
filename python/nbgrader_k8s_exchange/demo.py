"""A whole course, locally: ``python -m nbgrader_k8s_exchange.demo [DIR]``.

Builds a course with one instructor and three students that share an exchange directory (the
stand-in for the cluster's ReadWriteMany volume), then drives the real ``nbgrader`` command
line through the lifecycle: release, fetch, submit (with a resubmission), list, collect,
autograde, generate and release feedback, fetch feedback. It prints what each step did and
each student's score as their feedback shows it.

The :class:`Course` class is also what the test-suite uses to play instructor and students.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Dict, List, Optional, Sequence

PLUGIN_CONFIG = """\
c.ExchangeFactory.collect = 'nbgrader_k8s_exchange.plugin.ExchangeCollect'
c.ExchangeFactory.exchange = 'nbgrader_k8s_exchange.plugin.Exchange'
c.ExchangeFactory.fetch_assignment = 'nbgrader_k8s_exchange.plugin.ExchangeFetchAssignment'
c.ExchangeFactory.fetch_feedback = 'nbgrader_k8s_exchange.plugin.ExchangeFetchFeedback'
c.ExchangeFactory.list = 'nbgrader_k8s_exchange.plugin.ExchangeList'
c.ExchangeFactory.release_assignment = 'nbgrader_k8s_exchange.plugin.ExchangeReleaseAssignment'
c.ExchangeFactory.release_feedback = 'nbgrader_k8s_exchange.plugin.ExchangeReleaseFeedback'
c.ExchangeFactory.submit = 'nbgrader_k8s_exchange.plugin.ExchangeSubmit'
"""

# A function to write, and a hidden test worth two points.
_SOLUTION = """\
def squares(n):
    \"\"\"The squares of 1..n.\"\"\"
    ### BEGIN SOLUTION
    return [i * i for i in range(1, n + 1)]
    ### END SOLUTION
"""
_TEST = "assert squares(3) == [1, 4, 9]\nassert squares(0) == []\n"

ANSWERS = {
    True: "    return [i * i for i in range(1, n + 1)]",
    False: "    return [i + i for i in range(1, n + 1)]",
}


def _cell_meta(grade_id: str, *, solution: bool, grade: bool, points: int = 0) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def write_source_notebook(path: Path, name: str = "squares") -> None:
    """An nbgrader source notebook: one solution cell, one autograded test cell (2 points)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {name}\nWrite `squares(n)`."),
        nbformat.v4.new_code_cell(
            _SOLUTION, metadata=_cell_meta(f"{name}-solution", solution=True, grade=False)
        ),
        nbformat.v4.new_code_cell(
            _TEST, metadata=_cell_meta(f"{name}-test", solution=False, grade=True, points=2)
        ),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def answer_notebook(path: Path, correct: bool) -> None:
    """Replace the student's placeholder with a right or wrong answer."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    placeholder = "    # YOUR CODE HERE\n    raise NotImplementedError()"
    cells = [cell for cell in nb.cells if placeholder in cell.source]
    if not cells:
        raise AssertionError(f"no placeholder to answer in {path}")
    for cell in cells:
        cell.source = cell.source.replace(placeholder, ANSWERS[correct])
    nbformat.write(nb, str(path))


class NbgraderFailed(RuntimeError):
    """An nbgrader command exited non-zero; carries its output."""

    def __init__(self, args: Sequence[str], proc: subprocess.CompletedProcess):
        super().__init__(f"nbgrader {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}")
        self.output = proc.stdout
        self.returncode = proc.returncode


class Course:
    """One course on a local exchange: an instructor's course dir and students' homes.

    Every user runs the real ``nbgrader`` CLI in their own directory with their own
    ``nbgrader_config.py``, ``JUPYTERHUB_USER`` and Jupyter data dir (the submit cache), the
    way they would in their own pods.
    """

    def __init__(
        self,
        base: Path,
        course_id: str = "course101",
        *,
        exchange: Optional[Path] = None,
        extra_config: str = "",
        python: str = sys.executable,
        plugin: bool = True,
    ):
        self.base = Path(base)
        # False: nbgrader's default exchange (the config without the ExchangeFactory lines).
        self.plugin = plugin
        self.students: Dict[str, Path] = {}
        self.course_id = course_id
        self.exchange = Path(exchange) if exchange else self.base / "exchange"
        self.exchange.mkdir(parents=True, exist_ok=True)
        self.instructor_dir = self.base / "instructor" / course_id
        self.extra_config = extra_config
        self.python = python
        self._write_config(
            self.instructor_dir, f"c.CourseDirectory.root = {str(self.instructor_dir)!r}\n"
        )

    def _write_config(self, where: Path, more: str = "") -> None:
        where.mkdir(parents=True, exist_ok=True)
        config = (
            "c = get_config()  # noqa\n"
            + (PLUGIN_CONFIG if self.plugin else "")
            + f"c.Exchange.root = {str(self.exchange)!r}\n"
            + f"c.CourseDirectory.course_id = {self.course_id!r}\n"
            + more
            + self.extra_config
        )
        (where / "nbgrader_config.py").write_text(config)

    def student_home(self, student: str) -> Path:
        return self.base / "students" / _safe_dirname(student)

    def add_student(self, student: str) -> Path:
        home = self.student_home(student)
        if not (home / "nbgrader_config.py").exists():
            self._write_config(home, self._student_config(student))
        self.students[student] = home
        return home

    def _student_config(self, student: str) -> str:
        # nbgrader's default exchange takes the student from the OS user (the same for every
        # simulated student here), so name them; our exchange reads JUPYTERHUB_USER.
        return "" if self.plugin else f"c.CourseDirectory.student_id = {student!r}\n"

    def _env(self, user: str, home: Path) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(
            JUPYTERHUB_USER=user,
            HOME=str(home),
            JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
            JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
            PYTHONUNBUFFERED="1",
            # nbgrader runs alembic and jupyter by name: find this interpreter's first.
            PATH=os.pathsep.join([os.path.dirname(self.python), os.environ.get("PATH", "")]),
        )
        return env

    def _run(self, user: str, cwd: Path, args: Sequence[str], check: bool) -> str:
        cmd = [self.python, "-m", "nbgrader", *args]
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=self._env(user, cwd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise NbgraderFailed(args, proc)
        if not check:
            return proc  # type: ignore[return-value]
        return proc.stdout

    def instructor(self, *args: str, check: bool = True):
        """Run ``nbgrader ARGS`` as the instructor, in the course directory."""
        return self._run("instructor", self.instructor_dir, args, check)

    def student(self, student: str, *args: str, check: bool = True):
        """Run ``nbgrader ARGS`` as ``student``, in their home."""
        return self._run(student, self.add_student(student), args, check)

    # -- convenience for the common steps -------------------------------------------------

    def create_assignment(self, assignment: str, notebooks: Sequence[str] = ("squares",)) -> None:
        for name in notebooks:
            write_source_notebook(
                self.instructor_dir / "source" / assignment / f"{name}.ipynb", name
            )
        self.instructor("generate_assignment", assignment, "--force")

    def submit_answer(self, student: str, assignment: str, correct: bool) -> str:
        """Fetch if needed, answer every notebook, submit; returns nbgrader's output."""
        work = self.student_home(student) / assignment
        if not work.exists():
            self.student(student, "fetch_assignment", assignment)
        for nb in sorted(work.glob("*.ipynb")):
            shutil.copy(nb, nb.with_suffix(".orig"))
            answer_notebook(nb, correct)
        out = self.student(student, "submit", assignment)
        for nb in sorted(work.glob("*.ipynb")):
            shutil.move(str(nb.with_suffix(".orig")), nb)
        return out

    def feedback_files(self, student: str, assignment: str) -> List[Path]:
        return sorted((self.student_home(student) / assignment / "feedback").glob("*/*.html"))


def _safe_dirname(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", lambda m: f"%{ord(m.group()):02x}", name)


def score_in_feedback(html: str) -> str:
    """The ``earned / possible`` total nbgrader prints at the top of a feedback page."""
    match = re.search(r"Score:\s*([0-9.]+\s*/\s*[0-9.]+)", html)
    if not match:
        raise AssertionError("no score in feedback")
    return re.sub(r"\s+", " ", match.group(1))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", help="where to build the course (default: a temp dir)")
    opts = parser.parse_args(argv)
    base = Path(opts.dir) if opts.dir else Path(tempfile.mkdtemp(prefix="nbgrader-k8s-demo-"))
    if base.exists() and not base.is_dir():
        print(f"{base} is not a directory; give an empty or new directory", file=sys.stderr)
        return 2
    if base.exists() and any(base.iterdir()):
        print(f"{base} is not empty; give an empty or new directory", file=sys.stderr)
        return 2
    course = Course(base)
    students = {"alice": True, "bob": False, "carol+dev@example.org": True}

    def step(title: str) -> None:
        print(f"\n== {title}")

    step(f"instructor creates and releases ps1 into {course.exchange}")
    course.create_assignment("ps1")
    print(_last_lines(course.instructor("release_assignment", "ps1")))
    for student, correct in students.items():
        step(f"{student} fetches, answers ({'right' if correct else 'wrong'}) and submits")
        print(_last_lines(course.submit_answer(student, "ps1", correct)))
    step("bob resubmits, this time right")
    print(_last_lines(course.submit_answer("bob", "ps1", True)))
    step("instructor lists the inbound")
    print(_last_lines(course.instructor("list", "--inbound"), 10))
    step("instructor collects, autogrades, generates and releases feedback")
    print(_last_lines(course.instructor("collect", "ps1"), 8))
    course.instructor("autograde", "ps1")
    course.instructor("generate_feedback", "ps1")
    print(_last_lines(course.instructor("release_feedback", "ps1"), 6))
    for student in students:
        step(f"{student} lists and fetches feedback")
        print(_last_lines(course.student(student, "list", "--cached"), 3))
        course.student(student, "fetch_feedback", "ps1")
        for path in course.feedback_files(student, "ps1"):
            print(f"   {path.relative_to(base)}: score {score_in_feedback(path.read_text())}")
    step("exchange layout")
    for path in sorted(course.exchange.rglob("*")):
        if path.is_dir() and path.parent.name in ("inbound", "feedback_public", "outbound"):
            print("  ", path.relative_to(course.exchange))
    print(f"\nAll done. Everything is in {base}")
    return 0


def _last_lines(text: str, n: int = 4) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return textwrap.indent("\n".join(lines[-n:]), "   ")


if __name__ == "__main__":
    sys.exit(main())
