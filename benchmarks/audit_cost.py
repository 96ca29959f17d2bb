"""What the audit costs, and what its refuter rules can detect at the default numbers of refits.

**Cost.** The lemonade data at n = 2000: one estimate with the method's defaults (bootstrap bands
of 200 replicates included), then ``dowhy_e2b.audit`` with its defaults (all cores), timed back
to back; the ratio of the two is the audit's cost in estimates. For comparison, E2B's audit with
the former defaults (20 refits per refuter, 103 in all, and no warm start) on two workers, in the
same run (the former default of `n_jobs` was one worker).

**Spread of the refits.** Each refuter rule compares the mean of k refits with a band that
depends on the estimate's standard error ``se``. What k must be depends on the spread of the
refits relative to ``se``, tau = sd(refits) / se, measured here from 20 refits per refuter
(entropy balancing on the lemonade and nonlinear processes, E2B on the lemonade data, n = 2000).

**Power.** With tau measured, the probability that a rule flags an estimator whose refits are off
by delta is computed by simulation of the rule itself (200 000 draws): the mean of k normal refits
with spread tau * se against the rule's band. The null tests (placebo, dummy outcome) flag
|mean| > 1.96 max(se, sd of the refits), so delta is in units of their scale, max(1, tau) * se; the
stability tests (random common cause, data subsets, bootstrap) flag a mean outside the estimate's
95% interval (+-1.96 se), so delta is in units of se.

Run: ``python -m benchmarks.audit_cost [--n 2000] [--skip-spread]``; writes ``docs/audit_cost.md``
and the raw measurements to ``docs/audit_cost.json`` (``--from-json`` rewrites the page from them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from .measure import machine_info

__all__ = ["main", "power", "time_audit"]

NULL_CHECKS = ("placebo", "dummy_outcome")
STABILITY_CHECKS = ("random_common_cause", "data_subset", "bootstrap")


def _model(name: str, n: int) -> tuple[Any, Any, float, float]:
    from dowhy import CausalModel

    from dowhy_e2b.datasets import load_lemonade, make_nonlinear

    if name == "lemonade":
        ds = load_lemonade(n_samples=n, random_state=0)
        doses = (11.0, 6.0)
    else:
        ds = make_nonlinear(n_samples=n, random_state=0)
        doses = (1.0, 0.0)
    model = CausalModel(data=ds.data, treatment=ds.treatment, outcome=ds.outcome, graph=ds.graph())
    return model, model.identify_effect(), *doses


def _estimate(model: Any, estimand: Any, method: str, t: float, c: float) -> Any:
    return model.estimate_effect(
        estimand,
        method_name=method,
        treatment_value=t,
        control_value=c,
        method_params={"init_params": {"random_state": 0}},
    )


#: The audit's defaults before its refits were counted per check: 20 refits per refuter, 2 workers.
FORMER_DEFAULTS = {"num_simulations": 20, "n_jobs": 2, "refit_steps": None}


def time_audit(method: str, n: int, former: bool = False) -> dict[str, Any]:
    """Wall time of an estimate and of its audit with the defaults (or, with ``former``, the
    former defaults), back to back."""
    import dowhy_e2b

    model, estimand, t, c = _model("lemonade", n)
    load_before = os.getloadavg()
    start = time.perf_counter()
    est = _estimate(model, estimand, method, t, c)
    estimate_s = time.perf_counter() - start
    start = time.perf_counter()
    options = FORMER_DEFAULTS if former else {}
    report = dowhy_e2b.audit(model, estimand, est, random_state=0, verbose=False, **options)
    audit_s = time.perf_counter() - start
    return {
        "method": method + (" (former audit defaults: 20 refits per refuter, 2 workers)" if former else ""),
        "estimate_s": estimate_s,
        "audit_s": audit_s,
        "ratio": audit_s / estimate_s,
        "refits": len(report.simulations),
        "workers": report.settings["audit"]["workers"],
        "refit_mode": report.settings["audit"]["refits"],
        "verdict": report.verdict,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def spread(method: str, dataset: str, n: int, k: int = 20) -> dict[str, float]:
    """tau = sd(refits) / se for each simulation-based refuter, from ``k`` refits each."""
    import dowhy_e2b

    model, estimand, t, c = _model(dataset, n)
    est = _estimate(model, estimand, method, t, c)
    checks = [*NULL_CHECKS, *STABILITY_CHECKS]
    report = dowhy_e2b.audit(
        model, estimand, est, checks=checks, num_simulations=k, random_state=1, verbose=False
    )
    se = float(report.summary["std_error"])
    sims = report.simulations
    out = {"method": method, "dataset": dataset, "se": se}
    for check in checks:
        values = sims.loc[sims.check == check, "new_effect"].dropna().to_numpy()
        out[check] = float(np.std(values, ddof=1) / se)
    return out


def power(kind: str, tau: float, k: int, delta: float, draws: int = 200_000, seed: int = 0) -> float:
    """Probability that a rule flags refits that are off by ``delta`` (in units of the rule's scale:
    ``max(1, tau)`` standard errors for the null tests, one standard error for the others)."""
    rng = np.random.default_rng(seed)
    z = float(stats.norm.ppf(0.975))
    shift = delta * max(1.0, tau) if kind == "null" else delta
    sims = shift + tau * rng.standard_normal((draws, k))
    mean = sims.mean(axis=1)
    if kind == "null":
        sd = sims.std(axis=1, ddof=1)
        return float(np.mean(np.abs(mean) > z * np.maximum(1.0, sd)))
    return float(np.mean(np.abs(mean) > z))


def _markdown(timings: list[dict[str, Any]], spreads: list[dict[str, Any]], command: str) -> str:
    from dowhy_e2b.adapters.audit import DEFAULT_SIMULATIONS

    info = machine_info()
    body = __doc__.split("Run:")[0].split("\n", 2)[2].strip()
    lines = [
        "# What the audit costs and what it can detect",
        "",
        "<!-- Generated by `python -m benchmarks.audit_cost`; do not edit. -->",
        "",
        body,
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores (shared with other jobs: the load averages "
        "before and after each audit are listed).",
        "",
        "## Cost: audit against estimate, lemonade, n = 2000",
        "",
        "| method | estimate | audit | audit / estimate | refits | workers | refits done as "
        "| load before → after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in timings:
        lines.append(
            f"| {r['method']} | {r['estimate_s']:.1f} s | {r['audit_s']:.1f} s | {r['ratio']:.1f}× | "
            f"{r['refits']} | {r['workers']} | {r['refit_mode']} | {r['load_before']} → {r['load_after']} |"
        )
    if spreads:
        checks = [*NULL_CHECKS, *STABILITY_CHECKS]
        lines += [
            "",
            "## Spread of the refits, tau = sd(refits) / se (20 refits each)",
            "",
            "| method | data | se | " + " | ".join(checks) + " |",
            "|---|---|---|" + "---|" * len(checks),
        ]
        for r in spreads:
            lines.append(
                f"| {r['method']} | {r['dataset']} | {r['se']:.3g} | "
                + " | ".join(f"{r[c]:.2f}" for c in checks)
                + " |"
            )
        taus = {c: max(r[c] for r in spreads) for c in checks}
        lines += [
            "",
            "## Power at the largest measured tau",
            "",
            "Probability of flagging refits whose mean is off by delta (null tests: in units of "
            "max(se, sd of the refits); stability tests: in standard errors); **bold**: the default "
            "number of refits. At delta = 0 this is the rate of false alarms.",
            "",
            "| check | tau | refits k | delta = 0 | 1 | 2 | 2.5 | 3 | 4 |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for check in checks:
            kind = "null" if check in NULL_CHECKS else "stability"
            for k in (3, 5, 10, 20):
                cells = [f"{power(kind, taus[check], k, d):.3f}" for d in (0.0, 1.0, 2.0, 2.5, 3.0, 4.0)]
                mark = "**" if k == DEFAULT_SIMULATIONS[check] else ""
                lines.append(f"| {check} | {taus[check]:.2f} | {mark}{k}{mark} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.audit_cost", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--methods", nargs="+", default=["e2b", "entropy_balancing"])
    p.add_argument("--skip-spread", action="store_true")
    p.add_argument(
        "--skip-former", action="store_true", help="do not time E2B's audit with the former defaults"
    )
    p.add_argument("--out", default="docs/audit_cost.md")
    p.add_argument("--from-json", help="rewrite the page from saved measurements instead of measuring")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    command = "python -m benchmarks.audit_cost " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        timings, spreads, command = saved["timings"], saved["spreads"], saved["command"]
    else:
        timings = []
        for method in args.methods:
            timings.append(time_audit(method, args.n))
            print(timings[-1], flush=True)
        if not args.skip_former:
            timings.append(time_audit("e2b", args.n, former=True))
            print(timings[-1], flush=True)
        spreads = []
        if not args.skip_spread:
            cases = (
                ("entropy_balancing", "lemonade"),
                ("entropy_balancing", "nonlinear"),
                ("e2b", "lemonade"),
            )
            for method, dataset in cases:
                spreads.append(spread(method, dataset, args.n))
                print(spreads[-1], flush=True)
        raw = {"timings": timings, "spreads": spreads, "command": command.strip()}
        Path(args.out).with_suffix(".json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    page = _markdown(timings, spreads, command.strip())
    Path(args.out).write_text(page, encoding="utf-8")
    print(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
