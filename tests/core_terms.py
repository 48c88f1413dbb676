"""Random-effects terms with random codes and covariates, for the core tests."""

from __future__ import annotations

import numpy as np

from mixed_models.core.covariance import CovarianceStructure
from mixed_models.core.crossprod import TermData


def random_term(rng: np.random.Generator, n: int, levels: int, size: int,
                correlated: bool = True, codes: np.ndarray | None = None) -> TermData:
    """An intercept (and ``size - 1`` normal covariates) on ``levels`` random levels."""
    codes = rng.integers(0, levels, n) if codes is None else codes
    z = np.column_stack([np.ones(n)] + [rng.normal(size=n) for _ in range(size - 1)])
    cov = CovarianceStructure.unstructured(size) if correlated \
        else CovarianceStructure.diagonal(size)
    return TermData(codes, z, levels, cov)


def problem_arrays(kind: str, rng: np.random.Generator):
    """Terms, X, y and weights of a small problem of one block kind."""
    n = 300
    if kind == "scalar":
        terms = [random_term(rng, n, 20, 1)]
    elif kind == "vector":
        terms = [random_term(rng, n, 25, 3)]
    elif kind == "slope":  # one term of two columns: the written-out compiled kernel
        terms = [random_term(rng, n, 18, 2)]
    elif kind == "slope_diagonal":
        terms = [random_term(rng, n, 18, 2, False)]
    elif kind == "crossed_intercepts":  # a random intercept leads: written out too
        terms = [random_term(rng, n, 24, 1), random_term(rng, n, 6, 1)]
    elif kind == "intercept_over_slope":
        terms = [random_term(rng, n, 30, 1), random_term(rng, n, 5, 2)]
    elif kind == "crossed_dense":
        terms = [random_term(rng, n, 30, 2), random_term(rng, n, 7, 1),
                 random_term(rng, n, 4, 2, False)]
    elif kind == "crossed_sparse":
        n = 800
        terms = [random_term(rng, n, 700, 1), random_term(rng, n, 500, 1),
                 random_term(rng, n, 9, 1)]
    elif kind == "crossed_sparse_vector":
        n = 800
        terms = [random_term(rng, n, 400, 2), random_term(rng, n, 450, 1)]
    elif kind == "nested":
        outer = rng.integers(0, 8, n)
        inner = outer * 6 + rng.integers(0, 6, n)
        terms = [random_term(rng, n, 48, 2, codes=inner),
                 random_term(rng, n, 8, 1, codes=outer)]
    else:
        raise KeyError(kind)
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.uniform(size=n)])
    y = rng.normal(size=n) + x @ [1.0, 0.5, -2.0]
    weights = rng.uniform(0.3, 3.0, n) if kind in ("vector", "crossed_dense") else None
    return terms, x, y, weights
