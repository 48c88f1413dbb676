"""The closed-form factor of small lead terms gives the objective LAPACK's path gives."""

from __future__ import annotations

import numpy as np
import pytest

from core_terms import problem_arrays, random_term

from mixed_models.core.factor import BlockedCholesky, profiled_objective
from mixed_models.core.problem import LmmProblem
from mixed_models.core.solve import conditional_covariances, estimates


def _single(size: int, correlated: bool = True):
    rng = np.random.default_rng(10 + size)
    n = 240
    terms = [random_term(rng, n, 18, size, correlated)]
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = rng.normal(size=n) + terms[0].codes * 0.3 + x @ [250.0, 10.0]
    return terms, x, y, None


CASES = {f"one term of {s} columns": (lambda s=s: _single(s)) for s in (2, 3, 4, 5)}
CASES["one diagonal term"] = lambda: _single(3, correlated=False)
for kind in ("vector", "crossed_dense", "crossed_sparse_vector", "nested"):
    CASES[kind] = lambda kind=kind: problem_arrays(kind, np.random.default_rng(7))


def _factors(arrays, reml):
    problem = LmmProblem(*arrays, reml=reml, reparametrize=False)
    return problem, BlockedCholesky(problem.cp), BlockedCholesky(problem.cp, closed_form=False)


def _thetas(problem, rng):
    yield problem.start()
    for scale in (0.05, 1.0, 30.0):  # near a boundary, moderate, a flat valley
        theta = rng.uniform(0.2, 1.5, problem.n_theta) * scale
        off = ~problem.diagonal_mask()
        theta[off] = rng.normal(scale=0.5 * scale, size=off.sum())
        yield theta


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("case", list(CASES))
def test_closed_form_objective_equals_lapack_path(case, reml):
    problem, fast, general = _factors(CASES[case](), reml)
    rng = np.random.default_rng(3)
    for theta in _thetas(problem, rng):
        assert fast.update(theta) and general.update(theta)
        expected = profiled_objective(general, reml)
        assert profiled_objective(fast, reml) == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.parametrize("case", ["one term of 2 columns", "crossed_dense"])
def test_estimates_after_the_closed_form_equal_lapack_path(case):
    problem, fast, general = _factors(CASES[case](), True)
    theta = next(_thetas(problem, np.random.default_rng(4))) * 1.3
    fast.update(theta)
    general.update(theta)
    a, b = estimates(fast, theta), estimates(general, theta)
    np.testing.assert_allclose(a.beta, b.beta, rtol=1e-11)
    for ua, ub in zip(a.u, b.u):
        np.testing.assert_allclose(ua, ub, rtol=1e-9, atol=1e-12)
    for ca, cb in zip(conditional_covariances(fast, theta), conditional_covariances(general, theta)):
        np.testing.assert_allclose(ca, cb, rtol=1e-10, atol=1e-14)


def test_undefined_and_indefinite_blocks_are_treated_like_lapack_path():
    problem, fast, general = _factors(CASES["one term of 2 columns"](), True)
    theta = np.array([1.0, np.nan, 1.0])  # an undefined lam: a NaN objective on both paths
    fast.update(theta)
    general.update(theta)
    assert np.isnan(profiled_objective(fast, True)) and np.isnan(profiled_objective(general, True))
    # a block that is not positive definite (here forced by a negative A) is refused
    problem.cp.a11[0] = -np.eye(2) * 1e6
    assert BlockedCholesky(problem.cp).update(np.ones(3)) is False
    assert BlockedCholesky(problem.cp, closed_form=False).update(np.ones(3)) is False
