"""The one-to-one meeting schedule of a 银企对接会. Pure: no Flask, no database, no I/O, so
tests and `benchmarks/bench_scheduler.py` call it directly.

Input: accepted meeting requests (enterprise, institution, priority, must-meet), the event's
slots and tables, each institution's managers present per slot, each enterprise's slots.

Hard constraints (never broken; `violations()` checks them):
- a request is met at most once;
- an enterprise sits at one table per slot, and only in slots it said it can attend;
- an institution holds at most as many meetings in a slot as it has managers present then
  (a bank meets in parallel, one manager per table; no manager present = unavailable);
- a table holds one meeting per slot.

Objective, lexicographic (`Schedule.key`):
  0. must-meet pairs placed (the organizer's 必须洽谈 pairs come first);
  1. enterprises with at least one meeting — fairness before volume: the small firm that came
     and got no meeting is the usual complaint about such events;
  2. total priority (better-matched pairs weigh more: the stored match score).

Why not one flow. Serving each enterprise ONCE is a flow problem: enterprise -> (institution,
slot) [its managers] -> slot [its tables]; an enterprise with one meeting never conflicts with
itself. Several meetings per enterprise add the rule "one table per slot per enterprise" on
top of "one meeting per pair": that is class–teacher timetabling with availability, NP-hard
(Even, Itai & Shamir 1976), so levels 0–1 are solved exactly and level 2 by local search.
Exactly where an enterprise has at most one must-meet pair, as organizers set them: placing
an enterprise's second must-meet beside its first is the timetabling problem itself, so
those are placed by phases 2–3, as well as they can be, not provably all.

Phase 1 (exact for levels 0–1). The sets of enterprises that can be served together, one
  meeting each, are the independent sets of a matroid (a gammoid of the flow network above).
  So a greedy in priority order — must-meet enterprises first (through their must-meet pair
  only), then the rest by their best request — that admits an enterprise whenever an
  augmenting path reaches it is a maximum-weight basis: as many must-meets as possible, then
  as many enterprises as possible. An augmenting path never unserves anyone, it only moves
  them. Most enterprises fit directly (the best request in the emptiest slot); the path
  search runs only for the rest, and a node from which a search once failed can never reach
  the sink again (new residual edges only start on augmenting paths), so it is skipped for
  good: the failed searches together cost one pass over the network.
  The two levels together need one step more: a must-meet enterprise placed through its
  must-meet pair may take the place another needs for its own, while it could have been
  served by another request. So, when such an enterprise exists and someone still waits,
  shortest augmenting paths that count must-meets (successive shortest paths) serve the
  waiting without losing a must-meet, until none can be.
Phase 2. Further must-meet pairs (an enterprise's second one), then every other request by
  priority, each into the feasible slot with the most free tables.
Phase 3 (local search on level 2; a move is kept only if the lexicographic objective
  rises, so levels 0–1 are never lost). (a) For each unplaced request, heaviest first, and
  each of its slots: take out what blocks it there (the enterprise's own meeting in that
  slot, the cheapest meeting of a full institution, the cheapest of a full slot), place it,
  and put each blocker in another slot — where it fits, or by an ejection chain of depth 2
  (moving one meeting there to a free place; for a must-meet, also dropping a meeting that
  is none, or moving another must-meet on in turn); a blocker with nowhere to go is dropped.
  (b) Exact single-slot re-optimisation: with the other slots fixed, a slot's meetings are
  a maximum-weight b-matching (min-cost flow), the weights encoding the three levels.
  (a) and (b) alternate until neither improves or time is up (typically well under 1 s for
  300 participants and 12 slots).
Tables last: each institution keeps "home" tables as far as possible, so a bank's managers
  stay put while enterprises move between slots.

`benchmarks/bench_scheduler.py` compares this with the exact optimum (OR-Tools CP-SAT) and
with the naive heaviest-request-first greedy.
"""
from __future__ import annotations

import bisect
import heapq
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# --------------------------------------------------------------------------- input / output


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    enterprise: int
    institution: int
    priority: int = 1
    must_meet: bool = False


