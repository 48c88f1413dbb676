"""An LMM problem built from accumulated cross-products, with no rows in memory.

:class:`AccumulatedProblem` has the interface of :class:`~mixed_models.core.problem.
LmmProblem` (objective, optimize, estimates, conditional_covariances, theta maps,
start, bounds...) for everything that needs only the blocks. Its inputs,
:class:`AccumulatedBlocks`, are summed over chunks of rows by a caller that reads them
(the streamed design layer): the cross-products of the *internal* columns (centred and
scaled as :mod:`mixed_models.core.reparam` does from whole columns, here from
:class:`~mixed_models.core.moments.ColumnMoments`), the least-squares shift of the
response, and the per-level response sums of lme4's variance-ratio start.

What needs the rows raises :class:`~mixed_models.errors.DataError`: ``with_response``
(bootstrap, simulation refits), ``random_part`` and the arrays ``x``, ``y``,
``weights``, ``offset``. The cross-products of the original columns (``cp``) are the
internal ones mapped back by the inverse column maps (equal up to rounding).

Unstable: a new module; its constructor's fields may change.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from mixed_models.core.crossprod import CrossProducts, TermData, theta_slices
from mixed_models.core.factor import BlockedCholesky
from mixed_models.core.problem import LmmProblem
from mixed_models.core.reparam import Reparametrization
from mixed_models.errors import DataError


@dataclasses.dataclass(frozen=True, eq=False)
class StartSums:
    """What lme4's variance-ratio start reads from the rows (intercept-only terms).

    Attributes
    ----------
    level_sums, level_counts
        Per term (the terms' order), the sum of the response and the number of rows of
        each level.
    y_variance
        Variance of the response (``ddof=1``).
    """

    level_sums: list[np.ndarray]
    level_counts: list[np.ndarray]
    y_variance: float


@dataclasses.dataclass(frozen=True, eq=False)
class AccumulatedBlocks:
    """Everything an :class:`AccumulatedProblem` needs, summed over the rows.

    Attributes
    ----------
    cp
        Cross-products of the internal columns [Z T, X Tx, y - offset - X Tx beta_shift].
    beta_shift
        The least-squares coefficients (internal columns) taken out of the response.
    reparam
        The maps between original and internal columns (None: they are the same).
    terms
        The original terms (codes and z empty: only sizes and structures are read).
    start
        Sums for the variance-ratio start, or None when it does not apply.
    response_sd
        Standard deviation of the response (``numpy.std``, ddof 0), for the model's
        check of a residual SD near zero.
    """

    cp: CrossProducts
    beta_shift: np.ndarray
    reparam: Reparametrization | None
    terms: list[TermData]
    start: StartSums | None
    response_sd: float = float("nan")


_NEEDS_ROWS = ("{what} needs the rows of the data, and a streamed fit keeps only their "
               "cross-products; fit the data in memory for it (or compute it chunk by "
               "chunk with mixed_models.stream)")


class AccumulatedProblem(LmmProblem):
    """An :class:`LmmProblem` whose rows were summed into blocks and let go.

    Parameters
    ----------
    blocks
        The accumulated blocks.
    reml, sigma
        As for :class:`LmmProblem`.
    """

    def __init__(self, blocks: AccumulatedBlocks, reml: bool = True,
                 sigma: float | None = None, _internal: bool = False):
        self.reml, self.sigma = reml, sigma
        self.blocks = blocks
        self.terms = blocks.cp.terms if _internal else blocks.terms
        self.x = self.y = self.weights = self.offset = None
        self.theta_slices = theta_slices(self.terms)
        self.reparam = None if _internal else blocks.reparam
        if self.reparam is None:
            self.internal = self
            self.beta_shift, self.cp = blocks.beta_shift, blocks.cp
            self.factor = BlockedCholesky(self.cp)
        else:
            self.internal = AccumulatedProblem(blocks, reml, sigma, _internal=True)

    def _original_blocks(self) -> tuple[np.ndarray, CrossProducts]:
        return original_blocks(self.blocks)

    @property
    def n_obs(self) -> int:
        """Number of observations."""
        return self.blocks.cp.n_obs

    @property
    def response_sd(self) -> float:
        """Standard deviation of the response (what ``numpy.std(problem.y)`` is in memory)."""
        return self.blocks.response_sd

    @property
    def n_fixed(self) -> int:
        """Number of fixed-effects columns (the rank of X)."""
        return self.blocks.cp.n_fixed

    def _variance_ratio_start(self) -> np.ndarray | None:
        start = self.blocks.start
        if start is None or self.n_obs < 2:
            return None
        spread = []
        for sums, counts in zip(start.level_sums, start.level_counts):
            mean = sums.sum() / counts.sum()
            means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
            spread.append(float(np.sum(counts * (means - mean) ** 2)) / (self.n_obs - 1))
        resid = start.y_variance - sum(spread)
        if not resid > 0:
            return None
        return np.sqrt(np.array(spread) / resid)

    def with_response(self, y: np.ndarray) -> LmmProblem:
        """Refused: a new response needs the rows."""
        raise DataError(_NEEDS_ROWS.format(what="a refit with another response "
                                           "(bootstrap, simulation)"))

    def random_part(self, b: list[np.ndarray], terms: list[TermData] | None = None) -> np.ndarray:
        """Refused without ``terms`` of the rows at hand."""
        if terms is None:
            raise DataError(_NEEDS_ROWS.format(what="Z b for the fitted rows"))
        return super().random_part(b, terms)


def original_blocks(blocks: AccumulatedBlocks) -> tuple[np.ndarray, CrossProducts]:
    """(beta_shift, cross-products) of the original columns, from the internal ones.

    The response column is the same in both (X beta_shift is), so only the Z and X
    rows and columns are mapped, by the inverses of the column maps.
    """
    cp, reparam = blocks.cp, blocks.reparam
    if reparam is None:
        return blocks.beta_shift, cp
    inv = [np.eye(t.size) if m.transform is None else np.linalg.inv(m.transform)
           for m, t in zip(reparam.terms, blocks.terms)]
    x_inv = np.linalg.inv(reparam.x_transform)
    lead_i = cp.order[0]
    lead_t = inv[lead_i]
    nlev = cp.lead.n_levels
    a11 = np.einsum("sa,lst,tb->lab", lead_t, cp.a11, lead_t)
    lead_map = sp.kron(sp.eye(nlev), lead_t, format="csr")
    rest_z = [sp.kron(sp.eye(blocks.terms[i].n_levels), inv[i], format="csr")
              for i in cp.order[1:]]
    xy_map = _block_diag([x_inv, np.eye(1)])
    ax1 = xy_map.T @ np.asarray(cp.ax1 @ lead_map)
    rest_map = _block_diag([z.toarray() for z in rest_z] + [x_inv, np.eye(1)])
    avv = rest_map.T @ cp.avv @ rest_map
    ar1 = cp.ar1
    if ar1.shape[0] and sp.issparse(ar1):
        ar1 = _map_sparse(ar1, cp, [inv[i] for i in cp.order[1:]], lead_t)
    elif ar1.shape[0]:
        ar1 = np.asarray(sp.block_diag(rest_z, format="csr").T @ ar1 @ lead_map)
    terms = [dataclasses.replace(o, codes=t.codes, z=t.z) for o, t in zip(blocks.terms, cp.terms)]
    original = dataclasses.replace(cp, terms=terms, a11=a11, ax1=ax1, ar1=ar1, avv=avv)
    return reparam.x_transform @ blocks.beta_shift, original


def _map_sparse(ar1: sp.csr_matrix, cp: CrossProducts, rest_inv: list[np.ndarray],
                lead_t: np.ndarray) -> sp.csr_matrix:
    """M_rest' ar1 M_lead on the stored entries, keeping the pattern (and so the
    ``ar1_level`` of each stored block) exactly: the maps are block-diagonal by level on
    both sides, and the rows of one rest level store the same lead levels."""
    size = lead_t.shape[0]
    data = (ar1.data.reshape(-1, size) @ lead_t).ravel()
    for term, m, offset in zip(cp.rest, rest_inv, cp.rest_offsets):
        if not np.any(m - np.eye(term.size)):
            continue
        for level in range(term.n_levels):
            rows = offset + level * term.size + np.arange(term.size)
            starts, count = ar1.indptr[rows], ar1.indptr[rows[0] + 1] - ar1.indptr[rows[0]]
            index = starts[:, None] + np.arange(count)
            data[index] = m.T @ data[index]
    return sp.csr_matrix((data, ar1.indices.copy(), ar1.indptr.copy()), shape=ar1.shape)


def _block_diag(blocks: list[np.ndarray]) -> np.ndarray:
    if not blocks:
        return np.zeros((0, 0))
    return np.asarray(sp.block_diag(blocks).toarray()) if len(blocks) > 1 else blocks[0]
