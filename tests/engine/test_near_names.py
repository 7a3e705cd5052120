"""Near names (issue 16): the normalising rule, the score, and the index's look-ups."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from sync.engine.near import CUTOFF, NameIndex, normalise, score


@pytest.mark.parametrize("a, b", [
    ("Dell Technologies, Inc.", "Dell Technologies"),
    ("ACME & Sons", "Acme and Sons"),
    ("Acme  Sons,  LLC", "acme sons"),
    ("Acme Sons L.L.C.", "Acme Sons"),
    ("Müller GmbH", "MÜLLER"),
    ("Ingram Micro Inc.", "ingram micro"),
    ("Smith & Co.", "Smith"),
    ("O'Brien Supply Ltd", "OBrien Supply"),
    ("Contoso Corp.", "Contoso Corporation"),
])
def test_variants_are_one_name_once_normalised(a, b):
    assert normalise(a) == normalise(b)
    assert score(a, b) == 100


@pytest.mark.parametrize("a, b", [
    ("Acme West", "Acme East"),
    ("Northwind Traders", "Southwind Traders"),
    ("Co", "Inc"),  # a name that is only a suffix keeps it
])
def test_different_names_stay_different(a, b):
    assert normalise(a) != normalise(b)


def test_a_name_of_only_a_suffix_is_not_emptied():
    assert normalise("Co.") == "co" and normalise("  ") == ""


def _index(names):
    return NameIndex.of([{"Id": str(i + 1), "DisplayName": n} for i, n in enumerate(names)], "DisplayName")


def test_candidates_best_first_with_scores_and_cutoff():
    index = _index(["Dell Technologies", "Dell Tech Services", "Ingram Micro", "Acme Corp."])
    found = index.candidates("Dell Technologies, Inc.")
    assert found[0].name == "Dell Technologies" and found[0].score == 100 and found[0].qbo_id == "1"
    assert all(c.score >= CUTOFF for c in found)
    assert index.candidates("Zebra Imaging") == []
    assert [c.name for c in index.candidates("Acme Corporation")] == ["Acme Corp."]
    assert found[0].words() == "'Dell Technologies' (100 %)"


def test_names_whose_numbers_differ_are_never_candidates():
    index = _index(["Supplier 012 Ltd", "Dell Latitude 5440", "Dell Latitude 5440 Dock"])
    assert index.candidates("Supplier 013 Ltd") == []
    found = index.candidates("Dell Latitude 5440, Inc.")
    assert (found[0].name, found[0].score) == ("Dell Latitude 5440", 100)
    assert index.candidates("Dell Latitude 5450") == []


def test_a_claimed_record_is_not_offered():
    index = _index(["Dell Technologies"])
    assert index.candidates("Dell Technologies Inc", exclude_ids=frozenset({"1"})) == []


def test_common_words_do_not_make_every_name_a_candidate():
    names = [f"Vendor {i} Services" for i in range(500)] + ["Acme Services"]
    index = _index(names)
    found = index.candidates("Acme Services LLC")
    assert [c.name for c in found] == ["Acme Services"]


@given(st.text(min_size=1, max_size=40))
def test_normalise_is_idempotent_and_score_symmetric(name):
    once = normalise(name)
    assert normalise(once) == once
    assert score(name, "Acme Corp") == score("Acme Corp", name)
