"""Every estimate of a fitted model as plain JSON-ready data (``mixed-models fit --json``).

Floats are written at full precision, so ``json.loads`` gives back exactly the numbers
of the Python API; NaN (and infinity) becomes null. The layout (keys below) is versioned by
``"format"``; new keys may be added within a version.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mixed_models.display.summary import summarize
from mixed_models.errors import ModelError
from mixed_models.fitted import results
from mixed_models.fitted.record import as_record

FORMAT = "mixed_models.fit/1"


def plain(value: Any) -> Any:
    """numpy and pandas values as JSON values (NaN and missing as None), recursively."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Index, pd.Series)):
        return [plain(v) for v in list(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if pd.isna(value):
        return None
    return str(value)


def table_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as a list of JSON-ready dicts."""
    return [plain(row) for row in table.to_dict(orient="records")]


def table_matrix(table: pd.DataFrame) -> dict[str, Any]:
    """A square labelled matrix as ``{"names": [...], "values": [[...]]}``."""
    return {"names": plain(table.index), "values": plain(table.to_numpy())}


def model_to_dict(model: object, ddf: str | None = None) -> dict[str, Any]:
    """Every estimate of ``model`` as a JSON-ready dict.

    Keys: ``format, formula, reml, criterion, deviance, log_likelihood, aic, bic,
    n_parameters, df_residual, n_obs, n_dropped, n_groups, theta, sigma, sigma2, fix_ef,
    fixed_effects`` (the ``fix_ef_summary`` table, ``test_method`` and rows),
    ``fix_ef_cov_mat, fixed_effects_corr, var_corr, ran_ef`` (conditional modes with
    conditional SDs), ``scaled_residuals, fitted, residuals, optimizer, singular,
    warnings``.
    """
    summary = summarize(model, ddf=ddf)
    fixed = summary.fixed_effects.rename_axis("name").reset_index()
    model = as_record(model)
    opt = model.optimization
    return plain({
        "format": FORMAT,
        "formula": model.formula,
        "reml": model.reml,
        "criterion": "REML" if model.reml else "deviance",
        "deviance": model.deviance,
        "log_likelihood": model.log_likelihood,
        "aic": model.aic,
        "bic": model.bic,
        "n_parameters": model.n_parameters,
        "df_residual": summary.df_residual,
        "n_obs": model.n_obs,
        "n_dropped": model.structure.n_dropped,
        "n_groups": model.structure.n_groups,
        "theta": model.theta,
        "sigma": model.sigma,
        "sigma2": model.sigma2,
        "fix_ef": results.fix_ef(model),
        "fixed_effects": {"test_method": summary.test_method, "rows": table_records(fixed)},
        "fix_ef_cov_mat": table_matrix(results.fix_ef_cov_mat(model)),
        "fixed_effects_corr": table_matrix(summary.fixed_effects_corr),
        "var_corr": table_records(results.var_corr(model)),
        "ran_ef": table_records(results.ran_ef_table(model)),
        "scaled_residuals": summary.scaled_residuals.to_dict(),
        "fitted": _per_row(results.fitted, model),
        "residuals": _per_row(results.residuals, model),
        "optimizer": {"optimizer": opt.optimizer, "evaluations": opt.evaluations,
                      "return_code": opt.return_code, "converged": summary.optimizer.converged},
        "singular": model.singular,
        "warnings": list(model.warnings),
    })


def _per_row(values: Any, model: Any) -> Any:
    """Per-row values, or None for a model fitted from streamed rows (they are written
    with ``write_rows``, or are a lazy dask series)."""
    try:
        out = values(model)
    except ModelError:
        return None
    return out if isinstance(out, np.ndarray) else None


def write_json(model: object, path: str | Path, ddf: str | None = None) -> Path:
    """Write :func:`model_to_dict` to ``path`` as strict JSON (atomically, see
    :func:`write_text_atomically`); returns the path."""
    text = json.dumps(model_to_dict(model, ddf), indent=1, allow_nan=False)
    return write_text_atomically(path, text + "\n")


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` so that it holds the old content or the new,
    never a part: a temporary file in the same folder, then :func:`os.replace`.

    A symbolic link at ``path`` is replaced by the file, not followed, so a link can
    never send the output onto another file. Parent folders are created; an existing
    file keeps its permissions, a new one gets those of the umask.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def _mode_for(path: Path) -> int:
    """Permissions of the file at ``path`` (not of a link's target), or the umask's."""
    try:
        return stat.S_IMODE(os.lstat(path).st_mode) if path.is_file() and \
            not path.is_symlink() else _default_mode()
    except OSError:
        return _default_mode()


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
