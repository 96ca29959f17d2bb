"""Outcome stages compared: accuracy, coverage of the bands, size and power of the flatness test.

For every process, seed and weighting method, the same weights go through four outcome stages:

* ``weighted_5knots``: the weighted cubic spline with 5 quantile knots and no penalty (the stage of
  dowhy-e2b 0.1, the reference of the targets);
* ``weighted``: the weighted penalised spline, penalty by leave-one-out;
* ``dr_augmented``: the doubly robust stage, augmented form (the default);
* ``dr_pseudo_outcome``: the doubly robust stage, pseudo-outcome form (Kennedy et al. 2017).

Every fit runs the bootstrap of the whole pipeline (``--n-bootstrap`` replicates). Metrics: RMSE of
the curve on the benchmark grid, the share of grid points inside the pointwise 95% band, whether
the whole truth lies inside the simultaneous band, and the p-values of the flatness and linearity
tests. The page reports means with Monte-Carlo standard errors over seeds, the targets, and the
command that produced it.

Run: ``python -m benchmarks.stages [--seeds 20] [--first-seed 100] [--n 1000] [--jobs 2]
[--weighters eb1 e2b eb1:max_imbalance=0.01] [--dgps ...] [--stages ...] [--n-bootstrap 200]
[--multipliers poisson|exponential] [--append]``; it writes
``docs/outcome_stages.md``, ``docs/outcome_stages.csv`` and the commands behind them in
``docs/outcome_stages.json`` (``--append`` adds a run to what is there; ``--report-only`` rebuilds
the page from the CSV).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from .dgps import CURVE_DGPS, DEVELOPMENT_DGPS, VALIDATION_DGPS, BenchData, make_bench_data
from .measure import limited_threads, machine_info, package_versions
from .report import _md_table

__all__ = ["STAGES", "main", "merge_rows", "run_stages"]

REPO = Path(__file__).resolve().parents[1]

#: The stages compared: AverageDoseResponse parameters.
STAGES: dict[str, dict[str, Any]] = {
    "weighted_5knots": {"outcome_stage": "weighted", "n_knots": 5, "penalty": 0.0},
    "weighted": {"outcome_stage": "weighted"},
    "dr_augmented": {"outcome_stage": "doubly_robust", "dr_form": "augmented"},
    "dr_pseudo_outcome": {"outcome_stage": "doubly_robust", "dr_form": "pseudo_outcome", "penalty": "gcv"},
}
REFERENCE = "weighted_5knots"
DEFAULT_STAGE = "dr_augmented"
#: Processes whose true curve is flat: there the flatness test's rejections are false positives.
NULL_DGPS = ("null", "confounded_null")


def _data(dgp: str, n: int, seed: int) -> BenchData:
    return make_bench_data(dgp, n, seed)


def _parse_param(text: str) -> tuple[str, Any]:
    """``"name=value"``: the value as an int, a float or else the text."""
    key, _, value = text.partition("=")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def _weighter(name: str, seed: int) -> Any:
    """``eb1``, ``eb2``, ``eb3`` (entropy balancing, moments 1-3) or ``e2b``, with parameters after a
    colon: ``eb1:max_imbalance=0.01,max_iter=500``."""
    from dowhy_e2b import E2BWeights, EntropyBalancingWeights

    base, _, spec = name.partition(":")
    params = dict(_parse_param(p) for p in spec.split(",") if p)
    if base in ("eb1", "eb2", "eb3"):
        return EntropyBalancingWeights(moments=int(base[2:]), **params)
    if base == "e2b":
        return E2BWeights(random_state=seed, **params)
    raise ValueError(
        f"unknown weighter {name!r}; use eb1, eb2, eb3 or e2b, optionally with ':name=value,...'."
    )


def _run_one(
    dgp: str, n: int, seed: int, weighter: str, stage: str, n_bootstrap: int, multipliers: str = "poisson"
) -> dict[str, Any]:
    from dowhy_e2b import AverageDoseResponse

    bench = _data(dgp, n, seed)
    row: dict[str, Any] = {
        "dgp": dgp,
        "n": n,
        "seed": seed,
        "weighter": weighter,
        "stage": stage,
        "multipliers": multipliers,
    }
    with limited_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.process_time()
        try:
            fit = AverageDoseResponse(
                _weighter(weighter, seed),
                dose_grid=bench.grid,
                n_bootstrap=n_bootstrap,
                bootstrap_multipliers=multipliers,
                random_state=seed,
                **STAGES[stage],
            ).fit(bench.X, bench.a, bench.y)
        except Exception as err:  # recorded, not fatal: the page counts failures
            return {**row, "error": f"{type(err).__name__}: {err}"}
        row["cpu_s"] = time.process_time() - start
        curve, truth = fit.curve_, bench.truth
        row.update(
            rmse=float(np.sqrt(np.mean((curve.mean_outcome - truth) ** 2))),
            edf=float(fit.smoother_.edf_),
            n_failed=int(fit.n_bootstrap_failed_),
            relaxed=bool(fit.balance_relaxed_),
            error="",
        )
        if fit.bootstrap_coef_.shape[0] >= 3:
            inside = (curve.ci_lower <= truth) & (truth <= curve.ci_upper)
            row.update(
                coverage=float(inside.mean()),
                coverage_all=float(np.all((curve.band_lower <= truth) & (truth <= curve.band_upper))),
                band_width=float(np.mean(curve.ci_upper - curve.ci_lower)),
                p_flat=fit.test_dose_response("flat").p_value,
                p_linear=fit.test_dose_response("linear").p_value,
            )
    return row


def run_stages(
    dgps: list[str],
    seeds: range,
    n: int,
    weighters: list[str],
    n_bootstrap: int,
    jobs: int,
    out: Path,
    stages: list[str] | None = None,
    multipliers: str = "poisson",
) -> pd.DataFrame:
    """Run every (process, seed, weighter, stage); rows are appended to ``out`` as they finish."""
    stages = list(STAGES) if stages is None else stages
    tasks = [
        (d, n, s, w, st, n_bootstrap, multipliers)
        for d in dgps
        for s in seeds
        for w in weighters
        for st in stages
    ]
    rows: list[dict[str, Any]] = []
    done = Parallel(n_jobs=jobs, return_as="generator_unordered")(delayed(_run_one)(*t) for t in tasks)
    for row in done:
        rows.append(row)
        if len(rows) % 20 == 0 or len(rows) == len(tasks):
            pd.DataFrame(rows).to_csv(out, index=False)
    return pd.DataFrame(rows)


def _cell(v: Any, fmt: str) -> str:
    if not isinstance(v, float):
        return str(v)
    return "—" if np.isnan(v) else fmt.format(v)


def _frame_md(frame: pd.DataFrame, fmt: str = "{}") -> str:
    rows = [[idx, *(_cell(v, fmt) for v in row)] for idx, row in frame.iterrows()]
    return _md_table([frame.index.name or "", *map(str, frame.columns)], rows)


def _mean_se(values: pd.Series) -> str:
    v = values.dropna().to_numpy(dtype=float)
    if v.size == 0:
        return "—"
    se = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan")
    return f"{v.mean():.3f} ± {se:.3f}"


def _multipliers_table(ok: pd.DataFrame) -> list[str]:
    """The default stage's bands under both bootstrap multipliers, on the seeds run with both."""
    lines: list[str] = []
    part = ok[(ok.stage == DEFAULT_STAGE) & ok.n_failed.notna()].assign(
        dropped=lambda f: f.n_failed / f.n_bootstrap
    )
    for weighter, rows in part.groupby("weighter", sort=False):
        kinds = sorted(rows.multipliers.unique())
        if len(kinds) < 2:
            continue
        paired = rows.pivot_table(
            index=["dgp", "seed"],
            columns="multipliers",
            values=["coverage", "coverage_all", "band_width", "dropped"],
            aggfunc="first",
        )
        paired = paired[paired["dropped"].notna().all(axis=1)]  # seeds run with both
        if paired.empty:
            continue
        mean = paired.groupby(level="dgp").mean()
        seeds = paired.groupby(level="dgp").size()
        header = ["process", "seeds"] + [
            f"{m} ({k})" for m in ("pointwise", "whole curve", "width", "dropped") for k in kinds
        ]
        body = [
            [
                dgp,
                str(seeds[dgp]),
                *(
                    _cell(float(mean.loc[dgp, (metric, k)]), "{:.2f}" if metric != "band_width" else "{:.3f}")
                    for metric in ("coverage", "coverage_all", "band_width", "dropped")
                    for k in kinds
                ),
            ]
            for dgp in mean.index
        ]
        lines += [
            f"## Bootstrap multipliers compared: `{weighter}`, `{DEFAULT_STAGE}`",
            "",
            "The same fits (same process, seed and curve) bootstrapped with Poisson(1) counts (the "
            "classical bootstrap: a resample without about 37% of the units) and with Exponential(1) "
            "weights (the Bayesian bootstrap: every unit stays in every replicate). Means over the seeds "
            "run with both: share of grid points inside the pointwise 95% band, share of seeds whose "
            "whole curve lies inside the simultaneous band, the pointwise band's mean width, and the "
            "share of replicates dropped (balance reached on the data but not on the replicate); a "
            "fit with fewer than 3 replicates left has no band and no coverage (—).",
            "",
            _md_table(header, body),
            "",
        ]
    return lines


