"""Which institutions receive which whitelist entries: a pure function, no session.

The rule (what `allocate` guarantees; tests/test_whitelists_allocation.py checks each point
with hypothesis):

Inputs: for each entry, its eligible institutions ranked best match first (the matcher's
order); N = at most N institutions per entry; share = the part of the batch's proposals one
institution may carry; `fixed` = pushes already sent (they stay, and count).

1. Demand. An entry asks for d = min(N, number of its eligible institutions) institutions
   (never fewer than it already holds). T = the sum of all demands; the cap per institution
   is C = max(1, ceil(T × share)).
2. First institution for every entry (round 1). Entries with the fewest eligible
   institutions go first (they have the fewest ways out); each takes the least-loaded
   eligible institution under the cap (ties: the better match). When all its institutions
   are at the cap, earlier entries are moved along augmenting paths (Kuhn's algorithm with
   capacities) to free a place; only when no such path exists does the entry go over a cap,
   to its least-loaded institution. Hence: no entry with an eligible institution is left
   without one, and the total excess over the caps is the least any assignment can have.
3. Further institutions (rounds 2..N). Round by round, most constrained entries first, each
   entry takes one more institution — the least-loaded eligible one under the cap, ties to the
   better match — or nothing when all are at the cap. Beyond the first, no institution ever
   goes over its cap: an entry may then receive fewer than N ("spread so no bank drowns").

The result is deterministic: the same inputs give the same allocation.
"""
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import ceil


@dataclass
class Allocation:
    assigned: dict  # entry -> [institution, ...] (fixed ones first, then in the order taken)
    cap: int
    loads: dict = field(default_factory=dict)  # institution -> entries it carries

    @property
    def over_cap(self) -> dict:
        """institution -> by how many entries it exceeds the cap."""
        return {i: n - self.cap for i, n in self.loads.items() if n > self.cap}

    def new_for(self, entry, fixed: Mapping | None = None) -> list:
        held = set((fixed or {}).get(entry, ()))
        return [i for i in self.assigned.get(entry, []) if i not in held]


def cap_for(total: int, share) -> int:
    """C = max(1, ceil(T × share)), exact (share as a Decimal or Fraction, not a float)."""
    share = Fraction(str(share)) if isinstance(share, (Decimal, float, str)) else Fraction(share)
    if not 0 < share <= 1:
        raise ValueError("share must be in (0, 1]")
    return max(1, ceil(total * share))


def allocate(eligible: Mapping[Hashable, Sequence[Hashable]], per_entry: int, share,
             fixed: Mapping[Hashable, Sequence[Hashable]] | None = None) -> Allocation:
    if per_entry < 1:
        raise ValueError("per_entry must be >= 1")
    fixed = {e: list(dict.fromkeys(fixed.get(e, ()))) for e in eligible} if fixed else {}
    order = {e: n for n, e in enumerate(eligible)}
    ranked = {e: list(dict.fromkeys(eligible[e])) for e in eligible}
    rank = {e: {inst: n for n, inst in enumerate(ranked[e])} for e in eligible}
    demand = {e: max(len(fixed.get(e, [])),
                     min(per_entry, len(set(ranked[e]) | set(fixed.get(e, [])))))
              for e in eligible}
    cap = cap_for(sum(demand.values()), share)
    state = _State(cap, ranked, rank, {e: list(fixed.get(e, [])) for e in eligible})
    # most constrained first; the input order settles ties
    queue = sorted(eligible, key=lambda e: (len(ranked[e]), order[e]))
    state.first_round([e for e in queue if not state.assigned[e] and ranked[e]])
    for _round in range(2, per_entry + 1):
        for entry in queue:
            if len(state.assigned[entry]) < demand[entry]:
                choice = state.best(entry, under_cap=True)
                if choice is not None:
                    state.take(entry, choice, first=False)
    return Allocation(assigned=state.assigned, cap=cap, loads=dict(state.loads))


class _State:
    def __init__(self, cap, ranked, rank, assigned):
        self.cap, self.ranked, self.rank, self.assigned = cap, ranked, rank, assigned
        self.loads: dict = {}
        self.first: dict = {}  # entry -> its round-1 institution (movable by augmenting paths)
        for institutions in assigned.values():
            for inst in institutions:
                self.loads[inst] = self.loads.get(inst, 0) + 1

    def load(self, inst) -> int:
        return self.loads.get(inst, 0)

    def best(self, entry, under_cap: bool):
        held = set(self.assigned[entry])
        options = [i for i in self.ranked[entry] if i not in held
                   and (not under_cap or self.load(i) < self.cap)]
        if not options:
            return None
        return min(options, key=lambda i: (self.load(i), self.rank[entry][i]))

    def take(self, entry, inst, first: bool) -> None:
        self.assigned[entry].append(inst)
        self.loads[inst] = self.load(inst) + 1
        if first:
            self.first[entry] = inst

    def first_round(self, entries) -> None:
        overflow = []
        for entry in entries:
            choice = self.best(entry, under_cap=True)
            if choice is not None:
                self.take(entry, choice, first=True)
            elif not self._augment(entry, set()):
                overflow.append(entry)
        # no path frees a place: the cap cannot hold for these entries, whoever goes first
        for entry in overflow:
            self.take(entry, self.best(entry, under_cap=False), first=True)

    def _augment(self, entry, visited: set) -> bool:
        """Kuhn: give `entry` a full institution by moving one of its round-1 holders on."""
        for inst in sorted((i for i in self.ranked[entry] if i not in self.assigned[entry]),
                           key=lambda i: self.rank[entry][i]):
            if inst in visited:
                continue
            visited.add(inst)
            if self.load(inst) < self.cap:
                self.take(entry, inst, first=True)
                return True
            for holder in [e for e, i in self.first.items() if i == inst]:
                if self._move_on(holder, visited):
                    self.take(entry, inst, first=True)
                    return True
        return False

    def _move_on(self, holder, visited: set) -> bool:
        old = self.first.pop(holder)
        self.assigned[holder].remove(old)
        self.loads[old] -= 1
        if self._augment(holder, visited):
            return True
        self.take(holder, old, first=True)  # undo: the path led nowhere
        # keep the holder's original order of institutions (fixed first, then round 1)
        return False
