"""Synthetic benchmark data, generated with fixed seeds (same bytes on every machine).

* ``ratings``: 1,000,209 ratings of 3706 items by 6040 users, shaped like MovieLens 1M
  (every user rates at least 20 items; activity and popularity are skewed), with a
  covariate x, for ``y ~ 1 + x + (1|user) + (1|item)``.
* ``kb07``: 56 subjects x 32 items (1792 rows), three two-level factors spkr, prec,
  load varying within subjects and within items, for the maximal model
  ``rt ~ 1 + spkr + prec + load + (1+spkr+prec+load|subj) + (1+spkr+prec+load|item)``.

The GLMM cases' data are derived from the package's bundled data sets, as lme4's
reference fits have them: ``cbpp`` plus ``prop`` = incidence / size (for a peer without
``cbind()``), ``verbagg01`` with ``r2`` as 0/1 (1 = Y), ``grouseticks_scaled`` plus
``sHEIGHT`` = R's ``scale(HEIGHT)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_RATINGS, N_USERS, N_ITEMS = 1_000_209, 6040, 3706
MAX_PER_USER = 2314  # as in MovieLens 1M


def ratings(seed: int = 20_261_126) -> pd.DataFrame:
    """The MovieLens-1M-shaped crossed data set."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.1, N_USERS)
    counts = 20 + np.floor(activity / activity.sum() * (N_RATINGS - 20 * N_USERS)).astype(int)
    counts = np.minimum(counts, MAX_PER_USER)
    while counts.sum() < N_RATINGS:  # hand the capped remainder to users below the cap
        open_users = np.flatnonzero(counts < MAX_PER_USER)
        extra = min(N_RATINGS - counts.sum(), len(open_users))
        counts[rng.choice(open_users, extra, replace=False)] += 1
    popularity = rng.lognormal(0.0, 1.3, N_ITEMS)
    popularity /= popularity.sum()
    users = np.repeat(np.arange(N_USERS), counts)
    # distinct items per user: Gumbel top-k sampling without replacement by popularity
    items = np.empty(N_RATINGS, dtype=np.int64)
    start = 0
    keys_base = np.log(popularity)
    for u, k in enumerate(counts):
        keys = keys_base + rng.gumbel(size=N_ITEMS)
        # sorted: argpartition's order differs between CPUs (numpy's AVX-512 select),
        # and the rows' order decides which rows _cover_every_item draws
        items[start:start + k] = np.sort(np.argpartition(-keys, k)[:k])
        start += k
    _cover_every_item(rng, users, items)
    x = rng.normal(size=N_RATINGS)
    u_eff = rng.normal(0.0, 0.4, N_USERS)
    i_eff = rng.normal(0.0, 0.5, N_ITEMS)
    y = 3.5 + 0.2 * x + u_eff[users] + i_eff[items] + rng.normal(0.0, 0.9, N_RATINGS)
    return pd.DataFrame({"y": y, "x": x,
                         "user": pd.Categorical(users.astype(str)),
                         "item": pd.Categorical(items.astype(str))})


def _cover_every_item(rng, users: np.ndarray, items: np.ndarray) -> None:
    """Give every never-rated item one rating, taken from a much-rated item."""
    seen = np.bincount(items, minlength=N_ITEMS)
    for item in np.flatnonzero(seen == 0):
        while True:
            row = rng.integers(len(items))
            taken = items[users == users[row]]
            if seen[items[row]] > 50 and item not in taken:
                seen[items[row]] -= 1
                items[row] = item
                seen[item] += 1
                break


def kb07(seed: int = 7) -> pd.DataFrame:
    """The kb07-shaped design with correlated by-subject and by-item slopes."""
    rng = np.random.default_rng(seed)
    subj, item = np.meshgrid(np.arange(56), np.arange(32), indexing="ij")
    subj, item = subj.ravel(), item.ravel()
    # counterbalanced: every subject and every item sees both levels of each factor
    spkr = (item + subj) % 2
    prec = (item // 2 + subj) % 2
    load = (item // 4 + subj // 2) % 2
    design = np.column_stack([np.ones(len(subj)), spkr, prec, load])
    beta = np.array([2180.0, 90.0, -330.0, 80.0])
    b_subj = _correlated(rng, 56, [300.0, 60.0, 100.0, 50.0], 0.3)
    b_item = _correlated(rng, 32, [350.0, 80.0, 250.0, 60.0], -0.25)
    rt = design @ beta + np.einsum("nk,nk->n", design, b_subj[subj] + b_item[item]) \
        + rng.normal(0.0, 650.0, len(subj))
    names = {0: "old", 1: "new"}
    return pd.DataFrame({
        "rt": rt, "subj": pd.Categorical([f"S{s:02d}" for s in subj]),
        "item": pd.Categorical([f"I{i:02d}" for i in item]),
        "spkr": [names[v] for v in spkr], "prec": np.where(prec == 1, "maintain", "break"),
        "load": np.where(load == 1, "yes", "no"),
    })


def cbpp() -> pd.DataFrame:
    """lme4's cbpp with the proportion of incidences as a column."""
    frame = _bundled("cbpp")
    frame["prop"] = frame["incidence"] / frame["size"]
    return frame


def verbagg01() -> pd.DataFrame:
    """lme4's VerbAgg with the binary response r2 as 0/1."""
    frame = _bundled("verbagg")
    frame["r2"] = (frame["r2"] == "Y").astype(int)
    return frame


def grouseticks_scaled() -> pd.DataFrame:
    """lme4's grouseticks with HEIGHT centred and scaled by its SD (n - 1)."""
    frame = _bundled("grouseticks")
    height = frame["HEIGHT"]
    frame["sHEIGHT"] = (height - height.mean()) / height.std(ddof=1)
    return frame


def _bundled(name: str) -> pd.DataFrame:
    from mixed_models import datasets
    return datasets.load(name)


def _correlated(rng, levels: int, sds: list[float], rho: float) -> np.ndarray:
    k = len(sds)
    corr = np.full((k, k), rho) + (1 - rho) * np.eye(k)
    cov = np.outer(sds, sds) * corr
    return rng.multivariate_normal(np.zeros(k), cov, size=levels)
