"""The benchmark page: Markdown tables, targets and plots, computed from the CSV files only.

:func:`write_report` reads ``benchmarks_results.csv``, ``benchmarks_curves.csv``,
``benchmarks_scaling.csv`` and ``benchmarks_meta.json`` from one folder (whichever exist) and writes
``benchmarks.md`` there, with its PNG plots under ``_static/benchmarks/``. No number on the page is
typed by hand.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .methods import METHODS
from .metrics import METRIC_COLUMNS, TAIL_SHARE

__all__ = ["TARGETS", "aggregate", "console_summary", "target_table", "write_report"]

#: The targets (ARCHITECTURE.md, "Benchmarks and targets"): E2B's RMSE at most this multiple of
#: the reference's. "weighting": the best other
#: weighting method of ours (unweighted, GPS, EB 1–3); "all": the best method with an absolute
#: curve, peers included (poor overlap is a do-no-harm case).
TARGETS: dict[str, tuple[float, str]] = {
    "linear": (0.73, "weighting"),
    "nonlinear": (0.62, "weighting"),
    "poor_overlap": (1.1, "all"),
}
WEIGHTING_REFERENCES = ("unweighted", "gps", "eb1", "eb2", "eb3")
HEADLINE = "e2b"
MIN_SEEDS = 20
STATIC = Path("_static") / "benchmarks"

_GROUP_COLOURS = {"core": "tab:blue", "dowhy": "tab:cyan", "peer": "tab:orange"}


# -- aggregation -----------------------------------------------------------------------------------


def _label(method: str) -> str:
    return METHODS[method].label if method in METHODS else method


def _order(methods: Sequence[str]) -> list[str]:
    known = [m for m in METHODS if m in set(methods)]
    return known + sorted(set(methods) - set(known))


def aggregate(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard error over seeds of every metric, per (dgp, method), successful runs only."""
    metrics = METRIC_COLUMNS
    rows = []
    for (dgp, method), g in results.groupby(["dgp", "method"], sort=False):
        ok = g[g["status"] == "ok"]
        row: dict[str, Any] = {
            "dgp": dgp,
            "method": method,
            "runs": len(g),
            "ok": len(ok),
            "status": _status(g["status"]),
            "error": next((e for e in g["error"].fillna("") if e), ""),
            "contrast_only": bool(g["contrast_only"].iat[0]),
            "mem_method": g["mem_method"].iat[0],
        }
        for m in metrics:
            v = pd.to_numeric(ok[m], errors="coerce").dropna()
            row[m] = float(v.mean()) if len(v) else np.nan
            row[f"{m}_se"] = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else np.nan
            if m == "dowhy_core_max_diff":
                row[m] = float(v.max()) if len(v) else np.nan
        score = ok["rmse_centred"] if row["contrast_only"] else ok["rmse"]
        score = pd.to_numeric(score, errors="coerce").dropna()
        row["worst"] = float(score.max()) if len(score) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _status(statuses: pd.Series) -> str:
    """One word for a method's runs: ok, partial (some failed), error, unavailable."""
    if (statuses == "ok").all():
        return "ok"
    if (statuses == "ok").any():
        return "partial"
    return "error" if (statuses == "error").any() else str(statuses.mode().iat[0])


