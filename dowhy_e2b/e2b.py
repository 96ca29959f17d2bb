r"""End-to-End Balancing (E2B): entropy balancing with learned base weights.

Bahadori, Tchetgen Tchetgen & Heckerman (ICML 2022): the log base weights of entropy balancing are
a model :math:`l_\theta(x, a)`, trained end to end so that the weighted dose-response estimator
recovers known curves of random response functions simulated on the real :math:`(x, a)`. Balance
holds for every :math:`\theta`; a constant model gives plain entropy balancing, where training
starts. The trained weights are then applied to the real outcome.

This module is the scikit-learn façade. The outcome regression behind the noise level and the
anchored functions lives in :mod:`dowhy_e2b._calibration`; one training run (held-out units,
losses, ridge, loop) in :mod:`dowhy_e2b._torch.orchestration`.
"""

from __future__ import annotations

import logging
import time
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, check_scalar
from threadpoolctl import threadpool_limits

from . import _guarantee
from ._base import BaseWeights
from ._numerics import balance_features, drop_collinear, solve_entropy_balance
from ._numerics.basis import TensorBasis, fit_spline_design, fit_tensor_basis
from ._torch.network import MLPBaseWeights, TensorBaseWeights
from ._torch.orchestration import Setup, TrainedRun, build_objective, train_run
from ._validation import as_float_vector, check_dose_grid
from .balance_check import check_balance, warn_if_unbalanced
from .distributed import is_dask
from .entropy import balance_failure_message
from .exceptions import BalanceError, BalanceWarning, ConvergenceWarning

__all__ = ["E2BWeights"]

logger = logging.getLogger(__name__)

#: Points of the default training grid (between the 5th and 95th percentiles of the treatment).
GRID_POINTS = 50


