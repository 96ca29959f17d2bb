"""Command line of dowhy-e2b (``python -m dowhy_e2b``); it drives DoWhy, so it lives with the glue.

``demo`` runs the graph-first DoWhy workflow on the built-in lemonade dataset: declare the graph,
identify, estimate with a dowhy-e2b method, print the curve and a contrast, and write a PNG.

``estimate`` does the same for a CSV file: the causal graph comes from a GML file (``--graph``) or
is built from the listed confounders (each one a cause of the treatment and of the outcome); it
writes the curve (CSV), its plot (PNG) and, if asked, the audit (Markdown and/or HTML).
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys
from pathlib import Path
from typing import Any

__all__ = ["main"]


_LABELS = {"e2b": "E2B", "entropy_balancing": "entropy balancing", "gps_weighting": "GPS weighting"}


def _demo(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from dowhy import CausalModel

    import dowhy_e2b  # noqa: F401  (registers the estimators)
    from dowhy_e2b.datasets import load_lemonade
    from dowhy_e2b.plotting import plot_dose_response

    ds = load_lemonade(n_samples=args.n_samples, random_state=args.seed)
    print(f"dataset: {ds.description} (n = {len(ds.data)})")
    model = CausalModel(data=ds.data, treatment=ds.treatment, outcome=ds.outcome, graph=ds.graph())
    estimand = model.identify_effect()
    params = {"random_state": args.seed, "dose_grid": 25, "verbose": args.verbose}
    estimates = {}
    for method in (args.method, "unweighted"):
        estimates[method] = model.estimate_effect(
            estimand,
            method_name=method,
            treatment_value=args.treatment_value,
            control_value=args.control_value,
            method_params={"init_params": params},
        )
    est = estimates[args.method]
    curve = est.dose_response
    print(f"\naverage dose-response of {ds.outcome} on {ds.treatment} ({args.method}):")
    print(curve.to_string(index=False, float_format=lambda v: f"{v:8.3f}"))
    truth = ds.true_adrf(args.treatment_value) - ds.true_adrf(args.control_value)
    lo, hi = est.get_confidence_intervals()
    print(
        f"\ncontrast mu({args.treatment_value:g}) - mu({args.control_value:g}): {est.value:.3f} "
        f"(95% CI {lo:.3f} to {hi:.3f}); unweighted {estimates['unweighted'].value:.3f}; truth {truth:.3f}"
    )
    best = curve.loc[curve.mean_outcome.idxmax(), "treatment"]
    print(f"dose with the highest estimated mean {ds.outcome}: {best:.2f} (truth: 11.00)")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ax = plot_dose_response(estimates["unweighted"], label="unweighted (confounded)", color="tab:gray")
    plot_dose_response(
        est,
        ax=ax,
        rug=False,
        label=_LABELS.get(args.method, args.method),
        color="tab:blue",
        truth=ds.true_adrf,
    )
    ax.set_xlabel("lemon juice (ml per litre)")
    ax.set_ylabel("mean taste rating")
    ax.set_title("How much lemon makes the best lemonade?")
    ax.figure.tight_layout()
    path = out / "dose_response.png"
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)
    curve.to_csv(out / "dose_response.csv", index=False)
    print(f"\nwrote {path} and {out / 'dose_response.csv'}")
    return 0


class UsageError(ValueError):
    """A problem with the command's arguments or input files; reported without a traceback."""


def _parse_params(items: list[str]) -> dict[str, Any]:
    """``["moments=2", "max_steps=50"]`` → ``{"moments": 2, "max_steps": 50}`` (Python literals)."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param expects KEY=VALUE, got {item!r}.")
        try:
            value: Any = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        params[key.strip()] = value
    return params


def _split_names(values: list[str] | None) -> list[str]:
    """Column names given as separate arguments and/or comma-separated."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


def _load_graph(path: Path, data_columns: list[str], treatment: str, outcome: str) -> Any:
    import networkx as nx

    if not path.is_file():
        raise UsageError(f"graph file {str(path)!r} does not exist.")
    try:
        graph = nx.read_gml(path)
    except (nx.NetworkXError, ValueError) as err:
        raise UsageError(f"cannot read the GML graph {str(path)!r}: {err}") from None
    if not graph.is_directed():
        raise UsageError(f"the graph in {str(path)!r} is undirected; a causal graph needs 'directed 1'.")
    missing = [v for v in (treatment, outcome) if v not in graph]
    if missing:
        raise UsageError(
            f"the graph has no node(s) {missing}; its nodes are {sorted(map(str, graph.nodes))}."
        )
    latent = sorted(str(v) for v in graph.nodes if v not in data_columns)
    if latent:
        print(f"graph nodes not in the data (treated as unobserved): {latent}")
    return graph


