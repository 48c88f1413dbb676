"""The mixed-models command with --family, --link and --n-agq: the glmer summary, JSON
that reloads to the GLMM API's numbers, and one-line refusals of the options that do not
go with a generalized model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_models import GLMM, cli, datasets
from mixed_models.fitted.glmm_fit import FAMILY_NAMES

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
TICKS = "TICKS ~ YEAR + (1 | BROOD)"


@pytest.fixture(scope="module")
def cbpp_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli_glmm") / "cbpp.csv"
    datasets.load("cbpp").to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def ticks_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli_glmm") / "ticks.csv"
    data = datasets.load("grouseticks")
    data["YEAR"] = data["YEAR"].astype(str)
    data.to_csv(path, index=False)
    return path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_family_choices_are_the_glmm_families():
    assert cli.FAMILY_CHOICES == ("gaussian", *FAMILY_NAMES)


@pytest.mark.parametrize("link, n_agq, approximation", [
    (None, None, "Laplace Approximation"),
    ("probit", "1", "Laplace Approximation"),
    (None, "9", "Adaptive Gauss-Hermite Quadrature"),
])
def test_binomial_fit_prints_the_glmer_summary_and_json_matches_the_api(
        tmp_path, capsys, cbpp_csv, link, n_agq, approximation):
    out_json = tmp_path / "fit.json"
    argv = ["fit", CBPP, "--data", cbpp_csv, "--family", "binomial", "--json", out_json]
    argv += [] if link is None else ["--link", link]
    argv += [] if n_agq is None else ["--n-agq", n_agq]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    assert approximation in out and "Family: binomial" in out
    assert "z value" in out and "Overdispersion: Pearson chi2" in out
    model = GLMM.from_formula(CBPP, pd.read_csv(cbpp_csv), family="binomial", link=link,
                              n_agq=1 if n_agq is None else int(n_agq))
    saved = json.loads(out_json.read_text())
    assert (saved["family"], saved["link"], saved["n_agq"]) == \
        ("binomial", model.link, model.n_agq)
    assert saved["deviance"] == pytest.approx(model.deviance, abs=1e-9)
    assert saved["fix_ef"] == pytest.approx(model.fix_ef, abs=1e-9)
    assert saved["theta"] == pytest.approx(model.theta.tolist(), abs=1e-9)
    np.testing.assert_allclose(saved["fitted"], model.fitted(), atol=1e-9)
    np.testing.assert_allclose(saved["residuals"], model.residuals_of("deviance"), atol=1e-9)
    assert saved["overdispersion"]["df"] == 53
    assert saved["overdispersion"]["ratio"] == pytest.approx(model.overdispersion().ratio)


def test_the_laplace_fit_reaches_lme4s_numbers(capsys, cbpp_csv):
    # lme4: glmer(cbind(incidence, size - incidence) ~ as.numeric(period) + (1 | herd),
    # cbpp, binomial) gives -2 log L 186.569; its period here is read from CSV as a number
    code, out, _ = _run(capsys, "fit", CBPP, "--data", cbpp_csv, "--family", "binomial",
                        "--json", "-")
    assert code == 0
    saved = json.loads(out)
    assert saved["deviance"] == pytest.approx(186.5693, abs=1e-3)
    assert saved["fix_ef"]["period"] == pytest.approx(-0.5594, abs=1e-3)


def test_poisson_json_on_standard_output(capsys, ticks_csv):
    code, out, err = _run(capsys, "fit", TICKS, "--data", ticks_csv, "--family", "poisson",
                          "--json", "-")
    assert code == 0, err
    saved = json.loads(out)  # only the JSON: no summary on standard output
    assert (saved["family"], saved["link"], saved["dispersion"]) == ("poisson", "log", 1.0)
    assert saved["n_obs"] == 403 and saved["n_groups"] == {"BROOD": 118}
    assert min(saved["fitted"]) > 0.0


def test_gaussian_family_is_the_linear_mixed_model(capsys, cbpp_csv):
    code, out, err = _run(capsys, "fit", "incidence ~ period + (1 | herd)", "--data",
                          cbpp_csv, "--family", "gaussian", "--ddf", "wald")
    assert code == 0, err
    assert "Linear mixed model" in out and "Family" not in out


@pytest.mark.parametrize("extra, message", [
    (["--family", "binomial", "--ddf", "satterthwaite"], "--ddf satterthwaite is for linear"),
    (["--family", "binomial", "--ddf", "kenward-roger"], "Wald z tests"),
    (["--link", "probit"], "--link probit needs --family"),
    (["--family", "gaussian", "--link", "log"], "--link log needs --family"),
    (["--n-agq", "9"], "--n-agq is for generalized models"),
    (["--family", "binomial", "--stream"], "cannot be fitted from streamed rows"),
    (["--family", "binomial", "--link", "sqrt"], "unknown link 'sqrt' for the binomial"),
    (["--family", "binomial", "--n-agq", "30"], "n_agq"),
])
def test_options_that_do_not_go_with_the_model_are_refused_on_one_line(
        capsys, cbpp_csv, extra, message):
    code, out, err = _run(capsys, "fit", CBPP, "--data", cbpp_csv, *extra)
    assert code == 1 and out == ""
    assert err.startswith("mixed-models: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_unknown_family_is_an_argparse_error(capsys, cbpp_csv):
    with pytest.raises(SystemExit) as exc:
        cli.main(["fit", CBPP, "--data", str(cbpp_csv), "--family", "binomal"])
    assert exc.value.code == 2
    assert "invalid choice: 'binomal'" in capsys.readouterr().err


def test_report_of_a_glmm(tmp_path, capsys, ticks_csv):
    pytest.importorskip("matplotlib")
    out_html = tmp_path / "ticks.html"
    code, out, err = _run(capsys, "fit", TICKS, "--data", ticks_csv, "--family", "poisson",
                          "--report", out_html)
    assert code == 0, err
    assert "Report written to" in err and "Family: poisson" in out
    text = out_html.read_text(encoding="utf-8")
    assert "Generalized linear mixed model report" in text
    assert 'data-table="residual-checks"' in text and "Uniform Q-Q plot" in text
