"""E2B ablations: what each design choice is worth, on DESIGN §7's processes and on held-out ones.

E2B's defaults were chosen on seeds 0-9 of ``linear``, ``nonlinear`` and ``poor_overlap``. This
study measures them, and one variant per design choice, on fresh seeds (default 100-119), and the
defaults alone on five validation processes that played no part in the tuning:

* ``interaction``: nonlinear treatment assignment (a sine and a square), a logistic curve, an
  interaction of the confounders with the dose;
* ``highdim``: 20 correlated confounders, sparse assignment and outcome, a quadratic curve;
* ``null``: ``nonlinear``'s confounding with a flat true curve (no effect at all);
* ``skewed``: a log-normal dose and a logarithmic curve;
* ``lemonade``: :func:`dowhy_e2b.datasets.load_lemonade` (a categorical confounder).

Every method shares the outcome stage (weighted cubic spline, 5 quantile knots); the reference
is the best of the other weighting methods (unweighted, GPS, EB with 1, 2, 3 moments), and on
``poor_overlap`` the best method overall (do no harm).

Run: ``python -m benchmarks.ablations [--seeds 20] [--first-seed 100] [--n 1000] [--jobs 2]``; it
writes ``docs/e2b_ablations.md`` and ``docs/e2b_ablations.csv``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from . import dgps
from .dgps import DESIGN_DGPS, DGPS, HIGHDIM_DGPS, BenchData
from .measure import limited_threads, machine_info, package_versions
from .metrics import effective_sample_size, rmse

__all__ = ["VALIDATION_DGPS", "VARIANTS", "main", "run_ablations"]

#: E2B variants: one design choice changed from the defaults each.
VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "e2b": ({}, "defaults"),
    "e2b_crossfit2": ({"cross_fit": 2}, "sample splitting: base weights learned on the other half"),
    "e2b_sampled": (
        {"loss": "sampled"},
        "sampled loss (64 random functions a step) instead of its expectation",
    ),
    "e2b_mlp": ({"base_model": "mlp"}, "MLP base-weight model instead of the tensor basis"),
    "e2b_no_anchors": ({"outcome_share": 0.0}, "no functions anchored to the real outcome"),
    "e2b_exact_balance": ({"ridge": 0.0}, "exact balance (no dual ridge)"),
    "e2b_no_interactions": ({"interaction_share": 0.0}, "no random treatment-covariate interactions"),
}
BASELINES = ("unweighted", "gps", "eb1", "eb2", "eb3")


#: The validation processes (from the registry in :mod:`benchmarks.dgps`), by name.
VALIDATION_DGPS: dict[str, Any] = {name: DGPS[name] for name in dgps.VALIDATION_DGPS}


def _data(dgp: str, n: int, seed: int) -> BenchData:
    return VALIDATION_DGPS[dgp](n, seed) if dgp in VALIDATION_DGPS else DGPS[dgp](n, seed)


def _weighter(label: str, seed: int) -> Any:
    from dowhy_e2b import E2BWeights, EntropyBalancingWeights, GPSWeights, UnitWeights

    if label in VARIANTS:
        return E2BWeights(random_state=seed, **VARIANTS[label][0])
    if label.startswith("eb"):
        return EntropyBalancingWeights(moments=int(label[2:]))
    return GPSWeights() if label == "gps" else UnitWeights()


def _run_one(dgp: str, n: int, seed: int, label: str) -> dict[str, Any]:
    from dowhy_e2b import AverageDoseResponse

    bench = _data(dgp, n, seed)
    with limited_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        fit = AverageDoseResponse(_weighter(label, seed), n_bootstrap=0, dose_grid=bench.grid).fit(
            bench.data[bench.confounders],
            bench.data[bench.treatment].to_numpy(),
            bench.data[bench.outcome].to_numpy(),
        )
        elapsed = time.perf_counter() - start
    return {
        "dgp": dgp,
        "n": n,
        "seed": seed,
        "method": label,
        "rmse": rmse(fit.predict(bench.grid), bench.truth),
        "ess": effective_sample_size(fit.weights_),
        "time_s": elapsed,
    }


def run_ablations(seeds: range, n: int, jobs: int, validation: bool = True) -> pd.DataFrame:
    """Run the study; one row per (process, n, seed, method)."""
    tasks = [(dgp, n, s, m) for dgp in DESIGN_DGPS for s in seeds for m in (*BASELINES, *VARIANTS)]
    if validation:
        tasks += [(dgp, n, s, m) for dgp in VALIDATION_DGPS for s in seeds for m in (*BASELINES, "e2b")]
    rows = Parallel(n_jobs=jobs)(delayed(_run_one)(*t) for t in tasks)
    return pd.DataFrame(rows)


def _ratio(e: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Ratio of paired means and its delta-method standard error."""
    r = e.mean() / b.mean()
    d = e / e.mean() - b / b.mean()
    return float(r), float(r * d.std(ddof=1) / np.sqrt(d.size))


