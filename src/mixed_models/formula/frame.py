"""The Ruby gem's column-list specification of a model (``from_daru``) as a formula.

:func:`frame_formula` turns ``fixed_effects=["intercept", "x", ("x", "z")]``,
``random_effects=[["intercept", "x"]]``, ``grouping=["g"]`` into the equivalent lme4
formula, so that ``LMM.from_frame`` fits exactly the model ``LMM.from_formula`` fits.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence

import pandas as pd

from mixed_models.errors import DataError, DataTypeError

INTERCEPT, NO_INTERCEPT = "intercept", "no_intercept"
_PLAIN_NAME = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")
Effect = str | tuple[str, ...]


def frame_formula(response: str, fixed_effects: Sequence[Effect] | Effect,
                  random_effects: Sequence[Sequence[Effect] | Effect] | Effect,
                  grouping: Sequence[Effect] | Effect,
                  covariance: Sequence[str] | str | None = None) -> str:
    """The lme4 formula of the gem's ``from_daru`` specification.

    Parameters
    ----------
    response
        Name of the response column.
    fixed_effects
        Column names; ``"intercept"`` adds the intercept (it is not implied, as in the
        gem), ``"no_intercept"`` removes it; a tuple ``("a", "b")`` is the interaction
        ``a:b``. Non-numeric columns get treatment contrasts, as in formulas.
    random_effects
        One list of effects per grouping factor, same vocabulary as ``fixed_effects``;
        the effects of one list are correlated.
    grouping
        One grouping column per list of ``random_effects``; a tuple ``("a", "b")`` is
        the interaction of factors ``a:b`` (nesting).
    covariance
        Covariance structure of each term (``"us"``, ``"diag"``, ``"cs"``, ``"ar1"``),
        one for all terms or one per term; default ``"us"`` (the gem's).

    Examples
    --------
    >>> frame_formula("y", ["intercept", "x", ("x", "z")], [["intercept", "x"]], ["g"])
    'y ~ 1 + x + x:z + (1 + x | g)'
    """
    fixed = _as_list(fixed_effects, "fixed_effects")
    terms = [_term_list(t) for t in _as_list(random_effects, "random_effects")]
    groups = _as_list(grouping, "grouping")
    if len(terms) != len(groups):
        raise DataError(
            f"random_effects has {len(terms)} term(s) but grouping has {len(groups)} "
            f"factor(s); give one list of effects per grouping factor, e.g. "
            f"random_effects=[['intercept', 'x']], grouping=['g']")
    if not terms:
        raise DataError("random_effects is empty; a mixed model needs at least one "
                        "random-effects term, e.g. random_effects=[['intercept']], "
                        "grouping=['g']")
    structures = _structures(covariance, len(terms))
    bars = [_bar(term, group, structure)
            for term, group, structure in zip(terms, groups, structures)]
    return f"{_name(response, 'response')} ~ {_effects(fixed, 'fixed_effects')} + " \
        + " + ".join(bars)


def _as_list(value: object, what: str) -> list:
    if isinstance(value, (str, tuple)):
        return [value]
    if isinstance(value, Sequence) or isinstance(value, pd.Index):
        return list(value)
    raise DataTypeError(f"{what} must be a column name or a list of them, got "
                        f"{type(value).__name__}")


def _term_list(term: object) -> list[Effect]:
    if isinstance(term, tuple) and (INTERCEPT in term or NO_INTERCEPT in term):
        raise DataError(
            f"{term!r} is an interaction (a tuple), and 'intercept' cannot be part of one; "
            "write a random-effects term as a list, e.g. ['intercept', 'x']")
    return _as_list(term, "each random_effects term")


def _structures(covariance: Sequence[str] | str | None, n_terms: int) -> list[str]:
    if covariance is None:
        return ["us"] * n_terms
    chosen = [covariance] * n_terms if isinstance(covariance, str) else list(covariance)
    allowed = ("us", "diag", "cs", "ar1")
    if len(chosen) != n_terms or any(c not in allowed for c in chosen):
        raise DataError(f"covariance must be one of {allowed} or a list of them, one per "
                        f"random-effects term ({n_terms}); got {covariance!r}")
    return chosen


def _bar(term: list[Effect], group: Effect, structure: str) -> str:
    if not [e for e in term if e not in (INTERCEPT, NO_INTERCEPT)] and INTERCEPT not in term:
        raise DataError(f"the random-effects term {term!r} has no effect; give at least "
                        "'intercept' or a column name")
    bar = f"({_effects(term, 'random_effects')} | {_effect(group, 'grouping')})"
    return bar if structure == "us" else f"{structure}{bar}"


def _effects(effects: list[Effect], what: str) -> str:
    """``1 + x + a:b`` (or ``0 + ...``): the intercept is explicit, as in the gem."""
    named = [_effect(e, what) for e in effects if e not in (INTERCEPT, NO_INTERCEPT)]
    with_intercept = INTERCEPT in effects and NO_INTERCEPT not in effects
    return " + ".join(["1" if with_intercept else "0"] + named)


def _effect(effect: object, what: str) -> str:
    if isinstance(effect, tuple):
        if len(effect) < 2:
            raise DataError(f"an interaction in {what} needs two or more columns, got "
                            f"{effect!r}")
        return ":".join(_name(e, what) for e in effect)
    return _name(effect, what)


def _name(name: object, what: str) -> str:
    """A column name as formula text, quoted with backticks unless it is plain."""
    if not isinstance(name, str) or not name:
        raise DataTypeError(f"{what} must hold column names (text) or tuples of them, "
                            f"got {name!r}")
    if "`" in name:
        raise DataError(f"column name {name!r} in {what} contains a backtick, which a "
                        "formula cannot quote; rename the column")
    plain = _PLAIN_NAME.fullmatch(name) and not keyword.iskeyword(name)
    return name if plain else f"`{name}`"
