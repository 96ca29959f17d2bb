"""One-call audit of a DoWhy estimate for a continuous treatment: refuters, balance, overlap.

DoWhy's refuters need care with a continuous treatment (DESIGN §6): the default placebo is a
constant column, ``add_unobserved_common_cause`` needs linear effects and explicit strengths,
``dummy_outcome_refuter`` with an estimator returns nothing, and a seeded refuter run with
``n_jobs > 1`` repeats one simulation in every worker (each worker unpickles the same
``RandomState``). :func:`audit` runs each refuter with settings that are meaningful here, one
simulation per task with its own seed, in parallel over all tasks, and judges the results by
stated rules; the weight diagnostics come from the core (:mod:`dowhy_e2b.diagnostics`).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from types import SimpleNamespace
from typing import Any

import dowhy
import numpy as np
import pandas as pd
from dowhy.causal_refuter import test_significance as dowhy_significance_test
from joblib import Parallel, delayed
from scipy import stats
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_scalar
from tqdm.auto import tqdm

from dowhy_e2b.diagnostics import dose_support, weight_summary
from dowhy_e2b.report import TABLE_COLUMNS, AuditReport, verdict_of

__all__ = ["CHECKS", "audit"]

logger = logging.getLogger(__name__)

#: Names accepted by ``checks=``, in the order of the report.
CHECKS = (
    "placebo",
    "random_common_cause",
    "data_subset",
    "bootstrap",
    "dummy_outcome",
    "unobserved_common_cause",
    "balance",
    "effective_sample_size",
    "overlap",
)
_REFUTER_NAMES = {
    "placebo": "placebo_treatment_refuter",
    "random_common_cause": "random_common_cause",
    "data_subset": "data_subset_refuter",
    "bootstrap": "bootstrap_refuter",
    "dummy_outcome": "dummy_outcome_refuter",
    "unobserved_common_cause": "add_unobserved_common_cause",
}


@dataclass(frozen=True)
class _Task:
    check: str
    kwargs: dict[str, Any]
    strength: float | None = None


@contextlib.contextmanager
def _isolated() -> Iterator[list[warnings.WarningMessage]]:
    """Run a refuter without side effects: DoWhy's ``random_seed`` reseeds the global generators
    (restored afterwards), its per-run log lines are muted, and warnings are recorded."""
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


def _refute_once(
    index: int, model: Any, estimand: Any, estimate: Any, check: str, kwargs: dict[str, Any], seed: int
) -> tuple[int, float, list[str]]:
    """One simulation of one refuter: ``(index, new effect, warning and error messages)``."""
    kwargs = {**kwargs, "random_seed": seed}
    if check not in ("dummy_outcome", "unobserved_common_cause"):
        kwargs["random_state"] = seed
    messages: list[str] = []
    value = float("nan")
    with _isolated() as caught:
        try:
            result = model.refute_estimate(estimand, estimate, method_name=_REFUTER_NAMES[check], **kwargs)
            result = result[0] if isinstance(result, list) else result
            value = float(result.new_effect)
        except Exception as err:  # a refit that fails is reported in the table, not fatal
            messages.append(f"error: {type(err).__name__}: {err}")
    messages += sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return index, value, messages


def _p_value(reference: float, simulations: np.ndarray) -> float:
    """DoWhy's significance test of ``reference`` against the simulated effects."""
    if simulations.size < 2:
        return float("nan")
    if np.std(simulations) == 0:
        return 1.0 if np.all(simulations == reference) else 0.0
    with _isolated():
        result = dowhy_significance_test(SimpleNamespace(value=reference), simulations)
    return float(result["p_value"])


def _as_float(value: Any) -> float:
    return float(np.asarray(value, dtype=float).ravel()[0])


def _standard_error(estimate: Any) -> float:
    try:
        with _isolated():
            return _as_float(estimate.get_standard_error())
    except Exception as err:  # an estimator without a standard error is audited without it
        logger.warning("no standard error for the estimate (%s); null tests use DoWhy's p-values.", err)
        return float("nan")


def _confidence_interval(estimate: Any) -> tuple[float, float]:
    try:
        with _isolated():
            ci = np.asarray(estimate.get_confidence_intervals(), dtype=float).ravel()
    except Exception as err:  # an estimator without intervals is audited without them
        logger.warning("no confidence interval for the estimate (%s); rules that need one use p-values.", err)
        return float("nan"), float("nan")
    return (float(ci[0]), float(ci[1])) if ci.size >= 2 else (float("nan"), float("nan"))


