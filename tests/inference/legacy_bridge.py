"""A temporary bridge for the ecosystem tests: lets the not-yet-migrated inference
functions (which read a model's private ``_problem``, ``_estimates``, ``_design``) run on
a fitted-model record.

While the inference layer is being moved to records, the functions the ecosystem modules
call (``anova.contrast_t_test``, ``anova.contrast_f_test``, ``tests.fix_ef_summary``,
``lrt.check_same_data``, ``lrt.ml_fits``) fail on a record. :func:`install` wraps just
those, handing them an adapter with the old private attributes. Once the inference layer
takes records, ``install`` finds nothing to do and this module can be deleted.
"""

from __future__ import annotations

import functools
import importlib
import warnings
import weakref
from typing import Any

import mixed_models
from mixed_models.fitted import results as fitted_results
from mixed_models.fitted.fit import fit_problem
from mixed_models.fitted.record import FittedModel
from mixed_models.fitted.structure import FormulaStructure

_ADAPTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_INSTALLED = False


class Legacy:
    """A record seen through the private attributes the old inference code reads."""

    def __init__(self, record: FittedModel) -> None:
        self.record = record
        self._problem = record.problem
        self._estimates = record.estimates
        self._design = getattr(record.structure, "design", None)
        self._settings = record.settings

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if hasattr(self.record, name):
            return getattr(self.record, name)
        return getattr(fitted_results, name)(self.record)  # the old model's properties

    @classmethod
    def _fit(cls, problem, design, start, settings, control) -> Legacy:
        return cls(fit_problem(problem, FormulaStructure(design), control, start, settings))

    def _reemit(self, caught: list) -> None:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def adapter(value: object) -> object:
    """The Legacy adapter of a record (one per record, so caches survive)."""
    if not isinstance(value, FittedModel):
        return value
    if value not in _ADAPTERS:
        _ADAPTERS[value] = Legacy(value)
    return _ADAPTERS[value]


def _wrap(function):
    @functools.wraps(function)
    def call(*args, **kwargs):
        return function(*[adapter(a) for a in args], **kwargs)
    return call


def _needed() -> bool:
    satterthwaite = importlib.import_module("mixed_models.inference.satterthwaite")
    with open(satterthwaite.__file__) as handle:
        return "model._estimates" in handle.read()


def install() -> None:
    """Wrap the inference functions the ecosystem modules call, when they need it."""
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    if not hasattr(mixed_models, "results"):
        try:
            importlib.import_module("mixed_models.inference")
        except ImportError:
            mixed_models.results = fitted_results
    if not _needed():
        return
    anova, lrt, tests = (importlib.import_module(f"mixed_models.inference.{name}")
                         for name in ("anova", "lrt", "tests"))

    for module, names in ((anova, ("contrast_t_test", "contrast_f_test")),
                          (tests, ("fix_ef_summary",)),
                          (lrt, ("check_same_data", "ml_fits"))):
        for name in names:
            setattr(module, name, _wrap(getattr(module, name)))
