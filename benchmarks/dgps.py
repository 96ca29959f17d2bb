"""Data-generating processes of the benchmark, each with its true average dose-response curve.

Three come from :mod:`dowhy_e2b.datasets` (DESIGN §7: ``linear``, ``nonlinear``,
``poor_overlap``). The fourth, ``dowhy_linear``, is DoWhy's own ``linear_dataset`` with a
continuous treatment: a plumbing check (every method that adjusts for the confounders should be
nearly exact there). Its truth is the *sample* dose-response :math:`\\frac1n\\sum_i Y_i(a)`, which
that linear process gives exactly: :math:`\\beta a + \\overline{y - \\beta t}`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from dowhy_e2b.datasets import make_dataset

__all__ = ["DGPS", "GRID_POINTS", "BenchData", "legacy_global_seed", "make_bench_data"]

#: Points of the evaluation grid, between the 5th and 95th percentiles of the observed treatment.
GRID_POINTS = 50

#: Treatment coefficient and noise of the DoWhy plumbing process.
_DOWHY_BETA = 1.0
_DOWHY_COMMON_CAUSES = 5
_DOWHY_OUTCOME_NOISE = 1.0


@dataclass(frozen=True)
class BenchData:
    """One sample of one data-generating process, shared by every method.

    Attributes
    ----------
    dgp : str
        Name of the process.
    seed : int
        Seed the sample was drawn with.
    data : pandas.DataFrame
        The observed table (methods receive copies).
    treatment, outcome : str
        Column names.
    confounders : list of str
        Columns every method adjusts for.
    grid : ndarray of shape (GRID_POINTS,)
        Treatment values where curves are compared.
    truth : ndarray of shape (GRID_POINTS,)
        True :math:`\\mu` on ``grid``.
    description : str
    """

    dgp: str
    seed: int
    data: pd.DataFrame = field(repr=False)
    treatment: str
    outcome: str
    confounders: list[str]
    grid: np.ndarray = field(repr=False)
    truth: np.ndarray = field(repr=False)
    description: str = ""

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.data)

    @property
    def X(self) -> pd.DataFrame:
        """A copy of the confounder columns."""
        return self.data[self.confounders].copy()

    @property
    def a(self) -> np.ndarray:
        """The treatment as a new float array."""
        return self.data[self.treatment].to_numpy(dtype=float, copy=True)

    @property
    def y(self) -> np.ndarray:
        """The outcome as a new float array."""
        return self.data[self.outcome].to_numpy(dtype=float, copy=True)

    def graph(self) -> nx.DiGraph:
        """Confounders → treatment, confounders → outcome, treatment → outcome."""
        g = nx.DiGraph()
        g.add_edges_from((c, self.treatment) for c in self.confounders)
        g.add_edges_from((c, self.outcome) for c in self.confounders)
        g.add_edge(self.treatment, self.outcome)
        return g


def _grid(a: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(a, [5, 95])
    return np.linspace(lo, hi, GRID_POINTS)


@contextlib.contextmanager
def legacy_global_seed(seed: int) -> Iterator[None]:
    """Seed NumPy's legacy global generator for code that only draws from it, then restore it.

    DoWhy's ``linear_dataset``, DoWhy's ``gcm`` and causal-curve draw from ``np.random`` and take no
    generator; this makes them reproducible without leaving the global state changed.
    """
    state = np.random.get_state()  # noqa: NPY002 - the legacy global generator is the point here
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _from_datasets(name: str) -> Callable[[int, int], BenchData]:
    def make(n: int, seed: int) -> BenchData:
        ds = make_dataset(name, n_samples=n, random_state=seed)
        grid = _grid(ds.a)
        return BenchData(
            dgp=name,
            seed=seed,
            data=ds.data,
            treatment=ds.treatment,
            outcome=ds.outcome,
            confounders=list(ds.confounders),
            grid=grid,
            truth=np.asarray(ds.true_adrf(grid), dtype=float),
            description=ds.description,
        )

    return make


def _dowhy_linear(n: int, seed: int) -> BenchData:
    from dowhy.datasets import linear_dataset

    with legacy_global_seed(seed):
        sim = linear_dataset(
            beta=_DOWHY_BETA,
            num_common_causes=_DOWHY_COMMON_CAUSES,
            num_samples=n,
            treatment_is_binary=False,
            stddev_outcome_noise=_DOWHY_OUTCOME_NOISE,
        )
    df: pd.DataFrame = sim["df"]
    treatment = sim["treatment_name"][0]
    outcome = sim["outcome_name"]
    a = df[treatment].to_numpy(dtype=float)
    y = df[outcome].to_numpy(dtype=float)
    grid = _grid(a)
    # Sample dose-response: the units' own potential outcomes Y_i(t) = y_i + beta (t - a_i), averaged.
    level = float(np.mean(y - _DOWHY_BETA * a))
    return BenchData(
        dgp="dowhy_linear",
        seed=seed,
        data=df,
        treatment=treatment,
        outcome=outcome,
        confounders=list(sim["common_causes_names"]),
        grid=grid,
        truth=_DOWHY_BETA * grid + level,
        description=(
            f"DoWhy linear_dataset, continuous treatment (beta={_DOWHY_BETA:g}, "
            f"{_DOWHY_COMMON_CAUSES} common causes, outcome noise sd {_DOWHY_OUTCOME_NOISE:g}): "
            "plumbing check"
        ),
    )


#: Data-generating processes by name: ``make(n, seed) -> BenchData``.
DGPS: dict[str, Callable[[int, int], BenchData]] = {
    "linear": _from_datasets("linear"),
    "nonlinear": _from_datasets("nonlinear"),
    "poor_overlap": _from_datasets("poor_overlap"),
    "dowhy_linear": _dowhy_linear,
}


def make_bench_data(dgp: str, n: int, seed: int) -> BenchData:
    """Draw one sample of ``dgp`` with ``n`` rows from ``seed``."""
    if dgp not in DGPS:
        raise ValueError(f"unknown data-generating process {dgp!r}; choose from {sorted(DGPS)}.")
    return DGPS[dgp](int(n), int(seed))


def describe(dgp: str) -> str:
    """A one-line description of a process (drawn from a tiny sample)."""
    return make_bench_data(dgp, 60, 0).description
