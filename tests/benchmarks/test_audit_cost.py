"""The audit's power computation and its page, from saved measurements (no refits here)."""

import functools
import json

import pytest
from dowhy_e2b.adapters.audit import DEFAULT_SIMULATIONS

from benchmarks import audit_cost


def test_power_of_the_rules():
    # No false alarms worth the name, and power grows with the shift and with the refits.
    assert audit_cost.power("null", tau=1.0, k=10, delta=0.0, draws=20_000) < 0.01
    assert audit_cost.power("stability", tau=1.0, k=10, delta=0.0, draws=20_000) < 0.01
    low = audit_cost.power("stability", tau=1.0, k=3, delta=2.5, draws=20_000)
    high = audit_cost.power("stability", tau=1.0, k=20, delta=2.5, draws=20_000)
    assert low < high and high > 0.95
    assert audit_cost.power("null", tau=0.5, k=5, delta=3.0, draws=20_000) > 0.99


def test_the_page_is_written_from_saved_measurements(tmp_path, monkeypatch):
    monkeypatch.setattr(audit_cost, "power", functools.partial(audit_cost.power, draws=2_000))
    saved = json.loads(open("docs/audit_cost.json", encoding="utf-8").read())
    out = tmp_path / "page.md"
    assert audit_cost.main(["--from-json", "docs/audit_cost.json", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("# What the audit costs") and f"Command: `{saved['command']}`" in page
    for check, k in DEFAULT_SIMULATIONS.items():
        assert f"| {check} |" in page and f"**{k}**" in page
    e2b = next(t for t in saved["timings"] if t["method"] == "e2b")
    assert f"{e2b['ratio']:.1f}×" in page


@pytest.mark.parametrize("check", sorted(DEFAULT_SIMULATIONS))
def test_default_refits_keep_the_stated_power(check):
    saved = json.loads(open("docs/audit_cost.json", encoding="utf-8").read())
    tau = max(s[check] for s in saved["spreads"])
    kind, delta = ("null", 3.0) if check in audit_cost.NULL_CHECKS else ("stability", 2.5)
    assert audit_cost.power(kind, tau, DEFAULT_SIMULATIONS[check], delta, draws=50_000) >= 0.9
