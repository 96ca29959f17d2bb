"""Command line of dowhy-e2b (``python -m dowhy_e2b``); it drives DoWhy, so it lives with the glue.

``demo`` runs the graph-first DoWhy workflow on the built-in lemonade dataset: declare the graph,
identify, estimate with a dowhy-e2b method, print the curve and a contrast, and write a PNG.

``estimate`` does the same for a CSV file: the causal graph comes from a GML file (``--graph``) or
is built from the listed confounders (each one a cause of the treatment and of the outcome); it
writes the curve (CSV), its plot (PNG) and, if asked, the audit (Markdown and/or HTML).

The arguments and the checks that need no heavy import live in :mod:`dowhy_e2b._cli_args`, so that
``--help``, ``--version`` and a missing file are answered before torch and DoWhy load. Warnings are
printed on one line each (``warning: Category: message``), without source lines.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dowhy_e2b._cli_args import UsageError, build_parser, check_files

__all__ = ["main"]


_LABELS = {"e2b": "E2B", "entropy_balancing": "entropy balancing", "gps_weighting": "GPS weighting"}


@contextlib.contextmanager
def _warnings_on_one_line() -> Iterator[None]:
    """Print each warning once, as ``warning: Category: message`` on stderr (no file or source line)."""

    def show(message: Any, category: type[Warning], *_: Any, **__: Any) -> None:
        text = " ".join(str(message).split())
        print(f"warning: {category.__name__}: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        # DoWhy's deprecation warnings under pandas 3 concern DoWhy's code, not the user's.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.showwarning = show
        yield


def _demo(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from dowhy import CausalModel

    import dowhy_e2b  # noqa: F401  (registers the estimators)
    from dowhy_e2b.datasets import load_lemonade
    from dowhy_e2b.exceptions import BalanceWarning
    from dowhy_e2b.plotting import plot_dose_response

    ds = load_lemonade(n_samples=args.n_samples, random_state=args.seed)
    print(f"dataset: {ds.description} (n = {len(ds.data)})")
    model = CausalModel(data=ds.data, treatment=ds.treatment, outcome=ds.outcome, graph=ds.graph())
    estimand = model.identify_effect()
    params = {"random_state": args.seed, "dose_grid": 25, "verbose": args.verbose}
    estimates = {}
    for method in (args.method, "unweighted"):
        with warnings.catch_warnings():
            if method == "unweighted":  # a deliberately confounded reference: its imbalance is the point
                warnings.simplefilter("ignore", BalanceWarning)
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
    ax = plot_dose_response(
        estimates["unweighted"], label="unweighted (confounded)", color="tab:gray", band="none"
    )
    plot_dose_response(
        est,
        ax=ax,
        rug=False,
        label=_LABELS.get(args.method, args.method),
        color="tab:blue",
        truth=ds.true_adrf,
        xlabel="lemon juice (ml per litre)",
        ylabel="mean taste rating",
    )
    ax.set_title("How much lemon makes the best lemonade?")
    path = out / "dose_response.png"
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)
    curve.to_csv(out / "dose_response.csv", index=False)
    print(f"\nwrote {path} and {out / 'dose_response.csv'}")
    return 0


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


def _categorical(data: Any, names: list[str], treatment: str, outcome: str) -> Any:
    """The data with the ``--categorical`` columns as pandas categoricals (a copy)."""
    roles = [c for c in names if c in (treatment, outcome)]
    if roles:
        raise UsageError(f"--categorical {roles}: the treatment and the outcome must stay numeric.")
    return data.astype({name: "category" for name in names}) if names else data


def _contrast(args: argparse.Namespace, data: Any) -> tuple[float, float]:
    """The doses of the printed contrast: as given, else the treatment's 75th and 25th percentiles."""
    from dowhy_e2b._validation import (
        as_float_vector,
        check_contrast,
        default_contrast,
        require_varying_treatment,
    )

    a = as_float_vector(data[args.treatment], args.treatment, role="treatment")
    require_varying_treatment(a, args.treatment)
    treatment_value, control_value = args.treatment_value, args.control_value
    if treatment_value is None or control_value is None:
        high, low = default_contrast(a, args.treatment)
        treatment_value = high if treatment_value is None else treatment_value
        control_value = low if control_value is None else control_value
    check_contrast(treatment_value, control_value)
    return float(treatment_value), float(control_value)


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
    data = pd.read_csv(path)
    columns = [str(c) for c in data.columns]
    confounders = _split_names(args.confounders)
    categorical = _split_names(args.categorical)
    wanted = [args.treatment, args.outcome, *confounders, *categorical]
    missing = [c for c in dict.fromkeys(wanted) if c not in columns]
    if missing:
        raise UsageError(f"column(s) {missing} are not in {path.name}; its columns are {columns}.")
    if args.method not in REGISTERED:
        raise UsageError(f"unknown method {args.method!r}; choose one of {sorted(REGISTERED)}.")
    if args.graph and confounders:
        raise UsageError(
            "give either --graph or --confounders: with a graph, the confounders follow from it."
        )
    data = _categorical(data, categorical, args.treatment, args.outcome)
    if args.graph:
        graph = _load_graph(Path(args.graph), columns, args.treatment, args.outcome)
    elif confounders:
        graph = nx.DiGraph()
        graph.add_edges_from((c, args.treatment) for c in confounders)
        graph.add_edges_from((c, args.outcome) for c in confounders)
        graph.add_edge(args.treatment, args.outcome)
    else:
        raise UsageError("give the confounders (--confounders x1 x2 ...) or a causal graph (--graph G.gml).")
    treatment_value, control_value = _contrast(args, data)

    model = CausalModel(data=data, treatment=args.treatment, outcome=args.outcome, graph=graph)
    estimand = model.identify_effect()
    adjustment = estimand.get_adjustment_set()
    if adjustment is None:
        raise UsageError("the graph gives no back-door adjustment set for the effect: it is not identified.")
    unused = sorted(set(categorical) - set(adjustment))
    if unused:
        print(f"note: --categorical {unused} are not in the adjustment set and are not used.")
    print(f"data: {path.name}, n = {len(data)}; adjusting for {sorted(adjustment) or 'nothing'}")
    levels = {
        c: int(data[c].nunique())
        for c in sorted(adjustment)
        if not pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])
    }
    if levels:
        listed = ", ".join(f"{c} ({k} levels)" for c, k in levels.items())
        print(f"categorical confounders (one-hot encoded): {listed}")

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
    ax = plot_dose_response(est, label=_LABELS.get(args.method, args.method))
    ax.set_title(f"Average dose-response of {args.outcome} on {args.treatment}")
    ax.figure.savefig(written[1], dpi=120)
    plt.close(ax.figure)

    sens = None
    if args.sensitivity:
        sens = dowhy_e2b.sensitivity(est, n_jobs=args.n_jobs)
        written += _write_sensitivity(sens, out, args.treatment, args.outcome)
    if args.audit != "none":
        options: dict[str, Any] = {"n_jobs": args.n_jobs, "random_state": args.seed, "verbose": args.verbose}
        if sens is not None:
            options["sensitivity_result"] = sens
        if args.num_simulations is not None:
            options["num_simulations"] = args.num_simulations
        report = dowhy_e2b.audit(model, estimand, est, **options)
        print(f"audit verdict: {report.verdict}")
        for reason in report.reasons:
            print(f"  - {reason}")
        formats = ["md", "html"] if args.audit == "both" else [args.audit]
        written += [report.save(out / f"audit.{fmt}") for fmt in formats]
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _write_sensitivity(sens: Any, out: Path, treatment: str, outcome: str) -> list[Path]:
    """Print the robustness value and the benchmarks; write the tables and the plot."""
    import matplotlib.pyplot as plt

    contrast = f"mu({sens.treatment_value:.4g}) - mu({sens.control_value:.4g})"
    print(
        f"sensitivity of {contrast}: robustness value {sens.robustness_value:.3g} (a hidden confounder "
        f"explaining that share of the outcome's residual variance and of the weights' variation "
        f"brings the bound to 0); for the {sens.confidence_level:.0%} confidence bound "
        f"{sens.robustness_value_ci:.3g}"
    )
    for row in sens.benchmarks.itertuples(index=False):
        print(
            f"  as strong as {row.covariate}: r2_outcome {row.r2_outcome:.3g}, r2_treatment "
            f"{row.r2_treatment:.3g} -> {contrast} in [{row.ci_lower:.4g}, {row.ci_upper:.4g}]"
        )
    paths = [
        out / name for name in ("sensitivity.csv", "sensitivity_contrast.csv", "sensitivity_benchmarks.csv")
    ]
    sens.table.to_csv(paths[0], index=False)
    sens.contrast_table.to_csv(paths[1], index=False)
    sens.benchmarks.to_csv(paths[2], index=False)
    axes = sens.plot(xlabel=treatment, ylabel=f"mean {outcome}")
    fig = axes[0].figure
    fig.savefig(out / "sensitivity.png", dpi=120)
    plt.close(fig)
    return [*paths, out / "sensitivity.png"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m dowhy_e2b`` and the ``dowhy-e2b`` script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with _warnings_on_one_line():
        try:
            check_files(args)  # before the heavy imports of the commands
            return _demo(args) if args.command == "demo" else _estimate(args)
        except UsageError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except (ValueError, TypeError, KeyError) as err:  # raised by the estimators for bad input data
            message = err.args[0] if isinstance(err, KeyError) and err.args else err
            print(f"error: {message}", file=sys.stderr)
            return 1
