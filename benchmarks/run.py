"""Command line of the benchmark: run it, write the raw CSV files, and generate the report page.

Examples
--------
Smoke test (one seed, n = 300, fast methods, E2B with 20 steps; writes to ``out/benchmarks-quick``)::

    python -m benchmarks.run --quick

The full benchmark (ARCHITECTURE.md, "Benchmarks and targets") and the scaling study, written to ``docs/``::

    python -m benchmarks.run --seeds 20 --n 1000
    python -m benchmarks.run --scaling

Each writes its raw results (``benchmarks_results.csv``, ``benchmarks_curves.csv``,
``benchmarks_scaling.csv`` and ``benchmarks_meta.json``) and then regenerates
``benchmarks.md`` and its plots from all the CSV files present in the output folder.
``--report-only`` regenerates the page without running anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .dgps import DGPS, make_bench_data
from .measure import git_revision, limited_threads, machine_info, package_versions
from .methods import METHODS, Config, availability, probe_notes, run_method

__all__ = ["main", "run_benchmark"]

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
RESULTS_CSV = "benchmarks_results.csv"
CURVES_CSV = "benchmarks_curves.csv"
META_JSON = "benchmarks_meta.json"

DEFAULT_DGPS = ("linear", "nonlinear", "poor_overlap", "dowhy_linear")
QUICK: dict[str, Any] = {"seeds": 1, "n": 300, "n_bootstrap": 20, "e2b_params": {"max_steps": 20}}


#: Methods already warmed up in this process (imports, lazy initialisation, first-call caches).
_WARMED: set[str] = set()
_WARMUP_N = 200


def _warm_up(names: list[str], config: Config, skip: dict[str, str]) -> None:
    """Fit every method once on a small sample, untimed, so that timings exclude first-call costs."""
    todo = [m for m in names if m not in _WARMED and m not in skip]
    if not todo:
        return
    data = make_bench_data("linear", _WARMUP_N, 10_000)
    for name in todo:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                METHODS[name].fit(data, config)
            except Exception as err:
                logger.debug("warm-up of %s failed: %s", name, err)
        _WARMED.add(name)


def _run_task(
    dgp: str,
    n: int,
    seed: int,
    names: list[str],
    config: Config,
    skip: dict[str, str],
    keep_curves: bool,
    memory_pass: bool,
    warmup: bool,
    skipped: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All methods on one sample (drawn once): result rows and, if asked, the curves."""
    data = make_bench_data(dgp, n, seed)
    rows: list[dict[str, Any]] = []
    curves: dict[str, dict[str, np.ndarray]] = {}
    with limited_threads(config.threads):
        if warmup:
            _warm_up(names, config, skip)
        for name in names:
            row, curve = run_method(
                METHODS[name],
                data,
                config,
                unavailable=skip.get(name, ""),
                memory_pass=memory_pass,
                skipped=(skipped or {}).get(name, ""),
            )
            rows.append(row)
            if curve is not None:
                curves[name] = curve
    # A DoWhy-path method must reproduce its core twin on the same sample and seed.
    for row in rows:
        twin = METHODS[row["method"]].twin
        if twin and row["method"] in curves and twin in curves:
            diff = np.abs(curves[row["method"]]["estimate"] - curves[twin]["estimate"])
            row["dowhy_core_max_diff"] = float(diff.max())
    records: list[dict[str, Any]] = []
    if keep_curves:
        for j, t in enumerate(data.grid):
            records.append(
                {"dgp": dgp, "seed": seed, "method": "truth", "treatment": t, "estimate": data.truth[j]}
            )
        for name, c in curves.items():
            for j, t in enumerate(data.grid):
                records.append(
                    {
                        "dgp": dgp,
                        "seed": seed,
                        "method": name,
                        "treatment": t,
                        "estimate": c["estimate"][j],
                        "ci_lower": c["ci_lower"][j],
                        "ci_upper": c["ci_upper"][j],
                    }
                )
    return rows, records