def _weights_table(ok: pd.DataFrame) -> list[str]:
    """E2B's RMSE relative to the best entropy balancing, per stage and process (when both ran)."""
    eb = [w for w in ok.weighter.unique() if w in ("eb1", "eb2", "eb3")]  # at their defaults
    if "e2b" not in set(ok.weighter) or not eb:
        return []
    # Paired: only the seeds on which E2B and every entropy balancing ran with that stage.
    paired = ok.pivot_table(index=["stage", "dgp", "seed"], columns="weighter", values="rmse").dropna(
        subset=["e2b", *eb]
    )
    mean = paired.groupby(level=["stage", "dgp"]).mean()
    ratio = (mean["e2b"] / mean[eb].min(axis=1)).unstack("stage")
    wins = (
        paired.assign(win=lambda f: f["e2b"] <= f[eb].min(axis=1))
        .groupby(level=["stage", "dgp"])
        .win.mean()
        .unstack("stage")
    )
    ratio = ratio.dropna(how="all").dropna(axis=1, how="all")
    stages = [k for k in STAGES if k in ratio.columns]
    rows = [
        [
            dgp,
            *(
                "—" if np.isnan(ratio.loc[dgp, st]) else f"{ratio.loc[dgp, st]:.3f} ({wins.loc[dgp, st]:.0%})"
                for st in stages
            ),
        ]
        for dgp in ratio.index
    ]
    return [
        "## E2B against the best entropy balancing",
        "",
        f"Mean RMSE of E2B / that of the best of {', '.join(eb)} (per process, the best by mean RMSE), "
        "with the share of seeds on which E2B's RMSE is at most the best entropy balancing's on that seed; "
        "over the seeds on which all of them ran with that stage.",
        "",
        _md_table(["dgp", *stages], rows),
        "",
    ]