class E2BWeights(BaseWeights):
    r"""End-to-End Balancing weights for a continuous treatment.

    Parameters
    ----------
    moments : int, default=1
        Moments balanced by the entropy-balancing layer (as in
        :class:`~dowhy_e2b.EntropyBalancingWeights`); the learned base weights handle the rest.
    ridge : "auto" or float, default="auto"
        Quadratic penalty on the balancing dual (approximate balance), in training and in the
        final weights. ``"auto"`` picks, from ``RIDGE_GRID`` in
        :mod:`dowhy_e2b._torch.orchestration` (0 to 1), the ridge whose plain entropy-balancing
        weights have the lowest held-out loss: small (tight balance) where overlap is good, larger
        where exact balance would cost more variance than the bias it removes. The final weights
        are never less balanced than plain entropy balancing with this ridge (see Notes).
    base_model : {"tensor", "mlp"}, default="tensor"
        Model of the log base weights: linear in the basis
        :math:`B(a) \otimes [1, x_j, x_j^2, x_j x_k]` (cubic spline of the treatment times the
        standardised covariates, their squares and the products among the covariates most
        associated with the treatment), or an MLP on standardised :math:`(x, a)`. Either starts at
        zero (plain entropy balancing).
    hidden : tuple of int, default=(64, 64)
        Hidden layer widths of the MLP.
    base_knots : int, default=6
        Knots of the treatment spline in the tensor basis.
    function_shares : dict, optional
        Variance shares of the kinds of random functions of the covariates: ``"linear"``,
        ``"quadratic"``, ``"cubic"``, ``"mlp"`` (random tanh units), ``"propensity"`` (splines of
        the estimated propensity index). Default: ``dowhy_e2b._torch.functions.DEFAULT_SHARES``.
    interaction_share : float, default=0.15
        Variance share of the random treatment-covariate interactions
        :math:`\sum_m h_m(x) B_m(a)`.
    n_random_features : int, default=64
        Random tanh units (and half as many random cubic projections) in the function family.
    outcome_share : float, default=0.9
        Variance share, within the random functions of the covariates, of the outcome anchors:
        leave-one-out ridge predictions of the real outcome with the treatment fixed at its
        10th, 50th and 90th percentiles (they need ``y`` in ``fit``; a unit's own outcome never
        enters its own anchor). Without them E2B's error was 1.2-2.7 times larger in the ablation
        study.
    noise : "auto" or float, default="auto"
        Noise-to-signal variance ratio :math:`\rho` of the synthetic outcomes. ``"auto"`` sets it
        from the real outcome passed to ``fit``: :math:`\hat\sigma^2 / (\hat\sigma_a^2 -
        \hat\sigma^2)`, with :math:`\hat\sigma^2` the leave-one-out error of a ridge regression of
        :math:`y` on a spline of :math:`a`, the covariates, their squares and products and their
        interactions with the spline, and :math:`\hat\sigma_a^2` that of a regression on the
        spline of :math:`a` alone (the denominator is the variance the covariates explain beyond
        the treatment). Without an outcome, 0.3.
    loss : {"expected", "sampled"}, default="expected"
        ``"expected"`` minimises the exact expectation of the squared curve error over the
        random-function family (closed form, no Monte-Carlo noise); ``"sampled"`` averages
        ``n_functions`` fresh draws per step, as in the paper.
    n_functions : int, default=64
        Random functions per step for ``loss="sampled"``.
    max_steps : int, default=1000
        Largest number of Adam steps. Early stopping (``patience``) normally ends training
        first; ``stopped_early_`` records whether it did.
    learning_rate : float, default=0.03
        Adam's learning rate, reached after a linear warm-up over the first ``WARMUP_STEPS`` (25)
        steps.
    weight_decay : float, default=1e-5
        Coefficient of :math:`\tfrac12\lVert\theta\rVert^2`.
    patience : int, default=50
        Early stopping: training stops after this many steps without a 0.1% improvement of the
        held-out loss; the learning rate is halved after half of them. The parameters with the
        best held-out loss are kept.
    validation_fraction : float, default=0.0
        Where the held-out loss (early stopping, model selection, ``ridge="auto"``) is measured.
        0: on the training units, with fresh random features and with the anchors refitted on
        other folds (two folds: each unit's validation anchor comes from the ridge fitted on the
        other half), so that weights tailored to the training anchors' estimation noise gain
        nothing there. A share in (0, 0.5]: on that share of held-out units, whose outcomes never
        enter training (their anchors are fitted to their own outcomes). E2B's gain is mostly the
        repair of this sample's imbalances, which does not carry over to other units: in the
        ablation study held-out units stopped training after about 60 steps, with 1.9-2.9 times
        the error on three of four processes.
    cross_fit : int, optional
        Sample splitting: train the base-weight model on all folds but one and apply it to the
        held-out fold, for each of ``cross_fit`` folds; the final balancing uses all rows.
        ``None`` trains and applies on the whole sample.
    outcome_model : estimator with ``design_matrix``, optional
        An outcome stage whose (linear) design the training should make accurate instead of the
        default, fitted on the treatment and evaluated with ``design_matrix(values)`` (intercept
        first), e.g. a :class:`~dowhy_e2b.WeightedDoseResponse`. Default (``None``): E2B's own fixed
        design, a cubic B-spline of the treatment with 5 quantile knots and an intercept
        (:class:`dowhy_e2b._numerics.basis.SplineDesign`), whatever the defaults of the outcome
        stages.
    outcome_stage : {"weighted", "doubly_robust"}, optional
        The outcome stage the weights are trained for. ``"weighted"``: the weighted spline of the
        outcome must recover the synthetic curves. ``"doubly_robust"`` (its augmented form, the default
        ``dr_form``): the weights smooth the residuals of a cross-fitted outcome model (the default
        :class:`~dowhy_e2b.outcome_models.FlexibleOutcomeRegressor`, fitted to ``y``) and the
        training measures that stage's error, g-computation included (see the user guide, "Under
        the doubly robust stage"); it needs ``y`` (without it, ``"weighted"`` is trained).
        ``None`` (default): the stage of the :class:`~dowhy_e2b.AverageDoseResponse` that fits
        this weighter, ``"weighted"`` when used alone.
    dose_grid : int or array-like, optional
        Treatment values where the curve error is measured; ``None`` means 50 points between the
        5th and 95th percentiles.
    max_train_samples : int, default=4000
        Train on a random subsample of at most this many rows (the trained model is then applied
        to all rows); bounds time and memory for large samples.
    warm_start : bool, default=False
        scikit-learn's convention: when ``True``, a later ``fit`` (on new data, e.g. a bootstrap
        resample or a refuter's altered data) starts training from the previous fit's network
        parameters instead of zero, for at most ``max_steps`` steps. Everything that depends on
        the data (basis knots and standardisation, anchors, noise ratio, ridge) is recomputed; the
        basis keeps its squares and products, so that the parameters keep their meaning. If the
        number of covariates changed, training starts from zero. With
        ``set_params(warm_start=True, max_steps=k)`` a refit costs about ``k`` steps.
    device : str, default="cpu"
        Torch device for training, e.g. ``"cuda"``.
    n_threads : int or None, default=1
        Torch intra-op threads and BLAS threads (through threadpoolctl) during ``fit``; the
        previous settings are restored afterwards. ``None`` leaves them alone. The matrices are
        small (at most ``max_train_samples`` rows), and on a busy 2-core machine two threads made
        a fit 4 to 6 times slower than one.
    on_failure : {"warn", "raise"}, default="warn"
        What to do when the final balancing does not converge even for plain entropy balancing
        (see :class:`~dowhy_e2b.EntropyBalancingWeights`).
    random_state : int, RandomState instance or None, default=None
        Seeds every random choice (held-out units, function family, subsample, folds, MLP
        initialisation). The global random generators are not touched.
    verbose : bool, default=False
        Show a progress bar during training.

    Attributes
    ----------
    weights_ : ndarray of shape (n_samples,)
        Balancing weights (mean 1).
    base_weights_ : ndarray of shape (n_samples,)
        The learned base weights :math:`\exp(l_\theta)` (mean 1).
    loss_curve_ : ndarray
        Training loss after each step (step 0 is plain entropy balancing).
    validation_curve_ : ndarray
        Held-out loss after each step.
    best_step_ : int
        Step whose parameters were kept.
    n_steps_ : int
        Steps taken.
    stopped_early_ : bool
        Whether early stopping ended training (``False``: ``max_steps`` was reached).
    noise_ratio_ : float
        The noise-to-signal ratio used.
    ridge_ : float
        The dual ridge of training (chosen when ``ridge="auto"``).
    final_ridge_ : float
        The dual ridge of the final weights: ``ridge_``, or a smaller one where the learned base
        weights needed it to stay as balanced as plain entropy balancing.
    fell_back_ : bool
        Whether the final weights are plain entropy balancing's (with a
        :class:`~dowhy_e2b.BalanceWarning`), because no ridge kept the learned base weights
        balanced.
    converged_ : bool
        Whether the balance target was met: the final balancing converged, its largest
        imbalance is at most that of plain entropy balancing with ``ridge_`` (plus
        ``BALANCE_TOLERANCE``, 1e-4 standard deviations), and the package-wide check
        (``balance_check_``, :mod:`dowhy_e2b.balance_check`) found no weighted correlation above
        its threshold.
    balance_check_ : BalanceCheck
        The package-wide post-fit balance check; a :class:`~dowhy_e2b.BalanceWarning` is emitted
        when it misses a threshold.
    max_imbalance_ : float
        Largest absolute imbalance of the final weights, in standard deviations.
    eb_max_imbalance_ : float
        The same for plain entropy balancing with ``ridge_`` (the target).
    effective_sample_size_ : float
    balance_features_ : tuple of str
        Balancing features kept by the entropy-balancing layer.
    fit_time_ : float
        Seconds spent in ``fit`` (wall clock).

    Notes
    -----
    Training minimises, over :math:`\theta`,

    .. math::

        E_{\tilde y}\Big[\frac1G\sum_{t\in\mathrm{grid}}
            \big(\hat\mu_{w(\theta)}(t; \tilde y) - \tilde\mu(t)\big)^2\Big]
            + \tfrac{\kappa}{2}\lVert\theta\rVert^2,

    with :math:`w(\theta) = n\,\mathrm{softmax}(l_\theta + C\lambda^*(\theta))` the entropy-balancing
    weights for base weights :math:`e^{l_\theta}`, :math:`\hat\mu_w` the weighted spline curve,
    and :math:`\tilde y` random response functions with known curves :math:`\tilde\mu`
    (:mod:`dowhy_e2b._torch.functions`). Gradients pass through :math:`\lambda^*` by implicit
    differentiation (:mod:`dowhy_e2b._torch.balancing`).

    **Balance guarantee.** With a ridge, balance is approximate, and base weights far from uniform
    can leave more imbalance than plain entropy balancing with the same ridge. The final weights
    are therefore solved with the chosen ridge, then, if their largest imbalance exceeds plain
    entropy balancing's, with the largest smaller ridge that keeps it
    (:func:`dowhy_e2b._guarantee.balance_no_worse_than_eb`);
    if none does, the weights fall back to plain entropy balancing's with a
    :class:`~dowhy_e2b.BalanceWarning`.

    Besides the parameters, fixed design constants are named and documented at module level:
    ``BALANCE_TOLERANCE``, ``MIN_RIDGE_FRACTION`` and ``TIGHTENING_STEPS``
    (:mod:`dowhy_e2b._guarantee`);
    ``RIDGE_GRID`` and ``MIN_VALIDATION_UNITS`` (:mod:`dowhy_e2b._torch.orchestration`);
    ``ANCHOR_QUANTILES``, ``DEFAULT_NOISE_RATIO`` and ``NOISE_RATIO_BOUNDS``
    (:mod:`dowhy_e2b._calibration`); ``ALPHAS``, the penalties of the outcome regression
    (:mod:`dowhy_e2b._flexible`); ``PAIR_COVARIATES`` and ``TRAINING_KNOTS``
    (:mod:`dowhy_e2b._numerics.basis`); ``DEFAULT_SHARES``, ``TANH_SCALE``, ``TANH_OFFSET``,
    ``PROPENSITY_KNOTS`` and ``N_INTERACTION_TANH`` (:mod:`dowhy_e2b._torch.functions`);
    ``MIN_IMPROVEMENT``, ``WARMUP_STEPS`` and ``PLATEAU_DECAY`` (:mod:`dowhy_e2b._torch.training`);
    ``VALIDATION_FOLDS`` (:mod:`dowhy_e2b._torch.orchestration`).

    References
    ----------
    .. [1] Bahadori, M. T., Tchetgen Tchetgen, E., Heckerman, D. (2022). End-to-end balancing for
           causal continuous treatment-effect estimation. ICML 2022.

    Examples
    --------
    >>> from dowhy_e2b import E2BWeights
    >>> from dowhy_e2b.datasets import make_nonlinear
    >>> ds = make_nonlinear(n_samples=500, random_state=0)
    >>> e2b = E2BWeights(max_steps=10, random_state=0).fit(ds.X, ds.a, ds.y)
    >>> e2b.weights_.shape, bool(e2b.converged_)
    ((500,), True)
    >>> bool(e2b.validation_curve_[e2b.best_step_] <= e2b.validation_curve_[0])  # no worse than EB
    True
    """

    method_label = "E2B"
    balance_advice = (
        "E2B's weights are at least as balanced as plain entropy balancing with the same ridge: "
        "a smaller ridge (ridge=0.01, or 0 for exact balance) or more moments tighten both."
    )

    def __init__(
        self,
        moments: int = 1,
        ridge: str | float = "auto",
        base_model: str = "tensor",
        hidden: tuple[int, ...] = (64, 64),
        base_knots: int = 6,
        function_shares: dict[str, float] | None = None,
        interaction_share: float = 0.15,
        n_random_features: int = 64,
        outcome_share: float = 0.9,
        noise: str | float = "auto",
        loss: str = "expected",
        n_functions: int = 64,
        max_steps: int = 1000,
        learning_rate: float = 0.03,
        weight_decay: float = 1e-5,
        patience: int = 50,
        validation_fraction: float = 0.0,
        cross_fit: int | None = None,
        outcome_model: Any = None,
        outcome_stage: str | None = None,
        dose_grid: Any = None,
        max_train_samples: int = 4000,
        warm_start: bool = False,
        device: str = "cpu",
        n_threads: int | None = 1,
        on_failure: str = "warn",
        random_state: Any = None,
        verbose: bool = False,
    ):
        self.moments = moments
        self.ridge = ridge
        self.base_model = base_model
        self.hidden = hidden
        self.base_knots = base_knots
        self.function_shares = function_shares
        self.interaction_share = interaction_share
        self.n_random_features = n_random_features
        self.outcome_share = outcome_share
        self.noise = noise
        self.loss = loss
        self.n_functions = n_functions
        self.max_steps = max_steps
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.cross_fit = cross_fit
        self.outcome_model = outcome_model
        self.outcome_stage = outcome_stage
        self.dose_grid = dose_grid
        self.max_train_samples = max_train_samples
        self.warm_start = warm_start
        self.device = device
        self.n_threads = n_threads
        self.on_failure = on_failure
        self.random_state = random_state
        self.verbose = verbose

    # -- parameters ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_scalar(self.moments, "moments", Integral, min_val=1)
        if not (self.ridge == "auto" or (isinstance(self.ridge, Real) and self.ridge >= 0)):
            raise ValueError(f"ridge must be 'auto' or a float >= 0, got {self.ridge!r}.")
        if self.base_model not in ("tensor", "mlp"):
            raise ValueError(f"base_model must be 'tensor' or 'mlp', got {self.base_model!r}.")
        check_scalar(self.base_knots, "base_knots", Integral, min_val=2)
        check_scalar(
            self.interaction_share,
            "interaction_share",
            Real,
            min_val=0.0,
            max_val=1.0,
            include_boundaries="left",
        )
        check_scalar(self.n_random_features, "n_random_features", Integral, min_val=1)
        check_scalar(
            self.outcome_share, "outcome_share", Real, min_val=0.0, max_val=1.0, include_boundaries="both"
        )
        if not (self.noise == "auto" or (isinstance(self.noise, Real) and self.noise >= 0)):
            raise ValueError(f"noise must be 'auto' or a float >= 0, got {self.noise!r}.")
        if self.loss not in ("expected", "sampled"):
            raise ValueError(f"loss must be 'expected' or 'sampled', got {self.loss!r}.")
        check_scalar(self.n_functions, "n_functions", Integral, min_val=1)
        check_scalar(self.max_steps, "max_steps", Integral, min_val=0)
        check_scalar(self.learning_rate, "learning_rate", Real, min_val=0.0, include_boundaries="neither")
        check_scalar(self.weight_decay, "weight_decay", Real, min_val=0.0)
        check_scalar(self.patience, "patience", Integral, min_val=1)
        check_scalar(
            self.validation_fraction,
            "validation_fraction",
            Real,
            min_val=0.0,
            max_val=0.5,
            include_boundaries="both",
        )
        if self.n_threads is not None:
            check_scalar(self.n_threads, "n_threads", Integral, min_val=1)
        if self.cross_fit is not None:
            check_scalar(self.cross_fit, "cross_fit", Integral, min_val=2)
        check_scalar(self.max_train_samples, "max_train_samples", Integral, min_val=50)
        if self.outcome_stage not in (None, "weighted", "doubly_robust"):
            raise ValueError(
                f"outcome_stage must be None, 'weighted' or 'doubly_robust', got {self.outcome_stage!r}."
            )
        if self.on_failure not in ("warn", "raise"):
            raise ValueError(f"on_failure must be 'warn' or 'raise', got {self.on_failure!r}.")

    def _setup(self) -> Setup:
        return Setup(
            moments=int(self.moments),
            ridge=self.ridge,
            base_model=self.base_model,
            hidden=tuple(self.hidden),
            function_shares=self.function_shares,
            interaction_share=float(self.interaction_share),
            n_random_features=int(self.n_random_features),
            outcome_share=float(self.outcome_share),
            noise=self.noise,
            loss=self.loss,
            n_functions=int(self.n_functions),
            max_steps=int(self.max_steps),
            learning_rate=float(self.learning_rate),
            weight_decay=float(self.weight_decay),
            patience=int(self.patience),
            validation_fraction=float(self.validation_fraction),
            verbose=bool(self.verbose),
            outcome_stage=self.outcome_stage or "weighted",
        )

    def _torch_device(self) -> torch.device:
        device = torch.device(self.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was requested but torch finds no CUDA device; use device='cpu'.")
        return device

    # -- fit ---------------------------------------------------------------------------------------
    def fit(self, X: Any, a: Any, y: Any = None, sample_weight: Any = None) -> E2BWeights:
        """Train the base-weight model and compute the balancing weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_covariates)
            Confounders (numeric; one-hot encode categorical ones first).
        a : array-like of shape (n_samples,)
            Continuous treatment.
        y : array-like of shape (n_samples,), optional
            The real outcome. It sets the noise level of the synthetic outcomes
            (``noise="auto"``) and builds the outcome anchors, the random functions fitted to it
            (``outcome_share``), which carry most of E2B's advantage over entropy balancing;
            for ``outcome_stage="doubly_robust"`` it also fits the outcome model whose residuals
            the weights will smooth. Without it, training uses generic random functions only
            (and the weighted stage's objective).
        sample_weight : array-like of shape (n_samples,), optional
            Frequency or survey weights (balance targets are weighted by them).

        Returns
        -------
        self
        """
        start = time.perf_counter()
        self._check_params()
        if is_dask(X):  # train on a sample, balance every row chunk by chunk: dowhy_e2b.distributed
            from .distributed.weights import fit_weights

            return fit_weights(self, X, a, sample_weight, y=y)
        if self.n_threads is None:
            return self._fit(X, a, y, sample_weight, start)
        threads = torch.get_num_threads()
        torch.set_num_threads(int(self.n_threads))
        try:
            with threadpool_limits(limits=int(self.n_threads)):
                return self._fit(X, a, y, sample_weight, start)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, X: Any, a: Any, y: Any, sample_weight: Any, start: float) -> E2BWeights:
        device = self._torch_device()
        previous = self._warm_states()
        X, a, sample_weight = self._validate_inputs(X, a, sample_weight)
        y_arr = None if y is None else as_float_vector(y, "outcome", role="outcome")
        if y_arr is not None and y_arr.shape != a.shape:
            raise ValueError(f"y must have {a.shape[0]} values, got {y_arr.shape[0]}.")
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        rng = np.random.default_rng(seed)
        n = a.shape[0]
        self.basis_ = self._fit_basis(X, a, warm=previous is not None)
        self.design_ = self._fit_design(a)
        self.grid_ = check_dose_grid(GRID_POINTS if self.dose_grid is None else self.dose_grid, a)
        if self.cross_fit is None:
            parts = [(np.arange(n), np.arange(n))]
        else:
            folds = rng.permutation(n) % int(self.cross_fit)
            parts = [
                (np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(int(self.cross_fit))
            ]
        log_base = np.zeros(n)
        self.models_: list[torch.nn.Module] = []
        runs: list[TrainedRun] = []
        self._train_rows: list[np.ndarray] = []
        for k, (fit_rows, apply_rows) in enumerate(parts):
            rows = fit_rows
            if rows.size > self.max_train_samples:
                rows = np.sort(rng.choice(rows, size=int(self.max_train_samples), replace=False))
            sw = None if sample_weight is None else sample_weight[rows]
            run = train_run(
                X[rows],
                a[rows],
                None if y_arr is None else y_arr[rows],
                sw,
                self._setup(),
                features=self._features,
                design=self.design_,
                grid=self.grid_,
                seed=seed + k,
                n_spline=self.basis_.n_spline if isinstance(self.basis_, TensorBasis) else 0,
                device=device,
                init_state=None if previous is None else previous[k],
            )
            self.models_.append(run.model)
            runs.append(run)
            self._train_rows.append(rows)
            log_base[apply_rows] = self._log_base(X[apply_rows], a[apply_rows], [run.model])
        first = runs[0].result
        self._plans = [run.plan for run in runs]
        self.loss_curve_ = np.asarray(first.loss_curve)
        self.validation_curve_ = np.asarray(first.validation_curve)
        self.best_step_ = first.best_step
        self.n_steps_ = first.n_steps
        self.stopped_early_ = first.stopped_early
        self.noise_ratio_ = runs[0].plan.noise_ratio
        self.ridge_ = runs[0].ridge
        self.base_weights_ = np.exp(log_base - log_base.max())
        self.base_weights_ *= n / self.base_weights_.sum()
        self.weights_ = self._final_weights(X, a, sample_weight, log_base)
        target_met = bool(getattr(self, "converged_", False))
        # The package-wide check (largest weighted |corr| of a balanced feature, effective size).
        check = check_balance(self, X, a, method=self.method_label, warn=False)
        self.converged_ = target_met and check.corr_ok
        if not check.corr_ok and self.on_failure == "raise":
            raise BalanceError(check.summary() + " " + self.balance_advice)
        warn_if_unbalanced(check, self.balance_advice, stacklevel=3)
        self.n_samples_fit_ = n
        self.fit_time_ = time.perf_counter() - start
        return self

    def _warm_states(self) -> list[dict[str, Any]] | None:
        """The previous fit's parameters, when warm-starting and the model is the same kind."""
        if not self.warm_start or not hasattr(self, "models_"):
            return None
        n_runs = 1 if self.cross_fit is None else int(self.cross_fit)
        kind = TensorBaseWeights if self.base_model == "tensor" else MLPBaseWeights
        if len(self.models_) != n_runs or not all(isinstance(m, kind) for m in self.models_):
            return None
        return [{k: v.detach().clone() for k, v in m.state_dict().items()} for m in self.models_]

    def _fit_basis(
        self, X: np.ndarray, a: np.ndarray, warm: bool = False
    ) -> TensorBasis | tuple[np.ndarray, np.ndarray]:
        if self.base_model == "tensor":
            previous = getattr(self, "basis_", None)
            like = previous if warm and isinstance(previous, TensorBasis) else None
            return fit_tensor_basis(X, a, n_knots=int(self.base_knots), like=like)
        Xa = np.column_stack([X, a])
        sd = Xa.std(axis=0)
        return Xa.mean(axis=0), np.where(sd > 0, sd, 1.0)

    def _fit_design(self, a: np.ndarray) -> Any:
        if self.outcome_model is None:
            return fit_spline_design(a)
        return clone(self.outcome_model).fit(a, np.zeros_like(a)).design_matrix

    def _features(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        if isinstance(self.basis_, TensorBasis):
            return self.basis_.factors(X, a)
        mean, scale = self.basis_
        return (np.column_stack([X, a]) - mean) / scale

    @torch.no_grad()
    def _log_base(self, X: np.ndarray, a: np.ndarray, models: list[torch.nn.Module]) -> np.ndarray:
        device = next(models[0].parameters()).device
        Phi = torch.as_tensor(self._features(X, a), dtype=torch.float64, device=device)
        out = torch.stack([m(Phi) for m in models]).mean(dim=0)
        return out.cpu().numpy()

    # -- balancing ---------------------------------------------------------------------------------
    def _constraints(
        self, X: np.ndarray, a: np.ndarray, sample_weight: np.ndarray | None
    ) -> tuple[np.ndarray, tuple[str, ...]]:
        features = balance_features(X, a, moments=int(self.moments), target_weights=sample_weight)
        keep = drop_collinear(features.matrix)
        return features.matrix[:, keep], tuple(features.names[i] for i in keep)

    def _final_weights(
        self, X: np.ndarray, a: np.ndarray, sample_weight: np.ndarray | None, log_base: np.ndarray
    ) -> np.ndarray:
        """Balance with the learned base weights; never less balanced than plain entropy balancing."""
        C, names = self._constraints(X, a, sample_weight)
        self.balance_features_ = names
        log_sw = np.zeros(a.shape[0]) if sample_weight is None else np.log(np.maximum(sample_weight, 1e-300))
        final = _guarantee.balance_no_worse_than_eb(C, log_base + log_sw, log_sw, self.ridge_)
        self.final_ridge_ = final.ridge
        self.fell_back_ = final.fell_back
        self.eb_max_imbalance_ = final.eb.max_imbalance
        chosen = final.result
        target = final.eb.max_imbalance + _guarantee.BALANCE_TOLERANCE
        if final.fell_back and final.eb.converged:
            warnings.warn(
                f"E2B's learned base weights could not be balanced as well as plain entropy "
                f"balancing with ridge {self.ridge_:g} (largest imbalance {final.eb.max_imbalance:.3g} "
                f"standard deviations), even with a smaller ridge: the weights returned are plain "
                f"entropy balancing's. Try fewer moments or more data.",
                BalanceWarning,
                stacklevel=4,
            )
        elif final.ridge != self.ridge_:
            logger.info(
                "E2B: final ridge lowered from %g to %g to keep the balance of plain entropy balancing",
                self.ridge_,
                final.ridge,
            )
        self.converged_ = bool(chosen.converged and chosen.max_imbalance <= target)
        self.max_imbalance_ = chosen.max_imbalance
        self.effective_sample_size_ = chosen.effective_sample_size
        if not chosen.converged:
            msg = balance_failure_message(
                "E2B", chosen.max_imbalance, target, chosen.effective_sample_size, a.shape[0]
            )
            if self.on_failure == "raise":
                raise BalanceError(msg)
            warnings.warn(msg, ConvergenceWarning, stacklevel=4)
        return chosen.weights

    def weights_for(self, X: Any, a: Any, sample_weight: Any = None, strict: bool = False) -> np.ndarray:
        """Weights for another sample (e.g. a bootstrap resample) with the trained base-weight model.

        The network is not retrained: its base weights are evaluated on ``(X, a)`` and the
        balancing problem is solved there with ``final_ridge_``, which treats the learned base
        weights as fixed (the Dask bootstrap does this). The in-memory bootstrap of
        :class:`~dowhy_e2b.AverageDoseResponse` retrains instead, cheaply:
        ``set_params(warm_start=True, max_steps=k)`` and ``fit``. With ``strict``, a sample where
        the balance that ``fit`` reached fails raises :class:`~dowhy_e2b.exceptions.BalanceError`
        (as ``on_failure="raise"``).
        """
        check_is_fitted(self, "models_")
        X = np.asarray(X, dtype=float)
        a = np.asarray(a, dtype=float).ravel()
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float).ravel()
        C, _ = self._constraints(X, a, sw)
        log_base = self._log_base(X, a, self.models_)
        if sw is not None:
            log_base = log_base + np.log(np.maximum(sw, 1e-300))
        result = solve_entropy_balance(C, log_base, ridge=self.final_ridge_)
        if not result.converged:
            msg = balance_failure_message(
                "E2B", result.max_imbalance, 1e-6, result.effective_sample_size, a.shape[0]
            )
            if self.on_failure == "raise" or (strict and getattr(self, "converged_", False)):
                raise BalanceError(msg)
            warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        return result.weights

    def loss_components(self, X: Any, a: Any, weights: Any = None) -> dict[str, float]:
        """The trained objective at some weights: squared bias, variance, training and held-out loss.

        Rebuilds exactly the losses of training (the first run's, with ``cross_fit``) on the
        sample ``fit`` saw — its anchors, noise ratio, held-out units and random functions — and
        evaluates them at ``weights`` (this estimator's by default), e.g. to compare E2B's
        weights with plain entropy balancing's. Returns ``{"bias2", "variance", "noise_ratio",
        "loss", "heldout_loss"}`` with ``loss = bias2 + noise_ratio * variance`` on the training
        units and ``heldout_loss`` on the held-out ones.

        Parameters
        ----------
        X, a : array-like
            The covariates and treatment passed to ``fit``.
        weights : array-like of shape (n_samples,), optional
            Weights of all rows of ``(X, a)``.
        """
        check_is_fitted(self, "models_")
        X = np.asarray(X, dtype=float)
        a = np.asarray(a, dtype=float).ravel()
        if a.shape[0] != self.n_samples_fit_:
            raise ValueError(
                f"loss_components needs the sample passed to fit ({self.n_samples_fit_} rows), "
                f"got {a.shape[0]} rows."
            )
        w = self.weights_ if weights is None else np.asarray(weights, dtype=float).ravel()
        rows = self._train_rows[0]
        objective = build_objective(
            X[rows],
            a[rows],
            self._plans[0],
            self._setup(),
            design=self.design_,
            grid=self.grid_,
            device=torch.device("cpu"),
        )
        wt = torch.as_tensor(w[rows], dtype=torch.float64)
        parts = objective.train_loss.components(wt[objective.train_rows])
        parts["loss"] = parts["bias2"] + parts["noise_ratio"] * parts["variance"]
        parts["heldout_loss"] = float(objective.validation(wt))
        return parts
