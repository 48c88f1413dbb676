"""The optimum is called confirmed only after a check that could see it was not one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

from mixed_models import LMM
from mixed_models.core import fit as core_fit
from mixed_models.control import Control
from mixed_models.core.convergence import derivatives
from mixed_models.core.problem import LmmProblem
from mixed_models.datasets import load
from mixed_models.design import build_design
from mixed_models.errors import ConvergenceWarning
from mixed_models.formula import parse_formula

FORMULA = "Reaction ~ Days + (Days | Subject)"


def _far_days_problem() -> LmmProblem:
    """sleepstudy with Days + 1000, in its original columns (no internal centring)."""
    data = load("sleepstudy").assign(Days=lambda d: d["Days"] + 1000.0)
    design = build_design(parse_formula(FORMULA), data)
    return LmmProblem([r.term_data() for r in design.random], design.fixed.matrix, design.y,
                      reparametrize=False)


def test_a_zero_diagonal_with_a_column_below_it_is_not_a_boundary():
    problem = _far_days_problem()
    # the best point with the intercept's lambda diagonal held at zero: the trap an
    # optimizer in these columns fell into (REML 1786 against 1743.6)
    inner = minimize(lambda t: problem.objective(np.r_[0.0, t]), [0.0, 0.002],
                     method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-12})
    theta = np.r_[0.0, inner.x]
    assert theta[1] != 0.0
    np.testing.assert_array_equal(problem.bounded_mask(theta), [False, False, True])
    # taken as a bound, theta_0 = 0 is left out of the check, since the objective rises
    # into theta_0 > 0; but the column with its sign flipped is the same model and the
    # objective falls there: the honest check includes it and sees a large decrement
    one_sided = derivatives(problem.objective, theta, problem.diagonal_mask())
    assert not one_sided.free[0] and one_sided.gradient[0] > 0
    honest = derivatives(problem.objective, theta, problem.bounded_mask(theta))
    assert honest.decrement > 1e-3
    flipped = theta.copy()
    flipped[0] = -1e-3
    assert problem.objective(flipped) < problem.objective(theta)


def test_a_zero_column_keeps_its_bound():
    problem = _far_days_problem()
    theta = np.array([0.9, 0.0, 0.0])  # the slope's column is zero: a true boundary
    np.testing.assert_array_equal(problem.bounded_mask(theta), [True, False, True])


def test_lbfgs_is_confirmed_only_by_its_newton_check(monkeypatch):
    data = load("sleepstudy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checked = LMM.from_formula(FORMULA, data, control=Control(optimizer="lbfgs"))
    assert checked.optimization_result.confirmed
    assert any("confirmed by a Newton step" in m for m in checked.optimization_result.messages)
    # without the check, the result says so and the user is warned
    monkeypatch.setattr(core_fit, "MAX_CHECKED_THETA", 2)
    with pytest.warns(ConvergenceWarning, match="not confirmed"):
        unchecked = LMM.from_formula(FORMULA, data, control=Control(optimizer="lbfgs"))
    assert not unchecked.optimization_result.confirmed
    assert any("was not checked" in m for m in unchecked.optimization_result.messages)
    assert unchecked.deviance == pytest.approx(checked.deviance, rel=1e-8)
