"""Sensitivity bounds validated on processes with a hidden confounder of known strength.

Two scenarios, both with three observed standard-normal confounders ``x`` and a treatment
``a = x·b + gamma·u + N(0, 1)``, outcome ``y = beta·(sin(a) + 0.5 a) + x·c + delta·u + N(0, 1)``, so
that mu(t) = beta·(sin(t) + 0.5 t):

* ``hidden``: ``u ~ N(0, 1)`` is a confounder the analysis does not see (gamma = 0.3, delta = 1,
  beta = 1). Its strength is measured the way :func:`dowhy_e2b.sensitivity` benchmarks an observed
  confounder: on a large sample (``--n-oracle``), the same pipeline is fitted with and without ``u``;
  ``r2_outcome`` is the share of the residual variance ``u`` explains and ``r2_treatment`` the share of
  the representer's second moment it adds, for each functional of each seed's fit (same basis,
  penalty scaled to the sample size). Each seed then fits the pipeline without ``u`` (with its
  bootstrap) and asks whether the bounds at that strength contain the true curve, derivative-free
  contrast mu(1) - mu(-1) and whole curve: the point bounds (``lower``/``upper``), the pointwise
  confidence bounds (``ci_*``) and the simultaneous ones (``band_*``).
* ``no_hidden``: no hidden confounder (gamma = delta = 0) and effects of several sizes (``beta``);
  the robustness value of the contrast mu(1) - mu(-1) should be large when the effect is large and
  near 0 when there is none.

Run: ``python -m benchmarks.sensitivity [--seeds 200] [--rv-seeds 40] [--n 1000] [--n-bootstrap 100]
[--stages doubly_robust weighted] [--jobs 1]``; it writes ``docs/sensitivity_benchmark.md`` and the
raw ``docs/sensitivity_benchmark*.csv`` (``--report-only`` rebuilds the page from them).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from .measure import limited_threads, machine_info, package_versions
from .report import _md_table

__all__ = ["HiddenConfounder", "coverage_one", "main", "oracle_fits", "robustness_one"]

REPO = Path(__file__).resolve().parents[1]
#: The contrast every seed bounds: mu(T1) - mu(T0).
T1, T0 = 1.0, -1.0


@dataclass(frozen=True)
class HiddenConfounder:
    """The process (see the module docstring); ``u`` is returned apart from the observed data."""

    b: tuple[float, ...] = (0.3, 0.2, 0.0)
    c: tuple[float, ...] = (1.0, 0.5, 0.5)
    gamma: float = 0.3
    delta: float = 1.0
    beta: float = 1.0

    def mu(self, t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return self.beta * (np.sin(t) + 0.5 * t)

    def draw(self, n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n, len(self.b)))
        u = rng.standard_normal(n)
        a = X @ np.asarray(self.b) + self.gamma * u + rng.standard_normal(n)
        y = self.mu(a) + X @ np.asarray(self.c) + self.delta * u + rng.standard_normal(n)
        frame = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(X.shape[1])])
        return frame, u, a, y


def _pipeline(stage: str, n_bootstrap: int, seed: int) -> Any:
    from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights

    return AverageDoseResponse(
        EntropyBalancingWeights(), outcome_stage=stage, n_bootstrap=n_bootstrap, random_state=seed
    )


def oracle_fits(dgp: HiddenConfounder, stage: str, n: int, seed: int) -> dict[str, Any]:
    """The pipeline fitted without and with ``u`` on one large sample (no bootstrap)."""
    X, u, a, y = dgp.draw(n, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        short = _pipeline(stage, 0, seed).fit(X, a, y)
        long = _pipeline(stage, 0, seed).fit(X.assign(u=u), a, y)
    return {"X": X.to_numpy(), "XU": X.assign(u=u).to_numpy(), "a": a, "y": y, "short": short, "long": long}


def _true_strengths(
    oracle: dict[str, Any], smoother: Any, D: np.ndarray, n_seed: int
) -> tuple[float, np.ndarray]:
    """``r2_outcome`` and ``r2_treatment`` (one per row of ``D``) of ``u``, for the functionals of a
    seed's fit: its basis, its penalty scaled to the oracle's sample size."""
    from dowhy_e2b._numerics.sensitivity import second_moment
    from dowhy_e2b.sensitivity import _ingredients

    n_big = oracle["a"].size
    lam = smoother.penalty_ * n_big / n_seed
    short = _ingredients(oracle["short"], oracle["X"], oracle["a"], oracle["y"], D, smoother, lam)
    long = _ingredients(oracle["long"], oracle["XU"], oracle["a"], oracle["y"], D, smoother, lam)
    s2_short, s2_long = float(second_moment(short.residuals)), float(second_moment(long.residuals))
    nu_short, nu_long = second_moment(short.representer), second_moment(long.representer)
    return (s2_short - s2_long) / s2_short, np.clip(1.0 - nu_short / nu_long, 0.0, 1.0 - 1e-9)


def coverage_one(
    dgp: HiddenConfounder, oracle: dict[str, Any], stage: str, n: int, seed: int, n_bootstrap: int
) -> dict[str, Any]:
    """One seed of the ``hidden`` scenario: do the bounds at the true strength contain the truth?"""
    from dowhy_e2b import sensitivity

    X, _, a, y = dgp.draw(n, seed)
    start = time.perf_counter()
    with limited_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adrf = _pipeline(stage, n_bootstrap, seed).fit(X, a, y)
        result = sensitivity(
            adrf, X, a, y, treatment_value=T1, control_value=T0, r2_outcome=[0.0], benchmark_covariates=None
        )
    sm = adrf.smoother_
    grid = result.curve.values
    D = np.vstack([sm.design_matrix(grid), sm.design_matrix([T1]) - sm.design_matrix([T0])])
    r2y, r2d = _true_strengths(oracle, sm, D, n)
    level = result.confidence_level
    curve = result.curve.bounds(r2y, r2d[:-1], result.rho, level, aligned=True)
    contrast = result.contrast.bounds(r2y, r2d[-1:], result.rho, level, aligned=True)
    zero = result.curve.bounds(0.0, np.zeros(grid.size), result.rho, level, aligned=True)
    truth = dgp.mu(grid)
    truth_c = float(dgp.mu(T1) - dgp.mu(T0))

    def inside(b: dict[str, np.ndarray], lo: str, hi: str, target: Any) -> np.ndarray:
        return (b[lo] <= target) & (target <= b[hi])

    row = {
        "stage": stage,
        "seed": seed,
        "r2_outcome": r2y,
        "r2_treatment_contrast": float(r2d[-1]),
        "r2_treatment_min": float(r2d[:-1].min()),
        "r2_treatment_max": float(r2d[:-1].max()),
        "curve_bounds_all": bool(inside(curve, "lower", "upper", truth).all()),
        "curve_bounds_share": float(inside(curve, "lower", "upper", truth).mean()),
        "curve_ci_share": float(inside(curve, "ci_lower", "ci_upper", truth).mean()),
        "curve_ci_all": bool(inside(curve, "ci_lower", "ci_upper", truth).all()),
        "curve_band_all": bool(inside(curve, "band_lower", "band_upper", truth).all()),
        "naive_band_all": bool(inside(zero, "band_lower", "band_upper", truth).all()),
        "naive_ci_share": float(inside(zero, "ci_lower", "ci_upper", truth).mean()),
        "contrast_estimate": float(result.contrast.estimate[0]),
        "contrast_truth": truth_c,
        "contrast_bounds": bool(inside(contrast, "lower", "upper", truth_c)[0]),
        "contrast_ci": bool(inside(contrast, "ci_lower", "ci_upper", truth_c)[0]),
        "naive_contrast_ci": bool(
            inside(
                result.contrast.bounds(0.0, np.zeros(1), 1.0, level, aligned=True),
                "ci_lower",
                "ci_upper",
                truth_c,
            )[0]
        ),
        "contrast_half_width": float((contrast["upper"] - contrast["lower"])[0] / 2),
        "contrast_bias": float(result.contrast.estimate[0] - truth_c),
        "robustness_value": result.robustness_value,
        "seconds": time.perf_counter() - start,
    }
    return row


def robustness_one(beta: float, stage: str, n: int, seed: int, n_bootstrap: int) -> dict[str, Any]:
    """One seed of the ``no_hidden`` scenario: the robustness value of mu(1) - mu(-1)."""
    from dowhy_e2b import sensitivity

    dgp = HiddenConfounder(gamma=0.0, delta=0.0, beta=beta)
    X, _, a, y = dgp.draw(n, seed)
    with limited_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adrf = _pipeline(stage, n_bootstrap, seed).fit(X, a, y)
        result = sensitivity(adrf, X, a, y, treatment_value=T1, control_value=T0, r2_outcome=[0.0])
    top = result.benchmarks.iloc[0]
    return {
        "stage": stage,
        "beta": beta,
        "seed": seed,
        "effect": float(dgp.mu(T1) - dgp.mu(T0)),
        "estimate": float(result.contrast.estimate[0]),
        "robustness_value": result.robustness_value,
        "robustness_value_ci": result.robustness_value_ci,
        "strongest_benchmark": str(top.covariate),
        "benchmark_r2_outcome": float(top.r2_outcome),
        "benchmark_r2_treatment": float(top.r2_treatment),
        "benchmark_excludes_zero": bool(top.ci_lower > 0 or top.ci_upper < 0),
    }


# -- the page -------------------------------------------------------------------------------------
def _table(frame: pd.DataFrame) -> str:
    return _md_table(list(frame.columns), frame.to_numpy().tolist())


def _share(values: pd.Series) -> str:
    p, k = float(values.mean()), values.size
    return f"{p:.3f} ± {np.sqrt(max(p * (1 - p), 1.0 / k) / k):.3f}"


def report(coverage: pd.DataFrame, rv: pd.DataFrame, meta: dict[str, Any]) -> str:
    lines = [
        "# Sensitivity bounds: validation",
        "",
        "How often do the bounds of `dowhy_e2b.sensitivity` contain the truth when the hidden confounder",
        "has exactly the strength they assume, and how large is the robustness value when there is none?",
        "The processes, the way the true strength is measured and the reading of the numbers are in",
        "the [sensitivity guide](user_guide/sensitivity.md); this page is generated by",
        "`benchmarks/sensitivity.py` from the CSV files beside it.",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}; {meta['minutes']:.0f} minutes.",
        "",
        "## A hidden confounder of known strength",
        "",
        "x ∈ R³, a = x·b + 0.3 u + N(0, 1), y = sin(a) + 0.5 a + x·c + u + N(0, 1), u hidden;",
        f"n = {meta['n']}, {meta['n_bootstrap']} bootstrap replicates per fit, entropy balancing (means);",
        f"the true strength of u from the pipeline fitted with and without u on n = {meta['n_oracle']}.",
        "Contrast: μ(1) − μ(−1).",
        "Shares are over seeds (± their Monte-Carlo standard error); a curve is covered when the truth lies",
        "inside at every dose of the grid (50 doses between the 5th and 95th percentiles).",
        "",
    ]
    rows = []
    for stage, part in coverage.groupby("stage", sort=False):
        rows.append(
            {
                "stage": stage,
                "seeds": len(part),
                "r2_outcome": f"{part.r2_outcome.mean():.3f}",
                "r2_treatment (contrast)": f"{part.r2_treatment_contrast.mean():.3f}",
                "r2_treatment (curve, range)": (
                    f"{part.r2_treatment_min.mean():.3f}–{part.r2_treatment_max.mean():.3f}"
                ),
                "contrast: bias of the estimate": f"{part.contrast_bias.mean():.3f}",
                "contrast: half-width of the bounds": f"{part.contrast_half_width.mean():.3f}",
            }
        )
    lines += [_table(pd.DataFrame(rows)), ""]
    rows = []
    for stage, part in coverage.groupby("stage", sort=False):
        rows.append(
            {
                "stage": stage,
                "contrast: bounds": _share(part.contrast_bounds),
                "contrast: confidence bounds": _share(part.contrast_ci),
                "curve: bounds, every dose": _share(part.curve_bounds_all),
                "curve: confidence bounds, share of doses": f"{part.curve_ci_share.mean():.3f}",
                "curve: simultaneous bounds, every dose": _share(part.curve_band_all),
                "ignoring u: contrast CI": _share(part.naive_contrast_ci),
                "ignoring u: simultaneous band": _share(part.naive_band_all),
            }
        )
    lines += [
        "Coverage of the truth at the true strength (ρ = 1):",
        "",
        _table(pd.DataFrame(rows)),
        "",
        "The last two columns are the ordinary confidence interval and simultaneous band (strength 0):",
        "they are built around the biased curve and miss the truth; the sensitivity bounds at the",
        "confounder's strength contain it.",
        "",
        "## No hidden confounder: robustness values",
        "",
        "The same process without u (γ = δ = 0) and y = β·(sin(a) + 0.5 a) + x·c + N(0, 1). Robustness",
        "value of μ(1) − μ(−1) (median and 10th–90th percentiles over seeds), and how often the confidence",
        "bounds of a hidden confounder as strong as the strongest observed one exclude 0.",
        "",
    ]
    rows = []
    for (stage, beta), part in rv.groupby(["stage", "beta"], sort=False):
        q = part.robustness_value.quantile([0.1, 0.5, 0.9]).to_numpy()
        qc = part.robustness_value_ci.quantile([0.1, 0.5, 0.9]).to_numpy()
        rows.append(
            {
                "stage": stage,
                "β": f"{beta:g}",
                "effect μ(1) − μ(−1)": f"{part.effect.iloc[0]:.3f}",
                "seeds": len(part),
                "robustness value": f"{q[1]:.3f} ({q[0]:.3f}–{q[2]:.3f})",
                "robustness value, CI": f"{qc[1]:.3f} ({qc[0]:.3f}–{qc[2]:.3f})",
                "strongest benchmark excludes 0": f"{part.benchmark_excludes_zero.mean():.2f}",
            }
        )
    lines += [_table(pd.DataFrame(rows)), ""]
    lines += [f"Versions: {meta['versions']}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sensitivity", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seeds", type=int, default=200, help="seeds of the hidden-confounder scenario")
    parser.add_argument("--rv-seeds", type=int, default=40, help="seeds per effect size without one")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--n-oracle", type=int, default=20000)
    parser.add_argument("--n-bootstrap", type=int, default=100)
    parser.add_argument("--betas", type=float, nargs="+", default=[0.0, 0.05, 0.1, 0.2, 0.5, 1.0])
    parser.add_argument("--stages", nargs="+", default=["doubly_robust", "weighted"])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "docs"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    cov_path, rv_path = out / "sensitivity_benchmark.csv", out / "sensitivity_benchmark_rv.csv"
    meta_path = out / "sensitivity_benchmark.json"
    if args.report_only:
        coverage, rv = pd.read_csv(cov_path), pd.read_csv(rv_path)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    else:
        start = time.perf_counter()
        dgp = HiddenConfounder()
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        rows: list[dict[str, Any]] = []
        for stage in args.stages:
            oracle = oracle_fits(dgp, stage, args.n_oracle, seed=7)
            rows += Parallel(n_jobs=args.jobs)(
                delayed(coverage_one)(dgp, oracle, stage, args.n, s, args.n_bootstrap) for s in seeds
            )
            print(
                f"hidden, {stage}: {len(seeds)} seeds done ({time.perf_counter() - start:.0f} s)", flush=True
            )
        coverage = pd.DataFrame(rows)
        rv_seeds = range(args.first_seed, args.first_seed + args.rv_seeds)
        rv = pd.DataFrame(
            Parallel(n_jobs=args.jobs)(
                delayed(robustness_one)(beta, stage, args.n, s, args.n_bootstrap)
                for stage in args.stages[:1]
                for beta in args.betas
                for s in rv_seeds
            )
        )
        meta = {
            "command": "python -m benchmarks.sensitivity "
            + shlex.join(argv if argv is not None else sys.argv[1:]),
            "machine": machine_info().get("cpu", "unknown"),
            "minutes": (time.perf_counter() - start) / 60,
            "n": args.n,
            "n_oracle": args.n_oracle,
            "n_bootstrap": args.n_bootstrap,
            "versions": ", ".join(f"{k} {v}" for k, v in package_versions().items()),
        }
        out.mkdir(parents=True, exist_ok=True)
        coverage.to_csv(cov_path, index=False)
        rv.to_csv(rv_path, index=False)
        meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    (out / "sensitivity_benchmark.md").write_text(report(coverage, rv, meta), encoding="utf-8")
    print(f"wrote {out / 'sensitivity_benchmark.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
