"""Every benchmarked method behind one wrapper: curve on the grid, wall time, peak memory, errors.

Three groups:

* ``core``: the package's weighting estimators through :class:`dowhy_e2b.AverageDoseResponse`,
  all with the same outcome stage (:class:`dowhy_e2b.WeightedDoseResponse`: weighted cubic spline,
  5 quantile knots) and their default parameters. Their bootstrap bands are computed after the
  timed fit (timed separately) to measure coverage.
* ``dowhy``: the same estimators called as a DoWhy user calls them
  (``CausalModel(...).estimate_effect(..., method_name=...)``); each should reproduce its core twin.
* ``peer``: other packages (the ``bench`` extra), DoWhy's linear regression and a g-formula curve
  from DoWhy's ``gcm``. A peer that is not installed is recorded as unavailable; one that raises
  is recorded with its error; one that needs a workaround says so.

:func:`run_method` is the uniform wrapper: it never raises for a method's failure.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .dgps import BenchData, legacy_global_seed
from .measure import measure
from .metrics import (
    METRIC_COLUMNS,
    band_coverage,
    centred,
    effective_sample_size,
    max_abs_weighted_corr,
    rmse,
    tail_mask,
)

__all__ = ["METHODS", "Config", "Fit", "Method", "availability", "probe_notes", "run_method"]

logger = logging.getLogger(__name__)

#: Warning categories not recorded in the results (library deprecation chatter).
_IGNORED_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
_MAX_ERROR_CHARS = 400


@dataclass(frozen=True)
class Config:
    """Run-wide settings shared by every method.

    Attributes
    ----------
    n_bootstrap : int
        Bootstrap replicates for the bands of the core methods (0: no coverage measured).
    e2b_params : mapping
        Non-default parameters of E2B for this run (a benchmark configuration, e.g. the quick
        mode's ``{"max_steps": 20}``); empty means E2B's defaults.
    threads : int or None
        Thread limit of BLAS and torch (``None``: the libraries' defaults).
    """

    n_bootstrap: int = 200
    e2b_params: Mapping[str, Any] = field(default_factory=dict)
    threads: int | None = 1


@dataclass
class Fit:
    """What a method returns: its curve on the grid and what is needed for diagnostics."""

    curve: np.ndarray
    contrast_only: bool = False
    weights: np.ndarray | None = None
    adrf: Any = None
    note: str = ""


@dataclass(frozen=True)
class Method:
    """A benchmarked method.

    Attributes
    ----------
    name : str
        Identifier used on the command line and in the CSV.
    label : str
        Display name.
    group : {"core", "dowhy", "peer"}
    kind : str
        ``"weighting"`` (weights + the shared outcome stage), ``"outcome model"`` or
        ``"contrast only"`` (compared on centred curves).
    fit : callable
        ``fit(data, config) -> Fit``.
    description : str
        How it is called (shown in the report).
    requires : tuple of str
        Modules that must import for the method to be available.
    fast : bool
        Part of the quick mode.
    memory : {"tracemalloc", "rss"}
        How its peak memory is measured (see :mod:`benchmarks.measure`).
    twin : str, optional
        For a DoWhy-path method: the core method it must reproduce.
    probe : callable, optional
        Called once per process (outside any timing) for a peer that needs a workaround: returns
        the error the documented call raises, or ``""`` when it no longer does.
    workaround : str
        What the wrapper does differently from the documented call.
    params : callable, optional
        ``params(config) -> dict`` of the non-default parameters used (recorded in the CSV).
    """

    name: str
    label: str
    group: str
    kind: str
    fit: Callable[[BenchData, Config], Fit]
    description: str
    requires: tuple[str, ...] = ()
    fast: bool = True
    memory: str = "tracemalloc"
    twin: str | None = None
    probe: Callable[[], str] | None = None
    workaround: str = ""
    params: Callable[[Config], dict[str, Any]] | None = None


# -- our estimators, core path -----------------------------------------------------------------


#: The outcome stage every weighting method shares here, so that the weights alone differ: the
#: weighted cubic spline with 5 quantile knots (the stage of release 0.1). The outcome stages
#: themselves are compared by ``benchmarks/stages.py``.
SHARED_STAGE: dict[str, Any] = {"outcome_stage": "weighted", "n_knots": 5, "penalty": 0.0}


def _make_weighter(name: str, seed: int, config: Config) -> Any:
    from dowhy_e2b import E2BWeights, EntropyBalancingWeights, GPSWeights, UnitWeights

    if name == "unweighted":
        return UnitWeights()
    if name == "gps":
        return GPSWeights()
    if name.startswith("eb"):
        return EntropyBalancingWeights(moments=int(name[2:]))
    if name == "e2b":
        return E2BWeights(random_state=seed, **dict(config.e2b_params))
    raise ValueError(f"no weighting estimator called {name!r}.")


def _core(name: str) -> Callable[[BenchData, Config], Fit]:
    def fit(data: BenchData, config: Config) -> Fit:
        from dowhy_e2b import AverageDoseResponse

        adrf = AverageDoseResponse(
            _make_weighter(name, data.seed, config),
            **SHARED_STAGE,
            n_bootstrap=0,
            random_state=data.seed,
            dose_grid=data.grid,
        ).fit(data.X, data.a, data.y)
        return Fit(curve=adrf.predict(data.grid), weights=np.asarray(adrf.weights_), adrf=adrf)

    return fit


# -- our estimators, DoWhy path ----------------------------------------------------------------


def _causal_model(data: BenchData) -> tuple[Any, Any]:
    from dowhy import CausalModel

    import dowhy_e2b  # noqa: F401  (registers the estimators with DoWhy)

    model = CausalModel(
        data=data.data.copy(), treatment=data.treatment, outcome=data.outcome, graph=data.graph()
    )
    return model, model.identify_effect()


def _dowhy(method_name: str, e2b: bool = False) -> Callable[[BenchData, Config], Fit]:
    def fit(data: BenchData, config: Config) -> Fit:
        model, estimand = _causal_model(data)
        init = {"random_state": data.seed, "dose_grid": data.grid, "n_bootstrap": 0, **SHARED_STAGE}
        if e2b:
            init.update(config.e2b_params)
        est = model.estimate_effect(
            estimand,
            method_name=method_name,
            treatment_value=float(data.grid[-1]),
            control_value=float(data.grid[0]),
            method_params={"init_params": init},
        )
        curve = est.estimator.predict_dose_response(data.grid)
        return Fit(curve=np.asarray(curve, dtype=float), weights=np.asarray(est.estimator.weights_))

    return fit


# -- peers ---------------------------------------------------------------------------------------


def _ebal(data: BenchData, config: Config) -> Fit:
    from ebal import ebal_con

    from dowhy_e2b import WeightedDoseResponse

    result = ebal_con(print_level=-1).ebalance(data.a, data.X.to_numpy(dtype=float))
    w = np.asarray(result["w"], dtype=float)
    w = w * (w.shape[0] / w.sum())
    note = "" if result["converged"] else f"not converged (max constraint gap {float(result['maxdiff']):.3g})"
    curve = WeightedDoseResponse().fit(data.a, data.y, sample_weight=w).predict(data.grid)
    return Fit(curve=curve, weights=w, note=note)


def _causal_curve(class_name: str) -> Callable[[BenchData, Config], Fit]:
    def fit(data: BenchData, config: Config) -> Fit:
        import causal_curve

        model = getattr(causal_curve, class_name)()
        with legacy_global_seed(data.seed):
            model.fit(
                T=data.data[data.treatment].astype(float),
                X=data.X,
                y=data.data[data.outcome].astype(float),
            )
            cdrc = model.calculate_CDRC(0.95)
        t = cdrc["Treatment"].to_numpy(dtype=float)
        mu = cdrc["Causal_Dose_Response"].to_numpy(dtype=float)
        return Fit(curve=np.interp(data.grid, t, mu))

    return fit


def _econml_featurizer() -> Any:
    from sklearn.preprocessing import SplineTransformer

    # The same basis as the shared outcome stage: cubic, 5 quantile knots.
    return SplineTransformer(n_knots=5, degree=3, knots="quantile", include_bias=False)


def _econml_dml(data: BenchData, config: Config) -> Fit:
    from econml.dml import LinearDML

    est = LinearDML(treatment_featurizer=_econml_featurizer(), random_state=data.seed)
    est.fit(data.y, data.a.reshape(-1, 1), X=None, W=data.X.to_numpy(dtype=float))
    g = data.grid.reshape(-1, 1)
    effect = est.effect(X=None, T0=np.full_like(g, data.grid[0]), T1=g)
    return Fit(curve=centred(np.asarray(effect, dtype=float).ravel()), contrast_only=True)


def _econml_probe() -> str:
    """The documented call with a 1-d treatment; returns its error ('' if it works)."""
    from econml.dml import LinearDML

    rng = np.random.default_rng(0)
    W = rng.standard_normal((200, 2))
    t = W @ [0.5, 0.5] + rng.standard_normal(200)
    y = t + W.sum(axis=1) + rng.standard_normal(200)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            LinearDML(treatment_featurizer=_econml_featurizer(), random_state=0).fit(y, t, X=None, W=W)
    except Exception as err:
        return _error_text(err)
    return ""


def _dowhy_linear_regression(data: BenchData, config: Config) -> Fit:
    model, estimand = _causal_model(data)
    est = model.estimate_effect(
        estimand, method_name="backdoor.linear_regression", treatment_value=1.0, control_value=0.0
    )
    frame = data.data.copy()
    # The regression's g-formula: E[Y | do(a = t)] averaged over the sample (DoWhy's do-operator).
    curve = np.array([float(est.estimator.do(t, frame)) for t in data.grid])
    return Fit(curve=curve)


def _dowhy_gcm(data: BenchData, config: Config) -> Fit:
    from dowhy import gcm

    gcm.config.disable_progress_bars()
    frame = data.data.copy()
    with legacy_global_seed(data.seed):
        scm = gcm.StructuralCausalModel(data.graph())
        gcm.auto.assign_causal_mechanisms(scm, frame)
        gcm.fit(scm, frame)
        curve = np.array(
            [
                float(
                    gcm.interventional_samples(
                        scm, {data.treatment: lambda _, v=float(t): v}, observed_data=frame
                    )[data.outcome].mean()
                )
                for t in data.grid
            ]
        )
    return Fit(curve=curve)


def _e2b_params(config: Config) -> dict[str, Any]:
    return dict(config.e2b_params)


def _build_registry() -> dict[str, Method]:
    shared = "weights, then the shared weighted cubic spline (5 quantile knots)"
    methods = [
        Method("unweighted", "unweighted", "core", "weighting", _core("unweighted"),
               f"UnitWeights: w = 1; {shared}"),
        Method("gps", "GPS", "core", "weighting", _core("gps"),
               f"GPSWeights(): stabilised inverse normal-linear GPS; {shared}"),
        Method("eb1", "EB (moments 1)", "core", "weighting", _core("eb1"),
               f"EntropyBalancingWeights(moments=1); {shared}", params=lambda c: {"moments": 1}),
        Method("eb2", "EB (moments 2)", "core", "weighting", _core("eb2"),
               f"EntropyBalancingWeights(moments=2); {shared}", params=lambda c: {"moments": 2}),
        Method("eb3", "EB (moments 3)", "core", "weighting", _core("eb3"),
               f"EntropyBalancingWeights(moments=3); {shared}", params=lambda c: {"moments": 3}),
        Method("e2b", "E2B", "core", "weighting", _core("e2b"),
               f"E2BWeights(random_state=seed) with its defaults; {shared}",
               memory="rss", params=_e2b_params),
        Method("dowhy:unweighted", "unweighted (DoWhy)", "dowhy", "weighting",
               _dowhy("unweighted"), 'CausalModel.estimate_effect(method_name="unweighted")',
               twin="unweighted"),
        Method("dowhy:gps_weighting", "GPS (DoWhy)", "dowhy", "weighting", _dowhy("gps_weighting"),
               'CausalModel.estimate_effect(method_name="gps_weighting")', twin="gps"),
        Method("dowhy:entropy_balancing", "EB (DoWhy)", "dowhy", "weighting",
               _dowhy("entropy_balancing"),
               'CausalModel.estimate_effect(method_name="entropy_balancing") (default moments=1)',
               twin="eb1"),
        Method("dowhy:e2b", "E2B (DoWhy)", "dowhy", "weighting", _dowhy("e2b", e2b=True),
               'CausalModel.estimate_effect(method_name="e2b")', memory="rss", twin="e2b",
               params=_e2b_params),
        Method("ebal", "ebal (continuous EB)", "peer", "weighting", _ebal,
               "ebal.ebal_con(print_level=-1).ebalance(a, X) with its defaults (treatment moments 2, "
               f"covariate moments 1, PCA of X); {shared}", requires=("ebal",)),
        Method("causal_curve_gps", "causal-curve GPS", "peer", "outcome model",
               _causal_curve("GPS_Regressor"),
               "causal_curve.GPS_Regressor() defaults; calculate_CDRC() on its own 100-point quantile "
               "grid (rounded to 3 decimals by the package), linearly interpolated to ours",
               requires=("causal_curve",), fast=False),
        Method("causal_curve_tmle", "causal-curve TMLE", "peer", "outcome model",
               _causal_curve("TMLE_Regressor"),
               "causal_curve.TMLE_Regressor() defaults; calculate_CDRC() interpolated to our grid",
               requires=("causal_curve",), fast=False),
        Method("econml_dml", "EconML LinearDML + spline", "peer", "contrast only", _econml_dml,
               "econml.dml.LinearDML(treatment_featurizer=SplineTransformer(n_knots=5, degree=3, "
               "knots='quantile')), confounders as W; effect(T0=grid[0], T1=grid), centred",
               requires=("econml",), probe=_econml_probe,
               workaround="treatment passed as a column of shape (n, 1): the documented 1-d treatment "
               "fails inside the featurizer"),
        Method("dowhy_linear_regression", "DoWhy linear regression", "peer", "outcome model",
               _dowhy_linear_regression,
               'estimate_effect(method_name="backdoor.linear_regression"); curve from '
               "estimator.do(t) (the regression's g-formula) at every grid point"),
        Method("dowhy_gcm", "DoWhy gcm g-formula", "peer", "outcome model", _dowhy_gcm,
               "gcm.StructuralCausalModel(graph), auto.assign_causal_mechanisms (default quality), "
               "fit; mean outcome of interventional_samples(do(a=t), observed_data=data) per grid point",
               fast=False),
    ]  # fmt: skip
    return {m.name: m for m in methods}


#: Every method, in report order.
METHODS: dict[str, Method] = _build_registry()


def _error_text(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".replace("\n", " ")
    text = re.sub(r"\[[^\]]{60,}\]", "[…]", text)  # long arrays printed inside messages
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"


def availability(method: Method) -> str:
    """``""`` if the method's packages import, else the import error."""
    for module in method.requires:
        try:
            importlib.import_module(module)
        except Exception as err:
            return _error_text(err)
    return ""


def probe_notes(methods: list[Method]) -> dict[str, str]:
    """Run each available method's probe once: ``{name: error of the documented call}``."""
    notes = {}
    for m in methods:
        if m.probe is not None and not availability(m):
            try:
                notes[m.name] = m.probe()
            except Exception as err:
                notes[m.name] = f"probe failed: {_error_text(err)}"
    return notes


def _warning_summary(caught: list[warnings.WarningMessage]) -> str:
    seen: list[str] = []
    for w in caught:
        if issubclass(w.category, _IGNORED_WARNINGS):
            continue
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0][:160]}"
        if text not in seen:
            seen.append(text)
    return " | ".join(seen[:3])


