"""The benchmark cases: formula, data, criterion, repeats and target time.

A case's ``kind`` says what is timed:

* ``lmm``: one linear mixed model fit from formula and data frame (``fit_one.py``);
* ``glmm``: one generalized fit from formula and data frame (``glmm.py``; ours shows
  ``-`` for a checkout without a ``GLMM`` class);
* ``bootstrap``: ``nsim`` parametric bootstrap replicates of a fitted model with
  ``processes`` worker processes (``bootstrap.py``);
* ``import`` and ``first_fit``: the cost of starting, in fresh processes (``startup.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parent / "_data"

# data sets shipped with the package, written to CSV as they are
BUNDLED = ("sleepstudy", "penicillin", "alien_species")


@dataclass(frozen=True)
class Case:
    """One model (or one start-up measurement) to time with every package.

    ``factors`` are the numeric-coded columns read as categorical (R's factor()).
    ``statsmodels`` is (fixed formula, groups, re_formula) when statsmodels' MixedLM can
    express the model (one grouping factor), else None. ``repeats`` fits are timed and
    the median reported; ``target`` is an issue's time target in seconds (None: the
    target is a ratio to the peers) and ``julia`` MixedModels.jl's published time (2018
    desktop) when there is one. ``family`` is the GLMM family; ``variants`` maps a
    package to (formula, prior-weights column) where it cannot take ``formula`` as
    written (mixedlm has no ``cbind()``). ``nsim`` is the bootstrap's replicates
    (``peer_nsim``: fewer for a slow peer, its time scaled to ``nsim``). ``best`` is the
    lowest objective known (the lme4 reference panel's best optimum), for comparing
    objectives when ours is missing. ``faster`` holds the performance issue's ratio
    targets: how many times faster than a peer ours should be (``{"mixedlm": 3.0}``);
    ``max_mb`` its bound on our peak memory.
    """

    id: str
    label: str
    formula: str
    data: str
    reml: bool
    factors: tuple[str, ...]
    repeats: int
    target: float | None
    julia: float | None = None
    statsmodels: tuple[str, str, str] | None = None
    kind: str = "lmm"
    family: str | None = None
    variants: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    nsim: int = 0
    processes: int = 1
    peer_nsim: dict[str, int] = field(default_factory=dict)
    best: float | None = None
    faster: dict[str, float] = field(default_factory=dict)
    max_mb: float | None = None

    def formula_for(self, package: str) -> tuple[str, str | None]:
        """The formula and prior-weights column this package is given."""
        return self.variants.get(package, (self.formula, None))


SLEEP = "Reaction ~ Days + (Days | Subject)"

CASES = [
    Case("sleepstudy", "sleepstudy (Days|Subject), REML, one fit",
         SLEEP, "sleepstudy", True, (), 25, 0.002, 0.0048,
         ("Reaction ~ Days", "Subject", "~Days"), faster={"mixedlm": 3.0}),
    Case("penicillin", "penicillin crossed (1|plate)+(1|sample), REML",
         "diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin", True, (), 25, None,
         faster={"mixedlm": 3.0}),
    Case("alien_species", "the gem's example (Age|Location), REML",
         "Aggression ~ Age + Species + (Age | Location)", "alien_species", True, (), 15,
         0.005),
    Case("insteval3", "InstEval service + (1|s)+(1|d)+(1|dept), ML",
         "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)", "insteval", False,
         ("s", "d", "dept", "service"), 3, 0.5, 2.0, faster={"mixedlm": 3.0}),
    Case("insteval_dept", "InstEval service*dept + (1|s)+(1|d), ML",
         "y ~ 1 + service * dept + (1 | s) + (1 | d)", "insteval", False,
         ("s", "d", "dept", "service"), 3, 0.5, 1.25, faster={"mixedlm": 2.0}),
    Case("ratings1m", "1,000,209 ratings, 6040 users x 3706 items, ML",
         "y ~ 1 + x + (1 | user) + (1 | item)", "ratings", False, ("user", "item"), 1, 8.0,
         36.7, faster={"mixedlm": 8.0}, max_mb=1500),
    Case("kb07", "kb07-like maximal (1+spkr+prec+load|subj)+(...|item), ML",
         "rt ~ 1 + spkr + prec + load + (1 + spkr + prec + load | subj)"
         " + (1 + spkr + prec + load | item)", "kb07", False, (), 3, 0.5, 3.5),
    Case("sleepstudy_boot", "sleepstudy, 1000 parametric bootstrap refits, 2 processes",
         SLEEP, "sleepstudy", True, (), 1, 1.0, kind="bootstrap", nsim=1000, processes=2,
         peer_nsim={"lme4": 200}, faster={"mixedlm": 10.0}),
    Case("cbpp_glmm", "cbpp binomial cbind(incidence, size - incidence), Laplace",
         "cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp", False,
         ("herd", "period"), 5, None, kind="glmm", family="binomial",
         variants={"mixedlm": ("prop ~ period + (1 | herd)", "size")},
         best=184.052563729514, faster={"lme4": 10.0, "mixedlm": 4.0}),
    Case("grouseticks_glmm", "grouseticks Poisson, three random intercepts, Laplace",
         "TICKS ~ YEAR + sHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
         "grouseticks_scaled", False, ("YEAR", "BROOD", "INDEX", "LOCATION"), 3, None,
         kind="glmm", family="poisson", best=1780.54266017479, faster={"lme4": 10.0, "mixedlm": 4.0}),
    Case("verbagg_glmm", "VerbAgg crossed binomial (1|id)+(1|item), 7584 rows, Laplace",
         "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", "verbagg01", False,
         ("id",), 2, None, kind="glmm", family="binomial", best=8151.39971974201, faster={"lme4": 10.0, "mixedlm": 4.0}),
    Case("import", "import time beyond pandas' (median of fresh processes)",
         "", "sleepstudy", True, (), 7, 0.15, kind="import"),
    Case("first_fit", "import and first sleepstudy fit in a fresh process, caches cold",
         SLEEP, "sleepstudy", True, (), 3, 2.0, statsmodels=("Reaction ~ Days", "Subject", "~Days"),
         kind="first_fit"),
]


def csv_path(name: str) -> Path:
    """Where the data set is written as CSV for every package (R reads it too)."""
    if name == "insteval":
        return ROOT / "tests" / "data" / "reference" / "insteval.csv"
    return DATA_DIR / f"{name}.csv"


def prepare(name: str) -> Path:
    """Write the data set once (bundled, derived or synthetic) and return its CSV path."""
    path = csv_path(name)
    if path.exists() or name == "insteval":
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if name in BUNDLED:
        from mixed_models import datasets
        frame = datasets.load(name)
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
