"""Every bad input of docs/bad_inputs.md: the error class and the exact message.

The table in the docs is made from CASES by ``python tests/test_bad_inputs.py`` and a test
checks that it is up to date, so the documented messages are the real ones.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mixed_models import LMM, datasets, errors
from mixed_models.control import Control

DOC = Path(__file__).parents[1] / "docs" / "bad_inputs.md"


@dataclass(frozen=True)
class Case:
    what: str
    code: str
    error: type[Exception]


def alien():
    df = datasets.load("alien_species")
    df["id"] = np.arange(len(df))
    return df


F = "Aggression ~ Age + Species + (Age | Location)"
CASES = [
    Case("unknown column (a typo)", 'LMM.from_formula("Aggression ~ Agee + (1 | Location)", df)',
         errors.MissingColumnError),
    Case("unknown grouping column", 'LMM.from_formula("Aggression ~ Age + (1 | location)", df)',
         errors.MissingColumnError),
    Case("missing operator", 'LMM.from_formula("Aggression ~ Age Species + (1 | Location)", df)',
         errors.FormulaError),
    Case("bar outside parentheses", 'LMM.from_formula("Aggression ~ Age | Location", df)',
         errors.FormulaError),
    Case("unbalanced parenthesis", 'LMM.from_formula("Aggression ~ Age + (1 | Location", df)',
         errors.FormulaError),
    Case("no random effects", 'LMM.from_formula("Aggression ~ Age + Species", df)',
         errors.FormulaError),
    Case("no response", 'LMM.from_formula("~ Age + (1 | Location)", df)', errors.FormulaError),
    Case("grouping by an expression", 'LMM.from_formula("Aggression ~ Age + (1 | Location + '
         'Species)", df)', errors.FormulaError),
    Case("random term multiplied", 'LMM.from_formula("Aggression ~ Age * (1 | Location)", df)',
         errors.FormulaError),
    Case("same random effect twice", 'LMM.from_formula("Aggression ~ Age + (1 | Location) + '
         '(1 | Location)", df)', errors.FormulaError),
    Case("formula is not a string", "LMM.from_formula(42, df)", errors.FormulaError),
    Case("a '~' inside a random term", 'LMM.from_formula("Aggression ~ Age + (Age ~ 1 | '
         'Location)", df)', errors.FormulaError),
    Case("text response", 'LMM.from_formula("Species ~ Age + (1 | Location)", df)',
         errors.DataError),
    Case("data is not a data frame", 'LMM.from_formula(F, {"Aggression": [1.0]})',
         errors.DataTypeError),
    Case("one level per observation", 'LMM.from_formula("Aggression ~ Age + (1 | id)", df)',
         errors.ModelError),
    Case("a single level", 'LMM.from_formula(F, df[df.Location == "Earth"])', errors.ModelError),
    Case("more random effects than observations",
         'LMM.from_formula("Aggression ~ 1 + (Age + Species | Location)", df.head(12))',
         errors.ModelError),
    Case("every row has a missing value", 'LMM.from_formula(F, df.assign(Age=np.nan))',
         errors.DataError),
    Case("missing values with na_action='raise'",
         'LMM.from_formula(F, df.assign(Age=df.Age.where(df.index != 4)), na_action="raise")',
         errors.DataError),
    Case("unknown na_action", 'LMM.from_formula(F, df, na_action="omit")',
         errors.InvalidArgumentError),
    Case("infinite value", 'LMM.from_formula(F, df.assign(Age=df.Age.replace(39.88, np.inf)))',
         errors.DataError),
    Case("negative weights", 'LMM.from_formula(F, df, weights=np.r_[-1.0, np.ones(99)])',
         errors.DataError),
    Case("zero weights", 'LMM.from_formula(F, df, weights=np.r_[0.0, np.ones(99)])',
         errors.DataError),
    Case("zero-length weights", "LMM.from_formula(F, df, weights=[])", errors.DataError),
    Case("weights of the wrong length", "LMM.from_formula(F, df, weights=np.ones(50))",
         errors.DataError),
    Case("unknown weights column", 'LMM.from_formula(F, df, weights="w")',
         errors.MissingColumnError),
    Case("offset of the wrong length", "LMM.from_formula(F, df, offset=np.ones(99))",
         errors.DataError),
    Case("constant response", 'LMM.from_formula(F, df.assign(Aggression=3.0))',
         errors.DataError),
    Case("unknown check action", 'Control(check_singular="stop")', errors.InvalidArgumentError),
    Case("unknown optimizer", 'Control(optimizer="nelder-mead")', errors.InvalidArgumentError),
    Case("unknown data set", 'datasets.load("alien")', errors.NotFoundError),
    # design and prediction
    Case("a column name used twice",
         'LMM.from_formula(F, df.set_axis(["Aggression", "Age", "Species", "Location", '
         '"Age"], axis=1))', errors.DataError),
    Case("time differences as a predictor", 'LMM.from_formula("Aggression ~ t + (1 | '
         'Location)", df.assign(t=np.arange(100).astype("timedelta64[D]")))', errors.DataError),
    Case("dates as a predictor", 'LMM.from_formula("Aggression ~ t + (1 | Location)", '
         'df.assign(t=np.datetime64("2024-01-01") + np.arange(100)))', errors.DataError),
    Case("a random-effects column of zeros",
         'LMM.from_formula("Aggression ~ Age + (0 + z | Location)", df.assign(z=0.0))',
         errors.ModelError),
    Case("grouping values that print the same",
         'LMM.from_formula("Aggression ~ Age + (1 | g)", df.assign(g=[1, "1", 2, 3] * 25))',
         errors.DataError),
    Case("predicting at a level without rows in the fit",
         'LMM.from_formula(F, df).predict(df.assign(Species="Martian"))', errors.DataError),
    Case("new data of the wrong type",
         'LMM.from_formula(F, df).predict(df.assign(Age=df.Age.astype(str)))', errors.DataError),
    Case("with_ran_ef not a boolean", 'LMM.from_formula(F, df).predict(df, with_ran_ef="no")',
         errors.DataTypeError),
    Case("interval level not a number",
         'LMM.from_formula(F, df).predict_with_intervals(df, level="0.9")', errors.DataTypeError),
    Case("prediction weights not numbers", 'LMM.from_formula(F, df).predict_with_intervals('
         'df, type="prediction", weights=["a"] * 100)', errors.DataError),
]


def run(case: Case) -> Exception:
    namespace = {"LMM": LMM, "Control": Control, "datasets": datasets, "np": np,
                 "df": alien(), "F": F}
    with pytest.raises(case.error) as info:
        eval(case.code, namespace)  # noqa: S307 - the cases are this file's own strings
    return info.value


def first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0]


@pytest.mark.parametrize("case", CASES, ids=[c.what for c in CASES])
def test_bad_input_raises_a_library_error(case):
    exc = run(case)
    assert isinstance(exc, errors.MixedModelsError)
    assert isinstance(exc, (ValueError, TypeError, KeyError))


def test_docs_table_shows_the_real_messages():
    assert DOC.read_text() == render_doc(), "regenerate with: python tests/test_bad_inputs.py"


def test_formula_errors_point_at_the_offending_character():
    exc = run(CASES[2])
    lines = str(exc).splitlines()
    # formulaic marks the span 'Age Species'; the caret sits on its first character
    assert lines[1][lines[2].index("^"):].startswith("Age Species")


def render_doc() -> str:
    rows = []
    for case in CASES:
        exc = run(case)
        message = first_line(exc).replace("|", "\\|")
        code = case.code.replace("|", "\\|")
        rows.append(f"| {case.what} | `{code}` | `{type(exc).__name__}` | {message} |")
    return HEADER + "\n".join(rows) + "\n"


HEADER = """# Bad inputs and the errors they get

Every row was run by the test suite (`tests/test_bad_inputs.py`, which also regenerates
this page): the message is the first line of what the library raised. `df` is the bundled
`alien_species` data with a row-number column `id`, and `F` is
`"Aggression ~ Age + Species + (Age | Location)"`. Every error class derives from
`mixed_models.errors.MixedModelsError` and from the builtin that fits (`ValueError`,
`KeyError` or `TypeError`). Formula errors also print the formula with a caret under
the offending character.

| input | call | error | message |
|---|---|---|---|
"""


if __name__ == "__main__":
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render_doc())
    print(f"wrote {DOC}", file=sys.stderr)
    sys.exit(0)
