"""Warm-started E2B refits against full retraining, on the same bootstrap resamples.

A bootstrap of the dose-response curve (or a refuter's refit) needs E2B refitted on new data. With
``set_params(warm_start=True, max_steps=k)`` a refit starts from the original fit's network and
takes at most ``k`` steps; everything data-dependent (basis, anchors, noise, ridge) is recomputed.
This script measures, per seed and resample, the curve of a full retraining and of warm-started
refits with several ``k``, and reports for each ``k``:

* the spread of the bootstrap curves (standard deviation over resamples, averaged over the grid)
  relative to full retraining's — below 1 means the warm start understates the variability that a
  band should show;
* the root mean squared difference between the warm and the full curve of the same resample,
  relative to full retraining's spread;
* the CPU time of a refit.

Run: ``python -m benchmarks.warm_start [--dgp nonlinear] [--n 1000] [--seeds 3] [--resamples 20]``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .dgps import DGPS
from .measure import limited_threads
from .report import _md_table

__all__ = ["main", "measure_warm_start"]

#: Step budgets of the warm-started refits.
STEPS = (0, 25, 100)


def _curve(weighter: object, X: np.ndarray, a: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    from dowhy_e2b import WeightedDoseResponse

    stage = WeightedDoseResponse(n_knots=5, penalty=0.0).fit(a, y, sample_weight=weighter.weights_)  # type: ignore[attr-defined]
    return stage.predict(grid)


def measure_warm_start(
    dgp: str,
    n: int,
    seeds: range,
    resamples: int,
    steps: tuple[int, ...] = STEPS,
    params: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per (seed, resample, refit): the curve on the grid and the CPU time. ``params``
    go to every :class:`~dowhy_e2b.E2BWeights` (its defaults otherwise)."""
    from dowhy_e2b import E2BWeights

    rows = []
    for seed in seeds:
        bench = DGPS[dgp](n, seed)
        X = bench.data[bench.confounders].to_numpy(dtype=float)
        a, y = bench.a, bench.y
        rng = np.random.default_rng(10_000 + seed)
        with limited_threads(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = E2BWeights(random_state=seed, dose_grid=bench.grid, **(params or {})).fit(X, a, y)
            for b in range(resamples):
                idx = rng.integers(0, n, n)
                Xb, ab, yb = X[idx], a[idx], y[idx]
                fits = {"full": copy.deepcopy(base).set_params(random_state=seed + 1000 * (b + 1))}
                for k in steps:
                    fits[f"warm {k}"] = copy.deepcopy(base).set_params(
                        warm_start=True, max_steps=k, random_state=seed + 1000 * (b + 1)
                    )
                for label, est in fits.items():
                    cpu = time.process_time()
                    est.fit(Xb, ab, yb)
                    cpu = time.process_time() - cpu
                    rows.append(
                        {
                            "seed": seed,
                            "resample": b,
                            "refit": label,
                            "cpu_s": cpu,
                            "steps": est.n_steps_,
                            "curve": _curve(est, Xb, ab, yb, bench.grid),
                        }
                    )
    return pd.DataFrame(rows)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per refit: spread relative to full retraining, distance to it, CPU time."""
    out = []
    for label, sub in rows.groupby("refit", sort=False):
        spread, dist, full_spread = [], [], []
        for seed, g in sub.groupby("seed"):
            full = rows[(rows.seed == seed) & (rows.refit == "full")].sort_values("resample")
            C = np.stack(g.sort_values("resample").curve.to_numpy())
            F = np.stack(full.curve.to_numpy())
            sd_full = F.std(axis=0, ddof=1).mean()
            full_spread.append(sd_full)
            spread.append(C.std(axis=0, ddof=1).mean() / sd_full)
            dist.append(np.sqrt(np.mean((C - F) ** 2)) / sd_full)
        out.append(
            {
                "refit": label,
                "spread / full": float(np.mean(spread)),
                "spread range": f"{min(spread):.2f}-{max(spread):.2f}",
                "RMS distance to full / full spread": float(np.mean(dist)),
                "steps": float(sub.steps.mean()),
                "CPU per refit (s)": float(sub.cpu_s.mean()),
            }
        )
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.warm_start", description=__doc__.splitlines()[0])
    p.add_argument("--dgp", default="nonlinear", choices=sorted(DGPS))
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=300)
    p.add_argument("--resamples", type=int, default=20)
    args = p.parse_args(argv)
    rows = measure_warm_start(
        args.dgp, args.n, range(args.first_seed, args.first_seed + args.seeds), args.resamples
    )
    command = "python -m benchmarks.warm_start " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"`{command.strip()}`\n")
    table = summarise(rows)
    cells = [
        [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in table.itertuples(index=False)
    ]
    print(_md_table(list(table.columns), cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
