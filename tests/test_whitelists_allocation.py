"""The push allocation (whitelists/allocation.py) as a pure function: worked examples, then
its promises checked on random batches with hypothesis, against an independent brute force."""
from decimal import Decimal
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchmaker.whitelists.allocation import allocate, cap_for

# --- worked examples ----------------------------------------------------------------------


def test_cap_is_ceil_of_total_times_share():
    assert cap_for(10, Decimal("0.25")) == 3
    assert cap_for(8, Decimal("0.25")) == 2
    assert cap_for(0, Decimal("0.25")) == 1  # never 0
    assert cap_for(3, "1") == 3
    with pytest.raises(ValueError):
        cap_for(3, 0)


def test_constrained_entries_first_and_loads_balanced():
    # T = 2 + 1 + 1 + 2 = 6, share 1/3: cap 2
    result = allocate({"e1": ["A", "B"], "e2": ["A"], "e3": ["A"], "e4": ["A", "B"]},
                      per_entry=2, share=Decimal("0.34"))
    assert result.cap == 3  # ceil(6 × 0.34) = 3
    assert result.assigned["e2"] == ["A"] and result.assigned["e3"] == ["A"]
    assert sorted(result.loads.items()) == [("A", 3), ("B", 2)]
    assert not result.over_cap


def test_an_augmenting_path_frees_a_place_instead_of_overloading():
    # e1 could go to A or B; greedy on ties gives it A (better match). e2 only has A.
    # cap = ceil(2 × 0.5) = 1: e1 must move to B so that e2 gets A within the cap.
    result = allocate({"e1": ["A", "B"], "e2": ["A"]}, per_entry=1, share="0.5")
    assert result.cap == 1
    assert result.assigned == {"e1": ["B"], "e2": ["A"]}
    assert not result.over_cap


def test_over_the_cap_only_when_unavoidable():
    # three entries that can only go to A, cap 1: A must take all three, B takes its own
    result = allocate({"e1": ["A"], "e2": ["A"], "e3": ["A"], "e4": ["B", "A"]},
                      per_entry=1, share="0.25")
    assert result.cap == 1
    assert result.assigned["e4"] == ["B"]
    assert result.loads == {"A": 3, "B": 1} and result.over_cap == {"A": 2}


def test_further_institutions_never_exceed_the_cap():
    result = allocate({"e1": ["A", "B", "C"], "e2": ["A", "B", "C"], "e3": ["A", "B", "C"]},
                      per_entry=3, share="0.2")  # T = 9, cap 2
    assert result.cap == 2
    assert all(n <= 2 for n in result.loads.values())
    assert all(1 <= len(v) <= 3 for v in result.assigned.values())
    assert sum(result.loads.values()) == 6


def test_fixed_pushes_stay_and_count():
    result = allocate({"e1": ["A", "B"], "e2": ["A", "B"]}, per_entry=1, share="0.5",
                      fixed={"e1": ["A"]})
    assert result.assigned["e1"] == ["A"]  # already served: nothing new
    assert result.new_for("e1", {"e1": ["A"]}) == []
    assert result.assigned["e2"] == ["B"]  # A holds e1 and is at its cap of 1


def test_entries_without_options_get_nothing_and_ties_follow_the_match_rank():
    result = allocate({"e1": [], "e2": ["B", "A"]}, per_entry=1, share="1")
    assert result.assigned == {"e1": [], "e2": ["B"]}  # equal loads: the better match


def test_deterministic():
    eligible = {f"e{k}": ["A", "B", "C", "D"][k % 3:] for k in range(12)}
    assert allocate(eligible, 2, "0.3").assigned == allocate(eligible, 2, "0.3").assigned


# --- the promises, on random batches ----------------------------------------------------

INSTITUTIONS = ["A", "B", "C", "D"]
batches = st.dictionaries(
    keys=st.integers(min_value=1, max_value=40),
    values=st.lists(st.sampled_from(INSTITUTIONS), unique=True, max_size=4),
    min_size=1, max_size=6)
shares = st.sampled_from(["0.1", "0.2", "0.25", "0.34", "0.5", "1"])


def least_possible_excess(eligible: dict, cap: int) -> int:
    """Brute force: over all ways to give every entry with options ONE institution, the least
    total excess over the cap. Independent of allocate's algorithm."""
    servable = [options for options in eligible.values() if options]
    best = None
    for choice in product(*servable):
        loads = {}
        for inst in choice:
            loads[inst] = loads.get(inst, 0) + 1
        excess = sum(max(0, n - cap) for n in loads.values())
        best = excess if best is None else min(best, excess)
    return best or 0


@settings(max_examples=300, deadline=None)
@given(eligible=batches, per_entry=st.integers(min_value=1, max_value=3), share=shares)
def test_no_entry_with_an_eligible_institution_is_left_unpushed(eligible, per_entry, share):
    result = allocate(eligible, per_entry, share)
    for entry, options in eligible.items():
        chosen = result.assigned[entry]
        assert bool(chosen) == bool(options)
        assert set(chosen) <= set(options) and len(chosen) == len(set(chosen))
        assert len(chosen) <= per_entry


@settings(max_examples=300, deadline=None)
@given(eligible=batches, per_entry=st.integers(min_value=1, max_value=3), share=shares)
def test_no_institution_over_its_share_unless_unavoidable(eligible, per_entry, share):
    result = allocate(eligible, per_entry, share)
    total = sum(min(per_entry, len(options)) for options in eligible.values())
    assert result.cap == cap_for(total, Decimal(share))
    excess = sum(result.over_cap.values())
    # the excess is exactly what no assignment of first institutions can avoid
    assert excess == least_possible_excess(eligible, result.cap)
    # and only first institutions ever go over: an over-cap institution carries each of its
    # entries as that entry's only institution or as the first one of a saturated set
    for inst in result.over_cap:
        holders = [e for e, chosen in result.assigned.items() if inst in chosen]
        assert all(result.assigned[e][0] == inst for e in holders)


@settings(max_examples=200, deadline=None)
@given(eligible=batches, per_entry=st.integers(min_value=1, max_value=3), share=shares)
def test_loads_add_up_and_no_entry_receives_more_than_it_can(eligible, per_entry, share):
    result = allocate(eligible, per_entry, share)
    counted = {}
    for chosen in result.assigned.values():
        for inst in chosen:
            counted[inst] = counted.get(inst, 0) + 1
    assert counted == {k: v for k, v in result.loads.items() if v}


@settings(max_examples=200, deadline=None)
@given(eligible=batches, share=shares)
def test_with_a_full_share_every_entry_gets_all_it_asks_for(eligible, share):
    result = allocate(eligible, 3, "1")
    for entry, options in eligible.items():
        assert len(result.assigned[entry]) == min(3, len(options))
