"""Column formatting: common decimals, scientific fallback, p-values, abbreviations."""

from __future__ import annotations

import math

import pytest

from mixed_models.display.numbers import (
    abbreviate,
    decimals_for,
    format_column,
    format_number,
    format_pvalues,
)


@pytest.mark.parametrize(("values", "digits", "decimals"), [
    ([1016.28672, -0.0653161, -499.69], 4, 5),   # the smallest shows 4 significant digits
    ([22.97222, 0.7446], 4, 4),
    ([251.405, 6.885, 10.467, 1.56], 4, 3),
    ([12345.0, 6789.0], 4, 0),
    ([12345.0, 678.0], 4, 1),
    ([0.0, 0.0], 4, 0),
    ([math.nan, 2.5], 3, 2),
    ([1e-12, 1.0], 4, None),                      # would need 15 decimals: scientific
    ([3e10, 1.0], 4, None),                       # too large for fixed notation
    ([10862.9, 0.024229, 0.9497], 4, None),       # magnitudes too far apart
])
def test_decimals_for(values, digits, decimals):
    assert decimals_for(values, digits) == decimals


@pytest.mark.parametrize(("values", "kwargs", "expected"), [
    ([1016.28672, -0.0653161], {}, ["1016.28672", "-0.06532"]),
    ([1.5, None, math.nan], {"decimals": 1}, ["1.5", "", ""]),
    ([math.inf, -math.inf], {"decimals": 2}, ["Inf", "-Inf"]),
    ([1e-12, 2.0], {}, ["1.000e-12", "2.000e+00"]),
    ([0.1234], {"digits": 2}, ["0.12"]),
])
def test_format_column(values, kwargs, expected):
    assert format_column(values, **kwargs) == expected


def test_format_number():
    assert format_number(333.7155387, digits=6) == "333.716"


@pytest.mark.parametrize(("p", "text"), [
    (0.467391, "0.467"), (0.00348724, "0.00349"), (3.49e-5, "3.49e-05"),
    (1e-20, "< 2e-16"), (0.0, "< 2e-16"), (1.0, "1"), (math.nan, ""),
])
def test_format_pvalues(p, text):
    assert format_pvalues([p]) == [text]


@pytest.mark.parametrize(("name", "length", "short"), [
    ("(Intercept)", 6, "(Intr)"),       # lme4's column header
    ("SpeciesHuman", 6, "SpcsHm"),
    ("SpeciesOod", 6, "SpcsOd"),
    ("Age", 6, "Age"),
    ("SpeciesWeepingAngel", 11, "SpcsWpngAng"),
    ("Species_lvl_Human", 6, "SpcslH"),
    ("intercept", 6, "intrcp"),
])
def test_abbreviate(name, length, short):
    assert abbreviate(name, length) == short
    assert len(abbreviate(name, length)) <= length
