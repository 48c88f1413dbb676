"""The batched bootstrap of single-term models against the replicate-by-replicate path:
the same columns and responses, objectives never higher (at a zero variance too), the
same statistics to the precision of the single fits; and which models it takes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mixed_models import LMM, datasets
from mixed_models.inference import bootstrap as engine
from mixed_models.inference.bootstrap_batched import batched_records, eligible
from mixed_models.inference.bootstrap_runner import replicate_seeds

# id -> formula, REML: an unstructured, a diagonal and a scalar term, REML and ML
CASES = {
    "slope_reml": ("Reaction ~ Days + (Days | Subject)", True),
    "slope_ml": ("Reaction ~ Days + (Days | Subject)", False),
    "diagonal": ("Reaction ~ Days + diag(Days | Subject)", True),
    "intercept": ("Reaction ~ Days + (1 | Subject)", False),
}


def _fit(formula: str, reml: bool, **options) -> LMM:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LMM.from_formula(formula, datasets.load("sleepstudy"), reml=reml, **options)


@pytest.fixture(scope="module", params=list(CASES))
def pair(request):
    """The batched table and the replicate-by-replicate one, 150 replicates."""
    model = _fit(*CASES[request.param])
    batched = model.bootstrap(150, seed=11, n_jobs=1)
    plain = pytest.MonkeyPatch()
    plain.setattr(engine, "eligible", lambda record: False)
    try:
        single = model.bootstrap(150, seed=11, n_jobs=1)
    finally:
        plain.undo()
    return batched, single


def test_the_batch_agrees_with_the_single_fits(pair):
    batched, single = pair
    assert list(batched.columns) == list(single.columns)
    assert not batched.isna().any().any()
    # never a worse optimum than the single fit's (beyond rounding)
    assert (batched["deviance"] - single["deviance"]).max() <= 1e-9
    spread = single.std()
    assert ((batched - single).abs() / spread).max().max() < 1e-3


def test_replicates_at_a_zero_variance_are_fitted_on_the_boundary():
    # eight groups and a small group variance: some replicates' variance is zero
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(8), 6)
    data = pd.DataFrame({"y": rng.normal(size=48) + 0.4 * rng.normal(size=8)[g],
                         "x": rng.normal(size=48), "g": g.astype(str)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LMM.from_formula("y ~ x + (1 | g)", data)
    _, seeds = replicate_seeds(3, 60)
    records = pd.DataFrame(batched_records(model.record, seeds))
    zero = records["sd_intercept|g"] == 0.0
    assert 5 <= zero.sum() < 60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = pd.DataFrame([engine.refit_response(model.record, y).deviance
                               for y in _responses(model, seeds)], columns=["deviance"])
    assert (records["deviance"] - single["deviance"]).max() <= 1e-9


def _responses(model, seeds):
    from mixed_models.inference.simulate import simulate_response

    return [simulate_response(model.record, np.random.default_rng(s)) for s in seeds]


@pytest.mark.parametrize("formula, options, expected", [
    ("Reaction ~ Days + (Days | Subject)", {}, True),
    ("Reaction ~ 1 + (1 | Subject) + (1 | Days)", {}, False),  # two grouping factors
    ("Reaction ~ Days + cs(Days | Subject)", {}, False),  # structured covariance
    ("Reaction ~ Days + (Days | Subject)", {"weights": np.linspace(1, 2, 180)}, False),
])
def test_which_models_the_batch_takes(formula, options, expected):
    assert eligible(_fit(formula, True, **options).record) is expected


@pytest.mark.parametrize("formula", ["Reaction ~ Days + (Days | Subject)",
                                     "Reaction ~ Days + (1 | Subject)"])
def test_the_responses_are_the_single_paths_draws(formula):
    from mixed_models.inference.bootstrap_batched import simulated_responses
    from mixed_models.inference.simulate import simulate_response

    model = _fit(formula, True).record
    _, seeds = replicate_seeds(4, 5)
    together = simulated_responses(model, seeds)
    for r, seed in enumerate(seeds):
        np.testing.assert_allclose(together[:, r],
                                   simulate_response(model, np.random.default_rng(seed)),
                                   rtol=1e-13, atol=1e-10)
