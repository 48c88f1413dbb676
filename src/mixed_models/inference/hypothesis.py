"""General linear hypotheses L beta = rhs over a fitted-model record (lmerTest's
``contest``), given as a matrix or as equations in the fixed effects' names.

An equation is text such as ``"Species_lvl_Human = Species_lvl_Ood"`` or
``"2*Age - intercept = 0"``: names of fixed effects, numbers, ``+``, ``-``, ``*`` and
``=`` only (a chain ``a = b = 0`` is two rows). The text is tokenized and read by a
small parser; nothing in it is evaluated as code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mixed_models.errors import FormulaError, InvalidArgumentError
from mixed_models.fitted.record import FittedModel, as_record

TOKEN = re.compile(r"\s*(?:(?P<number>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
                   r"|(?P<name>[A-Za-z_][A-Za-z0-9_.:]*)|(?P<op>[-+*=]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FormulaError(f"cannot read the hypothesis {text!r} at position {pos}: "
                               f"{text[pos:pos + 10]!r}; use fixed-effect names, numbers, "
                               "+, -, * and =")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _side(tokens: list[tuple[str, str]], names: list[str], text: str
          ) -> tuple[np.ndarray, float]:
    """Coefficients and constant of one side: a sum of signed terms."""
    coef, const, i, sign = np.zeros(len(names)), 0.0, 0, 1.0
    if not tokens:
        raise FormulaError(f"the hypothesis {text!r} has an empty side of '='")
    expect_term = True
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "op" and value in "+-" and expect_term:
            sign = sign * (-1.0 if value == "-" else 1.0)
            i += 1
            continue
        if not expect_term:
            if kind != "op" or value not in "+-":
                raise FormulaError(f"expected + or - in the hypothesis {text!r}, got {value!r}")
            expect_term, sign = True, (-1.0 if value == "-" else 1.0)
            i += 1
            continue
        factor, name, i = _term(tokens, i, names, text)
        if name is None:
            const += sign * factor
        else:
            coef[names.index(name)] += sign * factor
        expect_term, sign = False, 1.0
    if expect_term:
        raise FormulaError(f"the hypothesis {text!r} ends with an operator")
    return coef, const


def _term(tokens: list[tuple[str, str]], i: int, names: list[str], text: str
          ) -> tuple[float, str | None, int]:
    """One term: number, name, number * name or name * number."""
    factor, name = 1.0, None
    for _ in range(2):
        kind, value = tokens[i]
        if kind == "number":
            factor *= float(value)
        elif kind == "name":
            if name is not None or value not in names:
                raise FormulaError(f"{value!r} in the hypothesis {text!r} is not a fixed "
                                   f"effect; they are {names}")
            name = value
        else:
            raise FormulaError(f"expected a name or a number in the hypothesis {text!r}, "
                               f"got {value!r}")
        i += 1
        if i < len(tokens) and tokens[i] == ("op", "*"):
            i += 1
            if i == len(tokens):
                raise FormulaError(f"the hypothesis {text!r} ends with '*'")
            continue
        break
    return factor, name, i


def parse_hypothesis(text: str, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows L and right-hand sides of one equation (a chain gives several rows)."""
    if not isinstance(text, str):
        raise InvalidArgumentError(f"a hypothesis must be text, got {text!r}")
    sides, current = [], []
    for token in _tokens(text):
        if token == ("op", "="):
            sides.append(current)
            current = []
        else:
            current.append(token)
    sides.append(current)
    if len(sides) < 2:
        raise FormulaError(f"the hypothesis {text!r} has no '='")
    parsed = [_side(side, names, text) for side in sides]
    rows = [a[0] - b[0] for a, b in zip(parsed, parsed[1:])]
    rhs = [b[1] - a[1] for a, b in zip(parsed, parsed[1:])]
    return np.array(rows), np.array(rhs)


