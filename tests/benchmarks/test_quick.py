"""Smoke test of the benchmark suite: ``python -m benchmarks.run --quick`` end to end (CI runs it)."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks import run
from benchmarks.measure import measure
from benchmarks.methods import METHODS, Config, run_method
from benchmarks.metrics import band_coverage, centred, max_abs_weighted_corr, rmse, tail_mask
from benchmarks.report import _ratio, target_table

OURS = ["unweighted", "gps", "eb1", "eb2", "eb3", "e2b"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert run.main(["--quick", "--out", str(out), "--no-progress"]) == 0
    return out


def test_quick_mode_writes_results_page_and_plots(quick_run):
    results = pd.read_csv(quick_run / "benchmarks_results.csv")
    assert set(results["dgp"]) == set(run.DEFAULT_DGPS)
    ours = results[results["method"].isin(OURS)]
    assert len(ours) == len(OURS) * len(run.DEFAULT_DGPS)
    assert (ours["status"] == "ok").all(), ours[ours["status"] != "ok"][["dgp", "method", "error"]]
    assert np.isfinite(ours["rmse"]).all() and (ours["rmse"] > 0).all()
    assert np.isfinite(ours["coverage"]).all()
    # The DoWhy path runs, and reproduces the core path for the deterministic estimators.
    dowhy = results[
        results["method"].isin(["dowhy:unweighted", "dowhy:gps_weighting", "dowhy:entropy_balancing"])
    ]
    assert (dowhy["status"] == "ok").all()
    assert (dowhy["dowhy_core_max_diff"] < 1e-8).all()
    # Peers are either run or recorded as unavailable, never missing.
    peers = results[results["group"] == "peer"]
    assert peers["status"].isin(["ok", "error", "unavailable"]).all()
    page = (quick_run / "benchmarks.md").read_text()
    assert "## Targets" in page and "Quick mode" in page
    assert "python -m benchmarks.run --quick" in page
    for png in ("rmse.png", "curves.png"):
        assert (quick_run / "_static" / "benchmarks" / png).stat().st_size > 1000
    meta = json.loads((quick_run / "benchmarks_meta.json").read_text())
    assert meta["benchmark"]["quick"] is True and meta["benchmark"]["e2b_params"] == {"max_steps": 20}


def test_a_failing_method_is_recorded_not_raised():
    from benchmarks.dgps import make_bench_data

    data = make_bench_data("linear", 200, 0)

    def broken(data, config):
        raise RuntimeError("boom")

    method = METHODS["eb1"].__class__(
        "broken", "broken", "peer", "outcome model", broken, "raises on purpose"
    )
    row, curve = run_method(method, data, Config(n_bootstrap=0))
    assert row["status"] == "error" and "RuntimeError: boom" in row["error"] and curve is None
    row, curve = run_method(METHODS["ebal"], data, Config(), unavailable="No module named 'ebal'")
    assert row["status"] == "unavailable" and curve is None


def test_metrics():
    grid_truth = np.linspace(0, 1, 50)
    assert rmse(grid_truth + 0.5, grid_truth) == pytest.approx(0.5)
    assert rmse(centred(grid_truth + 0.5), centred(grid_truth)) == pytest.approx(0.0)
    mask = tail_mask(50)
    assert mask.sum() == 10 and mask[:5].all() and mask[-5:].all()
    pointwise, whole, width = band_coverage(grid_truth - 1, grid_truth + 1, grid_truth)
    assert (pointwise, whole, width) == (1.0, 1.0, 2.0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 2))
    a = X[:, 0] + rng.standard_normal(500)
    assert max_abs_weighted_corr(a, X) == pytest.approx(abs(np.corrcoef(a, X[:, 0])[0, 1]))


def test_ratio_and_targets():
    e = np.array([1.0, 2.0, 3.0])
    r, se = _ratio(e, 2 * e)
    assert r == pytest.approx(0.5) and se == pytest.approx(0.0, abs=1e-12)
    rows = []
    for seed in range(3):
        for method, value in [("e2b", 0.5), ("eb1", 1.0), ("unweighted", 2.0)]:
            rmse_value = value + 0.01 * seed
            rows.append(
                {"dgp": "nonlinear", "seed": seed, "method": method, "status": "ok", "rmse": rmse_value}
            )
    table = target_table(pd.DataFrame(rows))
    row = table.iloc[0]
    assert row["best"] == "eb1" and row["verdict"] == "met" and row["wins"] == 3


def test_measure_reports_time_and_memory():
    with measure("tracemalloc") as m:
        block = np.ones(2_000_000)
    assert m.wall_s >= 0 and m.peak_mb > 10
    with measure("rss") as m:
        block = np.ones(4_000_000) + 1
    assert m.peak_mb >= 0 and block.size == 4_000_000


def test_ablation_study_runs_and_writes_its_page(tmp_path, monkeypatch):
    from benchmarks import ablations

    monkeypatch.setattr(ablations, "VARIANTS", {"e2b": ({"max_steps": 5}, {}, "defaults")})
    monkeypatch.setattr(ablations, "VALIDATION_DGPS", {"null": ablations.VALIDATION_DGPS["null"]})
    results = ablations.run_ablations(range(2), n=200, jobs=1)
    assert set(results.method) == {"unweighted", "gps", "eb1", "eb2", "eb3", "e2b"}
    assert set(results.dgp) == {"linear", "nonlinear", "poor_overlap", "null"}
    assert np.isfinite(results.rmse).all()
    page = ablations.write_page(results, tmp_path, "python -m benchmarks.ablations --seeds 2")
    text = page.read_text()
    assert "### `nonlinear`" in text and "| e2b | defaults |" in text
    assert (tmp_path / "e2b_ablations.csv").exists()


def test_every_validation_process_builds_with_its_truth():
    from benchmarks.ablations import VALIDATION_DGPS

    for name, make in VALIDATION_DGPS.items():
        bench = make(150, 0)
        assert bench.truth.shape == bench.grid.shape and np.isfinite(bench.truth).all(), name
        assert set(bench.confounders) <= set(bench.data.columns), name


def test_ablation_command_line(tmp_path, monkeypatch):
    from benchmarks import ablations

    monkeypatch.setattr(ablations, "VARIANTS", {"e2b": ({"max_steps": 3}, {}, "defaults")})
    argv = ["--seeds", "2", "--variant-seeds", "1", "--highdim-seeds", "1", "--large-seeds", "1"]
    argv += ["--n", "150", "--no-validation", "--no-highdim", "--out", str(tmp_path)]
    assert ablations.main(argv) == 0
    text = (tmp_path / "e2b_ablations.md").read_text()
    assert "Does E2B ever do worse than entropy balancing?" in text and "`linear`" in text
