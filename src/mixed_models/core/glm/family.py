"""Response distributions of generalized linear mixed models.

A family gives the variance function, the deviance residuals and the full -2 log-density
(R's ``family()$aic``, binomial coefficients and ``log y!`` included), each with prior
weights. Conventions follow R's ``glm`` families because lme4's objective is built from
them: a binomial response is the proportion of successes with the number of trials as
prior weight; Gamma and inverse Gaussian estimate their dispersion as the mean deviance
inside the density term.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np
from scipy import special

from mixed_models.core.glm.links import Link, make_link
from mixed_models.errors import DataError

_LOG_2PI = np.log(2.0 * np.pi)


class Family(ABC):
    """A GLM family with its link.

    Parameters
    ----------
    link
        A :class:`Link` or its name; None takes the family's canonical link.
    """

    name: str
    canonical: str
    links: tuple[str, ...]
    has_dispersion = False

    def __init__(self, link: str | Link | None = None):
        self.link = make_link(self.canonical if link is None else link)
        if self.link.name not in self.links:
            raise ValueError(f"the {self.name} family takes the links {self.links}, "
                             f"not {self.link.name!r}")

    @property
    def is_canonical(self) -> bool:
        """True for the canonical link (Fisher and Newton weights then agree)."""
        return self.link.name == self.canonical

    @abstractmethod
    def variance(self, mu: np.ndarray) -> np.ndarray:
        """V(mu), the variance of a response with mean mu, up to the dispersion."""

    def variance_derivative(self, mu: np.ndarray) -> np.ndarray:
        """dV/dmu (central differences unless the family gives it in closed form)."""
        h = 1e-6 * np.maximum(1.0, np.abs(mu))
        return (self.variance(mu + h) - self.variance(mu - h)) / (2.0 * h)

    @abstractmethod
    def deviance_residuals(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """Unit deviances times prior weights (squared deviance residuals)."""

    @abstractmethod
    def m2_log_density(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> float:
        """-2 log f(y | mu) summed over the rows: R's ``family()$aic`` (no parameter count)."""

    @abstractmethod
    def starting_mu(self, y: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """A mean to start iterations from (R's ``mustart``)."""

    def valid_mu(self, mu: np.ndarray) -> bool:
        """True when every mean is inside the family's range."""
        return bool(np.all(np.isfinite(mu)))

    def check_response(self, y: np.ndarray, wt: np.ndarray) -> None:
        """Raise DataError unless y and the prior weights suit the family."""
        if not (np.all(np.isfinite(y)) and np.all(np.isfinite(wt))):
            raise DataError(f"the {self.name} response and weights must be finite")
        if np.any(wt < 0):
            raise DataError(f"prior weights must not be negative; the smallest is {wt.min()!r}")
        low, high, what = self.response_range
        bad = (y < low) | (y > high) if not self.open_low else (y <= low) | (y > high)
        if np.any(bad):
            first = y[np.argmax(bad)]
            raise DataError(f"the {self.name} family needs a response {what}; "
                            f"found {first!r} ({int(bad.sum())} such values)")

    response_range = (-np.inf, np.inf, "that is finite")
    open_low = False

    def deviance_function(self, y: np.ndarray, wt: np.ndarray) -> Callable[[np.ndarray], float]:
        """mu -> the sum of deviance residuals for this y and weights (families override it
        with the parts that do not depend on mu computed once)."""
        return lambda mu: float(np.sum(self.deviance_residuals(y, mu, wt)))

    def saturated_m2_log_density(self, y: np.ndarray, wt: np.ndarray) -> float:
        """-2 log f(y | mu = y): the density term of the saturated model."""
        return self.m2_log_density(y, y, wt)

    def irls_weights(self, eta: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """Fisher (expected-information) weights prior weight * mu_eta^2 / V(mu)."""
        d = self.link.mu_eta(eta)
        return wt * d * d / self.variance(mu)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(link={self.link.name!r})"


class Binomial(Family):
    """Binomial proportions; the prior weight is the number of trials."""

    name = "binomial"
    canonical = "logit"
    links = ("logit", "probit", "cloglog", "cauchit", "log")
    response_range = (0.0, 1.0, "between 0 and 1 (a proportion of successes)")

    def variance(self, mu):
        return mu * (1.0 - mu)

    def variance_derivative(self, mu):
        return 1.0 - 2.0 * mu

    def valid_mu(self, mu):
        return bool(mu.min() > 0 and mu.max() < 1)

    def deviance_residuals(self, y, mu, wt):
        return 2.0 * wt * (special.xlogy(y, y / mu)
                           + special.xlogy(1.0 - y, (1.0 - y) / (1.0 - mu)))

    def m2_log_density(self, y, mu, wt):
        # R: weights m = trials; rows of zero trials contribute nothing
        m = wt
        k = np.round(m * y)
        mr = np.round(m)
        logpmf = (special.gammaln(mr + 1) - special.gammaln(k + 1) - special.gammaln(mr - k + 1)
                  + special.xlogy(k, mu) + special.xlog1py(mr - k, -mu))
        scale = np.where(m > 0, wt / np.where(m > 0, m, 1.0), 0.0)
        return float(-2.0 * np.sum(scale * logpmf))

    def starting_mu(self, y, wt):
        return (wt * y + 0.5) / (wt + 1.0)

    def deviance_function(self, y, wt):
        wy, wn = wt * y, wt * (1.0 - y)
        const = 2.0 * float(np.sum(wt * (special.xlogy(y, y) + special.xlogy(1.0 - y, 1.0 - y))))
        return lambda mu: const - 2.0 * float(wy @ np.log(mu) + wn @ np.log1p(-mu))


class Poisson(Family):
    """Counts."""

    name = "poisson"
    canonical = "log"
    links = ("log", "sqrt", "identity")
    response_range = (0.0, np.inf, "of non-negative counts")

    def variance(self, mu):
        return mu

    def variance_derivative(self, mu):
        return np.ones_like(mu)

    def valid_mu(self, mu):
        # min and max are NaN when any mu is: the comparisons are then False
        return bool(mu.min() > 0 and mu.max() < np.inf)

    def deviance_residuals(self, y, mu, wt):
        return 2.0 * wt * (special.xlogy(y, y / np.where(y > 0, mu, 1.0)) - (y - mu))

    def m2_log_density(self, y, mu, wt):
        logpmf = special.xlogy(y, mu) - mu - special.gammaln(y + 1.0)
        return float(-2.0 * np.sum(wt * logpmf))

    def starting_mu(self, y, wt):
        return y + 0.1

    def deviance_function(self, y, wt):
        wy = wt * y
        const = 2.0 * float(np.sum(wt * (special.xlogy(y, y) - y)))
        return lambda mu: const - 2.0 * float(wy @ np.log(mu)) + 2.0 * float(wt @ mu)


class Gamma(Family):
    """Positive continuous responses with constant coefficient of variation."""

    name = "Gamma"
    canonical = "inverse"
    links = ("inverse", "log", "identity")
    has_dispersion = True
    response_range = (0.0, np.inf, "that is positive")
    open_low = True

    def variance(self, mu):
        return mu * mu

    def variance_derivative(self, mu):
        return 2.0 * mu

    def valid_mu(self, mu):
        # min and max are NaN when any mu is: the comparisons are then False
        return bool(mu.min() > 0 and mu.max() < np.inf)

    def deviance_residuals(self, y, mu, wt):
        ratio = np.where(y == 0, 1.0, y / mu)
        return -2.0 * wt * (np.log(ratio) - (y - mu) / mu)

    def m2_log_density(self, y, mu, wt):
        # R estimates the dispersion as the mean deviance and adds 2 for it
        disp = float(np.sum(self.deviance_residuals(y, mu, wt)) / np.sum(wt))
        shape = 1.0 / disp
        scale = mu * disp
        logpdf = (-special.gammaln(shape) - shape * np.log(scale)
                  + (shape - 1.0) * np.log(y) - y / scale)
        return float(-2.0 * np.sum(wt * logpdf) + 2.0)

    def saturated_m2_log_density(self, y, wt):
        raise ValueError("the Gamma family has no saturated density (its dispersion would be 0)")

    def starting_mu(self, y, wt):
        return np.asarray(y, dtype=float)


class InverseGaussian(Family):
    """Positive continuous responses with variance mu^3 times a dispersion."""

    name = "inverse.gaussian"
    canonical = "1/mu^2"
    links = ("1/mu^2", "inverse", "log", "identity")
    has_dispersion = True
    response_range = (0.0, np.inf, "that is positive")
    open_low = True

    def variance(self, mu):
        return mu ** 3

    def variance_derivative(self, mu):
        return 3.0 * mu * mu

    def valid_mu(self, mu):
        # min and max are NaN when any mu is: the comparisons are then False
        return bool(mu.min() > 0 and mu.max() < np.inf)

    def deviance_residuals(self, y, mu, wt):
        return wt * (y - mu) ** 2 / (y * mu * mu)

    def m2_log_density(self, y, mu, wt):
        total = float(np.sum(wt))
        disp = float(np.sum(self.deviance_residuals(y, mu, wt))) / total
        return total * (np.log(disp) + _LOG_2PI + 1.0) + 3.0 * float(np.sum(wt * np.log(y))) + 2.0

    def saturated_m2_log_density(self, y, wt):
        raise ValueError("the inverse Gaussian family has no saturated density")

    def starting_mu(self, y, wt):
        return np.asarray(y, dtype=float)


class NegativeBinomial(Family):
    """Counts with variance mu + mu^2 / shape, the shape (R's theta) given.

    Parameters
    ----------
    shape
        The negative binomial's shape (MASS's and lme4's ``theta``), positive.
    link
        Default ``"log"``.
    """

    name = "negative.binomial"
    canonical = "log"
    links = ("log", "sqrt", "identity")
    has_dispersion = True
    response_range = (0.0, np.inf, "of non-negative counts")

    def __init__(self, shape: float, link: str | Link | None = None):
        if not np.isfinite(shape) or shape <= 0:
            raise ValueError(f"the negative binomial shape must be positive, got {shape!r}")
        self.shape = float(shape)
        super().__init__(link)

    @property
    def is_canonical(self) -> bool:
        # the log link is not canonical for the negative binomial
        return False

    def variance(self, mu):
        return mu + mu * mu / self.shape

    def variance_derivative(self, mu):
        return 1.0 + 2.0 * mu / self.shape

    def valid_mu(self, mu):
        # min and max are NaN when any mu is: the comparisons are then False
        return bool(mu.min() > 0 and mu.max() < np.inf)

    def deviance_residuals(self, y, mu, wt):
        th = self.shape
        return 2.0 * wt * (special.xlogy(y, np.maximum(y, 1.0) / mu)
                           - (y + th) * np.log((y + th) / (mu + th)))

    def m2_log_density(self, y, mu, wt):
        th = self.shape
        term = ((y + th) * np.log(mu + th) - special.xlogy(y, mu) + special.gammaln(y + 1.0)
                - th * np.log(th) + special.gammaln(th) - special.gammaln(th + y))
        return float(2.0 * np.sum(wt * term))

    def starting_mu(self, y, wt):
        return y + (y == 0) / 6.0

    def __repr__(self) -> str:
        return f"NegativeBinomial(shape={self.shape!r}, link={self.link.name!r})"


FAMILIES: dict[str, type[Family]] = {
    "binomial": Binomial, "poisson": Poisson, "Gamma": Gamma, "gamma": Gamma,
    "inverse.gaussian": InverseGaussian, "inverse_gaussian": InverseGaussian,
}


def make_family(name: str | Family, link: str | Link | None = None) -> Family:
    """The family of a name (``"binomial"``, ``"poisson"``, ``"Gamma"``...) with a link.

    The negative binomial needs its shape: build it with :class:`NegativeBinomial`.
    """
    if isinstance(name, Family):
        return name
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; use one of {sorted(FAMILIES)} "
                         "or a NegativeBinomial(shape)")
    return FAMILIES[name](link)
