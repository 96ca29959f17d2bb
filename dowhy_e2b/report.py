"""The audit report: a tidy table of checks, a verdict, plots, and Markdown/HTML rendering.

:func:`dowhy_e2b.audit` (which runs DoWhy's refuters, so it lives in the adapters) fills an
:class:`AuditReport`; this module only holds and renders it, and imports neither DoWhy nor torch.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["STATUSES", "TABLE_COLUMNS", "AuditReport", "verdict_of"]

#: Columns of :attr:`AuditReport.table`, in order. Each has one meaning in every row: ``observed`` is
#: the statistic the test's rule judges, and the test passes when it lies in
#: ``[pass_min, pass_max]`` (a missing bound is no bound; both missing: no range decides the row);
#: ``p_value`` is the p-value of the row's own test where it has one.
TABLE_COLUMNS = (
    "check",
    "test",
    "expected",
    "observed",
    "pass_min",
    "pass_max",
    "p_value",
    "status",
    "reason",
)
#: Possible values of the ``status`` column: ``info`` rows describe, ``skipped`` rows could not run.
STATUSES = ("pass", "warn", "fail", "info", "skipped")

_STATUS_COLOURS = {
    "pass": "#1a7f37",
    "warn": "#9a6700",
    "fail": "#cf222e",
    "info": "#57606a",
    "skipped": "#57606a",
}
_HEADER = ("test", "expected", "observed", "passes if in", "p-value", "status", "why")
_VERDICT_TEXT = {
    "pass": "every check passed",
    "caution": "no check failed, but some ask for a closer look",
    "fail": "at least one check failed",
}


def verdict_of(statuses: Any) -> str:
    """``"fail"`` if any status is ``fail``, ``"caution"`` if any is ``warn``, else ``"pass"``."""
    statuses = set(statuses)
    if "fail" in statuses:
        return "fail"
    if "warn" in statuses:
        return "caution"
    return "pass"


def _fmt(value: Any, digits: int = 3) -> str:
    """A number for a table cell ('' for missing), or the value as text."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return f"{value:.{digits}g}"
    return str(value)


def _interval(lower: Any, upper: Any) -> str:
    """The pass range ``[lower, upper]``; a one-sided range as ``≥ lower`` or ``≤ upper``."""
    lo, hi = _fmt(lower), _fmt(upper)
    if lo and hi:
        return lo if lo == hi else f"[{lo}, {hi}]"
    if lo:
        return f"≥ {lo}"
    return f"≤ {hi}" if hi else ""