def _row(
    check: str, test: str, expected: str, observed: float, status: str, reason: str, **extra: Any
) -> dict:
    row = {"check": check, "test": test, "expected": expected, "observed": float(observed), "status": status}
    row.update({"p_value": np.nan, "lower": np.nan, "upper": np.nan})
    row.update(extra)
    row["reason"] = reason
    return row


def _error_note(messages: list[str], n: int) -> str:
    errors = [m for m in messages if m.startswith("error:")]
    return f" {len(errors)} of {n} refits raised ({errors[0][7:]})." if errors else ""


def _null_row(
    check: str, test: str, sims: np.ndarray, messages: list[str], alpha: float, value: float, se: float
) -> dict:
    """A refuter whose true effect is 0: pass when the mean null effect lies within ``z(1 - alpha/2)``
    times the larger of the estimate's standard error and the null effects' spread, around 0."""
    ok = sims[np.isfinite(sims)]
    note = _error_note(messages, sims.size)
    if ok.size < 2:
        return _row(check, test, "≈ 0", np.nan, "warn", "fewer than 2 simulations succeeded." + note)
    mean, spread, p = float(ok.mean()), float(ok.std(ddof=1)), _p_value(0.0, ok)
    scale = max(se, spread) if np.isfinite(se) else spread
    z = float(stats.norm.ppf(1 - alpha / 2))
    half = z * scale
    inside = abs(mean) <= half
    which = "the estimate's standard error" if scale == se else "the null effects' standard deviation"
    rule = f"{'within' if inside else 'beyond'} ±{half:.3g} ({z:.2f} × {which}, {scale:.3g})"
    if inside:
        status = "pass"
        reason = (
            f"the mean of {ok.size} null effects, {mean:.3g}, is {rule}; the real estimate is {value:.3g}."
        )
    else:
        status = "fail"
        reason = (
            f"the mean of {ok.size} null effects, {mean:.3g}, is {rule}: the method finds an effect where "
            "there is none."
        )
    return _row(check, test, "≈ 0", mean, status, reason + note, p_value=p, lower=-half, upper=half)


def _stability_row(
    check: str, test: str, sims: np.ndarray, messages: list[str], alpha: float, value: float, ci: tuple
) -> dict:
    """A refuter that should leave the effect unchanged: pass when the mean new effect lies in the CI."""
    ok = sims[np.isfinite(sims)]
    note = _error_note(messages, sims.size)
    if ok.size < 2:
        return _row(check, test, "≈ estimate", np.nan, "warn", "fewer than 2 simulations succeeded." + note)
    mean, p = float(ok.mean()), _p_value(value, ok)
    lo, hi = ci
    if np.isfinite(lo) and np.isfinite(hi):
        status = "pass" if lo <= mean <= hi else "fail"
        where = "inside" if status == "pass" else "outside"
        reason = f"mean of {ok.size} new effects {mean:.3g} lies {where} the estimate's confidence interval."
        expected = "within the estimate's CI"
    else:
        status = "pass" if p > alpha else "fail"
        reason = (
            f"no confidence interval: DoWhy's p-value {p:.2g} {'>' if status == 'pass' else '≤'} {alpha:g}."
        )
        expected = "≈ estimate"
    return _row(check, test, expected, mean, status, reason + note, p_value=p, lower=lo, upper=hi)


def _confounder_rows(
    tasks: list[_Task], values: np.ndarray, messages: list[list[str]], value: float, ci: tuple
) -> list[dict]:
    """How the effect moves under a simulated unobserved confounder: informative rows, failing only
    when the sign flips at the smallest strength while the interval excludes 0."""
    rows = []
    smallest = min(t.strength for t in tasks if t.strength is not None)
    lo, hi = ci
    excludes_zero = np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0)
    for task, new, msgs in zip(tasks, values, messages, strict=True):
        s = float(task.strength or 0.0)
        test = f"unobserved common cause, strength {s:g} sd"
        expected = "informative: how far the effect moves"
        if not np.isfinite(new):
            rows.append(
                _row(
                    "unobserved_common_cause",
                    test,
                    expected,
                    np.nan,
                    "warn",
                    "the refit failed." + _error_note(msgs, 1),
                )
            )
            continue
        flips = np.sign(new) != np.sign(value) and value != 0
        change = f"the effect moves from {value:.3g} to {new:.3g}"
        if flips and excludes_zero and s <= smallest:
            status, reason = "fail", f"{change}: its sign flips already at the smallest strength."
        elif flips:
            status, reason = "info", f"{change}: its sign flips at this strength."
        else:
            rel = abs(new - value) / abs(value) if value != 0 else float("nan")
            status, reason = "info", f"{change} ({rel:.0%} of the estimate)."
        rows.append(_row("unobserved_common_cause", test, expected, new, status, reason, lower=lo, upper=hi))
    return rows


