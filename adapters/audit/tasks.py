"""The audit's refuter tasks: which DoWhy refuters, with which settings, how many refits of each.

Each simulation of a simulation-based refuter is one task (DoWhy called with ``num_simulations=1``
and its own seed), so that tasks run in parallel without repeating each other; the unobserved
common cause is one task per strength.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_SIMULATIONS",
    "REFUTER_NAMES",
    "SIMULATED_CHECKS",
    "Task",
    "cheap_refit_estimate",
    "refuter_tasks",
    "simulation_counts",
]

#: DoWhy's name of the refuter behind each check.
REFUTER_NAMES = {
    "placebo": "placebo_treatment_refuter",
    "random_common_cause": "random_common_cause",
    "data_subset": "data_subset_refuter",
    "bootstrap": "bootstrap_refuter",
    "dummy_outcome": "dummy_outcome_refuter",
    "unobserved_common_cause": "add_unobserved_common_cause",
}
#: The checks that average several refits.
SIMULATED_CHECKS = ("placebo", "random_common_cause", "data_subset", "bootstrap", "dummy_outcome")
#: Refits per simulation-based check. Chosen from the measured spread of each refuter's refits
#: (relative to the estimate's standard error) and the power of the check's rule at that many
#: refits: at least 0.9 against an invented effect of 3 times the rule's scale (placebo, dummy
#: outcome: the larger of the standard error and the refits' spread) or a shift of 2.5 standard
#: errors (the others). The measurements and the power tables are in ``docs/audit_cost.md``, made
#: by ``python -m benchmarks.audit_cost``.
DEFAULT_SIMULATIONS = {
    "placebo": 10,
    "random_common_cause": 5,
    "data_subset": 5,
    "bootstrap": 10,
    "dummy_outcome": 10,
}


@dataclass(frozen=True)
class Task:
    """One refit: a check, DoWhy's keyword arguments, and for the unobserved common cause its
    strength."""

    check: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    strength: float | None = None


def simulation_counts(
    num_simulations: int | dict[str, int] | None, selected: Sequence[str]
) -> dict[str, int]:
    """Refits per simulation-based check: the defaults, one number for all, or a dict per check.

    Raises
    ------
    ValueError
        A count below 2 (a mean of refits needs a spread), or a dict key that is not a check.
    """
    counts = dict(DEFAULT_SIMULATIONS)
    if isinstance(num_simulations, dict):
        unknown = sorted(set(num_simulations) - set(DEFAULT_SIMULATIONS))
        if unknown:
            raise ValueError(
                f"num_simulations has unknown check(s) {unknown}; it takes the simulation-based "
                f"checks {list(DEFAULT_SIMULATIONS)}."
            )
        counts.update(num_simulations)
    elif num_simulations is not None:
        counts = dict.fromkeys(DEFAULT_SIMULATIONS, num_simulations)
    for check, k in counts.items():
        if not isinstance(k, Integral) or isinstance(k, bool) or k < 2:
            raise ValueError(
                f"num_simulations must be an int >= 2 (or a dict of them per check), got {k!r} for "
                f"'{check}': the rules compare the mean of the refits with their spread."
            )
    return {check: int(counts[check]) for check in SIMULATED_CHECKS if check in selected}


def numeric_confounders(data: pd.DataFrame, adjustment: Sequence[str]) -> tuple[list[str], list[str]]:
    """Confounders that get the bootstrap refuter's noise (float columns, in the data's column
    order: DoWhy orders the adjustment set by string hashes) and those that cannot."""
    numeric = [c for c in data.columns if c in adjustment and pd.api.types.is_float_dtype(data[c])]
    others = [c for c in data.columns if c in adjustment and c not in numeric]
    return numeric, others


def refuter_tasks(
    selected: Sequence[str],
    data: pd.DataFrame,
    treatment: str,
    outcome: str,
    adjustment: Sequence[str],
    counts: dict[str, int],
    subset_fraction: float,
    bootstrap_noise: float,
    confounder_strengths: Sequence[float],
) -> list[Task]:
    """One task per refuter simulation, with the settings that suit a continuous treatment."""
    sd_a, sd_y = float(data[treatment].std()), float(data[outcome].std())
    numeric, _ = numeric_confounders(data, adjustment)
    per_simulation = {
        # DoWhy's default placebo for a float treatment is a constant column: the test is vacuous.
        "placebo": {"placebo_type": "permute"},
        "random_common_cause": {},
        "data_subset": {"subset_fraction": float(subset_fraction)},
        # DoWhy 0.14 crashes adding noise to categorical confounders: only float columns get it.
        "bootstrap": {"required_variables": numeric or False, "noise": float(bootstrap_noise)},
        # Pure noise on the outcome's scale. (DoWhy 0.14's "permute" transformation returns a
        # read-only array under pandas copy-on-write and every refit fails.)
        "dummy_outcome": {"transformation_list": [("zero", ""), ("noise", {"std_dev": sd_y})]},
    }
    tasks = [
        Task(check, {**per_simulation[check], "num_simulations": 1})
        for check in SIMULATED_CHECKS
        if check in counts
        for _ in range(counts[check])
    ]
    if "unobserved_common_cause" in selected:
        for s in np.atleast_1d(np.asarray(confounder_strengths, dtype=float)):
            kwargs = {
                "simulation_method": "direct-simulation",
                "confounders_effect_on_treatment": "linear",
                "confounders_effect_on_outcome": "linear",
                "effect_strength_on_treatment": float(s) * sd_a,
                "effect_strength_on_outcome": float(s) * sd_y,
            }
            tasks.append(Task("unobserved_common_cause", kwargs, strength=float(s)))
    return tasks


def cheap_refit_estimate(estimate: Any, refit_steps: int | None) -> tuple[Any, str]:
    """The estimate whose refits the refuters run, and a sentence saying how they are done.

    With ``refit_steps`` and a weighter that can continue training from its fitted state
    (``warm_start`` among its parameters, e.g. E2B), refits start from the fitted model and take
    at most ``refit_steps`` steps: a shallow copy of the estimate carries an estimator copy with
    those settings (:meth:`DoseResponseEstimator.with_refit_params`). Otherwise every refit is a
    full, cold refit with the estimate's own settings.
    """
    estimator = getattr(estimate, "estimator", None)
    weighter = getattr(getattr(estimator, "adrf_", None), "weighter_", None)
    if refit_steps is None or weighter is None or not hasattr(estimator, "with_refit_params"):
        return estimate, "every refit is a full refit with the estimate's settings"
    params = weighter.get_params(deep=False)
    if "warm_start" not in params:
        return estimate, "every refit is a full refit with the estimate's settings (no warm start)"
    cheap = {"warm_start": True}
    if "max_steps" in params:
        cheap["max_steps"] = int(min(refit_steps, params["max_steps"]))
    audited = copy.copy(estimate)
    audited.estimator = estimator.with_refit_params(**cheap)
    steps = f", at most {cheap['max_steps']} training steps" if "max_steps" in cheap else ""
    return audited, f"refits start from the fitted model (warm start{steps})"
