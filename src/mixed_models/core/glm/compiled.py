"""The compiled objectives of GLMMs whose terms are all scalar, with a canonical link.

:class:`ScalarSystem` holds the arrays the kernels of :mod:`numba_glmm` read;
:class:`CompiledJoint` and :class:`CompiledLaplace` are the nAGQ = 0 and Laplace
objectives of :mod:`laplace` evaluated by them (same values, same gradients, tested
against numpy's). They are used when :func:`covered` says so and numba's kernels are loaded
(:func:`mixed_models.core.kernels.block_wanted`): the family is binomial-logit or
Poisson-log, every term is scalar, and the dense rest block is small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from mixed_models.core.glm.laplace import JointObjective, LaplaceObjective
from mixed_models.core.glm.pirls import GlmmProblem, PirlsError

FAMILIES = {("binomial", "logit"): 0, ("poisson", "log"): 1}
#: Largest dense rest block (random effects of the other terms plus X's columns).
MAX_REST = 400
_TOL, _MAX_ITER, _HALVINGS = 1e-24, 100, 40


def covered(problem: GlmmProblem) -> bool:
    """Whether the compiled objectives cover ``problem`` (whether or not they are
    loaded: :func:`mixed_models.core.kernels.block_wanted`)."""
    fam = problem.family
    if (fam.name, fam.link.name) not in FAMILIES or not problem.analytic_gradient:
        return False
    if problem.saturated is None or problem.design.m > MAX_REST:
        return False
    for term in problem.terms:
        cov = term.covariance
        if term.size != 1 or cov.n_theta != 1 or cov.lam(np.array([0.5]))[0, 0] != 0.5:
            return False
    return True


@dataclass
class _Factor:
    """What the fit reads of a factor: the rest block's Cholesky factor and the design."""

    design: object
    l22: np.ndarray


@dataclass
class CompiledState:
    """Conditional modes and what is computed at them (a PIRLS state's fields)."""

    u: np.ndarray
    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    w: np.ndarray
    deviance: float
    u_sq: float
    l11: np.ndarray
    factor: _Factor
    iterations: int
    n1: int

    @property
    def u_lead(self) -> np.ndarray:
        return self.u[:self.n1].reshape(-1, 1)

    @property
    def u_rest(self) -> np.ndarray:
        return self.u[self.n1:]