@dataclass(frozen=True)
class Problem:
    slots: tuple[int, ...]  # in time order
    tables: tuple[int, ...]
    requests: tuple[Request, ...]
    # institution -> slot -> managers present; a slot absent from the inner map means none
    capacity: Mapping[int, Mapping[int, int]]
    # enterprise -> slots it can attend; an enterprise absent from the map attends them all
    available: Mapping[int, frozenset[int]]

    @classmethod
    def build(cls, slots: Iterable[int], tables: Iterable[int], requests: Iterable[Request],
              managers: Mapping[int, int],
              enterprise_slots: Mapping[int, Iterable[int]] | None = None,
              institution_slots: Mapping[int, Iterable[int]] | None = None) -> Problem:
        """The common case: an institution's managers attend the same slots (all unless
        institution_slots says otherwise)."""
        slots = tuple(slots)
        institution_slots = institution_slots or {}
        capacity = {}
        for inst, count in managers.items():
            present = set(institution_slots.get(inst, slots))
            capacity[inst] = {s: count for s in slots if s in present and count > 0}
        return cls(slots=slots, tables=tuple(tables), requests=tuple(requests),
                   capacity=capacity,
                   available={e: frozenset(v) for e, v in (enterprise_slots or {}).items()})

    def capacity_of(self, institution: int, slot: int) -> int:
        return self.capacity.get(institution, {}).get(slot, 0)

    def attends(self, enterprise: int, slot: int) -> bool:
        slots = self.available.get(enterprise)
        return slots is None or slot in slots


@dataclass(frozen=True, slots=True)
class Placement:
    request_id: int
    slot: int
    table: int


@dataclass(frozen=True)
class Schedule:
    placements: tuple[Placement, ...]
    unplaced: tuple[int, ...]  # request ids, heaviest first
    must_meets: int
    served: int
    priority: int
    elapsed: float = 0.0

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.must_meets, self.served, self.priority)


def evaluate(problem: Problem, placements: Iterable[Placement]) -> tuple[int, int, int]:
    """(must-meets placed, enterprises served, total priority) of any placement list."""
    by_id = {r.id: r for r in problem.requests}
    placed = [by_id[p.request_id] for p in placements]
    return (sum(r.must_meet for r in placed), len({r.enterprise for r in placed}),
            sum(r.priority for r in placed))


def violations(problem: Problem, placements: Iterable[Placement]) -> list[str]:
    """Every broken hard constraint, as a code with the ids involved; [] when valid."""
    by_id = {r.id: r for r in problem.requests}
    slots, tables = set(problem.slots), set(problem.tables)
    found, seen, enterprise_at, table_at, load = [], set(), set(), set(), {}
    for p in placements:
        r = by_id.get(p.request_id)
        if r is None or p.slot not in slots or p.table not in tables:
            found.append(f"unknown:{p}")
            continue
        if r.id in seen:
            found.append(f"request_twice:{r.id}")
        seen.add(r.id)
        if not problem.attends(r.enterprise, p.slot):
            found.append(f"enterprise_unavailable:{r.enterprise}@{p.slot}")
        if (r.enterprise, p.slot) in enterprise_at:
            found.append(f"enterprise_double_booked:{r.enterprise}@{p.slot}")
        enterprise_at.add((r.enterprise, p.slot))
        if (p.table, p.slot) in table_at:
            found.append(f"table_double_booked:{p.table}@{p.slot}")
        table_at.add((p.table, p.slot))
        key = (r.institution, p.slot)
        load[key] = load.get(key, 0) + 1
        if load[key] > problem.capacity_of(r.institution, p.slot):
            found.append(f"institution_over_capacity:{r.institution}@{p.slot}")
    return found


def schedule(problem: Problem, time_limit: float = 1.5) -> Schedule:
    """The best schedule found (see the module docstring); levels 0–1 of the objective are
    optimal (an enterprise's second must-meet aside), level 2 is improved until a local
    optimum or `time_limit` seconds."""
    started = time.perf_counter()
    deadline = started + time_limit
    state = _State(problem)
    _serve_most(state)
    for r in state.order(must_only=True):
        if time.perf_counter() > deadline:
            break
        if state.slot_of[r] < 0:
            _improve_with(state, r)
    _fill(state)
    while time.perf_counter() < deadline and _local_search_pass(state, deadline):
        pass
    while time.perf_counter() < deadline and _reoptimize_slots(state, deadline):
        while time.perf_counter() < deadline and _local_search_pass(state, deadline):
            pass
    return state.result(time.perf_counter() - started)


