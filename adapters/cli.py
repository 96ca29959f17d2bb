"""Command line of dowhy-e2b (``python -m dowhy_e2b``); it drives DoWhy, so it lives with the glue.

``demo`` runs the graph-first DoWhy workflow on the built-in lemonade dataset: declare the graph,
identify, estimate with a dowhy-e2b method, print the curve and a contrast, and write a PNG.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

__all__ = ["main"]


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
    lo, hi = est.estimator._estimate_confidence_intervals()
    print(
        f"\ncontrast mu({args.treatment_value:g}) - mu({args.control_value:g}): {est.value:.3f} "
        f"(95% CI {lo:.3f} to {hi:.3f}); unweighted {estimates['unweighted'].value:.3f}; truth {truth:.3f}"
    )
    best = curve.loc[curve.mean_outcome.idxmax(), "treatment"]
    print(f"dose with the highest estimated mean {ds.outcome}: {best:.2f} (truth: 11.00)")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ax = plot_dose_response(
        estimates["unweighted"], label="unweighted (confounded)", color="tab:gray", treatment=ds.a
    )
    plot_dose_response(est, ax=ax, label=args.method.replace("_", " "), color="tab:blue", truth=ds.true_adrf)
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m dowhy_e2b`` and the ``dowhy-e2b`` script."""
    parser = argparse.ArgumentParser(prog="python -m dowhy_e2b", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="estimate and plot the lemonade dose-response curve")
    demo.add_argument("--method", default="entropy_balancing", help="dowhy-e2b method name")
    demo.add_argument("--out", default="out", help="output folder for the PNG and CSV (default: out)")
    demo.add_argument("--n-samples", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--treatment-value", type=float, default=11.0)
    demo.add_argument("--control-value", type=float, default=6.0)
    demo.add_argument("--verbose", action="store_true", help="progress bars")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "demo":
        return _demo(args)
    return 2  # pragma: no cover
