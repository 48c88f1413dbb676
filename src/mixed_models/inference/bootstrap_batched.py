"""The parametric bootstrap of a single-term LMM, every replicate fitted at once.

:func:`batched_records` draws each replicate's response as the per-replicate path does
(the same generator per replicate and the same draws as
:func:`~mixed_models.inference.simulate.simulate_response`), fits all of
them together (:mod:`mixed_models.core.batched`) and collects what
:func:`~mixed_models.inference.bootstrap.default_collect` would collect from each refit:
the fixed effects, the SDs and correlations, sigma and the objective. A replicate the
batch does not confirm (a variance at zero, a Hessian that is not positive definite)
comes back as None, for the per-replicate path to fit.

Only for models the batch represents (:func:`eligible`): formula LMMs with one random-
effects term of at most four columns with an unstructured or diagonal covariance, no
weights, sigma estimated and the default optimizer.
"""

from __future__ import annotations

import numpy as np

from mixed_models.core import batched
from mixed_models.core.covariance import PatternCovariance
from mixed_models.core.problem import LmmProblem, terms_zt
from mixed_models.fitted import results
from mixed_models.fitted.record import FittedModel


def eligible(model: FittedModel) -> bool:
    """Whether :func:`batched_records` can fit ``model``'s replicates."""
    problem = model.problem
    if model.is_generalized or not isinstance(problem, LmmProblem) \
            or model.settings.optimizer != "auto":
        return False
    if len(problem.terms) != 1 or problem.weights is not None or problem.sigma is not None:
        return False
    term = problem.terms[0]
    return isinstance(term.covariance, PatternCovariance) and term.size <= batched.MAX_SIZE \
        and problem.n_obs > problem.n_fixed + 1


def batched_records(model: FittedModel, seeds: list[np.random.SeedSequence]
                    ) -> list[dict[str, float] | None]:
    """Per replicate, the default statistics of its refit, or None where the batch did
    not confirm the optimum (see the module's notes)."""
    problem = model.problem
    responses = simulated_responses(model, seeds)
    shift, data = batched_responses(problem, responses)
    fit = batched.newton(batched_model(problem), data, np.asarray(model.theta, dtype=float))
    names = list(results.fix_ef(model))
    blocks = model.structure.blocks()
    out: list[dict[str, float] | None] = []
    for r in range(len(seeds)):
        if not fit.done[r]:
            out.append(None)
            continue
        record = dict(zip(names, map(float, fit.beta[r] + shift[r])))
        lam = problem.factor.lambdas(fit.theta[r])[0]
        record.update(variance_values(blocks, [fit.sigma2[r] * lam @ lam.T],
                                      float(np.sqrt(fit.sigma2[r]))))
        record["deviance"] = float(fit.objective[r])
        out.append(record)
    return out


def simulated_responses(model: FittedModel, seeds: list[np.random.SeedSequence]
                        ) -> np.ndarray:
    """:func:`simulate_response` of every seed minus the offset, as columns (n x R):
    each replicate's generator draws its random effects, then its residuals, as there;
    the products with Z and X are made once for all replicates."""
    problem = model.problem
    term = problem.terms[0]
    lam = problem.factor.lambdas(model.theta)[0]
    generators = [np.random.default_rng(seed) for seed in seeds]
    draws = [(g.standard_normal((term.n_levels, lam.shape[1])), g.standard_normal(problem.n_obs))
             for g in generators]
    effects = np.stack([u for u, _ in draws]) @ lam.T  # (R, levels, S)
    noise = np.stack([e for _, e in draws], axis=1)    # (n, R)
    known = term.codes >= 0
    random = np.zeros_like(noise)
    random[known] = np.einsum("ns,rns->nr", term.z[known], effects[:, term.codes[known]])
    return (problem.x @ model.estimates.beta)[:, None] + model.sigma * (random + noise)


def batched_model(problem: LmmProblem) -> batched.BatchedModel:
    """The parts of ``problem`` (an :func:`eligible` model's) every response shares."""
    cp = problem.cp
    term = problem.terms[0]
    levels, size = cp.a11.shape[:2]
    p = problem.n_fixed
    return batched.BatchedModel(cp.a11, cp.ax1[:p].reshape(p, levels, size).transpose(1, 2, 0),
                                cp.avv[:p, :p], term.covariance.rows, term.covariance.cols,
                                problem.n_obs, problem.reml)


def batched_responses(problem: LmmProblem, responses: np.ndarray
               ) -> tuple[np.ndarray, batched.Responses]:
    """Each response's least-squares fit on X (added back to its fixed effects) and the
    cross-products of its residual, as a single fit builds them."""
    x = problem.x
    shift = np.linalg.lstsq(x, responses, rcond=None)[0] if x.shape[1] else \
        np.zeros((0, responses.shape[1]))
    work = responses - x @ shift
    levels, size = problem.cp.a11.shape[:2]
    zy = np.asarray(terms_zt(problem.terms) @ work).T.reshape(-1, levels, size)
    return shift.T, batched.Responses(zy, (x.T @ work).T, np.einsum("nr,nr->r", work, work))


def variance_values(blocks: list, covariances: list[np.ndarray], sigma: float | None
                    ) -> dict[str, float]:
    """The SDs and correlations of the terms' covariances, then ``sigma`` (left out
    when None): keys ``sd_<column>|<group>`` and ``cor_<later>.<column>|<group>`` (a
    correlation only where a block links the two columns); the terms of one grouping
    factor together, in theta's order, grouping factors in the model's order."""
    sds: dict[str, dict[str, float]] = {}
    cors: dict[tuple[str, str, str], float] = {}
    for block, cov in zip(blocks, covariances):
        sd = np.sqrt(np.diag(cov))
        columns = block.columns
        for i, column in enumerate(columns):
            sds.setdefault(block.group, {})[column] = float(sd[i])
            for j in range(i + 1, len(columns)):
                if block.linked[i, j]:
                    denom = sd[i] * sd[j]
                    cors[(block.group, column, columns[j])] = \
                        float(cov[i, j] / denom) if denom > 0 else np.nan
    out = {}
    for group, columns in sds.items():
        names = list(columns)
        for i, column in enumerate(names):
            out[f"sd_{column}|{group}"] = columns[column]
            for later in names[i + 1:]:
                if (group, column, later) in cors:
                    out[f"cor_{later}.{column}|{group}"] = cors[(group, column, later)]
    if sigma is not None:
        out["sigma"] = float(sigma)
    return out
