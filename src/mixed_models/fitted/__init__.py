"""The fitted-model record and the functions that make it.

A :class:`FittedModel` is what a fit produced (problem, structure, estimates,
optimization summary, settings); :mod:`mixed_models.fitted.results` derives the gem's
values and tables from it. Everything above this layer takes a record.
"""

from mixed_models.fitted.fit import fit_formula, fit_problem, fit_raw, fit_recorded
from mixed_models.fitted.record import FittedModel, as_record
from mixed_models.fitted.structure import FormulaStructure, RawStructure, Structure

__all__ = ["FittedModel", "FormulaStructure", "RawStructure", "Structure", "fit_formula",
           "fit_problem", "fit_raw", "fit_recorded", "as_record"]
