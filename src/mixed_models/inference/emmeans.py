"""Estimated marginal means and their contrasts (R's emmeans) over a fitted-model record.

A marginal mean is ``l'beta`` for a row ``l`` of the reference grid averaged over the
factors not asked for (:mod:`mixed_models.inference.refgrid`); its SE and degrees of
freedom come from lmerTest's t test of that row (Satterthwaite or Kenward-Roger, whose
SE uses the adjusted covariance of beta). Contrasts are differences (or other weighted
sums) of the means within each ``by`` group, tested the same way and adjusted for
multiplicity per group (:mod:`mixed_models.inference.adjust`).

A non-pairwise family asked to be adjusted by Tukey is adjusted by Sidak, as emmeans
does. ``"mvt"`` uses the family's correlation from the same covariance of beta as its
SEs (Kenward-Roger's adjusted one with ``ddf="kenward-roger"``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mixed_models.errors import InvalidArgumentError, MixedModelsWarning
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.inference import emmeans_glmm as glmm
from mixed_models.inference.adjust import adjusted_p, check_adjust, critical_values
from mixed_models.inference.refgrid import Means, marginal_means

METHODS = ("pairwise", "trt.vs.ctrl")


def _tests(fit: FittedModel, linfct: np.ndarray, ddf: str) -> pd.DataFrame:
    """estimate, se, df of each row of ``linfct`` (t tests of lmerTest; Wald z for a GLMM)."""
    from mixed_models.inference.anova import contrast_t_test

    if fit.is_generalized:
        return glmm.wald_tests(fit, linfct)
    tests = [contrast_t_test(fit, row, ddf) for row in linfct]
    return pd.DataFrame({"estimate": [t.estimate for t in tests],
                         "se": [t.se for t in tests], "df": [t.df for t in tests]})


def _check(fit: FittedModel, ddf: str | None, level: float, type: str) -> str:
    from mixed_models.inference.anova import check_ddf

    if not (isinstance(level, float | int) and 0 < level < 1):
        raise InvalidArgumentError(f"level must be between 0 and 1, got {level!r}")
    glmm.check_type(type)
    if fit.is_generalized:
        return glmm.check_glmm_ddf(ddf)
    return check_ddf("satterthwaite" if ddf is None else ddf)


def emmeans(model: object, specs: str | Sequence[str], by: str | Sequence[str] | None = None,
            ddf: str | None = None, level: float = 0.95,
            at: Mapping[str, object] | None = None, type: str = "link") -> pd.DataFrame:
    """Estimated marginal means of ``specs`` (within ``by`` groups).

    Returns one row per mean: the variables' columns, then ``emmean, se, df, lower,
    upper`` (t intervals at ``level``). ``attrs["linfct"]`` holds the rows L with
    emmean = L beta. ``ddf`` (None: ``"satterthwaite"``) is a linear model's; a GLMM's
    means are asymptotic (``df = inf``, z intervals), and ``type="response"`` gives them
    on the response scale (``prob``, ``rate`` or ``response`` in place of ``emmean``;
    see :mod:`mixed_models.inference.emmeans_glmm`). A linear model's two scales agree.
    """
    fit = as_record(model)
    ddf = _check(fit, ddf, level, type)
    means = marginal_means(fit, specs, by, at)
    tests = _tests(fit, means.linfct, ddf)
    half = stats.t.ppf(0.5 + level / 2.0, tests["df"]) * tests["se"]
    table = means.labels.copy()
    table["emmean"] = tests["estimate"].to_numpy()
    table["se"] = tests["se"].to_numpy()
    table["df"] = tests["df"].to_numpy()
    table["lower"] = (tests["estimate"] - half).to_numpy()
    table["upper"] = (tests["estimate"] + half).to_numpy()
    table.attrs.update(linfct=means.linfct, ddf=ddf, level=level, type="link")
    if fit.is_generalized and type == "response":
        return glmm.to_response(fit, table)
    return table


def _label(labels: pd.DataFrame, i: int, names: list[str]) -> str:
    """A mean's label in a contrast: its levels; a covariate's value after its name
    (``Days4.5``), so that a minus sign is never part of a value."""
    return " ".join(_value(n, labels.iloc[i][n]) for n in names)


def _value(name: str, value: object) -> str:
    text = f"{float(value):g}" if isinstance(value, float | np.floating) else str(value)
    try:
        float(text)
    except ValueError:
        return text
    return f"{name}{text}"


def _weights(method: object, n: int) -> list[tuple[object, np.ndarray]]:
    """(label or pair of positions, weights over the n means of a group) of each contrast of ``method``."""
    if method == "pairwise":
        return [((i, j), np.eye(n)[i] - np.eye(n)[j])
                for i in range(n) for j in range(i + 1, n)]
    if method == "trt.vs.ctrl":
        return [((j, 0), np.eye(n)[j] - np.eye(n)[0]) for j in range(1, n)]
    if isinstance(method, Mapping):
        out = []
        for name, w in method.items():
            w = np.asarray(w, dtype=float)
            if w.shape != (n,):
                raise InvalidArgumentError(
                    f"contrast '{name}' has {w.size} weights; give one per mean ({n})")
            out.append((str(name), w))
        return out
    raise InvalidArgumentError(
        f"method must be one of {METHODS} or a dict of weights by name, got {method!r}")


def _groups(means: Means) -> list[np.ndarray]:
    """Row indices of each by group (all rows when there is no by)."""
    if not means.by:
        return [np.arange(len(means.labels))]
    keys = means.labels[means.by].astype(str).agg("\x1f".join, axis=1)
    return [np.flatnonzero(keys.to_numpy() == key) for key in dict.fromkeys(keys)]


def contrasts(model: object, specs: str | Sequence[str], method: object = "pairwise",
              adjust: str | None = None, by: str | Sequence[str] | None = None,
              ddf: str | None = None, level: float = 0.95,
              at: Mapping[str, object] | None = None, type: str = "link") -> pd.DataFrame:
    """Contrasts of the marginal means of ``specs`` within each ``by`` group.

    ``method``: ``"pairwise"`` (every difference, first minus later), ``"trt.vs.ctrl"``
    (each later mean minus the first) or a dict ``{label: weights}`` (one weight per
    mean of a group). ``adjust`` (default ``"tukey"`` for pairwise, ``"dunnettx"`` for
    trt.vs.ctrl, ``"none"`` otherwise), per by group: one of
    :data:`~mixed_models.inference.adjust.ADJUSTMENTS` (``"tukey"``, ``"dunnettx"``,
    ``"mvt"``, ``"scheffe"``, ``"sidak"``, ``"bonferroni"``, ``"holm"``, ``"hochberg"``,
    ``"hommel"``, ``"bh"``, ``"by"``, ``"none"``). Returns ``contrast`` (and the by columns), ``estimate, se, df, t_value,
    p_value, lower, upper`` (intervals adjusted as emmeans does). A GLMM's contrasts are
    differences on the link scale with z tests (``z_value``, ``df = inf``); with
    ``type="response"`` they are odds ratios (logit) or ratios (log), tested on the link
    scale (see :mod:`mixed_models.inference.emmeans_glmm`).
    """
    fit = as_record(model)
    ddf = _check(fit, ddf, level, type)
    if fit.is_generalized and type == "response":
        glmm.ratio_name(fit)
    means = marginal_means(fit, specs, by, at)
    names = [n for n in means.specs if n in means.labels.columns]
    default = {"pairwise": "tukey", "trt.vs.ctrl": "dunnettx"}
    adjust = check_adjust(adjust if adjust is not None else
                          (default.get(method, "none") if isinstance(method, str) else "none"))
    if adjust == "tukey" and method != "pairwise":
        warnings.warn("adjust='tukey' is only for the pairwise comparisons of one family of "
                      "means; using 'sidak'", MixedModelsWarning, stacklevel=3)
        adjust = "sidak"
    pieces = [_family(fit, means, rows, names, method, adjust, ddf, level)
              for rows in _groups(means)]
    table = pd.concat(pieces, ignore_index=True)
    if fit.is_generalized:
        table = table.rename(columns={"t_value": "z_value"})
        if type == "response":
            return glmm.contrasts_to_response(fit, table)
    return table


def _family(fit: FittedModel, means: Means, rows: np.ndarray, names: list[str],
            method: object, adjust: str, ddf: str, level: float) -> pd.DataFrame:
    weights = _weights(method, len(rows))
    labels = [key if isinstance(key, str) else
              f"{_label(means.labels, rows[key[0]], names)} - "
              f"{_label(means.labels, rows[key[1]], names)}" for key, _ in weights]
    linfct = np.array([w @ means.linfct[rows] for _, w in weights]).reshape(
        len(weights), means.linfct.shape[1])
    tests = _tests(fit, linfct, ddf)
    t = tests["estimate"] / tests["se"]
    table = pd.DataFrame({"contrast": labels})
    for name in means.by:
        table[name] = means.labels.iloc[rows[0]][name]
    table["estimate"] = tests["estimate"]
    table["se"] = tests["se"]
    table["df"] = tests["df"]
    table["t_value"] = t
    k = len(rows)
    corr = _correlation(fit, linfct, ddf) if adjust == "mvt" else None
    rank = _rank(linfct) if adjust == "scheffe" else None
    table["p_value"] = adjusted_p(t.to_numpy(), tests["df"].to_numpy(), adjust, k, corr, rank)
    crit = critical_values(tests["df"].to_numpy(), adjust, level, k, len(weights), corr, rank)
    table["lower"] = tests["estimate"] - crit * tests["se"]
    table["upper"] = tests["estimate"] + crit * tests["se"]
    table.attrs.update(adjust=adjust, ddf=ddf, level=level)
    return table


def _correlation(fit: FittedModel, linfct: np.ndarray, ddf: str) -> np.ndarray:
    """Correlation of the family's estimates L beta (the covariance of beta the t tests
    use: Kenward-Roger's adjusted one with that ddf)."""
    if ddf == "kenward-roger":
        from mixed_models.inference.kenward_roger import kenward_roger

        cov_beta = kenward_roger(fit).vcov_adjusted
    else:
        from mixed_models.fitted.results import fix_ef_cov

        cov_beta = fix_ef_cov(fit)
    cov = linfct @ cov_beta @ linfct.T
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def _rank(linfct: np.ndarray) -> int:
    """Scheffe's dimension: the rank of the family's contrasts of beta (rounded to 7
    significant digits first, so that sums of weights that cancel count as zero)."""
    from mixed_models.inference.contrasts import zapsmall

    return int(np.linalg.matrix_rank(zapsmall(linfct)))
