"""Profile zeta and bootstrap plots, on made-up tables with known answers and, when the
inference methods are there, on a real profile and bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from scipy import stats  # noqa: E402

from mixed_models import plotting  # noqa: E402
from mixed_models.errors import InvalidArgumentError, NotFoundError  # noqa: E402

Z95 = stats.norm.ppf(0.975)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _quadratic_profile() -> pd.DataFrame:
    """Two parameters whose deviance is exactly quadratic: zeta = (value - est) / se."""
    zeta = np.linspace(-3.5, 3.5, 15)
    return pd.concat([
        pd.DataFrame({"parameter": "beta", "zeta": zeta, "value": 2.0 + 0.5 * zeta}),
        pd.DataFrame({"parameter": "sigma", "zeta": zeta, "value": 1.0 + 0.1 * zeta}),
    ], ignore_index=True)


def _vertical_lines(ax) -> list[float]:
    return sorted(line.get_xdata()[0] for line in ax.lines
                  if len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2)


def test_profile_zeta_marks_the_profile_interval():
    ax = plotting.profile_zeta(_quadratic_profile(), "beta")
    assert _vertical_lines(ax) == pytest.approx([2.0 - 0.5 * Z95, 2.0 + 0.5 * Z95], abs=1e-3)
    assert ax.get_xlabel() == "beta" and ax.get_ylabel() == "zeta"
    trace = ax.lines[0]
    np.testing.assert_allclose(trace.get_ydata(), np.linspace(-3.5, 3.5, 15))
    ax90 = plotting.profile_zeta(_quadratic_profile(), "sigma", level=0.9)
    z90 = stats.norm.ppf(0.95)
    assert _vertical_lines(ax90) == pytest.approx([1.0 - 0.1 * z90, 1.0 + 0.1 * z90], abs=1e-3)


def test_profile_panel_has_one_axes_per_parameter():
    fig = plotting.profile_panel(_quadratic_profile(), columns=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["Profile: beta", "Profile: sigma"]


@pytest.mark.parametrize(("table", "kwargs", "error"), [
    (_quadratic_profile(), {"parameter": "nope"}, NotFoundError),
    (_quadratic_profile(), {"level": 0.0}, InvalidArgumentError),
    (pd.DataFrame({"zeta": [0.0]}), {}, InvalidArgumentError),
])
def test_profile_zeta_bad_arguments(table, kwargs, error):
    with pytest.raises(error):
        plotting.profile_zeta(table, **kwargs)


def test_bootstrap_distribution_marks_percentiles_and_estimate():
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"sigma": rng.normal(size=400), "x": rng.normal(size=400)})
    table.loc[3, "sigma"] = np.nan  # a failed replicate
    ax = plotting.bootstrap_distribution(table, "sigma", estimate=0.1)
    values = table["sigma"].dropna().to_numpy()
    want = sorted([*np.quantile(values, [0.025, 0.975]), 0.1])
    assert _vertical_lines(ax) == pytest.approx(want)
    assert sum(p.get_height() for p in ax.patches) == 399
    assert "399 replicates" in ax.get_title()
    with pytest.raises(NotFoundError, match="sigma, x"):
        plotting.bootstrap_distribution(table, "nope")


def test_real_profile_and_bootstrap(fitted):
    model = fitted("dyestuff_ml")
    if not (hasattr(model, "profile") and hasattr(model, "bootstrap")):
        pytest.skip("model.profile / model.bootstrap are not available in this version")
    profile = model.profile()
    fig = plotting.profile_panel(profile)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == profile["parameter"].nunique()
    replicates = model.bootstrap(20, seed=1, n_jobs=1, progress=False)
    ax = plotting.bootstrap_distribution(replicates, "sigma", estimate=model.sigma)
    assert sum(p.get_height() for p in ax.patches) == replicates["sigma"].notna().sum()
