"""Ranking on every core while one process writes: the embedded default's `match --all`.

A job run in this process (no Redis: the jobs runner's thread, or the command line) ranked
its needs and wrote their rows one batch after the other, so it used one core: on a 2-core
machine, 20,000 needs took the matcher about 60 % of `match --all` and the writes the rest,
while the other core stood idle. SQLite takes one writer at a time, so the writes stay here;
the ranking moves to forked child processes. They inherit what they rank from (the matcher
and the needs' facts, read before the fork), so only two indexes travel to them, and each
sends back a batch's rows as the writer would put them. RQ workers do not fork: a part runs
per worker, one per core already.

The standard library's ProcessPoolExecutor is used as it is; what is written here is only
the ordered window over it (results are written in the needs' order, at most a few batches
held in memory) and the choice of when forking pays.
"""
import gc
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from itertools import islice
from multiprocessing import get_all_start_methods, get_context
from typing import TypeVar

from flask import current_app

from ..jobs.runner import backend_name

T = TypeVar("T")

# the children yield the cores to this process, which writes what they rank: with them at
# its priority, two children and the writer shared two cores and the writer, the slower
# side, waited for a core
_CHILD_NICENESS = 10
_WORK: Callable | None = None  # set before the children fork; each child calls its copy


_quiet_lock = threading.Lock()
_quiet: list[tuple[int, ...]] = []  # the thresholds to restore, one entry per block open


@contextmanager
def quiet_collector() -> Iterator[None]:
    """The cyclic garbage collector kept out of a job's way, for the block.

    The objects alive at its start (the matcher's index, the needs' facts: millions) are
    frozen, left out of every collection: each full collection walked them all while the job
    allocated its results, about a third of ranking 20,000 needs. And the youngest
    generation is collected every 50,000 allocations instead of 700: a batch's rows (tens of
    thousands of dicts and lists, all alive until written) were scanned again at every
    collection. Forked children inherit both, and since the collector no longer writes to
    the frozen objects their pages stay shared with this process. Garbage that exists at the
    start waits for the block's end; what the block makes is still collected."""
    with _quiet_lock:
        _quiet.append(gc.get_threshold())
        if len(_quiet) == 1:
            gc.freeze()
            gc.set_threshold(50_000, *_quiet[0][1:])
    try:
        yield
    finally:
        with _quiet_lock:
            before = _quiet.pop()
            if not _quiet:
                gc.set_threshold(*before)
                gc.unfreeze()


def processes() -> int:
    """How many processes rank a job's needs: MATCH_PROCESSES when set (1: none forked),
    else every core when jobs run in this process, 1 on an RQ worker (one part per core)."""
    configured = current_app.config.get("MATCH_PROCESSES")
    if configured:
        return max(1, int(configured))
    if backend_name() == "rq":
        return 1
    return os.cpu_count() or 1


def ordered(work: Callable[[int, int], T], count: int, piece: int, workers: int,
            ahead: int = 0) -> Iterator[T]:
    """work(lo, hi) over range(count) in consecutive pieces, yielded in order. With two
    workers or more (and more than one piece), computed in as many forked children while
    the caller consumes what is done, up to `ahead` pieces beyond the one it waits for (at
    least two a child); `work` and everything it reads are inherited by the children, not
    sent to them, and what it returns must pickle."""
    ranges = [(lo, min(lo + piece, count)) for lo in range(0, count, piece)]
    if workers < 2 or len(ranges) < 2 or "fork" not in get_all_start_methods():
        for lo, hi in ranges:
            yield work(lo, hi)
        return
    yield from _forked(work, ranges, workers, max(ahead, 2 * workers))


def _forked(work: Callable[[int, int], T], ranges: list[tuple[int, int]], workers: int,
            ahead: int) -> Iterator[T]:
    global _WORK
    _WORK = work
    pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"),
                               initializer=os.nice, initargs=(_CHILD_NICENESS,))
    try:
        todo = iter(ranges)
        # the children keep ranking while the caller writes and runs what follows a write,
        # and memory holds `ahead` pieces, not the job's
        window = deque(pool.submit(_run, *r) for r in islice(todo, ahead))
        while window:
            done = window.popleft().result()  # a child's exception is raised here
            if (nxt := next(todo, None)) is not None:
                window.append(pool.submit(_run, *nxt))
            yield done
    finally:
        _WORK = None
        pool.shutdown(wait=True, cancel_futures=True)


def _run(lo: int, hi: int):
    return _WORK(lo, hi)
