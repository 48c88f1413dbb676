"""The numeric core of generalized linear mixed models: arrays in, numbers out.

* :mod:`links`, :mod:`family` -- links and response distributions (R's conventions).
* :mod:`system`, :mod:`factor` -- weighted cross-products of [Z X] and the blocked
  Cholesky factor of Lambda' Z' W Z Lambda + I (extended by X) for changing weights.
* :mod:`pirls` -- :class:`GlmmProblem` and the conditional modes (PIRLS).
* :mod:`laplace`, :mod:`agq` -- lme4's Laplace and adaptive Gauss-Hermite objectives.
* :mod:`fit`, :mod:`confirm` -- the two-stage fit with its Newton confirmation.
* :mod:`nbinom` -- the negative binomial with its shape estimated.
* :mod:`modes` -- conditional modes and variances of the random effects.
"""

from mixed_models.core.glm.family import (  # noqa: F401
    Binomial, Family, Gamma, InverseGaussian, NegativeBinomial, Poisson, make_family,
)
from mixed_models.core.glm.fit import (  # noqa: F401
    GlmmFit, GlmmSettings, beta_covariance, beta_covariance_given_theta, fit_glmm,
)
from mixed_models.core.glm.links import Link, make_link  # noqa: F401
from mixed_models.core.glm.pirls import GlmmProblem, PirlsError, PirlsState, pirls  # noqa: F401
