"""Derivative-based diagnostics of an optimum of the profiled objective.

Central finite differences give the gradient and Hessian over theta (as lme4's
``deriv12``). Their summary is the Newton decrement g' H^{-1} g / 2: the decrease of the
objective a Newton step promises, in the objective's own units (deviance or REML
criterion). Unlike lme4's max|gradient| it does not grow with the size of the data, so
its tolerance means the same thing for 100 rows and for a million. Entries of theta
sitting on their lower bound with the objective rising into the interior are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RELATIVE_STEP = 1e-4
# A Newton decrement this small relative to the objective is below its rounding noise.
DECREMENT_NEGLIGIBLE = 1e-14
# Halvings of a Newton step that raised the objective (a curved, flat valley).
HALVINGS = 3
# A full Newton step whose predicted decrease (below this) came true ends the polish.
CONFIRMED_DECREMENT = 1e-3


@dataclass(frozen=True)
class Derivatives:
    """Gradient, Hessian and Newton decrement at a theta.

    Attributes
    ----------
    gradient, hessian
        Finite-difference derivatives of the objective.
    free
        Entries not held at their lower bound.
    decrement
        g' H^{-1} g / 2 over the free entries; inf when the Hessian is not positive
        definite there (a saddle or flat direction).
    """

    gradient: np.ndarray
    hessian: np.ndarray
    free: np.ndarray
    decrement: float


def derivatives(fun: Callable[[np.ndarray], float], theta: np.ndarray,
                diagonal: np.ndarray) -> Derivatives:
    """Finite-difference gradient and Hessian of ``fun`` at ``theta``.

    The gradient is Richardson-extrapolated from central differences at two steps, so
    that its error is far below the gradients a derivative-free optimizer leaves.

    ``diagonal`` marks the entries bounded below by zero; those closer to zero than the
    step are differenced one-sidedly and excluded when the objective rises inward.
    """
    theta = np.asarray(theta, dtype=float)
    k = len(theta)
    step = difference_steps(theta)
    at_bound = diagonal & (theta < step)
    f0 = fun(theta)
    grad = np.zeros(k)
    hess = np.zeros((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step[i]
        if at_bound[i]:
            f1, f2 = fun(theta + e), fun(theta + 2 * e)
            grad[i] = (-3 * f0 + 4 * f1 - f2) / (2 * step[i])
            hess[i, i] = (f0 - 2 * f1 + f2) / step[i] ** 2
        else:
            fp, fm = fun(theta + e), fun(theta - e)
            half = (fun(theta + e / 2) - fun(theta - e / 2)) / step[i]
            # Richardson: the O(h^2) error of the central difference cancels
            grad[i] = (4 * half - (fp - fm) / (2 * step[i])) / 3
            hess[i, i] = (fp - 2 * f0 + fm) / step[i] ** 2
    for i in range(k):
        for j in range(i + 1, k):
            hess[i, j] = hess[j, i] = _mixed(fun, theta, i, j, step, at_bound)
    free = ~(at_bound & (grad >= 0))
    return Derivatives(grad, hess, free, _decrement(grad[free], hess[np.ix_(free, free)]))


def _mixed(fun, theta, i, j, step, at_bound) -> float:
    """Second mixed difference, forward in the entries that sit at their bound."""
    def shifted(a: float, b: float) -> float:
        x = theta.copy()
        x[i] += a * step[i]
        x[j] += b * step[j]
        return fun(x)
    if at_bound[i] or at_bound[j]:
        return (shifted(1, 1) - shifted(1, 0) - shifted(0, 1) + fun(theta)) / (step[i] * step[j])
    return (shifted(1, 1) - shifted(1, -1) - shifted(-1, 1) + shifted(-1, -1)) / \
        (4 * step[i] * step[j])


def _decrement(grad: np.ndarray, hess: np.ndarray) -> float:
    if grad.size == 0:
        return 0.0
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return np.inf
    z = np.linalg.solve(chol, grad)
    return 0.5 * float(z @ z)


@dataclass(frozen=True)
class Polished:
    """The result of :func:`newton_polish`."""

    theta: np.ndarray
    objective: float
    evaluations: int
    first_decrement: float


def newton_polish(fun: Callable[[np.ndarray], float], theta: np.ndarray, f_theta: float,
                  diagonal: np.ndarray, max_steps: int = 3) -> Polished:
    """Refine an optimum with Newton steps on finite-difference derivatives.

    A derivative-free optimizer stops when function values no longer tell points apart,
    which leaves flat directions of theta resolved to about 1e-5; gradients resolve them
    to about 1e-9. Entries at (or within a step of) their bound stay where the optimizer
    and its snap to zero left them; the others take the Newton step, kept inside the
    bounds and halved while it raises the objective; the best point seen is returned as
    a :class:`Polished`. ``max_steps`` Newton steps at most: a curved, flat
    valley (an SD near zero) can need all of them. The Newton decrement at the start
    point is returned too: a small one confirms the optimizer's optimum.
    """
    calls = [0]

    def counted(x: np.ndarray) -> float:
        calls[0] += 1
        return fun(x)

    best, f_best = theta, f_theta
    first_decrement = None
    for _ in range(max_steps):
        d = derivatives(counted, theta, diagonal)
        if first_decrement is None:
            first_decrement = d.decrement
        if d.decrement <= DECREMENT_NEGLIGIBLE * max(1.0, abs(f_best)):
            break
        free = ~(diagonal & (theta < difference_steps(theta)))
        if not np.any(free):
            break
        step = _bounded_newton_step(d, theta, diagonal, free)
        if step is None:
            break
        f_before = f_best
        trial, f_trial, pinned, halved = _line_search(counted, theta, step, diagonal, free,
                                                      f_best)
        if f_trial <= f_best:
            best, f_best = trial, f_trial
        elif not pinned:
            break
        if not (pinned or halved) and d.decrement < CONFIRMED_DECREMENT and \
                0.5 * d.decrement <= f_before - f_trial <= 1.5 * d.decrement:
            # The quadratic model predicted the decrease: the next step would be of the
            # order of its square, not worth another 2 k^2 evaluations.
            break
        # A step that pinned an SD at zero is followed even when it did not lower the
        # objective yet: the other entries re-converge at the boundary in the next step.
        if np.all(np.abs(trial - theta) <= 1e-9 * np.maximum(np.abs(theta), 1.0)):
            break
        theta = trial
    return Polished(best, f_best, calls[0], np.inf if first_decrement is None
                    else first_decrement)


def difference_steps(theta: np.ndarray) -> np.ndarray:
    """Difference steps: RELATIVE_STEP of each entry, or of 1 when the entry is smaller
    (theta is measured in the internal columns, mean 0 and root mean square 1, where 1
    is its natural size)."""
    return RELATIVE_STEP * np.maximum(np.abs(theta), 1.0)


def _line_search(fun: Callable[[np.ndarray], float], theta: np.ndarray, step: np.ndarray,
                 diagonal: np.ndarray, free: np.ndarray,
                 f_best: float) -> tuple[np.ndarray, float, bool, bool]:
    """The Newton step, halved while it raises the objective (at most HALVINGS times);
    returns the last point tried, its objective, whether it pinned an SD at zero and
    whether the step was halved."""
    for halvings in range(HALVINGS + 1):
        trial = np.where(diagonal, np.maximum(theta + step, 0.0), theta + step)
        f_trial = fun(trial)
        pinned = bool(np.any(diagonal & free & (trial == 0.0)))
        if f_trial <= f_best or pinned:
            break
        step = 0.5 * step
    return trial, f_trial, pinned, halvings > 0


def _bounded_newton_step(d: Derivatives, theta: np.ndarray, diagonal: np.ndarray,
                         free: np.ndarray) -> np.ndarray | None:
    """The Newton step over the ``free`` entries, with entries it would push below their
    bound held at the bound and the others re-solved given that move.

    Clipping alone is not enough near a boundary optimum: the objective is nearly flat
    in a vanishing SD, so the plain step overshoots far below zero and, through the
    Hessian's coupling, drags the other entries with it; the clipped point is then
    rejected and the fit stays a little off the boundary, where the objective is 1e-6
    higher.
    """
    step = np.zeros_like(theta)
    for _ in range(len(theta)):
        pinned = diagonal & ~free & (step != 0.0)
        step[~free & ~pinned] = 0.0
        rest = d.gradient[free] + d.hessian[np.ix_(free, pinned)] @ step[pinned]
        try:
            step[free] = -np.linalg.solve(d.hessian[np.ix_(free, free)], rest)
        except np.linalg.LinAlgError:
            return None
        crossing = free & diagonal & (theta + step < 0.0)
        if not np.any(crossing):
            return step
        step[crossing] = -theta[crossing]
        free = free & ~crossing
        if not np.any(free):
            return step
    return step
