"""Polars frames in and tables out when pyarrow is not installed.

polars converts whole frames to pandas through pyarrow; the fit must not need it. The
check runs in a fresh interpreter in which importing pyarrow fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("polars")

SCRIPT = r"""
import json, sys
sys.modules["pyarrow"] = None  # importing pyarrow now raises ImportError
import polars as pl
from mixed_models import LMM, datasets

sleep = datasets.load("sleepstudy")
subject = [f"s{v}" for v in sleep["Subject"]]
frame = pl.DataFrame({"Reaction": sleep["Reaction"].to_numpy(),
                      "Days": sleep["Days"].to_numpy(), "S": subject})
frame = frame.with_columns(C=pl.col("S").cast(pl.Categorical),
                           E=pl.col("S").cast(pl.Enum(sorted(set(subject), reverse=True))),
                           F=pl.col("S").cast(pl.Categorical))
out = {"deviance": {}, "levels": {}}
for column in ("S", "C", "E"):
    model = LMM.from_formula(f"Reaction ~ Days + (Days | {column})", frame)
    out["deviance"][column] = model.deviance
    out["levels"][column] = list(model.ran_ef)[:2]
with_factor = LMM.from_formula("Reaction ~ F + (1 | S)", frame.head(40))
out["fixed"] = list(with_factor.fix_ef)
out["pandas_deviance"] = LMM.from_formula("Reaction ~ Days + (Days | S)",
                                          sleep.assign(S=subject)).deviance
tidy = model.tidy()
out["tidy"] = pl.DataFrame(tidy.to_dict("list")).shape
summary = pl.DataFrame(model.fix_ef_summary().reset_index().to_dict("list"))
out["summary"] = summary.columns[0], summary.shape
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def without_pyarrow() -> dict:
    src = Path(__file__).resolve().parents[1] / "src"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("column", ["S", "C", "E"])
def test_polars_fit_matches_the_pandas_fit(without_pyarrow, column):
    assert without_pyarrow["deviance"][column] == pytest.approx(
        without_pyarrow["pandas_deviance"], rel=1e-10)


@pytest.mark.parametrize("column, first", [
    ("S", "s308"),   # strings: sorted levels
    ("C", "s308"),   # categorical: order of first appearance
    ("E", "s372"),   # enum: declared order (here reversed)
])
def test_levels_keep_their_order(without_pyarrow, column, first):
    assert without_pyarrow["levels"][column][0].endswith(first)


def test_categorical_fixed_effect_uses_the_first_level_as_reference(without_pyarrow):
    assert without_pyarrow["fixed"][0] == "intercept"
    assert not any(name.endswith("s308") for name in without_pyarrow["fixed"])


def test_tables_convert_to_polars(without_pyarrow):
    assert without_pyarrow["tidy"] == [6, 8]
    assert without_pyarrow["summary"] == ["index", [2, 5]]
