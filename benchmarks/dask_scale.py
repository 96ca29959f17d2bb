"""Scale-out benchmark: the dose-response pipeline on Dask, out of core, against the in-memory path.

Steps, each its own command (run them one at a time; each appends a JSON line to
``out/dask_scale/results.jsonl`` and the last one writes ``docs/dask_scale.md`` and publishes the
runs beside it as ``docs/dask_scale.jsonl``)::

    python -m benchmarks.dask_scale generate --n 10000000           # chunked Parquet, 100k rows a file
    python -m benchmarks.dask_scale dask --n 1000000 --bootstrap 100  # LocalCluster, 2 workers
    python -m benchmarks.dask_scale memory --n 1000000 --bootstrap 10 # the in-memory path
    python -m benchmarks.dask_scale dask --n 10000000 --bootstrap 100
    python -m benchmarks.dask_scale report                           # docs/dask_scale.md

The data: 10 standard-normal covariates, ``a = x·b + N(0, 1)``,
``y = sin(1.5a) + 0.3a + x·c + 0.5 x1 x2 + 0.5 x1² + N(0, 0.5²)`` (the package's ``nonlinear``
process widened to 10 covariates), so ``μ(a) = sin(1.5a) + 0.3a + 0.5``. The pipeline:
``AverageDoseResponse(EntropyBalancingWeights(moments=3), n_bootstrap=B, random_state=0)`` with the
default doubly robust stage. The Dask run reads the Parquet files (``dask.dataframe.read_parquet``)
on a ``LocalCluster`` of worker processes with one thread each and a memory limit, and records every
pass over the data (its step and seconds), the peak resident memory of each worker process, and the
machine's load average. The projection for 10⁹ rows fits, per kind of pass, ``seconds = overhead +
rate × rows`` on the measured runs and divides the row part among ``N`` workers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from .report import _md_table

OUT = Path("out/dask_scale")
DOC = Path("docs/dask_scale.md")
#: The runs behind the page, published beside it (``out/`` is not kept in the repository).
RUNS = Path("docs/dask_scale.jsonl")
ROWS_PER_FILE = 100_000
D = 10
B_COEF = np.array([0.8, 0.6, 0.4, 0.2, 0.0, 0.3, -0.3, 0.2, -0.2, 0.1])
C_COEF = np.array([1.0, 0.8, 0.0, 0.5, 1.0, 0.3, 0.3, -0.3, 0.2, 0.0])


def true_curve(t: np.ndarray) -> np.ndarray:
    return np.sin(1.5 * t) + 0.3 * t + 0.5


def _chunk(i: int, rows: int, seed: int = 0) -> Any:
    import pandas as pd

    rng = np.random.default_rng([seed, i])
    X = rng.normal(size=(rows, D))
    a = X @ B_COEF + rng.normal(size=rows)
    y = np.sin(1.5 * a) + 0.3 * a + X @ C_COEF + 0.5 * X[:, 0] * X[:, 1] + 0.5 * X[:, 0] ** 2
    y += 0.5 * rng.normal(size=rows)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(1, D + 1)])
    frame["a"], frame["y"] = a, y
    return frame


def generate(n: int) -> Path:
    """Write ``n`` rows as Parquet files of :data:`ROWS_PER_FILE` rows (``out/dask_scale/data_<n>``)."""
    path = OUT / f"data_{n}"
    path.mkdir(parents=True, exist_ok=True)
    for i in range(int(np.ceil(n / ROWS_PER_FILE))):
        target = path / f"part-{i:05d}.parquet"
        if not target.exists():
            _chunk(i, min(ROWS_PER_FILE, n - i * ROWS_PER_FILE)).to_parquet(target, index=False)
    return path


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version()}


def _record(row: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "results.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1))


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _instrument(passes: list) -> Any:
    """Record every pass over the data: the per-chunk function's name and its seconds."""
    from dowhy_e2b.distributed import _data

    original = _data.ChunkedData.run

    def run(self: Any, fn: Any, *params: Any) -> Any:
        start = time.perf_counter()
        out = original(self, fn, *params)
        name = params[1] if fn.__name__ == "_call" else fn.__name__
        passes.append((str(name), time.perf_counter() - start, int(self.n)))
        print(f"pass {len(passes)}: {name} {passes[-1][1]:.1f} s (load {os.getloadavg()[0]:.1f})", flush=True)
        return out

    _data.ChunkedData.run = run  # type: ignore[method-assign]
    return original


