"""DoWhy estimators for a continuous treatment, wrapping :class:`dowhy_e2b.AverageDoseResponse`.

Glue only: columns are converted to arrays once, the work is delegated to the core objects, and
DoWhy's result objects are filled. The DoWhy 0.14 contract these classes honour (refuters deep-copy
a fitted estimator and call ``fit`` again, read private attributes, and need a float ``.value``)
is pinned by ``tests/adapters``.
"""

from __future__ import annotations

import copy
import difflib
import logging
import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from dowhy.causal_estimator import CausalEstimate, CausalEstimator
from sklearn.base import clone

from dowhy_e2b import (
    AverageDoseResponse,
    E2BWeights,
    EntropyBalancingWeights,
    GPSWeights,
    SubgroupDoseResponse,
    UnitWeights,
    balance_table,
    effective_sample_size,
)
from dowhy_e2b._validation import (
    as_dose,
    as_float_vector,
    check_contrast,
    check_treatment,
    encode_frame,
    warn_outside_support,
)
from dowhy_e2b.balance_check import check_balance
from dowhy_e2b.exceptions import BalanceWarning

from .refit import WarmRefit, applicable_refit_params

__all__ = [
    "DoseResponseEstimator",
    "E2BEstimator",
    "EntropyBalancingEstimator",
    "GPSWeightingEstimator",
    "UnweightedEstimator",
]

logger = logging.getLogger(__name__)

#: Keyword arguments DoWhy's ``CausalEstimator.__init__`` understands; accepted silently.
DOWHY_KEYS = frozenset(
    {
        "test_significance",
        "evaluate_effect_strength",
        "confidence_intervals",
        "num_null_simulations",
        "num_simulations",
        "sample_size_fraction",
        "confidence_level",
        "need_conditional_estimates",
        "num_quantiles_to_discretize_cont_cols",
    }
)
#: Parameters of the dose-response pipeline (the rest belong to the weighting estimator).
PIPELINE_KEYS = (
    "outcome_stage",
    "outcome_regressor",
    "dr_form",
    "cv",
    "n_knots",
    "penalty",
    "dose_grid",
    "n_bootstrap",
    "bootstrap_multipliers",
    "fragile_balance",
    "n_jobs",
    "random_state",
    "verbose",
)
#: Keyword arguments accepted by ``fit`` (DoWhy's ``method_params["fit_params"]``).
FIT_KEYS = ("sample_weight",)


def _single(names: Any, role: str) -> str:
    names = list(names) if isinstance(names, (list, tuple)) else [names]
    if len(names) != 1:
        raise ValueError(
            f"dowhy-e2b estimators handle exactly one continuous {role}, got {len(names)}: {names}."
        )
    return str(names[0])


