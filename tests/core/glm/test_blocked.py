"""The blocked factor and PIRLS against dense linear algebra on random designs.

The reference panel has scalar or single terms only; these designs add vector-valued
rest terms, a sparse and a dense lead-rest block and the joint (u, beta) system.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixed_models.core.covariance import CovarianceStructure
from mixed_models.core.crossprod import TermData
from mixed_models.core.glm.factor import GlmFactor
from mixed_models.core.glm.family import make_family
from mixed_models.core.glm.pirls import GlmmProblem, linear_predictor, pirls

# (levels, size) of each term; the first design's observation-level lead term makes the
# lead-rest block sparse, the others keep it dense
DESIGNS = [
    [(300, 1), (12, 1), (7, 2)],
    [(40, 2), (9, 1)],
    [(25, 1), (30, 2), (6, 1)],
    [(50, 3)],
]


def random_problem(design, seed, family="poisson"):
    rng = np.random.default_rng(seed)
    n = 300
    terms = []
    for k, (levels, size) in enumerate(design):
        codes = np.arange(n) % levels if k == 0 and levels == n else rng.integers(0, levels, n)
        codes[:levels] = np.arange(levels)  # every level used
        z = np.column_stack([np.ones(n)] + [rng.normal(size=n) for _ in range(size - 1)])
        terms.append(TermData(codes.astype(np.intp), z, levels,
                              CovarianceStructure.unstructured(size)))
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])
    eta = 0.3 + 0.4 * x[:, 1] + sum(0.5 * t.z[:, 0] * rng.normal(size=t.n_levels)[t.codes]
                                    for t in terms)
    y = rng.poisson(np.exp(eta)).astype(float) if family == "poisson" else \
        (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    mask = np.concatenate([t.covariance.diagonal_mask() for t in terms])
    theta = np.where(mask, rng.uniform(0.2, 1.0, len(mask)), rng.normal(0.0, 0.3, len(mask)))
    return GlmmProblem(terms, x, y, make_family(family)), theta


def dense_parts(problem, theta):
    """Z Lambda in the factorization's term order, as a dense n x q matrix."""
    d = problem.design
    lams = problem.lams(theta)
    blocks = []
    for i in d.order:
        t, lam = problem.terms[i], lams[i]
        z = np.zeros((d.n, t.q))
        for s in range(t.size):
            z[np.arange(d.n), t.codes * t.size + s] = t.z[:, s]
        blocks.append(z @ np.kron(np.eye(t.n_levels), lam))
    return np.hstack(blocks)


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("seed", [1, 2])
def test_factor_matches_dense_algebra(design, seed):
    problem, theta = random_problem(design, seed)
    d = problem.design
    rng = np.random.default_rng(seed + 10)
    w = rng.uniform(0.2, 3.0, d.n)
    assert d.sparse_cross == (design is DESIGNS[0])
    factor = GlmFactor(d, problem.lams(theta))
    factor.update(*d.blocks(w))
    zl = dense_parts(problem, theta)
    q = zl.shape[1]
    full = np.hstack([zl, d.x])
    m = full.T @ (full * w[:, None])
    m[:q, :q] += np.eye(q)
    assert abs(factor.logdet() - np.linalg.slogdet(m[:q, :q])[1]) < 1e-9
    q1 = d.lead.q
    r = rng.normal(size=q + d.p)
    for joint, k in ((False, q), (True, q + d.p)):
        x1, x2 = factor.solve(r[:q1].reshape(d.lead.n_levels, d.lead.size), r[q1:], joint)
        expected = np.linalg.solve(m[:k, :k], r[:k])
        np.testing.assert_allclose(np.concatenate([x1.ravel(), x2]), expected, atol=1e-9)


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("family", ["poisson", "binomial"])
def test_pirls_reaches_the_mode(design, family):
    problem, theta = random_problem(design, 3, family)
    beta = np.array([0.2, 0.3, -0.1])
    for joint in (False, True):
        state = pirls(problem, theta, beta, joint=joint)
        zl = dense_parts(problem, theta)
        eta = linear_predictor(problem, state.factor, state.beta, state.u_lead, state.u_rest)
        np.testing.assert_allclose(eta, state.eta, atol=1e-12)
        resid = problem.y - state.mu  # canonical links: the score is Z' (y - mu)
        u = np.concatenate([state.u_lead.ravel(), state.u_rest])
        assert np.max(np.abs(zl.T @ resid - u)) < 1e-8
        if joint:
            assert np.max(np.abs(problem.design.x.T @ resid)) < 1e-8
        else:
            np.testing.assert_array_equal(state.beta, beta)
