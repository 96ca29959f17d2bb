"""dowhy_e2b.audit: refuters with continuous-treatment settings, weight checks, report rendering."""

import matplotlib

matplotlib.use("Agg")

import inspect

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from dowhy import CausalModel
from dowhy_e2b.adapters.audit import CHECKS

import dowhy_e2b
from dowhy_e2b import AuditReport
from dowhy_e2b.datasets import load_lemonade, make_linear
from dowhy_e2b.report import STATUSES, TABLE_COLUMNS, verdict_of


@pytest.fixture(scope="module")
def setting():
    ds = load_lemonade(n_samples=400, random_state=5)
    model = CausalModel(data=ds.data, treatment=ds.treatment, outcome=ds.outcome, graph=ds.graph())
    estimand = model.identify_effect()

    def estimate(method="entropy_balancing", **params):
        params = {"n_bootstrap": 40, "dose_grid": 15, "random_state": 0, **params}
        return model.estimate_effect(
            estimand, method_name=method, treatment_value=11.0, control_value=6.0, method_params=params
        )

    return ds, model, estimand, estimate


@pytest.fixture(scope="module")
def report(setting):
    ds, model, estimand, estimate = setting
    est = estimate(moments=2)
    before = ds.data.copy()
    state = np.random.get_state()  # noqa: NPY002
    result = dowhy_e2b.audit(model, estimand, est, num_simulations=4, random_state=0)
    pd.testing.assert_frame_equal(ds.data, before)  # the caller's data are untouched
    after = np.random.get_state()  # noqa: NPY002  (DoWhy's random_seed reseeds the global RNG: it is restored)
    assert all(np.array_equal(x, y) for x, y in zip(state, after, strict=True))
    return result


def test_table_has_one_row_per_test_and_a_consistent_verdict(report):
    table = report.table
    assert tuple(table.columns) == TABLE_COLUMNS
    assert set(table.check) == set(CHECKS)
    assert set(table.status) <= set(STATUSES)
    assert (table.check == "unobserved_common_cause").sum() == 3  # one row per strength
    assert report.verdict == verdict_of(table.status) and report.verdict in ("pass", "caution", "fail")
    flagged = table[table.status.isin(["warn", "fail"])]
    assert len(report.reasons) == len(flagged)
    assert table.reason.str.len().min() > 10  # every row says why


def test_sound_estimate_passes_refuters_and_balance(report):
    rows = report.table.set_index("test")
    status = report.table.set_index("check").status
    # Entropy balancing with two moments on data it can balance: every refuter and balance passes.
    for check in ("placebo", "random_common_cause", "data_subset", "bootstrap", "dummy_outcome"):
        assert status[check] == "pass", rows.reason.to_dict()
    assert (report.table[report.table.check == "balance"].status == "pass").all()
    placebo = report.table[report.table.check == "placebo"].iloc[0]
    assert 0 < placebo.p_value <= 1 and placebo.pass_min < 0 < placebo.pass_max
    subset = report.table[report.table.check == "data_subset"].iloc[0]
    assert (subset.pass_min, subset.pass_max) == pytest.approx(
        (report.summary["ci_lower"], report.summary["ci_upper"])
    )
    assert report.summary["method"] == "entropy_balancing" and report.summary["n"] == 400


def test_same_seed_same_report_and_parallel_equals_serial(setting, monkeypatch):
    _, model, estimand, estimate = setting
    monkeypatch.setattr("dowhy_e2b.adapters.audit.running.PARALLEL_MIN_SECONDS", 0.0)  # workers even if fast
    est = estimate()
    kwargs = {"checks": ["placebo", "unobserved_common_cause"], "num_simulations": 3, "random_state": 1}
    one = dowhy_e2b.audit(model, estimand, est, n_jobs=1, **kwargs)
    two = dowhy_e2b.audit(model, estimand, est, n_jobs=2, **kwargs)
    assert one.settings["audit"]["workers"] == 1 and two.settings["audit"]["workers"] == 2
    pd.testing.assert_series_equal(one.table.observed, two.table.observed)
    pd.testing.assert_frame_equal(one.simulations, two.simulations)
    # and the placebo simulations differ from each other (DoWhy's own n_jobs path repeats one)
    placebo = one.simulations[one.simulations.check == "placebo"]
    assert placebo.new_effect.nunique() == 3 and placebo.seed.nunique() == 3


def test_checks_subset_runs_only_those(setting):
    _, model, estimand, estimate = setting
    rep = dowhy_e2b.audit(model, estimand, estimate(), checks=["balance", "effective_sample_size"])
    assert set(rep.table.check) == {"balance", "effective_sample_size"}
    assert rep.summary["checks"] == ["balance", "effective_sample_size"]


