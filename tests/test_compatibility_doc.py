"""docs/compatibility.md's table of differences is the expected-differences file's."""

from tests.nbgrader_suite import doc


def test_table_matches_the_expected_differences():
    text = doc.DOC.read_text()
    assert text == doc.render(text), (
        "docs/compatibility.md is out of date with tests/nbgrader_suite/"
        "expected_differences.toml: run `python -m tests.nbgrader_suite.doc`"
    )


def test_every_listed_test_is_in_the_table():
    table = doc.table()
    for entry in doc.tomllib.loads(doc.EXPECTED_FILE.read_text())["difference"]:
        name = entry["test"].split("::")[-1]
        assert f"::{name}`" in table, entry["test"]
