"""L-BFGS-B with the stall guard and the unit of theta (core.lbfgs)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixed_models.core import lbfgs


class Box:
    """The problem interface lbfgs_b reads: bounds only."""

    def __init__(self, k: int):
        self.k = k

    def lower_bounds(self) -> np.ndarray:
        return np.zeros(self.k)

    def upper_bounds(self) -> np.ndarray:
        return np.full(self.k, np.inf)


def quadratic(center: np.ndarray, curvature: np.ndarray, offset: float = 0.0,
              noise: float = 0.0):
    """A convex quadratic; ``noise`` adds a deterministic rounding-like error to values."""
    calls = []

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        calls.append(np.array(x))
        d = x - center
        value = offset + 0.5 * float(np.sum(curvature * d * d))
        if noise:
            value += noise * np.sin(1e9 * float(np.sum(x)))
        return value, curvature * d

    return fun, calls


@given(center=st.lists(st.floats(0.05, 3.0), min_size=1, max_size=4),
       unit=st.sampled_from([1.0, 0.1, 0.01]))
@settings(max_examples=30, deadline=None)
def test_the_minimum_of_a_quadratic_in_any_unit(center, unit):
    center = np.array(center)
    curvature = np.linspace(1.0, 50.0, len(center))
    fun, _ = quadratic(center, curvature)
    theta, value = lbfgs.lbfgs_b(Box(len(center)), fun, np.ones(len(center)), unit=unit)
    np.testing.assert_allclose(theta, center, rtol=1e-6, atol=1e-7)
    assert value == pytest.approx(0.0, abs=1e-10)


def test_a_bound_is_kept_in_any_unit():
    fun, _ = quadratic(np.array([-1.0, 2.0]), np.array([1.0, 4.0]))
    for unit in (1.0, 0.1):
        theta, _ = lbfgs.lbfgs_b(Box(2), fun, np.array([1.0, 1.0]), unit=unit)
        assert theta[0] == 0.0 and theta[1] == pytest.approx(2.0, rel=1e-8)


def test_a_run_whose_values_are_rounding_noise_near_the_optimum_stops_at_the_best_point():
    # an objective of size 1e5 with errors of 1e-11: the line search near the optimum
    # cannot tell points apart; the guard ends the run after STALLS such evaluations
    center = np.array([0.3, 0.5])
    fun, calls = quadratic(center, np.array([3e4, 1e4]), offset=2e5, noise=1e-11)
    theta, value = lbfgs.lbfgs_b(Box(2), fun, np.array([0.35, 0.45]), ftol=0.0)
    np.testing.assert_allclose(theta, center, rtol=1e-7)
    assert value <= min(fun(x)[0] for x in calls[:-1])  # the best point seen
    assert len(calls) < 40


def test_the_guard_counts_only_evaluations_near_the_best_point():
    fun, _ = quadratic(np.array([1.0]), np.array([1.0]), offset=1e5)
    guard = lbfgs._StallGuard(fun)
    guard(np.array([0.0]))
    guard(np.array([0.5]))  # lower, far: no stall
    assert guard.stalls == 0 and guard.best_value == pytest.approx(1e5 + 0.125)
    guard(np.array([0.5 + 1e-12]))  # next to the best, not lower by more than rounding
    guard(np.array([0.5 - 1e-12]))
    assert guard.stalls == 2
    guard(np.array([0.9]))  # far again: the count starts over
    assert guard.stalls == 0
    with pytest.raises(lbfgs._Stalled):
        for _ in range(lbfgs.STALLS):
            guard(np.array([0.9]))


def test_a_relative_gradient_tolerance_ends_the_run_where_the_gradient_is_that_small():
    center = np.array([0.3, 0.5, 0.2])
    curvature = np.array([3e4, 1e4, 5e3])
    full, full_calls = quadratic(center, curvature, offset=2e5)
    early, early_calls = quadratic(center, curvature, offset=2e5)
    start = np.array([0.35, 0.45, 0.25])
    lbfgs.lbfgs_b(Box(3), full, start, ftol=0.0, unit=0.1)
    theta, value = lbfgs.lbfgs_b(Box(3), early, start, ftol=0.0, unit=0.1, gtol=1e-9)
    assert len(early_calls) < len(full_calls)
    gradient = curvature * (theta - center)
    assert np.max(np.abs(gradient)) <= 1e-9 * value
    assert value == pytest.approx(2e5, abs=1e-8)


def test_a_zero_gradient_at_a_bound_from_outside_counts_as_converged():
    # the lower bound holds theta_0 at zero with the gradient pointing out of the box
    fun, _ = quadratic(np.array([-1.0, 2.0]), np.array([1.0, 4.0]), offset=1e5)
    guard = lbfgs._StallGuard(fun, lower=np.zeros(2), gtol=1e-9)
    guard(np.array([0.0, 2.5]))  # the best point so far, gradient (1, 2) projected (0, 2)
    with pytest.raises(lbfgs._Stalled):
        guard(np.array([0.0, 2.0]))  # projected gradient zero
    np.testing.assert_array_equal(guard.best, [0.0, 2.0])
