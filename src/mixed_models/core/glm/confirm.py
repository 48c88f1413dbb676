"""Confirming an optimum by finite-difference Newton steps.

At the optimizer's end point the gradient and Hessian of the objective are estimated by
central differences (1 + k + k^2 evaluations for k parameters). Parameters at a lower
bound are held there and only their one-sided slope is checked. While the Hessian of the
free parameters is positive definite and its Newton step predicts a fall, the step is
taken if it lowers the objective. The optimum counts as confirmed when the predicted fall
is below ``tol`` and no bounded parameter would move off its bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

_BOUND_GAP = 1e-7


@dataclass
class NewtonCheck:
    """Derivatives at the end point and what the Newton steps did.

    ``x``, ``gradient`` and ``hessian`` are over all parameters (the Hessian is NaN where a
    parameter sits on its bound; ``gradient`` holds its one-sided slope there); after
    :meth:`rescale` they are in the caller's natural units.
    """

    x: np.ndarray
    objective: float
    gradient: np.ndarray
    hessian: np.ndarray
    free: np.ndarray
    predicted_decrease: float
    steps: int
    evaluations: int
    confirmed: bool
    messages: list[str] = field(default_factory=list)

    def rescale(self, units: np.ndarray, origin: np.ndarray | None = None) -> None:
        """To natural units x = origin + units * v from the optimizer's v."""
        if origin is not None:
            self.x = origin + units * self.x
        self.gradient = self.gradient / units
        self.hessian = self.hessian / np.outer(units, units)


def _derivatives(f: Callable[[np.ndarray], float], x: np.ndarray, f0: float,
                 h: np.ndarray, free: np.ndarray):
    k = len(x)
    grad = np.full(k, np.nan)
    hess = np.full((k, k), np.nan)
    plus, minus = np.zeros(k), np.zeros(k)
    evals = 0
    for i in range(k):
        e = np.zeros(k)
        e[i] = h[i]
        plus[i] = f(x + e)
        evals += 1
        if free[i]:
            minus[i] = f(x - e)
            evals += 1
            grad[i] = (plus[i] - minus[i]) / (2 * h[i])
            hess[i, i] = (plus[i] - 2 * f0 + minus[i]) / h[i] ** 2
        else:
            grad[i] = (plus[i] - f0) / h[i]
    idx = np.flatnonzero(free)
    for a, i in enumerate(idx):
        for j in idx[a + 1:]:
            e = np.zeros(k)
            e[i], e[j] = h[i], h[j]
            fpp, fmm = f(x + e), f(x - e)
            evals += 2
            hij = (fpp - plus[i] - plus[j] + 2 * f0 - minus[i] - minus[j] + fmm) / (2 * h[i] * h[j])
            hess[i, j] = hess[j, i] = hij
    return grad, hess, evals


def _gradient(f, x, f0, h, free):
    grad = np.empty(len(x))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h[i]
        grad[i] = (f(x + e) - f(x - e)) / (2 * h[i]) if free[i] else (f(x + e) - f0) / h[i]
    return grad, int(len(x) + np.sum(free))


def _line_search(f, x, f0, d, idx, lower, halvings: int = 4):
    """The first of the steps d, d/2, ... (kept above the bounds) that lowers f."""
    step = 1.0
    for n in range(1, halvings + 1):
        trial = x.copy()
        trial[idx] = np.maximum(x[idx] + step * d, lower[idx])
        ft = f(trial)
        if ft < f0:
            return trial, ft, n
        step *= 0.5
    return None, f0, halvings


def newton_confirm(f: Callable[[np.ndarray], float], x: np.ndarray, lower: np.ndarray,
                   h: float = 1e-3, tol: float = 1e-7, max_steps: int = 4,
                   reuse: float = 1e-3) -> NewtonCheck:
    """Check (and polish) a minimum of ``f`` over ``x >= lower`` by Newton steps.

    After a step whose predicted decrease was below ``reuse`` only the gradient is
    recomputed and the Hessian kept (near a minimum it hardly changes).
    """
    x = np.asarray(x, dtype=float).copy()
    # a parameter within rounding of its bound is put on it (a variance of exactly 0)
    x = np.where(x - lower < _BOUND_GAP, lower, x)
    f0 = f(x)
    evaluations, steps, messages = 1, 0, []
    hess = last_free = None
    predicted = np.inf
    while True:
        gap = x - lower
        free = gap > _BOUND_GAP
        hs = np.where(free, np.minimum(h, gap / 2), h)
        if hess is not None and predicted < reuse and np.array_equal(free, last_free):
            grad, n = _gradient(f, x, f0, hs, free)
        else:
            grad, hess, n = _derivatives(f, x, f0, hs, free)
        last_free = free
        evaluations += n
        idx = np.flatnonzero(free)
        g, hh = grad[idx], hess[np.ix_(idx, idx)]
        try:
            chol = np.linalg.cholesky(hh)
        except np.linalg.LinAlgError:
            messages.append("the Hessian of the free parameters is not positive definite")
            return NewtonCheck(x, f0, grad, hess, free, np.nan, steps, evaluations, False,
                               messages)
        d = -np.linalg.solve(chol.T, np.linalg.solve(chol, g))
        predicted = float(-0.5 * g @ d)
        leaves_bound = bool(np.any(grad[~free] < -1e-6))
        if predicted < tol and not leaves_bound:
            return NewtonCheck(x, f0, grad, hess, free, predicted, steps, evaluations, True,
                               messages)
        if steps >= max_steps:
            break
        trial, ft, n = _line_search(f, x, f0, d, idx, lower)
        evaluations += n
        if trial is None:
            break
        x, f0, steps = trial, ft, steps + 1
    messages.append(f"Newton steps did not confirm the optimum (predicted decrease "
                    f"{predicted:.3g}{', a bounded parameter would move' if leaves_bound else ''})")
    return NewtonCheck(x, f0, grad, hess, free, predicted, steps, evaluations, False, messages)


