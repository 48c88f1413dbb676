"""The HTML report of a GLMM: the glmer summary, the residual checks (the KS test of the
simulated quantile residuals, the overdispersion statistic), GLMM residual plots (binned
residuals for binary data), caterpillars; self-contained and reproducible, and rendered
in headless Chromium like the LMM's report."""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from mixed_models import GLMM, datasets  # noqa: E402
from mixed_models.errors import InvalidArgumentError  # noqa: E402
from mixed_models.report import render_report, write_report  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_report import OUT, _png_size, _probe  # noqa: E402

TICKS = "TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION)"


@pytest.fixture(scope="module")
def ticks():
    return GLMM.from_formula(TICKS, datasets.load("grouseticks"), family="poisson")


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(25), 16)
    x = rng.normal(size=g.size)
    eta = 0.8 * x - 0.2 + rng.normal(0, 0.8, 25)[g]
    y = (rng.uniform(size=g.size) < 1 / (1 + np.exp(-eta))).astype(int)
    data = pd.DataFrame({"y": y, "x": x, "g": [f"g{i}" for i in g]})
    return GLMM.from_formula("y ~ x + (1 | g)", data, family="binomial")


@pytest.fixture(scope="module")
def ticks_report(ticks) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return write_report(ticks, OUT / "grouseticks_glmm_report.html")


def _captions(text: str) -> list[str]:
    return re.findall(r"<figcaption>([^<]*)</figcaption>", text)


def test_glmm_report_holds_the_glmer_summary_and_the_checks(ticks, ticks_report):
    text = ticks_report.read_text(encoding="utf-8")
    assert "<title>Generalized linear mixed model report</title>" in text
    summary_html = ticks.summary().to_html().split("</style>", 1)[1].strip()
    assert summary_html in text
    assert "z value" in text and "Family: poisson" in text
    checks = re.search(r'data-table="residual-checks".*?</table>', text, re.S).group(0)
    assert "Kolmogorov-Smirnov" in checks and "Overdispersion: Pearson chi2 671.3 on 399" in checks
    result = ticks.quantile_residuals(250, seed=20240601)  # the report's fixed seed
    assert f"{result.ks_statistic:.4g}"[:5] in checks


@pytest.mark.parametrize("which, plots", [
    ("ticks", ["Uniform Q-Q plot", "Simulated quantile residuals against",
               "Pearson residuals against the linear predictor"]),
    ("binary", ["Uniform Q-Q plot", "Simulated quantile residuals against",
                "Pearson residuals against the linear predictor", "Binned residuals"]),
])
def test_glmm_plots_fit_the_data(ticks, binary, which, plots):
    model = {"ticks": ticks, "binary": binary}[which]
    captions = _captions(render_report(model))
    diagnostics = [c for c in captions if not c.startswith("Conditional modes")]
    assert len(diagnostics) == len(plots)
    assert all(c.startswith(p) for c, p in zip(diagnostics, plots))
    assert len(captions) - len(diagnostics) == len(model.n_groups)


def test_glmm_report_is_self_contained_and_reproducible(ticks, ticks_report):
    text = ticks_report.read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" width="(\d+)" '
                        r'height="(\d+)"', text)
    assert len(images) == 3 + 2
    for data, width, height in images:
        assert _png_size(base64.b64decode(data)) == (int(width), int(height))
    assert render_report(ticks) == text  # the same simulations each time


def test_glmm_report_refuses_t_tests(binary):
    with pytest.raises(InvalidArgumentError, match="Wald z tests"):
        render_report(binary, ddf="satterthwaite")


def test_browser_loads_the_glmm_report(ticks_report, tmp_path):
    seen = _probe(ticks_report, tmp_path, 1280)
    assert seen["images"] == seen["loaded"] == 5
    tables = [t for t, _ in seen["tables"]]
    assert "residual-checks" in tables and "conditional-modes" in tables
    assert dict(seen["tables"])["residual-checks"] == 2
    phone = _probe(ticks_report, tmp_path, 390)
    assert phone["page"] <= phone["viewport"] == 390
