"""The two constructors of the Ruby gem besides the formula: column lists and raw matrices.

* :func:`frame_formula` turns the gem's ``from_daru`` arrays (``fixed_effects=["intercept",
  "x", ("x", "z")]``, ``random_effects=[["intercept", "x"]]``, ``grouping=["g"]``) into
  the equivalent lme4 formula, so that :meth:`LMM.from_frame` fits exactly the model
  :meth:`LMM.from_formula` fits.
* :func:`raw_problem` checks the matrices of the raw-matrix constructor
  (``LMM(x=, y=, zt=, lambdat=...)``) and builds the general numeric problem
  (:class:`~mixed_models.core.general.GeneralProblem`) with the names the model reports.
* ``raw_*`` functions build the tables of a raw-matrix model, which has no grouping
  factors: its random effects are just the columns of Z.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mixed_models.core.general import MAX_RANDOM_EFFECTS, GeneralProblem
from mixed_models.errors import DataError, DataTypeError, ModelError

if TYPE_CHECKING:
    from mixed_models.model import LMM

INTERCEPT, NO_INTERCEPT = "intercept", "no_intercept"
_PLAIN_NAME = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")
Effect = str | tuple[str, ...]

# --- from_frame: column lists -> formula --------------------------------------------


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


# --- the raw-matrix constructor -------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RawSpec:
    """What a raw-matrix model keeps besides its numeric problem.

    Attributes
    ----------
    x_col_names, z_col_names
        Names of the fixed effects and of the random effects (Z's columns).
    lambdat
        The user's function theta -> Lambda'.
    """

    x_col_names: list[str]
    z_col_names: list[str]
    lambdat: Callable[[np.ndarray], object]


def raw_problem(x: object, y: object, zt: object, lambdat: object, start_point: object, *,
                x_col_names: Sequence[str] | None = None,
                z_col_names: Sequence[str] | None = None, weights: object = None,
                offset: object = None, reml: bool = True, lower_bound: object = None,
                upper_bound: object = None, sigma: float | None = None,
                ) -> tuple[GeneralProblem, RawSpec]:
    """Check the matrices of a raw-matrix model and build its numeric problem."""
    xm, x_names = _matrix(x, "x")
    yv = _vector(y, "y", xm.shape[0])
    ztm = _zt(zt, xm.shape[0])
    if not callable(lambdat):
        raise DataTypeError(f"lambdat must be a function theta -> Lambda' (the transpose of "
                            f"the relative covariance factor), got {type(lambdat).__name__}")
    start = _vector(start_point, "start_point", None)
    bounds = [None if b is None else _vector(b, name, len(start))
              for b, name in ((lower_bound, "lower_bound"), (upper_bound, "upper_bound"))]
    _check_start(start, *bounds)
    w = None if weights is None else _vector(weights, "weights", len(yv))
    if w is not None and np.any(w <= 0):
        raise DataError(f"weights must be positive precisions; {int(np.sum(w <= 0))} are <= 0")
    off = _offset(offset, len(yv))
    check_sigma(sigma)
    _check_rank(xm)
    _check_lambdat(lambdat, start, ztm.shape[0])
    names = RawSpec(_names(x_col_names or x_names, "x", xm.shape[1]),
                    _names(z_col_names, "z", ztm.shape[0]), lambdat)
    problem = GeneralProblem(xm, yv, ztm, lambdat, start, bounds[0], bounds[1], w, off,
                             reml=reml, sigma=sigma)
    if not np.isfinite(problem.objective(start)):
        raise ModelError(f"the objective is not finite at start_point {start.tolist()}: "
                         "Lambda' Z'Z Lambda + I or X' V^-1 X is not positive definite there")
    return problem, names


def _matrix(x: object, what: str) -> tuple[np.ndarray, list[str] | None]:
    names = [str(c) for c in x.columns] if isinstance(x, pd.DataFrame) else None
    xm = x.toarray() if sp.issparse(x) else np.asarray(x, dtype=float)
    if xm.ndim == 1:
        xm = xm[:, None]
    if xm.ndim != 2 or xm.shape[0] == 0:
        raise DataError(f"{what} must be an n x p matrix, got shape {xm.shape}")
    if not np.all(np.isfinite(xm)):
        raise DataError(f"{what} has {int(np.sum(~np.isfinite(xm)))} missing or infinite "
                        "values; only finite numbers can be fitted")
    return xm, names


def _vector(v: object, what: str, n: int | None) -> np.ndarray:
    arr = np.asarray(v.toarray() if sp.issparse(v) else v, dtype=float)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1 or (n is not None and len(arr) != n) or len(arr) == 0:
        want = f"({n},)" if n is not None else "(k,) with k >= 1"
        raise DataError(f"{what} must be a vector of shape {want}, got shape {arr.shape}")
    if what not in ("lower_bound", "upper_bound") and not np.all(np.isfinite(arr)):
        raise DataError(f"{what} has missing or infinite values; only finite numbers "
                        "can be used")
    return arr


def _zt(zt: object, n: int) -> sp.csr_matrix:
    ztm = sp.csr_matrix(zt) if sp.issparse(zt) else sp.csr_matrix(np.asarray(zt, dtype=float))
    if ztm.shape[1] != n:
        hint = " (did you pass Z instead of its transpose?)" if ztm.shape[0] == n else ""
        raise DataError(f"zt must be q x n with n = {n} (the rows of x), got shape "
                        f"{ztm.shape}{hint}")
    if ztm.shape[0] > MAX_RANDOM_EFFECTS:
        raise ModelError(f"the model has {ztm.shape[0]} random effects; a raw-matrix model "
                         f"factors a dense matrix of that size per evaluation and is limited "
                         f"to {MAX_RANDOM_EFFECTS}. Use LMM.from_formula for grouped designs.")
    if not np.all(np.isfinite(ztm.data)):
        raise DataError("zt has missing or infinite values; only finite numbers can be fitted")
    return ztm


def _offset(offset: object, n: int) -> np.ndarray | None:
    if offset is None:
        return None
    if np.ndim(offset) == 0:
        value = float(offset)  # type: ignore[arg-type]
        return None if value == 0.0 else np.full(n, value)
    return _vector(offset, "offset", n)


def _check_start(start: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None) -> None:
    lo = np.full(len(start), -np.inf) if lower is None else lower
    hi = np.full(len(start), np.inf) if upper is None else upper
    outside = np.flatnonzero((start < lo) | (start > hi))
    if len(outside):
        i = outside[0]
        raise DataError(f"start_point[{i}] = {start[i]} is outside its bounds "
                        f"[{lo[i]}, {hi[i]}]; the optimizer must start inside them")


def _check_rank(x: np.ndarray) -> None:
    rank = np.linalg.matrix_rank(x)
    if rank < x.shape[1]:
        raise DataError(f"x has {x.shape[1]} columns but rank {rank}: some columns are linear "
                        "combinations of others. Drop them (the formula interface does this "
                        "for you)")


def _check_lambdat(lambdat: Callable, start: np.ndarray, q: int) -> None:
    value = lambdat(start.copy())
    shape = getattr(value, "shape", np.shape(value))
    if len(shape) != 2 or shape[1] != q or shape[0] == 0:
        raise DataError(f"lambdat(start_point) must return a k x q matrix with q = {q} (the "
                        f"rows of zt), usually q x q upper triangular; got shape {shape}")
    if shape[0] > MAX_RANDOM_EFFECTS:
        raise ModelError(f"lambdat returns {shape[0]} rows; the limit is {MAX_RANDOM_EFFECTS}")


def _names(names: Sequence[str] | None, prefix: str, count: int) -> list[str]:
    if names is None:
        return [f"{prefix}{i}" for i in range(count)]
    names = [str(n) for n in names]
    if len(names) != count or len(set(names)) != count:
        raise DataError(f"{prefix}_col_names must be {count} distinct names, got {len(names)}"
                        f" ({len(set(names))} distinct)")
    return names


# --- tables of a raw-matrix model -----------------------------------------------------


RAW_GROUP = "Z"


def raw_var_corr(model: LMM) -> pd.DataFrame:
    """Variance and SD of each random effect, then the residual (lme4's layout).

    The random effects of a raw-matrix model may all covary; their full covariance
    matrix is ``model.sigma_mat``. Only the variances are listed here.
    """
    lam = model._problem.factor.lambdas(model.theta)[0]
    variances = model.sigma2 * np.einsum("ik,ik->i", lam, lam)
    rows = [(RAW_GROUP, name, None, v, np.sqrt(v))
            for name, v in zip(model.ran_ef_names, variances)]
    rows.append(("Residual", None, None, model.sigma2, model.sigma))
    return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor"])


def raw_ran_ef_table(model: LMM) -> pd.DataFrame:
    """One row per random effect: value and conditional SD."""
    cond = model._problem.conditional_covariances(model.theta)[0][0]
    return pd.DataFrame({
        "group": RAW_GROUP, "level": model.ran_ef_names, "term": model.ran_ef_names,
        "value": model._estimates.b[0].ravel(),
        "cond_sd": np.sqrt(model.sigma2 * np.diag(cond)),
    })


def check_sigma(sigma: float | None) -> None:
    """A known residual SD must be a positive finite number (or None: estimate it)."""
    if sigma is None:
        return
    try:
        value = float(sigma)
    except (TypeError, ValueError):
        raise DataTypeError(f"sigma must be a number (the known residual SD), got "
                            f"{type(sigma).__name__}") from None
    if not (np.isfinite(value) and value > 0):
        raise DataError(f"sigma must be a positive number (the known residual SD), got {sigma}")
