"""LmmProblem.with_response: a new response on shared Z/X blocks gives the fresh objective."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core_terms import random_term

from mixed_models.core.problem import LmmProblem
from mixed_models.errors import DataError


def _case(name: str, rng):
    """Terms, X, weights and offset of one small problem of a given block kind."""
    n = 240
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    if name == "scalar":
        terms = [random_term(rng, n, 12, 1)]
    elif name == "vector":
        terms = [random_term(rng, n, 15, 2)]
    elif name == "crossed":
        terms = [random_term(rng, n, 30, 1), random_term(rng, n, 8, 2, correlated=False)]
    elif name == "crossed_sparse":  # big enough for a sparse lead-rest block
        n = 3000
        x = np.column_stack([np.ones(n), rng.normal(size=n)])
        terms = [random_term(rng, n, 900, 1), random_term(rng, n, 600, 1)]
    elif name == "nested":
        outer = rng.integers(0, 6, n)
        inner = outer * 5 + rng.integers(0, 5, n)
        terms = [random_term(rng, n, 30, 2, codes=inner), random_term(rng, n, 6, 1, codes=outer)]
    else:
        raise KeyError(name)
    weights = rng.uniform(0.5, 2.0, n) if name in ("vector", "crossed") else None
    offset = rng.normal(size=n) if name in ("scalar", "nested") else None
    return terms, x, weights, offset


CASES = ["scalar", "vector", "crossed", "crossed_sparse", "nested"]


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("reml", [True, False])
def test_objective_equals_a_fresh_problem(name, reml):
    rng = np.random.default_rng(7)
    terms, x, weights, offset = _case(name, rng)
    n = len(x)
    y1, y2 = rng.normal(size=n) * 3 + 10, rng.normal(size=n) * 2 - 1
    base = LmmProblem(terms, x, y1, weights, offset, reml=reml)
    swapped = base.with_response(y2)
    fresh = LmmProblem(terms, x, y2, weights, offset, reml=reml)
    for _ in range(5):
        theta = np.abs(rng.normal(size=base.n_theta)) + 0.05
        # separate BLAS calls on equal inputs: equal to rounding, not bitwise
        assert swapped.objective(theta) == pytest.approx(fresh.objective(theta), rel=1e-12)
    # the original problem is untouched, and the blocks that do not involve y are shared
    assert base.objective(theta) == pytest.approx(
        LmmProblem(terms, x, y1, weights, offset, reml=reml).objective(theta), rel=1e-12)
    assert swapped.cp.a11 is base.cp.a11 and swapped.cp.ar1 is base.cp.ar1
    assert swapped.x is base.x and swapped.terms is base.terms


def test_refit_on_the_new_response_matches_a_fresh_fit():
    rng = np.random.default_rng(11)
    terms, x, weights, offset = _case("crossed", rng)
    y2 = rng.normal(size=len(x)) + terms[0].codes * 0.1
    swapped = LmmProblem(terms, x, rng.normal(size=len(x)), weights, offset).with_response(y2)
    fresh = LmmProblem(terms, x, y2, weights, offset)
    a, b = swapped.optimize(), fresh.optimize()
    # optimizers started from objectives equal to rounding: the same optimum, not bitwise
    np.testing.assert_allclose(a.final, b.final, rtol=1e-6, atol=1e-8)
    assert a.objective == pytest.approx(b.objective, rel=1e-12)
    ea, eb = swapped.estimates(a.final), fresh.estimates(b.final)
    np.testing.assert_allclose(ea.beta, eb.beta, rtol=1e-6)


def test_a_response_of_the_wrong_length_or_with_nan_is_refused():
    rng = np.random.default_rng(3)
    terms, x, weights, offset = _case("scalar", rng)
    problem = LmmProblem(terms, x, rng.normal(size=len(x)), weights, offset)
    with pytest.raises(DataError, match="one value per observation"):
        problem.with_response(np.zeros(len(x) - 1))
    y = np.zeros(len(x))
    y[4] = np.nan
    with pytest.raises(DataError, match="finite"):
        problem.with_response(y)


@pytest.mark.parametrize("name", CASES)
def test_the_fit_works_on_the_new_response(name):
    # with or without internal columns, the problem the optimizer is given is the new one
    rng = np.random.default_rng(3)
    terms, x, weights, offset = _case(name, rng)
    n = len(x)
    y1, y2 = rng.normal(size=n) * 3 + 10, rng.normal(size=n) * 2 - 1
    intercept_only = [dataclasses.replace(t, z=np.ones((n, 1))) if t.size == 1 else t
                      for t in terms]
    for x_used, terms_used in ((x, terms), (x[:, :1], intercept_only)):
        swapped = LmmProblem(terms_used, x_used, y1, weights, offset).with_response(y2)
        fresh = LmmProblem(terms_used, x_used, y2, weights, offset)
        theta = np.abs(rng.normal(size=fresh.n_theta)) + 0.05
        inner = swapped.theta_to_internal(theta)
        assert swapped.internal.objective(inner) == pytest.approx(
            fresh.internal.objective(fresh.theta_to_internal(theta)), rel=1e-12)
        assert swapped.internal.y is swapped.y
