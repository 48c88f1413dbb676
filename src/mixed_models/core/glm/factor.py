"""Blocked Cholesky factor of Lambda' Z' W Z Lambda + I, extended by X.

With the lead term first, the matrix

    M = [ M11  M21' ]      M11 = lam' A11 lam + I       (block-diagonal per lead level)
        [ M21  M22  ]      M22 = [Lr' Ar Lr + I, Lr' Zr'WX; X'WZr Lr, X'WX]

factors as L11 (per level), G = L11^-1 M21' (q_lead x m) and L22 = chol(M22 - G'G).
The leading q x q part of the factor is the Cholesky factor of the random-effects system
alone (its log-determinant is lme4's ldL2); the whole factor solves for (u, beta) jointly.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from mixed_models.core.glm.system import WeightedDesign


class GlmFactor:
    """The factor for one theta; :meth:`update` refactors it for new weights.

    Parameters
    ----------
    design
        The terms and X.
    lams
        The relative covariance factor of each term (S x S, caller's term order).
    """

    def __init__(self, design: WeightedDesign, lams: list[np.ndarray]):
        self.design = design
        self.lam_lead = lams[design.order[0]]
        self.lam_rest = [lams[i] for i in design.order[1:]]
        self.l11: np.ndarray | None = None
        self.g: np.ndarray | None = None
        self.l22: np.ndarray | None = None
        self.dvec = None
        if design.rest_scalar:
            lam_values = np.array([lam[0, 0] for lam in self.lam_rest])
            self.dvec = np.concatenate([lam_values[design.rest_term_of_row], np.ones(design.p)])

    # --- Lambda on the rest block -------------------------------------------------------

    def rest_lam_t(self, mat: np.ndarray) -> np.ndarray:
        """Lambda_rest' applied to the random-effect rows of ``mat`` (X rows unchanged)."""
        if self.dvec is not None:
            k = mat.shape[0]
            return mat * (self.dvec[:k] if mat.ndim == 1 else self.dvec[:k, None])
        out = mat.copy()
        for term, off, lam in zip(self.design.rest, self.design.rest_offsets, self.lam_rest):
            block = mat[off:off + term.q]
            if term.size == 1:
                out[off:off + term.q] = lam[0, 0] * block
            else:
                shaped = block.reshape((term.n_levels, term.size) + block.shape[1:])
                out[off:off + term.q] = np.tensordot(lam.T, shaped, axes=([1], [1])) \
                    .swapaxes(0, 1).reshape(block.shape)
        return out

    def rest_lam(self, u_rest: np.ndarray) -> np.ndarray:
        """Lambda_rest u for the rest terms' spherical effects (b scale)."""
        if self.dvec is not None:
            return u_rest * self.dvec[:len(u_rest)]
        out = np.empty_like(u_rest)
        for term, off, lam in zip(self.design.rest, self.design.rest_offsets, self.lam_rest):
            out[off:off + term.q] = (u_rest[off:off + term.q].reshape(term.n_levels, term.size)
                                     @ lam.T).ravel()
        return out

    def lead_lam(self, u_lead: np.ndarray) -> np.ndarray:
        """Lambda_lead u for the lead term (levels x S)."""
        return u_lead @ self.lam_lead.T

    # --- factorization --------------------------------------------------------------------

    def update(self, a11: np.ndarray, a21z, a21x: np.ndarray, a22: np.ndarray) -> None:
        """Factor M for the blocks of one set of weights (see ``WeightedDesign.blocks``)."""
        d = self.design
        lam = self.lam_lead
        qr = d.q_rest
        if d.lead.size == 1:
            l11 = np.sqrt(lam[0, 0] ** 2 * a11[:, 0, 0] + 1.0)
            self.l11 = l11.reshape(-1, 1, 1)
            self.gscale = lam[0, 0] / l11
            self.a21z, self.a21x = a21z, a21x
            schur = a22 - self._lead_products(self.gscale * self.gscale)
            self.g = None
        else:
            m11 = np.einsum("ts,ltr,rk->lsk", lam, a11, lam) + np.eye(d.lead.size)
            self.l11 = np.linalg.cholesky(m11)
            a21 = np.vstack([a21z, a21x])
            m21 = self.rest_lam_t(a21).reshape(d.m, d.lead.n_levels, d.lead.size) @ lam
            g = np.linalg.solve(self.l11, m21.transpose(1, 2, 0)).reshape(d.lead.q, d.m)
            self.g = g
            schur = None
        if schur is None:
            m22 = self.rest_lam_t(self.rest_lam_t(a22).T) - self.g.T @ self.g
        elif self.dvec is not None:
            m22 = schur * np.outer(self.dvec, self.dvec)
        else:
            m22 = self.rest_lam_t(self.rest_lam_t(schur).T)
        m22[np.arange(qr), np.arange(qr)] += 1.0
        l22, info = lapack.dpotrf(m22, lower=1, clean=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"the matrix is not positive definite (pivot {info})")
        self.l22 = l22

    def _lead_products(self, c: np.ndarray) -> np.ndarray:
        """A21 diag(c) A21' for a scalar lead term (A coordinates, before Lambda)."""
        d = self.design
        qr = d.q_rest
        out = np.empty((d.m, d.m))
        ax = self.a21x
        out[qr:, qr:] = (ax * c) @ ax.T
        if qr == 0:
            return out
        az = self.a21z
        if d.sparse_cross:
            vals = az[d.pair_e1] * az[d.pair_e2] * c[d.pair_col]
            zz = np.zeros((qr, qr))
            zz.flat[d.pair_targets] = np.bincount(d.pair_inverse, vals, len(d.pair_targets))
            scaled = (az * c[d.cross_cols])[None, :] * ax[:, d.cross_cols]
            zx = np.bincount(d.cross_rows_p, scaled.ravel(), qr * d.p).reshape(d.p, qr).T
        else:
            azc = az * c
            zz = azc @ az.T
            zx = azc @ ax.T
        out[:qr, :qr] = zz
        out[:qr, qr:] = zx
        out[qr:, :qr] = zx.T
        return out

    def _az_times(self, v: np.ndarray) -> np.ndarray:
        """Z_rest' W Z_lead v."""
        d = self.design
        if d.sparse_cross:
            return np.bincount(d.cross_rows, self.a21z * v[d.cross_cols], d.q_rest)
        return self.a21z @ v

    def _az_t_times(self, v: np.ndarray) -> np.ndarray:
        """Z_lead' W Z_rest v."""
        d = self.design
        if d.sparse_cross:
            return np.bincount(d.cross_cols, self.a21z * v[d.cross_rows], d.lead.q)
        return self.a21z.T @ v

    def _g_t_times(self, y1: np.ndarray, k: int) -> np.ndarray:
        """G[:, :k]' y1."""
        if self.g is not None:
            return self.g[:, :k].T @ y1
        v = self.gscale * y1
        qr = self.design.q_rest
        out = np.concatenate([self._az_times(v), self.a21x @ v]) if qr else self.a21x @ v
        return self.rest_lam_t(out)[:k] if qr else out[:k]

    def _g_times(self, x2: np.ndarray) -> np.ndarray:
        """G[:, :k] x2 for x2 of length k."""
        k = len(x2)
        if self.g is not None:
            return self.g[:, :k] @ x2
        qr = self.design.q_rest
        full = np.zeros(self.design.m)
        full[:k] = x2
        if qr:
            full[:qr] = self.rest_lam(full[:qr])
            out = self._az_t_times(full[:qr]) + self.a21x.T @ full[qr:]
        else:
            out = self.a21x.T @ full
        return self.gscale * out

    def logdet(self) -> float:
        """log det(Lambda' Z' W Z Lambda + I): lme4's ldL2 (X part excluded)."""
        qr = self.design.q_rest
        d11 = np.diagonal(self.l11, axis1=1, axis2=2)
        return 2.0 * float(np.sum(np.log(d11)) + np.sum(np.log(np.diag(self.l22)[:qr])))

    def logdet_x(self) -> float:
        """log det of the X part (lme4's ldRX2)."""
        qr = self.design.q_rest
        return 2.0 * float(np.sum(np.log(np.diag(self.l22)[qr:])))

    def lead_diagonal(self) -> np.ndarray:
        """Diagonal of L11 (levels x S)."""
        return np.diagonal(self.l11, axis1=1, axis2=2)

    def solve(self, r_lead: np.ndarray, r_rest: np.ndarray, joint: bool) -> tuple[np.ndarray,
                                                                                     np.ndarray]:
        """Solve M x = r: the random-effects system (``joint=False``; only the first
        ``q_rest`` entries of ``r_rest`` are read) or the system in (u, beta)."""
        d = self.design
        k = d.m if joint else d.q_rest
        size = d.lead.size
        if size == 1:
            y1 = r_lead.ravel() / self.l11[:, 0, 0]
        else:
            y1 = np.linalg.solve(self.l11, r_lead[:, :, None])[:, :, 0].ravel()
        if k:
            x2, info = lapack.dpotrs(self.l22[:k, :k], r_rest[:k] - self._g_t_times(y1, k),
                                     lower=1)
            t = (y1 - self._g_times(x2)).reshape(d.lead.n_levels, size)
        else:
            x2 = np.zeros(0)
            t = y1.reshape(d.lead.n_levels, size)
        if size == 1:
            x1 = t / self.l11[:, 0, :]
        else:
            x1 = np.linalg.solve(np.swapaxes(self.l11, 1, 2), t[:, :, None])[:, :, 0]
        return x1, x2

    def g_rest(self) -> np.ndarray:
        """G' restricted to the random effects: the (q_rest x q_lead) lower-left block of
        the random-effects factor, dense."""
        d = self.design
        qr = d.q_rest
        if self.g is not None:
            return self.g[:, :qr].T
        if d.sparse_cross:
            az = np.zeros((qr, d.lead.q))
            az[d.cross_rows, d.cross_cols] = self.a21z
        else:
            az = self.a21z
        return self.rest_lam_t(az) * self.gscale[None, :]

    def g_lead_rest(self):
        """G restricted to the random effects, (q_lead x q_rest): a scipy CSR matrix when
        the cross block is stored sparse and the rest terms are scalar, else dense."""
        d = self.design
        if self.g is None and d.sparse_cross and self.dvec is not None:
            vals = self.a21z * self.dvec[d.cross_rows] * self.gscale[d.cross_cols]
            return sp.csr_matrix((vals, (d.cross_cols, d.cross_rows)), shape=(d.lead.q, d.q_rest))
        return np.ascontiguousarray(self.g_rest().T)
