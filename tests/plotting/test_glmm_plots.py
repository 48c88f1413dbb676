"""The GLMM residual plots draw the numbers of their lower layers: the quantile
residuals (uniform Q-Q, residuals vs predicted) and the binned residuals table."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mixed_models import GLMM, datasets  # noqa: E402
from mixed_models.plotting import glmm_diagnostics as gd  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def ticks():
    return GLMM.from_formula("TICKS ~ YEAR + (1 | LOCATION)", datasets.load("grouseticks"),
                             family="poisson")


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(30), 20)
    x = rng.normal(size=g.size)
    eta = x - 0.3 + rng.normal(0, 0.7, 30)[g]
    y = (rng.uniform(size=g.size) < 1 / (1 + np.exp(-eta))).astype(int)
    import pandas as pd

    data = pd.DataFrame({"y": y, "x": x, "g": g.astype(str)})
    return GLMM.from_formula("y ~ x + (1 | g)", data, family="binomial")


def _points(ax) -> np.ndarray:
    return np.vstack([c.get_offsets() for c in ax.collections if c.get_offsets().size])


def test_uniform_qq_plot_draws_the_sorted_residuals(ticks):
    result = ticks.quantile_residuals(40, seed=1)
    fig, ax = plt.subplots()
    assert gd.quantile_qq_plot(result, ax=ax) is ax
    points = _points(ax)
    np.testing.assert_allclose(points[:, 1], np.sort(result.residuals))
    np.testing.assert_allclose(points[:, 0], (np.arange(403) + 0.5) / 403)
    assert f"{result.p_value:.3g}" in ax.get_title()


def test_residuals_vs_predicted_uses_the_predicted_ranks(ticks):
    result = ticks.quantile_residuals(40, seed=1)
    ax = gd.quantile_residuals_vs_predicted(result)
    points = _points(ax)
    order = np.argsort(result.predicted, kind="stable")
    np.testing.assert_allclose(points[order, 0], (np.arange(403) + 0.5) / 403)
    np.testing.assert_allclose(points[:, 1], result.residuals)


def test_panel_and_method_draw_both_plots(ticks):
    fig = ticks.plot_quantile_residuals(nsim=30, seed=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("Uniform Q-Q plot") and "vs predicted" in titles[1]


def test_binned_plot_draws_the_bins_table(binary):
    table = binary.binned_residuals(bins=12)
    ax = binary.plot_binned_residuals(bins=12)
    points = _points(ax)
    expected = table[["fitted_mean", "residual_mean"]].to_numpy()
    key = np.lexsort(points.T[::-1])
    np.testing.assert_allclose(points[key], expected[np.lexsort(expected.T[::-1])])
    bands = [line.get_ydata() for line in ax.lines if len(line.get_ydata()) == 12]
    np.testing.assert_allclose(bands[0], table["band"])
    np.testing.assert_allclose(bands[1], -table["band"])
    assert f"{int(table['inside'].sum())} of 12 bins" in ax.get_title()


@pytest.mark.parametrize("model, fourth", [("ticks", "Pearson residuals"),
                                           ("binary", "Binned residuals")])
def test_the_diagnostic_panel_has_four_plots(request, model, fourth):
    fit = request.getfixturevalue(model)
    fig = fit.plot_diagnostics(nsim=50, seed=1)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 4
    assert titles[0] == "Pearson residuals vs linear predictor"
    assert titles[1].startswith("Uniform Q-Q plot (KS p = ")
    assert titles[3].startswith(fourth)
    # the Q-Q plot draws the quantile residuals of that seed
    drawn = np.sort(fig.axes[1].collections[0].get_offsets()[:, 1])
    np.testing.assert_allclose(drawn, np.sort(fit.quantile_residuals(50, 1).residuals))
