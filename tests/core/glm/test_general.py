"""The dense system of a raw-matrix GLMM (core/glm/general.py): both ways of forming
Lambda' Z' W Z Lambda give the same factor."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mixed_models.core.glm import make_family
from mixed_models.core.glm.general import GeneralGlmmProblem


def test_the_cross_product_of_z_lambda_is_lambda_z_w_z_lambda():
    rng = np.random.default_rng(2)
    n, q = 50, 30
    z = sp.random(n, q, density=0.08, random_state=3, format="csr") + \
        sp.csr_matrix((np.ones(n), (np.arange(n), np.arange(n) % q)), shape=(n, q))
    chol = np.linalg.cholesky(np.cov(rng.standard_normal((q, 3 * q))) + np.eye(q))
    x = np.column_stack([np.ones(n), rng.standard_normal(n)])
    y = rng.poisson(2.0, n).astype(float)
    problem = GeneralGlmmProblem(x, z.T, lambda th: th[0] * chol.T, np.array([0.7]), y,
                                 make_family("poisson"))
    w = rng.uniform(0.5, 3.0, n)
    by_rows = problem.make_factor(np.array([0.7]))
    assert by_rows.z_lam is not None  # 50 rows, 30 effects: the row form is the cheaper
    by_rows.update(*problem.design.blocks(w))
    by_effects = problem.make_factor(np.array([0.7]))
    by_effects.z_lam = None
    by_effects.update(*problem.design.blocks(w))
    np.testing.assert_allclose(by_rows.l22, by_effects.l22, rtol=1e-12, atol=1e-12)