def _nan_row() -> dict[str, float]:
    return dict.fromkeys(METRIC_COLUMNS, float("nan"))


def run_method(
    method: Method,
    data: BenchData,
    config: Config,
    unavailable: str = "",
    memory_pass: bool = False,
    skipped: str = "",
) -> tuple[dict[str, Any], dict[str, np.ndarray] | None]:
    """Run one method on one sample; never raises for the method's own failure.

    The timed fit is timed only: ``tracemalloc`` slows Python-heavy code several times over, and
    the resident memory of a long-running process says little about one fit. Peak memory comes
    from a second, untimed fit (``memory_pass``): under ``tracemalloc`` in this process, or for
    torch-based methods in a fresh process (:mod:`benchmarks.isolated`).

    Parameters
    ----------
    method : Method
    data : BenchData
    config : Config
    unavailable : str
        If not empty, the method is not run and recorded as unavailable with this reason.
    memory_pass : bool
        Refit once more, untimed, to measure peak memory.
    skipped : str
        If not empty, the method is not run and recorded as skipped with this reason.

    Returns
    -------
    row : dict
        One row of the results CSV.
    curves : dict or None
        ``{"estimate", "ci_lower", "ci_upper"}`` on the grid (``None`` when there is no curve).
    """
    row: dict[str, Any] = {
        "dgp": data.dgp,
        "seed": data.seed,
        "n": data.n,
        "method": method.name,
        "group": method.group,
        "kind": method.kind,
        "contrast_only": method.kind == "contrast only",
        "status": "ok",
        "error": "",
        "warnings": "",
        "note": "",
        "params": json.dumps(method.params(config) if method.params else {}, sort_keys=True),
        "mem_method": method.memory,
        "n_bootstrap": 0,
        **_nan_row(),
    }
    if unavailable or skipped:
        row.update(status="unavailable" if unavailable else "skipped", error=unavailable or skipped)
        return row, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meter = None
        try:
            with measure("time") as meter:
                fit = method.fit(data, config)
            curve = np.asarray(fit.curve, dtype=float).ravel()
            if curve.shape != data.grid.shape or not np.all(np.isfinite(curve)):
                raise ValueError(f"returned {curve.shape[0]} values, {np.isfinite(curve).sum()} finite")
        except Exception as err:
            logger.debug(
                "%s failed on %s seed %d:\n%s", method.name, data.dgp, data.seed, traceback.format_exc()
            )
            row.update(status="error", error=_error_text(err), warnings=_warning_summary(caught))
            if meter is not None:
                row["fit_time_s"] = meter.wall_s
            return row, None
        row.update(fit_time_s=meter.wall_s, note=fit.note)
        if memory_pass:
            try:
                if method.memory == "rss":
                    from .isolated import isolated_peak_memory

                    row["peak_mem_mb"] = isolated_peak_memory(
                        method.name, data.dgp, data.n, data.seed, config
                    )
                else:
                    with measure("tracemalloc") as mem:
                        method.fit(data, config)
                    row["peak_mem_mb"] = mem.peak_mb
            except Exception as err:
                row["note"] = "; ".join(
                    filter(None, [row["note"], f"memory pass failed: {_error_text(err)}"])
                )
        lower = upper = np.full_like(curve, np.nan)
        if fit.adrf is not None and config.n_bootstrap > 0:
            try:
                with measure("rss") as boot:
                    fit.adrf.bootstrap(data.X, data.a, data.y, n_bootstrap=int(config.n_bootstrap))
                frame = fit.adrf.dose_response_frame(data.grid)
                lower = frame["ci_lower"].to_numpy(dtype=float)
                upper = frame["ci_upper"].to_numpy(dtype=float)
                row.update(boot_time_s=boot.wall_s, n_bootstrap=int(config.n_bootstrap))
                failed = int(getattr(fit.adrf, "n_bootstrap_failed_", 0))
                if failed:
                    row["note"] = "; ".join(
                        filter(None, [row["note"], f"{failed} bootstrap replicates failed"])
                    )
            except Exception as err:
                row["note"] = "; ".join(filter(None, [row["note"], f"bootstrap failed: {_error_text(err)}"]))
        row["warnings"] = _warning_summary(caught)
    truth = data.truth
    tails = tail_mask(truth.shape[0])
    if not fit.contrast_only:
        row["rmse"] = rmse(curve, truth)
        row["rmse_tails"] = rmse(curve, truth, tails)
        row["coverage"], row["coverage_all"], row["band_width"] = band_coverage(lower, upper, truth)
    row["rmse_centred"] = rmse(centred(curve), centred(truth))
    if fit.contrast_only:
        row["rmse_tails"] = rmse(centred(curve), centred(truth), tails)
    if fit.weights is not None:
        w = np.asarray(fit.weights, dtype=float)
        row["ess"] = effective_sample_size(w)
        row["max_abs_corr"] = max_abs_weighted_corr(data.a, data.X.to_numpy(dtype=float), w)
    return row, {"estimate": curve, "ci_lower": lower, "ci_upper": upper}
