"""The lme4 GLMM reference panel as core arrays: X, terms, response, family.

X is built by hand (treatment coding, levels in C byte order as lme4's export sorted
them), the terms from the grouping columns, in lme4's theta order (terms sorted by
number of levels, largest first).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mixed_models.core.covariance import CovarianceStructure
from mixed_models.core.crossprod import TermData
from mixed_models.core.glm.family import NegativeBinomial, make_family
from mixed_models.core.glm.pirls import GlmmProblem

FOLDER = Path(__file__).resolve().parents[2] / "data" / "reference_glmm"


@dataclass
class Case:
    id: str
    problem: GlmmProblem
    fit: dict
    n_agq: int
    levels: list[np.ndarray]

    @property
    def theta(self) -> np.ndarray:
        return np.array(self.fit["theta"], dtype=float)

    @property
    def beta(self) -> np.ndarray:
        return np.array([self.fit["beta"][k] for k in self.fit["beta_names"]], dtype=float)


def _scalar(value):
    return value[0] if isinstance(value, list) else value


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(FOLDER / "data" / f"{name}.csv", dtype=str)


def _dummies(col: pd.Series) -> np.ndarray:
    levels = sorted(col.unique())
    return np.column_stack([(col == lev).to_numpy(float) for lev in levels[1:]])


_LEVELS: dict[int, np.ndarray] = {}


def _term(col: pd.Series, z: np.ndarray | None = None) -> TermData:
    levels, codes = np.unique(col.to_numpy(), return_inverse=True)
    codes = codes.astype(np.intp)
    _LEVELS[id(codes)] = levels
    z = np.ones((len(col), 1)) if z is None else z
    cov = CovarianceStructure.unstructured(z.shape[1])
    return TermData(codes, z, len(levels), cov)


def _num(col: pd.Series) -> np.ndarray:
    return col.astype(float).to_numpy()


def _arrays(model_id: str, fit: dict):
    """X, terms, y, weights, offset, family of one model of the panel."""
    if model_id.startswith("cbpp"):
        d = _data("cbpp")
        x = np.column_stack([np.ones(len(d)), _dummies(d["period"])])
        inc, size = _num(d["incidence"]), _num(d["size"])
        terms = [_term(d["herd"])]
        if model_id == "cbpp_poisson_offset":
            return x, terms, inc, None, np.log(size), make_family("poisson")
        return x, terms, inc / size, size, None, make_family("binomial", _scalar(fit["link"]))
    if model_id.startswith("grouseticks"):
        d = _data("grouseticks_scaled")
        y = _num(d["TICKS"])
        if model_id == "grouseticks_nb":
            x = np.column_stack([np.ones(len(d)), _dummies(d["YEAR"])])
            shape = _scalar(fit["dispersion"]["value"])
            return x, [_term(d["LOCATION"])], y, None, None, NegativeBinomial(shape)
        x = np.column_stack([np.ones(len(d)), _dummies(d["YEAR"]), _num(d["sHEIGHT"])])
        terms = [_term(d["INDEX"]), _term(d["BROOD"]), _term(d["LOCATION"])]
        return x, terms, y, None, None, make_family("poisson")
    if model_id == "verbagg_binomial":
        d = _data("verbagg01")
        x = np.column_stack([np.ones(len(d)), _num(d["Anger"]), _dummies(d["Gender"]),
                             _dummies(d["btype"]), _dummies(d["situ"])])
        return x, [_term(d["id"]), _term(d["item"])], _num(d["r2"]), None, None, \
            make_family("binomial")
    if model_id == "contraception_binomial":
        d = _data("contraception")
        age = _num(d["age"])
        urban = _dummies(d["urban"])
        x = np.column_stack([np.ones(len(d)), age, age ** 2, urban, _dummies(d["livch"])])
        z = np.column_stack([np.ones(len(d)), urban])
        return x, [_term(d["district"], z)], _num(d["use"]), None, None, make_family("binomial")
    if model_id == "sleepstudy_gamma_log":
        d = _data("sleepstudy")
        days = _num(d["Days"])
        x = np.column_stack([np.ones(len(d)), days])
        z = np.column_stack([np.ones(len(d)), days])
        return x, [_term(d["Subject"], z)], _num(d["Reaction"]), None, None, \
            make_family("Gamma", "log")
    raise KeyError(model_id)


def case(model_id: str) -> Case:
    """One model of the panel with its lme4 fit."""
    fit = json.loads((FOLDER / "fits" / f"{model_id}.json").read_text())
    x, terms, y, weights, offset, family = _arrays(model_id, fit)
    problem = GlmmProblem(terms, x, y, family, weights=weights, offset=offset)
    levels = [_LEVELS[id(t.codes)] for t in terms]
    return Case(model_id, problem, fit, int(_scalar(fit["nAGQ"])), levels)


def reference_order(c: Case, k: int) -> np.ndarray:
    """Indices that put term k's levels in the order of the reference's ranef."""
    position = {str(v): i for i, v in enumerate(c.levels[k])}
    return np.array([position[str(v)] for v in c.fit["ranef"][k]["levels"]])
