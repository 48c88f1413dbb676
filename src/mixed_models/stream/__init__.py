"""Fitting data bigger than memory: the rows are read in chunks and only summed.

The seam for the model layer is one function::

    problem, design = streamed_fit_inputs(parsed, source, weights=None, offset=None,
                                          na_action="drop", control=None, reml=True,
                                          sigma=None, batch_rows=1_000_000,
                                          progress=False)

``source`` is a path to a Parquet file or directory, a dask DataFrame (each partition
is summed on a worker of the current Dask client and the sums reduced in a tree), a
pandas DataFrame (cut into ``batch_rows`` slices), a list of frames, or a function
returning a fresh iterable of frames (the rows are read three times). ``weights`` and
``offset`` are column names (``offset`` may also be a number); ``offset()`` terms of the
formula add to it, as in memory.

Three passes: (1) kinds, levels and missing values (:mod:`.scan`); (2) column sums for
the rank test, the checks and the internal centring and scaling; (3) the cross-products
(:mod:`.accumulate`); ``progress`` shows a bar per pass (rows read, or partitions
of a dask frame; ``"auto"``, True or False as in :mod:`mixed_models.progress`).
``problem`` is a :class:`~mixed_models.core.accumulated.
AccumulatedProblem` with LmmProblem's interface (``optimize``, ``estimates``,
``objective``, ``conditional_covariances``, ``theta_to_internal``,
``result_to_original``, ``internal``...); it equals the in-memory problem of the same
data up to rounding. ``design`` is a :class:`StreamedDesign`, named like
:class:`~mixed_models.design.ModelDesign` where the fields exist: ``parsed``,
``fixed`` (a FixedDesign whose ``matrix`` is empty: names, dropped, kept, spec,
empty), ``random`` (RandomDesigns with the full ``levels``, ``keys``, ``columns``,
``covariance``, ``n_levels``; empty codes and z), ``n_obs``, ``n_dropped``,
``n_input``, ``weighted``, ``has_offset`` and the :class:`~.spec.StreamSpec` that
:func:`~mixed_models.stream.rows.fitted_rows` and :func:`~.rows.write_rows` use for
per-row results.

``na_action`` is ``"drop"``, ``"exclude"`` (fitted as ``"drop"``; per-row results from
:mod:`.rows` always have one entry per input row, NaN where a row was dropped) or
``"raise"``. Stateful transforms (``scale(x)``, ``poly(x, 2)``), boolean predictors and
weights or offsets given as arrays are refused with a message saying what to do.

What the model layer must do with the result: optimize ``problem`` as an LmmProblem
(``problem.internal`` and ``start_theta`` work unchanged); read names and levels from
``design``; use ``problem.response_sd`` where it reads ``numpy.std(problem.y)``; and not
read ``problem.x``, ``y``, ``weights``, ``offset`` or term codes (they are None or empty):
fitted values and residuals come from :func:`~.rows.write_rows` /
:func:`~.rows.fitted_rows` with ``design.spec``, ``design.fixed.kept``, beta and b.
``with_response`` (bootstrap, simulation) raises DataError.

Unstable: a new interface; names may change at integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from mixed_models.control import Control
from mixed_models.core.accumulated import AccumulatedProblem
from mixed_models.design.fixed import FixedDesign
from mixed_models.design.frame import NA_ACTIONS, predictor_columns, required_columns
from mixed_models.design.random import RandomDesign
from mixed_models.design.response import refuse_cbind
from mixed_models.errors import DataError, InvalidArgumentError
from mixed_models.formula.response import checked_pieces
from mixed_models.formula.terms import ParsedFormula
from mixed_models.progress import ProgressChoice
from mixed_models.stream.accumulate import PASS_LABELS, accumulate, check_groups
from mixed_models.stream.scan import ScanPlan, scan_chunk
from mixed_models.stream.sources import DEFAULT_BATCH_ROWS, RowSource, read_pass, row_source
from mixed_models.stream.spec import StreamSpec, build_spec

__all__ = ["streamed_fit_inputs", "StreamedDesign", "row_source", "RowSource"]


@dataclass(frozen=True, eq=False)
class StreamedDesign:
    """What a fitted model needs to know of streamed data (no rows).

    Attributes
    ----------
    parsed
        The parsed formula.
    fixed
        The fixed-effects columns (``matrix`` has no rows).
    random
        The random terms, largest first, with every level of the data.
    n_obs, n_input
        Rows fitted and rows read.
    weighted, has_offset
        Whether prior weights / an offset were used.
    spec
        How each chunk becomes arrays (for per-row results).
    na_action
        As given.
    """

    parsed: ParsedFormula
    fixed: FixedDesign
    random: list[RandomDesign]
    n_obs: int
    n_input: int
    weighted: bool
    has_offset: bool
    spec: StreamSpec
    na_action: str = "drop"

    @property
    def n_dropped(self) -> int:
        """Rows dropped for missing values."""
        return self.n_input - self.n_obs


def scan_plan(parsed: ParsedFormula, weights: object, offset: object) -> ScanPlan:
    """What the passes read, from the formula and the weights and offset arguments."""
    for what, value in (("weights", weights), ("offset", offset)):
        if value is not None and not isinstance(value, str):
            raise DataError(f"{what} of a streamed fit must be a column name, got "
                            f"{type(value).__name__}: values are read with the rows, so "
                            "add them to the data as a column")
    refuse_cbind(parsed)
    needed = required_columns(parsed)
    factors: set[str] = set()
    for piece in checked_pieces(parsed):
        factors |= set(piece.factor_columns)
    return ScanPlan(needed, sorted(predictor_columns(parsed) & set(needed)), factors,
                    list(dict.fromkeys(t.grouping for t in parsed.random)),
                    weights if isinstance(weights, str) else None,
                    offset if isinstance(offset, str) else None, parsed.formula)


def streamed_fit_inputs(parsed: ParsedFormula, source: object, weights: object = None,
                        offset: object = None, na_action: str = "drop",
                        control: Control | None = None, reml: bool = True,
                        sigma: float | None = None,
                        batch_rows: int = DEFAULT_BATCH_ROWS,
                        progress: ProgressChoice = False
                        ) -> tuple[AccumulatedProblem, StreamedDesign]:
    """The problem to optimize and the design of a streamed fit (module docstring)."""
    if na_action not in NA_ACTIONS:
        raise InvalidArgumentError(f"na_action must be one of {NA_ACTIONS}, got {na_action!r}")
    control = control or Control()
    rows = row_source(source, batch_rows)
    plan = scan_plan(parsed, weights, offset)
    scan = read_pass(rows, partial(scan_chunk, plan=plan), plan.columns, progress,
                     PASS_LABELS[0])
    if na_action == "raise" and scan.n_complete < scan.n_input:
        where = "" if scan.first_incomplete in (None, -1) else \
            f" (first at row {scan.first_incomplete})"
        raise DataError(f"{scan.n_input - scan.n_complete} row(s) have missing values in "
                        f"the model's columns{where}; pass na_action='drop' to drop them")
    spec = build_spec(parsed, plan, scan, rows.first_chunk(plan.columns))
    check_groups(spec, scan.n_complete, control)
    blocks, cols, _ = accumulate(rows, spec, control, reml, progress)
    problem = AccumulatedProblem(blocks, reml, sigma)
    names = [spec.x_names[i] for i in cols.kept]
    fixed = FixedDesign(np.zeros((0, len(names))), names, cols.dropped, cols.kept,
                        spec.x_spec, cols.empty)  # type: ignore[arg-type]
    has_offset = plan.offset is not None or bool(parsed.offsets)
    design = StreamedDesign(parsed, fixed, spec.random, scan.n_complete, scan.n_input,
                            plan.weights is not None, has_offset, spec, na_action)
    return problem, design
