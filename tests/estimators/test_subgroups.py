"""Subgroup curves: one AverageDoseResponse per level of the effect modifier(s)."""

import numpy as np
import pandas as pd
import pytest

from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights, SubgroupDoseResponse
from dowhy_e2b.subgroups import discretise_modifiers


def _data(seed=0, n=1500):
    """Three groups whose dose slopes differ: -0.5, 0 and 1; a confounder x drives dose and outcome."""
    rng = np.random.default_rng(seed)
    g = rng.choice(3, size=n)
    x = rng.normal(size=n)
    a = 0.6 * x + 0.5 * (g - 1) + rng.normal(size=n)
    y = np.array([-0.5, 0.0, 1.0])[g] * a + x + rng.normal(size=n)
    groups = pd.Series(np.array(["a", "b", "c"])[g], name="group")
    return pd.DataFrame({"x": x}), a, y, groups


def test_one_curve_per_level_recovers_the_slopes():
    """n = 1500 (about 500 per group): the slope of each group's curve between doses -1 and 1 is
    within 0.3 of the truth (its bootstrap s.e. is about 0.08)."""
    X, a, y, groups = _data()
    sub = SubgroupDoseResponse(AverageDoseResponse(EntropyBalancingWeights(), n_bootstrap=30, random_state=0))
    sub.fit(X, a, y, modifiers=groups)
    assert sub.modifier_names_ == ["group"] and sorted(sub.estimators_) == [("a",), ("b",), ("c",)]
    table = sub.contrasts(1.0, -1.0)
    slopes = table.set_index("group")["effect"] / 2.0
    np.testing.assert_allclose(slopes.loc[["a", "b", "c"]], [-0.5, 0.0, 1.0], atol=0.3)
    assert np.all(table.ci_lower < table.effect) and np.all(table.effect < table.ci_upper)
    long = sub.dose_response_frame([-1.0, 0.0, 1.0])
    assert list(long.columns[:3]) == ["group", "treatment", "mean_outcome"] and len(long) == 9
    assert set(sub.derivative_frame([0.0]).group) == {"a", "b", "c"}
    assert len(sub.effect_curve(0.0, [1.0])) == 3


def test_numeric_modifiers_are_binned_and_small_levels_skipped():
    X, a, y, groups = _data(1, n=900)
    age = pd.Series(np.random.default_rng(2).uniform(20, 70, a.size), name="age")
    binned = discretise_modifiers(age.to_frame(), n_bins=3)
    assert binned["age"].nunique() == 3
    mods = pd.DataFrame({"group": groups.where(np.arange(a.size) >= 20, "tiny")})
    with pytest.warns(
        UserWarning, match=r"no curve for level\(s\) with fewer than 30 rows: group=tiny \(20 rows\)"
    ):
        sub = SubgroupDoseResponse(AverageDoseResponse(n_bootstrap=0)).fit(X, a, y, modifiers=mods)
    assert sub.skipped_ == {("tiny",): 20} and len(sub.estimators_) == 3
    with pytest.raises(ValueError, match="every level"):
        SubgroupDoseResponse(AverageDoseResponse(n_bootstrap=0), min_group_size=10_000).fit(
            X, a, y, modifiers=groups
        )
    with pytest.raises(ValueError, match="missing values"):
        SubgroupDoseResponse().fit(X, a, y, modifiers=groups.where(np.arange(a.size) > 0))