def _balance_rows(table: pd.DataFrame, threshold: float) -> list[dict]:
    rows = []
    for power, check_name, fail_status in ((1, "means", "fail"), (2, "squares", "warn")):
        part = table[table["power"] == power]
        if part.empty:
            continue
        after = part["corr_weighted"].abs().to_numpy()
        worst = int(np.argmax(after))
        name, before = part["covariate"].iloc[worst], abs(part["corr_unweighted"].iloc[worst])
        status = "pass" if after[worst] < threshold else fail_status
        verb = "<" if status == "pass" else "≥"
        reason = (
            f"largest weighted |corr| {after[worst]:.3g} {verb} {threshold:g}, for {name} "
            f"({before:.3g} before weighting)."
        )
        if power == 2 and status != "pass":
            reason += " Consider balancing more moments (moments=2)."
        rows.append(
            _row(
                "balance",
                f"balance of {check_name}: max |corr(treatment, covariate{'²' if power == 2 else ''})|",
                f"< {threshold:g}",
                after[worst],
                status,
                reason,
            )
        )
    return rows


def _weights_rows(
    weights: np.ndarray,
    a: np.ndarray,
    doses: np.ndarray,
    checks: Sequence[str],
    min_ess_fraction: float,
    max_top_share: float,
    min_local_ess_fraction: float,
) -> list[dict]:
    rows = []
    summary = weight_summary(weights)
    if "effective_sample_size" in checks:
        frac, ess, n = summary["ess_fraction"], summary["effective_sample_size"], int(summary["n"])
        ok = frac >= min_ess_fraction
        reason = f"ESS {ess:.0f} of n = {n} ({frac:.0%}) {'≥' if ok else '<'} {min_ess_fraction:.0%}."
        if not ok:
            reason += " The curve rests on few effective units: expect wide bands."
        rows.append(
            _row(
                "effective_sample_size",
                "effective sample size / n",
                f"≥ {min_ess_fraction:g}",
                frac,
                "pass" if ok else "warn",
                reason,
            )
        )
    if "overlap" in checks:
        top = summary["top_share"]
        ok = top <= max_top_share
        rows.append(
            _row(
                "overlap",
                "share of the total weight on the heaviest 1% of units",
                f"≤ {max_top_share:g}",
                top,
                "pass" if ok else "warn",
                f"the heaviest 1% of units carry {top:.1%} of the weight (largest weight "
                f"{summary['max_weight']:.3g} times the mean)"
                + ("." if ok else ": a few units dominate the estimate."),
            )
        )
        support = dose_support(a, weights, doses)
        support["fraction"] = support["local_ess"] / support["n_near"].clip(lower=1)
        outside = support[~support["inside_range"]]
        weakest = support.loc[support["fraction"].idxmin()]
        lo, hi, h = float(a.min()), float(a.max()), 0.25 * float(a.std())
        near = (
            f"{weakest['local_ess']:.1f} effective of {int(weakest['n_near'])} units within ±{h:.3g} of "
            f"dose {weakest['dose']:.3g}"
        )
        if len(outside):
            status = "fail"
            reason = (
                f"dose(s) {', '.join(f'{d:.3g}' for d in outside['dose'][:4])} lie outside the observed "
                f"treatment range [{lo:.3g}, {hi:.3g}]: the curve there is an extrapolation."
            )
        elif weakest["fraction"] < min_local_ess_fraction:
            status = "warn"
            reason = f"only {near}: the weights lean on a handful of units there."
        else:
            status = "pass"
            reason = f"all {len(support)} doses lie in [{lo:.3g}, {hi:.3g}]; the thinnest support: {near}."
        rows.append(
            _row(
                "overlap",
                "dose support: min local ESS / units near a dose",
                f"inside the range; ≥ {min_local_ess_fraction:g}",
                float(weakest["fraction"]),
                status,
                reason,
                lower=lo,
                upper=hi,
            )
        )
    return rows