def _setting(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_setting(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_setting(v) for v in value) if value else "none"
    return "None" if value is None else _fmt(value, 4)


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@dataclass
class AuditReport:
    """The result of :func:`dowhy_e2b.audit`: one row per test, a verdict and what the plots need.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per test with the columns ``check`` (the name passed in ``checks=``), ``test``
        (what was done), ``expected`` (what a sound estimate shows, in words), ``observed`` (the
        statistic the rule judges), ``pass_min``/``pass_max`` (the test passes when ``observed``
        lies in this range; a missing bound is no bound), ``p_value`` (the p-value of the row's own
        test: DoWhy's for refuters, Holm-adjusted for the graph), ``status`` (``pass``, ``warn``,
        ``fail``, ``info`` or ``skipped``) and ``reason`` (the rule applied, in words).
    verdict : str
        ``"pass"``, ``"caution"`` (a warning, no failure) or ``"fail"`` (see :func:`verdict_of`).
    reasons : list of str
        One line per failed or warned test.
    summary : dict
        The audited estimate: method, treatment, outcome, n, value, confidence interval, doses,
        adjustment set, refits per check, elapsed seconds.
    curve : pandas.DataFrame or None
        The dose-response curve (``treatment``, ``mean_outcome``, ``ci_lower``, ``ci_upper``).
    balance : pandas.DataFrame or None
        The balance table used by the balance checks.
    weights : ndarray or None
        The balancing weights.
    treatment_values : ndarray or None
        The observed treatment.
    settings : dict
        What reproduces the report: ``"audit"`` (the audit's settings, seed, how the refits were
        run), ``"estimate"`` (treatment, outcome, adjustment set, the estimator's parameters) and
        ``"versions"`` (Python and the packages).
    simulations : pandas.DataFrame or None
        One row per refit: ``check``, ``strength`` (unobserved common cause), ``seed``,
        ``new_effect`` and ``error`` (empty when the refit succeeded).
    sensitivity : SensitivityResult or None
        The sensitivity bounds behind the ``sensitivity`` rows (:func:`dowhy_e2b.sensitivity`:
        tables, benchmarks, ``plot()``), when that check ran.
    """

    table: pd.DataFrame
    verdict: str
    reasons: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    curve: pd.DataFrame | None = None
    balance: pd.DataFrame | None = None
    weights: np.ndarray | None = None
    treatment_values: np.ndarray | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    simulations: pd.DataFrame | None = None
    sensitivity: Any = None

    def __repr__(self) -> str:
        counts = self.table["status"].value_counts()
        parts = ", ".join(f"{counts[s]} {s}" for s in STATUSES if s in counts)
        return f"AuditReport(verdict={self.verdict!r}, {len(self.table)} tests: {parts})"

    # -- text -----------------------------------------------------------------------------------
    def _headline(self) -> str:
        s = self.summary
        method, treatment = s.get("method", "estimate"), s.get("treatment", "treatment")
        return f"Audit of {method}: effect of {treatment} on {s.get('outcome', 'outcome')}"

    def _estimate_line(self) -> str:
        s = self.summary
        if "value" not in s:
            return ""
        t, c = s.get("treatment_value"), s.get("control_value")
        line = f"μ({_fmt(t)}) − μ({_fmt(c)}) = {_fmt(s['value'], 4)}"
        ci = _interval(s.get("ci_lower"), s.get("ci_upper"))
        if ci:
            line += f", {s.get('confidence_level', 0.95):.0%} CI {ci}"
        line += f"; n = {s.get('n', '?')}"
        if s.get("adjustment_set") is not None:
            line += f"; adjusting for {_setting(s['adjustment_set'])}"
        if s.get("elapsed_s") is not None:
            line += f"; audit took {s['elapsed_s']:.0f} s"
        return line

    def _settings_rows(self) -> list[tuple[str, str, str]]:
        return [
            (section, str(key), _setting(value))
            for section, values in self.settings.items()
            for key, value in values.items()
        ]

    def to_markdown(self) -> str:
        """The report as GitHub-flavoured Markdown: headline, verdict with reasons, and the table."""
        lines = [f"# {self._headline()}", ""]
        lines.append(f"**Verdict: {self.verdict.upper()}** — {_VERDICT_TEXT.get(self.verdict, '')}.")
        lines.append("")
        if self._estimate_line():
            lines += [self._estimate_line(), ""]
        for reason in self.reasons:
            lines.append(f"- {reason}")
        if self.reasons:
            lines.append("")
        lines.append("| " + " | ".join(_HEADER) + " |")
        lines.append("|" + "|".join(["---"] * len(_HEADER)) + "|")
        for row in self.table.itertuples(index=False):
            cells = [
                row.test,
                row.expected,
                _fmt(row.observed),
                _interval(row.pass_min, row.pass_max),
                _fmt(row.p_value),
                f"**{row.status}**" if row.status in ("fail", "warn") else row.status,
                row.reason,
            ]
            lines.append("| " + " | ".join(_markdown_cell(str(c)) for c in cells) + " |")
        lines.append("")
        if self.settings:
            lines += ["## Settings", "", "| | setting | value |", "|---|---|---|"]
            lines += [
                "| " + " | ".join(_markdown_cell(c) for c in cells) + " |" for cells in self._settings_rows()
            ]
            lines.append("")
        return "\n".join(lines)

    def to_html(self, plots: bool = False) -> str:
        """The report as an HTML fragment (a ``<div>``); ``plots=True`` embeds :meth:`plot` as a PNG."""
        esc = html.escape
        colour = _STATUS_COLOURS
        verdict_colour = {"pass": colour["pass"], "caution": colour["warn"], "fail": colour["fail"]}.get(
            self.verdict, colour["info"]
        )
        out = [
            '<div class="dowhy-e2b-audit" style="font-family: sans-serif; max-width: 70em;">',
            f"<h3>{esc(self._headline())}</h3>",
            f'<p><span style="background:{verdict_colour}; color:white; padding:0.15em 0.6em; '
            f'border-radius:0.3em; font-weight:bold;">{esc(self.verdict.upper())}</span> '
            f"{esc(_VERDICT_TEXT.get(self.verdict, ''))}.</p>",
        ]
        if self._estimate_line():
            out.append(f"<p>{esc(self._estimate_line())}</p>")
        if self.reasons:
            out.append("<ul>" + "".join(f"<li>{esc(r)}</li>" for r in self.reasons) + "</ul>")
        header = _HEADER
        out.append('<table style="border-collapse: collapse; font-size: 0.9em;">')
        out.append(
            "<thead><tr>"
            + "".join(
                f'<th style="text-align:left; border-bottom:1px solid #999; padding:0.2em 0.5em;">{h}</th>'
                for h in header
            )
            + "</tr></thead><tbody>"
        )
        for row in self.table.itertuples(index=False):
            cells = [
                esc(str(row.test)),
                esc(str(row.expected)),
                esc(_fmt(row.observed)),
                esc(_interval(row.pass_min, row.pass_max)),
                esc(_fmt(row.p_value)),
                f'<span style="color:{colour.get(row.status, "#000")}; font-weight:bold;">'
                f"{esc(row.status)}</span>",
                esc(str(row.reason)),
            ]
            out.append(
                "<tr>"
                + "".join(
                    f'<td style="text-align:left; vertical-align:top; border-bottom:1px solid #ddd; '
                    f'padding:0.2em 0.5em;">{c}</td>'
                    for c in cells
                )
                + "</tr>"
            )
        out.append("</tbody></table>")
        if self.settings:
            out.append("<details><summary>Settings, parameters and versions</summary>")
            out.append('<table style="border-collapse: collapse; font-size: 0.85em;">')
            for section, key, value in self._settings_rows():
                out.append(
                    f'<tr style="vertical-align:top;"><td style="padding:0.1em 0.5em; color:#57606a;">'
                    f"{esc(section)}</td>"
                    f'<td style="padding:0.1em 0.5em;">{esc(key)}</td>'
                    f'<td style="padding:0.1em 0.5em;">{esc(value)}</td></tr>'
                )
            out.append("</table></details>")
        if plots and (self.curve is not None or self.balance is not None or self.weights is not None):
            out.append(
                '<p><img alt="audit plots" style="max-width:100%;" '
                f'src="data:image/png;base64,{self._png()}"/></p>'
            )
        out.append("</div>")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def save(self, path: str | Path, plots: bool = True) -> Path:
        """Write the report: ``.md`` as Markdown, ``.html``/``.htm`` as a standalone HTML page.

        ``plots=True`` embeds the figure in HTML pages (Markdown stays text-only).
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".md":
            path.write_text(self.to_markdown(), encoding="utf-8")
        elif suffix in (".html", ".htm"):
            page = (
                '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
                f"<title>{html.escape(self._headline())}</title></head><body>\n"
                f"{self.to_html(plots=plots)}\n</body></html>\n"
            )
            path.write_text(page, encoding="utf-8")
        else:
            raise ValueError(f"cannot tell the format of {str(path)!r}: use a .md or .html file name.")
        return path

    # -- plots ----------------------------------------------------------------------------------
    def plot(self, figsize: tuple[float, float] | None = None) -> Any:
        """A figure with the dose-response curve, the love plot and the weight distribution.

        Panels whose data the audited estimator does not provide are left out.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        from .plotting import plot_balance, plot_dose_response, plot_weights

        panels = [
            name
            for name, data in (("curve", self.curve), ("balance", self.balance), ("weights", self.weights))
            if data is not None and len(data)
        ]
        if not panels:
            raise ValueError("this report has nothing to plot (no curve, balance table or weights).")
        if len(panels) == 3:  # the curve across the top, the two weight diagnostics below
            fig = plt.figure(figsize=figsize or (11.0, 8.5), layout="constrained")
            grid = fig.add_gridspec(2, 2, height_ratios=[1.0, 1.1])
            axes = [fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])]
        else:
            fig, row = plt.subplots(
                1,
                len(panels),
                figsize=figsize or (5.5 * len(panels), 4.4),
                squeeze=False,
                layout="constrained",
            )
            axes = list(row[0])
        for ax, name in zip(axes, panels, strict=True):
            if name == "curve":
                curve = self.curve.copy()  # type: ignore[union-attr]
                curve.attrs["confidence_level"] = self.summary.get("confidence_level")
                plot_dose_response(
                    curve,
                    ax=ax,
                    treatment=self.treatment_values,
                    label=str(self.summary.get("method", "estimate")),
                    xlabel=str(self.summary.get("treatment", "treatment")),
                    ylabel=f"mean {self.summary.get('outcome', 'outcome')}",
                )
                ax.set_title("Dose-response curve")
            elif name == "balance":
                plot_balance(self.balance, ax=ax, threshold=self.summary.get("balance_threshold", 0.1))
            else:
                plot_weights(self.weights, ax=ax)
        fig.suptitle(f"{self._headline()} — verdict: {self.verdict}", fontsize=11)
        return fig

    def _png(self) -> str:
        import matplotlib.pyplot as plt

        fig = self.plot()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
        plt.close(fig)
        return base64.b64encode(buffer.getvalue()).decode("ascii")