def report(results: pd.DataFrame, meta: dict[str, Any]) -> str:
    """The Markdown page."""
    errors = results["error"].map(lambda e: e if isinstance(e, str) else "") if "error" in results else None
    ok = results if errors is None else results[errors == ""]
    lines = [
        "# Outcome stages: accuracy, coverage and tests",
        "",
        "Generated by `benchmarks/stages.py`; every number comes from `outcome_stages.csv` beside this page.",
        "",
        "Commands (each adds its rows; of two fits of the same process, seed, weighter, stage and",
        "bootstrap multipliers the later one is kept, except that a fit without bootstrap does not",
        "replace one with it):",
        "",
        *(f"- `{command}`" for command in meta.get("commands", [])),
        "",
        f"Machine: {meta.get('machine', '')}. Versions: {meta.get('versions', '')}.",
        "",
        "Stages (the same weights in each): "
        + "; ".join(f"`{k}` = `{v}`" for k, v in STAGES.items())
        + f". The default is `{DEFAULT_STAGE}`; `{REFERENCE}` is the 0.1 release's stage.",
        "",
    ]
    for (weighter, multipliers), part in ok.groupby(["weighter", "multipliers"], sort=False):
        stages = [k for k in STAGES if k in set(part.stage)]
        lines += [f"## Weights: `{weighter}`; bootstrap multipliers: {multipliers}", ""]
        for metric, title in (
            ("rmse", "RMSE of the curve (mean ± s.e. over seeds)"),
            ("coverage", "Pointwise 95% band: share of grid points covered (target ≥ 0.90)"),
            (
                "coverage_all",
                "Simultaneous 95% band: share of seeds whose whole curve is covered (target ≥ 0.90)",
            ),
        ):
            if metric not in part or part[metric].isna().all():
                continue
            table = part.pivot_table(index="dgp", columns="stage", values=metric, aggfunc=_mean_se)
            lines += [f"### {title}", "", _frame_md(table[stages]), ""]
        if REFERENCE in stages:
            rmse = part.groupby(["dgp", "stage"]).rmse.mean().unstack()
            ratio = rmse.div(rmse[REFERENCE], axis=0)
            geo = np.exp(np.log(ratio).mean())
            lines += [
                f"### RMSE relative to `{REFERENCE}`",
                "",
                "Target for the default: geometric mean ≤ 0.9, none above 1.1.",
                "",
                _frame_md(ratio[stages], "{:.3f}"),
                "",
                "Geometric mean: " + ", ".join(f"`{k}` {geo[k]:.3f}" for k in stages) + ".",
                "Largest: " + ", ".join(f"`{k}` {ratio[k].max():.3f}" for k in stages) + ".",
                "",
            ]
        if "p_flat" in part and part.p_flat.notna().any():
            # a fit without bootstrap has no test: it counts neither way
            rej = part.assign(reject=(part.p_flat < 0.05).where(part.p_flat.notna())).pivot_table(
                index="dgp", columns="stage", values="reject", aggfunc="mean"
            )
            lines += [
                "### Flatness test: share of seeds rejecting at 5%",
                "",
                f"On the flat processes ({', '.join(NULL_DGPS)}) this is the false-positive rate "
                "(target ≤ 0.10); elsewhere the truth is curved and it is the power.",
                "",
                _frame_md(rej.reindex(columns=stages), "{:.2f}"),
                "",
            ]
        replicates = part.n_bootstrap if "n_bootstrap" in part else pd.Series(0, index=part.index)
        dropped = part[replicates > 0].assign(share=lambda f: f.n_failed.fillna(0) / f.n_bootstrap)
        dropped = dropped[dropped.groupby("dgp").share.transform("max") > 0]  # processes with a drop
        if len(dropped):
            lines += [
                "### Bootstrap replicates dropped (mean share per fit)",
                "",
                "A replicate is dropped where it raises, or where the weights miss the balance that "
                "they reached on the data; with fewer than 3 left the fit has no band (—).",
                "",
                _frame_md(
                    dropped.pivot_table(index="dgp", columns="stage", values="share", aggfunc="mean").reindex(
                        columns=stages
                    ),
                    "{:.2f}",
                ),
                "",
            ]
        relaxed = part[part.relaxed.astype(bool)] if "relaxed" in part else part.iloc[:0]
        if len(relaxed):
            counts = relaxed.groupby(["dgp", "stage"]).size()
            totals = part.groupby(["dgp", "stage"]).size()
            lines += [
                "Exact balance was fragile (lost on more than a tenth of the replicates) and relaxed "
                'to `max_imbalance=0.01` (`fragile_balance="relax"`, the default) in: '
                + ", ".join(f"`{d}` {k} {c}/{totals[d, k]}" for (d, k), c in counts.items())
                + " fits; the numbers above are the relaxed fits'.",
                "",
            ]
        cpu = part.groupby(["stage", replicates.rename("B")]).cpu_s.mean()
        lines += [
            "CPU seconds per fit on one thread, with B bootstrap replicates: "
            + ", ".join(f"`{k}` {v:.1f} (B = {b})" for (k, b), v in cpu.items())
            + ".",
            "",
        ]
    lines += _multipliers_table(ok)
    lines += _weights_table(ok)
    failed = results.iloc[:0] if errors is None else results[errors != ""]
    if len(failed):
        lines += [f"{len(failed)} fits raised: " + "; ".join(sorted(set(errors[errors != ""])))[:2000], ""]
    return "\n".join(lines)


