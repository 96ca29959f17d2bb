"""Timings a user plans around: entropy balancing at scale, and the refuter battery.

**Entropy balancing against the** ``ebal`` **package.** n = 100 000 rows, 10 standard-normal
covariates, a treatment confounded by all of them. Ours is timed with moments = 3 (61 constraints:
the covariates' first three powers, their products with the treatment, the treatment's mean) and
with moments = 1; ``ebal``'s continuous EB balances first moments of the covariates only, so it is
timed on that problem (its default treatment moments, 2, and ours set to match). Each timing is the
median of 3 fits on one thread, after a warm-up fit.

**The refuter battery.** The ``nonlinear`` process at n = 2000; an estimate with entropy balancing
and with E2B (bootstrap bands of 200 replicates included), then DoWhy's six refuters as a user
calls them — placebo (permute), random common cause, data subset, bootstrap, dummy outcome
(DoWhy's default number of simulations, 100, each), unobserved common cause (linear, strengths
0.05) — with ``n_jobs=2``; and ``dowhy_e2b.audit`` with its defaults at the time of the run, on
both cores. (The audit's current defaults and its cost against the estimate are measured by
``python -m benchmarks.audit_cost``, ``docs/audit_cost.md``.)

Run: ``python -m benchmarks.timings [--n 100000] [--skip-refuters]``; writes ``docs/timings.md``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np

from .measure import limited_threads, machine_info

__all__ = ["main", "time_fits"]


def _data(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    a = X @ np.linspace(0.6, 0.1, d) + rng.standard_normal(n)
    return X, a


def _median_time(fit: Any, repeats: int = 3) -> tuple[float, Any]:
    fit()  # warm-up
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def time_fits(n: int, d: int = 10, seed: int = 0) -> list[dict[str, Any]]:
    """Time our EB (moments 3 and 1) and ``ebal``'s on the same data; one dict per solver."""
    from dowhy_e2b import EntropyBalancingWeights
    from dowhy_e2b._numerics import weighted_corr

    X, a = _data(n, d, seed)
    rows = []
    with limited_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for moments, t_moments in ((3, 1), (1, 2)):
            est = EntropyBalancingWeights(moments=moments, treatment_moments=t_moments)
            seconds, fitted = _median_time(lambda est=est: est.fit(X, a))
            rows.append(
                {
                    "solver": f"dowhy-e2b EB (moments={moments}, treatment_moments={t_moments})",
                    "constraints": len(fitted.balance_features_),
                    "seconds": seconds,
                    "converged": bool(fitted.converged_),
                    "max_abs_corr": float(np.abs(weighted_corr(a, X, fitted.weights_)).max()),
                }
            )
        try:
            from ebal import ebal_con
        except ImportError as err:  # the bench extra is optional
            rows.append({"solver": "ebal ebal_con", "error": f"not installed ({err})"})
            return rows

        def ebal_fit() -> dict[str, Any]:
            with redirect_stdout(io.StringIO()):
                return ebal_con(PCA=False, print_level=-1).ebalance(a, X)

        try:
            seconds, out = _median_time(ebal_fit)
            w = np.asarray(out["w"], dtype=float)
            rows.append(
                {
                    "solver": "ebal ebal_con(PCA=False) (covariate means, treatment moments 2)",
                    "constraints": 2 * d + 3,
                    "seconds": seconds,
                    "converged": bool(out["converged"]),
                    "max_abs_corr": float(np.abs(weighted_corr(a, X, w)).max()),
                }
            )
        except Exception as err:  # a peer's failure is a result, recorded with its message
            rows.append({"solver": "ebal ebal_con", "error": f"{type(err).__name__}: {err}"})
    return rows


