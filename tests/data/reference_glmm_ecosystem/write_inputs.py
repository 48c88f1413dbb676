"""Write this library's beta and Wald covariance of the two reference GLMMs, which
make_glmm_ecosystem_reference.R puts into emmeans' reference grid (so that emmeans'
formulas are checked at the same estimates). Run from the repository root with
``PYTHONPATH=src python tests/data/reference_glmm_ecosystem/write_inputs.py``."""

import json
from pathlib import Path

import pandas as pd

from mixed_models import GLMM

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "reference_glmm" / "data"
MODELS = {
    "cbpp_binomial": ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp.csv",
                      "binomial", {"herd": str, "period": str}),
    "grouseticks_poisson": ("TICKS ~ YEAR + (1 | BROOD)", "grouseticks_scaled.csv", "poisson",
                            {"YEAR": str, "BROOD": str}),
}

for name, (formula, csv, family, dtypes) in MODELS.items():
    model = GLMM.from_formula(formula, pd.read_csv(DATA / csv, dtype=dtypes), family=family)
    out = {"beta": [float(b) for b in model.fix_ef.values()],
           "vcov": model.fix_ef_cov_mat.to_numpy().tolist()}
    (HERE / f"{name}_inputs.json").write_text(json.dumps(out, indent=1) + "\n")
