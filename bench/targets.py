"""The issue's targets, checked against one run's results (ratios from the same run)."""

from typing import Any, Dict, List, Optional

R = Dict[str, Any]

NOISE = (
    "Round-trip targets are counts of the simulated server's requests and move by a few "
    "between runs (attribute-cache expiry). Time targets are ratios within one run; those "
    "on local disk and tmpfs, where a run takes well under a second, are noisy on a shared "
    "machine (the default's local collect has varied 0.7–2.6 s between runs, and ours runs "
    "16 threads on 2 cores that other work also wants), as is linear growth at S=5,000."
)

# Where collect on tmpfs stood before every path was resolved beneath the root (issue 27:
# 51-63 ms against the default's 210-225 ms, i.e. 3.3-4.4x): it must stay there.
TMPFS_COLLECT = 3.3


def _get(tree: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def _s(tree: Any, *path: str) -> Optional[float]:
    res = _get(tree, *path)
    return res["seconds"] if res else None


def _mark(ok: Optional[bool]) -> str:
    return "–" if ok is None else ("yes" if ok else "**no**")


def _speedup(results: R, env: str, key: str, wanted: float) -> List[str]:
    ins = _get(results, "envs", env, "instructor")
    ours, default = _s(ins, "ours", "inproc", key), _s(ins, "default", "inproc", key)
    if not ours or not default:
        return ["not measured", _mark(None)]
    r = default / ours
    return [f"{r:.1f}× ({default:.2f} s vs {ours:.2f} s)", _mark(r >= wanted)]


def _floor(results: R, key: str) -> List[str]:
    ins = _get(results, "envs", "nfs", "instructor")
    ours, floor = _s(ins, "ours", "inproc", key), _s(ins, "floor", key)
    if not ours or not floor:
        return ["not measured", _mark(None)]
    r = ours / floor
    return [f"{r:.2f}× the floor ({ours:.2f} s vs {floor:.2f} s)", _mark(r <= 1.5)]


def _bounded(results: R, key: str) -> List[str]:
    growth = results.get("growth") or {}
    counts = {int(s): _get(res, "ours", key, "net", "round_trips") for s, res in growth.items()}
    counts = {s: c for s, c in sorted(counts.items()) if c is not None}
    if len(counts) < 2:
        return ["not measured", _mark(None)]
    text = ", ".join(f"{c} at S={s:,}" for s, c in counts.items())
    values = list(counts.values())
    return [text, _mark(max(values) <= min(values) + 2)]


def _linear(results: R) -> List[str]:
    growth = results.get("growth") or {}
    sizes = sorted(int(s) for s in growth)
    if len(sizes) < 2:
        return ["not measured", _mark(None)]
    parts, ok = [], True
    for key in ("collect", "list_inbound"):
        per = {s: _s(growth[str(s)], "ours", key) for s in sizes}
        if any(v is None for v in per.values()):
            continue
        # Cost per student at the largest size, against the second largest (the smallest
        # course is dominated by fixed costs).
        a, b = sizes[-2], sizes[-1]
        growth_factor = (per[b] / b) / (per[a] / a)
        ok = ok and growth_factor <= 1.5
        parts.append(
            f"{key}: {per[a] / a * 1000:.2f} → {per[b] / b * 1000:.2f} ms/student (S={a:,} → {b:,})"
        )
    return ["; ".join(parts) or "not measured", _mark(ok if parts else None)]


def _memory(results: R) -> List[str]:
    growth = results.get("growth") or {}
    if not growth:
        return ["not measured", _mark(None)]
    size = max(growth, key=int)
    peaks = [_get(growth[size], "ours", k, "peak_rss_mb") for k in ("collect", "list_inbound")]
    if None in peaks:
        return ["not measured", _mark(None)]
    return [
        f"S={int(size):,}: collect {peaks[0]:.1f} MB, list {peaks[1]:.1f} MB "
        "(whole process, Python and nbgrader included)",
        _mark(int(size) >= 5000 and max(peaks) < 200) if int(size) >= 5000 else "– (S<5,000)",
    ]


def _student_rt(results: R, op: str, limit: Optional[int] = None, extra: int = 0) -> List[str]:
    """Our student op's round trips (1 ms, cache 1 s) beside the default's: at most the
    default's plus ``extra``, and at most ``limit`` when given."""
    stu = _get(results, "envs", "nfs", "student")
    ours = _get(stu, "ours", "inproc", op, "net", "round_trips")
    default = _get(stu, "default", "inproc", op, "net", "round_trips")
    if ours is None or default is None:
        return ["not measured", _mark(None)]
    ok = ours <= default + extra and (limit is None or ours <= limit)
    return [f"{ours} vs the default's {default}", _mark(ok)]


def _instructor_rt(results: R, key: str) -> List[str]:
    """Our instructor scenario's round trips (1 ms, cache 1 s) at most the default's."""
    ins = _get(results, "envs", "nfs", "instructor")
    ours = _get(ins, "ours", "inproc", key, "net", "round_trips")
    default = _get(ins, "default", "inproc", key, "net", "round_trips")
    if ours is None or default is None:
        return ["not measured", _mark(None)]
    return [f"{ours:,} vs the default's {default:,}", _mark(ours <= default)]


def _burst(results: R) -> List[str]:
    burst = _get(results, "envs", "nfs", "burst")
    ours, default = _s(burst, "ours"), _s(burst, "default")
    if not ours or not default:
        return ["not measured", _mark(None)]
    n = burst.get("students")
    return [f"{ours:.2f} s vs the default's {default:.2f} s ({n} submits)", _mark(ours <= default)]


def _notary_idle(results: R, students: int, limit_s: float) -> List[str]:
    for res in results.get("notary") or []:
        if res["students"] == students:
            took = res["idle_s"]
            return [f"{took:.3f} s, {res['idle_round_trips']:,} round trips", _mark(took < limit_s)]
    return ["not measured", _mark(None)]


def _notary_first(results: R, students: int, limit_s: float) -> List[str]:
    for res in results.get("notary") or []:
        if res["students"] == students:
            took = res["first_s"]
            return [
                f"{took:.1f} s, {res['first_round_trips']:,} round trips",
                _mark(took <= limit_s),
            ]
    return ["not measured", _mark(None)]


def _import(results: R) -> List[str]:
    imp = results.get("import")
    if not imp:
        return ["not measured", _mark(None)]
    return [f"{imp['median_ms']:.1f} ms", _mark(imp["median_ms"] < 50)]


def check(results: R) -> List[List[str]]:
    spec = results["spec"]
    size = f"S={spec['students']} K={spec['submissions']} F={spec['files']}"
    nfs = _get(results, "envs", "nfs", "label") or "1 ms"
    return [
        [
            f"`collect` ≥ 10× faster than default ({nfs}, {size})",
            *_speedup(results, "nfs", "collect", 10),
        ],
        [
            f"`list --inbound` ≥ 10× faster than default ({nfs})",
            *_speedup(results, "nfs", "list_inbound", 10),
        ],
        [f"`collect` within 1.5× of the copy floor ({nfs})", *_floor(results, "collect")],
        [
            f"`list --inbound` within 1.5× of the walk floor ({nfs})",
            *_floor(results, "list_inbound"),
        ],
        [
            "`collect` ≥ 3× faster than default on local disk",
            *_speedup(results, "local", "collect", 3),
        ],
        [
            f"`collect` ≥ {TMPFS_COLLECT}× faster than default on tmpfs (CPU and system calls "
            "only; issue 27: 51–63 ms vs 210–225 ms before paths were resolved beneath the root)",
            *_speedup(results, "tmpfs", "collect", TMPFS_COLLECT),
        ],
        [
            f"`collect --update` round trips ≤ the default's ({nfs}, 10% resubmitted)",
            *_instructor_rt(results, "collect_update"),
        ],
        ["student `list` round trips do not grow with S", *_bounded(results, "student_list")],
        ["student `submit` round trips do not grow with S", *_bounded(results, "submit")],
        [
            f"student `submit` round trips ≤ the default's ({nfs})",
            *_student_rt(results, "submit"),
        ],
        [
            f"Assignments-tab `list` ≤ 45 round trips and ≤ the default's ({nfs})",
            *_student_rt(results, "list", 45),
        ],
        [
            f"student `fetch_assignment` round trips ≤ the default's + 5, the fetch marker ({nfs})",
            *_student_rt(results, "fetch_assignment", extra=5),
        ],
        [
            f"student `fetch_assignment` round trips ≤ the default's, marker included ({nfs})",
            *_student_rt(results, "fetch_assignment"),
        ],
        [
            "notary: an idle pass at S=1,000 on the 1 ms volume well under a second (< 0.5 s)",
            *_notary_idle(results, 1000, 0.5),
        ],
        [
            "notary: an idle pass at S=5,000 on the 1 ms volume at most 1 s (issue 23)",
            *_notary_idle(results, 5000, 1.0),
        ],
        [
            "notary: the first pass after a start at S=5,000 on the 1 ms volume at most 20 s "
            "(issue 23)",
            *_notary_first(results, 5000, 20.0),
        ],
        [
            f"deadline burst (in-process) at least as fast as the default ({nfs})",
            *_burst(results),
        ],
        ["cost grows linearly in S", *_linear(results)],
        ["peak memory at S=5,000 below 200 MB", *_memory(results)],
        ["importing the plugin adds < 50 ms to nbgrader's start-up", *_import(results)],
    ]
