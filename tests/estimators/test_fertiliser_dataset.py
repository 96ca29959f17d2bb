"""The fertiliser dataset: its closed-form curve, and roles that match its graph."""

import networkx as nx
import numpy as np
import pytest

from dowhy_e2b.datasets import GraphDoseResponseDataset, load_fertiliser

# As in test_datasets.py: the closed form against a Monte Carlo of do(nitrogen = t) with 200 000
# draws, within 5 Monte-Carlo standard errors (a correct closed form fails with probability < 1e-6).
MC_N = 200_000


def test_true_curve_matches_monte_carlo_of_the_intervention():
    ds = load_fertiliser(n_samples=2000, random_state=0)
    for i, t in enumerate([0.0, *np.quantile(ds.a, [0.05, 0.5, 0.95]), 300.0]):
        sim = load_fertiliser(n_samples=MC_N, random_state=100 + i, intervention=t)
        assert np.all(sim.a == t)
        se = sim.y.std() / np.sqrt(MC_N)
        assert abs(sim.y.mean() - float(ds.true_adrf(t))) < 5 * se, t


def test_curve_rises_then_falls_and_confounding_biases_the_naive_view():
    ds = load_fertiliser(n_samples=5000, random_state=1)
    grid = np.linspace(0, 300, 301)
    assert 115 <= grid[np.argmax(ds.true_adrf(grid))] <= 135
    # Poorer soils get more nitrogen and yield less by themselves.
    assert np.corrcoef(ds.data.organic_matter, ds.data.nitrogen)[0, 1] < -0.3
    assert ds.data.nitrogen.min() > 0


def test_roles_match_the_graph():
    ds = load_fertiliser(n_samples=300, random_state=2)
    assert isinstance(ds, GraphDoseResponseDataset)
    g = ds.graph()
    t, y = ds.treatment, ds.outcome
    assert nx.is_directed_acyclic_graph(g) and set(g.nodes) == set(ds.data.columns)
    assert 8 <= g.number_of_nodes() <= 12
    roles = [*ds.confounders, *ds.instruments, *ds.mediators, *ds.colliders, *ds.outcome_causes]
    assert sorted([*roles, t, y]) == sorted(ds.data.columns)
    for c in ds.confounders:
        assert g.has_edge(c, t) and g.has_edge(c, y)
    for z in ds.instruments:
        assert g.has_edge(z, t) and not nx.has_path(g.subgraph(set(g) - {t}), z, y)
    for m in ds.mediators:
        assert nx.has_path(g, t, m) and nx.has_path(g, m, y)
    for c in ds.colliders:
        assert nx.has_path(g, t, c) and nx.has_path(g, y, c) and not nx.has_path(g, c, y)
    for u in ds.outcome_causes:
        assert list(g.successors(u)) == [y] and not list(g.predecessors(u))
    assert str(ds.data.soil_type.dtype) == "category"
    assert ds.X.columns.tolist() == ds.confounders


def test_reproducible_per_seed():
    a = load_fertiliser(n_samples=400, random_state=3).data
    b = load_fertiliser(n_samples=400, random_state=3).data
    c = load_fertiliser(n_samples=400, random_state=4).data
    assert a.equals(b) and not a.equals(c)


@pytest.mark.parametrize("dose", [50.0, 150.0])
def test_intervention_changes_only_the_dose_and_its_descendants(dose):
    obs = load_fertiliser(n_samples=500, random_state=5).data
    sim = load_fertiliser(n_samples=500, random_state=5, intervention=dose).data
    g = load_fertiliser(n_samples=10).graph()
    after = nx.descendants(g, "nitrogen")
    for col in obs.columns:
        same = obs[col].equals(sim[col])
        assert same == (col not in after | {"nitrogen"}), col
