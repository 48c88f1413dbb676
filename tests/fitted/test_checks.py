"""The checks of a fit's end point (mixed_models.fitted.checks)."""

from __future__ import annotations

import numpy as np
import pytest

from mixed_models.core.optimize import OptimizationResult
from mixed_models.errors import DataError
from mixed_models.fitted.checks import check_finite_optimum, solvable_estimates


def _result(objective: float) -> OptimizationResult:
    return OptimizationResult("bobyqa", np.ones(2), np.array([4e6, 5e7]), objective, 10,
                              "SUCCESS", 0, [])


class _Singular:
    """A problem whose estimates' system is singular at every theta."""

    def estimates(self, theta):
        raise np.linalg.LinAlgError("Singular matrix")


class _Solvable:
    def estimates(self, theta):
        return ("estimates at", tuple(theta))


def test_a_singular_system_at_the_optimum_is_a_data_error_naming_theta():
    with pytest.raises(DataError, match=r"cannot be solved at the optimum \(theta \[") as error:
        solvable_estimates(_Singular(), _result(-1737.4))
    assert isinstance(error.value, ValueError)


def test_a_solvable_system_gives_the_problems_estimates():
    assert solvable_estimates(_Solvable(), _result(1.0)) == ("estimates at", (4e6, 5e7))


@pytest.mark.parametrize("objective", [np.inf, -np.inf, np.nan])
def test_a_non_finite_optimum_is_a_data_error(objective):
    with pytest.raises(DataError, match="not finite at the optimum"):
        check_finite_optimum(_result(objective))
