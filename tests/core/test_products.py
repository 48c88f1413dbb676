"""The row-by-row cross-products (core.products): the compiled pass gives numpy's
bincount sums to the bit, so a fit's numbers do not depend on which one ran."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core_terms import problem_arrays
from mixed_models.core import products
from mixed_models.core.crossprod import cross_products

KINDS = ["scalar", "vector", "crossed_dense", "crossed_sparse", "crossed_sparse_vector",
         "nested"]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_compiled_cross_products_are_numpys_to_the_bit(kind, weighted, compiled_kernels):
    rng = np.random.default_rng(5)
    terms, x, y, weights = problem_arrays(kind, rng)
    if weights is None:
        weights = rng.uniform(0.3, 3.0, len(y))
    weights = weights if weighted else None
    plain = cross_products(terms, x, y, weights)
    fast = cross_products(terms, x, y, weights, compiled=True)
    for field in dataclasses.fields(plain):
        a, b = getattr(plain, field.name), getattr(fast, field.name)
        if hasattr(a, "toarray"):
            a, b = a.toarray(), b.toarray()
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), field.name
        else:
            assert a == b or field.name == "terms", field.name


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), levels=st.integers(1, 9),
       size=st.integers(1, 3), columns=st.integers(1, 4))
def test_each_product_is_numpys_to_the_bit(seed, n, levels, size, columns):
    from mixed_models.core import kernels

    if not kernels.compile_small_kernels():
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, levels, n)
    other = rng.integers(0, levels + 2, n)
    z = rng.normal(size=(n, size)) * 10.0 ** rng.integers(-6, 7, size=size)
    m = rng.normal(size=(n, columns))
    for compute in (lambda c: products.level_gram(codes, z, levels, c),
                    lambda c: products.level_products(codes, z, m, levels, c),
                    lambda c: products.pair_products(codes, z, levels, other, m, levels + 2, c)):
        assert np.array_equal(compute(True), compute(False))