class DoseResponseEstimator(CausalEstimator):
    """Base class: a DoWhy estimator of the average dose-response curve of a continuous treatment.

    Subclasses set :attr:`method_name` and :meth:`_make_weighter`. Parameters of the weighting
    estimator and of the curve (those of :class:`~dowhy_e2b.AverageDoseResponse`:
    ``outcome_stage``, ``outcome_regressor``, ``dr_form``, ``cv``, ``n_knots``, ``penalty``,
    ``dose_grid``, ``n_bootstrap``, ``bootstrap_multipliers``, ``fragile_balance``, ``n_jobs``,
    ``random_state``, ``verbose``) are accepted flat in ``method_params`` or inside
    ``method_params["init_params"]``; a misspelt name raises a ``TypeError`` listing the valid ones.

    After ``estimate_effect`` the :class:`~dowhy.causal_estimator.CausalEstimate` carries, besides
    the float ``value`` (:math:`\\hat\\mu(t) - \\hat\\mu(c)`), a ``dose_response`` DataFrame
    (``treatment``, ``mean_outcome``, ``ci_lower``, ``ci_upper``, ``band_lower``, ``band_upper``,
    ``local_ess``; rows at the grid and at ``treatment_value`` and ``control_value``) and its
    ``effective_sample_size``. With effect modifiers, ``dose_response`` holds one curve per level
    (long form, a column per modifier), ``average_dose_response`` the population curve, and
    ``conditional_estimates`` the contrast within every level.
    """

    method_name: ClassVar[str] = ""
    default_n_bootstrap: ClassVar[int] = 200
    #: The outcome stage when ``outcome_stage`` is not given (``None``: the pipeline's default).
    default_outcome_stage: ClassVar[str | None] = None

    def __init__(
        self,
        identified_estimand: Any,
        test_significance: bool | str = False,
        evaluate_effect_strength: bool = False,
        confidence_intervals: bool | str = False,
        init_params: dict[str, Any] | None = None,
        fit_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        params = dict(init_params or {})
        params.update(kwargs)
        dowhy_kwargs = {k: params.pop(k) for k in list(params) if k in DOWHY_KEYS}
        # DoWhy adds "<package>_estimator" for dotted class paths; it names this very class.
        for key in [k for k in params if k.endswith("_estimator") and isinstance(params[k], str)]:
            params.pop(key)
        super().__init__(
            identified_estimand,
            test_significance=test_significance,
            evaluate_effect_strength=evaluate_effect_strength,
            confidence_intervals=confidence_intervals,
            **dowhy_kwargs,
        )
        weighter_keys = set(self._make_weighter().get_params(deep=False))
        valid = sorted(weighter_keys | set(PIPELINE_KEYS))
        unknown = sorted(set(params) - set(valid))
        if unknown:
            hints = [m for u in unknown for m in difflib.get_close_matches(u, valid, n=1)]
            hint = f" Did you mean {hints}?" if hints else ""
            raise TypeError(
                f"unknown parameter(s) {unknown} for method '{self.method_name}'.{hint} Valid parameters: "
                f"{valid} (plus DoWhy's own: {sorted(DOWHY_KEYS)})."
            )
        # A key both take (E2B's random_state, dose_grid, outcome_stage, verbose) goes to both.
        self._weighter_params = {k: v for k, v in params.items() if k in weighter_keys}
        self._pipeline_params = {k: v for k, v in params.items() if k in PIPELINE_KEYS}
        self._init_fit_params = dict(fit_params or {})
        self._compute_bands = True
        # Refits by DoWhy's refuters: no repeated balance warnings; optional cheaper settings.
        self._warn_balance = True
        self._refit_params: dict[str, Any] = {}
        self._warm_weighter: Any = None
        self.adrf_: AverageDoseResponse | None = None
        self.logger.info("Using %s estimator", self.method_name)

    # -- construction ------------------------------------------------------------------------
    def _make_weighter(self, **params: Any) -> Any:
        raise NotImplementedError

    def _make_pipeline(self) -> AverageDoseResponse:
        params = dict(self._pipeline_params)
        n_boot = params.pop("n_bootstrap", self.default_n_bootstrap)
        if self.default_outcome_stage is not None:
            params.setdefault("outcome_stage", self.default_outcome_stage)
        if params.get("outcome_regressor") is not None:
            params["outcome_regressor"] = clone(params["outcome_regressor"])
        if self._warm_weighter is not None:
            weighter = WarmRefit(self._warm_weighter)
        else:
            weighter = self._make_weighter(**self._weighter_params)
        return AverageDoseResponse(
            weighter=weighter,
            n_bootstrap=n_boot if self._compute_bands else 0,
            confidence_level=self.confidence_level,
            **params,
        )

    def get_new_estimator_object(
        self,
        identified_estimand: Any,
        test_significance: bool = False,
        evaluate_effect_strength: bool = False,
        confidence_intervals: Any = None,
    ) -> DoseResponseEstimator:
        """A copy for a refit on altered data (refuters, DoWhy's bootstrap).

        Only the copy's ``value`` is used by its callers, so it skips the bootstrap bands (they
        are computed on demand if asked for), and it does not repeat the estimate's
        :class:`~dowhy_e2b.BalanceWarning`. Parameters set with :meth:`with_refit_params` apply to
        the copy's weighter; with ``warm_start=True`` the copy continues training the fitted
        weighter instead of starting over. Where the estimate relaxed fragile exact balance
        (``fragile_balance``), the copy balances with the same bound.
        """
        new = super().get_new_estimator_object(
            identified_estimand, test_significance, evaluate_effect_strength, confidence_intervals
        )
        new._compute_bands = False
        new._warn_balance = False
        fitted = None if new.adrf_ is None else new.adrf_.weighter_
        params = applicable_refit_params(fitted, new._refit_params)
        if params.get("warm_start"):
            new._warm_weighter = fitted.set_params(**params)
        else:
            new._weighter_params.update(params)
            if new.adrf_ is not None and new.adrf_.balance_relaxed_ and "max_imbalance" not in params:
                # The estimate relaxed fragile exact balance; its refits skip the bootstrap that
                # found it fragile, so they start from the relaxed balance.
                new._weighter_params["max_imbalance"] = fitted.max_imbalance
        return new

    def with_refit_params(self, **params: Any) -> DoseResponseEstimator:
        """A shallow copy of this fitted estimator whose refits (by DoWhy's refuters) use ``params``.

        Only the parameters the weighter accepts are applied, e.g. ``warm_start=True,
        max_steps=50`` for a weighter that can continue training from its fitted state. The
        estimator itself is not changed.
        """
        new = copy.copy(self)
        new._refit_params = dict(params)
        return new

    # -- DoWhy's estimator interface ---------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame,
        effect_modifier_names: list[str] | None = None,
        *legacy_outcome: Any,
        **fit_params: Any,
    ) -> DoseResponseEstimator:
        """Fit weights and the dose-response curve: a cold refit every time.

        Parameters
        ----------
        data : pandas.DataFrame
            The data; it is not modified.
        effect_modifier_names : list of str, optional
            Effect modifiers: besides the population curve, one curve per level (numeric
            modifiers with more than 10 values are cut into ``num_quantiles_to_discretize_cont_cols``
            quantile bins). They join the confounders of the population curve.
        *legacy_outcome
            DoWhy 0.14's ``CausalModel.do`` calls the older form ``fit(data, treatment, outcome)``:
            the names must be those of the identified estimand; the population curve is fitted
            (no effect modifiers) without bootstrap bands unless ``n_bootstrap`` was given.
        **fit_params
            ``sample_weight``: name of a column of frequency or survey weights.
        """
        if legacy_outcome:
            self._check_legacy_call(effect_modifier_names, legacy_outcome)
            effect_modifier_names = None
        params = {**self._init_fit_params, **fit_params}
        unknown = sorted(set(params) - set(FIT_KEYS))
        if unknown:
            raise TypeError(f"unknown fit parameter(s) {unknown}; valid fit parameters: {list(FIT_KEYS)}.")
        self._fit_params = params
        self.reset_encoders()
        self._set_effect_modifiers(data, effect_modifier_names)
        estimand = self._target_estimand
        self._treatment_name = _single(estimand.treatment_variable, "treatment")
        self._outcome_name = _single(estimand.outcome_variable, "outcome")
        # DoWhy's adjustment set is a set: its order varies with PYTHONHASHSEED. Sorting makes a fit
        # reproducible across processes (E2B's random features depend on the column order).
        adjustment = sorted(estimand.get_adjustment_set() or [])
        modifiers = list(self._effect_modifier_names or [])
        self._observed_common_causes_names = adjustment + [m for m in modifiers if m not in adjustment]
        X, names = encode_frame(data, self._observed_common_causes_names)
        a = check_treatment(data[self._treatment_name], name=self._treatment_name)
        y = as_float_vector(data[self._outcome_name], self._outcome_name, role="outcome")
        sample_weight = None
        if "sample_weight" in params:
            col = params["sample_weight"]
            sample_weight = as_float_vector(data[col], str(col), role="sample weight")
        self._observed_common_causes = pd.DataFrame(X, columns=names, index=data.index)
        self._confounders = data[self._observed_common_causes_names]
        self._arrays = (X, a, y)
        frame = pd.DataFrame(X, columns=names)
        pipeline = self._make_pipeline()
        with warnings.catch_warnings():
            if not self._warn_balance:
                warnings.simplefilter("ignore", BalanceWarning)
            self.adrf_ = clone(pipeline).fit(frame, a, y, sample_weight=sample_weight)
            weighter = self.adrf_.weighter_
            if weighter is not None and getattr(weighter, "balance_check_", None) is None:
                # A weighter that does not check its own balance is checked here.
                check_balance(weighter, frame, a, method=self.method_name, stacklevel=2)
            self.subgroups_: SubgroupDoseResponse | None = None
            if modifiers:
                self.subgroups_ = SubgroupDoseResponse(
                    pipeline, n_bins=int(self.num_quantiles_to_discretize_cont_cols)
                ).fit(
                    frame,
                    a,
                    y,
                    modifiers=data[modifiers].reset_index(drop=True),
                    sample_weight=sample_weight,
                )
        self.symbolic_estimator = self.construct_symbolic_estimator(estimand)
        return self

    def _check_legacy_call(self, treatment: Any, rest: tuple[Any, ...]) -> None:
        """Check DoWhy 0.14's ``fit(data, treatment, outcome)`` (from ``CausalModel.do``)."""
        if len(rest) != 1:
            raise TypeError(
                f"fit takes fit(data, effect_modifier_names=None, **fit_params) or DoWhy's older "
                f"fit(data, treatment, outcome); got {2 + len(rest)} positional arguments."
            )
        estimand = self._target_estimand
        expected = (list(estimand.treatment_variable), list(estimand.outcome_variable))
        got = tuple(list(v) if isinstance(v, (list, tuple)) else [v] for v in (treatment, rest[0]))
        if got != expected:
            raise ValueError(
                f"fit(data, treatment, outcome) got treatment {got[0]} and outcome {got[1]}, but the "
                f"identified estimand is for treatment {expected[0]} and outcome {expected[1]}: "
                "identify the effect of these variables first (model.identify_effect())."
            )
        # DoWhy's do() uses the point curve only: the bands are computed later if asked for.
        self._compute_bands = "n_bootstrap" in self._pipeline_params

    def estimate_effect(
        self,
        data: pd.DataFrame,
        treatment_value: Any = 1,
        control_value: Any = 0,
        target_units: Any = None,
        **_: Any,
    ) -> CausalEstimate:
        """The contrast :math:`\\hat\\mu(\\text{treatment\\_value}) - \\hat\\mu(\\text{control\\_value})`.

        ``data`` is not used beyond being attached to the estimate: the curve was fitted by
        :meth:`fit`. The returned estimate's ``dose_response`` has rows at the grid and at both
        contrast doses.
        """
        if target_units is None:
            target_units = "ate"
        if not (isinstance(target_units, str) and target_units == "ate"):
            raise ValueError(
                f"target_units={target_units!r} is not supported: for a continuous treatment the "
                "estimand is the average dose-response over the whole population (target_units='ate')."
            )
        adrf = self._fitted()
        t = as_dose(treatment_value, "treatment_value")
        c = as_dose(control_value, "control_value")
        check_contrast(t, c)
        self._target_units = target_units
        self._treatment_value = treatment_value
        self._control_value = control_value
        value = adrf.contrast(t, c)
        values = np.union1d(adrf.grid_, [t, c])
        curve = adrf.dose_response_frame(values)
        extra: dict[str, Any] = {"dose_response": curve}
        conditional = None
        if self.subgroups_ is not None:
            extra = {
                "dose_response": self.subgroups_.dose_response_frame(values),
                "average_dose_response": curve,
            }
            table = self.subgroups_.contrasts(t, c)
            conditional = table.set_index(self.subgroups_.modifier_names_)["effect"]
        estimate = CausalEstimate(
            data=data,
            treatment_name=self._target_estimand.treatment_variable,
            outcome_name=self._target_estimand.outcome_variable,
            estimate=value,
            control_value=control_value,
            treatment_value=treatment_value,
            conditional_estimates=conditional,
            target_estimand=self._target_estimand,
            realized_estimand_expr=self.symbolic_estimator,
            effective_sample_size=effective_sample_size(adrf.weights_),
            **extra,
        )
        estimate.add_estimator(self)
        return estimate

    def construct_symbolic_estimator(self, estimand: Any) -> str:
        t = ",".join(estimand.treatment_variable)
        y = ",".join(estimand.outcome_variable)
        x = ",".join(estimand.get_adjustment_set() or [])
        return f"b: {y}~spline({t}) weighted by {self.method_name} weights balancing {t} against [{x}]"

    def do(self, x: Any, data_df: Any = None) -> float | np.ndarray:
        """DoWhy's do-operator: :math:`\\hat\\mu(x)`, the estimated mean outcome had every unit's
        treatment been set to ``x``; what ``CausalModel.do`` returns.

        Parameters
        ----------
        x : float or array-like
            Treatment dose(s). Doses outside the observed treatment range are extrapolations and
            raise an :class:`~dowhy_e2b.exceptions.ExtrapolationWarning`.
        data_df : None
            Must be ``None``: the curve averages over the data it was fitted on (to average over
            other data, fit the estimator on them first).

        Returns
        -------
        float or ndarray
            A float for a scalar ``x``, else an array of ``x``'s shape; equal to
            :meth:`predict_dose_response` at the same doses.
        """
        return self._do(x, data_df)

    def _do(self, x: Any, data_df: Any = None) -> float | np.ndarray:
        if data_df is not None:
            raise ValueError(
                "data_df must be None: the dose-response curve averages over the data it was fitted "
                "on; to average over other data, fit the estimator on them (fit(data_df)) first."
            )
        adrf = self._fitted()
        try:
            values = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"x must be a treatment dose or an array of doses, got {x!r}.") from None
        if values.size == 0 or not np.all(np.isfinite(values)):
            raise ValueError(f"x must hold at least one finite treatment dose, got {x!r}.")
        warn_outside_support(values, self._arrays[1], "x")
        mu = adrf.predict(values.ravel())
        return float(mu[0]) if values.ndim == 0 else mu.reshape(values.shape)

    # -- uncertainty: bootstrap of the whole pipeline, shared by CI, std. error and p-value ---
    def _fitted(self) -> AverageDoseResponse:
        if self.adrf_ is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit(data) first.")
        return self.adrf_

    def _replicates(self) -> AverageDoseResponse:
        adrf = self._fitted()
        if adrf.bootstrap_coef_.shape[0] < 2:
            n_boot = self._pipeline_params.get("n_bootstrap", self.default_n_bootstrap) or 100
            adrf.bootstrap(*self._arrays, n_bootstrap=n_boot)
        return adrf

    def _contrast_values(self) -> tuple[float, float]:
        return as_dose(self._treatment_value, "treatment_value"), as_dose(
            self._control_value, "control_value"
        )

    def _estimate_confidence_intervals(
        self, confidence_level: float | None = None, method: Any = None, **kwargs: Any
    ) -> tuple[float, float]:
        """Percentile bootstrap interval of the contrast (the bootstrap refits weights and curve)."""
        return self._replicates().contrast_interval(
            *self._contrast_values(), confidence_level=confidence_level
        )

    def _estimate_std_error(self, method: Any = None, **kwargs: Any) -> float:
        """Bootstrap standard error of the contrast."""
        return self._replicates().contrast_std_error(*self._contrast_values())

    def _test_significance(
        self, estimate_value: float, method: Any = None, **kwargs: Any
    ) -> dict[str, float]:
        """Bootstrap p-value of "no difference between the two doses"."""
        return {"p_value": self._replicates().contrast_p_value(*self._contrast_values())}

    # -- results -----------------------------------------------------------------------------
    @property
    def weights_(self) -> np.ndarray:
        """Balancing weights of the fitted data (mean 1)."""
        return self._fitted().weights_

    @property
    def dose_response_(self) -> pd.DataFrame:
        """The fitted curve with its bootstrap bands."""
        return self._fitted().curve_.copy()

    @property
    def treatment_values_(self) -> np.ndarray:
        """The observed treatment of the fitted data (for rugs and overlap checks)."""
        self._fitted()
        return self._arrays[1]

    def predict_dose_response(self, values: Any) -> np.ndarray:
        """Estimated mean outcome :math:`\\hat\\mu` at the treatment ``values``."""
        return self._fitted().predict(values)

    def predict_derivative(self, values: Any) -> np.ndarray:
        """Derivative :math:`\\hat\\mu'` (average marginal effect of the dose) at ``values``."""
        return self._fitted().predict_derivative(values)

    def derivative_frame(self, values: Any = None) -> pd.DataFrame:
        """The derivative curve with pointwise and simultaneous bands (default: the fitted grid)."""
        return self._replicates().derivative_frame(values)

    def effect_curve(self, reference: float | None = None, values: Any = None) -> pd.DataFrame:
        """Effects :math:`\\hat\\mu(t) - \\hat\\mu(\\text{reference})` with bands; the reference defaults
        to the estimate's ``control_value``."""
        ref = as_dose(self._control_value, "control_value") if reference is None else reference
        return self._replicates().effect_curve(ref, values)

    def test_dose_response(self, hypothesis: str = "flat", values: Any = None) -> Any:
        """Wald test that the curve is ``"flat"`` (the dose has no effect) or ``"linear"``.

        Returns a :class:`~dowhy_e2b._numerics.inference.DoseResponseTest` with ``statistic``,
        ``df`` and ``p_value`` (also ``result["p_value"]``); see
        :meth:`dowhy_e2b.AverageDoseResponse.test_dose_response`.
        """
        return self._replicates().test_dose_response(hypothesis, values)

    def balance_table(self, moments: int | None = None) -> pd.DataFrame:
        """Correlation of the treatment with each confounder (and its powers) before/after weighting.

        Parameters
        ----------
        moments : int, optional
            Report powers 1..``moments`` of every confounder; default: the powers the method
            balanced (see :func:`dowhy_e2b.balance_table`). Every level of a categorical
            confounder has a row.
        """
        adrf = self._fitted()
        if moments is None:
            moments = int(getattr(adrf.weighter_, "moments", 1) or 1)
        return balance_table(self._confounders, self._arrays[1], adrf.weights_, moments=moments)


