"""The lme4 formula language: bar terms parsed here, every other piece checked against a
whitelist (formula.safe) before formulaic evaluates a rendering of it."""

from mixed_models.formula.parse import parse_formula
from mixed_models.formula.terms import ParsedFormula, RandomTerm

__all__ = ["ParsedFormula", "RandomTerm", "parse_formula"]