def run_dask(n: int, n_bootstrap: int, workers: int, memory_limit: str) -> dict:
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights

    path = generate(n)
    passes: list = []
    _instrument(passes)
    load_before = os.getloadavg()
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
        dask.config.set({"dowhy-e2b.bootstrap": "batched"}),
    ):
        ddf = dd.read_parquet(str(path))
        cols = [f"x{j}" for j in range(1, D + 1)]
        start = time.perf_counter()
        est = AverageDoseResponse(EntropyBalancingWeights(moments=3), n_bootstrap=n_bootstrap, random_state=0)
        est.fit(ddf[cols], ddf["a"], ddf["y"])
        seconds = time.perf_counter() - start
        peaks = client.run(_peak_rss_mib)
    grid = est.grid_
    return {
        "path": "dask",
        "n": n,
        "bootstrap": n_bootstrap,
        "workers": workers,
        "memory_limit": memory_limit,
        "partitions": int(np.ceil(n / ROWS_PER_FILE)),
        "seconds": seconds,
        "peak_rss_mib_per_worker": sorted(peaks.values()),
        "client_peak_rss_mib": _peak_rss_mib(),
        "passes": passes,
        "rmse": float(np.sqrt(np.mean((est.predict(grid) - true_curve(grid)) ** 2))),
        "n_bootstrap_failed": int(est.n_bootstrap_failed_),
        "band_halfwidth": float(np.mean(est.curve_.ci_upper - est.curve_.ci_lower) / 2),
        "load_before": load_before,
        **_machine(),
    }


def run_memory(n: int, n_bootstrap: int) -> dict:
    import pandas as pd

    from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights

    path = generate(n)
    frame = pd.concat([pd.read_parquet(p) for p in sorted(path.glob("*.parquet"))], ignore_index=True)
    cols = [f"x{j}" for j in range(1, D + 1)]
    load_before = os.getloadavg()
    start = time.perf_counter()
    est = AverageDoseResponse(EntropyBalancingWeights(moments=3), n_bootstrap=0, random_state=0)
    est.fit(frame[cols], frame["a"], frame["y"])
    point = time.perf_counter() - start
    start = time.perf_counter()
    if n_bootstrap:
        est.bootstrap(frame[cols], frame["a"], frame["y"], n_bootstrap=n_bootstrap)
    boot = time.perf_counter() - start
    grid = est.grid_
    return {
        "path": "memory",
        "n": n,
        "bootstrap": n_bootstrap,
        "seconds_point_fit": point,
        "seconds_bootstrap": boot,
        "seconds_per_replicate": boot / max(n_bootstrap, 1),
        "peak_rss_mib": _peak_rss_mib(),
        "rmse": float(np.sqrt(np.mean((est.predict(grid) - true_curve(grid)) ** 2))),
        "load_before": load_before,
        **_machine(),
    }


def _kind(name: str) -> str:
    """A pass's name for the page: the point fit's passes by what they compute, the batched
    bootstrap's (``distributed/batched.py``) prefixed."""
    named = {
        "_dual_chunk": "entropy dual (Newton)",
        "setup": "bootstrap: setup",
        "chord": "bootstrap: replicate duals",
        "matvec": "bootstrap: ridge refits (PCG)",
        "smoother": "bootstrap: smoother statistics",
        "loo": "bootstrap: penalty choice (leave-one-dose-out)",
    }
    return named.get(name, name.strip("_").removesuffix("_chunk").replace("_", " "))


def projection(rows: list[dict], target: float = 1e9, workers: tuple = (2, 16, 64, 256)) -> tuple[Any, Any]:
    """Per kind of pass, ``seconds = overhead + rate × rows / workers`` fitted on the Dask runs;
    the projected time for ``target`` rows on each number of workers."""
    import pandas as pd

    runs = [r for r in rows if r["path"] == "dask"]
    records = []
    for r in runs:
        for name, seconds, n in r["passes"]:
            records.append({"kind": _kind(name), "rows": n, "seconds": seconds, "workers": r["workers"]})
    table = pd.DataFrame(records)
    per_run = (
        table.groupby(["kind", "rows"])
        .agg(passes=("seconds", "size"), seconds=("seconds", "sum"))
        .reset_index()
    )
    fits = []
    for kind, grp in per_run.groupby("kind"):
        per_pass = grp.seconds / grp.passes
        w = runs[0]["workers"]
        if grp.rows.nunique() >= 2:
            rate, overhead = np.polyfit(grp.rows, per_pass, 1)
        else:
            rate, overhead = float(per_pass.iloc[0] / grp.rows.iloc[0]), 0.0
        overhead = max(float(overhead), 0.0)
        fits.append(
            {
                "kind": kind,
                "passes (largest run)": int(grp.passes.iloc[-1]),
                "overhead_s": overhead,
                "core_s_per_million_rows": float(rate) * w * 1e6,
            }
        )
    model = pd.DataFrame(fits)
    proj = []
    for n_workers in workers:
        total = float(
            (
                model["passes (largest run)"]
                * (model.overhead_s + model.core_s_per_million_rows * target / 1e6 / n_workers)
            ).sum()
        )
        proj.append({"workers": n_workers, "hours": total / 3600})
    return model, pd.DataFrame(proj)


