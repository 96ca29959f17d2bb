"""Peak memory of one method's fit, measured in a fresh Python process.

For torch-based methods ``tracemalloc`` misses the tensors, and the resident memory of a
long-running process hides a fit that reuses memory freed by earlier fits. A fresh child process
draws the same sample, makes one small untimed warm-up fit (imports, lazy initialisation), then
measures the peak resident memory of the fit above its level before it.

Child entry point: ``python -m benchmarks.isolated METHOD DGP N SEED CONFIG_JSON``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from dataclasses import asdict
from pathlib import Path

__all__ = ["isolated_peak_memory"]

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 900


def isolated_peak_memory(method: str, dgp: str, n: int, seed: int, config: object) -> float:
    """Peak resident memory (MiB above the level before the fit) of ``method`` in a fresh process.

    Raises
    ------
    RuntimeError
        If the child fails; the message is the last line of its error output.
    """
    payload = json.dumps({k: dict(v) if k == "e2b_params" else v for k, v in asdict(config).items()})
    cmd = [sys.executable, "-m", "benchmarks.isolated", method, dgp, str(n), str(seed), payload]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"isolated memory run failed: {tail[0][:300]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["peak_mb"])


def _child(method: str, dgp: str, n: int, seed: int, payload: str) -> dict[str, float]:
    from .dgps import make_bench_data
    from .measure import limited_threads, measure
    from .methods import METHODS, Config

    config = Config(**json.loads(payload))
    spec = METHODS[method]
    with limited_threads(config.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.fit(make_bench_data("linear", 200, 10_000), config)
        data = make_bench_data(dgp, n, seed)
        with measure("rss") as m:
            spec.fit(data, config)
    return {"peak_mb": m.peak_mb, "wall_s": m.wall_s}


if __name__ == "__main__":
    a = sys.argv[1:]
    print(json.dumps(_child(a[0], a[1], int(a[2]), int(a[3]), a[4])))
