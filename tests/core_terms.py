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
