"""Self-contained HTML pages: headings, paragraphs, tables and figures (base64 PNG or inline SVG).

A page references nothing outside itself (no scripts, style sheets, fonts or images by URL), so it opens
offline, without JavaScript, and can be mailed as one file.
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

from imurehab.report.figures import figure_png, figure_svg

__all__ = ["Section", "html_page", "html_table"]

_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:.25em .6em;"
    "text-align:right}th{background:#f0f0f0}td:first-child,th:first-child,.text{text-align:left}"
    "img,svg{max-width:100%;height:auto}.note{color:#555;font-size:.9em}"
    "caption{text-align:left;font-weight:bold;padding:.25em 0}"
    "footer{margin-top:2em;color:#555;font-size:.85em}"
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
        Figures shown in order, embedded as PNG (or inline SVG, see ``svg``).
    note : str or None
        A plain-text note in smaller print under the section.
    anchor : str or None
        Id of the section's ``<section>`` element (letters, digits, ``-``, ``_``), to link to it;
        ``None`` puts the content straight in the page, without a ``<section>``.
    table_captions : tuple of str
        Captions of the first tables, in order (plain text); tables beyond them have none.
    svg : bool
        Embed the figures as inline SVG (text as text, sharp at any zoom) instead of PNG images.
    figure_labels : tuple of str
        What each figure shows, for screen readers (``alt``/``aria-label``), in order; default "chart".
    """

    heading: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[pl.DataFrame, ...] = ()
    figures: tuple[Figure, ...] = ()
    note: str | None = None
    anchor: str | None = None
    table_captions: tuple[str, ...] = ()
    svg: bool = False
    figure_labels: tuple[str, ...] = ()


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return html.escape(str(value))


def _is_text(column: pl.Series) -> bool:
    """A column of words (left-aligned), not of numbers: strings with a letter in them."""
    return column.dtype == pl.String and bool(column.str.contains(r"[A-Za-z]").any())


def html_table(df: pl.DataFrame, caption: str | None = None) -> str:
    """An HTML ``<table>`` of a DataFrame (values escaped; floats to 3 significant digits, NaN blank).

    Numbers are right-aligned; columns of text (strings with letters) left-aligned, like the first.

    Parameters
    ----------
    df : polars.DataFrame
        The rows.
    caption : str, optional
        The table's caption (plain text).
    """
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    attrs = [' class="text"' if _is_text(df.get_column(c)) else "" for c in df.columns]
    head = "".join(f"<th{a}>{html.escape(c)}</th>" for c, a in zip(df.columns, attrs, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td{a}>{_cell(v)}</td>" for v, a in zip(row, attrs, strict=True)) + "</tr>"
        for row in df.iter_rows()
    )
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(fig: Figure, label: str) -> str:
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    return f'<img alt="{html.escape(label)}" src="data:image/png;base64,{data}">'


def _section(s: Section, number: int) -> list[str]:
    parts = [f"<h2>{html.escape(s.heading)}</h2>"]
    parts.extend(f"<p>{html.escape(p)}</p>" for p in s.paragraphs)
    captions = (*s.table_captions, *([None] * len(s.tables)))
    parts.extend(html_table(t, c) for t, c in zip(s.tables, captions, strict=False))
    labels = (*s.figure_labels, *(["chart"] * len(s.figures)))
    for k, (fig, label) in enumerate(zip(s.figures, labels, strict=False)):
        prefix = f"{s.anchor or f's{number}'}-fig{k}"
        parts.append(figure_svg(fig, id_prefix=prefix, label=label) if s.svg else _img(fig, label))
    if s.note:
        parts.append(f'<p class="note">{html.escape(s.note)}</p>')
    if s.anchor is None:
        return parts
    return [f'<section id="{html.escape(s.anchor)}">', *parts, "</section>"]


def html_page(title: str, sections: Sequence[Section], *, footer: str | None = None) -> str:
    """A complete, self-contained HTML document.

    Parameters
    ----------
    title : str
        Page title and first heading (plain text).
    sections : sequence of Section
        The page's content in order.
    footer : str, optional
        Plain text in a ``<footer>`` at the end (e.g. provenance).

    Returns
    -------
    str
        The document (UTF-8 text); figures are inline ``data:`` PNG images or inline SVG.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for number, s in enumerate(sections):
        parts.extend(_section(s, number))
    if footer:
        parts.append(f"<footer>{html.escape(footer)}</footer>")
    parts.append("</body></html>")
    return "\n".join(parts)
