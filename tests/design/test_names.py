"""formulaic column names -> the gem's names."""

from __future__ import annotations

import pytest

from mixed_models.design.names import gem_name, gem_names, level_label, split_interaction

CASES = [
    ("Intercept", "intercept"),
    ("Age", "Age"),
    ("Species[T.Human]", "Species_lvl_Human"),
    ("x[A]", "x_lvl_A"),
    ("C(x)[T.2]", "x_lvl_2"),
    ("C(x, contr.treatment)[T.2]", "x_lvl_2"),
    ("recipe[T.B]:temp", "recipe_lvl_B:temp"),
    ("f1[T.b]:f2[T.v]", "f1_lvl_b:f2_lvl_v"),
    ("num:cat[A]", "num:cat_lvl_A"),
    ("log(Age)", "log(Age)"),
    ("I(Age ** 2)", "I(Age ** 2)"),
    ("g[T.a:b]", "g_lvl_a:b"),
]


@pytest.mark.parametrize("formulaic, gem", CASES)
def test_gem_name(formulaic, gem):
    assert gem_name(formulaic) == gem


def test_split_interaction_ignores_colons_in_levels():
    assert split_interaction("g[T.a:b]:x") == ["g[T.a:b]", "x"]


def test_clashing_conversions_keep_formulaic_names():
    assert gem_names(["x_lvl_a", "x[T.a]"]) == ["x_lvl_a", "x[T.a]"]


@pytest.mark.parametrize("value, label", [(1.0, "1"), (2.5, "2.5"), (3, "3"), ("a", "a")])
def test_level_label(value, label):
    assert level_label(value) == label
