"""Data-generating processes of the benchmark, each with its true average dose-response curve.

Every process lives in one registry, :data:`DGPS` (``make(n, seed) -> BenchData``), in four groups:

* :data:`DEVELOPMENT_DGPS` — the development processes of :mod:`dowhy_e2b.datasets`: ``linear``,
  ``nonlinear`` (five standard-normal confounders, linear assignment) and ``poor_overlap`` (VCNet's
  "simu1", a do-no-harm case). E2B's defaults were first chosen on seeds 0-9 of these.
* :data:`VALIDATION_DGPS` — processes that played no part in the first tuning: ``interaction``,
  ``highdim`` (20 covariates), ``null``, ``skewed`` and ``lemonade``.
* :data:`HIGHDIM_DGPS` — many covariates, most of them irrelevant: ``sparse40``/``sparse100``
  (correlated Gaussian covariates, ten confounders with nonlinear assignment and outcome, the rest
  pure noise) and ``mixed40``/``mixed100`` (Gaussian, binary and skewed covariates; a dense
  assignment through a saturating index and an outcome with a dose interaction).
* ``dowhy_linear`` — DoWhy's own ``linear_dataset`` with a continuous treatment: a plumbing check
  (every method that adjusts for the confounders should be nearly exact there). Its truth is the
  *sample* dose-response :math:`\\frac1n\\sum_i Y_i(a)`, which that linear process gives exactly:
  :math:`\\beta a + \\overline{y - \\beta t}`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from dowhy_e2b.datasets import make_dataset

__all__ = [
    "DEVELOPMENT_DGPS",
    "DGPS",
    "GRID_POINTS",
    "HIGHDIM_DGPS",
    "VALIDATION_DGPS",
    "BenchData",
    "legacy_global_seed",
    "make_bench_data",
]

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


def _intervene(a: np.ndarray, intervention: float | None) -> np.ndarray:
    """The treatment, or the constant ``intervention`` (do(a = value)) when one is given."""
    return a if intervention is None else np.full_like(a, float(intervention))


def _from_arrays(
    X: np.ndarray,
    a: np.ndarray,
    y: np.ndarray,
    mu: Callable[[Any], np.ndarray],
    name: str,
    seed: int,
    description: str,
    extra: dict[str, Any] | None = None,
) -> BenchData:
    cols = {f"x{j + 1}": X[:, j] for j in range(X.shape[1])}
    extra = extra or {}
    grid = _grid(a)
    return BenchData(
        dgp=name,
        seed=seed,
        data=pd.DataFrame({**cols, **extra, "a": a, "y": y}),
        treatment="a",
        outcome="y",
        confounders=[*cols, *extra],
        grid=grid,
        truth=np.asarray(mu(grid), dtype=float),
        description=description,
    )


def _interaction(n: int, seed: int, intervention: float | None = None) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 6))
    a = 0.6 * X[:, 0] + 0.6 * np.sin(2 * X[:, 1]) + 0.4 * X[:, 2] ** 2 - 0.4 + r.standard_normal(n)
    a = _intervene(a, intervention)

    def mu(t: Any) -> np.ndarray:
        return 2 / (1 + np.exp(-2 * np.asarray(t)))

    y = mu(a) + X[:, 0] + 0.7 * X[:, 1] * X[:, 2] + 0.5 * X[:, 3] + (0.5 * X[:, 0] + 0.3 * X[:, 4]) * a
    return _from_arrays(
        X,
        a,
        y + r.standard_normal(n),
        mu,
        "interaction",
        seed,
        "nonlinear assignment (a sine and a square), logistic curve, confounder-dose interaction",
    )


def _highdim(n: int, seed: int, intervention: float | None = None) -> BenchData:
    r = np.random.default_rng(seed)
    d = 20
    L = np.linalg.cholesky(0.3 + 0.7 * np.eye(d))
    X = r.standard_normal((n, d)) @ L.T
    b = np.zeros(d)
    b[:4] = [0.6, 0.5, -0.4, 0.3]
    c = np.zeros(d)
    c[[0, 2, 5, 6, 7]] = [1.0, 0.8, 0.6, -0.5, 0.5]
    a = X @ b + r.standard_normal(n)
    a = _intervene(a, intervention)

    def mu(t: Any) -> np.ndarray:
        t = np.asarray(t)
        return 0.5 * t - 0.2 * t**2

    y = mu(a) + X @ c + 0.5 * (X[:, 0] ** 2 - 1) + r.standard_normal(n)
    return _from_arrays(
        X,
        a,
        y,
        mu,
        "highdim",
        seed,
        "20 equicorrelated covariates, sparse linear assignment, quadratic curve",
    )


def _null(n: int, seed: int, intervention: float | None = None) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 5))
    a = X @ np.array([0.8, 0.6, 0.4, 0.2, 0.0]) + r.standard_normal(n)
    a = _intervene(a, intervention)
    y = X @ np.array([1, 0.8, 0, 0.5, 1]) + 0.5 * X[:, 0] * X[:, 1] + 0.5 * X[:, 0] ** 2
    return _from_arrays(
        X,
        a,
        y + 0.5 * r.standard_normal(n),
        lambda t: np.full(np.shape(t), 0.5),
        "null",
        seed,
        "nonlinear's confounding with a flat true curve",
    )


def _skewed(n: int, seed: int, intervention: float | None = None) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 4))
    a = np.exp(0.4 * X[:, 0] + 0.3 * X[:, 1] + 0.2 * X[:, 2] + 0.5 * r.standard_normal(n))
    a = _intervene(a, intervention)

    def mu(t: Any) -> np.ndarray:
        return 2 * np.log1p(np.asarray(t)) + 1.0

    y = 2 * np.log1p(a) + X[:, 0] + X[:, 1] ** 2 + 0.5 * X[:, 3] + 0.5 * r.standard_normal(n)
    return _from_arrays(X, a, y, mu, "skewed", seed, "log-normal dose, logarithmic curve")


#: Seed of the fixed column order of the high-dimensional processes: the table shows the
#: covariates shuffled, so that the confounders are not simply its first columns.
_COLUMN_ORDER_SEED = 4242


def _column_order(p: int) -> np.ndarray:
    return np.random.default_rng(_COLUMN_ORDER_SEED + p).permutation(p)


#: Correlation of neighbouring covariates in the ``sparse`` processes (AR(1): 0.5^|j - k|).
_SPARSE_RHO = 0.5


def _sparse(p: int) -> Callable[[int, int], BenchData]:
    r"""``sparse{p}``: ``p`` AR(1)-correlated Gaussian covariates, ten of them confounders.

    :math:`a = 0.5x_1 + 0.4x_2 - 0.3x_3 + 0.3(x_4^2 - 1) + 0.5\sin(2x_5) + 0.3x_6x_7
    + 0.2(x_8 + x_9 + x_{10}) + N(0, 1)`;
    :math:`y = \mu(a) + 0.8x_1 + 0.6x_2 + 0.5(x_4^2 - 1) + 0.5x_5x_6 + 0.6\tanh(2x_8) + 0.4x_9
    - 0.4x_{10} + 0.5x_{11} + N(0, 1)` with :math:`\mu(a) = 0.6a + \sin(a) + 0.25`
    (:math:`E[x_5x_6] = 0.5`). Covariates 12 to ``p`` are pure noise. The table lists the
    covariates in a fixed shuffled order.
    """

    def curve(t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return 0.6 * t + np.sin(t) + 0.5 * _SPARSE_RHO

    def make(n: int, seed: int, intervention: float | None = None) -> BenchData:
        r = np.random.default_rng(seed)
        X = np.empty((n, p))
        X[:, 0] = r.standard_normal(n)
        for j in range(1, p):
            X[:, j] = _SPARSE_RHO * X[:, j - 1] + np.sqrt(1 - _SPARSE_RHO**2) * r.standard_normal(n)
        x = X.T
        a = (
            0.5 * x[0]
            + 0.4 * x[1]
            - 0.3 * x[2]
            + 0.3 * (x[3] ** 2 - 1)
            + 0.5 * np.sin(2 * x[4])
            + 0.3 * x[5] * x[6]
            + 0.2 * (x[7] + x[8] + x[9])
            + r.standard_normal(n)
        )
        a = _intervene(a, intervention)
        y = (
            0.6 * a
            + np.sin(a)
            + 0.8 * x[0]
            + 0.6 * x[1]
            + 0.5 * (x[3] ** 2 - 1)
            + 0.5 * x[4] * x[5]
            + 0.6 * np.tanh(2 * x[7])
            + 0.4 * x[8]
            - 0.4 * x[9]
            + 0.5 * x[10]
            + r.standard_normal(n)
        )
        return _from_arrays(
            X[:, _column_order(p)],
            a,
            y,
            curve,
            f"sparse{p}",
            seed,
            f"{p} AR(1)-correlated covariates, 10 confounders (nonlinear assignment and outcome), "
            f"{p - 11} pure noise",
        )

    return make


#: Seed of the fixed coefficients of the ``mixed`` processes (part of the process, not of a sample).
_MIXED_COEF_SEED = 20240607


def _mixed(p: int) -> Callable[[int, int], BenchData]:
    r"""``mixed{p}``: Gaussian, binary and log-normal covariates; dense, saturating assignment.

    Half the covariates are equicorrelated Gaussians (correlation 0.3), a quarter binary (a latent
    Gaussian thresholded at 0.5), a quarter log-normal; :math:`z` are the covariates standardised
    with their population moments. Index :math:`s = z^\top\beta` over the first 20 covariates
    (fixed random coefficients, :math:`\lVert\beta\rVert = 1`); :math:`a = 2\tanh(s) + N(0, 0.8^2)`;
    :math:`y = \mu(a) + s + 0.5(u^2 - 1) + 0.4 z_1 a + z^\top\gamma + N(0, 1)` with :math:`u` a
    unit-variance index of the Gaussian covariates among the first 20, :math:`\gamma` fixed random
    on covariates 11-30 (outcome-only predictors) and :math:`\mu(a) = 1.5/(1 + e^{-2a}) + 0.5`.
    The remaining covariates are pure noise. The table lists the covariates in a fixed shuffled
    order.
    """
    coef = np.random.default_rng(_MIXED_COEF_SEED)
    n_active = min(20, p)
    beta = coef.standard_normal(n_active)
    beta /= np.linalg.norm(beta)
    gamma = np.zeros(p)
    gamma[10 : min(30, p)] = 0.3 * coef.standard_normal(min(30, p) - 10)
    kinds = np.arange(p) % 4  # 0, 1: Gaussian; 2: binary; 3: log-normal
    gaussian = np.flatnonzero(kinds[:n_active] < 2)
    beta_u = coef.standard_normal(gaussian.size)
    corr = 0.7 * np.eye(gaussian.size) + 0.3  # the Gaussians' correlation matrix
    beta_u /= np.sqrt(beta_u @ corr @ beta_u)
    p_binary = 0.3085375387259869  # P(N(0, 1) > 0.5)
    mean = np.select([kinds == 2, kinds == 3], [p_binary, np.exp(0.18)], 0.0)
    sd = np.select(
        [kinds == 2, kinds == 3],
        [np.sqrt(p_binary * (1 - p_binary)), np.sqrt((np.exp(0.36) - 1) * np.exp(0.36))],
        1.0,
    )

    def curve(t: Any) -> np.ndarray:
        return 1.5 / (1 + np.exp(-2 * np.asarray(t, dtype=float))) + 0.5

    def make(n: int, seed: int, intervention: float | None = None) -> BenchData:
        r = np.random.default_rng(seed)
        latent = np.sqrt(0.3) * r.standard_normal((n, 1)) + np.sqrt(0.7) * r.standard_normal((n, p))
        X = latent.copy()
        X[:, kinds == 2] = (latent[:, kinds == 2] > 0.5).astype(float)
        X[:, kinds == 3] = np.exp(0.6 * latent[:, kinds == 3])
        Z = (X - mean) / sd
        s = Z[:, :n_active] @ beta
        u = Z[:, gaussian] @ beta_u
        a = 2 * np.tanh(s) + 0.8 * r.standard_normal(n)
        a = _intervene(a, intervention)
        y = curve(a) + s + 0.5 * (u**2 - 1) + 0.4 * Z[:, 0] * a + Z @ gamma + r.standard_normal(n)
        return _from_arrays(
            X[:, _column_order(p)],
            a,
            y,
            curve,
            f"mixed{p}",
            seed,
            f"{p} covariates (Gaussian, binary, log-normal), dense saturating assignment, "
            "quadratic index and a dose interaction in the outcome",
        )

    return make


# -- processes that stress the outcome stage (coverage of the bands, size of the tests) ------------


def _heavy_tailed(n: int, seed: int, intervention: float | None = None) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 5))
    a = _intervene(X @ np.array([0.7, 0.5, 0.3, 0.0, 0.2]) + r.standard_t(3, n), intervention)

    def mu(t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return np.tanh(t) + 0.2 * t + 0.5

    y = mu(a) - 0.5 + X @ np.array([1.0, 0.5, 0.0, 0.5, -0.5]) + 0.5 * X[:, 0] ** 2 + r.standard_normal(n)
    return _from_arrays(X, a, y, mu, "heavy_tailed", seed, "Student-t (3 d.f.) dose noise, S-shaped curve")


def _confounded_null(n: int, seed: int, intervention: float | None = None) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 5))
    a = 1.2 * X[:, 0] + 0.8 * X[:, 1] + 0.5 * (X[:, 2] ** 2 - 1) + 0.6 * r.standard_normal(n)
    a = _intervene(a, intervention)
    y = 2.0 * X[:, 0] + X[:, 1] ** 2 + X[:, 0] * X[:, 2] + 0.8 * np.sin(2 * X[:, 1]) + r.standard_normal(n)
    return _from_arrays(
        X,
        a,
        y,
        lambda t: np.full(np.shape(t), 1.0),
        "confounded_null",
        seed,
        "strong nonlinear confounding, no effect of the dose (flat truth)",
    )


def _heteroscedastic(n: int, seed: int, intervention: float | None = None) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 4))
    a = _intervene(X @ np.array([0.6, 0.6, 0.3, 0.0]) + r.standard_normal(n), intervention)

    def mu(t: Any) -> np.ndarray:
        return 2.0 / (1.0 + np.exp(-1.5 * np.asarray(t, dtype=float)))

    sd = 0.3 + 0.5 * np.abs(a) + 0.4 * np.abs(X[:, 0])
    y = mu(a) + X @ np.array([1.0, -0.7, 0.5, 0.5]) + sd * r.standard_normal(n)
    return _from_arrays(X, a, y, mu, "heteroscedastic", seed, "noise growing with the dose and a confounder")


_GROUP_SLOPES = np.array([-0.5, 0.0, 1.0])
_GROUP_P = np.array([0.3, 0.4, 0.3])


def _modified(n: int, seed: int, intervention: float | None = None) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 3))
    g = r.choice(3, size=n, p=_GROUP_P)
    a = _intervene(X @ np.array([0.6, 0.4, 0.0]) + 0.5 * (g - 1) + r.standard_normal(n), intervention)
    slope, level = float(_GROUP_P @ _GROUP_SLOPES), 0.3 * float(_GROUP_P @ np.arange(3))

    def mu(t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return slope * t - 0.3 * t**2 + level

    y = -0.3 * a**2 + _GROUP_SLOPES[g] * a + X @ np.array([1.0, 0.5, 0.5]) + 0.3 * g + r.standard_normal(n)
    group = pd.Categorical(np.array(["a", "b", "c"])[g], categories=["a", "b", "c"])
    return _from_arrays(
        X,
        a,
        y,
        mu,
        "modified",
        seed,
        "the dose's slope differs between three groups (a categorical confounder)",
        extra={"group": group},
    )


def _wide(n: int, seed: int, intervention: float | None = None) -> BenchData:
    r = np.random.default_rng(seed)
    d = 40
    X = r.standard_normal((n, d)) @ np.linalg.cholesky(0.2 + 0.8 * np.eye(d)).T
    b = np.zeros(d)
    b[:10] = np.linspace(0.5, 0.1, 10)
    a = X @ b + 0.3 * np.tanh(X[:, 0] * X[:, 1]) + 0.8 * r.standard_normal(n)
    a = _intervene(a, intervention)

    def mu(t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        # E[x1 x2] = 0.2 (the covariates' correlation) and E|x3| = sqrt(2 / pi).
        return np.sin(t) + 0.5 * t + 0.5 * 0.2 + 0.5 * np.sqrt(2 / np.pi)

    c = np.zeros(d)
    c[:10] = np.linspace(0.2, 0.6, 10)
    y = np.sin(a) + 0.5 * a + X @ c + 0.5 * X[:, 0] * X[:, 1] + 0.5 * np.abs(X[:, 2]) + r.standard_normal(n)
    return _from_arrays(
        X,
        a,
        y,
        mu,
        "wide",
        seed,
        "40 correlated covariates (10 confounders), nonlinear assignment and outcome",
    )


#: Data-generating processes by name: ``make(n, seed) -> BenchData``.
DGPS: dict[str, Callable[[int, int], BenchData]] = {
    "linear": _from_datasets("linear"),
    "nonlinear": _from_datasets("nonlinear"),
    "poor_overlap": _from_datasets("poor_overlap"),
    "dowhy_linear": _dowhy_linear,
    "interaction": _interaction,
    "highdim": _highdim,
    "null": _null,
    "skewed": _skewed,
    "lemonade": _from_datasets("lemonade"),
    "sparse40": _sparse(40),
    "sparse100": _sparse(100),
    "mixed40": _mixed(40),
    "mixed100": _mixed(100),
    "heavy_tailed": _heavy_tailed,
    "confounded_null": _confounded_null,
    "heteroscedastic": _heteroscedastic,
    "modified": _modified,
    "wide": _wide,
}
#: The development processes.
DEVELOPMENT_DGPS = ("linear", "nonlinear", "poor_overlap")
#: Processes that played no part in choosing E2B's first defaults.
VALIDATION_DGPS = ("interaction", "highdim", "null", "skewed", "lemonade")
#: Many covariates, most of them irrelevant (run at n = 1000 and 4000 by the ablation study).
HIGHDIM_DGPS = ("sparse40", "sparse100", "mixed40", "mixed100")
#: Processes written to stress the outcome stage: heavy tails, a strongly confounded null,
#: heteroscedastic noise, effect modification, 40 covariates. They played no part in choosing E2B's
#: defaults.
CURVE_DGPS = ("heavy_tailed", "confounded_null", "heteroscedastic", "modified", "wide")


def make_bench_data(dgp: str, n: int, seed: int) -> BenchData:
    """Draw one sample of ``dgp`` with ``n`` rows from ``seed``."""
    if dgp not in DGPS:
        raise ValueError(f"unknown data-generating process {dgp!r}; choose from {sorted(DGPS)}.")
    return DGPS[dgp](int(n), int(seed))


def describe(dgp: str) -> str:
    """A one-line description of a process (drawn from a tiny sample)."""
    return make_bench_data(dgp, 60, 0).description
