"""The plots draw the model's numbers, on a given Axes or a new one."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from scipy import stats  # noqa: E402

from mixed_models import plotting  # noqa: E402
from mixed_models.plotting.diagnostics import fit_rows  # noqa: E402
from mixed_models.errors import InvalidArgumentError, NotFoundError  # noqa: E402

RESIDUAL_PLOTS = [plotting.residuals_vs_fitted, plotting.residual_histogram,
                  plotting.qq_plot, plotting.observed_vs_fitted, plotting.caterpillar]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("draw", RESIDUAL_PLOTS, ids=lambda f: f.__name__)
def test_draws_on_the_given_axes_or_a_new_one(fitted, draw):
    model = fitted("sleep_reml")
    fig, ax = plt.subplots()
    assert draw(model, ax=ax) is ax
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    new = draw(model)
    assert new is not ax and new.figure is not fig


def _points(ax) -> np.ndarray:
    return np.vstack([c.get_offsets() for c in ax.collections if c.get_offsets().size])


def test_residuals_vs_fitted_points(fitted):
    model = fitted("sleep_reml")
    ax = plotting.residuals_vs_fitted(model)
    np.testing.assert_allclose(_points(ax), np.column_stack([model.fitted(), model.residuals]))


def test_observed_vs_fitted_points(fitted):
    model = fitted("sleep_reml")
    ax = plotting.observed_vs_fitted(model)
    observed = model.fitted() + model.residuals
    np.testing.assert_allclose(_points(ax), np.column_stack([model.fitted(), observed]))


def test_qq_plot_points(fitted):
    model = fitted("alien_reml")
    ax = plotting.qq_plot(model)
    scaled = np.sort(model.residuals / model.sigma)
    points = _points(ax)
    np.testing.assert_allclose(points[:, 1], scaled)
    n = len(scaled)
    np.testing.assert_allclose(points[:, 0], stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n))


def test_normal_quantiles_small_sample_uses_blom():
    q = plotting.normal_quantiles(5)
    np.testing.assert_allclose(q, stats.norm.ppf((np.arange(1, 6) - 0.375) / 5.25))


def test_histogram_is_a_density(fitted):
    ax = plotting.residual_histogram(fitted("penicillin_reml"), bins=12)
    bars = [p for p in ax.patches]
    assert len(bars) == 12
    area = sum(b.get_width() * b.get_height() for b in bars)
    assert area == pytest.approx(1.0)


def test_weighted_model_plots_pearson_residuals(core_fitted):
    model = core_fitted("sleep_weights_reml")
    ax = plotting.residuals_vs_fitted(model)
    assert ax.get_ylabel() == "Pearson residuals"
    np.testing.assert_allclose(_points(ax)[:, 1], fit_rows(model).pearson)


def test_caterpillar_data(fitted):
    model = fitted("sleep_reml")
    data = plotting.caterpillar_data(model, "Subject", "Days", level=0.9)
    table = model.ran_ef_table()
    rows = table[table["term"] == "Days"].sort_values("value")
    assert data["level"].tolist() == rows["level"].astype(str).tolist()
    np.testing.assert_allclose(data["value"], rows["value"])
    half = stats.norm.ppf(0.95) * rows["cond_sd"].to_numpy()
    np.testing.assert_allclose(data["upper"] - data["value"], half)
    np.testing.assert_allclose(data["value"] - data["lower"], half)
    assert np.all(np.diff(data["value"]) >= 0)


def test_caterpillar_defaults_and_labels(fitted):
    model = fitted("penicillin_reml")
    ax = plotting.caterpillar(model)
    assert ax.get_ylabel() == "plate"  # the first grouping factor
    assert len(ax.get_yticklabels()) == 24
    ax = plotting.caterpillar(model, group="sample")
    assert [t.get_text() for t in ax.get_yticklabels()] == \
        plotting.caterpillar_data(model, "sample")["level"].tolist()


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"group": "nope"}, NotFoundError, "plate, sample"),
    ({"group": "plate", "term": "x"}, NotFoundError, "intercept"),
    ({"level": 1.5}, InvalidArgumentError, "between 0 and 1"),
])
def test_caterpillar_bad_arguments(fitted, kwargs, error, match):
    with pytest.raises(error, match=match):
        plotting.caterpillar_data(fitted("penicillin_reml"), **kwargs)


def test_diagnostic_panel(fitted):
    model = fitted("penicillin_reml")
    fig = model.plot_diagnostics()
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4 + 2
    titles = [ax.get_title() for ax in visible]
    assert titles[:4] == ["Residuals vs fitted", "Normal Q-Q plot of residuals",
                          "Histogram of residuals", "Observed vs fitted"]
    assert titles[4:] == ["Random effects: plate (intercept)",
                          "Random effects: sample (intercept)"]
    one = plotting.diagnostic_panel(fitted("sleep_reml"), fig=plt.figure())
    assert len([ax for ax in one.axes if ax.get_visible()]) == 5
