"""Newton's start from per-level moments (core.start)."""

from __future__ import annotations

import numpy as np
import pytest

from core_terms import problem_arrays, random_term
from mixed_models.core.dense_newton import evaluator_for, newton_fit
from mixed_models.core.problem import LmmProblem
from mixed_models.core.start import moment_start


def _vector_problem(seed: int, size: int, sd: float, correlated: bool = True) -> LmmProblem:
    rng = np.random.default_rng(seed)
    n, levels = 240, 24
    term = random_term(rng, n, levels, size, correlated)
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    b = rng.normal(scale=sd, size=(levels, size))
    y = x @ [3.0, -1.0] + np.einsum("ns,ns->n", term.z, b[term.codes]) + rng.normal(size=n)
    return LmmProblem([term], x, y, reml=True, reparametrize=False)


@pytest.mark.parametrize("correlated", [True, False])
@pytest.mark.parametrize("size, sd", [(2, 0.05), (2, 1.0), (2, 30.0), (3, 3.0)])
def test_newton_from_the_moments_reaches_the_optimum_in_fewer_evaluations(size, sd,
                                                                         correlated):
    problem = _vector_problem(size * 10 + int(sd), size, sd, correlated)
    start = moment_start(problem.cp, problem.sigma)
    assert start is not None and start.shape == problem.start().shape
    fun, diagonal = evaluator_for(problem), problem.diagonal_mask()
    plain = newton_fit(fun, problem.start(), diagonal)
    moments = newton_fit(fun, start, diagonal)
    assert moments.converged
    assert moments.objective <= plain.objective + 1e-10 * abs(plain.objective)


def test_the_moments_save_evaluations_far_from_lme4s_start():
    # Newton's path is sensitive to the start's last digits (a backtracked step more or
    # less can cost dozens of evaluations on a flat surface), so the saving is counted
    # over several data sets: fewer evaluations on most of them
    fewer = 0
    for seed in range(8):
        problem = _vector_problem(100 + seed, 2 + seed % 2, [3.0, 10.0, 30.0, 100.0][seed % 4],
                                  correlated=seed % 3 != 0)
        fun, diagonal = evaluator_for(problem), problem.diagonal_mask()
        plain = newton_fit(fun, problem.start(), diagonal)
        moments = newton_fit(fun, moment_start(problem.cp, problem.sigma), diagonal)
        assert moments.objective <= plain.objective + 1e-10 * abs(plain.objective)
        fewer += moments.evaluations < plain.evaluations
    assert fewer >= 6


@pytest.mark.parametrize("seed", range(6))
def test_the_compiled_guess_is_numpys(seed, compiled_kernels):
    problem = _vector_problem(seed, 2 + seed % 2, [0.3, 2.0, 20.0][seed % 3])
    numpy_start = moment_start(problem.cp, problem.sigma)
    compiled = moment_start(problem.cp, problem.sigma, compiled=True)
    assert numpy_start is not None and compiled is not None
    assert np.allclose(compiled, numpy_start, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["scalar", "crossed_dense", "nested"])
def test_other_models_keep_lme4s_start(kind):
    terms, x, y, weights = problem_arrays(kind, np.random.default_rng(1))
    problem = LmmProblem(terms, x, y, weights, reparametrize=False)
    assert moment_start(problem.cp, problem.sigma) is None
    assert moment_start(problem.cp, problem.sigma, compiled=True) is None


def test_levels_that_cannot_separate_the_columns_are_left_out():
    # a covariate constant within every level: no level's block is invertible
    rng = np.random.default_rng(3)
    n, levels = 120, 12
    codes = np.repeat(np.arange(levels), n // levels)
    z = np.column_stack([np.ones(n), rng.normal(size=levels)[codes]])
    term = random_term(rng, n, levels, 2, codes=codes)
    term = type(term)(codes, z, levels, term.covariance)
    y = rng.normal(size=n)
    problem = LmmProblem([term], np.ones((n, 1)), y, reparametrize=False)
    assert moment_start(problem.cp, problem.sigma) is None


def test_the_compiled_guess_leaves_out_the_same_levels(compiled_kernels):
    rng = np.random.default_rng(3)
    n, levels = 120, 12
    codes = np.repeat(np.arange(levels), n // levels)
    z = np.column_stack([np.ones(n), rng.normal(size=levels)[codes]])
    term = type(random_term(rng, n, levels, 2, codes=codes))(
        codes, z, levels, random_term(rng, n, levels, 2).covariance)
    problem = LmmProblem([term], np.ones((n, 1)), rng.normal(size=n), reparametrize=False)
    assert moment_start(problem.cp, problem.sigma, compiled=True) is None