def _ratio(e: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Ratio of means of paired samples and its delta-method standard error."""
    k = e.shape[0]
    r = float(e.mean() / b.mean())
    if k < 2:
        return r, np.nan
    cov = np.cov(e, b, ddof=1)
    var = (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / (k * b.mean() ** 2)
    return r, float(np.sqrt(max(var, 0.0)))


def _paired(results: pd.DataFrame, dgp: str, a: str, b: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    sub = results[(results["dgp"] == dgp) & (results["status"] == "ok")]
    wide = sub.pivot_table(index="seed", columns="method", values=metric, aggfunc="first")
    if a not in wide or b not in wide:
        return np.array([]), np.array([])
    pair = wide[[a, b]].dropna()
    return pair[a].to_numpy(dtype=float), pair[b].to_numpy(dtype=float)


def _metric_for(results: pd.DataFrame, method: str) -> str:
    rows = results[results["method"] == method]
    return "rmse_centred" if len(rows) and bool(rows["contrast_only"].iat[0]) else "rmse"


def _candidates(results: pd.DataFrame, dgp: str, reference: str) -> list[str]:
    sub = results[(results["dgp"] == dgp)]
    if reference == "weighting":
        names = [m for m in WEIGHTING_REFERENCES if m in set(sub["method"])]
    else:
        names = [
            m
            for m in sub["method"].unique()
            if m in METHODS
            and METHODS[m].group != "dowhy"
            and not METHODS[m].kind == "contrast only"
            and m != HEADLINE
        ]
    # A reference must have succeeded on every seed E2B ran on.
    seeds = set(sub[(sub["method"] == HEADLINE) & (sub["status"] == "ok")]["seed"])
    good = []
    for m in names:
        ok = set(sub[(sub["method"] == m) & (sub["status"] == "ok")]["seed"])
        if seeds and seeds <= ok:
            good.append(m)
    return good


def target_table(results: pd.DataFrame) -> pd.DataFrame:
    """E2B's RMSE ratio against the best reference per DGP, with its standard error and verdict."""
    rows = []
    for dgp, (target, reference) in TARGETS.items():
        if dgp not in set(results["dgp"]):
            continue
        row: dict[str, Any] = {"dgp": dgp, "target": target, "reference": reference}
        names = _candidates(results, dgp, reference)
        e2b_ok = results[
            (results["dgp"] == dgp) & (results["method"] == HEADLINE) & (results["status"] == "ok")
        ]
        if not names or e2b_ok.empty:
            row.update(verdict="not measured", best="", ratio=np.nan, ratio_se=np.nan)
            rows.append(row)
            continue
        means = {m: _paired(results, dgp, HEADLINE, m, "rmse")[1].mean() for m in names}
        best = min(means, key=lambda m: means[m])
        e, b = _paired(results, dgp, HEADLINE, best, "rmse")
        r, se = _ratio(e, b)
        row.update(
            best=best,
            best_rmse=float(b.mean()),
            e2b_rmse=float(e.mean()),
            ratio=r,
            ratio_se=se,
            seeds=len(e),
            wins=int(np.sum(e < b)),
            verdict="met" if r <= target else "not met",
        )
        rows.append(row)
    return pd.DataFrame(rows)


# -- formatting -------------------------------------------------------------------------------------


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    v = float(v)
    if v != 0 and (abs(v) >= 10**5 or abs(v) < 10 ** -(digits - 1)):
        return f"{v:.2g}"
    return f"{v:.{digits}f}"


def _pm(mean: float, se: float, digits: int = 3) -> str:
    if not np.isfinite(mean):
        return "—"
    if not np.isfinite(se):
        return _fmt(mean, digits)
    return f"{_fmt(mean, digits)} ± {_fmt(se, digits)}"


def _count(v: float) -> str:
    return f"{v:,.0f}" if np.isfinite(v) else "—"


def _time(v: float) -> str:
    if not np.isfinite(v):
        return "—"
    if v < 0.01:
        return f"{v * 1000:.1f} ms"
    return f"{v:.2f} s" if v < 100 else f"{v:.0f} s"


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(x: Any) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# -- plots -----------------------------------------------------------------------------------------


def _plot_rmse(agg: pd.DataFrame, dgps: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    ncols = min(2, len(dgps))
    nrows = int(np.ceil(len(dgps) / ncols))
    methods = _order(agg["method"].unique())
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(6.2 * ncols, 0.32 * len(methods) * nrows + 1.6), squeeze=False
    )
    for ax, dgp in zip(axes.ravel(), dgps, strict=False):
        sub = agg[agg["dgp"] == dgp].set_index("method")
        ys = np.arange(len(methods))[::-1]
        for y, m in zip(ys, methods, strict=True):
            if m not in sub.index:
                continue
            r = sub.loc[m]
            colour = (
                "tab:red"
                if m == HEADLINE
                else _GROUP_COLOURS.get(METHODS[m].group if m in METHODS else "", "k")
            )
            if np.isfinite(r["rmse"]):
                ax.errorbar(r["rmse"], y, xerr=r["rmse_se"] if np.isfinite(r["rmse_se"]) else None,
                            fmt="o", color=colour, capsize=2, ms=5)  # fmt: skip
            if np.isfinite(r["rmse_centred"]):
                ax.plot(r["rmse_centred"], y, marker="o", mfc="none", color=colour, ms=7, ls="none")
            if r["ok"] == 0:
                ax.text(0.0, y, f"  {r['status']}", va="center", fontsize=8, color="grey",
                        transform=ax.get_yaxis_transform())  # fmt: skip
        ax.set_yticks(ys)
        ax.set_yticklabels([_label(m) for m in methods], fontsize=8)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0)))
        ax.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_title(dgp)
        ax.grid(axis="x", alpha=0.3, which="both")
        ax.set_xlabel("RMSE over the grid (log scale)")
    for ax in axes.ravel()[len(dgps) :]:
        ax.axis("off")
    handles = [
        Line2D([], [], marker="o", ls="none", color="tab:red", label="E2B"),
        Line2D([], [], marker="o", ls="none", color=_GROUP_COLOURS["core"], label="ours, core API"),
        Line2D([], [], marker="o", ls="none", color=_GROUP_COLOURS["dowhy"], label="ours, through DoWhy"),
        Line2D([], [], marker="o", ls="none", color=_GROUP_COLOURS["peer"], label="peers"),
        Line2D([], [], marker="o", ls="none", color="k", label="RMSE (mean ± s.e.)"),
        Line2D([], [], marker="o", mfc="none", ls="none", color="k", label="centred RMSE"),
    ]
    fig.legend(handles=handles, loc="upper center", ncol=6, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_curves(curves: pd.DataFrame, agg: pd.DataFrame, dgps: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seed = int(curves["seed"].min())
    fig, axes = plt.subplots(2, len(dgps), figsize=(4.0 * len(dgps) + 2.5, 7.0), squeeze=False)
    for j, dgp in enumerate(dgps):
        sub = curves[(curves["dgp"] == dgp) & (curves["seed"] == seed)]
        truth = sub[sub["method"] == "truth"]
        if truth.empty:
            continue
        level = truth["estimate"].mean()
        eb = agg[(agg["dgp"] == dgp) & agg["method"].isin(["eb1", "eb2", "eb3"])].dropna(subset=["rmse"])
        best_eb = eb.loc[eb["rmse"].idxmin(), "method"] if len(eb) else "eb1"
        rows = {
            0: [
                ("unweighted", "tab:gray"),
                ("gps", "tab:green"),
                (best_eb, "tab:blue"),
                (HEADLINE, "tab:red"),
            ],
            1: [
                ("ebal", "tab:purple"),
                ("causal_curve_gps", "tab:olive"),
                ("dowhy_linear_regression", "tab:brown"),
                ("dowhy_gcm", "tab:pink"),
                ("econml_dml", "tab:cyan"),
                (HEADLINE, "tab:red"),
            ],
        }
        for i, entries in rows.items():
            ax = axes[i, j]
            ax.plot(truth["treatment"], truth["estimate"], "k--", lw=2, label="truth")
            shown = [truth["estimate"].to_numpy(dtype=float)]
            for m, colour in entries:
                c = sub[sub["method"] == m]
                if c.empty:
                    continue
                est = c["estimate"].to_numpy(dtype=float)
                label = "EB (lowest mean RMSE of moments 1–3)" if m == best_eb and i == 0 else _label(m)
                if m in METHODS and METHODS[m].kind == "contrast only":
                    est = est - est.mean() + level
                    label += " (centred, shifted)"
                ax.plot(c["treatment"], est, color=colour, lw=1.5, label=label)
                shown.append(est)
                if m == HEADLINE and i == 0 and c["ci_lower"].notna().all():
                    ax.fill_between(c["treatment"], c["ci_lower"], c["ci_upper"], color=colour, alpha=0.15,
                                    label="E2B bootstrap band")  # fmt: skip
            # Scale to the curves, not to a wide band.
            lo, hi = float(np.min([v.min() for v in shown])), float(np.max([v.max() for v in shown]))
            pad = 0.15 * (hi - lo if hi > lo else 1.0)
            ax.set_ylim(lo - pad, hi + pad)
            what = f": ours (EB: moments {best_eb[2:]})" if i == 0 else ": peers"
            ax.set_title(f"{dgp} (seed {seed}){what}", fontsize=10)
            ax.set_xlabel("treatment a")
            if j == 0:
                ax.set_ylabel("μ(a)")
            ax.grid(alpha=0.3)
    # One legend per row, outside the panels: the union of the curves drawn in that row.
    for i in range(axes.shape[0]):
        labelled: dict[str, Any] = {}
        for ax in axes[i]:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                labelled.setdefault(label, handle)
        axes[i, -1].legend(
            labelled.values(), labelled.keys(), fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5)
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _plot_scaling(scaling: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = scaling[scaling["status"] == "ok"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"eb1": "tab:blue", "eb2": "tab:cyan", "eb3": "tab:green", "e2b": "tab:red"}
    for m, g in ok.groupby("method", sort=False):
        g = g.sort_values("n")
        axes[0].plot(g["n"], g["fit_time_s"], "o-", color=colours.get(m), label=_label(m))
        axes[1].plot(g["n"], g["peak_mem_mb"].clip(lower=0.1), "o-", color=colours.get(m), label=_label(m))
    for ax, ylabel in zip(axes, ("fit time (s)", "peak memory above start (MiB)"), strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n (rows)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    axes[0].set_title("Fit time of the weights")
    axes[1].set_title("Peak resident memory of the fit")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- the page --------------------------------------------------------------------------------------


def _read(
    folder: Path,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None, dict[str, Any]]:
    def csv(name: str) -> pd.DataFrame | None:
        p = folder / name
        return pd.read_csv(p, keep_default_na=True) if p.exists() and p.stat().st_size > 1 else None

    meta_path = folder / "benchmarks_meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    results = csv("benchmarks_results.csv")
    scaling = csv("benchmarks_scaling.csv")
    for frame, cols in ((results, ("error", "warnings", "note")), (scaling, ("error", "warnings"))):
        if frame is not None:
            for col in cols:
                if col in frame:
                    frame[col] = frame[col].astype(object).fillna("").astype(str)
    return results, csv("benchmarks_curves.csv"), scaling, meta


def _machine_lines(meta: dict[str, Any]) -> list[str]:
    m = meta.get("machine", {})
    load = m.get("load_average_at_start") or []
    threads = meta.get("threads")
    limit = f"{threads} per fit" if threads else "library defaults"
    return [
        f"- Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} logical cores available, "
        f"{m.get('memory_gib', '?')} GiB memory; {m.get('os', '?')}; Python {m.get('python', '?')}"
        + (f"; load average at start {', '.join(str(v) for v in load)}" if load else ""),
        f"- Threads (BLAS and torch): {limit} (torch's default here: {m.get('torch_threads', '?')})",
    ]


def _versions_line(meta: dict[str, Any]) -> str:
    v = meta.get("versions", {})
    return "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items())


def _targets_section(results: pd.DataFrame) -> list[str]:
    tt = target_table(results)
    out = ["## Targets", ""]
    if tt.empty:
        return [*out, "No data-generating process with a target was run.", ""]
    out += [
        "E2B's mean RMSE divided by that of the best reference method (lowest mean RMSE over the same "
        "seeds). References: on `linear` and `nonlinear`, the other weighting methods of this package "
        "(unweighted, GPS, EB with 1, 2, 3 moments); on `poor_overlap` (do no harm), every method with "
        "an absolute curve, peers and unweighted included. Standard error of the ratio of means by the "
        "delta method over paired seeds.",
        "",
    ]
    rows = []
    for r in tt.itertuples():
        if r.verdict == "not measured":
            rows.append([r.dgp, f"≤ {r.target:g}", "—", "—", "—", "—", "—", "not measured"])
            continue
        verdict = "**met**" if r.verdict == "met" else "**not met**"
        rows.append(
            [
                r.dgp,
                f"≤ {r.target:g}",
                _label(r.best),
                _fmt(r.best_rmse),
                _fmt(r.e2b_rmse),
                _pm(r.ratio, r.ratio_se),
                f"{r.wins} / {r.seeds}",
                verdict,
            ]
        )
    out.append(
        _md_table(
            [
                "DGP",
                "target ratio",
                "best reference",
                "its RMSE",
                "E2B RMSE",
                "ratio ± s.e.",
                "E2B better on",
                "target",
            ],
            rows,
        )
    )
    out.append("")
    for r in tt.itertuples():
        if r.verdict == "not measured":
            out.append(f"- `{r.dgp}`: not measured (E2B or every reference failed, or was not run).")
        elif r.verdict == "met":
            out.append(
                f"- `{r.dgp}`: target met — E2B's RMSE is {_pm(r.ratio, r.ratio_se)} times that "
                f"of {_label(r.best)} (target ≤ {r.target:g})."
            )
        else:
            out.append(
                f"- `{r.dgp}`: **target not met** — E2B's RMSE is {_pm(r.ratio, r.ratio_se)} "
                f"times that of {_label(r.best)}, against a target of ≤ {r.target:g}."
            )
    out.append("")
    return out


def _position_section(results: pd.DataFrame, dgps: list[str]) -> list[str]:
    out = [
        "## E2B against every method",
        "",
        "Ratio of E2B's mean RMSE to each method's, paired over the seeds where both ran (< 1: E2B is "
        "better), and on how many seeds E2B's error was the smaller. Contrast-only methods are compared "
        "on centred curves (both sides centred). The DoWhy-path twins are compared in the next section.",
        "",
    ]
    methods = [
        m
        for m in _order(results["method"].unique())
        if m != HEADLINE and not (m in METHODS and METHODS[m].group == "dowhy" and m != "dowhy:e2b")
    ]
    rows = []
    for m in methods:
        metric = _metric_for(results, m)
        cells = [_label(m) + (" (centred)" if metric == "rmse_centred" else "")]
        for dgp in dgps:
            e, b = _paired(results, dgp, HEADLINE, m, metric)
            if len(e) == 0:
                cells.append("—")
            else:
                r, se = _ratio(e, b)
                cells.append(f"{_pm(r, se, 2)} ({int(np.sum(e < b))}/{len(e)})")
        rows.append(cells)
    out.append(_md_table(["method", *[f"{d} (E2B better on)" for d in dgps]], rows))
    out.append("")
    return out


def _results_section(agg: pd.DataFrame, dgps: list[str], meta: dict[str, Any]) -> list[str]:
    out = ["## Results per data-generating process", ""]
    tail_pct = round(100 * TAIL_SHARE)
    for dgp in dgps:
        sub = agg[agg["dgp"] == dgp].set_index("method")
        out += [f"### `{dgp}`", ""]
        rows = []
        for m in _order(sub.index):
            r = sub.loc[m]
            if r["ok"] == 0:
                rows.append([_label(m), r["status"], *(["—"] * 10), f"0/{r['runs']}"])
                continue
            cov = "—"
            if np.isfinite(r["coverage"]):
                cov = f"{_fmt(r['coverage'], 2)} / {_fmt(r['coverage_all'], 2)}"
            rows.append(
                [
                    _label(m),
                    "—" if r["contrast_only"] else _pm(r["rmse"], r["rmse_se"]),
                    _pm(r["rmse_centred"], r["rmse_centred_se"]),
                    _pm(r["rmse_tails"], r["rmse_tails_se"]),
                    _fmt(r["worst"]),
                    _count(r["ess"]),
                    _fmt(r["max_abs_corr"]),
                    cov,
                    _time(r["fit_time_s"]),
                    _time(r["boot_time_s"]),
                    f"{_fmt(r['peak_mem_mb'], 1)} ({r['mem_method']})",
                    f"{r['ok']}/{r['runs']}",
                ]
            )
        out.append(
            _md_table(
                [
                    "method",
                    "RMSE",
                    "centred RMSE",
                    f"tails RMSE (outer {tail_pct}%)",
                    "worst seed",
                    "ESS",
                    "max |w-corr(a, x)|",
                    "coverage (pointwise / whole)",
                    "fit time",
                    "bootstrap time",
                    "peak MiB",
                    "ok runs",
                ],
                rows,
            )
        )
        out.append("")
    return out


def _dowhy_section(agg: pd.DataFrame, dgps: list[str]) -> list[str]:
    sub = agg[agg["method"].map(lambda m: m in METHODS and METHODS[m].twin is not None)]
    if sub.empty:
        return []
    out = [
        "## DoWhy path against the core path",
        "",
        "Largest absolute difference, over seeds and grid points, between the curve a DoWhy user gets "
        "(`CausalModel.estimate_effect`) and the same estimator called through the core API with the "
        "same seed and grid.",
        "",
    ]
    rows = []
    for m in _order(sub["method"].unique()):
        cells = [_label(m), _label(METHODS[m].twin or "")]
        for dgp in dgps:
            r = sub[(sub["method"] == m) & (sub["dgp"] == dgp)]
            cells.append(_fmt(r["dowhy_core_max_diff"].iat[0]) if len(r) else "—")
        rows.append(cells)
    out.append(_md_table(["DoWhy method", "core twin", *dgps], rows))
    e2b = sub[sub["method"] == "dowhy:e2b"]["dowhy_core_max_diff"]
    if len(e2b) and np.nanmax(e2b.to_numpy(dtype=float), initial=0.0) > 1e-6:
        out += [
            "",
            "E2B through DoWhy does not reproduce the core call exactly: DoWhy hands the estimator the "
            "confounders in the order of its adjustment set, which follows Python's string hashing and so "
            "changes from process to process, and E2B's random-function draws depend on the column order "
            "(entropy balancing, GPS and unweighted do not). Both are valid E2B fits with the same seed.",
        ]
    out.append("")
    return out


def _peers_section(results: pd.DataFrame, meta: dict[str, Any]) -> list[str]:
    notes = meta.get("benchmark", {}).get("method_notes", {})
    out = [
        "## Methods and peers",
        "",
        "Every method runs in the same wrapper (`benchmarks/methods.py`): it returns the curve on the grid "
        "(a centred curve for contrast-only methods), its wall time and peak memory, and records any "
        "exception's text instead of stopping the run.",
        "",
    ]
    rows = []
    for m in _order(results["method"].unique()):
        g = results[results["method"] == m]
        spec = METHODS.get(m)
        n_ok = int((g["status"] == "ok").sum())
        n_err = int((g["status"] == "error").sum())
        n_skip = int((g["status"] == "skipped").sum())
        if (g["status"] == "unavailable").all():
            status = f"unavailable: {g['error'].iat[0]}"
        elif n_ok == len(g):
            status = "works"
        else:
            errors = g[g["status"] == "error"]["error"]
            first = errors.iat[0] if len(errors) else ""
            status = (
                f"**fails** on {n_err} of {len(g)} runs" if n_ok else f"**fails** on all {n_err} runs tried"
            )
            status += f": `{first}`"
            if n_skip:
                status += f"; not run on {n_skip} more after failing on the first seeds of a process"
        if spec is not None and spec.workaround and not (g["status"] == "unavailable").all():
            probe = notes.get(m, "")
            status += f"; workaround: {spec.workaround}" + (
                f" (`{probe}`)" if probe else " (no longer needed?)"
            )
        rows.append(
            [
                _label(m),
                spec.group if spec else "?",
                spec.kind if spec else "?",
                spec.description if spec else "",
                spec.memory if spec else "",
                status,
            ]
        )
    out.append(_md_table(["method", "group", "kind", "how it is called", "memory", "status"], rows))
    out.append("")
    return out


def _warnings_section(results: pd.DataFrame) -> list[str]:
    w = results[results["warnings"] != ""]
    notes = results[results["note"] != ""]
    if w.empty and notes.empty:
        return []
    out = ["## Warnings and notes recorded", ""]
    rows = []
    for (dgp, m), g in pd.concat([w, notes]).drop_duplicates().groupby(["dgp", "method"], sort=False):
        texts = sorted(
            set(" | ".join(filter(None, [a, b])) for a, b in zip(g["warnings"], g["note"], strict=True))
        )
        rows.append([dgp, _label(m), f"{g['seed'].nunique()}", texts[0][:300]])
    out.append(_md_table(["DGP", "method", "seeds", "example"], rows))
    out.append("")
    return out


def _scaling_section(scaling: pd.DataFrame, meta: dict[str, Any], folder: Path) -> list[str]:
    sm = meta.get("scaling", {})
    out = [
        "## Scaling",
        "",
        "Fit time of the weights (`fit(X, a, y)` only) and peak resident memory above the level before "
        "the fit, on the `nonlinear` process; each (method, n) in a fresh process after a small warm-up "
        "fit; median of 3 fits below n = 20,000, one fit above. E2B trains on a subsample of at most "
        "`max_train_samples` rows (its default) and balances all rows.",
        "",
    ]
    if sm:
        wall = _fmt(sm.get("wall_time_s", np.nan), 0)
        out += [
            f"Command: `{sm.get('command', '?')}` (run {sm.get('started_utc', '?')}, {wall} s wall time, "
            f"revision {sm.get('git_revision', '?')}).",
            "",
        ]
    _plot_scaling(scaling, folder / STATIC / "scaling.png")
    out += [f"![Scaling of fit time and memory]({(STATIC / 'scaling.png').as_posix()})", ""]
    rows = []
    for r in scaling.itertuples():
        if r.status != "ok":
            rows.append([_label(r.method), f"{r.n:,}", "—", "—", "—", f"error: {r.error}"])
        else:
            rows.append(
                [
                    _label(r.method),
                    f"{r.n:,}",
                    _time(r.fit_time_s),
                    _fmt(r.peak_mem_mb, 1),
                    _count(r.ess),
                    ("converged" if r.converged else "not converged")
                    + (f"; {r.warnings}" if r.warnings else ""),
                ]
            )
    out.append(_md_table(["method", "n", "fit time", "peak MiB", "ESS", "notes"], rows))
    out.append("")
    return out


def write_report(folder: Path) -> Path:
    """Write ``benchmarks.md`` and its plots in ``folder`` from the CSV files there.

    Returns
    -------
    Path
        The Markdown page.
    """
    folder = Path(folder)
    (folder / STATIC).mkdir(parents=True, exist_ok=True)
    results, curves, scaling, meta = _read(folder)
    bm = meta.get("benchmark", {})
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m benchmarks.run` from the CSV files beside this page; do not edit. -->",
        "",
        "How well does each method recover the average dose-response curve μ(a) = E[Y(a)]? Every "
        "number below is computed by `benchmarks/report.py` from the raw results "
        "([`benchmarks_results.csv`](benchmarks_results.csv), one row per data set, seed and method; "
        "[`benchmarks_curves.csv`](benchmarks_curves.csv), the curves of the first seed; "
        "[`benchmarks_scaling.csv`](benchmarks_scaling.csv)).",
        "",
    ]
    if results is not None:
        dgps = [
            d for d in ("linear", "nonlinear", "poor_overlap", "dowhy_linear") if d in set(results["dgp"])
        ]
        dgps += sorted(set(results["dgp"]) - set(dgps))
        n_seeds = results["seed"].nunique()
        if bm.get("quick"):
            lines += [
                "> **Quick mode (smoke test).** One small sample and a shortened E2B: these numbers check "
                "that the pipeline runs; they measure nothing.",
                "",
            ]
        elif n_seeds < MIN_SEEDS:
            lines += [
                f"> **{n_seeds} seed(s) only**: the benchmark asks for at least {MIN_SEEDS}; the standard "
                "errors "
                "below are correspondingly wide.",
                "",
            ]
        e2b_params = bm.get("e2b_params") or {}
        lines += [
            "## How these numbers were made",
            "",
            f"- Command: `{bm.get('command', '?')}`",
            f"- Run: {bm.get('started_utc', '?')}, {_fmt(bm.get('wall_time_s', np.nan), 0)} s wall time, "
            f"{bm.get('jobs', 1)} job(s), revision {bm.get('git_revision', '?')}",
            f"- Samples: n = {bm.get('n', '?')} rows, "
            f"seeds {min(bm.get('seeds', [0]))}–{max(bm.get('seeds', [0]))} "
            f"({n_seeds} per process), the data of each (process, seed) drawn once and shared by all methods",
            f"- Bootstrap replicates for the bands of our core methods: {bm.get('n_bootstrap', '?')}",
            "- E2B: "
            + ("its defaults" if not e2b_params else f"benchmark configuration `{json.dumps(e2b_params)}`")
            + "; `random_state` = seed",
            *_machine_lines(bm),
            _versions_line(bm),
            "- Timings are wall-clock on a machine shared with other work; read them as indicative.",
            "",
            "Data-generating processes: "
            + "; ".join(f"`{d}`" for d in dgps)
            + " (defined in `dowhy_e2b.datasets` and `benchmarks/dgps.py`; `dowhy_linear` is DoWhy's "
            "`linear_dataset` with a continuous treatment, a "
            "plumbing check whose truth is the sample dose-response).",
            "",
        ]
        agg = aggregate(results)
        lines += _targets_section(results)
        _plot_rmse(agg, dgps, folder / STATIC / "rmse.png")
        lines += [f"![RMSE per method and process]({(STATIC / 'rmse.png').as_posix()})", ""]
        if curves is not None and not curves.empty:
            _plot_curves(curves, agg, dgps, folder / STATIC / "curves.png")
            lines += [
                f"![Example curves against the truth]({(STATIC / 'curves.png').as_posix()})",
                "",
                "*Example curves (first seed) against the truth (dashed). Contrast-only estimates are "
                "centred and shifted to the truth's mean level.*",
                "",
            ]
        lines += _results_section(agg, dgps, bm)
        lines += _position_section(results, dgps)
        lines += _dowhy_section(agg, dgps)
        lines += _peers_section(results, meta)
        lines += _warnings_section(results)
    else:
        lines += ["No benchmark results yet: run `python -m benchmarks.run`.", ""]
    if scaling is not None and not scaling.empty:
        sm = meta.get("scaling", {})
        lines += _scaling_section(scaling, meta, folder)
        if sm:
            lines += [*_machine_lines(sm), _versions_line(sm), ""]
    lines += _definitions()
    page = folder / "benchmarks.md"
    page.write_text("\n".join(lines).rstrip() + "\n")
    return page


def _definitions() -> list[str]:
    tail_pct = round(100 * TAIL_SHARE)
    return [
        "## Definitions",
        "",
        "- **Grid**: 50 treatment values evenly spaced between the 5th and 95th percentiles of the observed "
        "treatment of each sample.",
        "- **RMSE**: root mean squared difference between the estimated and the true curve over the grid. "
        "**Centred RMSE**: the same after subtracting each curve's mean over the grid (what contrast-only "
        f"methods estimate). **Tails RMSE**: over the lowest and highest {tail_pct}% of the grid points "
        "(centred for contrast-only methods). Mean ± standard error over seeds. **Worst seed**: the "
        "largest RMSE over seeds (centred for contrast-only methods).",
        "- **ESS**: Kish's effective sample size (Σw)²/Σw² of the weights. **max |w-corr(a, x)|**: largest "
        "absolute weighted correlation of the treatment with a confounder, computed independently of the "
        "package with NumPy's weighted covariance (`np.cov(..., aweights=w)`).",
        "- **Coverage**: share of grid points whose true value lies in the 95% percentile-bootstrap band "
        "of the whole pipeline (weights and outcome stage; E2B reuses its trained network), and share of "
        "seeds whose band holds the whole true curve.",
        "- **Fit time**: wall time of the point estimate (weights and outcome stage; for the DoWhy path the "
        "whole user call, `CausalModel` and `identify_effect` included); the bootstrap is timed apart.",
        "- **Peak memory**: `tracemalloc` — peak of Python-allocator memory (NumPy, pandas, scikit-learn) "
        "during the fit; `rss` — peak resident set size above its level at the start of the fit, sampled "
        "every 2 ms (used for torch-based methods, whose tensors bypass `tracemalloc`; a lower bound when "
        "the process reuses memory it already holds).",
        "",
        'Reproduce: install the peers with `pip install -e ".[bench]"` (torch 2.13.0 first, see the '
        "README), then run the command above from the repository root. `python -m benchmarks.run --quick` "
        "is the smoke test that CI runs (through `tests/benchmarks/test_quick.py`).",
    ]


def console_summary(results: pd.DataFrame) -> str:
    """Mean RMSE (centred for contrast-only methods) per method and process, as text."""
    frame = results.copy()
    frame["score"] = np.where(frame["contrast_only"].astype(bool), frame["rmse_centred"], frame["rmse"])
    frame = frame[frame["status"] == "ok"]
    if frame.empty:
        return "no successful runs"
    table = frame.pivot_table(index="method", columns="dgp", values="score", aggfunc="mean")
    table = table.reindex([m for m in _order(table.index)])
    return "mean RMSE (centred for contrast-only methods):\n" + table.to_string(
        float_format=lambda v: f"{v:.3f}"
    )
