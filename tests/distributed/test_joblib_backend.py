"""Audit and refuter simulations dispatch through joblib's Dask backend when asked to."""

import joblib
import pandas as pd
from distributed import get_task_stream
from dowhy import CausalModel

import dowhy_e2b
from dowhy_e2b.datasets import load_lemonade


def test_audit_runs_its_refits_on_the_dask_cluster(client, monkeypatch):
    monkeypatch.setattr("dowhy_e2b.adapters.audit.running.PARALLEL_MIN_SECONDS", 0.0)  # workers even if fast
    ds = load_lemonade(n_samples=300, random_state=5)
    model = CausalModel(data=ds.data, treatment=ds.treatment, outcome=ds.outcome, graph=ds.graph())
    estimand = model.identify_effect()
    est = model.estimate_effect(
        estimand,
        method_name="entropy_balancing",
        treatment_value=11.0,
        control_value=6.0,
        method_params={"n_bootstrap": 10, "dose_grid": 10, "random_state": 0},
    )
    kwargs = {"checks": ["placebo"], "num_simulations": 3, "random_state": 1}
    with get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
        on_cluster = dowhy_e2b.audit(model, estimand, est, n_jobs=-1, **kwargs)
    assert on_cluster.settings["audit"]["workers"] == 2  # the cluster's two worker processes
    # the refits after the first ran as tasks on the cluster's workers
    ran = [t for t in stream.data if "refute_once" in t["key"] or "batch_of" in t["key"]]
    assert len(ran) >= 1 and {t["worker"] for t in ran} <= set(client.scheduler_info()["workers"])
    serial = dowhy_e2b.audit(model, estimand, est, n_jobs=1, **kwargs)
    pd.testing.assert_frame_equal(on_cluster.simulations, serial.simulations)
