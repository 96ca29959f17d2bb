"""Dask inputs: exact quantiles, encoding, and the errors of unsupported or inconsistent input."""

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights, FlexibleOutcomeRegressor, GPSWeights
from dowhy_e2b.distributed import _data, is_dask, quantiles
from dowhy_e2b.distributed._data import chunked
from dowhy_e2b.exceptions import ColumnTypeError, MissingValueError

from .conftest import COVARIATES, frame

SYNC = {"scheduler": "synchronous"}


def test_is_dask_tells_collections_apart():
    arr = np.zeros((4, 2))
    assert is_dask(da.from_array(arr)) and is_dask(dd.from_pandas(pd.DataFrame(arr), npartitions=2))
    assert not is_dask(arr) and not is_dask(pd.DataFrame(arr))


@pytest.mark.parametrize("gather", [5, 10**6])
def test_quantiles_equal_numpy_with_ties_and_subsets(monkeypatch, gather):
    # gather=5 forces the histogram passes; ties (rounded values) must resolve exactly too.
    monkeypatch.setattr(quantiles, "GATHER_LIMIT", gather)
    rng = np.random.default_rng(0)
    a = np.round(rng.normal(size=3001), 2)
    X = rng.normal(size=(a.size, 1))
    data = chunked(da.from_array(X, chunks=(700, 1)), da.from_array(a, chunks=700))
    probs = np.array([0.0, 0.05, 0.25, 0.5, 0.777, 0.95, 1.0])
    with dask.config.set({**SYNC, "dowhy-e2b.quantile-bins": 16}):
        data.scan()
        specs = [("all",), ("fold_not", 7, 5, 2)]
        out, summaries = quantiles.chunked_quantiles(data, quantiles.treatment_values, specs, [probs, probs])
    folds = quantiles.folds_at(7, np.arange(a.size), 5)
    np.testing.assert_array_equal(out[0], np.quantile(a, probs))
    np.testing.assert_array_equal(out[1], np.quantile(a[folds != 2], probs))
    assert summaries[1].count == int((folds != 2).sum())


def test_categorical_columns_are_encoded_as_in_memory():
    df = frame(200)
    df["kind"] = np.where(df["x1"] > 0, "high", "low")  # text column: levels found in a pass
    ddf = dd.from_pandas(df, npartitions=3)
    with dask.config.set(SYNC):
        data = chunked(ddf[["x1", "region", "kind"]], ddf["a"])
        X = np.vstack([part.compute()[0] for part in data.parts])
    from dowhy_e2b._validation import encode_frame

    expected, names = encode_frame(df[["x1", "region", "kind"]])
    assert data.names == names
    np.testing.assert_array_equal(X, expected)


def test_unknown_categories_missing_values_and_misaligned_partitions_are_refused():
    df = frame(200)
    ddf = dd.from_pandas(df, npartitions=2)
    unknown = ddf.assign(region=ddf["region"].cat.as_unknown())
    with pytest.raises(ColumnTypeError, match="unknown categories"):
        AverageDoseResponse(n_bootstrap=0).fit(unknown[[*COVARIATES, "region"]], ddf["a"], ddf["y"])
    holes = df.copy()
    holes.loc[5, "x2"] = np.nan
    dholes = dd.from_pandas(holes, npartitions=2)
    with dask.config.set(SYNC), pytest.raises(MissingValueError, match="x2"):
        EntropyBalancingWeights().fit(dholes[COVARIATES], dholes["a"])
    with pytest.raises(ValueError, match="partitions"):
        EntropyBalancingWeights().fit(ddf[COVARIATES], da.from_array(df["a"].to_numpy(), chunks=70))
    with pytest.raises(TypeError, match="Dask Series or array"):
        EntropyBalancingWeights().fit(ddf[COVARIATES], df["a"].to_numpy())


def test_models_that_cannot_be_chunked_are_refused():
    from sklearn.ensemble import RandomForestRegressor

    ddf = dd.from_pandas(frame(200), npartitions=2)
    with pytest.raises(TypeError, match="FlexibleOutcomeRegressor"):
        AverageDoseResponse(outcome_regressor=RandomForestRegressor()).fit(
            ddf[COVARIATES], ddf["a"], ddf["y"]
        )
    with pytest.raises(TypeError, match="least squares"):
        GPSWeights(regressor=RandomForestRegressor()).fit(ddf[COVARIATES], ddf["a"])
    # the default outcome model is accepted, explicitly too
    with dask.config.set(SYNC):
        AverageDoseResponse(outcome_regressor=FlexibleOutcomeRegressor(), n_bootstrap=0).fit(
            ddf[COVARIATES], ddf["a"], ddf["y"]
        )


def test_partial_sums_add_up_whatever_the_split():
    from dowhy_e2b.distributed._chunks import CoMoments, LogSumExp, Moments

    rng = np.random.default_rng(1)
    V, u, w = rng.normal(size=(50, 3)) * 10 + 5, rng.normal(size=50), rng.uniform(size=50)
    whole, parts = Moments.of(V, w), Moments.of(V[:17], w[:17]) + Moments.of(V[17:], w[17:])
    np.testing.assert_allclose(parts.mean, whole.mean)
    np.testing.assert_allclose(parts.var, whole.var)
    cm = CoMoments.of(u[:20], V[:20], w[:20]) + CoMoments.of(u[20:], V[20:], w[20:])
    np.testing.assert_allclose(cm.corr(), CoMoments.of(u, V, w).corr())
    z = rng.normal(size=50) * 30
    lse = LogSumExp.of(z[:10], V[:10]) + LogSumExp.of(z[10:], V[10:])
    full = LogSumExp.of(z, V)
    assert lse.lse == pytest.approx(full.lse)
    np.testing.assert_allclose(lse.g / lse.s, full.g / full.s)
    np.testing.assert_allclose(lse.H / lse.s, full.H / full.s)
    assert _data.add(None, 3) == 3
