r"""One-call audit of a DoWhy estimate for a continuous treatment: refuters, graph, balance, overlap.

DoWhy's refuters need care with a continuous treatment: the default placebo is a constant column,
``add_unobserved_common_cause`` needs linear effects and explicit strengths,
``dummy_outcome_refuter`` with an estimator returns nothing, ``bootstrap_refuter`` crashes adding
noise to categorical confounders, ``refute_graph`` crashes on categorical columns, and a seeded
refuter run with ``n_jobs > 1`` repeats one simulation in every worker (each worker unpickles the
same ``RandomState``). :func:`audit` runs each refuter with settings that are meaningful here, one
refit per task with its own seed, in parallel when that pays, and judges the results by stated
rules; the weight diagnostics come from the core (:mod:`dowhy_e2b.diagnostics`).

The package's modules: :mod:`~dowhy_e2b.adapters.audit.tasks` (which refits, with which settings),
:mod:`~dowhy_e2b.adapters.audit.running` (running them), :mod:`~dowhy_e2b.adapters.audit.rules` and
:mod:`~dowhy_e2b.adapters.audit.graph` (the table's rows), :mod:`~dowhy_e2b.adapters.audit.settings`
(what a report records); this module assembles the :class:`~dowhy_e2b.AuditReport`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_scalar

from dowhy_e2b.report import TABLE_COLUMNS, AuditReport, verdict_of

from .graph import graph_rows
from .rules import (
    balance_rows,
    confounder_rows,
    null_row,
    sensitivity_rows,
    skipped_rows,
    stability_row,
    weights_rows,
)
from .running import interactive, isolated, run_tasks
from .settings import estimator_settings, versions
from .tasks import (
    DEFAULT_SIMULATIONS,
    SIMULATED_CHECKS,
    cheap_refit_estimate,
    numeric_confounders,
    refuter_tasks,
    simulation_counts,
)

__all__ = ["CHECKS", "DEFAULT_SIMULATIONS", "audit"]

logger = logging.getLogger(__name__)

#: Names accepted by ``checks=``, in the order of the report.
CHECKS = (
    "placebo",
    "random_common_cause",
    "data_subset",
    "bootstrap",
    "dummy_outcome",
    "unobserved_common_cause",
    "sensitivity",
    "graph",
    "balance",
    "effective_sample_size",
    "overlap",
)
_TESTS = {
    "placebo": "placebo treatment (permuted)",
    "random_common_cause": "random common cause added",
    "data_subset": "refit on {subset:.0%} subsets",
    "bootstrap": "bootstrap resamples, {noise:g} sd noise on numeric confounders",
    "dummy_outcome": "dummy outcome (noise, true effect 0)",
}


def _as_float(value: Any) -> float:
    return float(np.asarray(value, dtype=float).ravel()[0])


def _standard_error(estimate: Any) -> float:
    try:
        with isolated():
            return _as_float(estimate.get_standard_error())
    except Exception as err:  # an estimator without a standard error is audited without it
        logger.warning("no standard error for the estimate (%s); null tests use DoWhy's p-values.", err)
        return float("nan")


def _confidence_interval(estimate: Any) -> tuple[float, float]:
    try:
        with isolated():
            ci = np.asarray(estimate.get_confidence_intervals(), dtype=float).ravel()
    except Exception as err:  # an estimator without intervals is audited without them
        logger.warning("no confidence interval for the estimate (%s); rules that need one use p-values.", err)
        return float("nan"), float("nan")
    return (float(ci[0]), float(ci[1])) if ci.size >= 2 else (float("nan"), float("nan"))


def _sensitivity(estimate: Any, benchmark_covariates: Any, n_jobs: int | None) -> tuple[Any, str]:
    """The sensitivity result of a dowhy-e2b estimate, or ``None`` and why there is none."""
    from dowhy_e2b.sensitivity import sensitivity

    if getattr(getattr(estimate, "estimator", None), "adrf_", None) is None:
        return None, "sensitivity bounds need a dowhy-e2b estimate (its weights and curve)."
    try:
        with isolated():
            return sensitivity(estimate, benchmark_covariates=benchmark_covariates, n_jobs=n_jobs), ""
    except (ValueError, TypeError, np.linalg.LinAlgError) as err:
        logger.warning("no sensitivity bounds: %s", err)
        return None, f"the sensitivity bounds failed: {err}"


def _simulated_r2(estimator: Any, strengths: Any, sens: Any) -> dict[float, tuple[float, float]] | None:
    """Partial R² of DoWhy's simulated confounder at each strength (dowhy-e2b estimates only)."""
    from dowhy_e2b.sensitivity import simulated_confounder_r2

    arrays = getattr(estimator, "_arrays", None)
    if arrays is None:
        return None
    X, a, y = arrays
    values = np.atleast_1d(np.asarray(strengths, dtype=float))
    sigma2 = None if sens is None else sens.sigma2
    return dict(zip(values.tolist(), simulated_confounder_r2(X, a, y, values, sigma2), strict=True))


