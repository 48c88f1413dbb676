"""The lme4 formula language: bar terms parsed here, everything else through formulaic."""

from mixed_models.formula.parse import parse_formula
from mixed_models.formula.terms import ParsedFormula, RandomTerm

__all__ = ["ParsedFormula", "RandomTerm", "parse_formula"]
