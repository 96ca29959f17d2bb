"""A two-process Dask cluster shared by the distributed tests, and small data with a categorical."""

import logging

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from dowhy_e2b.datasets import make_nonlinear


@pytest.fixture(scope="session")
def client():
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def frame(n: int = 500, seed: int = 3) -> pd.DataFrame:
    """Covariates x1..x5, a categorical 'region', treatment, outcome and survey weights."""
    ds = make_nonlinear(n_samples=n, random_state=seed)
    rng = np.random.default_rng(seed)
    df = ds.X.copy()
    df["region"] = pd.Categorical(
        rng.choice(["north", "south", "east"], n), categories=["east", "north", "south"]
    )
    df["a"], df["y"] = ds.a, ds.y
    df["sw"] = rng.uniform(0.5, 2.0, n)
    return df


COVARIATES = ["x1", "x2", "x3", "x4", "x5"]
