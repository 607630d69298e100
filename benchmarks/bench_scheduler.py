"""The event scheduler against the exact optimum and against the naive greedy (issue 9).

    python -m benchmarks.bench_scheduler                 # the standard set, seeds 1-3
    python -m benchmarks.bench_scheduler --seeds 5 --limit 300

For each generated event it prints: participants, accepted requests, table-slots; enterprises
served by our scheduler, by the exact optimum and by "heaviest request first"; the must-meet
pairs placed; total priority as a ratio of the optimum's; our time and CP-SAT's. The optimum
is the same lexicographic objective (must-meets, enterprises served, total priority) solved
exactly with OR-Tools CP-SAT, one level after another, each level's value fixed before the
next. OR-Tools is a benchmark-only dependency (`pip install .[bench]`); the app never imports
it. Targets: served = optimum, priority ≥ 99 % of the optimum, < 2 s for 300 participants and
12 slots.

Generated events look like the real ones: institutions' popularity is skewed (a few big banks
get most requests), each enterprise asks 2–6 institutions, priorities are match scores
(40–100), a quarter of the enterprises and a sixth of the institutions attend half a day only,
institutions bring 1–3 managers, and the organizer sets a few must-meet pairs (one per
enterprise at most). "Tight" events have fewer table-slots than accepted requests.
"""
from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass

from matchmaker.events.scheduler import Problem, Request, evaluate, heaviest_first, schedule


@dataclass
class Spec:
    name: str
    enterprises: int
    institutions: int
    slots: int
    tables: int
    asks: tuple[int, int] = (2, 6)
    must_meets: int = 8


SPECS = (
    Spec("small-loose", 48, 12, 8, 16),
    Spec("small-tight", 48, 12, 8, 8),
    Spec("mid-tight", 120, 30, 10, 18),
    Spec("300-loose", 240, 60, 12, 60),
    Spec("300-tight", 240, 60, 12, 30),
    Spec("300-very-tight", 240, 60, 12, 22, asks=(3, 7)),
)


def generate(spec: Spec, seed: int) -> Problem:
    rng = random.Random(f"{spec.name}-{seed}")
    slots = list(range(1, spec.slots + 1))
    half = spec.slots // 2
    institutions = list(range(1, spec.institutions + 1))
    popularity = [1 / (rank ** 0.8) for rank in range(1, len(institutions) + 1)]
    managers = {b: rng.choice((1, 1, 2, 2, 2, 3)) for b in institutions}
    institution_slots = {b: slots[:half] if rng.random() < 0.5 else slots[half:]
                         for b in institutions if rng.random() < 1 / 6}
    enterprise_slots = {}
    requests, next_id = [], 1
    for e in range(1, spec.enterprises + 1):
        if rng.random() < 0.25:
            enterprise_slots[e] = slots[:half] if rng.random() < 0.5 else slots[half:]
        wanted = set()
        while len(wanted) < rng.randint(*spec.asks):
            wanted.add(rng.choices(institutions, popularity)[0])
        for b in sorted(wanted):
            score = int(min(100, max(40, rng.gauss(70, 15))))
            requests.append(Request(next_id, e, b, score))
            next_id += 1
    musts, used = set(), set()
    for r in rng.sample(requests, len(requests)):
        if len(musts) == spec.must_meets:
            break
        if r.enterprise not in used:
            musts.add(r.id)
            used.add(r.enterprise)
    requests = [Request(r.id, r.enterprise, r.institution, r.priority, r.id in musts)
                for r in requests]
    return Problem.build(slots, range(1, spec.tables + 1), requests, managers,
                         enterprise_slots, institution_slots)


