"""The outcome-stage benchmark: a tiny run end to end, runs added to one page, and the published page
rebuilt from its saved CSV."""

import json
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import stages

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_runs_add_up_on_one_page(tmp_path):
    tiny = ["--seeds", "1", "--n", "300", "--jobs", "1", "--out", str(tmp_path)]
    first = ["--dgps", "linear", "--stages", "weighted_5knots", "dr_augmented", "--n-bootstrap", "0"]
    assert stages.main([*first, *tiny]) == 0
    results = pd.read_csv(tmp_path / "outcome_stages.csv")
    assert len(results) == 2 and results.rmse.gt(0).all() and "coverage" not in results

    # The same fits with a bootstrap replace the rows without one; a new process is added.
    second = ["--dgps", "linear", "null", "--stages", "dr_augmented", "--n-bootstrap", "5", "--append"]
    assert stages.main([*second, *tiny]) == 0
    merged = pd.read_csv(tmp_path / "outcome_stages.csv")
    assert len(merged) == 3
    linear_dr = merged[(merged.dgp == "linear") & (merged.stage == "dr_augmented")]
    assert len(linear_dr) == 1 and linear_dr.n_bootstrap.iloc[0] == 5
    assert linear_dr.rmse.iloc[0] == results[results.stage == "dr_augmented"].rmse.iloc[0]
    assert 0 <= linear_dr.coverage.iloc[0] <= 1

    meta = json.loads((tmp_path / "outcome_stages.json").read_text())
    assert len(meta["commands"]) == 2 and "--append" in meta["commands"][1]
    page = (tmp_path / "outcome_stages.md").read_text()
    assert page.startswith("# Outcome stages") and all(f"`{c}`" in page for c in meta["commands"])


def test_the_published_page_is_generated_from_its_csv(tmp_path):
    for name in ("outcome_stages.csv", "outcome_stages.json"):
        (tmp_path / name).write_bytes((DOCS / name).read_bytes())
    assert stages.main(["--report-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "outcome_stages.md").read_text() == (DOCS / "outcome_stages.md").read_text()


def test_merged_rows_keep_the_newest_fit_with_a_bootstrap():
    keys = {"dgp": "linear", "n": 300, "seed": 1, "weighter": "eb1", "stage": "dr_augmented"}
    old = pd.DataFrame([{**keys, "multipliers": "poisson", "n_bootstrap": 200, "rmse": 1.0}])
    newer = pd.DataFrame([{**keys, "multipliers": "poisson", "n_bootstrap": 100, "rmse": 2.0}])
    no_boot = pd.DataFrame([{**keys, "multipliers": "poisson", "n_bootstrap": 0, "rmse": 3.0}])
    other = pd.DataFrame([{**keys, "multipliers": "exponential", "n_bootstrap": 100, "rmse": 4.0}])
    assert stages.merge_rows(old, newer).rmse.tolist() == [2.0]  # newer code, fewer replicates
    assert stages.merge_rows(newer, no_boot).rmse.tolist() == [2.0]  # the coverage is kept
    assert sorted(stages.merge_rows(newer, other).rmse) == [2.0, 4.0]  # another bootstrap


def test_weighters_are_named_with_their_parameters():
    approx = stages._weighter("eb1:max_imbalance=0.01,max_iter=500", 0)
    assert (approx.moments, approx.max_imbalance, approx.max_iter) == (1, 0.01, 500)
    assert stages._weighter("e2b:ridge=auto", 3).get_params()["random_state"] == 3
    with pytest.raises(ValueError, match="unknown weighter"):
        stages._weighter("gps", 0)
