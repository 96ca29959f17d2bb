r"""Data-generating processes with a known average dose-response function.

Used by the tests, the documentation and the benchmarks. Each generator returns a
:class:`DoseResponseDataset`: a DataFrame, the roles of its columns, the causal graph, and the true
curve :math:`\mu(a) = E[Y(a)]`. Every generator takes ``intervention=value`` to simulate the
experiment do(treatment = value) instead: the mean outcome of such a sample estimates
:math:`\mu(\text{value})` by Monte Carlo, an independent check of the closed forms.

* :func:`make_linear` and :func:`make_nonlinear`: five standard-normal confounders, linear
  treatment assignment (the benchmark's development processes).
* :func:`make_poor_overlap`: the "simu1" process of VCNet (Nie et al., ICLR 2021), a do-no-harm
  case with strong confounding and thin overlap.
* :func:`load_lemonade`: a story dataset — how much lemon juice makes the best lemonade? — with a
  categorical confounder; the README's and notebooks' running example.
* :func:`load_fertiliser`: a larger graph — nitrogen fertiliser and wheat yield — with an
  instrument, a mediator, a collider, outcome-only causes and a categorical confounder
  (:class:`GraphDoseResponseDataset`: the graph and each variable's role come with the data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DATASETS",
    "DoseResponseDataset",
    "GraphDoseResponseDataset",
    "load_fertiliser",
    "load_lemonade",
    "make_dataset",
    "make_linear",
    "make_nonlinear",
    "make_poor_overlap",
]


@dataclass(frozen=True)
class DoseResponseDataset:
    """A dataset with a known average dose-response function.

    Attributes
    ----------
    data : pandas.DataFrame
        The observed table.
    treatment, outcome : str
        Column names of the treatment and the outcome.
    confounders : list of str
        Column names of the confounders (all of them affect both treatment and outcome).
    true_adrf : callable
        :math:`\\mu(a) = E[Y(a)]` on an array of treatment values.
    name : str
    description : str
    """

    data: pd.DataFrame
    treatment: str
    outcome: str
    confounders: list[str]
    true_adrf: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    name: str = ""
    description: str = field(default="", repr=False)

    @property
    def X(self) -> pd.DataFrame:
        """The confounders as a DataFrame (categorical columns kept as they are)."""
        return self.data[self.confounders].copy()

    @property
    def a(self) -> np.ndarray:
        """The treatment as a float array."""
        return self.data[self.treatment].to_numpy(dtype=float)

    @property
    def y(self) -> np.ndarray:
        """The outcome as a float array."""
        return self.data[self.outcome].to_numpy(dtype=float)

    def graph(self) -> Any:
        """The causal graph as a :class:`networkx.DiGraph`: confounders → treatment, confounders →
        outcome, treatment → outcome."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_edges_from((c, self.treatment) for c in self.confounders)
        g.add_edges_from((c, self.outcome) for c in self.confounders)
        g.add_edge(self.treatment, self.outcome)
        return g

    def default_grid(self, n_points: int = 50) -> np.ndarray:
        """``n_points`` treatment values between the 5th and 95th percentiles (the benchmark's grid)."""
        lo, hi = np.percentile(self.a, [5, 95])
        return np.linspace(lo, hi, n_points)


_B = np.array([0.8, 0.6, 0.4, 0.2, 0.0])
_C = np.array([1.0, 0.8, 0.0, 0.5, 1.0])


