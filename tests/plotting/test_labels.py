"""Names from the data are drawn as literal text (never as mathtext, which fails on an
unbalanced ``$\\frac{$``), and the plots' arguments are checked."""

from __future__ import annotations

import functools
import io
import warnings

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.cbook import is_math_text  # noqa: E402

from mixed_models import LMM, datasets, plotting  # noqa: E402
from mixed_models.errors import DataTypeError, InvalidArgumentError  # noqa: E402

NAMES = {
    "broken mathtext": "$\\frac{$",
    "mathtext pair": "$x^2$ and $y$",
    "escaped dollar": "cost \\$5 $",
    "newline": "two\nlines",
    "terminal escape": "esc\x1b[2J",
}
SHOWN = {  # what a reader sees
    "broken mathtext": "$\\frac{$",
    "mathtext pair": "$x^2$ and $y$",
    "escaped dollar": "cost \\$5 $",
    "newline": "two\\nlines",
    "terminal escape": "esc\\x1b[2J",
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@functools.lru_cache(maxsize=None)
def _labelled_model(name: str) -> LMM:
    sleep = datasets.load("sleepstudy")
    labels = {s: f"{name} {i}" for i, s in enumerate(sleep["Subject"].unique())}
    data = sleep.assign(Subject=sleep["Subject"].map(labels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LMM.from_formula("Reaction ~ Days + (1 | Subject)", data)


def _drawn(text_artist) -> str:
    """The string matplotlib draws for a Text (mathtext never used for these labels)."""
    text = text_artist.get_text()
    assert not is_math_text(text), text
    return text.replace("\\$", "$")


def _render(fig) -> None:
    fig.savefig(io.BytesIO(), format="png")


@pytest.mark.parametrize("kind", list(NAMES))
def test_level_labels_are_drawn_as_written(kind):
    model = _labelled_model(NAMES[kind])
    ax = plotting.caterpillar(model)
    _render(ax.figure)  # mathtext would raise here on "$\frac{$"
    shown = sorted(_drawn(t) for t in ax.get_yticklabels())
    assert shown == sorted(f"{SHOWN[kind]} {i}" for i in range(18))


@pytest.mark.parametrize("kind", list(NAMES))
def test_parameter_and_column_names_are_drawn_as_written(kind):
    name = NAMES[kind]
    profile = pd.DataFrame({"parameter": name, "zeta": np.linspace(-3, 3, 7),
                            "value": np.linspace(0.0, 1.0, 7)})
    ax = plotting.profile_zeta(profile)
    _render(ax.figure)
    assert _drawn(ax.xaxis.label) == SHOWN[kind]
    replicates = pd.DataFrame({name: np.random.default_rng(1).normal(size=50)})
    ax = plotting.bootstrap_distribution(replicates)
    _render(ax.figure)
    assert _drawn(ax.xaxis.label) == SHOWN[kind]
    assert SHOWN[kind] in _drawn(ax.title)


@pytest.mark.parametrize("call, error, shown", [
    (lambda m: plotting.qq_plot(m, ax="left"), DataTypeError, "'left'"),
    (lambda m: plotting.caterpillar(m, ax=plt.figure()), DataTypeError, "Figure"),
    (lambda m: plotting.diagnostic_panel(m, fig=plt.gca()), DataTypeError, "Axes"),
    (lambda m: plotting.residual_histogram(m, bins="many"), InvalidArgumentError, "'many'"),
    (lambda m: plotting.residual_histogram(m, bins=0), InvalidArgumentError, "0"),
    (lambda m: plotting.caterpillar(m, level="95%"), InvalidArgumentError, "'95%'"),
    (lambda m: plotting.profile_zeta([1, 2]), DataTypeError, "[1, 2]"),
    (lambda m: plotting.profile_panel(pd.DataFrame({"parameter": ["a"], "zeta": [0.0],
                                                    "value": [1.0]}), columns=0),
     InvalidArgumentError, "0"),
    (lambda m: plotting.bootstrap_distribution({"a": [1.0]}), DataTypeError, "dict"),
])
def test_bad_plot_arguments(call, error, shown):
    with pytest.raises(error) as info:
        call(_labelled_model("s"))
    assert shown in str(info.value)
