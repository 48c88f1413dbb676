"""The public model classes' shared vocabulary over a fitted-model record.

:class:`~mixed_models.api.base.FittedView` gives the gem's stored values and tables,
:class:`~mixed_models.api.methods.InferenceView` its tests, intervals, refits and
predictions; ``LMM`` (and the generalized models' class) add their constructors.
"""
