"""The estimators on Dask collections: the same results, computed chunk by chunk on a cluster.

``EntropyBalancingWeights``, ``GPSWeights``, ``UnitWeights``, ``E2BWeights`` and
``AverageDoseResponse`` accept Dask arrays and Dask DataFrames (with the treatment, outcome and
sample weights as Dask series or arrays partitioned like the covariates). Every per-row computation
is reduced chunk by chunk: only statistics whose size depends on the number of features travel to
the client, and no resampled copy of the data is ever built. The computation runs on the active
``dask.distributed`` client (or Dask's default scheduler when there is none).

This package imports Dask only when a Dask collection is fitted; :func:`is_dask` is the cheap test
the estimators dispatch on. Options (``dask.config`` keys, see :data:`OPTIONS`):

``dowhy-e2b.bootstrap``
    ``"batched"`` (default): every bootstrap replicate in the same few passes over the data (see
    :mod:`dowhy_e2b.distributed.bootstrap`); ``"exact"``: each replicate re-runs the whole chunked
    pipeline on its Poisson multipliers, which reproduces the in-memory bootstrap but costs one
    pipeline per replicate.
``dowhy-e2b.quantile-bins``
    Bins of each pass of the exact quantile selection (default 4096).
"""

from __future__ import annotations

from typing import Any

__all__ = ["OPTIONS", "is_dask"]

#: Options read from ``dask.config`` (key: default).
OPTIONS = {"dowhy-e2b.bootstrap": "batched", "dowhy-e2b.quantile-bins": 4096}


def is_dask(obj: Any) -> bool:
    """Whether ``obj`` is a Dask collection (array, DataFrame, Series), without importing Dask."""
    module = type(obj).__module__
    return (module == "dask" or module.startswith("dask.") or module.startswith("dask_")) and hasattr(
        obj, "__dask_graph__"
    )


def option(name: str) -> Any:
    """The value of option ``name`` (``dask.config`` overrides the default)."""
    import dask

    key = f"dowhy-e2b.{name}"
    return dask.config.get(key, default=OPTIONS[key])
