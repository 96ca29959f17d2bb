"""The command line: ``demo`` and ``estimate`` write their files; bad input gets a helpful message."""

import matplotlib

matplotlib.use("Agg")

import networkx as nx
import pandas as pd
import pytest
from dowhy_e2b.adapters.cli import main

from dowhy_e2b.datasets import load_lemonade

FAST = ["--n-bootstrap", "10", "--dose-grid", "12"]


@pytest.fixture
def csv(tmp_path):
    ds = load_lemonade(n_samples=300, random_state=4)
    path = tmp_path / "lemonade.csv"
    ds.data.to_csv(path, index=False)
    nx.write_gml(ds.graph(), tmp_path / "graph.gml")
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_estimate_with_confounders_writes_curve_and_plot(csv, tmp_path, capsys):
    out_dir = tmp_path / "out"
    args = [csv, "--treatment", "lemon", "--outcome", "rating", "--confounders", "sugar,temperature", "age"]
    code, out, _ = run(capsys, "estimate", *args, "--method", "entropy_balancing", "--out", out_dir, *FAST)
    assert code == 0
    assert "adjusting for ['age', 'sugar', 'temperature']" in out
    curve = pd.read_csv(out_dir / "dose_response.csv")
    assert list(curve.columns) == ["treatment", "mean_outcome", "ci_lower", "ci_upper"] and len(curve) == 12
    assert (out_dir / "dose_response.png").stat().st_size > 10_000
    assert not (out_dir / "audit.md").exists()


def test_estimate_with_a_gml_graph_and_the_audit(csv, tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, _ = run(
        capsys,
        "estimate",
        csv,
        "--treatment",
        "lemon",
        "--outcome",
        "rating",
        "--graph",
        tmp_path / "graph.gml",
        "--method",
        "entropy_balancing",
        "--param",
        "moments=2",
        "--audit",
        "both",
        "--num-simulations",
        "2",
        "--treatment-value",
        "11",
        "--control-value",
        "6",
        "--out",
        out_dir,
        *FAST,
    )
    assert code == 0
    assert "adjusting for ['age', 'region', 'sugar', 'temperature']" in out  # from the graph
    assert "mu(11) - mu(6)" in out and "audit verdict:" in out
    assert (out_dir / "audit.md").read_text(encoding="utf-8").startswith("# Audit of entropy_balancing")
    assert "<table" in (out_dir / "audit.html").read_text(encoding="utf-8")
    assert (out_dir / "dose_response.png").exists() and (out_dir / "dose_response.csv").exists()


def test_estimate_with_e2b(csv, tmp_path, capsys):
    args = ["--treatment", "lemon", "--outcome", "rating", "--confounders", "sugar", "temperature"]
    code, out, _ = run(capsys, "estimate", csv, *args, "--param", "max_steps=2", "--out", tmp_path, *FAST)
    assert code == 0 and out.count("e2b: mu(") == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--outcome", "ratng", "--confounders", "sugar"], "column(s) ['ratng'] are not in lemonade.csv"),
        (["--outcome", "rating", "--confounders", "sugar,salt"], "its columns are ['sugar', 'temperature'"),
        (["--outcome", "rating"], "give the confounders"),
        (["--outcome", "rating", "--confounders", "sugar", "--graph", "g.gml"], "either --graph or"),
        (["--outcome", "rating", "--confounders", "sugar", "--method", "ebal"], "unknown method 'ebal'"),
        (["--outcome", "rating", "--graph", "missing.gml"], "graph file"),
        (["--outcome", "rating", "--confounders", "sugar", "--param", "moments"], "KEY=VALUE"),
    ],
)
def test_estimate_usage_errors_name_the_problem(csv, capsys, extra, message):
    code, _, err = run(capsys, "estimate", csv, "--treatment", "lemon", *extra)
    assert code == 2
    assert message in err


def test_estimate_errors_from_the_estimator_are_reported(csv, tmp_path, capsys):
    args = ["--treatment", "lemon", "--outcome", "rating", "--confounders", "sugar", "--out", tmp_path]
    code, _, err = run(
        capsys, "estimate", csv, *args, "--method", "entropy_balancing", "--param", "momnets=2"
    )
    assert code == 1 and "Did you mean ['moments']" in err
    data = pd.read_csv(csv)
    data.loc[3, "sugar"] = None
    data.to_csv(csv, index=False)
    code, _, err = run(capsys, "estimate", csv, *args, "--method", "entropy_balancing")
    assert code == 1 and "confounder 'sugar' has 1 missing value" in err


def test_missing_data_file(tmp_path, capsys):
    code, _, err = run(capsys, "estimate", tmp_path / "nope.csv", "--treatment", "a", "--outcome", "y")
    assert code == 2 and "does not exist" in err


def test_demo_writes_the_plot_and_curve(tmp_path, capsys):
    code, out, _ = run(capsys, "demo", "--n-samples", "400", "--out", tmp_path)
    assert code == 0 and "contrast mu(11) - mu(6)" in out
    assert (tmp_path / "dose_response.png").exists() and (tmp_path / "dose_response.csv").exists()
