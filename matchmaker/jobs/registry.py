"""Job kinds by name. A domain registers its job functions in its own `jobs.py` (listed in
matchmaker.JOB_MODULES, imported by every process that runs jobs):

    @job("matching.product", "更新产品的匹配结果")
    def recompute_product(ctx, product_id): ...

A job function takes a JobContext and the job's JSON params, does its work through
db.session, commits through `ctx.commit()` at each consistent point (never half-applied: a
need's rows are replaced in one transaction), reports `ctx.progress(pct, message)`, and
returns a JSON-able result (or None). It must be safe to run again after a crash: the row it
left half-way was rolled back, so re-running from the start (or from its last commit) is
correct.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    fn: Callable
    # run after every child job of a parent finished (the parent's own function spawns them)
    finalize: Callable | None = None
    timeout: int = 3600  # seconds RQ lets it run
    max_attempts: int = 3  # automatic re-runs after a worker died under it


REGISTRY: dict[str, JobKind] = {}


def job(name: str, label: str, *, finalize: Callable | None = None, timeout: int = 3600,
        max_attempts: int = 3):
    """Register a job function under `name` (domain.verb); `label` is its Chinese name."""

    def register(fn: Callable) -> Callable:
        if name in REGISTRY and REGISTRY[name].fn is not fn:
            raise ValueError(f"job kind {name!r} registered twice")
        REGISTRY[name] = JobKind(name, label, fn, finalize, timeout, max_attempts)
        return fn

    return register


def kind(name: str) -> JobKind:
    try:
        return REGISTRY[name]
    except KeyError:
        raise LookupError(f"unknown job kind {name!r}") from None