def _check_params(
    checks: Any, num_simulations: Any, confounder_strengths: Any, alpha: Any, subset_fraction: Any
) -> list[str]:
    if checks is None:
        selected = list(CHECKS)
    else:
        selected = [checks] if isinstance(checks, str) else list(checks)
        unknown = [c for c in selected if c not in CHECKS]
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; valid checks are {list(CHECKS)}.")
        selected = [c for c in CHECKS if c in selected]
    check_scalar(num_simulations, "num_simulations", Integral, min_val=2)
    check_scalar(alpha, "alpha", Real, min_val=0.0, max_val=1.0, include_boundaries="neither")
    check_scalar(
        subset_fraction, "subset_fraction", Real, min_val=0.0, max_val=1.0, include_boundaries="neither"
    )
    strengths = np.atleast_1d(np.asarray(confounder_strengths, dtype=float))
    if "unobserved_common_cause" in selected and (strengths.size == 0 or np.any(strengths <= 0)):
        raise ValueError(f"confounder_strengths must be positive numbers, got {confounder_strengths!r}.")
    return selected


def _refuter_tasks(
    selected: list[str],
    data: pd.DataFrame,
    treatment: str,
    outcome: str,
    adjustment: list[str],
    num_simulations: int,
    subset_fraction: float,
    bootstrap_noise: float,
    confounder_strengths: Sequence[float],
) -> list[_Task]:
    """One task per refuter simulation, with the settings that suit a continuous treatment."""
    sd_a, sd_y = float(data[treatment].std()), float(data[outcome].std())
    per_simulation = {
        "placebo": {"placebo_type": "permute"},
        "random_common_cause": {},
        "data_subset": {"subset_fraction": float(subset_fraction)},
        "bootstrap": {
            # DoWhy 0.14 crashes adding noise to categorical confounders: only float columns get it.
            # In the data's column order: DoWhy's adjustment set is ordered by string hashes.
            "required_variables": [
                c for c in data.columns if c in adjustment and pd.api.types.is_float_dtype(data[c])
            ]
            or False,
            "noise": float(bootstrap_noise),
        },
        # Pure noise on the outcome's scale. (DoWhy 0.14's "permute" transformation returns a
        # read-only array under pandas copy-on-write and every refit fails.)
        "dummy_outcome": {"transformation_list": [("zero", ""), ("noise", {"std_dev": sd_y})]},
    }
    tasks = [
        _Task(check, {**kwargs, "num_simulations": 1})
        for check, kwargs in per_simulation.items()
        if check in selected
        for _ in range(int(num_simulations))
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
            tasks.append(_Task("unobserved_common_cause", kwargs, strength=float(s)))
    return tasks


def audit(
    model: Any,
    estimand: Any,
    estimate: Any,
    *,
    checks: Sequence[str] | None = None,
    num_simulations: int = 20,
    subset_fraction: float = 0.8,
    bootstrap_noise: float = 0.1,
    confounder_strengths: Sequence[float] = (0.1, 0.25, 0.5),
    alpha: float = 0.05,
    balance_threshold: float = 0.1,
    min_ess_fraction: float = 0.1,
    max_top_share: float = 0.2,
    min_local_ess_fraction: float = 0.05,
    n_jobs: int | None = None,
    random_state: Any = None,
    verbose: bool = False,
) -> AuditReport:
    r"""Audit a DoWhy estimate of a continuous treatment's effect: refuters, balance and overlap.

    Runs DoWhy's refuters with settings that are meaningful for a continuous treatment, checks
    the balancing weights, and judges every test by a stated rule. Each refuter simulation is one
    task with its own seed, so the tasks run in parallel (``n_jobs``) and reproducibly
    (``random_state``); the data and the estimate are not modified, and the global random
    generators (which DoWhy's ``random_seed`` reseeds) are restored.

    Parameters
    ----------
    model : dowhy.CausalModel
        The model the estimate came from (its data are used).
    estimand : dowhy.causal_identifier.IdentifiedEstimand
        The identified estimand.
    estimate : dowhy.causal_estimator.CausalEstimate
        The estimate to audit: ideally from a dowhy-e2b method (``"e2b"``, ``"entropy_balancing"``,
        ...); for other estimators the weight-based checks are skipped.
    checks : sequence of str, optional
        A subset of :data:`CHECKS` (default: all): ``"placebo"``, ``"random_common_cause"``,
        ``"data_subset"``, ``"bootstrap"``, ``"dummy_outcome"``, ``"unobserved_common_cause"``,
        ``"balance"``, ``"effective_sample_size"``, ``"overlap"``.
    num_simulations : int, default=20
        Simulations (each one a refit) per simulation-based refuter. Every E2B refit trains a
        network, so keep this modest; but below 5 the null tests can fail by chance (their rule
        estimates the spread of the null effects from the simulations: at most about 1% false
        failures with 5 simulations, 8% with 3).
    subset_fraction : float, default=0.8
        Share of rows kept by the data-subset refuter.
    bootstrap_noise : float, default=0.1
        Noise (in standard deviations) the bootstrap refuter adds to the numeric confounders.
    confounder_strengths : sequence of float, default=(0.1, 0.25, 0.5)
        Strengths of the simulated unobserved confounder :math:`U \sim N(0, 1)`, in standard
        deviations: strength :math:`s` adds :math:`s\,\mathrm{sd}(a)\,U` to the treatment and
        :math:`-s\,\mathrm{sd}(y)\,U` to the outcome (DoWhy's linear direct simulation).
    alpha : float, default=0.05
        Sets the width of the null tests' band (``z(1 - alpha/2)``) and the level of the p-value
        rules used when the estimate has no confidence interval or standard error.
    balance_threshold : float, default=0.1
        Largest acceptable weighted :math:`|\mathrm{corr}(a, x_j)|`.
    min_ess_fraction : float, default=0.1
        Smallest acceptable effective sample size, as a share of n.
    max_top_share : float, default=0.2
        Largest acceptable share of the total weight on the heaviest 1% of units.
    min_local_ess_fraction : float, default=0.05
        Smallest acceptable ratio, near each dose of the curve, of the effective sample size of
        the weights to the number of units (within 0.25 sd of the dose).
    n_jobs : int, optional
        Parallel workers (joblib) over all refuter simulations; ``None`` means 1, ``-1`` all cores.
    random_state : int, RandomState instance or None, default=None
        Seeds every simulation.
    verbose : bool, default=False
        Show a progress bar over the simulations.

    Returns
    -------
    AuditReport
        ``report.table`` (one row per test), ``report.verdict`` (``"pass"``, ``"caution"`` or
        ``"fail"``), ``report.reasons``, ``report.plot()``, ``report.to_markdown()``,
        ``report.to_html()``, ``report.save(path)``; notebooks display it as HTML.

    Raises
    ------
    ValueError
        Unknown check names or invalid parameters; an estimate without an estimator.

    Notes
    -----
    The rules, with CI the audited contrast's confidence interval:

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
      confounders; judged like the random common cause.
    * **unobserved common cause**: one refit per strength. Informative (``info``: how far the
      effect moves); fail only if the sign flips at the smallest strength while CI excludes 0.
    * **balance of means**: max weighted :math:`|\mathrm{corr}(a, x_j)|`. Pass if below
      ``balance_threshold``, else fail. **Balance of squares** (:math:`x_j^2`): warn instead of
      fail, since a method balancing first moments does not target them.
    * **effective sample size**: Kish's ESS / n. Pass if at least ``min_ess_fraction``, else warn.
    * **overlap**: the share of the total weight on the heaviest 1% of units (warn above
      ``max_top_share``), and the support of every dose of the curve and of the contrast: fail if
      one lies outside the observed treatment range, warn if near one of them (within 0.25 sd) the
      weights' effective sample size is below ``min_local_ess_fraction`` of the units there.

    The verdict is ``"fail"`` if any test failed, ``"caution"`` if any warned, else ``"pass"``.
    A refit that raises is reported in its test's reason; it does not stop the audit. DoWhy's
    p-values use a normal approximation below 100 simulations.

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
    >>> report = dowhy_e2b.audit(model, estimand, est, num_simulations=3, random_state=0)
    >>> report.verdict in ("pass", "caution", "fail")
    True
    >>> list(report.table.columns)
    ['check', 'test', 'expected', 'observed', 'p_value', 'lower', 'upper', 'status', 'reason']
    """
    start = time.perf_counter()
    selected = _check_params(checks, num_simulations, confounder_strengths, alpha, subset_fraction)
    estimator = getattr(estimate, "estimator", None)
    if estimator is None:
        raise ValueError("the estimate carries no estimator: pass what CausalModel.estimate_effect returned.")
    data = model._data  # DoWhy 0.14 keeps the data here; it is only read
    treatment = str(estimand.treatment_variable[0])
    outcome = str(estimand.outcome_variable[0])
    value = _as_float(estimate.value)
    ci = _confidence_interval(estimate)
    se = _standard_error(estimate)
    adjustment = list(estimand.get_adjustment_set() or [])

    tasks = _refuter_tasks(
        selected,
        data,
        treatment,
        outcome,
        adjustment,
        num_simulations,
        subset_fraction,
        bootstrap_noise,
        confounder_strengths,
    )
    values = np.full(len(tasks), np.nan)
    messages: list[list[str]] = [[] for _ in tasks]
    if tasks:
        seeds = check_random_state(random_state).randint(0, np.iinfo(np.int32).max, size=len(tasks))
        jobs = (
            delayed(_refute_once)(i, model, estimand, estimate, t.check, t.kwargs, int(seed))
            for i, (t, seed) in enumerate(zip(tasks, seeds, strict=True))
        )
        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs)
        for i, new, msgs in tqdm(results, total=len(tasks), desc="audit", disable=not verbose):
            values[i], messages[i] = new, msgs
    for i, msgs in enumerate(messages):
        for m in msgs:
            logger.debug("audit %s: %s", tasks[i].check, m)

    def gather(check: str) -> tuple[np.ndarray, list[str]]:
        idx = [i for i, t in enumerate(tasks) if t.check == check]
        return values[idx], [m for i in idx for m in messages[i]]

    rows: list[dict] = []
    tests = {
        "placebo": "placebo treatment (permuted)",
        "random_common_cause": "random common cause added",
        "data_subset": f"refit on {subset_fraction:.0%} subsets",
        "bootstrap": f"bootstrap resamples, {bootstrap_noise:g} sd noise on confounders",
        "dummy_outcome": "dummy outcome (noise, true effect 0)",
    }
    for check in ("placebo", "random_common_cause", "data_subset", "bootstrap", "dummy_outcome"):
        if check not in selected:
            continue
        sims, msgs = gather(check)
        if check in ("placebo", "dummy_outcome"):
            rows.append(_null_row(check, tests[check], sims, msgs, alpha, value, se))
        else:
            rows.append(_stability_row(check, tests[check], sims, msgs, alpha, value, ci))
    if "unobserved_common_cause" in selected:
        idx = [i for i, t in enumerate(tasks) if t.check == "unobserved_common_cause"]
        rows += _confounder_rows([tasks[i] for i in idx], values[idx], [messages[i] for i in idx], value, ci)

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
        for check in weight_checks:
            rows.append(
                _row(
                    check, check.replace("_", " "), "", np.nan, "skipped", "the estimator exposes no weights."
                )
            )
    else:
        weights = np.asarray(weights, dtype=float)
        if callable(getattr(estimator, "balance_table", None)):
            balance = estimator.balance_table(moments=2)  # the rules look at means and squares
            if "balance" in selected:
                rows += _balance_rows(balance, balance_threshold)
        elif "balance" in selected:
            rows.append(
                _row("balance", "balance", "", np.nan, "skipped", "the estimator gives no balance table.")
            )
        rows += _weights_rows(
            weights,
            a,
            np.asarray(doses),
            weight_checks,
            min_ess_fraction,
            max_top_share,
            min_local_ess_fraction,
        )

    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    flagged = table[table["status"].isin(["fail", "warn"])]
    reasons = [f"{r.test} ({r.status}): {r.reason}" for r in flagged.itertuples(index=False)]
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
        "num_simulations": int(num_simulations),
        "balance_threshold": float(balance_threshold),
        "checks": selected,
        "dowhy_version": dowhy.__version__,
        "elapsed_s": time.perf_counter() - start,
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
    )