def heaviest_first(problem: Problem) -> Schedule:
    """The naive baseline the benchmark compares with: requests by priority, each into the
    first slot where it fits. Popular, well-matched pairs crowd out small firms."""
    started = time.perf_counter()
    state = _State(problem)
    for r in sorted(range(len(state.w)), key=lambda r: (-state.must[r], -state.w[r])):
        for s in state.allowed[r]:
            if state.fits(r, s):
                state.place(r, s)
                break
    return state.result(time.perf_counter() - started)


# --------------------------------------------------------------------------- working state


class _State:
    """Everything by index: requests r, enterprises e, institutions b, slots s (time order)."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.requests = list(problem.requests)
        S = self.S = len(problem.slots)
        self.T = len(problem.tables)
        e_ids = sorted({r.enterprise for r in self.requests})
        b_ids = sorted({r.institution for r in self.requests})
        e_index = {e: i for i, e in enumerate(e_ids)}
        b_index = {b: i for i, b in enumerate(b_ids)}
        self.re = [e_index[r.enterprise] for r in self.requests]
        self.rb = [b_index[r.institution] for r in self.requests]
        self.w = [max(0, int(r.priority)) for r in self.requests]
        self.must = [bool(r.must_meet) for r in self.requests]
        self.cap = [[problem.capacity_of(b, s) for s in problem.slots] for b in b_ids]
        attends = [[problem.attends(e, s) for s in problem.slots] for e in e_ids]
        self.allowed = [tuple(s for s in range(S) if attends[self.re[r]][s]
                              and self.cap[self.rb[r]][s] > 0)
                        for r in range(len(self.requests))]
        self.allowed_set = [frozenset(a) for a in self.allowed]
        self.by_e = [[] for _ in e_ids]
        for r, e in enumerate(self.re):
            self.by_e[e].append(r)
        # an enterprise with two must-meets or more: level 0 is left to the local search
        self.several_musts = any(sum(self.must[r] for r in rs) > 1 for rs in self.by_e)
        self.slot_of = [-1] * len(self.requests)
        self.e_at = [[-1] * S for _ in e_ids]
        self.b_at = [[[] for _ in range(S)] for _ in b_ids]
        self.s_members = [set() for _ in range(S)]
        # slots with a free table: in a tight event few or none, so searches start here
        self.open = set(range(S)) if self.T > 0 else set()
        self.e_count = [0] * len(e_ids)
        self.score = [0, 0, 0]

    def fits(self, r: int, s: int) -> bool:
        b = self.rb[r]
        return (len(self.s_members[s]) < self.T and self.e_at[self.re[r]][s] < 0
                and len(self.b_at[b][s]) < self.cap[b][s])

    def place(self, r: int, s: int) -> None:
        e = self.re[r]
        self.slot_of[r] = s
        self.e_at[e][s] = r
        # kept sorted: a move undone leaves the lists as they were, so the choices below
        # (the first movable meeting …) are the same when the move is then committed
        bisect.insort(self.b_at[self.rb[r]][s], r)
        self.s_members[s].add(r)
        if len(self.s_members[s]) >= self.T:
            self.open.discard(s)
        self.e_count[e] += 1
        self.score[0] += self.must[r]
        self.score[1] += self.e_count[e] == 1
        self.score[2] += self.w[r]

    def remove(self, r: int) -> int:
        s, e = self.slot_of[r], self.re[r]
        self.slot_of[r] = -1
        self.e_at[e][s] = -1
        self.b_at[self.rb[r]][s].remove(r)
        self.s_members[s].discard(r)
        self.open.add(s)
        self.e_count[e] -= 1
        self.score[0] -= self.must[r]
        self.score[1] -= self.e_count[e] == 0
        self.score[2] -= self.w[r]
        return s

    def free_tables(self, s: int) -> int:
        return self.T - len(self.s_members[s])

    def best_slot(self, r: int, exclude: int = -1) -> int:
        """The feasible slot with the most free tables (keeps room for the next request)."""
        best, room = -1, 0
        allowed = self.allowed_set[r]
        for s in self.open:
            if (s != exclude and s in allowed and self.fits(r, s)
                    and (self.free_tables(s), -s) > (room, -best)):
                best, room = s, self.free_tables(s)
        return best

    def order(self, must_only: bool = False) -> list[int]:
        rs = [r for r in range(len(self.w)) if self.must[r] or not must_only]
        return sorted(rs, key=lambda r: (-self.must[r], -self.w[r], len(self.allowed[r]), r))

    def result(self, elapsed: float) -> Schedule:
        tables = _assign_tables(self)
        placements = tuple(sorted(
            (Placement(self.requests[r].id, self.problem.slots[s], tables[r])
             for r, s in enumerate(self.slot_of) if s >= 0),
            key=lambda p: (self.problem.slots.index(p.slot), p.table)))
        unplaced = tuple(self.requests[r].id for r in self.order() if self.slot_of[r] < 0)
        return Schedule(placements, unplaced, *self.score, elapsed=elapsed)


# --------------------------------------------------------------------------- phase 1


class _ServeFlow:
    """Max flow: source -> enterprise (1) -> (institution, slot) (1 per request and slot) ->
    slot (managers present) -> sink (tables). Residual capacities on paired edges i, i^1."""

    SOURCE, SINK = 0, 1

    def __init__(self, st: _State):
        self.st = st
        self.E, self.B, self.S = len(st.by_e), len(st.cap), st.S
        self.bs_base = 2 + self.E
        self.s_base = self.bs_base + self.B * self.S
        n = self.s_base + self.S
        self.adj = [[] for _ in range(n)]
        self.head, self.res = [], []
        self.meta = {}  # edge -> (request, slot)
        self.dead = [False] * n
        self.source_edge = [self._edge(self.SOURCE, 2 + e, 0) for e in range(self.E)]
        self.bs_edge = {}
        for b in range(self.B):
            for s in range(self.S):
                if st.cap[b][s] > 0:
                    self.bs_edge[b, s] = self._edge(self.bs_base + b * self.S + s,
                                                    self.s_base + s, st.cap[b][s])
        self.sink_edge = [self._edge(self.s_base + s, self.SINK, st.T) for s in range(self.S)]
        self.with_options = set()

    def _edge(self, u: int, v: int, cap: int) -> int:
        i = len(self.head)
        self.head += [v, u]
        self.res += [cap, 0]
        self.adj[u].append(i)
        self.adj[v].append(i + 1)
        return i

    def add_options(self, e: int, requests: list[int]) -> None:
        st = self.st
        for r in requests:
            if (e, r) in self.with_options:
                continue
            self.with_options.add((e, r))
            for s in st.allowed[r]:
                i = self._edge(2 + e, self.bs_base + st.rb[r] * self.S + s, 1)
                self.meta[i] = (r, s)
        self.dead[2 + e] = False  # new edges: a failed search from e says nothing now

    def try_serve(self, e: int, preferred: list[int]) -> bool:
        return self._direct(e, preferred) or self._augment(e)

    def _direct(self, e: int, preferred: list[int]) -> bool:
        """The common case without a search: the best request in the emptiest slot."""
        st = self.st
        for r in preferred:
            best, room = None, 0
            for s in st.allowed[r]:
                j = self.bs_edge[st.rb[r], s]
                k = self.sink_edge[s]
                if self.res[j] > 0 and self.res[k] > room:
                    best, room = s, self.res[k]
            if best is not None:
                edge = next(i for i in self.adj[2 + e]
                            if i in self.meta and self.meta[i] == (r, best))
                path = [self.source_edge[e], edge, self.bs_edge[st.rb[r], best],
                        self.sink_edge[best]]
                for i in path:
                    self.res[i] -= 1
                    self.res[i ^ 1] += 1
                return True
        return False

    def _augment(self, e: int) -> bool:
        self.res[self.source_edge[e]] = 1
        parent = {self.SOURCE: -1}
        queue = deque([self.SOURCE])
        while queue:
            u = queue.popleft()
            for i in self.adj[u]:
                v = self.head[i]
                if self.res[i] <= 0 or v in parent or self.dead[v]:
                    continue
                parent[v] = i
                if v == self.SINK:
                    while v != self.SOURCE:
                        i = parent[v]
                        self.res[i] -= 1
                        self.res[i ^ 1] += 1
                        v = self.head[i ^ 1]
                    return True
                queue.append(v)
        for v in parent:  # none of them can reach the sink, now or later
            if v != self.SOURCE:
                self.dead[v] = True
        self.res[self.source_edge[e]] = 0
        return False

    def serve_more_keeping_must_meets(self) -> None:
        """Serve the enterprises still waiting by paths that keep the must-meet count, until
        none is left. The greedy above is exact for each level alone, not for the pair: a
        must-meet enterprise placed through its must-meet pair may be the one that blocks
        another's must-meet, while it could itself be served by another request. Costs count
        must-meets (a must-meet edge -1, its reverse +1): the flow holds as many must-meets
        as any can, so no path costs less than 0 and a path of cost 0 serves one enterprise
        more without losing one; augmenting shortest paths is successive shortest paths, so
        the end is the most enterprises served among the flows with the most must-meets."""
        st = self.st
        switchable = [e for e, rs in enumerate(st.by_e) if self.served(e)
                      and any(st.must[r] for r in rs) and not all(st.must[r] for r in rs)]
        if not switchable or all(self.served(e) for e in range(self.E)):
            return  # the greedy's augmenting paths could already move everyone: exact
        for e in switchable:
            self.add_options(e, st.by_e[e])
        while True:
            path = self._must_neutral_path()
            if path is None:
                return
            for i in path:
                self.res[i] -= 1
                self.res[i ^ 1] += 1

    def served(self, e: int) -> bool:
        return self.res[self.source_edge[e] ^ 1] > 0

    def _must_cost(self, i: int) -> int:
        forward = self.meta.get(i & ~1)
        if forward is None or not self.st.must[forward[0]]:
            return 0
        return 1 if i & 1 else -1

    def _must_neutral_path(self) -> list[int] | None:
        """Label-correcting shortest path (Bellman–Ford with a queue: costs can be negative,
        the residual graph has no negative cycle) from every waiting enterprise to the sink;
        its edges, the source edge first, when it costs 0."""
        waiting = [e for e in range(self.E) if not self.served(e)]
        dist = {2 + e: 0 for e in waiting}
        parent: dict[int, int] = {}
        queue, queued = deque(dist), set(dist)
        while queue:
            u = queue.popleft()
            queued.discard(u)
            for i in self.adj[u]:
                v = self.head[i]
                if self.res[i] <= 0 or v == self.SOURCE:
                    continue
                d = dist[u] + self._must_cost(i)
                if d < dist.get(v, d + 1):
                    dist[v], parent[v] = d, i
                    if v != self.SINK and v not in queued:
                        queue.append(v)
                        queued.add(v)
        if dist.get(self.SINK) != 0:
            return None
        path, v = [], self.SINK
        while v in parent:
            path.append(parent[v])
            v = self.head[parent[v] ^ 1]
        path.append(self.source_edge[v - 2])
        return path[::-1]

    def assignment(self) -> Iterable[tuple[int, int]]:
        for e in range(self.E):
            for i in self.adj[2 + e]:
                if i in self.meta and self.res[i] == 0 and self.res[i ^ 1] == 1:
                    yield self.meta[i]


def _serve_most(st: _State) -> None:
    flow = _ServeFlow(st)

    def best_first(rs):
        return sorted(rs, key=lambda r: (-st.w[r], len(st.allowed[r]), r))

    must_enterprises = [e for e, rs in enumerate(st.by_e) if any(st.must[r] for r in rs)]
    # must-meet enterprises first, through their must-meet pairs only (level 0) ...
    must_enterprises.sort(key=lambda e: min(len(st.allowed[r]) for r in st.by_e[e]
                                            if st.must[r]))
    left = []
    for e in must_enterprises:
        musts = best_first(r for r in st.by_e[e] if st.must[r])
        flow.add_options(e, musts)
        if not flow.try_serve(e, musts):
            left.append(e)
    # ... then everyone else, best-matched first (level 1, exact; level 2, a good start)
    must_set = set(must_enterprises)
    rest = [e for e in range(len(st.by_e)) if e not in must_set] + left
    rest.sort(key=lambda e: (-max(st.w[r] for r in st.by_e[e]),
                             sum(len(st.allowed[r]) for r in st.by_e[e]), e))
    for e in rest:
        options = best_first(st.by_e[e])
        flow.add_options(e, options)
        flow.try_serve(e, options)
    flow.serve_more_keeping_must_meets()
    for r, s in flow.assignment():
        st.place(r, s)


# --------------------------------------------------------------------------- phases 2 and 3


def _fill(st: _State) -> None:
    for r in st.order():
        if st.slot_of[r] < 0:
            s = st.best_slot(r)
            if s >= 0:
                st.place(r, s)


def _local_search_pass(st: _State, deadline: float) -> bool:
    improved = False
    for n, r in enumerate(st.order()):
        if n % 16 == 0 and time.perf_counter() > deadline:
            break
        if st.slot_of[r] < 0 and _improve_with(st, r):
            improved = True
    return improved


def _improve_with(st: _State, r: int) -> bool:
    """Place unplaced request r in the slot where that raises the objective most, moving or
    dropping what blocks it there; False (and nothing changed) when no slot does."""
    before = tuple(st.score)
    best = None
    for s in st.allowed[r]:
        gain = _try_in_slot(st, r, s, commit=False)
        if gain > (0, 0, 0) and (best is None or gain > best[0]):
            best = (gain, s)
    if best is None:
        return False
    _try_in_slot(st, r, best[1], commit=True)
    assert tuple(st.score) > before
    return True


def _try_in_slot(st: _State, r: int, s: int, commit: bool):
    """Lexicographic gain of putting r into s, its blockers moved elsewhere (directly or by
    an ejection chain) or dropped. Undone unless commit."""
    blockers = _blockers(st, r, s)
    before = tuple(st.score)
    trail = [(m, st.remove(m), -1) for m in blockers]
    st.place(r, s)
    trail.append((r, -1, s))
    for m in blockers:
        _relocate(st, m, s, trail)
    after = tuple(st.score)
    if not commit:
        _undo(st, trail)
    return (after[0] - before[0], after[1] - before[1], after[2] - before[2])


def _undo(st: _State, trail: list[tuple[int, int, int]]) -> None:
    """Reverse (request, slot it left or -1, slot it entered or -1) steps, last first."""
    for m, left, entered in reversed(trail):
        if entered >= 0:
            st.remove(m)
        if left >= 0:
            st.place(m, left)


def _relocate(st: _State, m: int, avoid: int, trail: list, depth: int = 3) -> bool:
    """Put the evicted meeting m in a slot other than `avoid`: where it fits, else where one
    meeting stands in its way that can itself move to a free place (an ejection chain of
    depth 2: this is what rotates a must-meet out of the one slot an enterprise can attend).
    Nothing else is dropped, except a meeting that is not a must-meet standing in a must-meet's
    way; a must-meet standing in a must-meet's way may itself be relocated so (depth 3: an
    enterprise with two must-meets needs both its slots). False (and nothing changed) when
    none of this works."""
    to = st.best_slot(m, exclude=avoid)
    if to >= 0:
        st.place(m, to)
        trail.append((m, -1, to))
        return True
    for to, x in _conflicts(st, m, avoid, deeper=depth > 2):
        mark = len(trail)
        trail.append((x, st.remove(x), -1))
        st.place(m, to)
        trail.append((m, -1, to))
        back = st.best_slot(x, exclude=to)
        if back >= 0:
            st.place(x, back)
            trail.append((x, -1, back))
            return True
        if st.must[m] and not st.must[x]:
            return True  # x dropped: losing any other meeting costs less than a must-meet
        if depth > 2 and st.must[x] and _relocate(st, x, to, trail, depth - 1):
            return True
        _undo(st, trail[mark:])
        del trail[mark:]
    return False


def _conflicts(st: _State, m: int, avoid: int, deeper: bool = False):
    """(slot, the one meeting whose leaving it lets m in) for m's slots other than `avoid`:
    first those where that meeting can move on directly; then, for a must-meet m, those where
    it is no must-meet and may be dropped (cheapest first), which costs less than losing m,
    and with `deeper` those where it is a must-meet that may be relocated in turn (the
    DEEPER lightest: each such try is a relocation of its own)."""
    slots = [to for to in st.allowed[m] if to != avoid]
    tried = set()
    for to in slots:
        x = next((x for x in _leavers(st, m, to) if _movable(st, x)), -1)
        if x >= 0:
            tried.add((to, x))
            yield to, x
    if not (st.must[m] and st.several_musts):
        return  # one must-meet an enterprise: phase 1 placed all that can be, none to win
    found = sorted(((to, x) for to in slots for x in _leavers(st, m, to, room=False)
                    if (to, x) not in tried and (deeper or not st.must[x])),
                   key=lambda tx: (st.must[tx[1]], st.w[tx[1]], tx[1], tx[0]))
    plain = [tx for tx in found if not st.must[tx[1]]]
    yield from plain + found[len(plain):len(plain) + DEEPER]


DEEPER = 4


def _leavers(st: _State, m: int, to: int, room: bool = True) -> list[int]:
    """The meetings of slot `to` whose leaving alone lets m in, in id order; [] if none
    would do (or two would have to leave). `room`: a meeting taking a table only counts if
    some other slot has a free one."""
    em, bm = st.re[m], st.rb[m]
    own = st.e_at[em][to]
    bank_full = len(st.b_at[bm][to]) >= st.cap[bm][to]
    if own >= 0:
        return [] if bank_full else [own]
    if bank_full:
        return st.b_at[bm][to]
    if len(st.s_members[to]) >= st.T and (not room or _room_elsewhere(st, to)):
        return sorted(st.s_members[to])
    return []


def _blockers(st: _State, r: int, s: int) -> list[int]:
    """What must leave slot s for r to fit: its enterprise's meeting there, one meeting of
    its institution when full, one more meeting when the tables are full — the cheapest to
    lose each time. Whether the move pays is the caller's lexicographic gain."""
    e, b = st.re[r], st.rb[r]
    out = []
    own = st.e_at[e][s]
    if own >= 0:
        out.append(own)
    room = _room_elsewhere(st, s)
    if len(st.b_at[b][s]) >= st.cap[b][s]:
        out.append(_cheapest_leaver(st, st.b_at[b][s], e, out, room))
    if len(st.s_members[s]) - len(out) >= st.T:
        out.append(_cheapest_leaver(st, st.s_members[s], e, out, room))
    return out


