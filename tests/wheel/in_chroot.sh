#!/bin/bash
# Runs inside the old Debian chroot (tests/wheel/chroot.sh copies it there with the wheel).
# Everything here is the distribution's own: its python3, its venv, its pip.
#
#   in_chroot.sh DIR      DIR holds exactly one wheel; it is the scratch directory too
set -euo pipefail
cd "$1"

fail() { echo "test-wheel: FAILED in the chroot: $*" >&2; exit 1; }

# shellcheck source=/dev/null  # the chroot's, not this machine's
. /etc/os-release
echo "test-wheel: $PRETTY_NAME, $(getconf GNU_LIBC_VERSION), $(python3 --version)"

python3 -m venv venv
venv/bin/pip --version
# --no-index: only this wheel; pip refuses it if its tags do not fit this platform.
venv/bin/pip install --no-deps --no-index --disable-pip-version-check ./*.whl ||
  fail "pip refused the wheel on $PRETTY_NAME"

# The native module (the dynamic loader checks the glibc symbol versions here) and the
# console script's module; the nbgrader plugin classes need nbgrader, not installed.
venv/bin/python -c 'import nbgrader_k8s_exchange._core as core, nbgrader_k8s_exchange._cli; print("imported _core", core.__version__)' ||
  fail "the wheel does not import on $PRETTY_NAME ($(getconf GNU_LIBC_VERSION)): see the error above"

venv/bin/nbgrader-k8s --version
venv/bin/nbgrader-k8s --help >help.txt || fail "nbgrader-k8s --help exited $?"
grep -q '^  provision' help.txt || fail "nbgrader-k8s --help lists no provision subcommand: $(cat help.txt)"

# The Rust core at work: a roster read from an nbgrader gradebook (the bundled SQLite, compiled
# by the cross toolchain), a course tree provisioned and audited.
python3 - <<'EOF'
import sqlite3

db = sqlite3.connect("gradebook.db")
db.execute("CREATE TABLE student (id VARCHAR(128) PRIMARY KEY, first_name VARCHAR(128))")
db.executemany("INSERT INTO student (id) VALUES (?)", [("alice",), ("bob",)])
db.commit()
EOF
k8s() { venv/bin/nbgrader-k8s "$@" --root "$PWD/exchange"; }
k8s init course101 >/dev/null
k8s provision course101 --from-gradebook gradebook.db --uid 1000 --gid 100 --json >provision.json
python3 - <<'EOF'
import json

summary = json.load(open("provision.json"))["summary"]
assert summary["students"] == 2 and summary["failed"] == 0, summary
EOF
for dir in course101/inbound/alice course101/inbound/bob course101/feedback_public/alice \
  course101/feedback_public/bob; do
  got=$(stat -c '%u:%g %a' "exchange/$dir") || fail "provision did not create $dir"
  # The skeleton (docs/security.md): the keeper (root by default) owns a student's own
  # directories, shared with the pods' group; `stat %a` shows setgid as the leading 2.
  [ "$got" = "0:100 2775" ] || fail "$dir is $got, want 0:100 2775 (the skeleton)"
done
k8s audit course101 --from-gradebook gradebook.db || fail "audit of a fresh course exited $?"
# A student's missing directory is what audit exists to catch (exit 3, high severity).
rmdir exchange/course101/feedback_public/bob
status=0
k8s audit course101 --from-gradebook gradebook.db >audit.txt || status=$?
[ "$status" = 3 ] || fail "audit with feedback_public/bob missing exited $status, want 3: $(cat audit.txt)"
grep -q 'feedback_public/bob' audit.txt || fail "audit did not name feedback_public/bob: $(cat audit.txt)"

echo "test-wheel: OK: the wheel installs, imports and runs on $PRETTY_NAME"
