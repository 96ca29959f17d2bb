"""The audit's rules: each turns measurements into one row of the report's table.

Every row has the same columns with one meaning each (see :data:`dowhy_e2b.report.TABLE_COLUMNS`):
``observed`` is the statistic the rule judges, and the test passes when it lies in
``[pass_min, pass_max]`` (a missing bound is no bound; both missing: the row is not judged by a
range). ``p_value`` is the p-value of the row's own test, where it has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from dowhy.causal_refuter import test_significance as dowhy_significance_test
from scipy import stats

from dowhy_e2b.diagnostics import dose_support, weight_summary

from .running import isolated
from .tasks import Task

__all__ = [
    "balance_rows",
    "confounder_rows",
    "make_row",
    "null_row",
    "sensitivity_rows",
    "skipped_rows",
    "stability_row",
    "weights_rows",
]


def make_row(
    check: str,
    test: str,
    expected: str,
    observed: float,
    status: str,
    reason: str,
    *,
    pass_min: float = np.nan,
    pass_max: float = np.nan,
    p_value: float = np.nan,
) -> dict[str, Any]:
    """One row of the table (see the module docstring for the meaning of each column)."""
    return {
        "check": check,
        "test": test,
        "expected": expected,
        "observed": float(observed),
        "pass_min": float(pass_min),
        "pass_max": float(pass_max),
        "p_value": float(p_value),
        "status": status,
        "reason": reason,
    }


def skipped_rows(checks: Sequence[str], why: str) -> list[dict[str, Any]]:
    """One ``skipped`` row per check, with the reason."""
    return [make_row(c, c.replace("_", " "), "", np.nan, "skipped", why) for c in checks]


def dowhy_p_value(reference: float, simulations: np.ndarray) -> float:
    """DoWhy's significance test of ``reference`` against the simulated effects."""
    if simulations.size < 2:
        return float("nan")
    if np.std(simulations) == 0:
        return 1.0 if np.all(simulations == reference) else 0.0
    with isolated():
        result = dowhy_significance_test(SimpleNamespace(value=reference), simulations)
    return float(result["p_value"])


def _error_note(messages: list[str], n: int) -> str:
    errors = [m for m in messages if m.startswith("error:")]
    return f" {len(errors)} of {n} refits raised ({errors[0][7:]})." if errors else ""


def null_row(
    check: str,
    test: str,
    sims: np.ndarray,
    messages: list[str],
    alpha: float,
    value: float,
    se: float,
    note: str = "",
) -> dict[str, Any]:
    """A refuter whose true effect is 0: pass when the mean null effect lies within ``z(1 - alpha/2)``
    times the larger of the estimate's standard error and the null effects' spread, around 0."""
    ok = sims[np.isfinite(sims)]
    errors = _error_note(messages, sims.size)
    if ok.size < 2:
        return make_row(check, test, "≈ 0", np.nan, "warn", "fewer than 2 refits succeeded." + errors)
    mean, spread, p = float(ok.mean()), float(ok.std(ddof=1)), dowhy_p_value(0.0, ok)
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
    return make_row(
        check, test, "≈ 0", mean, status, reason + note + errors, pass_min=-half, pass_max=half, p_value=p
    )


def stability_row(
    check: str,
    test: str,
    sims: np.ndarray,
    messages: list[str],
    alpha: float,
    value: float,
    ci: tuple[float, float],
    note: str = "",
) -> dict[str, Any]:
    """A refuter that should leave the effect unchanged: pass when the mean new effect lies in the
    estimate's confidence interval (without one: when DoWhy's p-value exceeds ``alpha``)."""
    ok = sims[np.isfinite(sims)]
    errors = _error_note(messages, sims.size)
    if ok.size < 2:
        return make_row(check, test, "≈ estimate", np.nan, "warn", "fewer than 2 refits succeeded." + errors)
    mean, p = float(ok.mean()), dowhy_p_value(value, ok)
    lo, hi = ci
    if np.isfinite(lo) and np.isfinite(hi):
        status = "pass" if lo <= mean <= hi else "fail"
        where = "inside" if status == "pass" else "outside"
        reason = (
            f"the mean of {ok.size} new effects, {mean:.3g}, lies {where} the estimate's confidence "
            f"interval [{lo:.3g}, {hi:.3g}]."
        )
        return make_row(
            check,
            test,
            "within the estimate's CI",
            mean,
            status,
            reason + note + errors,
            pass_min=lo,
            pass_max=hi,
            p_value=p,
        )
    status = "pass" if p > alpha else "fail"
    reason = f"no confidence interval: DoWhy's p-value {p:.2g} {'>' if status == 'pass' else '≤'} {alpha:g}."
    return make_row(check, test, "≈ estimate", mean, status, reason + note + errors, p_value=p)