def run_benchmark(
    dgps: list[str],
    names: list[str],
    seeds: list[int],
    n: int,
    config: Config,
    jobs: int = 1,
    curve_seeds: int = 1,
    memory_seeds: int = 1,
    warmup: bool = True,
    max_failures: int = 3,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Run ``names`` on every (dgp, seed) sample.

    Parameters
    ----------
    dgps, names : list of str
        Data-generating processes and methods.
    seeds : list of int
        One sample per (dgp, seed), shared by all methods.
    n : int
        Rows per sample.
    config : Config
    jobs : int
        Parallel (dgp, seed) tasks (joblib processes); 1 runs in this process.
    curve_seeds : int
        Keep the curves of the first this many seeds.
    memory_seeds : int
        Measure ``tracemalloc`` peak memory (an extra untimed fit) on the first this many seeds.
    warmup : bool
        Fit every method once, untimed, before the timed runs of each process.
    max_failures : int
        With ``jobs=1``: a method that failed on the first ``max_failures`` seeds of a process with
        the same error is recorded as skipped on its remaining seeds (0: always run).
    progress : bool
        Print a line per task.

    Returns
    -------
    results : DataFrame
        One row per (dgp, seed, method).
    curves : DataFrame
        Curves of the first ``curve_seeds`` seeds (long format, with the truth as method "truth").
    notes : dict
        Per method: why it is unavailable, or the error its documented call raises (workarounds).
    """
    methods = [METHODS[m] for m in names]
    skip = {m.name: reason for m in methods if (reason := availability(m))}
    notes = {**{k: f"unavailable: {v}" for k, v in skip.items()}, **probe_notes(methods)}
    tasks = [(dgp, seed) for dgp in dgps for seed in seeds]
    keep = set(seeds[:curve_seeds])
    mem = set(seeds[:memory_seeds])
    start = time.perf_counter()
    if jobs == 1:
        outputs = []
        errors: dict[tuple[str, str], list[str]] = {}
        for i, (dgp, seed) in enumerate(tasks, 1):
            skipped = {}
            for name in names:
                errs = errors.get((dgp, name), [])
                if max_failures and len(errs) >= max_failures and len(set(errs[:max_failures])) == 1:
                    skipped[name] = f"not run: failed on the first {max_failures} seeds with {errs[0]}"
            out = _run_task(dgp, n, seed, names, config, skip, seed in keep, seed in mem, warmup, skipped)
            outputs.append(out)
            for row in out[0]:
                # Only failures from the first seeds count: one success ends the streak for good.
                key = (dgp, row["method"])
                if row["status"] == "error" and len(errors.get(key, [])) == seed - seeds[0]:
                    errors.setdefault(key, []).append(row["error"])
            if progress:
                ok = [r for r in out[0] if r["status"] == "ok"]
                e2b = next((r for r in ok if r["method"] == "e2b"), None)
                tail = f", e2b RMSE {e2b['rmse']:.3f}" if e2b else ""
                print(
                    f"[{i}/{len(tasks)}] {dgp} seed {seed}: {len(ok)}/{len(out[0])} ok{tail} "
                    f"({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
    else:
        from joblib import Parallel, delayed

        outputs = Parallel(n_jobs=jobs, verbose=5 if progress else 0)(
            delayed(_run_task)(dgp, n, seed, names, config, skip, seed in keep, seed in mem, warmup)
            for dgp, seed in tasks
        )
    rows = [r for out in outputs for r in out[0]]
    records = [r for out in outputs for r in out[1]]
    return pd.DataFrame(rows), pd.DataFrame(records), notes


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark of dowhy-e2b's estimators and peers on processes with a known dose-response.",
    )
    p.add_argument(
        "--quick", action="store_true", help="smoke test: 1 seed, n=300, fast methods, E2B 20 steps"
    )
    p.add_argument("--seeds", type=int, default=None, help="number of seeds, 0..S-1 (default 20; quick: 1)")
    p.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--n", type=int, default=None, help="rows per sample (default 1000; quick: 300)")
    p.add_argument("--dgps", nargs="+", choices=sorted(DGPS), default=None, help="processes to run")
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=None, help="methods to run")
    p.add_argument(
        "--jobs", type=int, default=1, help="parallel (dgp, seed) tasks (default 1: honest timings)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS and torch threads per task (default 1; 0: library defaults)",
    )
    p.add_argument(
        "--memory-seeds",
        type=int,
        default=None,
        help="seeds per process with an extra untimed fit under tracemalloc (default 1; quick: 0)",
    )
    p.add_argument(
        "--n-bootstrap", type=int, default=None, help="bootstrap replicates for coverage (default 200)"
    )
    p.add_argument(
        "--e2b-params",
        type=json.loads,
        default=None,
        help="E2B parameters as JSON, a benchmark configuration (default: its defaults; quick: "
        '{"max_steps": 20})',
    )
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default docs; quick: out/benchmarks-quick)"
    )
    p.add_argument("--scaling", action="store_true", help="run the scaling study instead of the benchmark")
    p.add_argument(
        "--scaling-sizes", type=int, nargs="+", default=None, help="sample sizes of the scaling study"
    )
    p.add_argument(
        "--max-failures",
        type=int,
        default=3,
        help="skip a method on a process after it failed on its first K seeds with one error "
        "(default 3; 0: never)",
    )
    p.add_argument("--report-only", action="store_true", help="regenerate the page from the CSV files only")
    p.add_argument("--no-progress", action="store_true", help="do not print progress")
    return p.parse_args(argv)


def _command(argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", "benchmarks.run", *args])


def _update_meta(out: Path, key: str, value: dict[str, Any]) -> None:
    path = out / META_JSON
    meta = json.loads(path.read_text()) if path.exists() else {}
    meta[key] = value
    path.write_text(json.dumps(meta, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.run``."""
    args = _parse(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = args.out or (REPO / "out" / "benchmarks-quick" if args.quick else REPO / "docs")
    out.mkdir(parents=True, exist_ok=True)
    from . import report

    if args.report_only:
        print(f"wrote {report.write_report(out)}")
        return 0
    if args.scaling:
        from .scaling import run_scaling

        started = dt.datetime.now(dt.timezone.utc)
        frame = run_scaling(
            sizes=args.scaling_sizes,
            quick=args.quick,
            progress=not args.no_progress,
            threads=args.threads or None,
        )
        frame.to_csv(out / "benchmarks_scaling.csv", index=False)
        _update_meta(
            out,
            "scaling",
            {
                "command": _command(argv),
                "started_utc": started.isoformat(timespec="seconds"),
                "wall_time_s": round((dt.datetime.now(dt.timezone.utc) - started).total_seconds(), 1),
                "threads": args.threads,
                "machine": machine_info(),
                "versions": package_versions(),
                "git_revision": git_revision(REPO),
            },
        )
        print(f"wrote {out / 'benchmarks_scaling.csv'} and {report.write_report(out)}")
        return 0

    seeds = args.seeds if args.seeds is not None else (QUICK["seeds"] if args.quick else 20)
    n = args.n if args.n is not None else (QUICK["n"] if args.quick else 1000)
    n_boot = (
        args.n_bootstrap if args.n_bootstrap is not None else (QUICK["n_bootstrap"] if args.quick else 200)
    )
    e2b_params = (
        args.e2b_params if args.e2b_params is not None else (QUICK["e2b_params"] if args.quick else {})
    )
    dgps = args.dgps or list(DEFAULT_DGPS)
    if args.methods:
        names = list(args.methods)
    elif args.quick:
        names = [name for name, m in METHODS.items() if m.fast]
    else:
        names = list(METHODS)
    config = Config(n_bootstrap=n_boot, e2b_params=e2b_params, threads=args.threads or None)
    seed_list = list(range(args.first_seed, args.first_seed + seeds))
    started = dt.datetime.now(dt.timezone.utc)
    machine = machine_info()
    t0 = time.perf_counter()
    memory_seeds = args.memory_seeds if args.memory_seeds is not None else (0 if args.quick else 1)
    results, curves, notes = run_benchmark(
        dgps,
        names,
        seed_list,
        n,
        config,
        jobs=args.jobs,
        memory_seeds=memory_seeds,
        warmup=not args.quick,
        max_failures=args.max_failures,
        progress=not args.no_progress,
    )
    wall = time.perf_counter() - t0
    results.to_csv(out / RESULTS_CSV, index=False)
    curves.to_csv(out / CURVES_CSV, index=False)
    _update_meta(
        out,
        "benchmark",
        {
            "command": _command(argv),
            "quick": bool(args.quick),
            "started_utc": started.isoformat(timespec="seconds"),
            "wall_time_s": round(wall, 1),
            "jobs": args.jobs,
            "threads": args.threads,
            "memory_seeds": memory_seeds,
            "max_failures": args.max_failures,
            "warmup": not args.quick,
            "seeds": seed_list,
            "n": n,
            "n_bootstrap": n_boot,
            "e2b_params": e2b_params,
            "dgps": dgps,
            "methods": names,
            "method_notes": notes,
            "machine": machine,
            "versions": package_versions(),
            "git_revision": git_revision(REPO),
        },
    )
    page = report.write_report(out)
    if not args.no_progress:
        print(report.console_summary(results))
        print(f"\n{len(results)} rows in {wall:.1f} s; wrote {out / RESULTS_CSV} and {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