def _gaussian_confounders(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.standard_normal((n, 5))
    a = X @ _B + rng.standard_normal(n)
    return X, a


def _intervene(a: np.ndarray, intervention: float | None) -> np.ndarray:
    """The treatment, or the constant ``intervention`` (the do-operation) when one is given."""
    return a if intervention is None else np.full_like(a, float(intervention))


def _frame(X: np.ndarray, a: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    cols = {f"x{j + 1}": X[:, j] for j in range(X.shape[1])}
    return pd.DataFrame({**cols, "a": a, "y": y})


def make_linear(
    n_samples: int = 1000, random_state: Any = None, intervention: float | None = None
) -> DoseResponseDataset:
    r"""Linear effect with a quadratic confounder term.

    :math:`x \sim N(0, I_5)`, :math:`a = x^\top b + N(0, 1)`,
    :math:`y = a + x^\top c + 0.5 x_1^2 + N(0, 1)`, so :math:`\mu(a) = a + 0.5`
    (:math:`b = (0.8, 0.6, 0.4, 0.2, 0)`, :math:`c = (1, 0.8, 0, 0.5, 1)`).
    """
    rng = np.random.default_rng(random_state)
    X, a = _gaussian_confounders(n_samples, rng)
    a = _intervene(a, intervention)
    y = a + X @ _C + 0.5 * X[:, 0] ** 2 + rng.standard_normal(n_samples)
    return DoseResponseDataset(
        data=_frame(X, a, y),
        treatment="a",
        outcome="y",
        confounders=[f"x{j}" for j in range(1, 6)],
        true_adrf=lambda t: np.asarray(t, dtype=float) + 0.5,
        name="linear",
        description="linear effect, linear assignment, quadratic confounding term",
    )


def _nonlinear_mu(t: Any) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    return np.sin(1.5 * t) + 0.3 * t + 0.5


def make_nonlinear(
    n_samples: int = 1000, random_state: Any = None, intervention: float | None = None
) -> DoseResponseDataset:
    r"""Nonlinear effect with interacting confounders.

    :math:`x \sim N(0, I_5)`, :math:`a = x^\top b + N(0, 1)`,
    :math:`y = \sin(1.5a) + 0.3a + x^\top c + 0.5x_1x_2 + 0.5x_1^2 + N(0, 0.5^2)`, so
    :math:`\mu(a) = \sin(1.5a) + 0.3a + 0.5`.
    """
    rng = np.random.default_rng(random_state)
    X, a = _gaussian_confounders(n_samples, rng)
    a = _intervene(a, intervention)
    y = (
        np.sin(1.5 * a)
        + 0.3 * a
        + X @ _C
        + 0.5 * X[:, 0] * X[:, 1]
        + 0.5 * X[:, 0] ** 2
        + 0.5 * rng.standard_normal(n_samples)
    )
    return DoseResponseDataset(
        data=_frame(X, a, y),
        treatment="a",
        outcome="y",
        confounders=[f"x{j}" for j in range(1, 6)],
        true_adrf=_nonlinear_mu,
        name="nonlinear",
        description="nonlinear effect, linear assignment, interacting and quadratic confounding",
    )


#: :math:`E[4 \max(x_1, x_6)^3 \sin(x_4) / (1 + 2x_3^2)]` for independent uniforms, in closed form:
#: :math:`4 \cdot \tfrac{2}{5} \cdot (1 - \cos 1) \cdot \arctan(\sqrt2)/\sqrt2`.
_POOR_OVERLAP_CONSTANT = 4.0 * 0.4 * (1.0 - np.cos(1.0)) * np.arctan(np.sqrt(2.0)) / np.sqrt(2.0)


def _poor_overlap_mu(t: Any) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    return np.cos(2 * np.pi * (t - 0.5)) * (t**2 + _POOR_OVERLAP_CONSTANT)


def make_poor_overlap(
    n_samples: int = 500, random_state: Any = None, intervention: float | None = None
) -> DoseResponseDataset:
    r"""VCNet's "simu1" process: strong, nonlinear confounding and thin overlap.

    :math:`x \sim U[0, 1]^6`, :math:`a = \sigma(h(x) + N(0, 0.5^2))` with

    .. math::

        h(x) = \frac{10\sin(\max(x_1, x_2, x_3)) + \max(x_3, x_4, x_5)^3}{1 + (x_1 + x_5)^2}
            + \sin(0.5x_3)(1 + e^{x_4 - 0.5x_3}) + x_3^2 + 2\sin(x_4) + 2x_5 - 6.5,

    :math:`y = \cos(2\pi(a - 0.5))\,(a^2 + 4\max(x_1, x_6)^3 \sin(x_4) / (1 + 2x_3^2)) + N(0, 0.5^2)`.
    The expectation over :math:`x` factorises, so
    :math:`\mu(a) = \cos(2\pi(a - 0.5))(a^2 + K)` with :math:`K` in closed form (no Monte Carlo).
    """
    rng = np.random.default_rng(random_state)
    x = rng.uniform(size=(n_samples, 6))
    x1, x2, x3, x4, x5, x6 = x.T
    h = (
        (10 * np.sin(np.maximum.reduce([x1, x2, x3])) + np.maximum.reduce([x3, x4, x5]) ** 3)
        / (1 + (x1 + x5) ** 2)
        + np.sin(0.5 * x3) * (1 + np.exp(x4 - 0.5 * x3))
        + x3**2
        + 2 * np.sin(x4)
        + 2 * x5
        - 6.5
    )
    a = _intervene(1.0 / (1.0 + np.exp(-(h + 0.5 * rng.standard_normal(n_samples)))), intervention)
    y = np.cos(2 * np.pi * (a - 0.5)) * (
        a**2 + 4 * np.maximum(x1, x6) ** 3 / (1 + 2 * x3**2) * np.sin(x4)
    ) + 0.5 * rng.standard_normal(n_samples)
    return DoseResponseDataset(
        data=_frame(x, a, y),
        treatment="a",
        outcome="y",
        confounders=[f"x{j}" for j in range(1, 7)],
        true_adrf=_poor_overlap_mu,
        name="poor_overlap",
        description="VCNet simu1: strong nonlinear confounding, thin overlap (do-no-harm case)",
    )


_REGIONS = np.array(["city", "coast", "mountain", "valley"])
_REGION_P = np.array([0.3, 0.3, 0.2, 0.2])
_REGION_LEMON = np.array([0.5, 1.5, -1.5, -1.0])
_REGION_RATING = np.array([0.0, 0.3, -0.4, 0.1])


def _lemonade_mu(t: Any) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    return 5.0 + 2.5 * np.exp(-(((t - 11.0) / 4.0) ** 2)) + float(_REGION_P @ _REGION_RATING)


def load_lemonade(
    n_samples: int = 2000, random_state: Any = 0, intervention: float | None = None
) -> DoseResponseDataset:
    r"""How much lemon juice makes the best lemonade? A synthetic tasting study.

    Each row is one batch of lemonade rated by a taster. Recipe developers added more lemon
    (``lemon``, ml per litre) to sweeter batches, on hotter days and in some regions; the same
    conditions also raise the ``rating`` (0–10 scale) by themselves, so the naive curve is biased
    toward more lemon. The true average dose-response peaks at 11 ml/l:

    .. math:: \mu(a) = 5 + 2.5\exp(-((a - 11)/4)^2) + \textstyle\sum_r p_r \beta_r.

    Confounders: ``sugar`` (g/l), ``temperature`` (°C on the tasting day), ``age`` (taster's age,
    years) and ``region`` (categorical: city, coast, mountain, valley).

    Notes
    -----
    The dose is :math:`a = \log(1 + e^{\eta})` (softplus) of the linear index
    :math:`\eta = 10 + 0.12(s - 60) + 0.25(T - 24) + 0.02(g - 44) + \gamma_r + 2.5\varepsilon`: always
    positive, and within :math:`10^{-4}` of :math:`\eta` wherever :math:`\eta > 9`. The outcome is

    .. math::

        Y = 5 + 2.5 e^{-((a - 11)/4)^2} + 0.04(s - 60) + 0.08(T - 24) - 0.015(g - 44) + \beta_r
            + 0.03 (T - 24)(a - 10) + \varepsilon_Y,

    with :math:`s \sim N(60, 12^2)`, :math:`T \sim N(24, 5^2)`, :math:`g \sim U[18, 70]` and region
    :math:`r` drawn with probabilities :math:`p_r`. Under do(:math:`a`), the confounders keep their
    distribution, so :math:`\mu(a) = E[Y(a)]` averages each term over it: the centred terms have
    mean 0 (:math:`E[g] = 44`), the interaction :math:`0.03\,E[T - 24](a - 10) = 0` at every dose,
    and the region term averages to :math:`\sum_r p_r \beta_r`. How the dose is assigned does not
    enter :math:`\mu` at all, which is why the softplus leaves the curve above exact; the
    ``intervention=`` Monte Carlo in the tests checks it.
    """
    rng = np.random.default_rng(random_state)
    n = n_samples
    sugar = rng.normal(60.0, 12.0, n)
    temperature = rng.normal(24.0, 5.0, n)
    age = rng.uniform(18.0, 70.0, n)
    r = rng.choice(len(_REGIONS), size=n, p=_REGION_P)
    index = (
        10.0
        + 0.12 * (sugar - 60.0)
        + 0.25 * (temperature - 24.0)
        + 0.02 * (age - 44.0)
        + _REGION_LEMON[r]
        + 2.5 * rng.standard_normal(n)
    )
    lemon = _intervene(np.logaddexp(0.0, index), intervention)  # softplus: no negative lemon juice
    rating = (
        5.0
        + 2.5 * np.exp(-(((lemon - 11.0) / 4.0) ** 2))
        + 0.04 * (sugar - 60.0)
        + 0.08 * (temperature - 24.0)
        - 0.015 * (age - 44.0)
        + _REGION_RATING[r]
        + 0.03 * (temperature - 24.0) * (lemon - 10.0)
        + rng.standard_normal(n)
    )
    data = pd.DataFrame(
        {
            "sugar": sugar,
            "temperature": temperature,
            "age": age,
            "region": pd.Categorical(_REGIONS[r], categories=list(_REGIONS)),
            "lemon": lemon,
            "rating": rating,
        }
    )
    return DoseResponseDataset(
        data=data,
        treatment="lemon",
        outcome="rating",
        confounders=["sugar", "temperature", "age", "region"],
        true_adrf=_lemonade_mu,
        name="lemonade",
        description="lemon juice (ml/l) vs taste rating, confounded by sugar, temperature, age, region",
    )


@dataclass(frozen=True)
class GraphDoseResponseDataset(DoseResponseDataset):
    """A dataset with a known curve and a causal graph beyond confounders → treatment → outcome.

    Besides the confounders, the columns hold variables a graph-first analysis must *not* adjust
    for; their roles are listed so that tests and examples can check what is adjusted for.

    Attributes
    ----------
    edges : tuple of (str, str)
        The causal graph's edges (cause, effect); :meth:`graph` builds the graph from them.
    instruments : tuple of str
        Causes of the treatment only.
    mediators : tuple of str
        Variables on a causal path from the treatment to the outcome.
    colliders : tuple of str
        Common effects of the treatment and the outcome.
    outcome_causes : tuple of str
        Causes of the outcome only (precision variables).
    """

    edges: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    instruments: tuple[str, ...] = ()
    mediators: tuple[str, ...] = ()
    colliders: tuple[str, ...] = ()
    outcome_causes: tuple[str, ...] = ()

    def graph(self) -> Any:
        """The causal graph as a :class:`networkx.DiGraph` (every column is a node)."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(self.data.columns)
        g.add_edges_from(self.edges)
        return g


_SOILS = np.array(["clay", "loam", "sand", "silt"])
_SOIL_P = np.array([0.25, 0.35, 0.25, 0.15])
_SOIL_ORGANIC = np.array([3.2, 2.6, 1.6, 2.4])  # mean soil organic matter (%) by soil type
_SOIL_NITROGEN = np.array([10.0, 0.0, 25.0, -5.0])  # extra fertiliser (kg N/ha) by soil type
_SOIL_YIELD = np.array([0.3, 0.5, -0.6, 0.2])  # yield (t/ha) by soil type
#: Mean pest pressure: a Gamma(shape 2, scale 0.5) index.
_PEST_MEAN = 1.0
_RAIN_MEAN, _RAIN_SD = 450.0, 90.0
_FERTILISER_CONFOUNDERS = ["soil_type", "organic_matter", "rainfall", "farm_size"]
_FERTILISER_EDGES = (
    *((c, t) for c in _FERTILISER_CONFOUNDERS for t in ("nitrogen", "grain_yield")),
    ("soil_type", "organic_matter"),
    ("organic_matter", "leaf_nitrogen"),
    ("depot_distance", "nitrogen"),
    ("nitrogen", "leaf_nitrogen"),
    ("leaf_nitrogen", "grain_yield"),
    ("nitrogen", "grain_yield"),
    ("pest_pressure", "grain_yield"),
    ("sunshine", "grain_yield"),
    ("nitrogen", "gross_margin"),
    ("grain_yield", "gross_margin"),
)


def _uptake(t: Any) -> np.ndarray:
    """Share of the leaf's attainable nitrogen reached at fertiliser dose ``t`` (kg N/ha)."""
    return 1.0 - np.exp(-np.asarray(t, dtype=float) / 90.0)


def _fertiliser_mu(t: Any) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    organic = float(_SOIL_P @ _SOIL_ORGANIC) - 2.5  # E[organic_matter] - 2.5
    leaf = 2.0 + 2.2 * _uptake(t) + 0.15 * organic  # E[leaf_nitrogen | do(t)]
    return (
        1.0
        + 1.6 * leaf
        - 4e-5 * t**2
        + 0.5 * organic
        - 1e-5 * _RAIN_SD**2
        + float(_SOIL_P @ _SOIL_YIELD)
        - 0.4 * _PEST_MEAN
    )


def load_fertiliser(
    n_samples: int = 2000, random_state: Any = 0, intervention: float | None = None
) -> GraphDoseResponseDataset:
    r"""How much nitrogen fertiliser maximises wheat yield? A farm survey on a graph of 11 variables.

    Each row is one wheat field. Farmers chose the ``nitrogen`` dose (kg N/ha) knowing their soil
    (``soil_type``, categorical: clay, loam, sand, silt; ``organic_matter``, %), the season's
    ``rainfall`` (mm) and their ``farm_size`` (ha) — all of which also drive ``grain_yield`` (t/ha):
    they are the confounders. The other columns are there to be left alone:

    * ``depot_distance`` (km to the fertiliser depot) changes the dose only: an **instrument**;
    * ``leaf_nitrogen`` (% N in the flag leaves) carries most of the dose's effect: a **mediator**
      (adjusting for it would remove the effect it carries);
    * ``gross_margin`` (€/ha) is caused by the yield and by the fertiliser bill: a **collider**
      (adjusting for it would open a spurious path);
    * ``pest_pressure`` and ``sunshine`` (hours of sun in grain fill) affect the yield only:
      **outcome-only causes** (harmless to adjust for, and they sharpen the outcome model).

    Fertiliser raises yield through the leaves with diminishing returns and lowers it directly at
    high doses (lodging); the true average dose-response is

    .. math:: \mu(a) = c + 3.52\,(1 - e^{-a/90}) - 4\cdot10^{-5} a^2,

    rising to a maximum near 125 kg N/ha and falling beyond it (:math:`c` collects the averaged
    confounder terms, see Notes).

    Notes
    -----
    With :math:`u(a) = 1 - e^{-a/90}`, soil type :math:`r` drawn with probabilities
    :math:`p_r` = (0.25, 0.35, 0.25, 0.15), organic matter :math:`o = o_r + N(0, 0.5^2)`,
    rainfall :math:`R \sim N(450, 90^2)`, farm size :math:`\log F \sim N(\log 80, 0.6^2)`, depot
    distance :math:`D \sim U[1, 40]`, pests :math:`P \sim \Gamma(2, 0.5)` and sunshine
    :math:`S \sim N(300, 40^2)`:

    .. math::

        \eta &= 140 - 25(o - 2.5) + 0.12(R - 450) + 15\log(F/80) + \gamma_r - 1.5(D - 20)
            + 30\varepsilon_A, \quad A = 10\log(1 + e^{\eta/10}),\\
        L &= 2 + 2.2\,u(A) + 0.15(o - 2.5) + 0.25\varepsilon_L,\\
        Y &= 1 + 1.6L - 4\cdot10^{-5}A^2 + 0.5(o - 2.5) + 0.004(R - 450) - 10^{-5}(R - 450)^2
            + 0.25\log(F/80) + \beta_r - 0.4P + 0.006(S - 300) \\
          &\quad + 0.002(R - 450)\,u(A) + 0.6\varepsilon_Y,\\
        M &= 200Y - 1.1A + 40\varepsilon_M,

    with standard normal :math:`\varepsilon`. Under do(:math:`A = a`) the causes of the dose keep
    their distribution, so :math:`\mu(a) = E[Y(a)]` replaces each term by its mean: the centred
    terms vanish (:math:`E[\log(F/80)] = 0`, and the rain-by-uptake interaction has mean 0 at every
    dose), :math:`E[(R - 450)^2] = 90^2`, :math:`E[P] = 1`, :math:`E[o] = \sum_r p_r o_r` and the soil
    term averages to :math:`\sum_r p_r \beta_r`. The assignment (softplus, instrument) does not
    enter :math:`\mu`; the ``intervention=`` Monte Carlo in the tests checks the closed form.
    """
    rng = np.random.default_rng(random_state)
    n = n_samples
    r = rng.choice(len(_SOILS), size=n, p=_SOIL_P)
    organic = _SOIL_ORGANIC[r] + 0.5 * rng.standard_normal(n)
    rainfall = rng.normal(_RAIN_MEAN, _RAIN_SD, n)
    farm_size = np.exp(rng.normal(np.log(80.0), 0.6, n))
    depot_distance = rng.uniform(1.0, 40.0, n)
    pest_pressure = rng.gamma(2.0, _PEST_MEAN / 2.0, n)
    sunshine = rng.normal(300.0, 40.0, n)
    index = (
        140.0
        - 25.0 * (organic - 2.5)
        + 0.12 * (rainfall - _RAIN_MEAN)
        + 15.0 * np.log(farm_size / 80.0)
        + _SOIL_NITROGEN[r]
        - 1.5 * (depot_distance - 20.0)
        + 30.0 * rng.standard_normal(n)
    )
    nitrogen = _intervene(10.0 * np.logaddexp(0.0, index / 10.0), intervention)  # positive doses
    leaf = 2.0 + 2.2 * _uptake(nitrogen) + 0.15 * (organic - 2.5) + 0.25 * rng.standard_normal(n)
    rain = rainfall - _RAIN_MEAN
    grain_yield = (
        1.0
        + 1.6 * leaf
        - 4e-5 * nitrogen**2
        + 0.5 * (organic - 2.5)
        + 0.004 * rain
        - 1e-5 * rain**2
        + 0.25 * np.log(farm_size / 80.0)
        + _SOIL_YIELD[r]
        - 0.4 * pest_pressure
        + 0.006 * (sunshine - 300.0)
        + 0.002 * rain * _uptake(nitrogen)
        + 0.6 * rng.standard_normal(n)
    )
    gross_margin = 200.0 * grain_yield - 1.1 * nitrogen + 40.0 * rng.standard_normal(n)
    data = pd.DataFrame(
        {
            "soil_type": pd.Categorical(_SOILS[r], categories=list(_SOILS)),
            "organic_matter": organic,
            "rainfall": rainfall,
            "farm_size": farm_size,
            "depot_distance": depot_distance,
            "nitrogen": nitrogen,
            "leaf_nitrogen": leaf,
            "pest_pressure": pest_pressure,
            "sunshine": sunshine,
            "grain_yield": grain_yield,
            "gross_margin": gross_margin,
        }
    )
    return GraphDoseResponseDataset(
        data=data,
        treatment="nitrogen",
        outcome="grain_yield",
        confounders=list(_FERTILISER_CONFOUNDERS),
        true_adrf=_fertiliser_mu,
        name="fertiliser",
        description="nitrogen (kg/ha) vs wheat yield on an 11-variable graph: instrument, mediator, "
        "collider, outcome-only causes, categorical confounder",
        edges=_FERTILISER_EDGES,
        instruments=("depot_distance",),
        mediators=("leaf_nitrogen",),
        colliders=("gross_margin",),
        outcome_causes=("pest_pressure", "sunshine"),
    )


DATASETS: dict[str, Callable[..., DoseResponseDataset]] = {
    "linear": make_linear,
    "nonlinear": make_nonlinear,
    "poor_overlap": make_poor_overlap,
    "lemonade": load_lemonade,
}


def make_dataset(name: str, n_samples: int | None = None, random_state: Any = None) -> DoseResponseDataset:
    """A dataset by name: one of ``"linear"``, ``"nonlinear"``, ``"poor_overlap"``, ``"lemonade"``."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}.")
    kwargs: dict[str, Any] = {"random_state": random_state}
    if n_samples is not None:
        kwargs["n_samples"] = n_samples
    return DATASETS[name](**kwargs)