def hypothesis_matrix(fit: FittedModel, hypothesis: object, rhs: object = 0.0
                      ) -> tuple[np.ndarray, np.ndarray, str]:
    """L, rhs and a label from equations or a matrix."""
    names = fit.fix_ef_names
    if isinstance(hypothesis, str) or (isinstance(hypothesis, Sequence) and hypothesis
                                       and all(isinstance(h, str) for h in hypothesis)):
        texts = [hypothesis] if isinstance(hypothesis, str) else list(hypothesis)
        parts = [parse_hypothesis(t, names) for t in texts]
        return (np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                " and ".join(texts))
    lmat = np.atleast_2d(np.asarray(hypothesis, dtype=float))
    if lmat.ndim != 2 or lmat.shape[1] != len(names):
        raise InvalidArgumentError(
            f"L must have one column per fixed effect ({len(names)}: {names}), got shape "
            f"{lmat.shape}")
    right = np.broadcast_to(np.asarray(rhs, dtype=float), (lmat.shape[0],)).copy()
    return lmat, right, "L beta = rhs"


def linear_hypothesis(model: object, hypothesis: object, rhs: object = 0.0,
                    ddf: str = "satterthwaite") -> pd.DataFrame:
    """F test of L beta = rhs: a one-row table ``F_value, num_df, den_df, p_value``
    indexed by the hypothesis. With a nonzero right-hand side the df are those of L beta
    (they do not depend on rhs) and F is ((L beta - rhs) / se)^2 for one row, the Wald
    quadratic form over q for several rows (Satterthwaite only). A GLMM's test is the
    Wald chi-square test (:func:`wald_chi2`), whatever ``ddf``."""
    from scipy import stats

    from mixed_models.inference.anova import check_ddf, contrast_f_test

    fit = as_record(model)
    if fit.is_generalized:
        return wald_chi2(fit, hypothesis, rhs)
    method = check_ddf(ddf)
    lmat, right, label = hypothesis_matrix(fit, hypothesis, rhs)
    result = contrast_f_test(fit, lmat, method)
    f_value = result.f_value
    if np.any(right != 0):
        f_value = _shifted_f(fit, lmat, right, method, result.num_df)
    p = float(stats.f.sf(f_value, result.num_df, result.den_df))
    return pd.DataFrame({"F_value": [f_value], "num_df": [result.num_df],
                         "den_df": [result.den_df], "p_value": [p]}, index=pd.Index([label]))



def _shifted_f(fit: FittedModel, lmat: np.ndarray, right: np.ndarray, method: str,
               q: int) -> float:
    """The F statistic of L beta = rhs for a nonzero rhs."""
    from mixed_models.fitted.results import fix_ef_cov
    from mixed_models.inference.anova import contrast_t_test

    if lmat.shape[0] == 1:
        t = contrast_t_test(fit, lmat[0], method)
        return float(((t.estimate - right[0]) / t.se) ** 2)
    if method != "satterthwaite":
        raise InvalidArgumentError("a nonzero right-hand side of several rows needs "
                                   f"ddf='satterthwaite', got {method!r}")
    diff = lmat @ fit.estimates.beta - right
    return float(diff @ np.linalg.pinv(lmat @ fix_ef_cov(fit) @ lmat.T) @ diff) / q


def wald_chi2(model: object, hypothesis: object, rhs: object = 0.0) -> pd.DataFrame:
    """Wald chi-square test of L beta = rhs (car's ``linearHypothesis`` of a glmer fit):
    a one-row table ``Chisq, df, p_value`` indexed by the hypothesis, with the quadratic
    form (L beta - rhs)' (L V L')^-1 (L beta - rhs) over the Wald covariance V of beta
    and df the rank of L."""
    from mixed_models.fitted.results import fix_ef_cov
    from mixed_models.inference.anova import wald_chisq

    fit = as_record(model)
    lmat, right, label = hypothesis_matrix(fit, hypothesis, rhs)
    diff = lmat @ fit.estimates.beta - right
    chisq, df, p_value = wald_chisq(diff, lmat @ fix_ef_cov(fit) @ lmat.T)
    return pd.DataFrame({"Chisq": [chisq], "df": [df], "p_value": [p_value]},
                        index=pd.Index([label]))
