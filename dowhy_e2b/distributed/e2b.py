"""E2B on chunked data: train on a sample brought to the client, balance every row on the cluster.

The sample is at most ``max_train_samples`` rows, drawn uniformly without replacement from
``(seed, global row index)`` counters (the same rows whatever the chunking): every row with one of
the smallest uniforms is taken, with a pass that keeps only rows below a threshold slightly above
``max_train_samples / n``. The base-weight model trained there (in memory, by
:class:`~dowhy_e2b.E2BWeights` itself) is applied to every chunk, and the final entropy balancing runs
chunk by chunk (:mod:`~dowhy_e2b.distributed.weights`) with the model's log base weights: the
weights equal what the trained estimator's ``weights_for`` gives on all rows in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from .._numerics.counters import uniforms_at
from ._data import ChunkedData, Gathered, chunk_rows

__all__ = ["E2BLogBase", "fit_e2b_data", "training_sample"]


@dataclass(frozen=True)
class E2BLogBase:
    """The trained base-weight model's log base weights of a chunk's rows."""

    estimator: Any

    def __call__(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        return self.estimator._log_base(X, a, self.estimator.models_)


def _sample_chunk(chunk: tuple, start: int, seed: int, threshold: float) -> tuple:
    X, a, y, s = chunk[:4]
    u = uniforms_at(seed, chunk_rows(chunk, start))
    keep = u < threshold
    cols = [u[keep, None], X[keep], a[keep, None]]
    cols.append(np.full((int(keep.sum()), 1), np.nan) if y is None else y[keep, None])
    cols.append(np.ones((int(keep.sum()), 1)) if s is None else s[keep, None])
    return (Gathered(np.hstack(cols)),)


def training_sample(data: ChunkedData, size: int, seed: int) -> tuple:
    """``(X, a, y, s)`` of ``min(size, n)`` rows drawn uniformly without replacement, in row order of
    their uniforms' draw (one pass; a second one if the threshold happened to catch too few)."""
    n = data.n
    share = min(1.0, size / n)
    margin = 6.0 * np.sqrt(share * (1 - share) / n) + 1e-12
    threshold = min(1.0, share + margin)
    while True:
        (gathered,) = data.run(_sample_chunk, seed, threshold)
        rows = gathered.values
        if rows.shape[0] >= min(size, n) or threshold >= 1.0:
            break
        threshold = min(1.0, threshold + 2 * margin)
    rows = rows[np.argsort(rows[:, 0], kind="stable")[: min(size, n)]]
    d = len(data.names)
    y = rows[:, 2 + d]
    return rows[:, 1 : 1 + d], rows[:, 1 + d], None if np.isnan(y).all() else y, rows[:, 3 + d]


def fit_e2b_data(est: Any, data: ChunkedData, check: bool = True) -> Any:
    """Train ``est`` on a client-side sample and balance all rows chunk by chunk."""

    est._check_params()
    seed = int(check_random_state(est.random_state).randint(np.iinfo(np.int32).max))
    X_s, a_s, y_s, s_s = training_sample(data, int(est.max_train_samples), seed)
    names = getattr(est, "feature_names_in_", None)
    est.fit(X_s, a_s, y_s, sample_weight=s_s if data.has_weights else None)  # in memory, on the sample
    if names is not None:
        est.feature_names_in_ = names
    balance_with(est, data, check=check, record=True)
    return est


def balance_with(est: Any, data: ChunkedData, check: bool = True, record: bool = False) -> Any:
    """The final balancing of a trained E2B estimator on ``data`` (its ``weights_for``, chunked);
    sets ``weights_`` and the balance attributes on ``est`` when ``record``, and returns the
    fitted entropy-balancing object either way."""
    from ..entropy import EntropyBalancingWeights
    from .weights import LogBase, _fit_entropy

    # The ridge and the choice E2B's balance guarantee made on the training sample: where the
    # learned base weights could not be balanced as well as plain entropy balancing, E2B's weights
    # are plain entropy balancing's, here too.
    ridge = float(getattr(est, "final_ridge_", est.ridge_))
    eb = EntropyBalancingWeights(moments=int(est.moments), ridge=ridge, on_failure=est.on_failure)
    for name in ("n_features_in_", "feature_names_in_"):
        if hasattr(est, name):
            setattr(eb, name, getattr(est, name))
    model = None if getattr(est, "fell_back_", False) else E2BLogBase(est)
    _fit_entropy(eb, data, LogBase(model), check_balance=check, method="E2B")
    if record:
        for name in (
            "converged_",
            "max_imbalance_",
            "effective_sample_size_",
            "balance_features_",
            "weights_",
            "weight_function_",
            "dual_coef_",
        ):
            setattr(est, name, getattr(eb, name))
        if check:
            est.balance_check_ = eb.balance_check_
    return eb
