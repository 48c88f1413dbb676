"""Per-row results (fitted values, residuals, predictions) as pandas Series labelled by the
input frame's index, with missing rows dropped or padded with NaN."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from mixed_models import LMM, datasets

FORMULA = "Reaction ~ Days + (Days | Subject)"
MISSING = [3, 10, 57]  # positions of rows with a missing response or predictor


def _labels(kind: str, n: int) -> pd.Index:
    """A non-default index: text labels, a shuffled integer index, duplicated labels."""
    if kind == "text":
        return pd.Index([f"obs{i:03d}" for i in range(n)])
    if kind == "shuffled_int":
        return pd.Index(np.random.default_rng(7).permutation(n) + 1000)
    return pd.Index(np.arange(n) // 2)  # duplicated labels


@cache
def data(kind: str) -> pd.DataFrame:
    """sleepstudy in a shuffled row order, relabelled, with three incomplete rows."""
    sleep = datasets.load("sleepstudy")
    frame = sleep.iloc[np.random.default_rng(3).permutation(len(sleep))].copy()
    frame.index = _labels(kind, len(frame))
    frame.iloc[MISSING[:2], frame.columns.get_loc("Reaction")] = np.nan
    frame.iloc[MISSING[2:], frame.columns.get_loc("Days")] = np.nan
    return frame


@cache
def model(kind: str, na_action: str) -> LMM:
    return LMM.from_formula(FORMULA, data(kind), na_action=na_action)


@cache
def complete_fit() -> LMM:
    """The same model on the complete rows only, with a fresh 0..n-1 index."""
    frame = data("text")
    return LMM.from_formula(FORMULA, frame.dropna().reset_index(drop=True))


KINDS = ("text", "shuffled_int", "duplicated")
CASES = [(kind, na) for kind in KINDS for na in ("drop", "exclude")]


def _per_row(m: LMM) -> dict[str, pd.Series]:
    return {"fitted": m.fitted(), "population": m.fitted(with_ran_ef=False),
            "residuals": m.residuals, "predict": m.predict()}


@pytest.mark.parametrize("kind, na_action", CASES)
def test_per_row_values_carry_the_input_index(kind: str, na_action: str) -> None:
    frame = data(kind)
    kept = np.setdiff1d(np.arange(len(frame)), MISSING)
    want = frame.index if na_action == "exclude" else frame.index[kept]
    reference = _per_row(complete_fit())
    for name, got in _per_row(model(kind, na_action)).items():
        assert isinstance(got, pd.Series), name
        assert got.index.equals(want), name
        values = got.to_numpy()
        if na_action == "exclude":
            assert np.isnan(values[MISSING]).all(), name
            values = values[kept]
        assert not np.isnan(values).any(), name
        np.testing.assert_allclose(values, reference[name].to_numpy(), rtol=1e-7,
                                   atol=1e-7, err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_fitted_plus_residual_is_the_response_row_by_row(kind: str) -> None:
    m, frame = model(kind, "exclude"), data(kind)
    total = (m.fitted() + m.residuals) if kind != "duplicated" else \
        pd.Series(m.fitted().to_numpy() + m.residuals.to_numpy(), index=frame.index)
    np.testing.assert_allclose(total.to_numpy(), frame["Reaction"].where(
        frame["Days"].notna()).to_numpy(), rtol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_predictions_on_new_data_carry_its_index(kind: str) -> None:
    m, frame = model(kind, "drop"), data(kind)
    new = frame.iloc[[5, 3, 0, 57]]
    got = m.predict(new)
    assert isinstance(got, pd.Series) and got.index.equals(new.index)
    assert np.isnan(got.iloc[3]) and np.isfinite(got.iloc[:3]).all()
    kept = np.setdiff1d(np.arange(len(frame)), MISSING)
    np.testing.assert_allclose(got.iloc[[0, 2]].to_numpy(),
                               m.fitted().iloc[np.searchsorted(kept, [5, 0])].to_numpy(),
                               rtol=1e-10)
    table = m.predict_with_intervals()
    assert table.index.equals(m.fitted().index)


def test_polars_input_gives_pandas_series_numbered_by_row() -> None:
    pl = pytest.importorskip("polars")
    frame = data("text").reset_index(drop=True)
    m = LMM.from_formula(FORMULA, pl.from_pandas(frame), na_action="exclude")
    got = m.fitted()
    assert isinstance(got, pd.Series) and got.index.equals(pd.RangeIndex(len(frame)))
    np.testing.assert_allclose(got.to_numpy(), model("text", "exclude").fitted().to_numpy(),
                               rtol=1e-10)
    predicted = m.predict(pl.from_pandas(frame.head(4)))
    assert predicted.index.equals(pd.RangeIndex(4))