class ScalarSystem:
    """The arrays of ``problem`` in the kernels' layout (lead term first)."""

    def __init__(self, problem: GlmmProblem):
        d = problem.design
        self.problem = problem
        self.order = list(d.order)
        terms = [problem.terms[i] for i in self.order]
        self.n1, self.qr = d.lead.q, d.q_rest
        offsets = [0] + [self.n1 + off for off in d.rest_offsets]
        self.pos = np.ascontiguousarray(np.vstack([t.codes + o for t, o in zip(terms, offsets)]),
                                        dtype=np.int64)
        self.z = np.ascontiguousarray(np.vstack([t.z[:, 0] for t in terms]), dtype=float)
        lead_codes = terms[0].codes
        self.lead_rows = np.argsort(lead_codes, kind="stable").astype(np.int64)
        self.lead_ptr = np.searchsorted(lead_codes[self.lead_rows],
                                        np.arange(self.n1 + 1)).astype(np.int64)
        self.x = np.array(d.x, dtype=float, order="C")
        self.prefix = _diagonal_prefix(terms)
        self.theta_index = np.array([problem.theta_slices[i].start for i in self.order])
        self.saturated = float(problem.saturated)
        self.family = FAMILIES[(problem.family.name, problem.family.link.name)]
        # own, writable, C-ordered copies: the kernels are compiled for that layout only
        y, wt = np.array(problem.y, dtype=float), np.array(problem.weights, dtype=float)
        self.y, self.wt, self.off = y, wt, np.array(problem.offset, dtype=float)
        # the deviance as the kernels sum it: const - 2 sum(wy log mu + wn log(1 - mu))
        # (binomial) or const - 2 sum(wy log mu - wt mu) (Poisson), as the family's
        self.wy = wt * y
        self.wn = wt * (1.0 - y) if self.family == 0 else wt
        tail = special.xlogy(1.0 - y, 1.0 - y) if self.family == 0 else -y
        self.const = 2.0 * float(np.sum(wt * (special.xlogy(y, y) + tail)))

    def lams(self, theta: np.ndarray) -> np.ndarray:
        """Each term's lambda (its theta), in the kernels' order."""
        return np.asarray(theta, dtype=float)[self.theta_index]

    def modes(self, theta: np.ndarray, beta: np.ndarray, u: np.ndarray | None,
              joint: bool) -> CompiledState | None:
        """The PIRLS state at (theta, beta), None where there is no mode."""
        from mixed_models.core.glm import numba_glmm

        start = np.zeros(self.n1 + self.qr) if u is None else np.array(u, dtype=float)
        out = numba_glmm.pirls(self.lams(theta), np.array(beta, dtype=float), start, bool(joint),
                               self.family, self.y, self.wt, self.off, self.x, self.pos,
                               self.z, self.lead_ptr, self.lead_rows, self.n1, self.qr,
                               self.prefix, self.wy, self.wn, self.const, _TOL, _MAX_ITER,
                               _HALVINGS)
        status, u_, beta_, eta, mu, w, dev, u_sq, l11, l22, iterations = out
        if status != 0:
            return None
        return CompiledState(u_, beta_, eta, mu, w, float(dev), float(u_sq), l11,
                             _Factor(self.problem.design, l22), int(iterations), self.n1)

    def glm_beta(self) -> np.ndarray | None:
        """beta of the GLM without random effects (PIRLS with lambda = 0 from beta = 0:
        Newton's method on the GLM's deviance); None when it does not converge."""
        state = self.modes(np.zeros(self.problem.n_theta), np.zeros(self.x.shape[1]), None,
                           True)
        return None if state is None else state.beta

    def value(self, state: CompiledState) -> float:
        """The Laplace objective at the state."""
        from mixed_models.core.glm import numba_glmm

        logdet = numba_glmm.log_determinant(state.l11, state.factor.l22, self.qr)
        return logdet + state.u_sq + state.deviance + self.saturated

    def gradient(self, theta: np.ndarray, state: CompiledState, joint: bool) -> np.ndarray:
        """(d/dtheta in the caller's order, d/dbeta) at the state."""
        from mixed_models.core.glm import numba_glmm_gradient

        g = numba_glmm_gradient.gradient(
            self.lams(theta), state.u, bool(joint), self.family, self.y, self.wt, self.x, self.pos,
            self.z, self.lead_ptr, self.lead_rows, self.n1, self.qr, state.eta, state.mu,
            state.w, state.l11, state.factor.l22)
        nt = len(self.order)
        out = np.empty(self.problem.n_theta + self.x.shape[1])
        out[self.theta_index] = g[:nt]
        out[self.problem.n_theta:] = g[nt:]
        return out


class _Compiled:
    """The evaluation hooks of :class:`laplace.WarmStartObjective` by the kernels (the
    caching and warm start are the numpy objectives')."""

    system: ScalarSystem
    state: CompiledState | None
    evaluations: int

    def _modes(self, theta: np.ndarray, beta: np.ndarray, joint: bool) -> CompiledState:
        self.evaluations += 1
        start = None if self.state is None else self.state.u
        state = self.system.modes(theta, beta, start, joint)
        if state is None:
            raise PirlsError(f"PIRLS found no conditional modes at theta = {theta}")
        self.state = state
        return state

    def _value_at(self, state: CompiledState) -> float:
        return self.system.value(state)

    def _gradient_at(self, theta: np.ndarray, joint: bool) -> np.ndarray:
        return self.system.gradient(theta, self.state, joint)


class CompiledLaplace(_Compiled, LaplaceObjective):
    """(theta, beta) -> the Laplace objective, as :class:`laplace.LaplaceObjective`."""

    def __init__(self, system: ScalarSystem):
        super().__init__(system.problem)
        self.system = system


class CompiledJoint(_Compiled, JointObjective):
    """theta -> the objective at the joint modes of (u, beta), as
    :class:`laplace.JointObjective`."""

    def __init__(self, system: ScalarSystem, beta: np.ndarray):
        super().__init__(system.problem, beta)
        self.system = system


def _diagonal_prefix(terms: list) -> int:
    """Levels of the first rest term when its block stays diagonal after the lead term
    is eliminated (every lead level's rows share one of its levels), else 0."""
    if len(terms) < 2:
        return 0
    lead, first = terms[0].codes, terms[1].codes
    per_lead = np.full(terms[0].n_levels, -1)
    per_lead[lead] = first
    return terms[1].n_levels if np.array_equal(per_lead[lead], first) else 0
