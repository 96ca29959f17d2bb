import networkx as nx
import numpy as np
import pytest

from dowhy_e2b.datasets import DATASETS, load_lemonade, make_dataset

# Monte-Carlo check of each closed-form true curve: simulate do(a = t) with n = 200_000 draws and
# compare the mean outcome with mu(t). The tolerance is 5 Monte-Carlo standard errors (the
# standard deviation of the simulated outcomes over sqrt(n)), so a correct closed form fails with
# probability below 1e-6 per comparison.
MC_N = 200_000


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_true_curve_matches_monte_carlo_of_the_intervention(name):
    ds = make_dataset(name, n_samples=2000, random_state=0)
    for i, t in enumerate(np.quantile(ds.a, [0.1, 0.5, 0.9])):
        sim = DATASETS[name](n_samples=MC_N, random_state=100 + i, intervention=t)
        y = sim.y
        assert np.all(sim.a == t)
        se = y.std() / np.sqrt(MC_N)
        assert abs(y.mean() - float(ds.true_adrf(t))) < 5 * se, (name, t)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dataset_structure_and_graph(name):
    ds = make_dataset(name, n_samples=300, random_state=1)
    assert len(ds.data) == 300
    assert set(ds.confounders) | {ds.treatment, ds.outcome} == set(ds.data.columns)
    g = ds.graph()
    assert isinstance(g, nx.DiGraph) and nx.is_directed_acyclic_graph(g)
    assert g.has_edge(ds.treatment, ds.outcome)
    assert all(g.has_edge(c, ds.treatment) and g.has_edge(c, ds.outcome) for c in ds.confounders)
    grid = ds.default_grid(10)
    assert grid.shape == (10,) and np.all(np.isfinite(ds.true_adrf(grid)))


def test_reproducible_and_lemonade_is_confounded_with_a_categorical():
    a = load_lemonade(n_samples=500, random_state=3).data
    b = load_lemonade(n_samples=500, random_state=3).data
    assert a.equals(b)
    assert str(a["region"].dtype) == "category"
    # Confounding: sugar drives both the dose and the rating.
    assert np.corrcoef(a.sugar, a.lemon)[0, 1] > 0.3
    with pytest.raises(ValueError, match="unknown dataset"):
        make_dataset("nope")


def test_lemonade_has_no_negative_lemon_juice_and_its_curve_holds_at_small_doses():
    big = load_lemonade(n_samples=200_000, random_state=11)
    assert big.data.lemon.min() > 0
    assert (big.data.lemon < 1.0).sum() > 10  # the softplus acts in the lower tail
    for i, t in enumerate((0.5, 2.0)):  # doses the old generator's negative values sat near
        sim = load_lemonade(n_samples=MC_N, random_state=200 + i, intervention=t)
        se = sim.y.std() / np.sqrt(MC_N)
        assert abs(sim.y.mean() - float(big.true_adrf(t))) < 5 * se
