"""What Steward says about data distribution comparisons (issue 17): the table, the chart, the evidence line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.distribution import Comparison, DistributionError
from messages.charts import distribution_png
from messages.render import Message, local_time, mrkdwn_escape, render

TABLE_ROWS = 25  # columns shown in the channel's table (the API's answer has them all)
CHART_COLUMNS = 50  # columns drawn in the chart
SEED = ("Stage 1: the readiness assessment must include a data distribution comparison between pilot training data "
        "and expected production data before any production commitment is made.")


def summary(comparison: Comparison) -> str:
    """One line: how many columns were compared and which shifted (the API answer and the audit keep it)."""
    count = len(comparison.columns)
    shifted = comparison.shifted
    return (f"{count} column{'s' if count != 1 else ''} compared; "
            + (f"shifted (PSI above {comparison.threshold:g}): {', '.join(shifted)}" if shifted else
               f"none shifted (PSI at most {comparison.threshold:g})"))


def _cell(text: str, width: int) -> str:
    text = text.replace("`", "'")  # a backtick would end the code block
    return text if len(text) <= width else text[:width - 1] + "…"


def _number(value: float) -> str:
    return f"{value:.4g}"


def table(comparison: Comparison, *, key: str, number: int, at: datetime, timezone: str) -> Message:
    """The table posted in the initiative's channel; the chart follows in its thread."""
    rows = [f"{'column':<24} {'pilot n':>8} {'prod n':>8} {'pilot mean':>11} {'prod mean':>11} {'PSI':>7} "
            f"{'KS':>6}"]
    for column in comparison.columns[:TABLE_ROWS]:
        flag = "  shifted" if column.shifted else ""
        rows.append(f"{_cell(column.column, 24):<24} {column.pilot_n:>8} {column.production_n:>8} "
                    f"{_number(column.pilot_mean):>11} {_number(column.production_mean):>11} "
                    f"{column.psi:>7.3f} {column.ks:>6.3f}{flag}")
    more = len(comparison.columns) - TABLE_ROWS
    if more > 0:
        rows.append(f"… and {more} more columns (in the API's answer)")
    left_out = []
    if comparison.skipped:
        left_out.append("not compared (not numeric in both, or too few values): " + ", ".join(comparison.skipped))
    if comparison.only_pilot:
        left_out.append("only in the pilot sample: " + ", ".join(comparison.only_pilot))
    if comparison.only_production:
        left_out.append("only in the production sample: " + ", ".join(comparison.only_production))
    icon = ":warning:" if comparison.shifted else ":white_check_mark:"
    head = (f"{icon} *Data distribution comparison {number}* for `{key}` ({local_time(at, timezone)}): "
            f"pilot {comparison.pilot_rows} rows, production {comparison.production_rows} rows; "
            + mrkdwn_escape(summary(comparison)) + ".")
    body = "```" + mrkdwn_escape("\n".join(rows)) + "```"
    notes = mrkdwn_escape("; ".join(left_out)) if left_out else ""
    return render("distribution_table", text=f"Data distribution comparison for {key}: {summary(comparison)}",
                  head=head, table=body, notes=notes,
                  context_line=SEED + f" Recorded as the evidence of the `data` readiness dimension; mark it with "
                                      f"`/steward readiness {key} data ready` (or `not-ready`).")


def chart(comparison_columns: Sequence[dict], threshold: float, *, key: str, number: int) -> tuple[bytes, str, str]:
    """The chart attachment (PNG, file name, title), drawn when it is sent; ChartError when it cannot be."""
    drawn = list(comparison_columns)[:CHART_COLUMNS]
    png = distribution_png([c["column"] for c in drawn], [c["psi"] for c in drawn], [c["ks"] for c in drawn], threshold,
                           f"{key}: pilot against production, comparison {number}")
    return png, f"{key}-distribution-{number}.png", f"Data distribution of {key}"


def chart_placeholder() -> Message:
    return Message("Data distribution chart", [])


def api_error(error: DistributionError) -> dict:
    return {"error": error.message, "field": error.field}


def refused_without_comparison(key: str) -> str:
    """`readiness <key> data ready` with neither evidence nor a computed comparison."""
    return (f"The *data reliability* dimension of `{key}` can be marked ready only with a data distribution "
            "comparison on record (Stage 1 asks for one before any production commitment): give it as the evidence, "
            f"`/steward readiness {key} data ready <link or text of the comparison>`, or have Steward compute one with "
            f"`POST /api/v1/initiatives/{key}/distribution` (the pilot and production CSV samples).")


def evidence_of(number: int, at: datetime, timezone: str, *, columns: int, shifted: Sequence[str]) -> str:
    """The readiness evidence that names the computed comparison it rests on."""
    found = f"shifted: {', '.join(shifted)}" if shifted else "none shifted"
    return f"distribution comparison {number} of {local_time(at, timezone)}: {columns} columns compared; {found}"