def _room_elsewhere(st: _State, s: int) -> bool:
    return len(st.open) > (s in st.open)


def _movable(st: _State, m: int) -> bool:
    s, allowed = st.slot_of[m], st.allowed_set[m]
    return any(to != s and to in allowed and st.fits(m, to) for to in st.open)


def _cheapest_leaver(st: _State, candidates, e: int, out: list[int], room: bool) -> int:
    """A meeting that can move to another slot (nothing lost) if there is one, else the one
    whose loss costs least: not a must-meet, not an enterprise's only meeting, lightest."""
    best, best_key = -1, None
    for m in sorted(candidates):  # in id order: the same choice when a move is replayed
        if m in out:
            continue
        if room and _movable(st, m):
            return m
        em = st.re[m]
        leaving = sum(1 for x in out if st.re[x] == em) + 1
        sole = em != e and st.e_count[em] <= leaving
        key = (st.must[m], sole, st.w[m], m)
        if best_key is None or key < best_key:
            best, best_key = m, key
    return best


def _reoptimize_slots(st: _State, deadline: float) -> bool:
    """One sweep of exact single-slot re-optimisation; True if any slot improved."""
    improved = False
    for s in range(st.S):
        if time.perf_counter() > deadline:
            break
        improved |= _reoptimize_slot(st, s)
    return improved


