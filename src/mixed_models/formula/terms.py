"""The parsed pieces of an lme4 formula, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term ``(expr | grouping)`` after nesting has been expanded.

    Attributes
    ----------
    expr
        The left-hand side of the bar, a formulaic right-hand-side formula such as
        ``"1 + Age"`` or ``"0 + Days"``. An intercept is implied unless removed.
    grouping
        Column names whose interaction defines the grouping factor: ``("g",)`` for
        ``(1 | g)``, ``("a", "b")`` for ``(1 | a:b)``.
    correlated
        False for a double bar ``(expr || g)``: every column of ``expr`` gets its own
        variance and no correlations are estimated.
    span
        (start, stop) offsets of the whole term in the formula string, for messages.
    expr_offset
        Offset of ``expr`` in the formula string.
    structure
        Covariance structure of the term's random effects (lme4 2.x's wrappers):
        ``"us"`` (unstructured, the default), ``"diag"`` (independent; also what a
        double bar means), ``"cs"`` (compound symmetry) or ``"ar1"`` (first-order
        autoregressive over the columns' order).
    homogeneous
        The wrapper's ``hom =`` argument: one SD for all columns (True), one per column
        (False) or the structure's default (None).
    double_bar
        Written ``(expr || g)`` without a wrapper. As in lme4, the design splits such a
        term by the terms of ``expr`` (the intercept and each term its own unstructured
        block: a factor's columns stay correlated); ``diag(expr | g)`` is fully diagonal.
    """

    expr: str
    grouping: tuple[str, ...]
    correlated: bool = True
    span: tuple[int, int] = (0, 0)
    expr_offset: int = 0
    structure: str = "us"
    homogeneous: bool | None = None
    double_bar: bool = False

    def __post_init__(self) -> None:
        # A double bar is the diag structure; keep the two fields consistent.
        if not self.correlated and self.structure == "us":
            object.__setattr__(self, "structure", "diag")
        if self.structure == "diag":
            object.__setattr__(self, "correlated", False)

    @property
    def group_name(self) -> str:
        """Name of the grouping factor as lme4 prints it (``a:b`` for an interaction)."""
        return ":".join(self.grouping)


@dataclass(frozen=True)
class OffsetTerm:
    """An ``offset(expr)`` term of the fixed part: ``expr`` is added to the offset.

    Attributes
    ----------
    expr
        The expression inside ``offset()``.
    expr_offset
        Offset of ``expr`` in the formula string.
    span
        (start, stop) offsets of the whole term in the formula string.
    """

    expr: str
    expr_offset: int
    span: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class ParsedFormula:
    """An lme4 formula split into its response, fixed part and random-effects terms.

    Attributes
    ----------
    formula
        The formula as written by the user.
    response
        The left-hand side of ``~`` (an expression formulaic can evaluate).
    fixed
        The fixed-effects right-hand side for formulaic. Random terms are blanked out
        with spaces so that offsets into it are offsets into the original right-hand
        side; ``fixed_offset`` converts them to offsets into ``formula``.
    fixed_offset
        Offset of the right-hand side within ``formula``.
    random
        The random-effects terms, nesting ``a/b`` already expanded to ``a`` and ``b:a``
        (lme4's expansion).
    offsets
        The ``offset()`` terms of the fixed part (blanked out of ``fixed``, like the
        random terms).
    """

    formula: str
    response: str
    fixed: str
    fixed_offset: int
    random: tuple[RandomTerm, ...]
    offsets: tuple[OffsetTerm, ...] = ()

    @property
    def response_offset(self) -> int:
        """Offset of the response within ``formula``."""
        return self.formula.index(self.response)

    def pieces(self) -> list[tuple[str, int]]:
        """The formula-language pieces with their offsets: the response, the fixed
        part (when not empty) and each bar's left side."""
        found = [(self.response, self.response_offset)]
        if self.fixed.strip():
            found.append((self.fixed, self.fixed_offset))
        found += [(t.expr, t.expr_offset) for t in self.random]
        return found

    @property
    def fixed_formula(self) -> str:
        """The fixed part as a compact formulaic formula (``"1"`` when empty)."""
        text = " ".join(self.fixed.split())
        return text if text else "1"
