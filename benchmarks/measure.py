"""Wall time, peak memory, the machine and the package versions behind a benchmark run.

Peak memory is measured one of two ways, chosen per method and recorded next to the number:

* ``"tracemalloc"``: the peak of memory allocated through Python's allocators during the call
  (NumPy, pandas and scikit-learn allocate their arrays there), above the level at its start.
  Exact for those libraries; it slows allocation-heavy Python code a little.
* ``"rss"``: the peak resident set size of the process during the call, above its level at the
  start, sampled every few milliseconds from ``/proc/self/statm`` by a background thread (falls
  back to ``resource.getrusage`` where ``/proc`` is missing). Used for torch-based methods, whose
  tensors bypass Python's allocators. Memory the process already holds from earlier calls and
  reuses is not counted, so this is a lower bound.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import resource
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Measurement",
    "limited_threads",
    "machine_info",
    "measure",
    "package_versions",
    "rss_bytes",
]

_STATM = Path("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

#: Packages whose versions the report lists (distribution names).
VERSIONED = (
    "dowhy-e2b",
    "dowhy",
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "statsmodels",
    "torch",
    "networkx",
    "matplotlib",
    "ebal",
    "causal-curve",
    "pygam",
    "econml",
)


@dataclass
class Measurement:
    """Filled in by :func:`measure` when its block ends."""

    method: str
    wall_s: float = float("nan")
    peak_mb: float = float("nan")


def rss_bytes() -> int:
    """Current resident set size of this process in bytes (peak so far where /proc is missing)."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak) * (1 if sys.platform == "darwin" else 1024)


class _RSSSampler(threading.Thread):
    def __init__(self, interval: float = 0.002):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = rss_bytes()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._halt.wait(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, rss_bytes())
        return self.peak


@contextlib.contextmanager
def measure(method: str = "tracemalloc") -> Iterator[Measurement]:
    """Time a block and record its peak memory (in MiB above the level at its start).

    Parameters
    ----------
    method : {"tracemalloc", "rss", "time"}
        How memory is measured (see the module docstring); ``"time"`` measures wall time only
        (``peak_mb`` stays NaN).

    Yields
    ------
    Measurement
        Its ``wall_s`` and ``peak_mb`` are set when the block exits (also when it raises).
    """
    if method not in ("tracemalloc", "rss", "time"):
        raise ValueError(f"method must be 'tracemalloc', 'rss' or 'time', got {method!r}.")
    result = Measurement(method=method)
    started_tracing = False
    sampler = None
    base = 0
    if method == "time":
        pass
    elif method == "tracemalloc":
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            started_tracing = True
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    else:
        base = rss_bytes()
        sampler = _RSSSampler()
        sampler.start()
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.wall_s = time.perf_counter() - start
        if sampler is not None:
            result.peak_mb = max(sampler.stop() - base, 0) / 2**20
        elif method == "tracemalloc":
            peak = tracemalloc.get_traced_memory()[1]
            if started_tracing:
                tracemalloc.stop()
            result.peak_mb = max(peak - base, 0) / 2**20


@contextlib.contextmanager
def limited_threads(n: int | None) -> Iterator[None]:
    """Limit BLAS/OpenMP (threadpoolctl) and torch intra-op threads to ``n`` inside the block.

    ``None`` or 0 leaves the libraries' defaults. On a machine shared with other work,
    multi-threaded torch can slow down many times over; one thread gives stable timings.
    """
    if not n:
        yield
        return
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of the package
        torch = None
    old = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(int(n))
    try:
        with threadpool_limits(limits=int(n)):
            yield
    finally:
        if torch is not None and old is not None:
            torch.set_num_threads(old)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def machine_info() -> dict[str, object]:
    """CPU model, logical cores usable by this process, total memory, OS, Python, torch threads."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    try:
        import torch

        torch_threads = int(torch.get_num_threads())
    except ImportError:
        torch_threads = 0
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "memory_gib": round(_memory_gib(), 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "torch_threads": torch_threads,
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else [],
    }


def package_versions() -> dict[str, str]:
    """Installed versions of the packages the benchmark uses (``"not installed"`` otherwise)."""
    out = {}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_revision(root: Path) -> str:
    """The current commit of the repository at ``root`` (with ``+dirty`` for local changes)."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
