"""Richardson-extrapolated finite differences (the scheme of R's numDeriv).

lmerTest computes the Hessian of the deviance and the Jacobian of vcov(beta) with
numDeriv's defaults; using the same steps (relative step ``d``, ``r`` halvings
combined by Richardson extrapolation) makes our Satterthwaite degrees of freedom agree
with lmerTest's to many digits, not only to the accuracy of the derivatives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

ZERO_TOL = float(np.sqrt(np.finfo(float).eps / 7e-7))
EPS = 1e-4


def _initial_steps(x: np.ndarray, d: float) -> np.ndarray:
    """numDeriv's first step: relative ``d``, absolute ``EPS`` for entries near zero."""
    return np.abs(d * x) + EPS * (np.abs(x) < ZERO_TOL)


def _steps(h0: np.ndarray, i: int, r: int) -> Iterator[np.ndarray]:
    """The ``r`` perturbations of entry ``i``, the step halving each time."""
    for k in range(r):
        e = np.zeros(len(h0))
        e[i] = h0[i] / 2.0**k
        yield e


def _extrapolate(values: np.ndarray) -> np.ndarray:
    """Richardson extrapolation over the first axis (steps halving, error in h^2)."""
    a = np.array(values, dtype=float)
    for m in range(1, a.shape[0]):
        a = (a[1:] * 4.0**m - a[:-1]) / (4.0**m - 1.0)
    return a[0]


def hessian(fun: Callable[[np.ndarray], float], x: np.ndarray, d: float = 0.1,
            r: int = 4) -> np.ndarray:
    """Hessian of a scalar function by central differences and Richardson extrapolation.

    Parameters
    ----------
    fun
        Scalar function of a vector.
    x
        Point of evaluation.
    d
        Relative size of the first step (numDeriv's ``hessian`` default 0.1).
    r
        Number of step halvings combined.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    f0 = fun(x)
    h0 = _initial_steps(x, d)
    diag = np.zeros(n)
    out = np.zeros((n, n))
    for i in range(n):
        diag[i] = _extrapolate([(fun(x + e) - 2.0 * f0 + fun(x - e)) / e[i] ** 2
                                for e in _steps(h0, i, r)])
        out[i, i] = diag[i]
    for i in range(n):
        for j in range(i):
            approx = []
            for ei, ej in zip(_steps(h0, i, r), _steps(h0, j, r)):
                e = ei + ej
                second = fun(x + e) - 2.0 * f0 + fun(x - e)
                approx.append((second - diag[i] * e[i] ** 2 - diag[j] * e[j] ** 2)
                              / (2.0 * e[i] * e[j]))
            out[i, j] = out[j, i] = _extrapolate(approx)
    return out


def jacobian(fun: Callable[[np.ndarray], np.ndarray], x: np.ndarray, d: float = 1e-4,
             r: int = 4) -> np.ndarray:
    """Jacobian of a vector (or array) function: shape ``fun(x).shape + (len(x),)``.

    Central differences with relative first step ``d`` (numDeriv's ``jacobian``
    default) and ``r`` Richardson halvings.
    """
    x = np.asarray(x, dtype=float)
    h0 = _initial_steps(x, d)
    columns = [_extrapolate(np.stack([(np.asarray(fun(x + e)) - np.asarray(fun(x - e)))
                                      / (2.0 * e[i]) for e in _steps(h0, i, r)]))
               for i in range(len(x))]
    return np.stack(columns, axis=-1)
