"""The exceptions and warnings raised by mixed_models.

Every exception derives from :class:`MixedModelsError` and from the builtin that fits
the problem (``ValueError``, ``KeyError``, ``TypeError``), so ``except ValueError``
works as a user would expect. Every warning derives from :class:`MixedModelsWarning`.
"""

from __future__ import annotations


class MixedModelsError(Exception):
    """Base class of every error raised by mixed_models."""


class FormulaError(MixedModelsError, ValueError):
    """A formula that cannot be parsed or does not describe a mixed model.

    Parameters
    ----------
    message
        What is wrong and what is allowed.
    formula
        The formula as the user wrote it.
    position
        Zero-based offset of the offending character, or None when the whole formula
        is at fault.
    """

    def __init__(self, message: str, formula: str | None = None, position: int | None = None):
        self.formula = formula
        self.position = position
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        if self.formula is None:
            return self.reason
        # one line, one character per position, so that the caret lines up
        shown = "".join(" " if ch.isspace() else ch for ch in self.formula)
        if self.position is None:
            return f"{self.reason}\n  in formula: {shown}"
        pointer = " " * (self.position + len("  in formula: ")) + "^"
        return (
            f"{self.reason} (at position {self.position})\n"
            f"  in formula: {shown}\n{pointer}"
        )


class NotFoundError(MixedModelsError, KeyError):
    """A name that does not exist (a data set, a fixed effect, a grouping factor...)."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class MissingColumnError(NotFoundError):
    """A column named in the formula (or as weights/offset) is not in the data."""


class DataError(MixedModelsError, ValueError):
    """Data that cannot be used for the requested model (wrong type, empty, infinite...)."""


class DataTypeError(MixedModelsError, TypeError):
    """An argument of the wrong type (e.g. data that is not a data frame)."""


class InvalidArgumentError(MixedModelsError, ValueError):
    """An argument whose value is not among those allowed (an option name, a setting)."""


class ModelError(MixedModelsError, ValueError):
    """A model that cannot be fitted as specified (e.g. too many random effects)."""


class NotFittedError(MixedModelsError, RuntimeError):
    """A quantity asked of a model before the optimum is known."""


class OptionalDependencyError(MixedModelsError, ImportError):
    """A feature needs an optional package that is not installed (e.g. matplotlib)."""


class ResourceError(MixedModelsError, MemoryError):
    """A model that needs more memory than is available or allowed (checked before the
    allocation is made)."""


class MixedModelsWarning(UserWarning):
    """Base class of every warning raised by mixed_models."""


class ConvergenceWarning(MixedModelsWarning):
    """The optimizer stopped without confirming the optimum."""


class SingularFitWarning(MixedModelsWarning):
    """A boundary fit: some random-effect variance is estimated as zero, or a correlation as +-1."""


class RankDeficiencyWarning(MixedModelsWarning):
    """The fixed-effects matrix is rank deficient; aliased columns were dropped."""


class DataWarning(MixedModelsWarning):
    """Something in the data deserves attention (rows dropped, badly scaled columns...)."""


class NonGaussianResponseWarning(MixedModelsWarning):
    """A linear mixed model of a response that looks binary or like counts (few distinct
    non-negative whole numbers): a generalized model (``GLMM``) is usually the right one."""


class RefitWarning(MixedModelsWarning):
    """A note that a model was refitted, e.g. a REML fit by ML for a likelihood ratio
    test (lme4's anova says "refitting model(s) with ML")."""


__all__ = [
    "ConvergenceWarning",
    "DataError",
    "DataTypeError",
    "DataWarning",
    "FormulaError",
    "InvalidArgumentError",
    "MissingColumnError",
    "MixedModelsError",
    "MixedModelsWarning",
    "ModelError",
    "NotFittedError",
    "NonGaussianResponseWarning",
    "NotFoundError",
    "OptionalDependencyError",
    "RankDeficiencyWarning",
    "RefitWarning",
    "ResourceError",
    "SingularFitWarning",
]
