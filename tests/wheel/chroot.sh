#!/usr/bin/env bash
# Install a built wheel into an older Debian's own Python and run it there.
#
#   tests/wheel/chroot.sh SUITE WHEEL      e.g. tests/wheel/chroot.sh bullseye dist/*.whl
#
# Proves what a manylinux tag promises: the wheel built here (glibc 2.36) installs with
# `pip install --no-deps` into a clean Debian SUITE chroot (bullseye: glibc 2.31, Python 3.9),
# imports, and its `nbgrader-k8s` console script drives the Rust core. A wheel linked against a
# newer glibc fails here with "version `GLIBC_2.xx' not found". `make test-wheel` runs it.
#
# The chroot is built once with debootstrap into WHEEL_CHROOT_CACHE (default .cache/wheel-chroot)
# and reused. It is built under SUITE.partial and renamed when complete, so a run killed half way
# leaves only a .partial tree, which the next run removes and rebuilds. debootstrap and the test
# run in their own mount namespace: their /proc and /dev mounts vanish with them, even on kill -9.
#
# Mirror: DEBIAN_MIRROR if set, else the first that serves SUITE of deb.debian.org, this
# machine's apt mirrors, and archive.debian.org (where Debian moves releases it no longer carries).
# nbgrader is not installed (--no-deps), so only what works without it is run: the `_core`
# module, `_cli` and the console script, not the nbgrader plugin classes.
set -euo pipefail

die() { echo "test-wheel: $*" >&2; exit 1; }
log() { echo "test-wheel: [$(date +%H:%M:%S)] $*"; }

[ $# -eq 2 ] || die "usage: $0 SUITE WHEEL"
suite=$1
wheel=$2
[[ $suite =~ ^[a-z][a-z0-9-]*$ ]] || die "suite $suite is not a Debian codename (bullseye, bookworm...)"
[ -f "$wheel" ] || die "no wheel at $wheel (run make wheel)"
case "$wheel" in *.whl) ;; *) die "$wheel is not a .whl" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot): run make test-wheel as root"
for tool in debootstrap unshare chroot flock; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install debootstrap util-linux)"
done

cache=$(realpath -m "${WHEEL_CHROOT_CACHE:-.cache/wheel-chroot}")
root=$cache/$suite
partial=$root.partial
# What the chroot holds; a cached chroot made with another list is rebuilt.
include=python3,python3-venv
stamp="suite=$suite variant=minbase include=$include"

# Unmount whatever is still mounted under $1 (deepest first), then delete it without crossing
# into another filesystem: a leftover bind mount of /dev must never be emptied.
remove_tree() {
  local dir=$1 mnt
  [ -e "$dir" ] || return 0
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  if awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    die "cannot unmount what is mounted under $dir; unmount it by hand"
  fi
  rm -rf --one-file-system "$dir"
}

# A mirror serves SUITE if its Release file is there.
serves() {
  local url=$1/dists/$suite/Release
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null --max-time 20 "$url" 2>/dev/null
  else
    wget -q -O /dev/null --timeout=20 --tries=1 "$url"
  fi
}

pick_mirror() {
  local candidates=() m
  [ -n "${DEBIAN_MIRROR:-}" ] && candidates+=("${DEBIAN_MIRROR%/}")
  candidates+=(http://deb.debian.org/debian)
  # This machine's own Debian mirrors, from one-line (deb URL ...) and deb822 (URIs: URL) files.
  while read -r m; do
    [ -n "$m" ] && candidates+=("${m%/}")
  done < <(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -nE 's,^[[:space:]]*URIs:[[:space:]]*(.*),\1,p; s,^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*,\2,p' |
    tr ' ' '\n' | grep -E '/debian/?$' || true)
  candidates+=(http://archive.debian.org/debian)
  local tried=" "
  for m in "${candidates[@]}"; do
    [[ $tried == *" $m "* ]] && continue
    tried+="$m "
    if serves "$m"; then
      echo "$m"
      return 0
    fi
    log "mirror $m: no $suite there, or unreachable" >&2
  done
  die "no reachable mirror serves $suite (tried:$tried); set DEBIAN_MIRROR"
}

build_chroot() {
  local mirror start
  mirror=$(pick_mirror)
  log "building the $suite chroot in $root from $mirror (first run only: a few minutes)"
  start=$(date +%s)
  remove_tree "$partial"
  mkdir -p "$partial"
  # debootstrap's own log is long; its I: lines are the progress.
  if ! unshare --mount --propagation private \
    debootstrap --variant=minbase --include="$include" --components=main \
    "$suite" "$partial" "$mirror" 2>&1 | grep --line-buffered -E '^(I|W|E): ' | sed -u 's/^/  /'; then
    log "debootstrap failed; its log:" >&2
    tail -n 30 "$partial/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    die "could not build the $suite chroot"
  fi
  chroot "$partial" python3 -c 'import ensurepip, venv' ||
    die "the $suite chroot has no working python3 venv"
  echo "$stamp" >"$partial/.nbk8s-chroot"
  remove_tree "$root"
  mv "$partial" "$root"
  log "chroot ready in $(($(date +%s) - start)) s"
}

mkdir -p "$cache"
# One run at a time builds or uses the cache.
exec 9>"$cache/.lock"
flock 9

if [ -d "$partial" ]; then
  log "removing a half-built chroot left by an interrupted run: $partial"
  remove_tree "$partial"
fi
if [ "$(cat "$root/.nbk8s-chroot" 2>/dev/null)" = "$stamp" ]; then
  log "using the cached $suite chroot in $root"
else
  [ -e "$root" ] && log "the chroot in $root is not a complete $stamp one: rebuilding"
  build_chroot
fi

run=$(mktemp -d "$root/tmp/nbk8s-wheel.XXXXXX")
trap 'rm -rf --one-file-system "$run"' EXIT
cp "$wheel" "$run/"
cp "$(dirname "$0")/in_chroot.sh" "$run/"
log "installing $(basename "$wheel") in the $suite chroot"
# shellcheck disable=SC2016  # $1 and $2 are the inner shell's arguments
unshare --mount --propagation private bash -c '
  set -e
  mount -t proc proc "$1/proc"
  mount --bind /dev "$1/dev"
  exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    /bin/bash "/tmp/$2/in_chroot.sh" "/tmp/$2"
' _ "$root" "$(basename "$run")"
