"""From a parsed formula and a data frame to the matrices of a mixed model."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property, partial

import numpy as np

from mixed_models.control import Control
from mixed_models.design.checks import (
    check_exact_fit,
    check_finite,
    check_grouping,
    check_scale,
    check_weights,
)
from mixed_models.design.evaluation import offset_values
from mixed_models.design.fast import plan as fast_plan
from mixed_models.design.fixed import FixedDesign, fixed_design, response_vector
from mixed_models.design.frame import ModelFrame, model_frame
from mixed_models.design.random import RandomDesign, random_designs
from mixed_models.design.response import binomial_response, refuse_cbind
from mixed_models.formula.terms import ParsedFormula

__all__ = ["ModelDesign", "RandomDesign", "FixedDesign", "ModelFrame", "build_design"]


@dataclass(frozen=True, eq=False)
class ModelDesign:
    """Everything the model needs from the data, as arrays with their labels.

    Attributes
    ----------
    parsed
        The parsed formula.
    frame
        The complete rows of the model's columns; its ``weights`` are the prior weights
        as given.
    y
        The response; for a binomial model the proportion of successes of each row.
    fixed
        The fixed-effects matrix and its names.
    random
        One term per grouping factor, sorted by number of levels (largest first, as
        lme4 orders its terms; ties keep formula order).
    given_offset
        The ``offset=`` argument alone; ``offset`` adds the formula's ``offset()``
        terms to it. A refit that re-reads the formula passes this one.
    response_kind
        How the response was given: ``"numeric"`` (numbers; always for a linear model),
        or for a binomial model ``"logical"`` (booleans), ``"factor"`` (two levels) or
        ``"cbind"`` (``cbind(successes, failures)``).
    response_levels
        For a factor response, its (failure, success) levels; else None.
    trials
        For a ``cbind()`` response, the number of trials of each row; else None.
    """

    parsed: ParsedFormula
    frame: ModelFrame
    y: np.ndarray
    fixed: FixedDesign
    random: list[RandomDesign]
    given_offset: np.ndarray | None = None
    response_kind: str = "numeric"
    response_levels: tuple[str, str] | None = None
    trials: np.ndarray | None = None

    @cached_property
    def weights(self) -> np.ndarray | None:
        """Weights of the kept rows: the prior weights, times the numbers of trials of a
        ``cbind()`` response."""
        if self.trials is None:
            return self.frame.weights
        return self.trials if self.frame.weights is None else self.trials * self.frame.weights

    @property
    def prior_weights(self) -> np.ndarray | None:
        """The ``weights=`` argument on the kept rows (None when not given). A refit
        that re-reads the formula passes these."""
        return self.frame.weights

    @property
    def offset(self) -> np.ndarray | None:
        """Offset of the kept rows."""
        return self.frame.offset


def build_design(parsed: ParsedFormula, data: object, weights: object = None,
                 offset: object = None, na_action: str = "drop",
                 control: Control | None = None, fast: bool = True,
                 binomial: bool = False) -> ModelDesign:
    """Evaluate the formula on the data and check what the fit will need.

    With ``fast``, a formula of plain columns, factors and simple interactions is built
    with numpy (:mod:`.fast`; the same matrices as formulaic's); else, and for every
    other formula, by formulaic.

    With ``binomial``, the response may also be booleans, a two-level factor or
    ``cbind(successes, failures)``, and must be a proportion (see :mod:`.response`);
    without it, a ``cbind()`` response is refused (a ModelError).
    """
    control = control or Control()
    if not binomial:
        refuse_cbind(parsed)
    # the frame itself is selected only for the paths that read it: formulaic's, the
    # binomial response's, offset() terms (the fast path reads the columns)
    frame = model_frame(parsed, data, weights, offset, na_action,
                        select=binomial or not fast or bool(parsed.offsets))
    given = frame.offset
    in_formula = offset_values(parsed.offsets, frame.data, parsed.formula) \
        if parsed.offsets else None
    if in_formula is not None:  # offset(...) terms add to any offset= argument, as in R
        total = in_formula if frame.offset is None else frame.offset + in_formula
        frame = replace(frame, offset=total)
    check_finite(frame.columns, frame.weights, frame.offset, frame.rows)
    check_weights(frame.weights, frame.rows)
    made = fast_plan(parsed, frame, not binomial) if fast else None
    if binomial:
        response = binomial_response(parsed, frame.data, frame.weights, frame.rows)
        y = response.y
    else:
        y = made.y if made is not None and made.y is not None \
            else response_vector(parsed, frame.data)
    target = None if binomial else y if frame.offset is None else y - frame.offset
    table = frame.data if made is None else None  # the fast path's matrices read no frame
    fixed = fixed_design(parsed, table, control.check_rank_x, made and made.fixed, target)
    check_scale(fixed, control)
    random = random_designs(parsed, table, made and partial(made.bar, parsed),
                            frame.columns)
    random = sorted(random, key=lambda r: -r.n_levels)
    check_grouping(random, len(y), control)
    if not binomial:
        check_exact_fit(fixed, target, frame.offset is not None)
        return ModelDesign(parsed, frame, y, fixed, random, given)
    return ModelDesign(parsed, frame, y, fixed, random, given, response.kind,
                       response.levels, response.trials)
