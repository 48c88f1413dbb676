"""The benchmark cases of issue 7: formula, data, criterion, repeats and target time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parent / "_data"


@dataclass(frozen=True)
class Case:
    """One model to fit with every package.

    ``factors`` are the numeric-coded columns read as categorical (R's factor()).
    ``statsmodels`` is (fixed formula, groups, re_formula) when statsmodels' MixedLM can
    express the model (one grouping factor), else None. ``repeats`` fits are timed and
    the median reported; ``target`` is the issue's time target in seconds and
    ``julia`` MixedModels.jl's published time (2018 desktop) when there is one.
    """

    id: str
    label: str
    formula: str
    data: str
    reml: bool
    factors: tuple[str, ...]
    repeats: int
    target: float
    julia: float | None = None
    statsmodels: tuple[str, str, str] | None = None


CASES = [
    Case("sleepstudy", "sleepstudy (Days|Subject), REML, one fit",
         "Reaction ~ Days + (Days | Subject)", "sleepstudy", True, (), 25, 0.002, 0.0048,
         ("Reaction ~ Days", "Subject", "~Days")),
    Case("insteval3", "InstEval service + (1|s)+(1|d)+(1|dept), ML",
         "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)", "insteval", False,
         ("s", "d", "dept", "service"), 3, 0.5, 2.0),
    Case("insteval_dept", "InstEval service*dept + (1|s)+(1|d), ML",
         "y ~ 1 + service * dept + (1 | s) + (1 | d)", "insteval", False,
         ("s", "d", "dept", "service"), 3, 0.5, 1.25),
    Case("ratings1m", "1,000,209 ratings, 6040 users x 3706 items, ML",
         "y ~ 1 + x + (1 | user) + (1 | item)", "ratings", False, ("user", "item"), 1, 8.0,
         36.7),
    Case("kb07", "kb07-like maximal (1+spkr+prec+load|subj)+(...|item), ML",
         "rt ~ 1 + spkr + prec + load + (1 + spkr + prec + load | subj)"
         " + (1 + spkr + prec + load | item)", "kb07", False, (), 3, 1.0, 3.5),
]


def csv_path(name: str) -> Path:
    """Where the data set is written as CSV for every package (R reads it too)."""
    if name == "insteval":
        return ROOT / "tests" / "data" / "reference" / "insteval.csv"
    return DATA_DIR / f"{name}.csv"


def prepare(name: str) -> Path:
    """Write the synthetic data set once (fixed seed) and return its CSV path."""
    path = csv_path(name)
    if path.exists() or name == "insteval":
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if name == "sleepstudy":
        from mixed_models import datasets
        frame = datasets.load("sleepstudy")
    else:
        import data
        frame = getattr(data, name)()
    frame.to_csv(path, index=False)
    return path


def load(case: Case) -> pd.DataFrame:
    """The case's data, factor columns as pandas categoricals."""
    frame = pd.read_csv(csv_path(case.data))
    for column in case.factors:
        frame[column] = pd.Categorical(frame[column].astype(str))
    return frame