def _estimate(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx
    import pandas as pd
    from dowhy import CausalModel
    from dowhy_e2b.adapters import REGISTERED

    import dowhy_e2b
    from dowhy_e2b.plotting import plot_dose_response

    path = Path(args.data)
    if not path.is_file():
        raise UsageError(f"data file {str(path)!r} does not exist.")
    data = pd.read_csv(path)
    columns = [str(c) for c in data.columns]
    confounders = _split_names(args.confounders)
    wanted = [args.treatment, args.outcome, *confounders]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise UsageError(f"column(s) {missing} are not in {path.name}; its columns are {columns}.")
    if args.method not in REGISTERED:
        raise UsageError(f"unknown method {args.method!r}; choose one of {sorted(REGISTERED)}.")
    if args.graph and confounders:
        raise UsageError(
            "give either --graph or --confounders: with a graph, the confounders follow from it."
        )
    if args.graph:
        graph = _load_graph(Path(args.graph), columns, args.treatment, args.outcome)
    elif confounders:
        graph = nx.DiGraph()
        graph.add_edges_from((c, args.treatment) for c in confounders)
        graph.add_edges_from((c, args.outcome) for c in confounders)
        graph.add_edge(args.treatment, args.outcome)
    else:
        raise UsageError("give the confounders (--confounders x1 x2 ...) or a causal graph (--graph G.gml).")

    model = CausalModel(data=data, treatment=args.treatment, outcome=args.outcome, graph=graph)
    estimand = model.identify_effect()
    adjustment = estimand.get_adjustment_set()
    if adjustment is None:
        raise UsageError("the graph gives no back-door adjustment set for the effect: it is not identified.")
    print(f"data: {path.name}, n = {len(data)}; adjusting for {sorted(adjustment) or 'nothing'}")

    a = pd.to_numeric(data[args.treatment], errors="coerce")
    treatment_value = args.treatment_value if args.treatment_value is not None else float(a.quantile(0.75))
    control_value = args.control_value if args.control_value is not None else float(a.quantile(0.25))
    params = {
        "dose_grid": args.dose_grid,
        "n_bootstrap": args.n_bootstrap,
        "random_state": args.seed,
        "verbose": args.verbose,
        **_parse_params(args.param),
    }
    est = model.estimate_effect(
        estimand,
        method_name=args.method,
        treatment_value=treatment_value,
        control_value=control_value,
        method_params={"init_params": params},
    )
    lo, hi = est.get_confidence_intervals()
    print(
        f"{args.method}: mu({treatment_value:.4g}) - mu({control_value:.4g}) = {est.value:.4g} "
        f"(95% CI {lo:.4g} to {hi:.4g}); effective sample size {est.effective_sample_size:.0f}"
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "dose_response.csv", out / "dose_response.png"]
    est.dose_response.to_csv(written[0], index=False)
    ax = plot_dose_response(
        est, label=args.method.replace("_", " "), xlabel=args.treatment, ylabel=f"mean {args.outcome}"
    )
    ax.set_title(f"Average dose-response of {args.outcome} on {args.treatment}")
    ax.figure.tight_layout()
    ax.figure.savefig(written[1], dpi=120)
    plt.close(ax.figure)

    if args.audit != "none":
        report = dowhy_e2b.audit(
            model,
            estimand,
            est,
            num_simulations=args.num_simulations,
            n_jobs=args.n_jobs,
            random_state=args.seed,
            verbose=args.verbose,
        )
        print(f"audit verdict: {report.verdict}")
        for reason in report.reasons:
            print(f"  - {reason}")
        formats = ["md", "html"] if args.audit == "both" else [args.audit]
        written += [report.save(out / f"audit.{fmt}") for fmt in formats]
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dowhy_e2b", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="estimate and plot the lemonade dose-response curve")
    demo.add_argument(
        "--method", default="e2b", help="e2b (default), entropy_balancing, gps_weighting, unweighted"
    )
    demo.add_argument("--out", default="out", help="output folder for the PNG and CSV (default: out)")
    demo.add_argument("--n-samples", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--treatment-value", type=float, default=11.0)
    demo.add_argument("--control-value", type=float, default=6.0)
    demo.add_argument("--verbose", action="store_true", help="progress bars")

    est = sub.add_parser(
        "estimate",
        help="estimate the dose-response curve of a CSV file",
        description="Estimate the average dose-response curve of a continuous treatment in a CSV file "
        "and write it as CSV and PNG (and the audit as Markdown/HTML with --audit).",
        epilog="example: python -m dowhy_e2b estimate data.csv --treatment dose --outcome y "
        "--confounders age,income --method e2b --audit md",
    )
    est.add_argument("data", help="CSV file with a header row")
    est.add_argument("--treatment", required=True, help="column of the continuous treatment")
    est.add_argument("--outcome", required=True, help="column of the outcome")
    est.add_argument(
        "--confounders",
        nargs="+",
        metavar="NAME",
        help="confounder columns (space- or comma-separated); each is taken to cause treatment and outcome",
    )
    est.add_argument("--graph", metavar="G.gml", help="causal graph in GML (instead of --confounders)")
    est.add_argument(
        "--method", default="e2b", help="e2b (default), entropy_balancing, gps_weighting, unweighted"
    )
    est.add_argument("--treatment-value", type=float, help="dose of the contrast (default: 75th percentile)")
    est.add_argument("--control-value", type=float, help="reference dose (default: 25th percentile)")
    est.add_argument("--dose-grid", type=int, default=50, help="points on the curve (default: 50)")
    est.add_argument("--n-bootstrap", type=int, default=200, help="bootstrap replicates for the band")
    est.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter of the method, e.g. --param moments=2 --param max_steps=50 (repeatable)",
    )
    est.add_argument("--out", default="out", help="output folder (default: out)")
    est.add_argument(
        "--audit",
        choices=["none", "md", "html", "both"],
        default="none",
        help="also run dowhy_e2b.audit and write audit.md and/or audit.html",
    )
    est.add_argument("--num-simulations", type=int, default=20, help="simulations per refuter in the audit")
    est.add_argument("--n-jobs", type=int, default=None, help="parallel workers for the audit")
    est.add_argument("--seed", type=int, default=0)
    est.add_argument("--verbose", action="store_true", help="progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m dowhy_e2b`` and the ``dowhy-e2b`` script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "demo":
        return _demo(args)
    try:
        return _estimate(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, KeyError) as err:  # raised by the estimators for bad input data
        print(f"error: {err}", file=sys.stderr)
        return 1
