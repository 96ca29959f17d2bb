r"""The batched bootstrap: every replicate in the same few passes (see :mod:`.bootstrap`).

Per chunk, the replicates' multipliers (Poisson or Exponential) form a matrix :math:`c`
(rows × replicates) and every statistic is computed for all columns at once:

1. setup: each replicate's rows and weight sum, its balance targets (weighted means of the point
   fit's balancing features), the point fit's dual Hessian, and the replicate-weighted
   g-computation sums;
2. chord steps :math:`\lambda_b \leftarrow \lambda_b - H^{-1} g_b(\lambda_b)` from the point fit's
   :math:`\hat\lambda`, one pass per step for all replicates, until every replicate's imbalance is
   below ``tol / 10`` (a step that does not reduce it is halved);
3. the smoother's sufficient statistics of every replicate's pseudo-outcomes (and the leave-one-out
   sums for ``penalty="loo"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import linalg

from .._numerics.splines import PenalisedProblem, SmootherStats, select_penalty
from ._chunks import LogSumExp
from .bootstrap import multipliers

__all__ = ["batched_replicates"]

#: Passes at most; a replicate still above the tolerance then fails.
MAX_STEPS = 100
#: The replicate duals are solved to ``tol`` times this (the in-memory solver stops at ``tol``).
DUAL_TOL_FACTOR = 0.1
#: Relative residual at which the ridge refits' conjugate gradients stop.
PCG_TOL = 1e-7
#: Chord steps before a replicate still above the tolerance switches to Newton steps.
CHORD_STEPS = 8
#: Rows per block when forming the smoother's Gram matrices of all replicates.
BLOCK_ROWS = 8192


@dataclass(frozen=True)
class _LSEBatch:
    """:class:`~dowhy_e2b.distributed._chunks.LogSumExp` of every replicate (columns); the Hessian
    sums only for the replicates ``asked`` (``H``: (asked, k, k))."""

    m: np.ndarray
    s: np.ndarray
    g: np.ndarray
    asked: np.ndarray
    H: np.ndarray

    @classmethod
    def of(cls, Z: np.ndarray, C: np.ndarray, asked: np.ndarray) -> _LSEBatch:
        m = Z.max(axis=0, initial=-np.inf)
        safe = np.where(np.isfinite(m), m, 0.0)
        E = np.exp(Z - safe)
        H = np.stack([(C * E[:, b, None]).T @ C for b in np.flatnonzero(asked)] or [np.zeros((0, 0))])
        return cls(m, E.sum(axis=0), C.T @ E, asked, H)

    def __add__(self, other: _LSEBatch) -> _LSEBatch:
        m = np.maximum(self.m, other.m)
        safe = np.where(np.isfinite(m), m, 0.0)
        u = np.where(np.isfinite(self.m), np.exp(self.m - safe), 0.0)
        v = np.where(np.isfinite(other.m), np.exp(other.m - safe), 0.0)
        H = self.H
        if self.asked.any():
            H = self.H * u[self.asked][:, None, None] + other.H * v[self.asked][:, None, None]
        return _LSEBatch(m, u * self.s + v * other.s, u * self.g + v * other.g, self.asked, H)

    @property
    def lse(self) -> np.ndarray:
        return self.m + np.log(self.s)


@dataclass(frozen=True)
class _Plan:
    """What every pass needs: the point fit's pieces and the replicates' seeds."""

    seeds: np.ndarray
    spec: Any  # CurveSpec of the point fit
    entropy: dict | None  # fmap, keep, lam, log_base of entropy balancing
    x0: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # point ridge coefficients, (K, p + 1)
    kind: str = "poisson"  # the multipliers: AverageDoseResponse's bootstrap_multipliers

    def folds(self, chunk: tuple, start: int) -> np.ndarray:
        from .._numerics.counters import folds_at
        from ._data import chunk_rows

        return folds_at(self.spec.seed, chunk_rows(chunk, start), len(self.spec.models))

    def designs(self, X: np.ndarray, a: np.ndarray) -> Iterator[np.ndarray]:
        """``[1, standardised features]`` of every fold model at the chunk's rows, one at a time."""
        for model in self.spec.models:
            F = (model._features(X, a) - model.f_mean_) / model.f_scale_
            yield np.column_stack([np.ones(a.size), F])

    def matvec(self, chunk: tuple, start: int, P: np.ndarray) -> np.ndarray:
        """:math:`D_k^\top \\mathrm{diag}(s c_b) D_k p_{kb}` over the rows outside fold ``k``, for every
        model ``k`` and replicate ``b`` (``P``: (K, p + 1, B))."""
        X, a, _, s = chunk[:4]
        c = multipliers(self.seeds, start, a.size, self.kind)
        sc = c if s is None else c * s[:, None]
        folds = self.folds(chunk, start)
        out = np.zeros_like(P)
        for k, D in enumerate(self.designs(X, a)):
            train = folds != k
            out[k] = D[train].T @ ((D[train] @ P[k]) * sc[train])
        return out

    def setup(self, chunk: tuple, start: int) -> dict:
        X, a, _, s = chunk[:4]
        c = multipliers(self.seeds, start, a.size, self.kind)
        sc = c if s is None else c * s[:, None]
        out: dict = {"n": (c > 0).sum(axis=0).astype(float), "sc": sc.sum(axis=0)}
        if self.entropy is not None:
            e = self.entropy
            marg = e["fmap"].marginals(X, a)
            C = e["fmap"](X, a)[:, e["keep"]]
            out["marg"] = marg.T @ sc
            out["point"] = LogSumExp.of(e["log_base"](X, a, s) + C @ e["lam"], C)
        if self.spec.models:
            folds = self.folds(chunk, start)
            K, B = len(self.spec.models), c.shape[1]
            rhs, ax0 = np.zeros((K, self.x0.shape[1], B)), np.zeros((K, self.x0.shape[1], B))
            terms, sizes = [], np.zeros((K, B))
            for k, (model, D) in enumerate(zip(self.spec.models, self.designs(X, a), strict=True)):
                train, test = folds != k, folds == k
                rhs[k] = D[train].T @ (sc[train] * y_of(chunk)[train, None])
                ax0[k] = D[train].T @ (sc[train] * (D[train] @ self.x0[k])[:, None])
                Zx, prods = model._covariate_terms(X[test])
                terms.append(np.hstack([Zx, prods]).T @ sc[test])
                sizes[k] = sc[test].sum(axis=0)
            out.update(rhs=rhs, ax0=ax0, terms=terms, sizes=sizes)
        return out

    def log_p(self, chunk: tuple, start: int, Lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unnormalised log weights of every replicate (rows × replicates) and the features."""
        X, a, _, s = chunk[:4]
        c = multipliers(self.seeds, start, a.size, self.kind)
        with np.errstate(divide="ignore"):
            log_c = np.log(c)
            base = np.zeros(a.size) if s is None else np.log(s)
        if self.entropy is None:
            return base[:, None] + log_c, np.zeros((a.size, 0))
        e = self.entropy
        C = e["fmap"](X, a)[:, e["keep"]]
        return e["log_base"](X, a, s)[:, None] + log_c + C @ Lam, C

    def chord(self, chunk: tuple, start: int, Lam: np.ndarray, asked: np.ndarray | None = None) -> _LSEBatch:
        Z, C = self.log_p(chunk, start, Lam)
        return _LSEBatch.of(Z, C, np.zeros(Z.shape[1], dtype=bool) if asked is None else asked)

    def responses(self, chunk: tuple, start: int, state: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(design, v, smoothing weights)`` of every replicate (rows × replicates for ``v``, weights)."""
        from .dose_response import _design

        X, a, y, s = chunk[:4]
        spec = self.spec
        Z, _ = self.log_p(chunk, start, state["Lam"])
        W = np.exp(Z - state["lse"]) * state["n"]  # weights with mean 1 over each replicate's rows
        c = multipliers(self.seeds, start, a.size, self.kind)
        sc = c if s is None else c * s[:, None]
        design = _design(spec.basis, a)
        if spec.stage == "weighted" or not spec.models:
            return design, np.repeat(y[:, None], c.shape[1], axis=1), W
        folds = self.folds(chunk, start)
        fitted = np.empty_like(W)
        for k, D in enumerate(self.designs(X, a)):
            test = folds == k
            fitted[test] = D[test] @ state["coef"][k]
        resid = y[:, None] - fitted
        mbar = np.column_stack([np.interp(a, spec.doses, state["mbar"][:, b]) for b in range(c.shape[1])])
        if spec.dr_form == "augmented":
            return design, resid + mbar, W
        ratio = np.divide(W, sc, out=np.zeros_like(W), where=sc > 0) * (state["sc"] / state["n"])
        return design, ratio * resid + mbar, sc * (state["n"] / state["sc"])

    def smoother(self, chunk: tuple, start: int, state: dict) -> list:
        design, V, W = self.responses(chunk, start, state)
        q, B = design.shape[1], V.shape[1]
        gram = np.zeros((q * q, B))
        for i in range(0, design.shape[0], BLOCK_ROWS):
            d = design[i : i + BLOCK_ROWS]
            outer = (d[:, :, None] * d[:, None, :]).reshape(d.shape[0], q * q)
            gram += outer.T @ W[i : i + BLOCK_ROWS]
        WV = W * V
        moment, sum_sq, wsum = design.T @ WV, (WV * V).sum(axis=0), W.sum(axis=0)
        return [SmootherStats(gram[:, b].reshape(q, q), moment[:, b], sum_sq[b], wsum[b]) for b in range(B)]

    def loo(self, chunk: tuple, start: int, state: dict, problems: list) -> list:
        design, V, W = self.responses(chunk, start, state)
        groups = PenalisedProblem.dose_groups(design)  # one design for every replicate
        return [
            problem.loo_sums(problem.grid(), design, V[:, b], W[:, b], groups)
            if problem is not None
            else (0.0, 0.0)
            for b, problem in enumerate(problems)
        ]


def batched_replicates(est: Any, data: Any, curve: Any, seeds: np.ndarray) -> list:
    """Curve coefficients of every replicate (or the message of a failed one)."""
    entropy = None
    if curve.weights is not None and curve.weights.kind == "entropy":
        p = curve.weights.params
        entropy = {k: p[k] for k in ("fmap", "keep", "lam", "log_base")}
    x0 = np.zeros((0, 0))
    if curve.spec.models:
        x0 = np.stack([np.concatenate([[m.intercept_], m.coef_]) for m in curve.spec.models])
    plan = _Plan(np.asarray(seeds), curve.spec, entropy, x0, est.bootstrap_multipliers)
    setup = data.run(_call, plan, "setup")
    B = len(seeds)
    n_b, sc = setup["n"], setup["sc"]
    state: dict = {"n": n_b, "sc": sc, "Lam": np.zeros((0, B)), "lse": np.zeros(B)}
    failed: dict[int, str] = {}
    if entropy is not None:
        state["Lam"], state["lse"], failed = _solve_duals(data, plan, setup, est.weighter_)
    elif curve.weights is None or curve.weights.kind == "unit":
        state["lse"] = data.run(_call, plan, "chord", state["Lam"]).lse
    if curve.spec.models:
        state["coef"] = _refit(data, plan, setup, curve)
        state["mbar"] = _gcomp(plan, setup, state["coef"])
    stats = data.run(_call, plan, "smoother", state)
    omega = curve.smoother._penalty_matrix()
    problems = [None if b in failed else PenalisedProblem(stats[b], omega) for b in range(B)]
    loo = None
    if est.penalty == "loo":
        sums = data.run(_call, plan, "loo", state, problems)
        loo = [None if problems[b] is None else sums[b][0] / sums[b][1] for b in range(B)]
    out: list = []
    for b in range(B):
        if b in failed:
            out.append(failed[b])
            continue
        problem = problems[b]
        if problem is None:
            continue
        try:
            fit = select_penalty(problem, est.penalty, loo_scores=None if loo is None else loo[b])
            out.append(fit.coef)
        except (ValueError, np.linalg.LinAlgError) as err:
            out.append(f"{type(err).__name__}: {err}")
    return out


def y_of(chunk: tuple) -> np.ndarray:
    return chunk[2]


def _call(chunk: tuple, start: int, plan: _Plan, method: str, *args: Any) -> Any:
    return getattr(plan, method)(chunk, start, *args)


def _targets(setup: dict, fmap: Any, keep: np.ndarray, names_d: int) -> np.ndarray:
    """Every replicate's balance targets in the point fit's feature coordinates (columns)."""
    means = setup["marg"] / setup["sc"]  # (n_marginal, B)
    tm = fmap.treatment_moments
    if fmap.rms is not None and names_d:
        prods = means[:1] * means[tm:] / np.where(fmap.rms > 1e-12, fmap.rms, 1.0)[:, None]
        means = np.vstack([means, prods])
    return means[keep]


def _solve_duals(data: Any, plan: _Plan, setup: dict, weighter: Any) -> tuple[np.ndarray, np.ndarray, dict]:
    """Every replicate's dual from the point fit's: chord steps with the point fit's Hessian; a
    replicate whose imbalance is still above the tolerance after :data:`CHORD_STEPS` steps switches to
    Newton steps with its own Hessian (computed in the same passes, for it alone); a step that does
    not reduce the imbalance is halved."""
    e = plan.entropy or {}
    point: LogSumExp = setup["point"]
    g = point.g / point.s
    H0 = np.asarray(point.H) / point.s - np.outer(g, g)
    k = H0.shape[0]
    factor = linalg.cho_factor(H0 + 1e-12 * np.trace(H0) / max(k, 1) * np.eye(k))
    T = _targets(setup, e["fmap"], e["keep"], len(data.names))
    B = T.shape[1]
    tol = float(weighter.tol) * DUAL_TOL_FACTOR
    best_lam, best_lse = np.repeat(e["lam"][:, None], B, axis=1), np.zeros(B)
    best_res, best_H = np.full(B, np.inf), np.full((B, k, k), np.nan)
    direction, step = np.zeros((k, B)), np.ones(B)
    newton = np.zeros(B, dtype=bool)
    Lam, asked = best_lam.copy(), np.zeros(B, dtype=bool)
    for it in range(MAX_STEPS):
        batch = data.run(_call, plan, "chord", Lam, asked)
        grad = batch.g / batch.s - T
        res = np.abs(grad).max(axis=0)
        # The same point evaluated again for its Hessian counts as accepted.
        better = (res < best_res) | (asked & (res <= best_res))
        best_res = np.where(better, res, best_res)
        best_lam[:, better], best_lse[better] = Lam[:, better], batch.lse[better]
        for j, b in enumerate(np.flatnonzero(asked)):
            if better[b]:  # the replicate's Hessian at its accepted point
                mean = batch.g[:, b] / batch.s[b]
                best_H[b] = batch.H[j] / batch.s[b] - np.outer(mean, mean)
        if np.all(best_res <= tol):
            break
        newton |= (it + 1 >= CHORD_STEPS) & (best_res > tol)
        step = np.where(better, 1.0, step * 0.5)
        for b in np.flatnonzero(better):
            gb = grad[:, b]
            if newton[b] and np.all(np.isfinite(best_H[b])):
                try:
                    direction[:, b] = -linalg.cho_solve(linalg.cho_factor(best_H[b]), gb)
                except linalg.LinAlgError:
                    direction[:, b] = -linalg.lstsq(best_H[b], gb)[0]
            else:
                direction[:, b] = -linalg.cho_solve(factor, gb)
        # A Newton replicate without its Hessian at the best point first evaluates it there.
        refresh = newton & ~np.all(np.isfinite(best_H.reshape(B, -1)), axis=1)
        Lam = best_lam + step * direction
        Lam[:, refresh] = best_lam[:, refresh]
        asked = newton.copy()
    from ..dose_response import REPLICATE_UNBALANCED

    # Where the data reached balance, the exact replicates' message (in memory and on Dask), so that
    # they count together (and can make the balance fragile: ``fragile_balance``).
    reached = bool(getattr(weighter, "converged_", False))
    failed = {
        b: (
            f"BalanceError: {REPLICATE_UNBALANCED}"
            if reached
            else f"ConvergenceWarning: the replicate's entropy-balancing dual left imbalance "
            f"{best_res[b]:.2g}"
        )
        for b in range(B)
        if not best_res[b] <= max(float(weighter.tol), tol)
    }
    return best_lam, best_lse, failed


def _refit(data: Any, plan: _Plan, setup: dict, curve: Any) -> np.ndarray:
    r"""Every replicate's ridge coefficients of every fold model, on the point fit's features, with
    the point fit's median penalty (as the in-memory replicate refits): preconditioned conjugate
    gradients from the point fit's coefficients, the point fit's matrix :math:`[1, D]^\top W [1, D]
    + \alpha I` as preconditioner; one pass per iteration for all models and replicates."""
    models = list(curve.spec.models)
    alpha = float(np.median([m.alpha_ for m in models]))
    factor = setup["n"] / setup["sc"]  # rescales each replicate's weights to mean 1, as in memory
    K, p1, B = setup["rhs"].shape
    mask = np.ones(p1)
    mask[0] = 0.0
    chol = []
    for st in curve.ridge_stats:
        A = st.cross[:-1, :-1] + alpha * np.diag(mask)
        chol.append(linalg.cho_factor(A))

    def apply(raw: np.ndarray, P: np.ndarray) -> np.ndarray:
        return raw * factor[None, None, :] + alpha * mask[None, :, None] * P

    def precondition(R: np.ndarray) -> np.ndarray:
        return np.stack([linalg.cho_solve(chol[k], R[k]) for k in range(K)])

    X = np.repeat(plan.x0[:, :, None], B, axis=2)
    rhs = setup["rhs"] * factor[None, None, :]
    R = rhs - apply(setup["ax0"], X)
    Z = precondition(R)
    P = Z.copy()
    rz = (R * Z).sum(axis=1)
    scale = np.linalg.norm(rhs, axis=1)
    for _ in range(MAX_STEPS):
        if np.all(np.linalg.norm(R, axis=1) <= PCG_TOL * scale):
            break
        AP = apply(data.run(_call, plan, "matvec", P), P)
        pap = (P * AP).sum(axis=1)
        step = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
        X += step[:, None, :] * P
        R -= step[:, None, :] * AP
        Z = precondition(R)
        rz_new = (R * Z).sum(axis=1)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        P = Z + beta[:, None, :] * P
        rz = rz_new
    return X


def _gcomp(plan: _Plan, setup: dict, coef: np.ndarray) -> np.ndarray:
    """Every replicate's g-computation curve at the doses, (doses, replicates): each fold model's
    predictions averaged over its held-out units, from their weighted mean covariate terms (the
    model is linear in them for every dose)."""
    doses = plan.spec.doses
    total = np.zeros((doses.size, coef.shape[2]))
    for k, model in enumerate(plan.spec.models):
        Ba, Bc = model._dose_terms(doses)
        sizes = setup["sizes"][k]
        mean_terms = setup["terms"][k] / np.where(sizes > 0, sizes, 1.0)
        d = model.x_mean_.size
        for b in range(coef.shape[2]):
            zx = mean_terms[:d, b]
            F = np.hstack(
                [
                    Ba,
                    np.repeat(mean_terms[None, :, b], doses.size, axis=0),
                    (Bc[:, :, None] * zx).reshape(doses.size, -1),
                ]
            )
            pred = coef[k, 0, b] + ((F - model.f_mean_) / model.f_scale_) @ coef[k, 1:, b]
            total[:, b] += sizes[b] * pred
    return total / setup["sizes"].sum(axis=0)