def _markdown(rows: list[dict[str, Any]], n: int, d: int) -> str:
    info = machine_info()
    lines = [
        f"## Entropy balancing: n = {n:,}, {d} covariates",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, load average "
        f"{info['load_average_at_start']}; one thread.",
        "",
        "| solver | constraints | median fit time | converged | max \\|weighted corr(a, x)\\| |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['solver']} | — | {r['error']} | — | — |")
        else:
            lines.append(
                f"| {r['solver']} | {r['constraints']} | {r['seconds']:.3f} s | {r['converged']} | "
                f"{r['max_abs_corr']:.1e} |"
            )
    return "\n".join(lines) + "\n"


REFUTERS: dict[str, dict[str, Any]] = {
    "placebo_treatment_refuter": {"placebo_type": "permute"},
    "random_common_cause": {},
    "data_subset_refuter": {"subset_fraction": 0.8},
    "bootstrap_refuter": {},
    "dummy_outcome_refuter": {},
    "add_unobserved_common_cause": {
        "confounders_effect_on_treatment": "linear",
        "confounders_effect_on_outcome": "linear",
        "effect_strength_on_treatment": 0.05,
        "effect_strength_on_outcome": 0.05,
    },
}


def time_refuters(
    n: int = 2000, methods: tuple[str, ...] = ("entropy_balancing", "e2b")
) -> list[dict[str, Any]]:
    """Wall time of the estimate, of each DoWhy refuter (defaults, ``n_jobs=2``) and of the audit."""
    from dowhy import CausalModel

    import dowhy_e2b
    from dowhy_e2b.datasets import make_nonlinear

    ds = make_nonlinear(n_samples=n, random_state=0)
    rows: list[dict[str, Any]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in methods:
            model = CausalModel(data=ds.data, treatment="a", outcome="y", graph=ds.graph())
            estimand = model.identify_effect()
            start = time.perf_counter()
            est = model.estimate_effect(
                estimand,
                method_name=method,
                treatment_value=1.0,
                control_value=0.0,
                method_params={"init_params": {"random_state": 0}},
            )
            rows.append(
                {
                    "method": method,
                    "step": "estimate (200 bootstrap replicates)",
                    "seconds": time.perf_counter() - start,
                }
            )
            total = 0.0
            for refuter, kwargs in REFUTERS.items():
                start = time.perf_counter()
                model.refute_estimate(estimand, est, method_name=refuter, n_jobs=2, **kwargs)
                elapsed = time.perf_counter() - start
                total += elapsed
                rows.append({"method": method, "step": refuter, "seconds": elapsed})
            rows.append({"method": method, "step": "all six refuters", "seconds": total})
            start = time.perf_counter()
            report = dowhy_e2b.audit(model, estimand, est, n_jobs=2, random_state=0)
            rows.append(
                {
                    "method": method,
                    "step": f"audit (verdict: {report.verdict})",
                    "seconds": time.perf_counter() - start,
                }
            )
    return rows


def _refuter_markdown(rows: list[dict[str, Any]], n: int) -> str:
    info = machine_info()
    lines = [
        f"## Refuter battery: `nonlinear`, n = {n:,}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, load average {info['load_average_at_start']}.",
        "",
        "| method | step | wall time |",
        "|---|---|---|",
    ]
    lines += [f"| {r['method']} | {r['step']} | {r['seconds']:.1f} s |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.timings", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=10)
    p.add_argument("--refuter-n", type=int, default=2000)
    p.add_argument("--skip-refuters", action="store_true")
    p.add_argument("--out", default="docs/timings.md")
    args = p.parse_args(argv)
    sections = [_markdown(time_fits(args.n, args.d), args.n, args.d)]
    if not args.skip_refuters:
        sections.append(_refuter_markdown(time_refuters(args.refuter_n), args.refuter_n))
    command = "python -m benchmarks.timings " + " ".join(sys.argv[1:] if argv is None else argv)
    body = __doc__.split("Run:")[0].split("\n", 2)[2].strip()
    header = ["# Timings", "<!-- Generated by `python -m benchmarks.timings`; do not edit. -->", body]
    page = "\n\n".join([*header, f"Command: `{command.strip()}`", *sections])
    print(page)
    Path(args.out).write_text(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
