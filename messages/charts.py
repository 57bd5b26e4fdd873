"""KPI trend charts as PNG (matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

import io
from datetime import datetime


class ChartError(ValueError):
    """The measurements cannot be drawn (a value too large for the plotting library, for instance)."""


def kpi_trend_png(series: dict[str, list[tuple[datetime, float]]], thresholds: dict[str, float | None],
                  labels: dict[str, str], title: str) -> bytes:
    """Draw one small panel per KPI (its measurements, its threshold dashed); ChartError if they cannot be drawn."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    names = list(labels)
    figure, axes = pyplot.subplots(len(names), 1, figsize=(7, 1.6 * len(names)), sharex=True, squeeze=False)
    try:
        for axis, name in zip(axes[:, 0], names, strict=True):
            points = series.get(name, [])
            if points:
                axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3, linewidth=1.5)
            else:
                axis.text(0.5, 0.5, "no measurements", transform=axis.transAxes, ha="center", va="center",
                          color="grey")
            threshold = thresholds.get(name)
            if threshold is not None:
                axis.axhline(threshold, color="firebrick", linestyle="--", linewidth=1)
            axis.set_ylabel(labels[name], fontsize=7, rotation=0, ha="right", va="center")
            axis.tick_params(labelsize=7)
            axis.grid(alpha=0.3)
        locator = AutoDateLocator()
        axes[-1, 0].xaxis.set_major_locator(locator)
        axes[-1, 0].xaxis.set_major_formatter(ConciseDateFormatter(locator))
        figure.suptitle(title, fontsize=9)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110)
        return buffer.getvalue()
    except Exception as exc:
        # matplotlib fails in many ways on extreme values (ValueError, OverflowError, ...); callers need one.
        raise ChartError(f"the KPI chart cannot be drawn: {type(exc).__name__}: {exc}") from exc
    finally:
        pyplot.close(figure)


def distribution_png(columns: list[str], psi: list[float], ks: list[float], threshold: float, title: str) -> bytes:
    """Issue 17: one bar per compared column, its PSI (the threshold dashed) and its KS statistic; ChartError."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(8, 0.35 * len(columns) + 1.6), sharey=True)
    try:
        places = list(range(len(columns)))
        colours = ["firebrick" if value > threshold else "steelblue" for value in psi]
        left.barh(places, psi, color=colours)
        left.axvline(threshold, color="firebrick", linestyle="--", linewidth=1)
        left.set_yticks(places, labels=columns, fontsize=7)
        left.invert_yaxis()
        left.set_title("population stability index", fontsize=8)
        right.barh(places, ks, color="grey")
        right.set_xlim(0, 1)
        right.set_title("Kolmogorov-Smirnov statistic", fontsize=8)
        for axis in (left, right):
            axis.tick_params(labelsize=7)
            axis.grid(alpha=0.3, axis="x")
        figure.suptitle(title, fontsize=9)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110)
        return buffer.getvalue()
    except Exception as exc:
        raise ChartError(f"the distribution chart cannot be drawn: {type(exc).__name__}: {exc}") from exc
    finally:
        pyplot.close(figure)
