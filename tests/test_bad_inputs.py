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
from mixed_models.core import memory

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
    # output and arguments
    Case("reml given as a string", 'LMM.from_formula(F, df, reml="False")',
         errors.DataTypeError),
    Case("control that is not a Control", 'LMM.from_formula(F, df, control="bobyqa")',
         errors.DataTypeError),
    Case("no objective evaluations allowed", "Control(max_evaluations=0)",
         errors.InvalidArgumentError),
    Case("negative convergence tolerance", "Control(convergence_tol=-1.0)",
         errors.InvalidArgumentError),
    Case("bootstrap seed that is not a number", 'LMM.from_formula(F, df).bootstrap(10, '
         'seed="abc")', errors.InvalidArgumentError),
    Case("bootstrap collector that is not a function", 'LMM.from_formula(F, df).bootstrap('
         '10, what_to_collect="fix_ef")', errors.DataTypeError),
    Case("confidence level that is not a number", 'LMM.from_formula(F, df).conf_int('
         'method="wald", level="95%")', errors.InvalidArgumentError),
    Case("simulation seed that is not an integer",
         "LMM.from_formula(F, df).simulate_new_response(seed=1.5)",
         errors.InvalidArgumentError),
    Case("with_ran_ef given as a string", 'LMM.from_formula(F, df).predict(df, '
         'with_ran_ef="no")', errors.DataTypeError),
    Case("profile alphamax out of range", "LMM.from_formula(F, df).profile(alphamax=2)",
         errors.InvalidArgumentError),
    Case("likelihood ratio of a model and something else",
         'LMM.likelihood_ratio(LMM.from_formula(F, df), "smaller model")',
         errors.DataTypeError),
    Case("refit to data that is not a data frame",
         "LMM.from_formula(F, df).refit(newdata=[1, 2])", errors.DataTypeError),
    # core
    Case("a dense block larger than the memory cap",
         'memory.limited(1e-7, LMM.from_formula, "Aggression ~ Age + (1 | Location) + '
         '(1 | Species)", df)', errors.ResourceError),
    # formulas
    Case("a method of a column", """LMM.from_formula("Aggression ~ I(Age.to_csv('out.csv')) + """
         """(1 | Location)", df)""", errors.FormulaError),
    Case("a double-underscore name", 'LMM.from_formula("Aggression ~ I(Age.__class__) + '
         '(1 | Location)", df)', errors.FormulaError),
    Case("a function outside the whitelist", 'LMM.from_formula("Aggression ~ np.log(Age) + '
         '(1 | Location)", df)', errors.FormulaError),
    Case("a subscript", 'LMM.from_formula("Aggression ~ I(Age[0]) + (1 | Location)", df)',
         errors.FormulaError),
    Case("a {...} block", 'LMM.from_formula("Aggression ~ {Age + 1} + (1 | Location)", df)',
         errors.FormulaError),
    Case("a non-ASCII look-alike letter", 'LMM.from_formula("Aggression ~ \uff4cog(Age) + '
         '(1 | Location)", df)', errors.FormulaError),
    Case("too many arguments", 'LMM.from_formula("Aggression ~ log(Age, 2) + (1 | Location)", '
         'df)', errors.FormulaError),
    Case("an unknown keyword argument", 'LMM.from_formula("Aggression ~ scale(Age, ddof=0) + '
         '(1 | Location)", df)', errors.FormulaError),
    Case("a string in arithmetic", """LMM.from_formula("Aggression ~ I(Age == 'x') + """
         """(1 | Location)", df)""", errors.FormulaError),
    Case("an unknown contrast", 'LMM.from_formula("Aggression ~ C(Species, contr.evil) + '
         '(1 | Location)", df)', errors.FormulaError),
    Case("a number as a term", 'LMM.from_formula("Aggression ~ 2 + Age + (1 | Location)", df)',
         errors.FormulaError),
    Case("a power that is not a whole number", 'LMM.from_formula("Aggression ~ (Age + '
         'Species)^Age + (1 | Location)", df)', errors.FormulaError),
    Case("'.' for all columns", 'LMM.from_formula("Aggression ~ . + (1 | Location)", df)',
         errors.FormulaError),
    Case("offset() in a product", 'LMM.from_formula("Aggression ~ Age * offset(Age) + '
         '(1 | Location)", df)', errors.FormulaError),
    Case("offset() in a random term", 'LMM.from_formula("Aggression ~ Age + (offset(Age) | '
         'Location)", df)', errors.FormulaError),
    Case("an offset that is not finite", 'LMM.from_formula("Aggression ~ Age + '
         'offset(log(Age - 1000)) + (1 | Location)", df)', errors.DataError),
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
    Case("prediction weights not numbers", 'LMM.from_formula(F, df).predict_with_intervals('
         'df, type="prediction", weights=["a"] * 100)', errors.DataError),
]


def run(case: Case) -> Exception:
    namespace = {"LMM": LMM, "Control": Control, "datasets": datasets, "np": np,
                 "df": alien(), "F": F, "memory": memory}
    with pytest.raises(case.error) as info:
        eval(case.code, namespace)  # noqa: S307 - the cases are this file's own strings
    return info.value


def first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0]


@pytest.mark.parametrize("case", CASES, ids=[c.what for c in CASES])
def test_bad_input_raises_a_library_error(case):
    exc = run(case)
    assert isinstance(exc, errors.MixedModelsError)
    assert isinstance(exc, (ValueError, TypeError, KeyError, MemoryError))


def test_docs_table_shows_the_real_messages():
    assert DOC.read_text() == render_doc(), "regenerate with: python tests/test_bad_inputs.py"


def test_formula_errors_point_at_the_offending_character():
    exc = run(CASES[2])
    lines = str(exc).splitlines()
    # the caret sits on the term that follows another without an operator
    assert lines[1][lines[2].index("^"):].startswith("Species")


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
`KeyError`, `TypeError`, or `MemoryError` for a model too large to fit). Formula errors
also print the formula with a caret under the offending character.

| input | call | error | message |
|---|---|---|---|
"""


if __name__ == "__main__":
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render_doc())
    print(f"wrote {DOC}", file=sys.stderr)
    sys.exit(0)