def _gradient_hessian(fg, x: np.ndarray, g0: np.ndarray, h: np.ndarray,
                      free: np.ndarray) -> tuple[np.ndarray, int]:
    """Hessian of the free parameters by forward differences of the analytic gradient,
    symmetrized (NaN rows and columns for parameters held at a bound). The gradient is
    exact to about 1e-8, so a step of 1e-4 leaves errors near 1e-4 relative, far below
    what the Wald standard errors need."""
    k = len(x)
    hess = np.full((k, k), np.nan)
    idx = np.flatnonzero(free)
    cols = np.empty((k, len(idx)))
    for a, i in enumerate(idx):
        e = np.zeros(k)
        e[i] = h[i]
        cols[:, a] = (fg(x + e)[1] - g0) / h[i]
    block = cols[idx]
    hess[np.ix_(idx, idx)] = (block + block.T) / 2.0
    return hess, len(idx)


def _bfgs_update(hess: np.ndarray, idx: np.ndarray, step: np.ndarray,
                 change: np.ndarray) -> None:
    """BFGS update of the free block of ``hess`` in place (skipped without curvature)."""
    block = hess[np.ix_(idx, idx)]
    s, y = step[idx], change[idx]
    sy = float(s @ y)
    hs = block @ s
    shs = float(s @ hs)
    if sy <= 1e-12 * np.linalg.norm(s) * np.linalg.norm(y) or shs <= 0:
        return
    hess[np.ix_(idx, idx)] = block - np.outer(hs, hs) / shs + np.outer(y, y) / sy


def newton_confirm_gradient(f: Callable[[np.ndarray], float],
                            fg: Callable[[np.ndarray], tuple[float, np.ndarray]],
                            x: np.ndarray, lower: np.ndarray, h: float = 1e-4,
                            tol: float = 1e-7, max_steps: int = 6,
                            reuse: float = 1e-3) -> NewtonCheck:
    """:func:`newton_confirm` for an objective with an analytic gradient.

    ``f(x)`` returns the objective, ``fg(x)`` the objective and its gradient (``inf`` and
    NaNs where it is not defined); ``fg`` right after ``f`` at the same point should reuse
    its work. The Hessian comes from differences of the gradient (one evaluation per free
    parameter instead of about k^2): once at the start, then BFGS updates along the steps
    until the predicted decrease falls below ``reuse``, where it is computed afresh and
    kept, so that the Hessian returned (the Wald covariance's) is one measured near the
    optimum. A parameter at its bound is checked by the one-sided difference quotient of
    the objective (at a zero variance the gradient of an objective even in that entry
    vanishes, so only the quotient tells whether it would move).
    """
    x = np.asarray(x, dtype=float).copy()
    x = np.where(x - lower < _BOUND_GAP, lower, x)
    f0, g0 = fg(x)
    evaluations, steps, messages = 1, 0, []
    hess, last_free, near, fresh, remeasured = None, None, False, False, False
    predicted, leaves_bound = np.inf, False
    while True:
        free = x - lower > _BOUND_GAP
        hs = np.where(free, np.minimum(h, (x - lower) / 2), 1e-3)
        if hess is None or not np.array_equal(free, last_free):
            hess, n = _gradient_hessian(fg, x, g0, hs, free)
            evaluations, fresh, near = evaluations + n, True, False
        last_free = free
        grad = np.asarray(g0, dtype=float).copy()
        for i in np.flatnonzero(~free):
            e = np.zeros(len(x))
            e[i] = hs[i]
            grad[i] = (f(x + e) - f0) / hs[i]
            evaluations += 1
        idx = np.flatnonzero(free)
        g, hh = grad[idx], hess[np.ix_(idx, idx)]
        try:
            chol = np.linalg.cholesky(hh)
        except np.linalg.LinAlgError:
            if not fresh:
                hess = None
                continue
            messages.append("the Hessian of the free parameters is not positive definite")
            return NewtonCheck(x, f0, grad, hess, free, np.nan, steps, evaluations, False,
                               messages)
        d = -np.linalg.solve(chol.T, np.linalg.solve(chol, g))
        predicted = float(-0.5 * g @ d)
        if predicted < reuse and not near and not fresh:
            hess, remeasured = None, True   # measure it here, near the optimum
            continue
        # a Hessian measured where the updated one predicted little is kept even if its
        # own prediction is a little larger
        near = near or (fresh and predicted < (10 * reuse if remeasured else reuse))
        leaves_bound = bool(np.any(grad[~free] < -1e-6))
        if predicted < tol and near and not leaves_bound:
            return NewtonCheck(x, f0, grad, hess, free, predicted, steps, evaluations, True,
                               messages)
        if steps >= max_steps:
            break
        trial, ft, n = _line_search(f, x, f0, d, idx, lower)
        evaluations += n
        if trial is None:
            break
        g_old, x_old = g0, x
        x, steps = trial, steps + 1
        f0, g0 = fg(x)
        evaluations += 1
        fresh = False
        if not near:
            _bfgs_update(hess, idx, x - x_old, np.asarray(g0) - np.asarray(g_old))
    messages.append(f"Newton steps did not confirm the optimum (predicted decrease "
                    f"{predicted:.3g}{', a bounded parameter would move' if leaves_bound else ''})")
    return NewtonCheck(x, f0, grad, hess, free, predicted, steps, evaluations, False, messages)
