"""Inference for fitted models: tests, degrees of freedom, intervals, profiles,
likelihood ratio tests and refits. The model's methods delegate here."""
