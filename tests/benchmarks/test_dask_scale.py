"""The scale-out benchmark's page: rebuilt from its published runs, and its projection model."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks import dask_scale

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_published_page_is_generated_from_its_runs(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_bytes((DOCS / "dask_scale.jsonl").read_bytes())
    monkeypatch.setattr(dask_scale, "OUT", out)
    monkeypatch.setattr(dask_scale, "DOC", tmp_path / "dask_scale.md")
    monkeypatch.setattr(dask_scale, "RUNS", tmp_path / "dask_scale.jsonl")
    dask_scale.report()
    assert (tmp_path / "dask_scale.md").read_text() == (DOCS / "dask_scale.md").read_text()
    assert (tmp_path / "dask_scale.jsonl").read_text() == (DOCS / "dask_scale.jsonl").read_text()


def test_projection_recovers_a_linear_cost_model():
    """Two runs whose passes cost exactly ``overhead + rate × rows``: the fit returns both, and the
    projection divides the row part among the workers."""
    overhead, rate = 2.0, 3e-6  # seconds, seconds per row on one worker
    runs = [
        {"path": "dask", "workers": 2, "passes": [["chord", overhead + rate * n, n]] * 3}
        for n in (1_000_000, 10_000_000)
    ]
    model, proj = dask_scale.projection(runs, target=1e9, workers=(2, 20))
    row = model.iloc[0]
    assert row["kind"] == "bootstrap: replicate duals" and row["passes (largest run)"] == 3
    assert row["overhead_s"] == pytest.approx(overhead)
    assert row["core_s_per_million_rows"] == pytest.approx(rate * 2 * 1e6)
    expected = [3 * (overhead + rate * 2 * 1e9 / w) / 3600 for w in (2, 20)]
    np.testing.assert_allclose(proj.hours, expected)
