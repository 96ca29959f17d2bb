"""Smoke test of the warm-start measurement (``python -m benchmarks.warm_start``)."""

import numpy as np

from benchmarks.warm_start import measure_warm_start, summarise


def test_warm_start_measurement_runs_and_compares_with_full_retraining():
    rows = measure_warm_start("linear", 200, range(1), resamples=2, steps=(0, 3), params={"max_steps": 20})
    assert set(rows.refit) == {"full", "warm 0", "warm 3"}
    assert (rows[rows.refit == "warm 3"].steps <= 3).all()
    table = summarise(rows).set_index("refit")
    assert table.loc["full", "spread / full"] == 1.0
    assert np.isfinite(table["RMS distance to full / full spread"]).all()