def test_confounded_unweighted_estimate_fails_balance(setting):
    _, model, estimand, estimate = setting
    rep = dowhy_e2b.audit(model, estimand, estimate("unweighted"), checks=["balance", "overlap"])
    means = rep.table[rep.table.test.str.startswith("balance of means")].iloc[0]
    assert means.status == "fail" and means.observed > 0.1 and "sugar" in means.reason
    assert rep.verdict == "fail" and any("balance of means" in r for r in rep.reasons)


def test_doses_outside_the_data_fail_the_support_check(setting):
    ds, model, estimand, _ = setting
    with pytest.warns(UserWarning, match="outside the observed"):
        est = model.estimate_effect(
            estimand,
            method_name="entropy_balancing",
            treatment_value=float(ds.a.max() + 5),
            control_value=6.0,
            method_params={"n_bootstrap": 10, "random_state": 0},
        )
    rep = dowhy_e2b.audit(model, estimand, est, checks=["overlap"])
    outside = rep.table[rep.table.test.str.startswith("doses outside")].iloc[0]
    assert outside.status == "fail" and outside.observed == 1 and "extrapolation" in outside.reason


def test_e2b_estimate_is_audited(setting):
    _, model, estimand, estimate = setting
    est = estimate("e2b", max_steps=3, n_bootstrap=10)
    rep = dowhy_e2b.audit(
        model, estimand, est, checks=["placebo", "balance"], num_simulations=2, random_state=0
    )
    assert rep.summary["method"] == "e2b"
    assert rep.table.loc[0, "check"] == "placebo" and np.isfinite(rep.table.loc[0, "observed"])


def test_estimator_without_weights_gets_skipped_weight_checks():
    ds = make_linear(n_samples=200, random_state=0)
    model = CausalModel(data=ds.data, treatment="a", outcome="y", graph=ds.graph())
    estimand = model.identify_effect()
    est = model.estimate_effect(estimand, method_name="backdoor.linear_regression", confidence_intervals=True)
    rep = dowhy_e2b.audit(
        model, estimand, est, checks=["random_common_cause", "balance", "overlap"], num_simulations=2
    )
    assert rep.table.set_index("check").status["balance"] == "skipped"
    assert rep.table.set_index("check").status["random_common_cause"] == "pass"


def test_invalid_arguments(setting):
    _, model, estimand, estimate = setting
    est = estimate()
    with pytest.raises(ValueError, match="valid checks"):
        dowhy_e2b.audit(model, estimand, est, checks=["placebo", "plaecbo"])
    with pytest.raises(ValueError, match="num_simulations"):
        dowhy_e2b.audit(model, estimand, est, num_simulations=1)
    with pytest.raises(ValueError, match=r"num_simulations has unknown check\(s\) \['plaecbo'\]"):
        dowhy_e2b.audit(model, estimand, est, num_simulations={"plaecbo": 5})
    with pytest.raises(ValueError, match="confounder_strengths"):
        dowhy_e2b.audit(model, estimand, est, checks=["unobserved_common_cause"], confounder_strengths=[0.0])
    with pytest.raises(ValueError, match="no estimator"):
        dowhy_e2b.audit(model, estimand, object())