def _check_params(
    checks: Any, confounder_strengths: Any, alpha: Any, subset_fraction: Any, refit_steps: Any
) -> list[str]:
    if checks is None:
        selected = list(CHECKS)
    else:
        selected = [checks] if isinstance(checks, str) else list(checks)
        unknown = [c for c in selected if c not in CHECKS]
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; valid checks are {list(CHECKS)}.")
        selected = [c for c in CHECKS if c in selected]
    check_scalar(alpha, "alpha", Real, min_val=0.0, max_val=1.0, include_boundaries="neither")
    check_scalar(
        subset_fraction, "subset_fraction", Real, min_val=0.0, max_val=1.0, include_boundaries="neither"
    )
    if refit_steps is not None:
        check_scalar(refit_steps, "refit_steps", Integral, min_val=1)
    strengths = np.atleast_1d(np.asarray(confounder_strengths, dtype=float))
    if "unobserved_common_cause" in selected and (strengths.size == 0 or np.any(strengths <= 0)):
        raise ValueError(f"confounder_strengths must be positive numbers, got {confounder_strengths!r}.")
    return selected


def audit(
    model: Any,
    estimand: Any,
    estimate: Any,
    *,
    checks: Sequence[str] | None = None,
    num_simulations: int | dict[str, int] | None = None,
    subset_fraction: float = 0.8,
    bootstrap_noise: float = 0.1,
    confounder_strengths: Sequence[float] = (0.1, 0.25, 0.5),
    benchmark_covariates: str | Sequence[str] | None = "all",
    sensitivity_result: Any = None,
    alpha: float = 0.05,
    balance_threshold: float = 0.1,
    min_ess_fraction: float = 0.1,
    max_top_share: float = 0.2,
    min_local_ess_fraction: float = 0.05,
    refit_steps: int | None = 50,
    n_jobs: int | None = -1,
    random_state: Any = None,
    verbose: bool | None = None,
) -> AuditReport:
    r"""Audit a DoWhy estimate of a continuous treatment's effect: refuters, graph, balance, overlap.

    Runs DoWhy's refuters with settings that are meaningful for a continuous treatment, tests the
    graph's implied independences against the data, checks the balancing weights, and judges
    every test by a stated rule. Each refit is one task with its own seed, so the tasks run in
    parallel (``n_jobs``) and reproducibly (``random_state``); the data and the estimate are not
    modified, and the global random generators (which DoWhy's ``random_seed`` reseeds) are restored.

    Parameters
    ----------
    model : dowhy.CausalModel
        The model the estimate came from (its data and graph are used).
    estimand : dowhy.causal_identifier.IdentifiedEstimand
        The identified estimand.
    estimate : dowhy.causal_estimator.CausalEstimate
        The estimate to audit: ideally from a dowhy-e2b method (``"e2b"``, ``"entropy_balancing"``,
        ...); for other estimators the weight-based checks are skipped.
    checks : sequence of str, optional
        A subset of :data:`CHECKS` (default: all): ``"placebo"``, ``"random_common_cause"``,
        ``"data_subset"``, ``"bootstrap"``, ``"dummy_outcome"``, ``"unobserved_common_cause"``,
        ``"sensitivity"``, ``"graph"``, ``"balance"``, ``"effective_sample_size"``, ``"overlap"``.
    num_simulations : int or dict, optional
        Refits per simulation-based refuter: one number for all, or a dict per check. Default
        :data:`DEFAULT_SIMULATIONS` (10 for the placebo, the bootstrap and the dummy outcome, 5 for
        the random common cause and the data subsets), the fewest at which each rule keeps a power
        of at least 0.9 (see Notes). Below 5 the null tests can fail by chance (at most about 1%
        of the time with 5 refits, 8% with 3).
    subset_fraction : float, default=0.8
        Share of rows kept by the data-subset refuter.
    bootstrap_noise : float, default=0.1
        Noise (in standard deviations) the bootstrap refuter adds to the numeric confounders.
    confounder_strengths : sequence of float, default=(0.1, 0.25, 0.5)
        Strengths of the simulated unobserved confounder :math:`U \sim N(0, 1)`, in standard
        deviations: strength :math:`s` adds :math:`s\,\mathrm{sd}(a)\,U` to the treatment and
        :math:`-s\,\mathrm{sd}(y)\,U` to the outcome (DoWhy's linear direct simulation). Each row
        states the partial :math:`R^2` such a confounder has with the treatment and the outcome.
    benchmark_covariates : "all", sequence of str or None, default="all"
        The observed confounders the sensitivity check benchmarks a hidden confounder against (each
        is left out and the estimate refitted once); ``None`` reports only the robustness value.
    sensitivity_result : SensitivityResult, optional
        Bounds already computed for this estimate by :func:`dowhy_e2b.sensitivity`: reported as they
        are instead of computed again.
    alpha : float, default=0.05
        Sets the width of the null tests' band (``z(1 - alpha/2)``), the level of the graph's
        independence tests (after Holm's adjustment), and the level of the p-value rules used when
        the estimate has no confidence interval or standard error.
    balance_threshold : float, default=0.1
        Largest acceptable weighted :math:`|\mathrm{corr}(a, x_j)|`.
    min_ess_fraction : float, default=0.1
        Smallest acceptable effective sample size, as a share of n.
    max_top_share : float, default=0.2
        Largest acceptable share of the total weight on the heaviest 1% of units.
    min_local_ess_fraction : float, default=0.05
        Smallest acceptable ratio, near each dose of the curve, of the effective sample size of
        the weights to the number of units (within 0.25 sd of the dose).
    refit_steps : int or None, default=50
        For a weighter that can continue training from its fitted state (``warm_start`` among its
        parameters, e.g. E2B): refits start from the fitted model and take at most this many
        training steps. ``None`` makes every refit a full refit with the estimate's settings.
    n_jobs : int, default=-1
        Parallel workers (joblib) over the refits; ``-1`` all cores, ``None`` or 1 one. Workers are
        started only when the refits are slow enough to pay for starting them (the first refit is
        timed in this process; see :data:`~dowhy_e2b.adapters.audit.running.PARALLEL_MIN_SECONDS`).
    random_state : int, RandomState instance or None, default=None
        Seeds every refit (the seeds are in ``report.simulations``).
    verbose : bool, optional
        Show a progress bar over the refits; by default shown in interactive use (a notebook, a
        prompt or a terminal).

    Returns
    -------
    AuditReport
        ``report.table`` (one row per test), ``report.verdict`` (``"pass"``, ``"caution"`` or
        ``"fail"``), ``report.reasons``, ``report.settings`` (audit settings, the estimator's
        parameters and the adjustment set, package versions), ``report.simulations`` (every refit
        with its seed), ``report.plot()``, ``report.to_markdown()``, ``report.to_html()``,
        ``report.save(path)``; notebooks display it as HTML.

    Raises
    ------
    ValueError
        Unknown check names or invalid parameters; an estimate without an estimator.

    Notes
    -----
    The rules, with CI the audited contrast's confidence interval. In the table, ``observed`` is
    the statistic a rule judges and the test passes when it lies in ``[pass_min, pass_max]``.

    * **placebo**: the treatment is permuted (``placebo_type="permute"``; DoWhy's default
      constant placebo is vacuous for a float treatment). Pass if the mean placebo effect lies
      within :math:`\pm z_{1-\alpha/2}\,s` of 0, where :math:`s` is the larger of the audited
      estimate's standard error and the standard deviation of the placebo effects: an effect the
      method invents must be smaller than the sampling noise. Else fail. DoWhy's p-value (0 among
      the placebo effects, a normal approximation below 100 simulations) is reported too; with few
      simulations it is unstable, so it does not decide.
    * **dummy outcome**: the outcome is replaced by noise with its standard deviation (true
      effect 0); judged like the placebo.
    * **random common cause**: an independent N(0, 1) column joins the confounders. Pass if the
      mean new effect lies in CI, else fail.
    * **data subset**: refits on ``subset_fraction`` of the rows; judged like the random common
      cause.
    * **bootstrap**: refits on resamples, with ``bootstrap_noise`` sd of noise on the numeric
      confounders (DoWhy 0.14's ``bootstrap_refuter`` crashes adding noise to categorical ones, so
      they are resampled without noise); judged like the random common cause.
    * **unobserved common cause**: one refit per strength. Informative (``info``: how far the
      effect moves); fail only if the sign flips at the smallest strength while CI excludes 0.
      Each row states the simulated confounder's partial :math:`R^2` with the treatment and the
      outcome, the scale of the sensitivity check.
    * **sensitivity**: omitted-variable-bias bounds on the contrast (:func:`dowhy_e2b.sensitivity`;
      dowhy-e2b estimates only). The robustness value is informative: the strength
      (``r2_outcome = r2_treatment``) at which a hidden confounder would bring the contrast's bound
      to 0. One row per benchmarked confounder gives the contrast's confidence bounds under a hidden
      confounder as strong as it; for the strongest, warn if they include 0 while CI excludes 0.
    * **graph**: the conditional independences the graph implies (at most one conditioning
      variable), tested by partial correlation with DoWhy's graph refuter, p-values adjusted by
      Holm's method. Warn if one involving the treatment or the outcome is contradicted at
      ``alpha``; those among the other variables are reported as information.
    * **balance of means**: max weighted :math:`|\mathrm{corr}(a, x_j)|` over every confounder and
      every level of a categorical one. Pass if at most ``balance_threshold``, else fail.
      **Balance of squares** (:math:`x_j^2`): warn instead of fail, since a method balancing
      first moments does not target them.
    * **effective sample size**: Kish's ESS / n. Pass if at least ``min_ess_fraction``, else warn.
    * **overlap**: the share of the total weight on the heaviest 1% of units (warn above
      ``max_top_share``); the doses of the curve and of the contrast outside the observed
      treatment range (fail if any); near each dose (within 0.25 sd), the weights' effective
      sample size as a share of the units there (warn below ``min_local_ess_fraction``).

    The verdict is ``"fail"`` if any test failed, ``"caution"`` if any warned, else ``"pass"``.
    A refit that raises is reported in its test's reason; it does not stop the audit.

    **Power at the default numbers of refits.** A rule's power depends on the spread of its
    refits relative to the estimate's standard error, :math:`\tau`. Measured on E2B and entropy
    balancing estimates at n = 2000, and computed for each rule by simulation, the defaults keep a
    power of at least 0.9 against an invented effect of 3 times the rule's scale (placebo, dummy
    outcome: the larger of the standard error and the refits' spread) or a shift of 2.5 standard
    errors (random common cause, data subsets, bootstrap): 0.97, 0.97, 1.00, 0.98 and 0.94. The
    refutation guide and ``docs/audit_cost.md`` list the measurements and power tables.

    Examples
    --------
    >>> import dowhy_e2b
    >>> from dowhy import CausalModel
    >>> from dowhy_e2b.datasets import make_linear
    >>> ds = make_linear(n_samples=300, random_state=0)
    >>> model = CausalModel(data=ds.data, treatment="a", outcome="y", graph=ds.graph())
    >>> estimand = model.identify_effect()
    >>> est = model.estimate_effect(estimand, method_name="entropy_balancing", treatment_value=1.0,
    ...                             control_value=0.0, method_params={"n_bootstrap": 50, "random_state": 0})
    >>> report = dowhy_e2b.audit(model, estimand, est, num_simulations=3, random_state=0, verbose=False)
    >>> report.verdict in ("pass", "caution", "fail")
    True
    >>> list(report.table.columns)
    ['check', 'test', 'expected', 'observed', 'pass_min', 'pass_max', 'p_value', 'status', 'reason']
    """
    start = time.perf_counter()
    selected = _check_params(checks, confounder_strengths, alpha, subset_fraction, refit_steps)
    counts = simulation_counts(num_simulations, selected)
    estimator = getattr(estimate, "estimator", None)
    if estimator is None:
        raise ValueError("the estimate carries no estimator: pass what CausalModel.estimate_effect returned.")
    data = model._data  # DoWhy 0.14 keeps the data here; it is only read
    treatment = str(estimand.treatment_variable[0])
    outcome = str(estimand.outcome_variable[0])
    value = _as_float(estimate.value)
    ci = _confidence_interval(estimate)
    se = _standard_error(estimate)
    adjustment = sorted(str(c) for c in (estimand.get_adjustment_set() or []))

    tasks = refuter_tasks(
        selected,
        data,
        treatment,
        outcome,
        adjustment,
        counts,
        subset_fraction,
        bootstrap_noise,
        confounder_strengths,
    )
    audited, refits = cheap_refit_estimate(estimate, refit_steps) if tasks else (estimate, "no refits")
    seeds = check_random_state(random_state).randint(0, np.iinfo(np.int32).max, size=len(tasks))
    show = interactive() if verbose is None else bool(verbose)
    values, messages, run = run_tasks(model, estimand, audited, tasks, seeds, n_jobs, show)

    def gather(check: str) -> tuple[np.ndarray, list[str]]:
        idx = [i for i, t in enumerate(tasks) if t.check == check]
        return values[idx], [m for i in idx for m in messages[i]]

    numeric, other = numeric_confounders(data, adjustment)
    notes = {
        "bootstrap": (
            f" Noise went to the numeric confounders {numeric} only: DoWhy 0.14's bootstrap_refuter "
            f"crashes adding noise to categorical ones ({other}), which are resampled as they are."
            if other
            else ""
        )
    }
    rows: list[dict[str, Any]] = []
    for check in SIMULATED_CHECKS:
        if check not in counts:
            continue
        sims, msgs = gather(check)
        test = _TESTS[check].format(subset=subset_fraction, noise=bootstrap_noise)
        if check in ("placebo", "dummy_outcome"):
            rows.append(null_row(check, test, sims, msgs, alpha, value, se))
        else:
            rows.append(stability_row(check, test, sims, msgs, alpha, value, ci, note=notes.get(check, "")))
    sens, sens_error = None, ""
    if "sensitivity" in selected:
        if sensitivity_result is not None:
            doses = (sensitivity_result.treatment_value, sensitivity_result.control_value)
            wanted = (_as_float(estimate.treatment_value), _as_float(estimate.control_value))
            if not np.allclose(doses, wanted):
                raise ValueError(
                    f"sensitivity_result bounds mu({doses[0]:g}) - mu({doses[1]:g}), but the audited "
                    f"contrast is mu({wanted[0]:g}) - mu({wanted[1]:g}): compute it with "
                    "dowhy_e2b.sensitivity(estimate), or leave it out."
                )
            sens, sens_error = sensitivity_result, ""
        else:
            sens, sens_error = _sensitivity(estimate, benchmark_covariates, n_jobs)
    if "unobserved_common_cause" in selected:
        idx = [i for i, t in enumerate(tasks) if t.check == "unobserved_common_cause"]
        r2 = _simulated_r2(estimator, confounder_strengths, sens)
        rows += confounder_rows(
            [tasks[i] for i in idx], values[idx], [messages[i] for i in idx], value, ci, r2=r2
        )
    if "sensitivity" in selected:
        rows += (
            sensitivity_rows(sens, value, ci)
            if sens is not None
            else skipped_rows(["sensitivity"], sens_error)
        )
    graph_summary: dict[str, Any] = {}
    if "graph" in selected:
        graph_table, graph_summary = graph_rows(model, treatment, outcome, alpha)
        rows += graph_table

    weights = getattr(estimator, "weights_", None)
    a = getattr(estimator, "treatment_values_", None)
    a = data[treatment].to_numpy(dtype=float) if a is None else np.asarray(a, dtype=float)
    curve = getattr(estimate, "dose_response", None)
    curve = curve.copy() if isinstance(curve, pd.DataFrame) else None
    balance = None
    doses = [_as_float(estimate.treatment_value), _as_float(estimate.control_value)]
    if curve is not None:
        doses = list(curve["treatment"].to_numpy(dtype=float)) + doses
    weight_checks = [c for c in ("balance", "effective_sample_size", "overlap") if c in selected]
    if weights is None:
        rows += skipped_rows(weight_checks, "the estimator exposes no weights.")
    else:
        weights = np.asarray(weights, dtype=float)
        if callable(getattr(estimator, "balance_table", None)):
            balance = estimator.balance_table(moments=2)  # the rules look at means and squares
            if "balance" in selected:
                rows += balance_rows(balance, balance_threshold)
        elif "balance" in selected:
            rows += skipped_rows(["balance"], "the estimator gives no balance table.")
        rows += weights_rows(
            weights,
            a,
            np.unique(doses),  # the curve's rows include the contrast doses
            weight_checks,
            min_ess_fraction,
            max_top_share,
            min_local_ess_fraction,
        )

    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    flagged = table[table["status"].isin(["fail", "warn"])]
    reasons = [f"{r.test} ({r.status}): {r.reason}" for r in flagged.itertuples(index=False)]
    simulations = pd.DataFrame(
        {
            "check": [t.check for t in tasks],
            "strength": [np.nan if t.strength is None else t.strength for t in tasks],
            "seed": seeds.astype(np.int64),
            "new_effect": values,
            "error": [next((m[7:] for m in msgs if m.startswith("error:")), "") for msgs in messages],
        }
    )
    elapsed = time.perf_counter() - start
    summary = {
        "method": getattr(estimator, "method_name", None) or type(estimator).__name__,
        "treatment": treatment,
        "outcome": outcome,
        "n": len(data),
        "value": value,
        "ci_lower": ci[0],
        "ci_upper": ci[1],
        "std_error": se,
        "confidence_level": float(getattr(estimator, "confidence_level", 0.95) or 0.95),
        "treatment_value": _as_float(estimate.treatment_value),
        "control_value": _as_float(estimate.control_value),
        "adjustment_set": adjustment,
        "num_simulations": counts,
        "balance_threshold": float(balance_threshold),
        "checks": selected,
        "elapsed_s": elapsed,
    }
    settings = {
        "audit": {
            "checks": selected,
            "refits per check": counts,
            "refits": refits,
            "unobserved confounder strengths (sd)": [float(s) for s in np.atleast_1d(confounder_strengths)],
            **(
                {
                    "sensitivity model": "omitted-variable bias, partial R² (Chernozhukov et al. 2022), "
                    f"rho {sens.rho:g}",
                    "sensitivity benchmarks": list(sens.benchmarks["covariate"]),
                }
                if sens is not None
                else {}
            ),
            "subset_fraction": float(subset_fraction),
            "bootstrap_noise (sd)": float(bootstrap_noise),
            "alpha": float(alpha),
            "balance_threshold": float(balance_threshold),
            "min_ess_fraction": float(min_ess_fraction),
            "max_top_share": float(max_top_share),
            "min_local_ess_fraction": float(min_local_ess_fraction),
            "random_state": random_state
            if random_state is None or isinstance(random_state, int)
            else repr(random_state),
            "workers": run["workers"],
            "seconds": round(elapsed, 1),
            **({"graph implications tested": graph_summary} if graph_summary else {}),
        },
        "estimate": {
            "treatment": treatment,
            "outcome": outcome,
            "adjustment set": adjustment,
            "treatment_value": summary["treatment_value"],
            "control_value": summary["control_value"],
            **estimator_settings(estimator),
        },
        "versions": versions(),
    }
    return AuditReport(
        table=table,
        verdict=verdict_of(table["status"]),
        reasons=reasons,
        summary=summary,
        curve=curve,
        balance=balance,
        weights=weights,
        treatment_values=a,
        settings=settings,
        simulations=simulations,
        sensitivity=sens,
    )