KEYS = ["dgp", "n", "seed", "weighter", "stage", "multipliers"]


def merge_rows(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``old`` and ``new`` rows, one per fit (:data:`KEYS`): the newer run's, since the code may have
    changed, except that a fit without bootstrap replicates does not replace one with them (the
    curve does not depend on the bootstrap; the coverage would be lost)."""
    both = pd.concat([old, new], ignore_index=True)
    both = both.sort_values("n_bootstrap", key=lambda b: b > 0, kind="stable")
    return both.drop_duplicates(KEYS, keep="last").sort_index()


def _read(csv: Path) -> pd.DataFrame:
    """The CSV; rows from before the multipliers were recorded used Poisson ones, and rows from
    before ``fragile_balance`` were never relaxed."""
    frame = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    for column, default in (("multipliers", "poisson"), ("relaxed", False)):
        if column not in frame:
            frame[column] = default
    return frame.fillna({"multipliers": "poisson", "relaxed": False})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages", description=__doc__.splitlines()[0])
    parser.add_argument("--dgps", nargs="+", default=None, help="processes (default: all)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument(
        "--weighters",
        nargs="+",
        default=["eb1"],
        help="eb1, eb2, eb3, e2b, with parameters after a colon: eb1:max_imbalance=0.01",
    )
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=list(STAGES))
    parser.add_argument("--n-bootstrap", type=int, default=200)
    parser.add_argument(
        "--multipliers",
        default="poisson",
        choices=["poisson", "exponential"],
        help="the bootstrap's multipliers (AverageDoseResponse's bootstrap_multipliers)",
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "docs"))
    parser.add_argument(
        "--append",
        action="store_true",
        help="add this run's rows to the CSV already in --out (of two runs of the same fit the later one "
        "stays, unless it has no bootstrap and the earlier one has) and its command to the page's list",
    )
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    dgps = args.dgps or [*DEVELOPMENT_DGPS, *VALIDATION_DGPS, *CURVE_DGPS]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv, meta_path = out / "outcome_stages.csv", out / "outcome_stages.json"
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {"commands": []}
    if not args.report_only:
        partial = out / "outcome_stages.partial.csv"
        new = run_stages(
            dgps,
            range(args.first_seed, args.first_seed + args.seeds),
            args.n,
            args.weighters,
            args.n_bootstrap,
            args.jobs,
            partial,
            args.stages,
            args.multipliers,
        ).assign(n_bootstrap=args.n_bootstrap)
        command = "python -m benchmarks.stages " + shlex.join(sys.argv[1:] if argv is None else argv)
        if args.append and csv.exists():
            new = merge_rows(_read(csv), new)
            meta["commands"].append(command)
        else:
            meta["commands"] = [command]
        new.to_csv(csv, index=False)
        partial.unlink(missing_ok=True)
        info = machine_info()
        meta["machine"] = ", ".join(f"{k} {v}" for k, v in info.items())
        meta["versions"] = ", ".join(f"{k} {v}" for k, v in package_versions().items())
        meta_path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    results = _read(csv)
    (out / "outcome_stages.md").write_text(report(results, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
