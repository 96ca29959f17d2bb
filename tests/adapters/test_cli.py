"""The command line: ``demo`` and ``estimate`` write their files; bad input gets a helpful message."""

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from dowhy_e2b.adapters.cli import main

import dowhy_e2b
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
    assert list(curve.columns[:6]) == [
        "treatment",
        "mean_outcome",
        "ci_lower",
        "ci_upper",
        "band_lower",
        "band_upper",
    ]
    assert len(curve) >= 12  # the grid, and the contrast doses where they are not on it
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
        (["--outcome", "rating", "--confounders", "sugar", "--graph", "GRAPH"], "either --graph or"),
        (["--outcome", "rating", "--confounders", "sugar", "--method", "ebal"], "unknown method 'ebal'"),
        (["--outcome", "rating", "--graph", "missing.gml"], "graph file"),
        (["--outcome", "rating", "--confounders", "sugar", "--param", "moments"], "KEY=VALUE"),
    ],
)
def test_estimate_usage_errors_name_the_problem(csv, capsys, extra, message):
    extra = [str(csv.parent / "graph.gml") if e == "GRAPH" else e for e in extra]
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


def test_version_and_help_show_defaults(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"dowhy-e2b {dowhy_e2b.__version__}"
    with pytest.raises(SystemExit):
        main(["estimate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for snippet in (
        "--dose-grid N points on the curve, between the 5th and 95th percentiles of the treatment "
        "(default: 50)",
        "--n-jobs N parallel workers for the audit (-1: all cores) (default: -1)",
        "--categorical COLUMN [COLUMN ...] numeric columns that are codes of categories",
        "(default: the 75th percentile of the treatment)",
        "exit status:",
    ):
        assert snippet in text


@pytest.mark.parametrize("entry", ["-m", "script"])
def test_missing_file_is_reported_before_the_heavy_imports(tmp_path, entry):
    # `python -m dowhy_e2b` and the `dowhy-e2b` script answer before torch and DoWhy are imported.
    script = Path(sys.executable).with_name("dowhy-e2b")
    if entry == "script" and not script.exists():
        pytest.skip("the dowhy-e2b script is not installed next to this interpreter")
    command = [sys.executable, "-X", "importtime"] + (["-m", "dowhy_e2b"] if entry == "-m" else [str(script)])
    result = subprocess.run(
        [*command, "estimate", str(tmp_path / "nope.csv"), "--treatment", "a", "--outcome", "y"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (
        result.returncode == 2 and "error: data file" in result.stderr and "does not exist" in result.stderr
    )
    imported = [
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "import time:" in line
    ]
    assert "dowhy_e2b._cli_args" in imported
    assert not any(name.split(".")[0] in ("torch", "dowhy", "sklearn", "pandas") for name in imported)


def _write(tmp_path, frame, name="data.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_categorical_codes_are_one_hot_encoded(tmp_path, capsys):
    ds = load_lemonade(n_samples=300, random_state=4)
    data = ds.data.assign(region=ds.data.region.cat.codes + 1)  # 1..4, as a survey would code it
    path = _write(tmp_path, data)
    args = ["--treatment", "lemon", "--outcome", "rating", "--confounders", "sugar,region", "--out", tmp_path]
    code, out, _ = run(capsys, "estimate", path, *args, "--method", "entropy_balancing", *FAST)
    assert code == 0 and "categorical confounders" not in out  # as numbers by default
    code, out, _ = run(
        capsys, "estimate", path, *args, "--categorical", "region", "--method", "entropy_balancing", *FAST
    )
    assert code == 0 and "categorical confounders (one-hot encoded): region (4 levels)" in out
    code, _, err = run(capsys, "estimate", path, *args, "--categorical", "lemon")
    assert code == 2 and "the treatment and the outcome must stay numeric" in err


def test_warnings_are_printed_on_one_line_each(csv, tmp_path, capsys):
    args = ["--treatment", "lemon", "--outcome", "rating", "--confounders", "sugar", "--out", tmp_path]
    code, _, err = run(capsys, "estimate", csv, *args, "--method", "unweighted", *FAST)
    assert code == 0
    lines = [line for line in err.splitlines() if line.strip()]
    balance = [line for line in lines if "BalanceWarning" in line]
    assert len(balance) == 1 and balance[0].startswith("warning: BalanceWarning: unweighted: max weighted")
    assert all(line.startswith("warning: ") for line in lines), lines  # no file names, no source lines


@pytest.mark.parametrize(
    ("mutate", "code", "message"),
    [
        (lambda d: d.assign(lemon=2.0), 1, "treatment 'lemon' is constant (every row is 2)"),
        (
            lambda d: d.assign(
                lemon=np.where(np.arange(len(d)) % 10 == 0, 1.0, 2.0) + (np.arange(len(d)) % 10 == 1)
            ),
            1,
            "the default doses of the contrast, the 25th and 75th percentiles of treatment 'lemon', "
            "are both 2",
        ),
        (
            lambda d: d.assign(sugar=pd.date_range("2020-01-01", periods=len(d)).astype(str)),
            1,
            "holds dates written as text",
        ),
        (lambda d: d.assign(sugar=[f"${v:,.2f}" for v in d.sugar]), 1, "holds numbers written as text"),
        (lambda d: d.assign(sugar=np.nan), 1, "confounder 'sugar' has no values"),
        (lambda d: d.assign(sugar=[f"batch {i}" for i in range(len(d))]), 1, "with 300 distinct values"),
        (lambda d: d.iloc[:0], 1, "has no values: the data have no rows"),
    ],
)
def test_bad_data_get_a_clear_message_and_no_estimate(tmp_path, capsys, mutate, code, message):
    ds = load_lemonade(n_samples=300, random_state=4)
    path = _write(tmp_path, mutate(ds.data))
    args = ["--treatment", "lemon", "--outcome", "rating", "--confounders", "sugar", "--out", tmp_path]
    got, out, err = run(capsys, "estimate", path, *args, "--method", "entropy_balancing", *FAST)
    assert got == code and message in err and "mu(" not in out
    assert not (tmp_path / "dose_response.csv").exists()


def test_duplicated_header_and_equal_doses(tmp_path, capsys):
    ds = load_lemonade(n_samples=100, random_state=4)
    path = tmp_path / "dup.csv"
    path.write_text(ds.data.to_csv(index=False).replace("temperature", "sugar", 1), encoding="utf-8")
    code, _, err = run(
        capsys, "estimate", path, "--treatment", "lemon", "--outcome", "rating", "--confounders", "sugar"
    )
    assert code == 2 and "repeats the column name(s) ['sugar']" in err
    path = _write(tmp_path, ds.data)
    args = ["--treatment", "lemon", "--outcome", "rating", "--confounders", "sugar"]
    code, _, err = run(capsys, "estimate", path, *args, "--treatment-value", "9", "--control-value", "9")
    assert code == 1 and "treatment_value and control_value are both 9" in err
