"""Running the audit's refits: isolated from global state, in parallel when that pays, with progress.

DoWhy's ``random_seed`` reseeds the global random generators; :func:`isolated` restores them and
records the warnings of a refit instead of printing them. :func:`run_tasks` times the first refit
in this process and starts worker processes only when the remaining refits are slow enough to pay
for them (a worker imports torch and DoWhy, seconds), so that a fast estimator's audit stays fast.
"""

from __future__ import annotations

import contextlib
import logging
import random
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from tqdm.auto import tqdm

from .tasks import REFUTER_NAMES, Task

__all__ = ["PARALLEL_MIN_SECONDS", "interactive", "isolated", "refute_once", "run_tasks"]

logger = logging.getLogger(__name__)

#: Worker processes are started only when the refits left after the first are expected to take at
#: least this long one after another.
PARALLEL_MIN_SECONDS = 15.0


def interactive() -> bool:
    """Whether a person is likely watching: a notebook kernel, an interactive prompt or a terminal."""
    if "ipykernel" in sys.modules or hasattr(sys, "ps1"):
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


@contextlib.contextmanager
def isolated() -> Iterator[list[warnings.WarningMessage]]:
    """Run DoWhy without side effects: its ``random_seed`` reseeds the global generators (restored
    afterwards), its per-run log lines are muted, and warnings are recorded, not shown."""
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    dowhy_logger = logging.getLogger("dowhy")
    level = dowhy_logger.level
    dowhy_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(record=True) as caught, np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("always")
            yield caught
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
        dowhy_logger.setLevel(level)


def refute_once(
    index: int, model: Any, estimand: Any, estimate: Any, task: Task, seed: int
) -> tuple[int, float, list[str]]:
    """One refit of one refuter: ``(index, new effect, warning and error messages)``."""
    kwargs = {**task.kwargs, "random_seed": seed}
    if task.check not in ("dummy_outcome", "unobserved_common_cause"):
        kwargs["random_state"] = seed
    messages: list[str] = []
    value = float("nan")
    with isolated() as caught:
        try:
            result = model.refute_estimate(
                estimand, estimate, method_name=REFUTER_NAMES[task.check], **kwargs
            )
            result = result[0] if isinstance(result, list) else result
            value = float(result.new_effect)
        except Exception as err:  # a refit that fails is reported in the table, not fatal
            messages.append(f"error: {type(err).__name__}: {err}")
    messages += sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return index, value, messages


def run_tasks(
    model: Any,
    estimand: Any,
    estimate: Any,
    tasks: Sequence[Task],
    seeds: Sequence[int],
    n_jobs: int | None,
    verbose: bool,
) -> tuple[np.ndarray, list[list[str]], dict[str, Any]]:
    """Run every task; returns the new effects, the messages per task, and how it was run."""
    values = np.full(len(tasks), np.nan)
    messages: list[list[str]] = [[] for _ in tasks]
    workers = int(effective_n_jobs(n_jobs))
    info: dict[str, Any] = {"refits": len(tasks), "workers": 1, "first_refit_s": None}
    if not tasks:
        return values, messages, info
    with tqdm(total=len(tasks), desc="audit refits", disable=not verbose, leave=True) as bar:
        start = time.perf_counter()
        _, values[0], messages[0] = refute_once(0, model, estimand, estimate, tasks[0], int(seeds[0]))
        first = time.perf_counter() - start
        info["first_refit_s"] = first
        bar.update(1)
        rest = range(1, len(tasks))
        parallel = workers > 1 and first * len(rest) >= PARALLEL_MIN_SECONDS
        if parallel:
            info["workers"] = workers
            jobs = (delayed(refute_once)(i, model, estimand, estimate, tasks[i], int(seeds[i])) for i in rest)
            results: Any = Parallel(n_jobs=workers, return_as="generator_unordered")(jobs)
        else:
            results = (refute_once(i, model, estimand, estimate, tasks[i], int(seeds[i])) for i in rest)
        for i, new, msgs in results:
            values[i], messages[i] = new, msgs
            bar.update(1)
    for task, msgs in zip(tasks, messages, strict=True):
        for m in msgs:
            logger.debug("audit %s: %s", task.check, m)
    return values, messages, info
