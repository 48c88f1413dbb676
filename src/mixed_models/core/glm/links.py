"""Link functions of generalized linear models, with R's numeric safeguards.

Each link maps the mean ``mu`` to the linear predictor ``eta`` and back, and gives
``dmu/deta``. The clamps at the extremes (eta beyond +-30 for the logit, mu kept off 0
and 1 by machine epsilon) are R's ``make.link`` and ``binomial()`` ones: the reference
fits are computed with them, and they keep the IRLS weights finite.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from scipy import special

_EPS = np.finfo(float).eps
_LOGIT_THRESH = 30.0
_PROBIT_THRESH = -float(special.ndtri(_EPS))
_CAUCHIT_THRESH = float(1.0 / np.tan(np.pi * _EPS))  # minus the Cauchy eps-quantile


class Link(ABC):
    """A link function: ``eta = link(mu)``, ``mu = inverse(eta)``, ``mu_eta = dmu/deta``."""

    name: str

    @abstractmethod
    def link(self, mu: np.ndarray) -> np.ndarray:
        """The linear predictor of a mean."""

    @abstractmethod
    def inverse(self, eta: np.ndarray) -> np.ndarray:
        """The mean of a linear predictor."""

    @abstractmethod
    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        """The derivative dmu/deta at eta."""

    def mu_eta_at(self, eta: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """dmu/deta at eta when mu = inverse(eta) is known (links override it to reuse mu)."""
        return self.mu_eta(eta)

    def mu_eta2(self, eta: np.ndarray) -> np.ndarray:
        """The second derivative d2mu/deta2 at eta (central differences of ``mu_eta``
        unless the link gives it in closed form)."""
        h = 1e-5 * np.maximum(1.0, np.abs(eta))
        return (self.mu_eta(eta + h) - self.mu_eta(eta - h)) / (2.0 * h)

    def valid_eta(self, eta: np.ndarray) -> bool:
        """True when every eta is in the link's domain."""
        return bool(np.all(np.isfinite(eta)))

    def __repr__(self) -> str:
        return f"Link({self.name!r})"


class Logit(Link):
    name = "logit"

    def link(self, mu):
        return special.logit(mu)

    def inverse(self, eta):
        # beyond +-30 R replaces exp(eta) by eps or 1/eps
        mu = special.expit(eta)
        mu = np.where(eta < -_LOGIT_THRESH, _EPS / (1.0 + _EPS), mu)
        return np.where(eta > _LOGIT_THRESH, 1.0 / (1.0 + _EPS), mu)

    def mu_eta(self, eta):
        e = np.exp(-np.abs(eta))
        out = e / (1.0 + e) ** 2
        return np.where(np.abs(eta) > _LOGIT_THRESH, _EPS, out)

    def mu_eta_at(self, eta, mu):
        return np.where(np.abs(eta) > _LOGIT_THRESH, _EPS, mu * (1.0 - mu))

    def mu_eta2(self, eta):
        mu = special.expit(eta)
        # R's clamp makes mu_eta constant beyond +-30
        return np.where(np.abs(eta) > _LOGIT_THRESH, 0.0, mu * (1.0 - mu) * (1.0 - 2.0 * mu))


class Probit(Link):
    name = "probit"

    def link(self, mu):
        return special.ndtri(mu)

    def inverse(self, eta):
        return special.ndtr(np.clip(eta, -_PROBIT_THRESH, _PROBIT_THRESH))

    def mu_eta(self, eta):
        return np.maximum(np.exp(-0.5 * eta * eta) / np.sqrt(2 * np.pi), _EPS)

    def mu_eta2(self, eta):
        dens = np.exp(-0.5 * eta * eta) / np.sqrt(2 * np.pi)
        return np.where(dens > _EPS, -eta * dens, 0.0)


