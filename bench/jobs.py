"""What a worker process runs: one exchange call through nbgrader's real classes, or a floor.

Every job is split in two: ``prepare`` (imports, config, nbgrader objects: not timed) and the
returned callable (the exchange call itself: timed). The configs are what a course admin
writes: for our exchange, the eight ``c.ExchangeFactory.*`` lines of
``nbgrader_k8s_exchange.demo.PLUGIN_CONFIG``; for nbgrader's default exchange, none.
"""

import os
from typing import Any, Callable, Dict

from . import floors

Job = Dict[str, Any]


def make_config(job: Job):
    from traitlets.config import Config

    cfg = Config()
    if job["impl"] == "ours":
        from nbgrader_k8s_exchange.demo import PLUGIN_CONFIG

        exec(PLUGIN_CONFIG, {"c": cfg})
    cfg.Exchange.root = job["root"]
    cfg.CourseDirectory.course_id = job["course"]
    if "instructor_dir" in job:
        cfg.CourseDirectory.root = job["instructor_dir"]
    if "student" in job:
        home = job["home"]
        cfg.CourseDirectory.root = home
        cfg.CourseDirectory.student_id = job["student"]
        cfg.Exchange.assignment_dir = home
        cfg.Exchange.cache = os.path.join(home, ".nbgrader_cache")
        os.environ["JUPYTERHUB_USER"] = job["student"]
    if job.get("assignment"):
        cfg.CourseDirectory.assignment_id = job["assignment"]
    return cfg


def _exchange_call(job: Job, kind: str, **traits) -> Callable[[], Any]:
    """Build ``ExchangeFactory(config).<kind>(coursedir, authenticator, config)``."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeFactory

    cfg = make_config(job)
    for section, values in traits.items():
        for name, value in values.items():
            cfg[section][name] = value
    coursedir = CourseDirectory(config=cfg)
    authenticator = Authenticator(config=cfg)
    factory = ExchangeFactory(config=cfg)
    op = getattr(factory, kind)(coursedir=coursedir, authenticator=authenticator, config=cfg)
    return op.start


def _student_list(job: Job) -> Callable[[], Any]:
    """What the Assignments tab asks: released assignments, then submitted (cached) ones."""
    released = _exchange_call(job, "List")
    cached = _exchange_call(job, "List", ExchangeList={"cached": True})

    def both():
        return released() + cached()

    return both


def summary(result: Any) -> Any:
    if isinstance(result, list):
        return {"entries": len(result)}
    return None


def prepare(job: Job) -> Callable[[], Any]:
    """The timed part of ``job``, ready to call."""
    kind = job["kind"]
    if kind == "collect":
        return _exchange_call(job, "Collect", ExchangeCollect={"update": job.get("update", False)})
    if kind == "list_inbound":
        return _exchange_call(job, "List", ExchangeList={"inbound": True})
    if kind == "release_feedback":
        return _exchange_call(job, "ReleaseFeedback")
    if kind == "student_list":
        return _student_list(job)
    if kind == "fetch":
        return _exchange_call(job, "FetchAssignment")
    if kind == "submit":
        return _exchange_call(job, "Submit")
    if kind == "floor_copy":
        return lambda: floors.parallel_copy(job["root"], job["dest"], job["files"], job["threads"])
    if kind == "floor_walk":
        return lambda: floors.parallel_walk(job["root"], job["dirs"], job["threads"])
    raise ValueError(f"unknown job kind {kind!r}")


def run_timed(job: Job) -> Dict[str, Any]:
    """Prepare and run ``job`` now, timing only the call (used for a burst's many submits)."""
    import time

    call = prepare(job)
    t0 = time.perf_counter()
    result = call()
    return {"seconds": time.perf_counter() - t0, "summary": summary(result)}