def test_markdown_and_html_rendering(report, tmp_path):
    md = report.to_markdown()
    assert md.startswith("# Audit of entropy_balancing: effect of lemon on rating")
    assert f"**Verdict: {report.verdict.upper()}**" in md
    tests_part, settings_part = md.split("## Settings")
    assert tests_part.count("\n| ") == len(report.table) + 1  # header and one line per test
    assert "| estimate | adjustment set | age, region, sugar, temperature |" in settings_part
    assert "| versions | dowhy | 0.14 |" in settings_part
    assert "\\|corr" in md  # pipes inside cells are escaped
    html = report.to_html()
    assert html.startswith('<div class="dowhy-e2b-audit"') and html.count("<tr>") == len(report.table) + 1
    assert "<details><summary>Settings, parameters and versions</summary>" in html
    assert report._repr_html_() == html and "<img" not in html
    assert "data:image/png;base64," in report.to_html(plots=True)
    assert report.save(tmp_path / "audit.md").read_text(encoding="utf-8") == md
    page = report.save(tmp_path / "audit.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<img" in page
    with pytest.raises(ValueError, match=r"\.md or \.html"):
        report.save(tmp_path / "audit.txt")
    assert repr(report).startswith(f"AuditReport(verdict={report.verdict!r}, {len(report.table)} tests")


def test_report_plot_has_curve_love_plot_and_weights(report):
    fig = report.plot()
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == [
        "Dose-response curve",
        "Balance before and after weighting",
        "Distribution of the weights",
    ]
    plt.close(fig)
    empty = AuditReport(table=report.table.iloc[:0], verdict="pass")
    with pytest.raises(ValueError, match="nothing to plot"):
        empty.plot()


def test_docstring_example_runs():
    import doctest

    from dowhy_e2b.adapters import audit as audit_module

    result = doctest.testmod(audit_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_report_records_settings_seeds_and_versions(report):
    settings = report.settings
    assert settings["estimate"]["adjustment set"] == ["age", "region", "sugar", "temperature"]
    assert settings["estimate"]["weighter.moments"] == 2 and settings["audit"]["random_state"] == 0
    assert settings["audit"]["refits per check"] == dict.fromkeys(
        ["placebo", "random_common_cause", "data_subset", "bootstrap", "dummy_outcome"], 4
    )
    assert {"python", "dowhy", "dowhy-e2b", "numpy", "pandas", "scikit-learn", "torch"} <= set(
        settings["versions"]
    )
    sims = report.simulations
    assert list(sims.columns) == ["check", "strength", "seed", "new_effect", "error"]
    assert len(sims) == 5 * 4 + 3 and sims.seed.nunique() == len(sims) and (sims.error == "").all()


def test_each_column_has_one_meaning(report):
    # Wherever a rule judges by a range, the test passes exactly when `observed` lies in it.
    judged = report.table[report.table.status.isin(["pass", "warn", "fail"])]
    judged = judged.dropna(subset=["pass_min", "pass_max"], how="all")
    assert len(judged) >= 10
    low, high = judged.pass_min.fillna(-np.inf), judged.pass_max.fillna(np.inf)
    inside = (judged.observed >= low) & (judged.observed <= high)
    assert (inside == (judged.status == "pass")).all(), judged[["test", "observed", "status"]]


def test_bootstrap_row_says_why_categorical_confounders_get_no_noise(report):
    row = report.table.set_index("check").loc["bootstrap"]
    assert "bootstrap_refuter crashes adding noise to categorical ones (['region'])" in row.reason


def _graph_case(w_causes_a):
    rng = np.random.default_rng(0)
    n = 500
    x, w = rng.normal(size=n), rng.normal(size=n)
    a = x + (0.8 * w if w_causes_a else 0.0) + rng.normal(size=n)
    y = a + x + w + rng.normal(size=n)
    graph = nx.DiGraph([("x", "a"), ("x", "y"), ("a", "y"), ("w", "y")])  # says: w does not cause a
    model = CausalModel(
        data=pd.DataFrame({"x": x, "w": w, "a": a, "y": y}), treatment="a", outcome="y", graph=graph
    )
    estimand = model.identify_effect()
    est = model.estimate_effect(
        estimand,
        method_name="entropy_balancing",
        treatment_value=1.0,
        control_value=0.0,
        method_params={"n_bootstrap": 10, "random_state": 0},
    )
    return dowhy_e2b.audit(model, estimand, est, checks=["graph"]).table.set_index("test")


def test_graph_implications_are_tested_against_the_data():
    key = "graph's implied independences involving the treatment or the outcome"
    wrong = _graph_case(w_causes_a=True).loc[key]
    assert wrong.status == "warn" and wrong.observed >= 1 and "w ⫫ a" in wrong.reason
    assert wrong.p_value < 0.05
    right = _graph_case(w_causes_a=False).loc[key]
    assert right.status == "pass" and right.observed == 0


def test_graph_without_implications_is_skipped(setting):
    ds = make_linear(n_samples=200, random_state=0)
    graph = nx.complete_graph(["x1", "x2"], create_using=nx.DiGraph)
    graph.remove_edge("x2", "x1")
    graph.add_edges_from([("x1", "a"), ("x2", "a"), ("x1", "y"), ("x2", "y"), ("a", "y")])
    data = ds.data[["x1", "x2", "a", "y"]]
    model = CausalModel(data=data, treatment="a", outcome="y", graph=graph)
    estimand = model.identify_effect()
    est = model.estimate_effect(estimand, method_name="entropy_balancing", method_params={"n_bootstrap": 5})
    row = dowhy_e2b.audit(model, estimand, est, checks=["graph"]).table.iloc[0]
    assert row.status == "skipped" and "implies no conditional independence" in row.reason


def test_progress_bar_when_asked_and_parallel_by_default(setting, capsys):
    _, model, estimand, estimate = setting
    est = estimate()
    dowhy_e2b.audit(model, estimand, est, checks=["placebo"], num_simulations=2, verbose=True)
    assert "audit refits" in capsys.readouterr().err
    dowhy_e2b.audit(model, estimand, est, checks=["placebo"], num_simulations=2)  # no terminal here
    assert "audit refits" not in capsys.readouterr().err
    assert inspect.signature(dowhy_e2b.audit).parameters["n_jobs"].default == -1
