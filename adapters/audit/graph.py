"""Testing the causal graph against the data: DoWhy's graph refutation, made to work here.

A graph implies conditional independences (d-separations); data that contradict one contradict
the graph. ``CausalModel.refute_graph`` tests them with partial correlations, but DoWhy 0.14 casts
the whole data frame to float first and crashes on any categorical column. The audit lists the
implications itself (``check_dseparation`` on the model's graph, conditioning sets of at most one
variable, as ``refute_graph(k=1)`` plus the unconditional ones) and runs DoWhy's
:class:`~dowhy.causal_refuters.graph_refuter.GraphRefuter` on a numeric copy of the data in which a
categorical conditioning variable is replaced by its one-hot columns; implications between two
variables of which one is categorical cannot be tested by partial correlation and are counted.

The p-values are adjusted for multiple testing (Holm). Implications that involve the treatment or
the outcome bear on the estimate (e.g. an instrument independent of the outcome given the
treatment and confounders); a rejection among them is a warning. Implications among the other
variables only (e.g. two confounders that the graph makes independent) are reported as
information: the adjustment set stays valid when they fail.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from dowhy.causal_refuters.graph_refuter import GraphRefuter
from statsmodels.stats.multitest import multipletests

from dowhy_e2b._validation import encode_frame

from .rules import make_row
from .running import isolated

__all__ = ["MAX_GRAPH_TESTS", "graph_rows", "implied_independences"]

#: Most implications tested (evenly spaced over all of them when the graph implies more).
MAX_GRAPH_TESTS = 200
#: Above this many observed variables only unconditional independences are listed.
MAX_NODES_FOR_CONDITIONAL = 25

Implication = tuple[str, str, tuple[str, ...]]


def implied_independences(model: Any) -> list[Implication]:
    """``(a, b, z)`` for each pair of observed variables the graph d-separates given ``z``
    (``z`` empty or one other observed variable)."""
    graph = model._graph  # DoWhy 0.14's CausalGraph
    data = model._data
    observed = {str(n) for n in graph.get_all_nodes(include_unobserved=False)}
    nodes = [str(c) for c in data.columns if str(c) in observed]  # the data's order: reproducible
    sizes = (0, 1) if len(nodes) <= MAX_NODES_FOR_CONDITIONAL else (0,)
    found: list[Implication] = []
    for a, b in combinations(nodes, 2):
        others = [n for n in nodes if n not in (a, b)]
        for k in sizes:
            for z in combinations(others, k):
                if graph.check_dseparation([a], [b], list(z)):
                    found.append((a, b, tuple(z)))
    return found


def _numeric_frame(data: pd.DataFrame, nodes: set[str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Float columns for the nodes; a categorical node becomes its one-hot columns (or none, when it
    cannot be encoded). Returns the frame and the columns that stand for each node."""
    columns: dict[str, np.ndarray] = {}
    stands_for: dict[str, list[str]] = {}
    for node in sorted(nodes):
        s = data[node]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            columns[node] = s.to_numpy(dtype=float)
            stands_for[node] = [node]
            continue
        try:
            X, names = encode_frame(data, [node])
        except (ValueError, KeyError):
            stands_for[node] = []
            continue
        for j, name in enumerate(names):
            columns[name] = X[:, j]
        stands_for[node] = names
    return pd.DataFrame(columns, index=data.index), stands_for


def _describe(implication: Implication, p: float) -> str:
    a, b, z = implication
    given = f" | {', '.join(z)}" if z else ""
    shown = f"= {p:.2g}" if p >= 1e-5 else "< 1e-05"  # DoWhy rounds p-values to 5 decimals
    return f"{a} ⫫ {b}{given} (adjusted p {shown})"


def graph_rows(model: Any, treatment: str, outcome: str, alpha: float) -> tuple[list[dict[str, Any]], dict]:
    """The graph check's rows, and a summary of what was tested (for the report's settings)."""
    implications = implied_independences(model)
    if not implications:
        row = make_row(
            "graph",
            "conditional independences implied by the graph",
            "",
            np.nan,
            "skipped",
            "the graph implies no conditional independence between observed variables (with at most "
            "one conditioning variable) that the data could contradict.",
        )
        return [row], {"implications": 0, "tested": 0}
    if len(implications) > MAX_GRAPH_TESTS:
        keep = np.unique(np.linspace(0, len(implications) - 1, MAX_GRAPH_TESTS).round().astype(int))
        implications = [implications[i] for i in keep]
    data = model._data
    nodes = {v for a, b, z in implications for v in (a, b, *z)}
    frame, stands_for = _numeric_frame(data, nodes)
    testable, untestable = [], 0
    for a, b, z in implications:
        if stands_for[a] != [a] or stands_for[b] != [b] or any(not stands_for[v] for v in z):
            untestable += 1
            continue
        testable.append((a, b, z, tuple(c for v in z for c in stands_for[v])))
    summary = {"implications": len(implications), "tested": len(testable), "untestable": untestable}
    if not testable:
        why = (
            f"all {untestable} implied independences involve a categorical variable, which partial "
            "correlations cannot test."
        )
        row = make_row("graph", "conditional independences implied by the graph", "", np.nan, "skipped", why)
        return [row], summary
    refuter = GraphRefuter(data=frame)
    with isolated():
        refuter.refute_model(independence_constraints=[(a, b, cols) for a, b, _, cols in testable])
    p_raw = np.array([refuter._results[(a, b, cols)][0] for a, b, _, cols in testable], dtype=float)
    rows = []
    groups = {
        "involving the treatment or the outcome": [
            i for i, (a, b, _, _) in enumerate(testable) if {a, b} & {treatment, outcome}
        ],
        "among the other variables": [
            i for i, (a, b, _, _) in enumerate(testable) if not {a, b} & {treatment, outcome}
        ],
    }
    note = (
        f" {untestable} implication(s) involve a categorical variable and were not tested."
        if untestable
        else ""
    )
    for label, idx in groups.items():
        if not idx:
            continue
        p = p_raw[idx]
        finite = np.isfinite(p)
        adjusted = np.full(p.shape, np.nan)
        if finite.any():
            adjusted[finite] = multipletests(p[finite], method="holm")[1]
        rejected = [i for i, q in zip(idx, adjusted, strict=True) if np.isfinite(q) and q < alpha]
        worst = float(np.nanmin(adjusted)) if finite.any() else np.nan
        judged = label.startswith("involving")
        if rejected:
            listed = "; ".join(
                _describe(testable[i][:3], float(adjusted[idx.index(i)])) for i in rejected[:3]
            )
            status = "warn" if judged else "info"
            reason = (
                f"the data contradict {len(rejected)} of the {len(idx)} independences the graph implies "
                f"{label} (partial correlation, Holm-adjusted, α = {alpha:g}): {listed}."
            )
            if not judged:
                reason += (
                    " They do not involve the treatment or the outcome: the adjustment set is not affected."
                )
        else:
            status = "pass" if judged else "info"
            reason = (
                f"none of the {len(idx)} independences the graph implies {label} is contradicted by the data "
                f"(partial correlation, Holm-adjusted, α = {alpha:g})."
            )
        rows.append(
            make_row(
                "graph",
                f"graph's implied independences {label}",
                "0 contradicted" if judged else "informative",
                float(len(rejected)),
                status,
                reason + note,
                pass_min=0.0 if judged else np.nan,
                pass_max=0.0 if judged else np.nan,
                p_value=worst,
            )
        )
        note = ""
    return rows, summary