def _reoptimize_slot(st: _State, s: int) -> bool:
    """With every other slot fixed, choose slot s's meetings optimally: a maximum-weight
    b-matching (enterprise ≤ 1, institution ≤ its managers, ≤ T in all) solved as a min-cost
    flow by successive shortest paths. Weights encode the lexicographic objective: a
    must-meet outweighs any number of enterprises served, and serving an enterprise that has
    no meeting in another slot outweighs any total priority."""
    current = list(st.s_members[s])
    before = tuple(st.score)
    for r in current:
        st.remove(r)
    serve = sum(st.w) + 1
    must = serve * (len(st.by_e) + 1)
    candidates = [r for r in range(len(st.w)) if st.slot_of[r] < 0 and s in st.allowed[r]]
    value = {r: st.w[r] + must * st.must[r] + serve * (st.e_count[st.re[r]] == 0)
             for r in candidates}
    chosen = _max_weight_b_matching(st, s, candidates, value)
    for r in chosen:
        st.place(r, s)
    if tuple(st.score) >= before:
        return tuple(st.score) > before
    for r in chosen:  # never worse: put the old slot back (ties in the weights, rounding)
        st.remove(r)
    for r in current:
        st.place(r, s)
    return False


def _max_weight_b_matching(st: _State, s: int, candidates: list[int], value) -> list[int]:
    enterprises = sorted({st.re[r] for r in candidates})
    banks = sorted({st.rb[r] for r in candidates})
    e_node = {e: 2 + i for i, e in enumerate(enterprises)}
    b_node = {b: 2 + len(enterprises) + i for i, b in enumerate(banks)}
    hub = 2 + len(enterprises) + len(banks)
    n = hub + 1
    SOURCE, SINK = 0, 1
    head, res, cost, adj = [], [], [], [[] for _ in range(n)]

    def edge(u, v, cap, c):
        head.extend((v, u))
        res.extend((cap, 0))
        cost.extend((c, -c))
        adj[u].append(len(head) - 2)
        adj[v].append(len(head) - 1)
        return len(head) - 2

    for e in enterprises:
        edge(SOURCE, e_node[e], 1, 0)
    request_edge = {r: edge(e_node[st.re[r]], b_node[st.rb[r]], 1, -value[r])
                    for r in candidates}
    for b in banks:
        edge(b_node[b], hub, st.cap[b][s] - len(st.b_at[b][s]), 0)
    edge(hub, SINK, st.T - len(st.s_members[s]), 0)
    # potentials for the first search: shortest distances in this DAG
    pot = [0] * n
    for r in candidates:
        b = b_node[st.rb[r]]
        pot[b] = min(pot[b], -value[r])
    pot[hub] = min((pot[b_node[b]] for b in banks), default=0)
    pot[SINK] = pot[hub]
    inf = float("inf")
    while True:
        dist = [inf] * n
        parent = [-1] * n
        dist[SOURCE] = 0
        heap = [(0, SOURCE)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist[u]:
                continue
            pu = pot[u]
            for i in adj[u]:
                if res[i] <= 0:
                    continue
                v = head[i]
                nd = d + cost[i] + pu - pot[v]
                if nd < dist[v]:
                    dist[v] = nd
                    parent[v] = i
                    heapq.heappush(heap, (nd, v))
        if dist[SINK] == inf or dist[SINK] + pot[SINK] - pot[SOURCE] >= 0:
            break
        v = SINK
        while v != SOURCE:
            i = parent[v]
            res[i] -= 1
            res[i ^ 1] += 1
            v = head[i ^ 1]
        top = max(d for d in dist if d != inf)
        pot = [p + (d if d != inf else top) for p, d in zip(pot, dist)]
    return [r for r, i in request_edge.items() if res[i] == 0]


# --------------------------------------------------------------------------- tables


def _assign_tables(st: _State) -> dict[int, int]:
    """A table per placed request. Each institution gets home tables (as many as its busiest
    slot needs, busiest institutions first), used whenever free; the rest fill the gaps."""
    tables = st.problem.tables
    if not tables:
        return {}
    peak = [max((len(st.b_at[b][s]) for s in range(st.S)), default=0)
            for b in range(len(st.cap))]
    home, nxt = {}, 0
    for b in sorted(range(len(peak)), key=lambda b: (-peak[b], b)):
        home[b] = [tables[(nxt + k) % len(tables)] for k in range(peak[b])]
        nxt += peak[b]
    out = {}
    for s in range(st.S):
        used = set()
        members = sorted(st.s_members[s], key=lambda r: (st.rb[r], r))
        waiting = []
        for r in members:
            table = next((t for t in home[st.rb[r]] if t not in used), None)
            if table is None:
                waiting.append(r)
            else:
                used.add(table)
                out[r] = table
        free = (t for t in tables if t not in used)
        for r in waiting:
            out[r] = next(free)
    return out
