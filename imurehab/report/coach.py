"""The coach's comparison chart and page: weekly load per athlete, station splits, ACWR lines.

Drawn descriptively: one neutral colour per athlete, no risk bands, badges or traffic-light colours (the
ACWR's published thresholds have not held up; see :mod:`imurehab.analysis.acwr`). The caveat is printed
under the ratios.
"""

from __future__ import annotations

import os
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from imurehab.analysis.acwr import ACWR_CAVEAT, ACWR_SOURCES
from imurehab.report.figures import figure_png, new_figure
from imurehab.report.html import Section, html_page

if TYPE_CHECKING:
    from imurehab.training.compare import AthleteComparison

__all__ = ["comparison_figure", "comparison_page", "write_comparison"]


def _grouped_bars(ax: Axes, wide: pl.DataFrame, labels: list[str], athletes: tuple[str, ...]) -> None:
    """Bars of each athlete side by side for each row of ``wide`` (first column: the row labels)."""
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(athletes))
    for i, athlete in enumerate(athletes):
        values = wide.get_column(athlete).fill_null(0.0).to_numpy()
        ax.bar(x + (i - (len(athletes) - 1) / 2) * width, values, width, label=athlete)
    ax.set_xticks(
        x, labels, rotation=30 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center"
    )
    ax.legend(title="athlete", fontsize="small")
    ax.grid(axis="y", alpha=0.3)


def _acwr_lines(ax: Axes, comparison: AthleteComparison) -> None:
    daily = comparison.daily
    colours = [f"C{i}" for i in range(len(comparison.athletes))]
    for athlete, colour in zip(comparison.athletes, colours, strict=True):
        rows = daily.filter(pl.col("subject") == athlete)
        days = rows.get_column("date").to_list()
        ax.plot(
            days, rows.get_column("acwr_rolling").to_numpy(), color=colour, label=f"{athlete} rolling 7:28"
        )
        ax.plot(
            days,
            rows.get_column("acwr_ewma").to_numpy(),
            color=colour,
            linestyle="--",
            label=f"{athlete} EWMA",
        )
    ax.axhline(1.0, color="0.5", linewidth=0.8, linestyle=":", label="acute = chronic")
    ax.set_ylabel("acute:chronic ratio")
    ax.legend(fontsize="small", ncols=2)
    ax.grid(alpha=0.3)
    if daily.height:
        first, last = daily.get_column("date").min(), daily.get_column("date").max()
        ax.set_xlim(first, max(last, first + timedelta(days=1)))
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if not np.isfinite(daily.select(pl.col("acwr_rolling", "acwr_ewma")).to_numpy()).any():
        ax.text(0.5, 0.5, "fewer than 28 days of history: no ratio yet", transform=ax.transAxes, ha="center")


def comparison_figure(comparison: AthleteComparison) -> Figure:
    """One figure: weekly load per athlete, station splits side by side (when labelled), ACWR lines.

    Parameters
    ----------
    comparison : AthleteComparison
        From :func:`imurehab.training.compare_athletes`.

    Returns
    -------
    matplotlib.figure.Figure
        Two or three panels, on an Agg canvas.
    """
    has_stations = comparison.stations.height > 0
    n = 3 if has_stations else 2
    fig = new_figure(10.0, 3.4 * n)
    axes = fig.subplots(n, 1)
    unit = f"{comparison.metric} [{comparison.unit}]"
    weekly = comparison.weekly_table()
    ax = axes[0]
    _grouped_bars(ax, weekly, [d.isoformat() for d in weekly.get_column("week")], comparison.athletes)
    ax.set_title("Weekly load (weeks from Monday, UTC)")
    ax.set_ylabel(unit)
    if has_stations:
        stations = comparison.station_table()
        ax = axes[1]
        _grouped_bars(ax, stations, stations.get_column("station").to_list(), comparison.athletes)
        ax.set_title("Load per station")
        ax.set_ylabel(unit)
    ax = axes[-1]
    _acwr_lines(ax, comparison)
    ax.set_title("Acute:chronic workload ratio (descriptive; see the caveat)")
    ax.set_xlabel(textwrap.fill(ACWR_CAVEAT, 150), fontsize=7, loc="left")
    return fig


def comparison_page(comparison: AthleteComparison) -> str:
    """A self-contained HTML page of the comparison: tables, the chart, the ACWR caveat and sources.

    Parameters
    ----------
    comparison : AthleteComparison
        From :func:`imurehab.training.compare_athletes`.
    """
    unit = f"{comparison.metric} [{comparison.unit}]"
    sections = [
        Section(f"Weekly load, {unit}", tables=(comparison.weekly_table(),)),
    ]
    if comparison.stations.height:
        sections.append(Section(f"Load per station, {unit}", tables=(comparison.station_table(),)))
    ratios = comparison.latest_acwr().drop("load")
    sections.append(
        Section(
            "Acute:chronic workload ratio (latest day)",
            paragraphs=(ACWR_CAVEAT,),
            tables=(ratios,),
            note="Sources: " + "; ".join(ACWR_SOURCES),
        )
    )
    sections.append(
        Section(
            "Chart",
            figures=(comparison_figure(comparison),),
            note="One sensor per session counts (trunk, else pelvis, else the first sensor id).",
        )
    )
    return html_page(f"Training load: {', '.join(comparison.athletes)}", sections)


def write_comparison(comparison: AthleteComparison, path: str | os.PathLike[str]) -> Path:
    """Write the comparison chart as ``.png`` or a self-contained ``.html`` page.

    Parameters
    ----------
    comparison : AthleteComparison
        From :func:`imurehab.training.compare_athletes`.
    path : str or os.PathLike
        Output file; its suffix (``.png`` or ``.html``/``.htm``) chooses the format.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        If the suffix is neither.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        path.write_bytes(figure_png(comparison_figure(comparison)))
    elif suffix in (".html", ".htm"):
        path.write_text(comparison_page(comparison), encoding="utf-8")
    else:
        raise ValueError(f"{path}: write .png or .html, not {suffix or 'no suffix'!r}")
    return path
