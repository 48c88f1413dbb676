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
import scipy.linalg

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

    # --- Lambda on the rest block -------------------------------------------------------

    def rest_lam_t(self, mat: np.ndarray) -> np.ndarray:
        """Lambda_rest' applied to the random-effect rows of ``mat`` (X rows unchanged)."""
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
        out = np.empty_like(u_rest)
        for term, off, lam in zip(self.design.rest, self.design.rest_offsets, self.lam_rest):
            out[off:off + term.q] = (u_rest[off:off + term.q].reshape(term.n_levels, term.size)
                                     @ lam.T).ravel()
        return out

    def lead_lam(self, u_lead: np.ndarray) -> np.ndarray:
        """Lambda_lead u for the lead term (levels x S)."""
        return u_lead @ self.lam_lead.T

    # --- factorization --------------------------------------------------------------------

    def update(self, a11: np.ndarray, a21: np.ndarray, a22: np.ndarray) -> None:
        """Factor M for the blocks of one set of weights."""
        d = self.design
        lam = self.lam_lead
        size = d.lead.size
        qr = d.q_rest
        if size == 1:
            l11 = np.sqrt(lam[0, 0] ** 2 * a11[:, 0, 0] + 1.0)
            self.l11 = l11.reshape(-1, 1, 1)
            m21 = self.rest_lam_t(a21) * lam[0, 0]
            g = m21.T / l11[:, None]
        else:
            m11 = np.einsum("ts,ltr,rk->lsk", lam, a11, lam) + np.eye(size)
            self.l11 = np.linalg.cholesky(m11)
            m21 = self.rest_lam_t(a21).reshape(d.m, d.lead.n_levels, size) @ lam
            g = np.linalg.solve(self.l11, m21.transpose(1, 2, 0)).reshape(d.lead.q, d.m)
        m22 = self.rest_lam_t(self.rest_lam_t(a22).T)
        m22[np.arange(qr), np.arange(qr)] += 1.0
        m22 -= g.T @ g
        self.g = g
        self.l22 = scipy.linalg.cholesky(m22, lower=True, check_finite=False)

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
        """Solve M x = r: the random-effects system (``joint=False``; ``r_rest`` holds the
        rest terms' entries only) or the system in (u, beta) (``r_rest`` of length m)."""
        d = self.design
        k = d.m if joint else d.q_rest
        size = d.lead.size
        if size == 1:
            y1 = r_lead.ravel() / self.l11[:, 0, 0]
        else:
            y1 = np.linalg.solve(self.l11, r_lead[:, :, None])[:, :, 0].ravel()
        g = self.g[:, :k]
        l22 = self.l22[:k, :k]
        y2 = scipy.linalg.solve_triangular(l22, r_rest[:k] - g.T @ y1, lower=True,
                                           check_finite=False)
        x2 = scipy.linalg.solve_triangular(l22, y2, lower=True, trans="T", check_finite=False)
        t = (y1 - g @ x2).reshape(d.lead.n_levels, size)
        if size == 1:
            x1 = t / self.l11[:, 0, :]
        else:
            x1 = np.linalg.solve(np.swapaxes(self.l11, 1, 2), t[:, :, None])[:, :, 0]
        return x1, x2
