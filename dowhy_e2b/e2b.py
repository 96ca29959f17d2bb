r"""End-to-End Balancing (E2B): entropy balancing with learned base weights.

Bahadori, Tchetgen Tchetgen & Heckerman (ICML 2022): the log base weights of entropy balancing are
a model :math:`l_\theta(x, a)`, trained end to end so that the weighted dose-response estimator
recovers known curves of random response functions simulated on the real :math:`(x, a)`. Balance
holds exactly for every :math:`\theta`; a constant model gives plain entropy balancing, where
training starts. The trained weights are then applied to the real outcome.

This module is the scikit-learn-style façade; the torch pieces live in :mod:`dowhy_e2b._torch`.
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
from sklearn.linear_model import Ridge
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, check_scalar
from threadpoolctl import threadpool_limits

from ._base import BaseWeights
from ._flexible import FlexibleDesign, ridge_cv
from ._numerics import balance_features, drop_collinear, solve_entropy_balance
from ._numerics.basis import TensorBasis, fit_tensor_basis
from ._torch.functions import build_family
from ._torch.loss import CurveLoss
from ._torch.network import LinearBaseWeights, MLPBaseWeights
from ._torch.training import TrainResult, train_base_weights
from ._validation import as_float_vector, check_dose_grid
from .distributed import is_dask
from .entropy import balance_failure_message
from .exceptions import BalanceError, ConvergenceWarning

__all__ = ["E2BWeights"]

logger = logging.getLogger(__name__)

#: Noise-to-signal ratio of the synthetic outcomes when no outcome is available to calibrate it.
DEFAULT_NOISE_RATIO = 0.3
#: Folds of those fits (cross-fitting: a unit's anchors come from a model that did not see it).
CALIBRATION_FOLDS = 5
#: Treatment quantiles at which the fitted outcome becomes an anchored function of the covariates.
ANCHOR_QUANTILES = (0.1, 0.5, 0.9)


class E2BWeights(BaseWeights):
    r"""End-to-End Balancing weights for a continuous treatment.

    Parameters
    ----------
    moments : int, default=1
        Moments balanced exactly by the entropy-balancing layer (as in
        :class:`~dowhy_e2b.EntropyBalancingWeights`); the learned base weights handle the rest.
    ridge : "auto" or float, default="auto"
        Quadratic penalty on the balancing dual (approximate balance), in training and in the
        final weights. ``"auto"`` picks, from ``RIDGE_GRID`` (0 to 1), the ridge whose plain
        entropy-balancing weights have the lowest loss on the held-out random functions: small
        (tight balance) where overlap is good, larger where exact balance would cost more
        variance than the bias it removes — what keeps E2B from harm under poor overlap.
    base_model : {"tensor", "mlp"}, default="tensor"
        Model of the log base weights: linear in the basis
        :math:`B(a) \otimes [1, x_j, x_j x_k]` (cubic spline of the treatment times covariates and
        their products), or an MLP on standardised :math:`(x, a)`. Either starts at zero (plain
        entropy balancing).
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
        Variance share, within the random functions of the covariates, of functions anchored to
        the data: 5-fold cross-fitted ridge predictions of the real outcome with the treatment
        fixed at its 10th, 50th and 90th percentiles (they need ``y`` in ``fit``; a unit's own
        outcome never enters its own prediction). Without them E2B's error was 1.5-2 times
        larger on DESIGN §7's processes.
    noise : "auto" or float, default="auto"
        Noise-to-signal variance ratio :math:`\rho` of the synthetic outcomes. ``"auto"`` sets it
        from the real outcome passed to ``fit``: :math:`\hat\sigma^2 / (\hat\sigma_a^2 -
        \hat\sigma^2)`, with :math:`\hat\sigma^2` the 5-fold cross-validated error of a ridge regression of
        :math:`y` on a spline of :math:`a`, the covariates, their products and interactions, and
        :math:`\hat\sigma_a^2` that of a regression on the spline of :math:`a` alone (the
        denominator is the variance the covariates explain beyond the treatment). Without an
        outcome, 0.3. (Against the total explained variance :math:`\mathrm{Var}(y) - \hat\sigma^2`
        this was better on all three of DESIGN §7's processes.)
    loss : {"expected", "sampled"}, default="expected"
        ``"expected"`` minimises the exact expectation of the squared curve error over the
        random-function family (closed form, no Monte-Carlo noise); ``"sampled"`` averages
        ``n_functions`` fresh draws per step, as in the paper.
    n_functions : int, default=64
        Random functions per step for ``loss="sampled"``.
    max_steps : int, default=300
        Adam steps.
    learning_rate : float, default=0.01
        Adam's learning rate.
    weight_decay : float, default=1e-5
        Coefficient of :math:`\tfrac12\lVert\theta\rVert^2`.
    patience : int, default=50
        Early stopping: steps without a 0.1% improvement of the loss on a held-out family of
        random functions (fresh random features). The parameters with the best held-out loss
        are kept.
    cross_fit : int, optional
        Sample splitting: train the base-weight model on all folds but one and apply it to the
        held-out fold, for each of ``cross_fit`` folds; the final balancing uses all rows.
        ``None`` trains and applies on the whole sample.
    outcome_model : WeightedDoseResponse, optional
        The outcome stage whose curve the training makes accurate; it should be the one used
        afterwards (:class:`~dowhy_e2b.AverageDoseResponse` passes its own). Default: cubic
        spline, 5 quantile knots.
    dose_grid : int or array-like, optional
        Treatment values where the curve error is measured; ``None`` means 50 points between the
        5th and 95th percentiles (or the grid of the enclosing ``AverageDoseResponse``).
    max_train_samples : int, default=4000
        Train on a random subsample of at most this many rows (the trained model is then applied
        to all rows); bounds time and memory for large samples.
    device : str, default="cpu"
        Torch device for training, e.g. ``"cuda"``.
    n_threads : int or None, default=1
        Torch intra-op threads and BLAS threads (through threadpoolctl) during ``fit``; the
        previous settings are restored afterwards. ``None`` leaves them alone. The matrices are
        small (at most ``max_train_samples`` rows), and on a busy 2-core machine two threads made
        a fit 4 to 6 times slower than one.
    on_failure : {"warn", "raise"}, default="warn"
        What to do when the final balancing does not converge (see
        :class:`~dowhy_e2b.EntropyBalancingWeights`).
    random_state : int, RandomState instance or None, default=None
        Seeds every random choice (function family, subsample, folds, MLP initialisation). The
        global random generators are not touched.
    verbose : bool, default=False
        Show a progress bar during training.

    Attributes
    ----------
    weights_ : ndarray of shape (n_samples,)
        Balancing weights (mean 1).
    base_weights_ : ndarray of shape (n_samples,)
        The learned base weights :math:`\exp(l_\theta)` (mean 1).
    loss_curve_ : ndarray
        Training loss per step (step 0 is plain entropy balancing).
    validation_curve_ : ndarray
        Held-out loss per step.
    best_step_ : int
        Step whose parameters were kept.
    n_steps_ : int
        Steps taken.
    noise_ratio_ : float
        The noise-to-signal ratio used.
    ridge_ : float
        The dual ridge used (chosen when ``ridge="auto"``).
    converged_ : bool
        Whether the final balancing converged.
    max_imbalance_ : float
        Largest absolute imbalance of the final weights, in standard deviations.
    effective_sample_size_ : float
    balance_features_ : tuple of str
        Balancing features kept by the entropy-balancing layer.
    fit_time_ : float
        Seconds spent in ``fit``.

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

    Besides the parameters, a few fixed design constants are named and documented at module
    level: :data:`RIDGE_GRID` (candidates of ``ridge="auto"``), :data:`CALIBRATION_FOLDS` and
    :data:`ANCHOR_QUANTILES` (the outcome fits), ``dowhy_e2b._torch.functions.DEFAULT_SHARES``,
    ``MAX_PAIRS``, ``TANH_SCALE``, ``TANH_OFFSET``, ``PROPENSITY_KNOTS`` and
    ``N_INTERACTION_TANH`` (the random-function family), and
    ``dowhy_e2b._torch.training.MIN_IMPROVEMENT`` (early stopping).

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
        max_steps: int = 300,
        learning_rate: float = 0.01,
        weight_decay: float = 1e-5,
        patience: int = 50,
        cross_fit: int | None = None,
        outcome_model: Any = None,
        dose_grid: Any = None,
        max_train_samples: int = 4000,
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
        self.cross_fit = cross_fit
        self.outcome_model = outcome_model
        self.dose_grid = dose_grid
        self.max_train_samples = max_train_samples
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
        if self.n_threads is not None:
            check_scalar(self.n_threads, "n_threads", Integral, min_val=1)
        if self.cross_fit is not None:
            check_scalar(self.cross_fit, "cross_fit", Integral, min_val=2)
        check_scalar(self.max_train_samples, "max_train_samples", Integral, min_val=50)
        if self.on_failure not in ("warn", "raise"):
            raise ValueError(f"on_failure must be 'warn' or 'raise', got {self.on_failure!r}.")

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
            The real outcome, used only to calibrate the noise of the synthetic outcomes
            (``noise="auto"``).
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
        X, a, sample_weight = self._validate_inputs(X, a, sample_weight)
        y_arr = None if y is None else as_float_vector(y, "outcome", role="outcome")
        if y_arr is not None and y_arr.shape != a.shape:
            raise ValueError(f"y must have {a.shape[0]} values, got {y_arr.shape[0]}.")
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        rng = np.random.default_rng(seed)
        self._calibrate(X, a, y_arr, seed)
        self.ridge_ = 0.0 if self.ridge == "auto" else float(self.ridge)
        self.basis_ = self._fit_basis(X, a)
        n = a.shape[0]
        log_base = np.zeros(n)
        self.models_: list[torch.nn.Module] = []
        results: list[TrainResult] = []
        if self.cross_fit is None:
            model, res = self._train(X, a, sample_weight, self._anchors, rng, device, seed)
            self.models_.append(model)
            results.append(res)
            log_base = self._log_base(X, a, [model])
        else:
            folds = rng.permutation(n) % int(self.cross_fit)
            for k in range(int(self.cross_fit)):
                train = folds != k
                sw = None if sample_weight is None else sample_weight[train]
                anchors = None if self._anchors is None else self._anchors[train]
                model, res = self._train(X[train], a[train], sw, anchors, rng, device, seed + k)
                self.models_.append(model)
                results.append(res)
                log_base[~train] = self._log_base(X[~train], a[~train], [model])
        self.loss_curve_ = np.asarray(results[0].loss_curve)
        self.validation_curve_ = np.asarray(results[0].validation_curve)
        self.best_step_ = results[0].best_step
        self.n_steps_ = results[0].n_steps
        self.base_weights_ = np.exp(log_base - log_base.max())
        self.base_weights_ *= n / self.base_weights_.sum()
        self.weights_ = self._balance(X, a, sample_weight, log_base, record=True)
        self.fit_time_ = time.perf_counter() - start
        return self

    def _fit_basis(self, X: np.ndarray, a: np.ndarray) -> TensorBasis | tuple[np.ndarray, np.ndarray]:
        if self.base_model == "tensor":
            return fit_tensor_basis(X, a, n_knots=int(self.base_knots))
        Xa = np.column_stack([X, a])
        sd = Xa.std(axis=0)
        return Xa.mean(axis=0), np.where(sd > 0, sd, 1.0)

    def _features(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        if isinstance(self.basis_, TensorBasis):
            return self.basis_.transform(X, a)
        mean, scale = self.basis_
        return (np.column_stack([X, a]) - mean) / scale

    def _calibrate(self, X: np.ndarray, a: np.ndarray, y: np.ndarray | None, seed: int) -> None:
        """Set ``noise_ratio_`` and the outcome anchors from 5-fold ridge fits of the outcome.

        A ridge regression of ``y`` on the flexible design (spline of ``a``, covariates, products,
        interactions; penalty chosen by the same folds) gives the noise variance
        :math:`\\hat\\sigma^2` (its cross-validated error) and, with the treatment set to its
        10th, 50th and 90th percentiles, each unit's out-of-fold predictions: functions of x
        anchored to the data in which a unit's own noise never enters its own value. A ridge on
        the spline of ``a`` alone gives :math:`\\hat\\sigma_a^2`.
        """
        self._anchors = None
        if y is None:
            self.noise_ratio_ = DEFAULT_NOISE_RATIO if self.noise == "auto" else float(self.noise)
            logger.info("E2B: no outcome given, noise ratio %.2f", self.noise_ratio_)
            return
        folds = np.random.default_rng(seed).permutation(a.shape[0]) % CALIBRATION_FOLDS
        design = FlexibleDesign().fit(X, a)
        alpha, sigma2 = ridge_cv(design.transform(X, a), y, folds)
        if self.noise == "auto":
            spline = FlexibleDesign(covariates=False).fit(X, a)
            _, sigma2_a = ridge_cv(spline.transform(X, a), y, folds)
            # Signal of the covariates: the variance they explain beyond the treatment.
            signal = max(sigma2_a - sigma2, 1e-3 * float(np.var(y)))
            self.noise_ratio_ = float(np.clip(sigma2 / signal, 1e-3, 1e3))
            logger.info(
                "E2B: noise %.3g, covariate signal %.3g, ratio %.3g", sigma2, signal, self.noise_ratio_
            )
        else:
            self.noise_ratio_ = float(self.noise)
        if self.outcome_share:
            doses = np.quantile(a, ANCHOR_QUANTILES)
            anchors = np.empty((a.shape[0], doses.size))
            for k in range(CALIBRATION_FOLDS):
                train = folds != k
                model = Ridge(alpha=alpha).fit(design.transform(X[train], a[train]), y[train])
                for j, t in enumerate(doses):
                    anchors[~train, j] = model.predict(
                        design.transform(X[~train], np.full(int((~train).sum()), t))
                    )
            self._anchors = anchors

    def _outcome_stage(self) -> Any:
        if self.outcome_model is not None:
            return clone(self.outcome_model)
        from .dose_response import WeightedDoseResponse

        return WeightedDoseResponse(n_knots=5, penalty=0.0)  # the unpenalised training projector

    def _train(
        self,
        X: np.ndarray,
        a: np.ndarray,
        sample_weight: np.ndarray | None,
        anchors: np.ndarray | None,
        rng: np.random.Generator,
        device: torch.device,
        seed: int,
    ) -> tuple[torch.nn.Module, TrainResult]:
        n = a.shape[0]
        if n > self.max_train_samples:
            idx = np.sort(rng.choice(n, size=int(self.max_train_samples), replace=False))
            X, a = X[idx], a[idx]
            sample_weight = None if sample_weight is None else sample_weight[idx]
            anchors = None if anchors is None else anchors[idx]
        outcome = self._outcome_stage().fit(a, np.zeros_like(a))
        grid = check_dose_grid(50 if self.dose_grid is None else self.dose_grid, a)
        B = outcome.design_matrix(a)
        D = outcome.design_matrix(grid)
        features = balance_features(X, a, moments=int(self.moments), target_weights=sample_weight)
        C = features.matrix[:, drop_collinear(features.matrix)]
        family_kwargs: dict[str, Any] = {
            "shares": self.function_shares,
            "interaction_share": float(self.interaction_share),
            "n_random": int(self.n_random_features),
            "anchors": anchors,
            "anchor_share": float(self.outcome_share),
        }
        train_family = build_family(X, a, B, rng, **family_kwargs)
        heldout_family = build_family(X, a, B, rng, **family_kwargs)

        def tensor(v: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(v, dtype=torch.float64, device=device)

        Bt, Dt, Ct = tensor(B), tensor(D), tensor(C)
        train_loss = CurveLoss(Bt, Dt, tensor(train_family.columns), self.noise_ratio_)
        heldout_loss = CurveLoss(Bt, Dt, tensor(heldout_family.columns), self.noise_ratio_)
        Phi = tensor(self._features(X, a))
        log_offset = None if sample_weight is None else tensor(np.log(np.maximum(sample_weight, 1e-300)))

        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            if self.base_model == "tensor":
                model: torch.nn.Module = LinearBaseWeights(Phi.shape[1]).to(device)
            else:
                model = MLPBaseWeights(Phi.shape[1], hidden=tuple(self.hidden)).to(device)
            if self.loss == "expected":

                def loss_fn(w: torch.Tensor, step: int) -> torch.Tensor:
                    return train_loss.expected(w)
            else:
                sample_gen = torch.Generator(device=device).manual_seed(seed)
                Z = train_loss.Z
                noise_sd = float(np.sqrt(self.noise_ratio_))

                def loss_fn(w: torch.Tensor, step: int) -> torch.Tensor:
                    coef = torch.randn(
                        Z.shape[1], int(self.n_functions), generator=sample_gen, dtype=Z.dtype, device=device
                    )
                    noise = torch.randn(
                        Z.shape[0], int(self.n_functions), generator=sample_gen, dtype=Z.dtype, device=device
                    )
                    return train_loss.sampled(w, Z @ coef + noise_sd * noise)

            if self.ridge == "auto":
                self.ridge_ = _choose_ridge(Ct, heldout_loss, log_offset)
            result = train_base_weights(
                model,
                Phi,
                Ct,
                loss_fn,
                heldout_loss.expected,
                ridge=self.ridge_,
                max_steps=int(self.max_steps),
                learning_rate=float(self.learning_rate),
                weight_decay=float(self.weight_decay),
                patience=int(self.patience),
                log_offset=log_offset,
                verbose=bool(self.verbose),
            )
        model.load_state_dict(result.state)
        model.eval()
        return model, result

    @torch.no_grad()
    def _log_base(self, X: np.ndarray, a: np.ndarray, models: list[torch.nn.Module]) -> np.ndarray:
        device = next(models[0].parameters()).device
        Phi = torch.as_tensor(self._features(X, a), dtype=torch.float64, device=device)
        out = torch.stack([m(Phi) for m in models]).mean(dim=0)
        return out.cpu().numpy()

    def _balance(
        self,
        X: np.ndarray,
        a: np.ndarray,
        sample_weight: np.ndarray | None,
        log_base: np.ndarray,
        record: bool,
    ) -> np.ndarray:
        features = balance_features(X, a, moments=int(self.moments), target_weights=sample_weight)
        keep = drop_collinear(features.matrix)
        if sample_weight is not None:
            log_base = log_base + np.log(np.maximum(sample_weight, 1e-300))
        result = solve_entropy_balance(features.matrix[:, keep], log_base, ridge=self.ridge_)
        if record:
            self.converged_ = result.converged
            self.max_imbalance_ = result.max_imbalance
            self.effective_sample_size_ = result.effective_sample_size
            self.balance_features_ = tuple(features.names[i] for i in keep)
        if not result.converged:
            msg = balance_failure_message(
                "E2B", result.max_imbalance, 1e-6, result.effective_sample_size, a.shape[0]
            )
            if self.on_failure == "raise":
                raise BalanceError(msg)
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        return result.weights

    def weights_for(self, X: Any, a: Any, sample_weight: Any = None) -> np.ndarray:
        """Weights for another sample (e.g. a bootstrap resample) with the trained base-weight model.

        The network is not retrained: its base weights are evaluated on ``(X, a)`` and the
        balancing problem is solved there. This makes the bootstrap of
        :class:`~dowhy_e2b.AverageDoseResponse` fast; it treats the learned base weights as fixed.
        """
        check_is_fitted(self, "models_")
        X = np.asarray(X, dtype=float)
        a = np.asarray(a, dtype=float).ravel()
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float).ravel()
        return self._balance(X, a, sw, self._log_base(X, a, self.models_), record=False)

    def loss_components(self, X: Any, a: Any, weights: Any = None) -> dict[str, float]:
        """Expected squared bias and variance of the curve under the held-out random functions.

        Diagnostics for comparing weights on the same sample (e.g. E2B's against plain entropy
        balancing's): ``{"bias2", "variance", "noise_ratio", "loss"}`` with
        ``loss = bias2 + noise_ratio * variance``. Defaults to this estimator's weights.
        """
        check_is_fitted(self, "models_")
        X = np.asarray(X, dtype=float)
        a = np.asarray(a, dtype=float).ravel()
        w = self.weights_for(X, a) if weights is None else np.asarray(weights, dtype=float)
        outcome = self._outcome_stage().fit(a, np.zeros_like(a))
        grid = check_dose_grid(50 if self.dose_grid is None else self.dose_grid, a)
        B, D = outcome.design_matrix(a), outcome.design_matrix(grid)
        rng = np.random.default_rng(0)
        family = build_family(
            X,
            a,
            B,
            rng,
            shares=self.function_shares,
            interaction_share=float(self.interaction_share),
            n_random=int(self.n_random_features),
        )
        B_t, D_t, Z_t = (torch.as_tensor(v, dtype=torch.float64) for v in (B, D, family.columns))
        loss = CurveLoss(B_t, D_t, Z_t, self.noise_ratio_)
        parts = loss.components(torch.as_tensor(w, dtype=torch.float64))
        parts["loss"] = parts["bias2"] + parts["noise_ratio"] * parts["variance"]
        return parts


#: Candidate dual ridges for ``ridge="auto"``.
RIDGE_GRID = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


@torch.no_grad()
def _choose_ridge(C: torch.Tensor, heldout: CurveLoss, log_offset: torch.Tensor | None) -> float:
    """The dual ridge whose plain entropy-balancing weights have the lowest held-out loss."""
    from ._torch.balancing import balance

    log_base = torch.zeros(C.shape[0], dtype=C.dtype, device=C.device)
    if log_offset is not None:
        log_base = log_base + log_offset
    losses = []
    for ridge in RIDGE_GRID:
        w, _, converged = balance(log_base, C, ridge=ridge)
        losses.append(float(heldout.expected(w)) if converged else np.inf)
    return float(RIDGE_GRID[int(np.argmin(losses))])
