"""The meeting scheduler (pure): hard constraints on random events, must-meets placed when
feasible, and levels 0–1 of the objective equal to a brute-force optimum on tiny events."""
import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchmaker.events.scheduler import (
    Placement,
    Problem,
    Request,
    evaluate,
    heaviest_first,
    schedule,
    violations,
)


def brute_force(problem: Problem) -> tuple[int, int, int]:
    """The exact lexicographic optimum by enumeration (tables only count per slot)."""
    options = [[None] + [s for s in problem.slots if problem.attends(r.enterprise, s)
                         and problem.capacity_of(r.institution, s) > 0]
               for r in problem.requests]
    best = (0, 0, 0)
    for combo in itertools.product(*options):
        seen, load, tables = set(), {}, {}
        ok = True
        for r, s in zip(problem.requests, combo):
            if s is None:
                continue
            load[r.institution, s] = load.get((r.institution, s), 0) + 1
            tables[s] = tables.get(s, 0) + 1
            if ((r.enterprise, s) in seen or tables[s] > len(problem.tables)
                    or load[r.institution, s] > problem.capacity_of(r.institution, s)):
                ok = False
                break
            seen.add((r.enterprise, s))
        if ok:
            placed = [r for r, s in zip(problem.requests, combo) if s is not None]
            best = max(best, (sum(r.must_meet for r in placed),
                              len({r.enterprise for r in placed}),
                              sum(r.priority for r in placed)))
    return best


@st.composite
def events(draw, max_enterprises=30, max_institutions=8, max_slots=6, max_tables=8,
           max_requests=None):
    """Random events: availability windows, 1–3 managers, skewed requests, must-meets (at
    most one per enterprise, as organizers set them)."""
    slots = list(range(1, draw(st.integers(1, max_slots)) + 1))
    tables = list(range(1, draw(st.integers(1, max_tables)) + 1))
    n_e = draw(st.integers(1, max_enterprises))
    n_b = draw(st.integers(1, max_institutions))
    seed = draw(st.integers(0, 2 ** 32))
    rng = random.Random(seed)
    managers = {b: rng.choice((1, 1, 2, 3)) for b in range(n_b)}
    requests, rid, must_used = [], 1, set()
    for e in range(n_e):
        for b in rng.sample(range(n_b), rng.randint(1, min(n_b, 4))):
            must = rng.random() < 0.1 and e not in must_used
            must_used |= {e} if must else set()
            requests.append(Request(rid, e, b, rng.randint(1, 100), must))
            rid += 1
    if max_requests:
        requests = requests[:max_requests]

    def window():
        return rng.sample(slots, rng.randint(1, len(slots)))

    enterprise_slots = {e: window() for e in range(n_e) if rng.random() < 0.3}
    institution_slots = {b: window() for b in range(n_b) if rng.random() < 0.2}
    return Problem.build(slots, tables, requests, managers, enterprise_slots,
                         institution_slots)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_never_a_double_booking_and_availability_respected(problem):
    result = schedule(problem, time_limit=0.5)
    assert violations(problem, result.placements) == []
    assert result.key == evaluate(problem, result.placements)
    placed = {p.request_id for p in result.placements}
    assert placed.isdisjoint(result.unplaced)
    assert placed | set(result.unplaced) == {r.id for r in problem.requests}


@settings(max_examples=300, deadline=None)
@given(events(max_enterprises=4, max_institutions=3, max_slots=3, max_tables=3,
              max_requests=7))
def test_must_meets_and_enterprises_served_are_optimal_on_tiny_events(problem):
    result = schedule(problem, time_limit=0.5)
    optimum = brute_force(problem)
    # level 0 (must-meets placed; all of them whenever that is feasible) and level 1
    # (enterprises served) are exact; level 2 is local search (next test)
    assert result.key[:2] == optimum[:2]
    assert result.priority <= optimum[2]


def test_a_must_meet_enterprise_with_another_way_gives_up_the_contested_place():
    """Found by hypothesis: three must-meets at one desk (one table a slot) in two slots, e2
    free only in the second. Placing e0's and e2's must-meets serves two enterprises; placing
    e1's and e2's and meeting e0 at another desk serves all three with as many must-meets."""
    requests = (Request(1, 0, 0, 60, True), Request(2, 0, 1, 3), Request(3, 0, 2, 41),
                Request(4, 1, 0, 61, True), Request(5, 2, 0, 22, True))
    problem = Problem(slots=(1, 2), tables=(1, 2), requests=requests,
                      capacity={0: {1: 1, 2: 1}, 1: {1: 3, 2: 3}, 2: {1: 1, 2: 1}},
                      available={0: frozenset({1, 2}), 1: frozenset({1, 2}),
                                 2: frozenset({2})})
    result = schedule(problem, time_limit=0.5)
    assert result.key == brute_force(problem) == (2, 3, 127)
    placed = {p.request_id for p in result.placements}
    assert {4, 5} <= placed and 1 not in placed and placed & {2, 3}
    assert violations(problem, result.placements) == []