def confounder_rows(
    tasks: list[Task],
    values: np.ndarray,
    messages: list[list[str]],
    value: float,
    ci: tuple[float, float],
    r2: dict[float, tuple[float, float]] | None = None,
) -> list[dict[str, Any]]:
    """How the effect moves under a simulated unobserved confounder: informative rows, failing only
    when the sign flips at the smallest strength while the interval excludes 0. ``r2`` maps a
    strength to the partial R² (treatment, outcome) of the simulated confounder, stated in the
    reason so that the row can be read against the sensitivity rows."""
    rows = []
    smallest = min(t.strength for t in tasks if t.strength is not None)
    lo, hi = ci
    excludes_zero = np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0)
    for task, new, msgs in zip(tasks, values, messages, strict=True):
        s = float(task.strength or 0.0)
        test = f"unobserved common cause, strength {s:g} sd"
        expected = "informative: how far the effect moves"
        if not np.isfinite(new):
            reason = "the refit failed." + _error_note(msgs, 1)
            rows.append(make_row("unobserved_common_cause", test, expected, np.nan, "warn", reason))
            continue
        judged = excludes_zero and s <= smallest
        bounds: dict[str, float] = {}
        if judged:  # the rule: the effect keeps its sign
            bounds = {"pass_min": 0.0} if value > 0 else {"pass_max": 0.0}
            expected = "same sign as the estimate"
        flips = np.sign(new) != np.sign(value) and value != 0
        change = f"the effect moves from {value:.3g} to {new:.3g}"
        if flips and judged:
            status, reason = "fail", f"{change}: its sign flips already at the smallest strength."
        elif judged:
            status, reason = "pass", f"{change}: it keeps its sign at the smallest strength."
        elif flips:
            status, reason = "info", f"{change}: its sign flips at this strength."
        else:
            rel = abs(new - value) / abs(value) if value != 0 else float("nan")
            status, reason = "info", f"{change} ({rel:.0%} of the estimate)."
        if r2 is not None and s in r2:
            r2_a, r2_y = r2[s]
            reason += (
                f" A simulated confounder of {s:g} sd explains about {r2_a:.1%} of the treatment's and "
                f"{r2_y:.1%} of the outcome's residual variance (partial R²; DoWhy also adds it to the "
                "treatment as noise): compare the sensitivity rows."
            )
        rows.append(make_row("unobserved_common_cause", test, expected, new, status, reason, **bounds))
    return rows


def sensitivity_rows(result: Any, value: float, ci: tuple[float, float]) -> list[dict[str, Any]]:
    """Sensitivity to hidden confounding (a :func:`dowhy_e2b.sensitivity` result): the contrast's
    robustness value (informative) and its bounds under a hidden confounder as strong as each
    benchmarked observed confounder. The strongest one is judged: warn when the contrast's
    confidence bounds at its strength include 0 while the estimate's confidence interval excludes
    0 (a confounder no stronger than one already measured could explain the effect away)."""
    level = f"{result.confidence_level:.0%}"
    rv, rv_ci = result.robustness_value, result.robustness_value_ci
    contrast = f"μ({result.treatment_value:.4g}) − μ({result.control_value:.4g})"
    ci_text = "" if not np.isfinite(rv_ci) else f"; for its {level} confidence bound, {rv_ci:.1%}"
    rows = [
        make_row(
            "sensitivity",
            f"robustness value of {contrast} (omitted-variable bias, partial R²)",
            "informative: the larger, the more robust",
            rv,
            "info",
            f"a hidden confounder explaining {rv:.1%} of the outcome's residual variance and {rv:.1%} "
            f"of the variation of the weights (r2_outcome = r2_treatment) would bring the contrast's "
            f"bound to 0{ci_text} (ρ = {result.rho:g}).",
        )
    ]
    lo, hi = ci
    excludes_zero = np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0)
    positive = value >= 0
    for k, row in enumerate(result.benchmarks.itertuples(index=False)):
        near = row.ci_lower if positive else row.ci_upper
        if not np.isfinite(near):
            near = row.lower if positive else row.upper
        keeps = near > 0 if positive else near < 0
        strength = (
            f"r2_outcome {row.r2_outcome:.3g}, r2_treatment {row.r2_treatment:.3g}; leaving {row.covariate} "
            f"out moves the contrast by {row.change:+.3g}"
        )
        bounds_text = f"[{row.ci_lower:.3g}, {row.ci_upper:.3g}]"
        test = f"hidden confounder as strong as {row.covariate}"
        if k == 0 and excludes_zero:
            test += " (the strongest observed)"
            status = "pass" if keeps else "warn"
            verb = "exclude" if keeps else "include"
            reason = f"{strength}; at that strength the contrast's {level} bounds {bounds_text} {verb} 0."
            if not keeps:
                reason += " A confounder no stronger than one already measured could explain the effect away."
            limits = {"pass_min": 0.0} if positive else {"pass_max": 0.0}
            rows.append(make_row("sensitivity", test, "bounds exclude 0", near, status, reason, **limits))
            continue
        reason = f"{strength}; the contrast's {level} bounds at that strength: {bounds_text}."
        if k == 0:
            reason += " Not judged: the estimate's own confidence interval includes 0."
        rows.append(make_row("sensitivity", test, "informative", near, "info", reason))
    return rows


