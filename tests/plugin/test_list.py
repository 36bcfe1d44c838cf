"""list across several courses sharing one exchange."""

from nbgrader_k8s_exchange.demo import Course


def test_two_courses_in_one_exchange(tmp_path):
    one = Course(tmp_path / "one", "course101")
    two = Course(tmp_path / "two", "course202", exchange=one.exchange)
    for course in (one, two):
        course.create_assignment("ps1")
        course.instructor("release_assignment", "ps1")
        course.submit_answer("alice", "ps1", True)

    # Without a course filter a student sees the releases of both courses.
    everything = one.student("alice", "list", "--CourseDirectory.course_id=")
    assert "course101 ps1" in everything and "course202 ps1" in everything
    # Each instructor's inbound listing stays inside their course.
    inbound = two.instructor("list", "--inbound")
    assert "course202 alice ps1" in inbound and "course101" not in inbound
    out = one.instructor("collect", "ps1")
    assert "Processing 1 submissions of 'ps1' for course 'course101'" in out
    assert sorted(p.name for p in one.exchange.iterdir()) == ["course101", "course202"]
