"""The internal coordinates of a fit: centred and scaled columns of X and Z.

The profiled objective is badly conditioned when a column is far from zero (a covariate
``Days + 1000``: intercept and slope nearly collinear) or on an extreme scale
(``Days * 1e-8``: its slope's theta near 1e8); the optimizer then stops far from the
optimum. The model is the same in linear maps of the columns that the model family is
closed under, so the fit works in columns with mean 0 and spread 1 and maps its answers
back exactly:

* X -> X Tx (centre when there is an intercept column, then scale): beta = Tx beta_int,
  and the REML criterion's log|R_X|^2 term moves by 2 log|det Tx|, added back.
* Z_i -> Z_i T_i within a term: b = T_i b_int, so Sigma = T_i Sigma_int T_i'. Every
  pattern of lambda survives scaling its rows (T_i diagonal); an unstructured term
  survives any invertible T_i, so its columns are also centred when it has an
  intercept column, and lambda is re-triangularized (lme4's non-negative diagonal).
  cs and ar1 terms are left as they are (their parameters are not rows of lambda).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from mixed_models.core.covariance import PatternCovariance
from mixed_models.core.crossprod import TermData
from mixed_models.core.solve import Estimates

# A diagonal entry this far below its factor's largest entry is rounding of a zero.
_ROUNDING_ZERO = 1e-13
# The transform of a single column of ones (read only: it is shared).
_UNCHANGED = np.eye(1)
_UNCHANGED.flags.writeable = False


@dataclasses.dataclass(frozen=True, eq=False)
class TermMap:
    """Z_int = Z T for one term, with ``transform`` T (None: the identity)."""

    covariance: object
    transform: np.ndarray | None

    def to_internal(self, theta: np.ndarray) -> np.ndarray:
        """The term's internal theta for the original ``theta``."""
        if self.transform is None:
            return theta
        return self._map(theta, self._inverse, self._row_scales[1])

    def to_original(self, theta: np.ndarray) -> np.ndarray:
        """The term's original theta for the internal ``theta``."""
        if self.transform is None:
            return theta
        return self._map(theta, self.transform, self._row_scales[0])

    @functools.cached_property
    def _inverse(self) -> np.ndarray:
        return np.linalg.inv(self.transform)

    @functools.cached_property
    def _row_scales(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The diagonals of T and T^-1 at theta's rows when T is diagonal (else None):
        row scaling keeps every pattern, no re-triangularization needed."""
        if not _is_diagonal(self.transform):
            return None, None
        rows = self.covariance.rows
        return np.diag(self.transform)[rows], 1.0 / np.diag(self.transform)[rows]

    @functools.cached_property
    def _slope_pair(self) -> bool:
        """Whether the term is an unstructured pair of columns, theta (l11, l21, l22):
        the commonest term, mapped with scalars."""
        cov = self.covariance
        return cov.size == 2 and cov.rows.tolist() == [0, 1, 1] and cov.cols.tolist() == [0, 0, 1]

    def _map(self, theta: np.ndarray, t: np.ndarray, scales: np.ndarray | None
             ) -> np.ndarray:
        if scales is not None:
            return theta * scales
        if self._slope_pair:
            r, l21, l22 = _givens_2x2(*_times_lower(t, theta))[:3]
            return np.array([r, l21, l22])
        cov = self.covariance
        return triangular(t @ cov.lam(theta))[cov.rows, cov.cols]

    def rotation(self, theta_internal: np.ndarray) -> np.ndarray | None:
        """Q with T lam_int = lam_orig Q' (None when Q is the identity), so that the
        spherical effects map as u = Q u_int."""
        if self.transform is None or self._row_scales[0] is not None:
            return None
        if self._slope_pair:
            cs, sn, flip = _givens_2x2(*_times_lower(self.transform, theta_internal))[3:]
            return np.array([[cs, -sn * flip], [sn, cs * flip]])
        return triangular(self.transform @ self.covariance.lam(theta_internal),
                          rotation=True)[1]


def _times_lower(t: np.ndarray, theta: np.ndarray) -> tuple[float, float, float, float]:
    """The entries of T lam for the 2 x 2 lam of theta (l11, l21, l22)."""
    (t00, t01), (t10, t11) = t.tolist()
    a, b, c = theta.tolist()
    return t00 * a + t01 * b, t01 * c, t10 * a + t11 * b, t11 * c


def _is_diagonal(t: np.ndarray) -> bool:
    return not np.any(t - np.diag(np.diag(t)))


def triangular(m: np.ndarray, rotation: bool = False):
    """The lower-triangular L with L L' = M M' and a non-negative diagonal (and, with
    ``rotation``, the orthogonal Q with M = L Q'); entries of a row of L that are
    rounding next to the size of M's row are zeros, so a singular factor stays exactly
    singular (row i of L has the norm of row i of M)."""
    if m.shape == (2, 2):
        lower, q = _triangular_2x2(m)
        return (lower, q) if rotation else lower
    q, r = np.linalg.qr(m.T)
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    lower = r.T * signs
    q = q * signs
    row_size = np.linalg.norm(m, axis=1, keepdims=True)
    lower[np.abs(lower) <= _ROUNDING_ZERO * row_size] = 0.0
    return (lower, q) if rotation else lower


def _triangular_2x2(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`triangular` of a 2 x 2 matrix by one Givens rotation of its columns (the
    commonest term, a random intercept and slope, without LAPACK's call overhead)."""
    r, l21, l22, cs, sn, flip = _givens_2x2(*m.ravel().tolist())
    lower = np.array([[r, 0.0], [l21, l22]])
    q = np.array([[cs, -sn * flip], [sn, cs * flip]])
    return lower, q


def _givens_2x2(a: float, b: float, c: float, d: float
                ) -> tuple[float, float, float, float, float, float]:
    """For M = [[a, b], [c, d]]: L's entries (l11, l21, l22) and the rotation's
    (cos, sin, sign of the second column) of :func:`_triangular_2x2`."""
    r = math.hypot(a, b)
    cs, sn = (a / r, b / r) if r > 0.0 else (1.0, 0.0)
    l21, l22 = cs * c + sn * d, cs * d - sn * c
    flip = -1.0 if l22 < 0.0 else 1.0
    second = math.hypot(c, d)  # triangular()'s rounding-to-zero rule for the second row
    l21 = 0.0 if abs(l21) <= _ROUNDING_ZERO * second else l21
    l22 = 0.0 if abs(l22) <= _ROUNDING_ZERO * second else flip * l22
    return r, l21, l22, cs, sn, flip


@dataclasses.dataclass(frozen=True, eq=False)
class Reparametrization:
    """The linear maps between the original and the internal columns of one model.

    Attributes
    ----------
    x_transform
        Tx (p x p) with X_int = X Tx.
    terms
        One :class:`TermMap` per random-effects term, in the terms' order.
    reml_shift
        What the REML criterion in original columns exceeds the internal one by
        (-2 log|det Tx|); 0 for ML.
    """

    x_transform: np.ndarray
    terms: list[TermMap]
    reml_shift: float

    @property
    def is_identity(self) -> bool:
        """True when the internal columns are the original ones."""
        return all(t.transform is None for t in self.terms) and (
            self.x_transform is _UNCHANGED
            or not np.any(self.x_transform - np.eye(len(self.x_transform))))

    def theta_to_internal(self, theta: np.ndarray, slices: list[slice]) -> np.ndarray:
        """Original theta -> internal theta."""
        theta = np.asarray(theta, dtype=float)
        return np.concatenate([m.to_internal(theta[s]) for m, s in zip(self.terms, slices)]) \
            if slices else theta

    def theta_to_original(self, theta: np.ndarray, slices: list[slice]) -> np.ndarray:
        """Internal theta -> original theta."""
        theta = np.asarray(theta, dtype=float)
        return np.concatenate([m.to_original(theta[s]) for m, s in zip(self.terms, slices)]) \
            if slices else theta

    def estimates_to_original(self, est: Estimates, theta_internal: np.ndarray,
                              slices: list[slice]) -> Estimates:
        """Estimates in internal columns -> the same estimates in the original ones."""
        tx = self.x_transform
        b = [bi if m.transform is None else bi @ m.transform.T
             for m, bi in zip(self.terms, est.b)]
        u = []
        for m, ui, s in zip(self.terms, est.u, slices):
            q = m.rotation(theta_internal[s])
            u.append(ui if q is None else ui @ q)
        return Estimates(tx @ est.beta, u, b, est.pwrss, tx @ est.beta_cov_unscaled @ tx.T)

    def covariances_to_original(self, blocks: list[np.ndarray]) -> list[np.ndarray]:
        """Per-term (levels, S, S) covariance blocks of b_int -> those of b."""
        return [c if m.transform is None else
                np.einsum("is,lst,jt->lij", m.transform, c, m.transform)
                for m, c in zip(self.terms, blocks)]


def internal_columns(terms: list[TermData], x: np.ndarray, reml: bool
                     ) -> tuple[Reparametrization, list[TermData], np.ndarray]:
    """The map to internal columns, and the internal terms and X."""
    x_transform = _column_transform(x, centre=True)
    maps, internal = [], []
    for term in terms:
        # a term of the fixed effects' own columns ((Days | g) beside Days) shares their map
        same = term.z.shape == x.shape and _centred_fully(term) and np.array_equal(term.z, x)
        t = _nonidentity(x_transform) if same else _term_transform(term)
        maps.append(TermMap(term.covariance, t))
        internal.append(term if t is None else dataclasses.replace(term, z=term.z @ t))
    if x_transform is _UNCHANGED:  # X = 1: nothing to map
        return Reparametrization(x_transform, maps, 0.0), internal, x
    # Tx is the identity with the intercept's row filled, its columns then scaled: its
    # determinant is the product of its diagonal
    shift = -2.0 * float(np.sum(np.log(np.abs(np.diagonal(x_transform))))) if reml else 0.0
    return Reparametrization(x_transform, maps, shift), internal, x @ x_transform


def _centred_fully(term: TermData) -> bool:
    """Whether the term's columns are centred and scaled as X's are: an unstructured
    term (every pattern keeps row scaling; only a full one keeps centring)."""
    cov = term.covariance
    return isinstance(cov, PatternCovariance) and \
        cov.n_theta == cov.size * (cov.size + 1) // 2


def _term_transform(term: TermData) -> np.ndarray | None:
    cov = term.covariance
    if not isinstance(cov, PatternCovariance):
        return None  # cs and ar1: their SDs and correlation are not rows of lambda
    return _nonidentity(_column_transform(term.z, centre=_centred_fully(term)))


def _nonidentity(t: np.ndarray) -> np.ndarray | None:
    """``t``, or None when it is the identity."""
    if t is _UNCHANGED:
        return None
    return None if not np.any(t - np.eye(len(t))) else t


def _column_transform(m: np.ndarray, centre: bool) -> np.ndarray:
    """T with the columns of M T centred on the mean (when ``centre`` and M has a
    constant column to absorb the means) and scaled to a root mean square of 1; columns
    that are zero or constant keep their scale."""
    p = m.shape[1]
    t = np.eye(p)
    if p == 0 or m.shape[0] == 0:
        return t
    first = m[0]
    constant = np.all(m == first, axis=0) & (first != 0)
    if constant.all():  # nothing to centre or scale (a term of intercepts, X = 1)
        return _UNCHANGED if p == 1 and first[0] == 1.0 else t
    intercept = int(np.argmax(constant)) if centre and constant.any() else None
    n = m.shape[0]
    for j in range(p):
        col = m[:, j]
        if constant[j]:
            continue
        shift = 0.0
        if intercept is not None:  # sums over n: np.mean's numbers without its overhead
            shift = float(col.sum()) / n
            t[intercept, j] = -shift / first[intercept]
        spread = math.sqrt(float(((col - shift) ** 2).sum()) / n)
        if spread > 0 and math.isfinite(spread):
            t[:, j] /= spread
    return t