def test_an_enterprise_with_two_must_meets_gets_both_when_others_can_make_room():
    """e0 must meet i0 and i1 in two slots, e3 must meet i0 in slot 1 only: e2's must-meet
    goes to slot 2 and e1's plain request is dropped for it (4 must-meets, 3 enterprises;
    the first placement found keeps e1 and has 3 must-meets)."""
    requests = (Request(1, 0, 0, 32, True), Request(2, 0, 2, 26), Request(3, 0, 1, 64, True),
                Request(4, 1, 1, 40), Request(5, 2, 0, 79, True), Request(6, 2, 2, 12),
                Request(7, 3, 0, 11, True))
    problem = Problem(slots=(1, 2), tables=(1, 2), requests=requests,
                      capacity={0: {1: 2, 2: 2}, 1: {1: 2, 2: 2}, 2: {1: 3, 2: 3}},
                      available={3: frozenset({1})})
    result = schedule(problem, time_limit=0.5)
    assert result.key == brute_force(problem) == (4, 3, 186)
    assert {p.request_id for p in result.placements} == {1, 3, 5, 7}
    assert violations(problem, result.placements) == []


def test_a_move_is_committed_as_it_was_scored():
    """A move tried and undone left an institution's meetings in another order, so the same
    move committed chose another meeting to evict and scored less than it had been tried
    at (an AssertionError in the local search; found by fuzzing, several must-meets)."""
    asks = [(0, 0, 3, 1), (0, 3, 7, 1), (0, 1, 8, 1), (1, 1, 1, 0), (1, 3, 8, 0), (1, 0, 5, 1),
            (2, 0, 9, 0), (2, 2, 7, 0), (2, 1, 8, 1), (3, 4, 1, 0), (3, 0, 2, 0), (4, 0, 5, 1),
            (4, 3, 4, 1), (5, 1, 3, 0), (6, 3, 7, 0), (6, 0, 9, 1), (6, 1, 4, 0), (7, 4, 2, 1),
            (7, 3, 5, 1), (8, 0, 8, 1), (9, 0, 9, 0), (10, 3, 9, 0), (11, 1, 6, 1),
            (11, 2, 3, 0)]
    requests = tuple(Request(i, e, b, w, bool(must)) for i, (e, b, w, must) in enumerate(asks))
    managers = {0: (2, 0, 0, 0, 2), 1: (0, 0, 0, 0, 2), 2: (2, 0, 2, 2, 1), 3: (2, 2, 0, 1, 0),
                4: (2, 1, 1, 0, 0)}
    windows = {1: {2, 3, 4}, 2: {1, 2, 4}, 3: {1, 3, 4}, 4: {0, 1, 4}, 6: {0, 4},
               7: {1, 2, 3, 4}, 8: {0, 1, 2}, 9: {1, 2, 3, 4}, 10: {2, 3, 4}, 11: {0, 2, 3}}
    problem = Problem(slots=tuple(range(5)), tables=tuple(range(5)), requests=requests,
                      capacity={b: dict(enumerate(n)) for b, n in managers.items()},
                      available={e: frozenset(v) for e, v in windows.items()})
    result = schedule(problem, time_limit=0.5)
    assert violations(problem, result.placements) == []
    assert result.key == evaluate(problem, result.placements)


def test_total_priority_is_almost_always_optimal_on_tiny_events():
    """Level 2 is a local optimum: on 300 seeded tiny events nearly all are the exact
    optimum, and the priority summed over all of them is within 0.5 % of the optimum's."""
    rng, exact, ours_total, best_total = random.Random(9), 0, 0, 0
    for _ in range(300):
        problem = _tiny(rng)
        result, optimum = schedule(problem), brute_force(problem)
        exact += result.key == optimum
        ours_total, best_total = ours_total + result.priority, best_total + optimum[2]
    assert exact >= 291
    assert ours_total >= 0.995 * best_total