def _table(results: pd.DataFrame, dgp: str, methods: list[str]) -> list[str]:
    d = results[results.dgp == dgp].pivot_table(index="seed", columns="method", values="rmse")
    ess = results[results.dgp == dgp].groupby("method").ess.mean()
    times = results[results.dgp == dgp].groupby("method").time_s.mean()
    pool = ["gps", "eb1", "eb2", "eb3"] + (["unweighted"] if dgp == "poor_overlap" else [])
    best = min(pool, key=lambda m: d[m].mean())
    lines = [
        f"### `{dgp}` — reference: {best} (RMSE {d[best].mean():.3f})",
        "",
        "| method | what changes | RMSE | ratio ± s.e. | better than reference on | ESS | fit time |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        r, se = _ratio(d[m].to_numpy(), d[best].to_numpy())
        what = VARIANTS[m][1] if m in VARIANTS else "baseline"
        wins = int((d[m] < d[best]).sum())
        lines.append(
            f"| {m} | {what} | {d[m].mean():.3f} ± {d[m].std(ddof=1) / np.sqrt(len(d)):.3f} | "
            f"{r:.3f} ± {se:.3f} | {wins} / {len(d)} | {ess[m]:.0f} | {times[m]:.2f} s |"
        )
    return [*lines, ""]


def write_page(results: pd.DataFrame, out: Path, command: str) -> Path:
    """Write ``e2b_ablations.md`` (and the CSV) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "e2b_ablations.csv", index=False)
    machine = machine_info()
    versions = package_versions()
    seeds = sorted(results.seed.unique())
    lines = [
        "# E2B ablations",
        "",
        "<!-- Generated by `python -m benchmarks.ablations` from e2b_ablations.csv; do not edit. -->",
        "",
        __doc__.split("Run:")[0].strip(),
        "",
        f"- Command: `{command}`",
        f"- Seeds {seeds[0]}–{seeds[-1]} ({len(seeds)} per process), n = {int(results.n.iloc[0])}; "
        "each fit on one thread; RMSE of the curve on 50 grid points between the 5th and 95th "
        "percentiles of the treatment.",
        f"- Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores; versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if k in ("dowhy-e2b", "torch", "numpy")),
        "- Ratio: mean RMSE over that of the reference; s.e. by the delta method over paired seeds.",
        "",
        "## DESIGN §7's processes (fresh seeds)",
        "",
    ]
    for dgp in DESIGN_DGPS:
        lines += _table(results, dgp, [*BASELINES, *VARIANTS])
    lines += ["## Validation processes (E2B's defaults)", ""]
    for dgp in VALIDATION_DGPS:
        if dgp in set(results.dgp):
            lines += _table(results, dgp, [*BASELINES, "e2b"])
    path = out / "e2b_ablations.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ablations", description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--first-seed", type=int, default=100)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--no-validation", action="store_true", help="only DESIGN §7's processes")
    p.add_argument("--out", default="docs")
    args = p.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results = run_ablations(seeds, args.n, args.jobs, validation=not args.no_validation)
    command = "python -m benchmarks.ablations " + " ".join(
        argv if argv is not None else __import__("sys").argv[1:]
    )
    print(f"wrote {write_page(results, Path(args.out), command.strip())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