class EntropyBalancingEstimator(DoseResponseEstimator):
    """Entropy balancing for a continuous treatment (``method_name="entropy_balancing"``).

    Parameters are those of :class:`dowhy_e2b.EntropyBalancingWeights` (``moments``,
    ``treatment_moments``, ``max_imbalance``, ``ridge``, ``tol``, ``max_iter``, ``on_failure``) and
    of the curve (those of :class:`~dowhy_e2b.AverageDoseResponse`, listed in
    :class:`DoseResponseEstimator`).
    """

    method_name = "entropy_balancing"

    def _make_weighter(self, **params: Any) -> EntropyBalancingWeights:
        return EntropyBalancingWeights(**params)


class GPSWeightingEstimator(DoseResponseEstimator):
    """Stabilised inverse generalised-propensity weighting (``method_name="gps_weighting"``).

    Parameters are those of :class:`dowhy_e2b.GPSWeights` and of the curve.
    """

    method_name = "gps_weighting"

    def _make_weighter(self, **params: Any) -> GPSWeights:
        return GPSWeights(**params)


class UnweightedEstimator(DoseResponseEstimator):
    """The unweighted spline curve, ignoring confounding (``method_name="unweighted"``): a reference.

    Its outcome stage defaults to ``"weighted"`` (with unit weights: the plain smooth of the
    outcome on the dose). With ``outcome_stage="doubly_robust"`` it becomes regression adjustment
    (the cross-fitted outcome model's g-computation, corrected by its smoothed residuals), which no
    longer ignores confounding.
    """

    method_name = "unweighted"
    default_outcome_stage = "weighted"

    def _make_weighter(self, **params: Any) -> UnitWeights:
        return UnitWeights(**params)


class E2BEstimator(DoseResponseEstimator):
    """End-to-End Balancing (``method_name="e2b"``): entropy balancing with learned base weights.

    Parameters are those of :class:`dowhy_e2b.E2BWeights` (``moments``, ``ridge``, ``max_steps``,
    ``device``, ``outcome_model``, ...) and of the curve (those of
    :class:`~dowhy_e2b.AverageDoseResponse`, listed in :class:`DoseResponseEstimator`);
    ``random_state``, ``dose_grid``, ``outcome_stage`` and ``verbose`` apply to both. Every ``fit`` (refuters
    included) trains a fresh network; each bootstrap replicate retrains it, warm-started from the
    point fit (at most 100 steps).
    """

    method_name = "e2b"

    def _make_weighter(self, **params: Any) -> E2BWeights:
        return E2BWeights(**params)
