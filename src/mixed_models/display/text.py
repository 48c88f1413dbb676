"""Plain-text rendering of a fitted model, in the spirit of lme4's ``summary()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mixed_models.model import LMM


def render_text(model: LMM) -> str:
    """Fit criterion, random effects, group sizes and the fixed-effects table."""
    method = "REML" if model.reml else "maximum likelihood"
    criterion = "REML criterion" if model.reml else "deviance (-2 log-likelihood)"
    lines = [
        f"Linear mixed model fit by {method}",
        f"Formula: {model.formula}",
        f"{criterion} at convergence: {model.deviance:.4f}",
        f"AIC {model.aic:.4f}   BIC {model.bic:.4f}   log-likelihood {model.log_likelihood:.4f}",
        "",
        "Random effects:",
        _indent(_random_effects_table(model).to_string(index=False)),
        _group_line(model),
        "",
        "Fixed effects:",
        _indent(model.fix_ef_summary().to_string(float_format=lambda v: f"{v:.6g}")),
    ]
    if model.warnings:
        lines += ["", "Messages:"] + [f"  - {w}" for w in model.warnings]
    return "\n".join(lines)


def _random_effects_table(model: LMM) -> pd.DataFrame:
    vc = model.var_corr()
    variances = vc[vc["var2"].isna()]
    table = pd.DataFrame({
        "Groups": variances["group"].where(~variances["group"].duplicated(), ""),
        "Name": variances["var1"].fillna(""),
        "Variance": variances["vcov"].map(lambda v: f"{v:.6g}"),
        "Std.Dev.": variances["sdcor"].map(lambda v: f"{v:.6g}"),
    })
    corr = vc[vc["var2"].notna()]
    if len(corr):
        table["Corr"] = [_correlations(corr, g, n) for g, n in zip(variances["group"],
                                                                   variances["var1"])]
    return table


def _correlations(corr: pd.DataFrame, group: str, name: object) -> str:
    rows = corr[(corr["group"] == group) & (corr["var2"] == name)]
    return " ".join(f"{v:+.3f}" for v in rows["sdcor"] if np.isfinite(v))


def _group_line(model: LMM) -> str:
    groups = "; ".join(f"{g}, {n}" for g, n in model.n_groups.items())
    dropped = f" ({model.n_dropped} rows with missing values dropped)" if model.n_dropped else ""
    return f"Number of obs: {model.n_obs}{dropped}, groups: {groups}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