def _reading(rows: list[dict]) -> list[str]:
    """The comparisons the runs support, computed from them (the largest run of each kind)."""
    dask = sorted((r for r in rows if r["path"] == "dask"), key=lambda r: r["n"])
    memory = [r for r in rows if r["path"] == "memory"]
    out: list[str] = []
    for mem in memory:
        same = [r for r in dask if r["n"] == mem["n"]]
        if not same:
            continue
        d = same[-1]
        worker_peak = max(d["peak_rss_mib_per_worker"])
        projected = mem["seconds_point_fit"] + d["bootstrap"] * mem["seconds_per_replicate"]
        out += [
            "",
            f"At {mem['n']:,} rows the in-memory path would need about {projected:.0f} s for the same "
            f"{d['bootstrap']} replicates (its point fit plus {d['bootstrap']} times its measured time per "
            f"replicate), {projected / d['seconds']:.1f} times the Dask run's {d['seconds']:.0f} s on "
            f"{d['workers']} one-core workers; its process peaked at {mem['peak_rss_mib']:.0f} MiB, each "
            f"worker at {worker_peak:.0f} MiB. The curves agree: RMSE "
            f"{mem['rmse']:.10f} in memory, {d['rmse']:.10f} on Dask.",
        ]
    if len(dask) >= 2:
        small, large = dask[0], dask[-1]
        growth = large["seconds"] / small["seconds"]
        out += [
            "",
            f"From {small['n']:,} to {large['n']:,} rows the time grew {growth:.1f}-fold and the largest "
            f"worker's peak memory from {max(small['peak_rss_mib_per_worker']):.0f} "
            f"to {max(large['peak_rss_mib_per_worker']):.0f} MiB: a worker's memory is set by the chunk "
            "(its rows times the replicates), not by the number of rows.",
        ]
    return out


def report() -> Path:
    rows = [json.loads(line) for line in open(OUT / "results.jsonl")]
    RUNS.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model, proj = projection(rows)
    lines = [
        "# Scale-out benchmark (Dask)",
        "",
        "Generated by `python -m benchmarks.dask_scale report` from the runs in `dask_scale.jsonl` beside",
        "this page, which the commands in the module's docstring (`benchmarks/dask_scale.py`) append to",
        "(in `out/dask_scale/results.jsonl`). The data, the pipeline and the projection's model are",
        "described there. The machine's load average before each run is recorded beside the time.",
        "",
        "## Runs",
        "",
        "| path | rows | bootstrap | workers | seconds | peak memory per worker (MiB) | RMSE | load before |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["path"] == "dask":
            mem = ", ".join(f"{m:.0f}" for m in r["peak_rss_mib_per_worker"])
            lines.append(
                f"| Dask, Parquet, {r['partitions']} partitions | {r['n']:,} | {r['bootstrap']} | "
                f"{r['workers']} "
                f"(limit {r['memory_limit']}) | {r['seconds']:.0f} | {mem} | {r['rmse']:.4f} | "
                f"{r['load_before'][0]:.1f} |"
            )
        else:
            lines.append(
                f"| in memory | {r['n']:,} | {r['bootstrap']} | 1 process | "
                f"point fit {r['seconds_point_fit']:.0f}, "
                f"bootstrap {r['seconds_bootstrap']:.0f} ({r['seconds_per_replicate']:.1f} per replicate) | "
                f"{r['peak_rss_mib']:.0f} (the process) | {r['rmse']:.4f} | {r['load_before'][0]:.1f} |"
            )
    lines += _reading(rows)
    lines += ["", "## Passes over the data", ""]
    for r in rows:
        if r["path"] != "dask":
            continue
        kinds: dict[str, list] = {}
        for name, seconds, _ in r["passes"]:
            kinds.setdefault(_kind(name), []).append(seconds)
        lines += [
            f"{r['n']:,} rows, {len(r['passes'])} passes:",
            "",
            "| pass | count | seconds |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {len(v)} | {sum(v):.1f} |" for k, v in kinds.items()]
        lines.append("")
    lines += [
        "## Projection to 10⁹ rows",
        "",
        "Per kind of pass: seconds per pass = overhead + rate × rows, fitted on the Dask runs (a single",
        "run gives the rate alone); the rate is in core-seconds per million rows (the runs' workers had one",
        "core each), and N workers divide the row part. It assumes the per-row work stays the same (10",
        "covariates, moments 3, 100 replicates), I/O that scales with the workers, and the same passes.",
        "",
        _md_table(
            list(model.columns),
            [[kind, passes, f"{over:.3g}", f"{rate:.3g}"] for kind, passes, over, rate in model.to_numpy()],
        ),
        "",
        _md_table(["workers", "hours"], [[int(r.workers), f"{r.hours:.2f}"] for r in proj.itertuples()]),
        "",
    ]
    DOC.write_text("\n".join(lines))
    return DOC


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dask_scale")
    parser.add_argument("step", choices=["generate", "dask", "memory", "report"])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GiB")
    args = parser.parse_args(argv)
    if args.step == "generate":
        print(generate(args.n))
    elif args.step == "dask":
        _record(run_dask(args.n, args.bootstrap, args.workers, args.memory_limit))
    elif args.step == "memory":
        _record(run_memory(args.n, args.bootstrap))
    else:
        print(report())


if __name__ == "__main__":
    main()