class Cauchit(Link):
    name = "cauchit"

    def link(self, mu):
        return np.tan(np.pi * (mu - 0.5))

    def inverse(self, eta):
        return 0.5 + np.arctan(np.clip(eta, -_CAUCHIT_THRESH, _CAUCHIT_THRESH)) / np.pi

    def mu_eta(self, eta):
        return np.maximum(1.0 / (np.pi * (1.0 + eta * eta)), _EPS)

    def mu_eta2(self, eta):
        dens = 1.0 / (np.pi * (1.0 + eta * eta))
        return np.where(dens > _EPS, -2.0 * np.pi * eta * dens * dens, 0.0)


class CLogLog(Link):
    name = "cloglog"

    def link(self, mu):
        return np.log(-np.log1p(-mu))

    def inverse(self, eta):
        return np.clip(-np.expm1(-np.exp(eta)), _EPS, 1.0 - _EPS)

    def mu_eta(self, eta):
        eta = np.minimum(eta, 700.0)
        return np.maximum(np.exp(eta - np.exp(eta)), _EPS)

    def mu_eta2(self, eta):
        eta = np.minimum(eta, 700.0)
        dens = np.exp(eta - np.exp(eta))
        return np.where(dens > _EPS, dens * (1.0 - np.exp(eta)), 0.0)


class Log(Link):
    name = "log"

    def link(self, mu):
        return np.log(mu)

    def inverse(self, eta):
        return np.maximum(np.exp(eta), _EPS)

    def mu_eta(self, eta):
        return np.maximum(np.exp(eta), _EPS)

    def mu_eta_at(self, eta, mu):
        return mu

    def mu_eta2(self, eta):
        mu = np.exp(eta)
        return np.where(mu > _EPS, mu, 0.0)


class Identity(Link):
    name = "identity"

    def link(self, mu):
        return np.asarray(mu, dtype=float)

    def inverse(self, eta):
        return np.asarray(eta, dtype=float)

    def mu_eta(self, eta):
        return np.ones_like(eta, dtype=float)

    def mu_eta2(self, eta):
        return np.zeros_like(eta, dtype=float)


class Sqrt(Link):
    name = "sqrt"

    def link(self, mu):
        return np.sqrt(mu)

    def inverse(self, eta):
        return eta * eta

    def mu_eta(self, eta):
        return 2.0 * eta

    def valid_eta(self, eta):
        return bool(np.all(np.isfinite(eta)) and np.all(eta > 0))

    def mu_eta2(self, eta):
        return np.full_like(eta, 2.0, dtype=float)


class Inverse(Link):
    name = "inverse"

    def link(self, mu):
        return 1.0 / mu

    def inverse(self, eta):
        return 1.0 / eta

    def mu_eta(self, eta):
        return -1.0 / (eta * eta)

    def valid_eta(self, eta):
        return bool(np.all(np.isfinite(eta)) and np.all(eta != 0))

    def mu_eta2(self, eta):
        return 2.0 / eta ** 3


class InverseSquare(Link):
    name = "1/mu^2"

    def link(self, mu):
        return 1.0 / (mu * mu)

    def inverse(self, eta):
        return 1.0 / np.sqrt(eta)

    def mu_eta(self, eta):
        return -1.0 / (2.0 * eta ** 1.5)

    def valid_eta(self, eta):
        return bool(np.all(np.isfinite(eta)) and np.all(eta > 0))

    def mu_eta2(self, eta):
        return 0.75 / eta ** 2.5


LINKS: dict[str, type[Link]] = {
    cls.name: cls for cls in (Logit, Probit, Cauchit, CLogLog, Log, Identity, Sqrt, Inverse,
                              InverseSquare)
}


def make_link(name: str | Link) -> Link:
    """The link of a name (``"logit"``, ``"probit"``, ``"log"``...), or the link itself."""
    if isinstance(name, Link):
        return name
    if name not in LINKS:
        raise ValueError(f"unknown link {name!r}; use one of {sorted(LINKS)}")
    return LINKS[name]()
