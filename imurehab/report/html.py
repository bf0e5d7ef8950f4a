"""Self-contained HTML pages: headings, paragraphs, tables and figures embedded as base64 PNG.

A page references nothing outside itself (no scripts, style sheets, fonts or images by URL), so it opens
offline and can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import polars as pl
from matplotlib.figure import Figure

from imurehab.report.figures import figure_png

__all__ = ["Section", "html_page", "html_table"]

_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:.25em .6em;"
    "text-align:right}th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%}.note{color:#555;font-size:.9em}"
)


@dataclass(frozen=True)
class Section:
    """One part of a page.

    Attributes
    ----------
    heading : str
        Section heading (plain text).
    paragraphs : tuple of str
        Plain-text paragraphs (escaped).
    tables : tuple of polars.DataFrame
        Tables shown in order.
    figures : tuple of matplotlib.figure.Figure
        Figures shown in order, embedded as PNG.
    note : str or None
        A plain-text note in smaller print under the section.
    """

    heading: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[pl.DataFrame, ...] = ()
    figures: tuple[Figure, ...] = ()
    note: str | None = None


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return html.escape(str(value))


def html_table(df: pl.DataFrame) -> str:
    """An HTML ``<table>`` of a DataFrame (values escaped; floats to 3 significant digits, NaN blank).

    Parameters
    ----------
    df : polars.DataFrame
        The rows.
    """
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in df.iter_rows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(fig: Figure) -> str:
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def html_page(title: str, sections: Sequence[Section]) -> str:
    """A complete, self-contained HTML document.

    Parameters
    ----------
    title : str
        Page title and first heading (plain text).
    sections : sequence of Section
        The page's content in order.

    Returns
    -------
    str
        The document (UTF-8 text); figures are inline ``data:`` PNG images.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.heading)}</h2>")
        parts.extend(f"<p>{html.escape(p)}</p>" for p in s.paragraphs)
        parts.extend(html_table(t) for t in s.tables)
        parts.extend(_img(f) for f in s.figures)
        if s.note:
            parts.append(f'<p class="note">{html.escape(s.note)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)
