"""The command line's arguments, and the checks that need no heavy import.

Kept apart from :mod:`dowhy_e2b.adapters.cli` (which runs DoWhy) so that ``--help``, ``--version``,
a mistyped option or a missing file are answered at once, before torch and DoWhy are imported
(seconds). ``dowhy_e2b/__init__.py`` imports this module first; when that import is the start of
``python -m dowhy_e2b`` or of the ``dowhy-e2b`` script, :func:`preflight` runs right away and
exits on ``--help``, ``--version`` or a problem, before the rest of the package loads.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["UsageError", "build_parser", "check_files", "preflight", "started_as_command_line"]

METHODS = ("e2b", "entropy_balancing", "gps_weighting", "unweighted")


class UsageError(ValueError):
    """A problem with the command's arguments or input files; reported without a traceback."""


def _version() -> str:
    try:
        return metadata.version("dowhy-e2b")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help (unless there is none to show); descriptions and
    epilogs keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        shown = default not in (None, False, [], argparse.SUPPRESS) and "default" not in text
        if shown and action.option_strings:
            text += " (default: %(default)s)"
        return text


_DESCRIPTION = """\
Estimate how an outcome changes with a continuous treatment (a dose): the average dose-response
curve mu(a) = E[Y(a)], with a confidence band, from a table of observational data. The data are
weighted so that the dose is independent of the confounders you name, then the curve is fitted.

Run 'python -m dowhy_e2b COMMAND --help' for the options of a command."""

_ESTIMATE_DESCRIPTION = """\
Estimate the average dose-response curve of a continuous treatment in a CSV file (with a header
row). Say which columns confound the treatment and the outcome, either as a list (--confounders:
each is taken to cause both) or as a causal graph (--graph G.gml), from which DoWhy finds the
adjustment set. Writes to --out: dose_response.csv (the curve and its band), dose_response.png,
with --sensitivity the bounds under a hidden confounder (sensitivity.csv, sensitivity_contrast.csv,
sensitivity_benchmarks.csv, sensitivity.png), and with --audit the audit report (audit.md and/or
audit.html).

The printed contrast is mu(treatment value) - mu(control value): by default the 75th and 25th
percentiles of the treatment."""