def optimum(problem: Problem, hint=None, time_limit: float = 120.0) -> dict:
    """The exact lexicographic optimum by CP-SAT, one level at a time."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = {}
    for r in problem.requests:
        for s in problem.slots:
            if problem.attends(r.enterprise, s) and problem.capacity_of(r.institution, s) > 0:
                x[r.id, s] = model.NewBoolVar(f"x{r.id}_{s}")
    by_request, by_enterprise_slot, by_bank_slot, by_slot = {}, {}, {}, {}
    by_id = {r.id: r for r in problem.requests}
    for (rid, s), var in x.items():
        r = by_id[rid]
        by_request.setdefault(rid, []).append(var)
        by_enterprise_slot.setdefault((r.enterprise, s), []).append(var)
        by_bank_slot.setdefault((r.institution, s), []).append(var)
        by_slot.setdefault(s, []).append(var)
    for group in list(by_request.values()) + list(by_enterprise_slot.values()):
        model.Add(sum(group) <= 1)
    for (b, s), group in by_bank_slot.items():
        model.Add(sum(group) <= problem.capacity_of(b, s))
    for group in by_slot.values():
        model.Add(sum(group) <= len(problem.tables))
    served = []
    for e in {r.enterprise for r in problem.requests}:
        y = model.NewBoolVar(f"y{e}")
        model.Add(y <= sum(var for (rid, _), var in x.items() if by_id[rid].enterprise == e))
        served.append(y)
    must = sum(var for (rid, _), var in x.items() if by_id[rid].must_meet)
    priority = sum(by_id[rid].priority * var for (rid, _), var in x.items())
    if hint is not None:
        placed = {(p.request_id, p.slot) for p in hint.placements}
        for key, var in x.items():
            model.AddHint(var, key in placed)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 8
    values, proven, started = [], True, time.perf_counter()
    for level in (must, sum(served), priority):
        model.Maximize(level)
        status = solver.Solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise RuntimeError("CP-SAT found no solution")
        proven &= status == cp_model.OPTIMAL
        value = round(solver.ObjectiveValue())
        values.append(value)
        model.Add(level >= value)
    return {"must": values[0], "served": values[1], "priority": values[2],
            "proven": proven, "seconds": time.perf_counter() - started,
            "bound": round(solver.BestObjectiveBound())}


def run(specs, seeds, limit: float, cp_limit: float) -> None:
    head = (f"{'event':<22}{'parts':>6}{'reqs':>6}{'cap':>5} | {'served ours/opt/greedy':>22}"
            f" | {'must o/opt':>10} | {'prio ours':>9}{'greedy':>8} | {'ours s':>7}"
            f"{'cp-sat s':>9}")
    print(head)
    print("-" * len(head))
    for spec in specs:
        for seed in seeds:
            problem = generate(spec, seed)
            ours = schedule(problem, time_limit=limit)
            greedy = heaviest_first(problem)
            assert ours.key == evaluate(problem, ours.placements)
            best = optimum(problem, hint=ours, time_limit=cp_limit)
            parts = spec.enterprises + spec.institutions
            cap = len(problem.slots) * len(problem.tables)
            mark = "" if best["proven"] else "*"
            print(f"{spec.name + '#' + str(seed):<22}{parts:>6}{len(problem.requests):>6}"
                  f"{cap:>5} | {ours.served:>7}/{best['served']:>4}{mark:1}/{greedy.served:>5}"
                  f"     | {ours.must_meets:>4}/{best['must']:<4}  | "
                  f"{ours.priority / best['priority']:>8.2%}{greedy.priority / best['priority']:>8.2%}"
                  f" | {ours.elapsed:>7.2f}{best['seconds']:>9.1f}")
    print("\nparts = enterprises + institutions; cap = slots × tables; prio = total priority "
          "/ optimum's; * = CP-SAT hit its time limit (optimum not proven).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--limit", type=float, default=1.5, help="our time limit, seconds")
    parser.add_argument("--cp-limit", type=float, default=120.0, help="CP-SAT per level")
    parser.add_argument("--only", help="run only the events whose name contains this")
    args = parser.parse_args()
    specs = [s for s in SPECS if not args.only or args.only in s.name]
    run(specs, range(1, args.seeds + 1), args.limit, args.cp_limit)


if __name__ == "__main__":
    main()
