"""Sensitivity bounds through DoWhy: on an estimate, in the audit, on the command line."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from dowhy import CausalModel
from dowhy_e2b.adapters.cli import main

import dowhy_e2b
from dowhy_e2b.datasets import load_lemonade


@pytest.fixture(scope="module")
def setting():
    ds = load_lemonade(n_samples=400, random_state=5)
    model = CausalModel(data=ds.data, treatment=ds.treatment, outcome=ds.outcome, graph=ds.graph())
    estimand = model.identify_effect()
    est = model.estimate_effect(
        estimand,
        method_name="entropy_balancing",
        treatment_value=11.0,
        control_value=6.0,
        method_params={"n_bootstrap": 30, "dose_grid": 10, "random_state": 0},
    )
    return ds, model, estimand, est


@pytest.fixture(scope="module")
def result(setting):
    *_, est = setting
    return dowhy_e2b.sensitivity(est, r2_outcome=[0.0, 0.05, 0.1])


def test_on_a_dowhy_estimate(setting, result):
    ds, _, _, est = setting
    assert (result.treatment_value, result.control_value) == (11.0, 6.0)  # the estimate's contrast
    c0 = result.contrast_table.iloc[0]
    assert c0.estimate == pytest.approx(est.value, rel=1e-9)
    lo, hi = est.get_confidence_intervals()
    assert (c0.ci_lower, c0.ci_upper) == pytest.approx((lo, hi), rel=1e-9)
    assert set(result.benchmarks.covariate) == set(ds.confounders)  # data columns, not dummies
    assert len(result.table) == 9 * 10
    # The estimator works too, and the data cannot be passed twice.
    assert dowhy_e2b.sensitivity(est.estimator, benchmark_covariates=None).robustness_value == pytest.approx(
        result.robustness_value
    )
    with pytest.raises(ValueError, match="taken from the DoWhy estimate"):
        dowhy_e2b.sensitivity(est, ds.X, ds.a, ds.y)


def test_audit_reports_the_robustness_value_and_the_benchmarks(setting, result):
    _, model, estimand, est = setting
    report = dowhy_e2b.audit(
        model,
        estimand,
        est,
        checks=["unobserved_common_cause", "sensitivity"],
        sensitivity_result=result,
        random_state=0,
        n_jobs=1,
    )
    assert report.sensitivity is result  # given, not computed again
    rows = report.table[report.table.check == "sensitivity"]
    assert len(rows) == 1 + len(result.benchmarks)
    assert rows.iloc[0].observed == pytest.approx(result.robustness_value)
    strongest = rows.iloc[1]
    assert result.benchmarks.covariate.iloc[0] in strongest.test and "strongest" in strongest.test
    lo, _ = est.get_confidence_intervals()
    assert lo > 0  # the estimate's interval excludes 0, so the strongest row is judged
    assert strongest.pass_min == 0.0 and strongest.observed == result.benchmarks.ci_lower.iloc[0]
    assert strongest.status == ("pass" if strongest.observed > 0 else "warn")
    assert set(rows.iloc[2:].status) == {"info"}
    simulated = report.table[report.table.check == "unobserved_common_cause"]
    assert simulated.reason.str.contains("partial R²").all()
    other = dowhy_e2b.sensitivity(est, treatment_value=10.0, control_value=6.0, benchmark_covariates=None)
    with pytest.raises(ValueError, match="sensitivity_result bounds mu\\(10\\) - mu\\(6\\)"):
        dowhy_e2b.audit(model, estimand, est, checks=["sensitivity"], sensitivity_result=other)


def test_audit_computes_them_itself_and_skips_other_estimators(setting):
    _, model, estimand, est = setting
    report = dowhy_e2b.audit(model, estimand, est, checks=["sensitivity"], benchmark_covariates=["age"])
    assert list(report.sensitivity.benchmarks.covariate) == ["age"]
    assert (report.table.check == "sensitivity").sum() == 2
    linear = model.estimate_effect(
        estimand, method_name="backdoor.linear_regression", treatment_value=11.0, control_value=6.0
    )
    skipped = dowhy_e2b.audit(model, estimand, linear, checks=["sensitivity"])
    assert skipped.table.status.tolist() == ["skipped"] and skipped.sensitivity is None


def test_command_line_writes_the_bounds(setting, tmp_path, capsys):
    ds, *_ = setting
    path = tmp_path / "lemonade.csv"
    ds.data.to_csv(path, index=False)
    out = tmp_path / "out"
    argv = [
        str(path),
        "--treatment",
        "lemon",
        "--outcome",
        "rating",
        "--confounders",
        "sugar,temperature,age",
    ]
    options = ["--method", "entropy_balancing", "--n-bootstrap", "10", "--dose-grid", "8", "--n-jobs", "1"]
    code = main(["estimate", *argv, *options, "--sensitivity", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "robustness value" in printed and "as strong as sugar" in printed
    table = pd.read_csv(out / "sensitivity.csv")
    assert list(table.columns[:6]) == [
        "r2_outcome",
        "r2_treatment",
        "treatment",
        "estimate",
        "lower",
        "upper",
    ]
    bench = pd.read_csv(out / "sensitivity_benchmarks.csv")
    assert set(bench.covariate) == {"sugar", "temperature", "age"}
    assert np.isfinite(pd.read_csv(out / "sensitivity_contrast.csv").ci_lower).all()
    assert (out / "sensitivity.png").stat().st_size > 10_000