def balance_rows(table: pd.DataFrame, threshold: float) -> list[dict[str, Any]]:
    """Largest weighted |corr(treatment, covariate)| (fail above the threshold) and the same for the
    squares (warn: a method balancing first moments does not target them)."""
    rows = []
    for power, name_of, fail_status in ((1, "means", "fail"), (2, "squares", "warn")):
        part = table[table["power"] == power]
        if part.empty:
            continue
        after = part["corr_weighted"].abs().to_numpy()
        worst = int(np.argmax(after))
        name, before = part["covariate"].iloc[worst], abs(part["corr_unweighted"].iloc[worst])
        status = "pass" if after[worst] <= threshold else fail_status
        verb = "≤" if status == "pass" else ">"
        reason = (
            f"largest weighted |corr| {after[worst]:.3g} {verb} {threshold:g}, for {name} "
            f"({before:.3g} before weighting)."
        )
        if power == 2 and status != "pass":
            reason += " Consider balancing more moments (moments=2)."
        rows.append(
            make_row(
                "balance",
                f"balance of {name_of}: max |corr(treatment, covariate{'²' if power == 2 else ''})|",
                f"≤ {threshold:g}",
                after[worst],
                status,
                reason,
                pass_min=0.0,
                pass_max=threshold,
            )
        )
    return rows


def weights_rows(
    weights: np.ndarray,
    a: np.ndarray,
    doses: np.ndarray,
    checks: Sequence[str],
    min_ess_fraction: float,
    max_top_share: float,
    min_local_ess_fraction: float,
) -> list[dict[str, Any]]:
    """Effective sample size, weight concentration, doses inside the data and support near them."""
    rows = []
    summary = weight_summary(weights)
    if "effective_sample_size" in checks:
        frac, ess, n = summary["ess_fraction"], summary["effective_sample_size"], int(summary["n"])
        ok = frac >= min_ess_fraction
        reason = f"ESS {ess:.0f} of n = {n} ({frac:.0%}) {'≥' if ok else '<'} {min_ess_fraction:.0%}."
        if not ok:
            reason += " The curve rests on few effective units: expect wide bands."
        rows.append(
            make_row(
                "effective_sample_size",
                "effective sample size / n",
                f"≥ {min_ess_fraction:g}",
                frac,
                "pass" if ok else "warn",
                reason,
                pass_min=min_ess_fraction,
                pass_max=1.0,
            )
        )
    if "overlap" not in checks:
        return rows
    top = summary["top_share"]
    ok = top <= max_top_share
    rows.append(
        make_row(
            "overlap",
            "share of the total weight on the heaviest 1% of units",
            f"≤ {max_top_share:g}",
            top,
            "pass" if ok else "warn",
            f"the heaviest 1% of units carry {top:.1%} of the weight (largest weight "
            f"{summary['max_weight']:.3g} times the mean)"
            + ("." if ok else ": a few units dominate the estimate."),
            pass_min=0.0,
            pass_max=max_top_share,
        )
    )
    support = dose_support(a, weights, doses)
    lo, hi, h = float(a.min()), float(a.max()), 0.25 * float(a.std())
    outside = support[~support["inside_range"]]
    if len(outside):
        listed = ", ".join(f"{d:.3g}" for d in outside["dose"][:4])
        reason = (
            f"dose(s) {listed} lie outside the observed treatment range [{lo:.3g}, {hi:.3g}]: the curve "
            "there is an extrapolation."
        )
    else:
        reason = f"all {len(support)} doses of the curve and the contrast lie in [{lo:.3g}, {hi:.3g}]."
    rows.append(
        make_row(
            "overlap",
            "doses outside the observed treatment range",
            "0",
            float(len(outside)),
            "fail" if len(outside) else "pass",
            reason,
            pass_min=0.0,
            pass_max=0.0,
        )
    )
    inside = support[support["inside_range"]].copy()
    if inside.empty:
        return rows
    inside["fraction"] = inside["local_ess"] / inside["n_near"].clip(lower=1)
    weakest = inside.loc[inside["fraction"].idxmin()]
    near = (
        f"{weakest['local_ess']:.1f} effective of {int(weakest['n_near'])} units within ±{h:.3g} of dose "
        f"{weakest['dose']:.3g}"
    )
    ok = weakest["fraction"] >= min_local_ess_fraction
    reason = (
        f"the thinnest support: {near}."
        if ok
        else f"only {near}: the weights lean on a handful of units there."
    )
    rows.append(
        make_row(
            "overlap",
            "dose support: min local ESS / units near a dose",
            f"≥ {min_local_ess_fraction:g}",
            float(weakest["fraction"]),
            "pass" if ok else "warn",
            reason,
            pass_min=min_local_ess_fraction,
            pass_max=1.0,
        )
    )
    return rows