_ESTIMATE_EPILOG = """\
examples:
  python -m dowhy_e2b estimate data.csv --treatment dose --outcome y --confounders age,income,region
  python -m dowhy_e2b estimate data.csv --treatment dose --outcome y --graph graph.gml \\
      --method entropy_balancing --param moments=2 --audit html --sensitivity --out results/
  python -m dowhy_e2b estimate nhefs.csv --treatment smkintensity82_71 --outcome wt82_71 \\
      --confounders sex,race,age,education --categorical education

Text columns are one-hot encoded; integer codes of categories (1 = primary school, 2 = ...) are
numbers unless named in --categorical. Warnings (e.g. weights that do not balance a confounder)
are printed on one line each.

exit status: 0 success; 2 a problem with the arguments or files (a missing file or column, an
unknown method); 1 the data cannot be used as they are (missing values, dates, a constant
treatment, ...) or an estimator parameter is invalid - the message says what to change."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m dowhy_e2b``."""
    parser = argparse.ArgumentParser(
        prog="python -m dowhy_e2b", description=_DESCRIPTION, formatter_class=_Formatter
    )
    parser.add_argument("--version", action="version", version=f"dowhy-e2b {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="the built-in lemonade example: how much lemon juice makes the best lemonade?",
        formatter_class=_Formatter,
        description="The graph-first DoWhy workflow on the built-in lemonade data: declare the graph, "
        "identify the effect, estimate the curve with a weighting method and without weights, print "
        "both with the contrast mu(11) - mu(6) against the known truth, and write the plot and the "
        "curve to --out.",
    )
    demo.add_argument("--method", default="e2b", help=f"the weighting method: {', '.join(METHODS)}")
    demo.add_argument(
        "--out", default="out", metavar="FOLDER", help="folder for dose_response.png and dose_response.csv"
    )
    demo.add_argument("--n-samples", type=int, default=2000, metavar="N", help="rows of simulated data")
    demo.add_argument("--seed", type=int, default=0, metavar="INT", help="seeds the data and the estimate")
    demo.add_argument(
        "--treatment-value", type=float, default=11.0, metavar="DOSE", help="dose of the contrast"
    )
    demo.add_argument(
        "--control-value", type=float, default=6.0, metavar="DOSE", help="reference dose of the contrast"
    )
    demo.add_argument("--verbose", action="store_true", help="show progress bars")

    est = sub.add_parser(
        "estimate",
        help="estimate the dose-response curve of your own CSV file",
        description=_ESTIMATE_DESCRIPTION,
        epilog=_ESTIMATE_EPILOG,
        formatter_class=_Formatter,
    )
    est.add_argument("data", help="CSV file with a header row")
    est.add_argument("--treatment", required=True, metavar="COLUMN", help="the continuous treatment (dose)")
    est.add_argument("--outcome", required=True, metavar="COLUMN", help="the outcome")
    est.add_argument(
        "--confounders",
        nargs="+",
        metavar="COLUMN",
        help="confounder columns, space- or comma-separated; each is taken to cause both the "
        "treatment and the outcome (or give --graph)",
    )
    est.add_argument(
        "--graph", metavar="G.gml", help="causal graph in GML; nodes that are not columns are unobserved"
    )
    est.add_argument(
        "--categorical",
        nargs="+",
        default=[],
        metavar="COLUMN",
        help="numeric columns that are codes of categories (e.g. education levels 1-5), "
        "space- or comma-separated: they are one-hot encoded instead of used as numbers",
    )
    est.add_argument("--method", default="e2b", help=f"the weighting method: {', '.join(METHODS)}")
    est.add_argument(
        "--treatment-value",
        type=float,
        metavar="DOSE",
        help="dose of the contrast (default: the 75th percentile of the treatment)",
    )
    est.add_argument(
        "--control-value",
        type=float,
        metavar="DOSE",
        help="reference dose of the contrast (default: the 25th percentile of the treatment)",
    )
    est.add_argument(
        "--dose-grid",
        type=int,
        default=50,
        metavar="N",
        help="points on the curve, between the 5th and 95th percentiles of the treatment",
    )
    est.add_argument(
        "--n-bootstrap", type=int, default=200, metavar="N", help="bootstrap replicates for the band"
    )
    est.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter of the method, repeatable, e.g. --param moments=2 --param max_steps=100 "
        "(values are Python literals)",
    )
    est.add_argument("--out", default="out", metavar="FOLDER", help="output folder")
    est.add_argument(
        "--audit",
        choices=["none", "md", "html", "both"],
        default="none",
        help="also audit the estimate (refuters, balance, overlap) and write audit.md and/or audit.html",
    )
    est.add_argument(
        "--sensitivity",
        action="store_true",
        help="bound the curve and the contrast under a hidden confounder (omitted-variable bias, partial "
        "R^2), benchmarked against each confounder; writes sensitivity*.csv and sensitivity.png "
        "(and the audit reports them)",
    )
    est.add_argument(
        "--num-simulations",
        type=int,
        default=None,
        metavar="N",
        help="refits per refuter in the audit (default: the audit's own numbers, see its documentation)",
    )
    est.add_argument(
        "--n-jobs", type=int, default=-1, metavar="N", help="parallel workers for the audit (-1: all cores)"
    )
    est.add_argument("--seed", type=int, default=0, metavar="INT", help="seeds the estimate and the audit")
    est.add_argument("--verbose", action="store_true", help="show progress bars")
    return parser


def check_files(args: argparse.Namespace) -> None:
    """Raise :class:`UsageError` for a data or graph file that is missing or unreadable, or a CSV
    header with duplicated column names (pandas would silently rename the copies)."""
    if args.command != "estimate":
        return
    path = Path(args.data)
    if not path.is_file():
        raise UsageError(f"data file {str(path)!r} does not exist.")
    if args.graph and not Path(args.graph).is_file():
        raise UsageError(f"graph file {str(args.graph)!r} does not exist.")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UsageError(f"cannot read the CSV file {str(path)!r}: {err}") from None
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise UsageError(
            f"the header of {path.name} repeats the column name(s) {duplicated}; each column needs "
            "its own name (rename the copies)."
        )


def preflight(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the arguments and check the files, exiting on ``--help``, ``--version`` or a problem.

    Exits with status 0 after ``--help`` or ``--version`` and 2 on a usage error (argparse's
    convention), printing the message to stderr; otherwise returns the parsed arguments.
    """
    args = build_parser().parse_args(argv)
    try:
        check_files(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    return args


def started_as_command_line() -> bool:
    """Whether the running import of the package starts ``python -m dowhy_e2b`` or ``dowhy-e2b``.

    ``python -m`` sets ``sys.argv[0]`` to ``"-m"`` while it imports the package of the module to
    run; ``sys.orig_argv`` says which module that is.
    """
    argv = getattr(sys, "argv", None) or [""]
    if argv[0] == "-m":
        orig = list(getattr(sys, "orig_argv", []))
        return "-m" in orig and orig[orig.index("-m") + 1 :][:1] == ["dowhy_e2b"]
    return os.path.basename(argv[0]) in ("dowhy-e2b", "dowhy-e2b.exe")


if started_as_command_line():
    preflight(sys.argv[1:])
