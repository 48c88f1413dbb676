"""The blocked Cholesky factor of the augmented PLS system, updated for each theta.

With Lambda-tilde = blockdiag(Lambda, I) and Omega = Lambda-tilde' A Lambda-tilde +
diag(I_q, 0), the lead term's block of Omega is block-diagonal and is factored level by
level. Eliminating it leaves the dense Schur complement of the rest block:

    S = Lambda_v' (A_vv - A_v1 D A_1v) Lambda_v + diag(I_{q_rest}, 0),
    D = Lambda_1 Omega_11^{-1} Lambda_1'   (block-diagonal),

whose Cholesky factor carries log|L|^2 for the rest terms, log|R_X|^2 and, in its last
diagonal entry, the square root of the penalized residual sum of squares. Nothing here
depends on the number of rows.
"""

from __future__ import annotations

import numpy as np

from mixed_models.core import kernels, small
from mixed_models.core.crossprod import CrossProducts, term_lambdas, theta_slices
from mixed_models.core.lazy import lazy_module
from mixed_models.core.threads import TINY_COLUMNS, blas_threads_for

sp = lazy_module("scipy.sparse")
lapack = lazy_module("scipy.linalg.lapack")

LOG_2PI = float(np.log(2.0 * np.pi))


class BlockedCholesky:
    """Holds the cross-products of a model and factors Omega(theta) on request.

    Parameters
    ----------
    cp
        The model's cross-product blocks.
    closed_form
        Factor a lead term of 2 to 4 columns per level in closed form (core.small);
        False uses LAPACK's batched calls for every size (the same values to rounding).

    Notes
    -----
    ``theta`` is given in the terms' own order (the order of ``cp.terms``), each
    term's slice column-major over its lambda pattern.
    """

    def __init__(self, cp: CrossProducts, closed_form: bool = True):
        self.cp = cp
        self.theta_slices = theta_slices(cp.terms)
        self.n_theta = self.theta_slices[-1].stop if self.theta_slices else 0
        self.rest_scalar = [t.size == 1 for t in cp.rest]
        self.q_rest = cp.q_rest
        size = cp.a11.shape[1]
        self._a11_flat = cp.a11.reshape(cp.a11.shape[0], size * size) \
            if closed_form and 1 < size <= small.MAX_SIZE else None
        self.lead_omega: np.ndarray | None = None
        self.lead_chol: np.ndarray | None = None
        self.rest_factor: np.ndarray | None = None
        self.logdet_lead = 0.0
        self._kernel = self._kernel_plan()
        self._factored_at: np.ndarray | None = None  # the theta the factor now holds

    def _kernel_plan(self) -> dict | None:
        """Arrays for the compiled rank update, or None when scipy's product is used.

        The kernel needs scalar rest terms (their lambda is a row/column scale), a sparse
        lead-rest block and enough work to pay for importing numba.
        """
        cp = self.cp
        if not sp.issparse(cp.ar1) or not all(self.rest_scalar):
            return None
        col_counts = np.bincount(cp.ar1.indices, minlength=cp.ar1.shape[1])
        if float(np.sum(col_counts.astype(float) ** 2)) < kernels.MIN_WORK \
                or not kernels.available():
            return None
        position = sp.csr_matrix((np.arange(1, cp.ar1.nnz + 1, dtype=float),
                                  cp.ar1.indices, cp.ar1.indptr), shape=cp.ar1.shape).tocsc()
        position.sort_indices()
        m = cp.avv.shape[0]
        # zeros: the update writes the lower triangle only, and the gradient's traces
        # multiply the rest (through the factor's copy) by zeros, which NaN would spoil
        return {"to_csc": position.data.astype(np.intp) - 1, "csc": position,
                "buffer": np.zeros((m, m)), "scale": np.ones(cp.q_rest)}

    def lambdas(self, theta: np.ndarray) -> list[np.ndarray]:
        """lambda of every term, in the terms' own order."""
        return term_lambdas(self.cp.terms, self.theta_slices, theta)

    def update(self, theta: np.ndarray) -> bool:
        """Factor Omega(theta). Returns False when it is not positive definite.

        A call at the theta the factor already holds does nothing: fits evaluate their
        start and end points several times (the start check, the optimizer's first
        call, the final objective, the estimates), which on a large model is a
        factorization each.
        """
        theta = np.asarray(theta, dtype=float)
        if self._factored_at is not None and np.array_equal(theta, self._factored_at):
            return True
        self._factored_at = None  # the buffers change below, whatever the outcome
        if self.cp.avv.shape[0] <= TINY_COLUMNS:  # no BLAS threads to switch
            done = self._update(theta)
        else:
            with blas_threads_for(self.cp.avv.shape[0]):
                done = self._update(theta)
        if done:
            self._factored_at = theta.copy()
        return done

    def _update(self, theta: np.ndarray) -> bool:
        lams = self.lambdas(theta)
        lam1 = lams[self.cp.order[0]]
        if self._a11_flat is not None and not self.q_rest:
            schur = self._schur_small(lam1)
            if schur is None:
                return False
            return self._factor_rest(schur)
        c = self._factor_lead(lam1)
        if c is None:
            return False
        rest_lams = [lams[i] for i in self.cp.order[1:]]
        if self._kernel is not None:
            schur = self._schur_kernel(c, rest_lams)
        else:
            schur = self._schur(c)
            qr = self.q_rest
            if qr:
                self._scale_rest(schur, rest_lams)
                schur[np.arange(qr), np.arange(qr)] += 1.0
        return self._factor_rest(schur)

    def _factor_rest(self, schur: np.ndarray) -> bool:
        """Factor the Schur complement of the rest block in place."""
        # The transpose of a C-ordered array is Fortran-ordered: LAPACK factors in place.
        upper, info = lapack.dpotrf(schur.T, lower=0, clean=0, overwrite_a=1)
        if info != 0 and info != schur.shape[0]:
            return False
        self.rest_factor = upper.T
        if info == schur.shape[0]:  # y in the span of X: zero residual
            self.rest_factor[-1, -1] = 0.0
        return True

    def _factor_lead(self, lam1: np.ndarray) -> np.ndarray | None:
        """Factor the lead block; return C with D = C C' (per level)."""
        a11 = self.cp.a11
        if lam1.shape[0] == 1:
            omega = a11[:, 0, 0] * lam1[0, 0] ** 2 + 1.0
            self.lead_omega = omega
            self.logdet_lead = float(np.sum(np.log(omega)))
            return (lam1[0, 0] / np.sqrt(omega))[:, None, None]
        if self._a11_flat is not None:
            return self._factor_lead_small(lam1)
        omega = lam1.T @ a11 @ lam1
        idx = np.arange(lam1.shape[0])
        omega[:, idx, idx] += 1.0
        try:
            chol = np.linalg.cholesky(omega)
        except np.linalg.LinAlgError:
            return None
        self.lead_omega, self.lead_chol = omega, chol
        self.logdet_lead = 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2))))
        # C_l = lam1 L_l^{-T}, from L_l C_l' = lam1'
        return np.swapaxes(np.linalg.solve(chol, np.broadcast_to(lam1.T, omega.shape)), 1, 2)

    def _factor_lead_small(self, lam1: np.ndarray) -> np.ndarray | None:
        """:meth:`_factor_lead` for 2 to 4 columns, in closed form (core.small);
        ``lead_chol`` is then left None."""
        lower = self._lead_levels(lam1)
        return None if lower is None else small.lambda_times_inverse_transpose(lam1, lower)

    def _lead_levels(self, lam1: np.ndarray) -> list[list[np.ndarray]] | None:
        """Omega of the lead levels and their Cholesky entries (core.small)."""
        omega = small.lead_omega(self._a11_flat, lam1)
        lower = small.cholesky_levels(omega)
        if lower is None:
            return None
        self.lead_omega, self.lead_chol = omega, None
        self.logdet_lead = small.log_determinant(lower)
        return lower

    def _schur_small(self, lam1: np.ndarray) -> np.ndarray | None:
        """The Schur complement of a model whose only term has 2 to 4 columns:
        A_vv - G G' with G_l = A_v1,l lam L_l^{-T}, without forming C."""
        lower = self._lead_levels(lam1)
        if lower is None:
            return None
        cp = self.cp
        size = lam1.shape[0]
        g = small.solve_transposed(cp.ax1.reshape(len(cp.ax1), -1, size) @ lam1, lower)
        g = g.reshape(cp.ax1.shape)
        return cp.avv - g @ g.T

    def _schur(self, c: np.ndarray) -> np.ndarray:
        """A_vv - (A_v1 C)(A_v1 C)' as a new dense array."""
        cp = self.cp
        size, nlev = cp.a11.shape[1], cp.a11.shape[0]
        gx = np.einsum("pls,lst->plt", cp.ax1.reshape(-1, nlev, size), c).reshape(cp.ax1.shape)
        schur = cp.avv.copy()
        qr = self.q_rest
        schur[qr:, qr:] -= gx @ gx.T
        if qr == 0:
            return schur
        gr = self._lead_rest_product(c)
        if sp.issparse(gr):
            krr = (gr @ gr.T).toarray()
            kxr = (gr @ gx.T).T
        else:
            krr = gr @ gr.T
            kxr = gx @ gr.T
        schur[:qr, :qr] -= krr
        schur[qr:, :qr] -= kxr
        schur[:qr, qr:] -= kxr.T
        return schur

    def _schur_kernel(self, c: np.ndarray, lams: list[np.ndarray]) -> np.ndarray:
        """The scaled, inflated Schur complement's lower triangle, in a reused buffer."""
        cp, plan = self.cp, self._kernel
        qr = self.q_rest
        scale = plan["scale"]
        for term, off, lam in zip(cp.rest, cp.rest_offsets, lams):
            scale[off:off + term.q] = lam[0, 0]
        g = self._lead_rest_product(c)
        csc = plan["csc"]
        csc.data = g.data[plan["to_csc"]]
        out = plan["buffer"]
        kernels.downdate_lower(out, cp.avv, scale, g, csc)
        size, nlev = cp.a11.shape[1], cp.a11.shape[0]
        gx = np.einsum("pls,lst->plt", cp.ax1.reshape(-1, nlev, size), c).reshape(cp.ax1.shape)
        out[qr:, :qr] = (cp.avv[qr:, :qr] - (g @ gx.T).T) * scale
        out[qr:, qr:] = cp.avv[qr:, qr:] - gx @ gx.T
        return out

    def _lead_rest_product(self, c: np.ndarray):
        cp = self.cp
        size, nlev = cp.a11.shape[1], cp.a11.shape[0]
        ar1 = cp.ar1
        if not sp.issparse(ar1):
            return np.einsum("rls,lst->rlt", ar1.reshape(-1, nlev, size), c).reshape(ar1.shape)
        data = ar1.data.reshape(-1, size)
        if size == 1:
            gdata = data[:, 0] * c[cp.ar1_level, 0, 0]
        else:
            gdata = np.einsum("bs,bst->bt", data, c[cp.ar1_level]).ravel()
        return sp.csr_matrix((gdata, ar1.indices, ar1.indptr), shape=ar1.shape)

    def weighted_lead_rest(self, weight: np.ndarray) -> sp.csr_matrix | np.ndarray:
        """H = A_r1 diag(weight) (rest random effects x lead levels), stored as A_r1 is:
        CSR with its pattern when sparse, else dense. ``weight``: one per lead level."""
        ar1 = self.cp.ar1
        if sp.issparse(ar1):
            return sp.csr_matrix((ar1.data * weight[self.cp.ar1_level], ar1.indices,
                                  ar1.indptr), shape=ar1.shape)
        return ar1 * weight[None, :]

    def lead_rest_trace(self, h: sp.csr_matrix | np.ndarray, scale: np.ndarray,
                        inverse: np.ndarray) -> float | None:
        """sum over i, k of s_i s_k (H H')[i, k] inverse[i, k] over the rest random
        effects, by the compiled kernel that reads only the lower triangle of the
        C-ordered, symmetric ``inverse``; None when this factor does not use the compiled
        rank update (then the caller forms H H'). ``h``: H of :meth:`weighted_lead_rest`;
        ``scale``: s, one per rest random effect."""
        plan = self._kernel
        if plan is None:
            return None
        pattern = plan["csc"]
        h_csc = sp.csc_matrix((h.data[plan["to_csc"]], pattern.indices, pattern.indptr),
                              shape=pattern.shape)
        return kernels.trace_lower(inverse, scale, h, h_csc)

    def _scale_rest(self, schur: np.ndarray, lams: list[np.ndarray]) -> None:
        """schur <- Lambda_v' schur Lambda_v, term by term (X and y rows are unscaled)."""
        m = schur.shape[0]
        scale = np.ones(m)
        for term, off, lam in zip(self.cp.rest, self.cp.rest_offsets, lams):
            if term.size == 1:
                scale[off:off + term.q] = lam[0, 0]
                continue
            cols = slice(off, off + term.q)
            block = schur[:, cols].reshape(m, term.n_levels, term.size) @ lam
            schur[:, cols] = block.reshape(m, term.q)
            rows = schur[cols, :].reshape(term.n_levels, term.size, m)
            schur[cols, :] = (lam.T @ rows).reshape(term.q, m)
        if any(self.rest_scalar):
            schur *= scale[:, None]
            schur *= scale[None, :]

    # --- quantities read off the factor -------------------------------------------

    def logdet_random(self) -> float:
        """log |L_theta|^2 (random-effects part of the factor)."""
        qr = self.q_rest
        if not qr:
            return self.logdet_lead
        diag = np.diagonal(self.rest_factor)[:qr]
        return self.logdet_lead + 2.0 * float(np.sum(np.log(diag)))

    def logdet_fixed(self) -> float:
        """log |R_X|^2."""
        qr, p = self.q_rest, self.cp.n_fixed
        diag = np.diagonal(self.rest_factor)[qr:qr + p]
        return 2.0 * float(np.sum(np.log(diag)))

    def pwrss(self) -> float:
        """Penalized weighted residual sum of squares at the conditional optimum."""
        return float(self.rest_factor[-1, -1] ** 2)


def profiled_objective(factor: BlockedCholesky, reml: bool, sigma: float | None = None) -> float:
    """The profiled deviance (ML) or REML criterion at the factor's current theta.

    With ``sigma`` given, the residual SD is held at that value instead of profiled.
    """
    cp = factor.cp
    n, p = cp.n_obs, cp.n_fixed
    nu = n - p if reml else n
    logdet = factor.logdet_random() + (factor.logdet_fixed() if reml else 0.0)
    pwrss = factor.pwrss()
    if sigma is not None:
        return nu * (LOG_2PI + 2 * np.log(sigma)) + logdet + pwrss / sigma**2 - cp.sum_log_weights
    if pwrss <= 0.0:
        return -np.inf
    return logdet + nu * (1.0 + LOG_2PI + np.log(pwrss / nu)) - cp.sum_log_weights