def _tiny(rng: random.Random) -> Problem:
    slots, tables = list(range(rng.randint(1, 3))), list(range(rng.randint(1, 3)))
    n_e, n_b = rng.randint(1, 4), rng.randint(1, 3)
    requests, must_used = [], set()
    for e in range(n_e):
        for b in rng.sample(range(n_b), rng.randint(1, n_b)):
            must = rng.random() < 0.2 and e not in must_used
            must_used |= {e} if must else set()
            requests.append(Request(len(requests) + 1, e, b, rng.randint(1, 10), must))
    return Problem.build(slots, tables, requests[:7], {b: rng.randint(1, 2) for b in range(n_b)},
                         {e: rng.sample(slots, rng.randint(1, len(slots)))
                          for e in range(n_e) if rng.random() < 0.4},
                         {b: rng.sample(slots, rng.randint(1, len(slots)))
                          for b in range(n_b) if rng.random() < 0.3})


def test_brute_force_agrees_with_a_hand_solved_event():
    # one slot, one table: the only meeting must go to the must-meet pair
    problem = Problem.build([1], [1], [Request(1, 1, 1, 90), Request(2, 2, 1, 10, True)],
                            {1: 1})
    assert brute_force(problem) == (1, 1, 10)
    assert schedule(problem).key == (1, 1, 10)


def test_fairness_before_volume_where_heaviest_first_fails():
    # two slots, one table each; enterprise 1 asks two banks with high priority, enterprises
    # 2 and 3 have one modest request each: heaviest-first gives enterprise 1 both slots
    requests = [Request(1, 1, 1, 90), Request(2, 1, 2, 80), Request(3, 2, 1, 30),
                Request(4, 3, 2, 20)]
    problem = Problem.build([1, 2], [1], requests, {1: 1, 2: 1})
    greedy = heaviest_first(problem)
    ours = schedule(problem)
    assert greedy.served == 1
    assert ours.served == 2
    assert ours.key == brute_force(problem)


def test_a_bank_meets_in_parallel_up_to_its_managers():
    requests = [Request(i, i, 1, 50) for i in range(1, 5)]
    problem = Problem.build([1], [1, 2, 3, 4], requests, {1: 3})
    result = schedule(problem)
    assert result.served == 3  # three managers present, four enterprises
    assert len({p.table for p in result.placements}) == 3


def test_unavailable_slots_are_left_free():
    requests = [Request(1, 1, 1, 50), Request(2, 2, 1, 50)]
    problem = Problem.build([1, 2], [1], requests, {1: 1}, enterprise_slots={1: [2]},
                            institution_slots={1: [2]})
    result = schedule(problem)
    assert [(p.request_id, p.slot) for p in result.placements] in ([(1, 2)], [(2, 2)])
    assert result.served == 1


def test_an_institution_keeps_its_home_table():
    requests = [Request(i, i, 1, 50) for i in range(1, 4)] + [Request(10, 9, 2, 40)]
    problem = Problem.build([1, 2, 3], [1, 2], requests, {1: 1, 2: 1})
    result = schedule(problem)
    by_id = {r.id: r for r in problem.requests}
    tables = {p.table for p in result.placements if by_id[p.request_id].institution == 1}
    assert len(tables) == 1


def test_violations_reports_each_broken_rule():
    problem = Problem.build([1], [1], [Request(1, 1, 1), Request(2, 1, 2)], {1: 1, 2: 1},
                            enterprise_slots={1: [1]})
    broken = violations(problem, [Placement(1, 1, 1), Placement(2, 1, 1), Placement(1, 1, 1)])
    assert any(v.startswith("enterprise_double_booked") for v in broken)
    assert any(v.startswith("table_double_booked") for v in broken)
    assert any(v.startswith("request_twice") for v in broken)


def test_empty_event():
    result = schedule(Problem.build([1], [1], [], {}))
    assert result.placements == () and result.key == (0, 0, 0)


@pytest.mark.parametrize("seed", range(3))
def test_a_300_participant_event_serves_every_enterprise(seed):
    """Its time is measured by benchmarks/bench_scheduler.py, not asserted here: about 0.5 s
    alone, but a wall clock read on cores shared with the rest of CI failed this test (2.02
    s) with nothing wrong in the schedule."""
    rng = random.Random(seed)
    requests, rid = [], 1
    for e in range(240):
        for b in rng.sample(range(60), rng.randint(2, 6)):
            requests.append(Request(rid, e, b, rng.randint(40, 100)))
            rid += 1
    problem = Problem.build(range(12), range(30), requests,
                            {b: rng.choice((1, 2, 3)) for b in range(60)})
    result = schedule(problem)
    assert violations(problem, result.placements) == []
    assert result.served == 240
    assert result.served > heaviest_first(problem).served
