"""Prediction: new data through the design specs that built the fit's matrices, point
predictions, confidence and prediction intervals, conditional covariances."""

from mixed_models.prediction.condcov import cond_cov_ran_ef
from mixed_models.prediction.predict import predict, predict_with_intervals
from mixed_models.prediction.rows import NewRows, new_rows
from mixed_models.prediction.variance import joint_quadratic_form

__all__ = ["NewRows", "cond_cov_ran_ef", "joint_quadratic_form", "new_rows", "predict",
           "predict_with_intervals"]
