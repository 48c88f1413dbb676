"""The JSON export of every estimate: strict JSON that reloads to the API's numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from mixed_models.display.export import FORMAT, model_to_dict, plain, write_json


def test_reloads_to_the_api_numbers(fitted, tmp_path):
    model = fitted("alien_reml")
    path = write_json(model, tmp_path / "out" / "fit.json")
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT
    assert data["fix_ef"] == model.fix_ef
    assert data["theta"] == model.theta.tolist()
    assert (data["sigma"], data["sigma2"], data["deviance"]) == \
        (model.sigma, model.sigma2, model.deviance)
    assert data["n_groups"] == model.n_groups and data["n_obs"] == model.n_obs
    assert data["fix_ef_cov_mat"]["values"] == model.fix_ef_cov_mat.to_numpy().tolist()
    table = model.fix_ef_summary(ddf="satterthwaite")  # the summary's default
    assert [r["name"] for r in data["fixed_effects"]["rows"]] == table.index.tolist()
    assert [r["sd"] for r in data["fixed_effects"]["rows"]] == table["sd"].tolist()
    ran = pd.DataFrame(data["ran_ef"])
    np.testing.assert_array_equal(ran["value"], model.ran_ef_table()["value"])
    # conditional SDs are recomputed by LAPACK on each call: equal to rounding
    np.testing.assert_allclose(ran["cond_sd"], model.ran_ef_table()["cond_sd"], rtol=1e-12)
    vc = model.var_corr()
    assert [r["vcov"] for r in data["var_corr"]] == vc["vcov"].tolist()
    assert data["fitted"] == model.fitted().tolist()
    assert data["residuals"] == model.residuals.tolist()


def test_missing_values_become_null(fitted):
    data = model_to_dict(fitted("alien_reml"))
    residual = data["var_corr"][-1]
    assert residual["group"] == "Residual" and residual["var1"] is None
    json.dumps(data, allow_nan=False)  # strict JSON


def test_plain():
    assert plain({"a": np.float64(1.5), 2: [np.int64(3), math.nan, None, pd.NA]}) == \
        {"a": 1.5, "2": [3, None, None, None]}
    assert plain(np.array([[1.0, math.inf]])) == [[1.0, None]]
    assert plain(pd.Timestamp("2020-01-01")) == "2020-01-01 00:00:00"
