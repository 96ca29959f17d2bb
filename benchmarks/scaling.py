"""Scaling study: fit time and peak memory of entropy balancing and E2B against the sample size.

Each (method, n) runs in a fresh Python process, so that memory left over by earlier fits does not
hide this one's: the child draws the ``nonlinear`` process with ``n`` rows, makes one small warm-up
fit (imports, lazy initialisation), then times ``weighter.fit(X, a, y)`` — the weights only, not
the outcome stage — and measures the peak resident memory above its level before the fit
(:func:`benchmarks.measure.measure` with ``"rss"``). Small samples are fitted three times and the
median time is kept.

Run with ``python -m benchmarks.run --scaling``; the child entry point is
``python -m benchmarks.scaling METHOD N [SEED [THREADS]]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_SIZES", "run_scaling"]

REPO = Path(__file__).resolve().parents[1]

#: Sample sizes per method: E2B to 10^5, entropy balancing to 10^6.
DEFAULT_SIZES: dict[str, list[int]] = {
    "eb1": [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000],
    "eb3": [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000],
    "e2b": [1_000, 3_000, 10_000, 30_000, 100_000],
}
QUICK_SIZES = [1_000, 3_000]
CHILD_TIMEOUT_S = 900
_REPEATS_BELOW = 20_000


def _weighter(method: str, seed: int) -> Any:
    from dowhy_e2b import E2BWeights, EntropyBalancingWeights

    if method == "e2b":
        return E2BWeights(random_state=seed)
    if method.startswith("eb"):
        return EntropyBalancingWeights(moments=int(method[2:]))
    raise ValueError(f"scaling covers eb1, eb2, eb3 and e2b, got {method!r}.")


def child(method: str, n: int, seed: int = 0, threads: int | None = 1) -> dict[str, Any]:
    """Fit one weighter on ``n`` rows in this process and measure it (the child's work)."""
    from .measure import limited_threads

    with limited_threads(threads):
        return _child(method, n, seed)


def _child(method: str, n: int, seed: int) -> dict[str, Any]:
    import warnings

    from dowhy_e2b.datasets import make_nonlinear

    from .measure import measure, rss_bytes

    warm = make_nonlinear(n_samples=300, random_state=seed + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _weighter(method, seed).fit(warm.X, warm.a, warm.y)
    ds = make_nonlinear(n_samples=n, random_state=seed)
    X, a, y = ds.X, ds.a, ds.y
    repeats = 3 if n < _REPEATS_BELOW else 1
    times, peaks = [], []
    caught_text = ""
    for _ in range(repeats):
        weighter = _weighter(method, seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with measure("rss") as m:
                weighter.fit(X, a, y)
        times.append(m.wall_s)
        peaks.append(m.peak_mb)
        msgs = {f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught}
        caught_text = " | ".join(sorted(msgs)[:2])
    return {
        "method": method,
        "n": n,
        "fit_time_s": float(np.median(times)),
        "repeats": repeats,
        "peak_mem_mb": float(np.max(peaks)),
        "process_rss_mb": rss_bytes() / 2**20,
        "ess": float(np.sum(weighter.weights_) ** 2 / np.sum(weighter.weights_**2)),
        "converged": bool(getattr(weighter, "converged_", True)),
        "warnings": caught_text,
    }


def run_scaling(
    sizes: list[int] | None = None,
    quick: bool = False,
    progress: bool = True,
    seed: int = 0,
    threads: int | None = 1,
) -> pd.DataFrame:
    """Run every (method, n) of the study in its own process.

    Parameters
    ----------
    sizes : list of int, optional
        Sample sizes for every method (default: :data:`DEFAULT_SIZES`; quick: 10^3 and 3·10^3).
    quick : bool
        Small sizes only.
    progress : bool
        Print a line per fit.
    seed : int
        Seed of the data and of E2B.
    threads : int or None
        Thread limit of BLAS and torch in the children (``None``: library defaults).

    Returns
    -------
    DataFrame
        One row per (method, n): fit time, peak memory, status and error text.
    """
    plan = {m: list(sizes) for m in DEFAULT_SIZES} if sizes else dict(DEFAULT_SIZES)
    if quick and not sizes:
        plan = {m: list(QUICK_SIZES) for m in DEFAULT_SIZES}
    rows = []
    start = time.perf_counter()
    for method, ns in plan.items():
        for n in ns:
            cmd = [sys.executable, "-m", "benchmarks.scaling", method, str(n), str(seed), str(threads or 0)]
            try:
                proc = subprocess.run(
                    cmd, cwd=REPO, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
                )
                if proc.returncode == 0:
                    row = json.loads(proc.stdout.strip().splitlines()[-1])
                    row.update(status="ok", error="")
                else:
                    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                    row = {"method": method, "n": n, "status": "error", "error": tail[0][:400]}
            except subprocess.TimeoutExpired:
                row = {
                    "method": method,
                    "n": n,
                    "status": "error",
                    "error": f"timed out after {CHILD_TIMEOUT_S} s",
                }
            rows.append(row)
            if progress:
                shown = (
                    f"{row['fit_time_s']:.3f} s, {row['peak_mem_mb']:.0f} MiB"
                    if row["status"] == "ok"
                    else row["error"]
                )
                print(f"scaling {method} n={n}: {shown} ({time.perf_counter() - start:.0f} s)", flush=True)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    method_arg, n_arg = sys.argv[1], int(sys.argv[2])
    seed_arg = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    threads_arg = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    print(json.dumps(child(method_arg, n_arg, seed_arg, threads_arg or None)))
