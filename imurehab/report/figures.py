"""Figures drawn with matplotlib's object API on the Agg canvas: no display, no global pyplot state.

Every function here builds or fills a :class:`matplotlib.figure.Figure` and returns it; nothing is
shown, nothing is fetched from the network. :func:`figure_png` renders a figure to PNG bytes (without the
software metadata chunk, so the bytes depend on the figure only); :func:`figure_svg` renders it as SVG
markup to put inside an HTML page (text as text, ids unique per figure, no URLs, same bytes every run).
"""

from __future__ import annotations

import html
import io
import re
from typing import Final

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["DPI", "figure_png", "figure_svg", "new_figure"]

DPI: Final[int] = 110
"""Resolution of rendered figures [dots per inch]."""


def new_figure(width_in: float, height_in: float) -> Figure:
    """An empty figure attached to an Agg canvas.

    Parameters
    ----------
    width_in, height_in : float
        Size [inches].
    """
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure) -> bytes:
    """The figure rendered as PNG bytes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure (e.g. from :func:`new_figure`).
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


# Matplotlib's SVG ids are "figure_1", "axes_1", ... in every figure, so two figures inline in one page
# would share ids; each figure's ids (and the references to them) get a prefix.
_SVG_ID: Final = re.compile(r'(\bid="|href="#|url\(#)')
# The XML prolog and doctype (with the DTD's URL) do not belong inside HTML; the HTML parser puts <svg> in
# the SVG namespace by itself, so the xmlns declarations (URLs too) go, and xlink:href becomes SVG 2 href.
_SVG_PROLOG: Final = re.compile(r"\A.*?(?=<svg\b)", re.S)
_SVG_XMLNS: Final = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')


def figure_svg(fig: Figure, *, id_prefix: str, label: str) -> str:
    """The figure as inline SVG markup for an HTML page.

    Text stays text (``svg.fonttype = "none"``: searchable, drawn in the reader's sans-serif font);
    element ids are deterministic and start with ``id_prefix``; the markup holds no URL.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure (e.g. from :func:`new_figure`).
    id_prefix : str
        Prefix of every element id, unique within the page (letters, digits, ``-``, ``_``).
    label : str
        What the figure shows, for screen readers (``aria-label``; plain text, escaped here).

    Returns
    -------
    str
        One ``<svg role="img" ...>`` element.

    Raises
    ------
    ValueError
        If ``id_prefix`` is empty or has other characters.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", id_prefix):
        raise ValueError(f"id_prefix must be a letter then letters, digits, '-' or '_', got {id_prefix!r}")
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": id_prefix}):
        fig.savefig(
            buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
        )
    svg = _SVG_XMLNS.sub("", _SVG_PROLOG.sub("", buffer.getvalue(), count=1))
    svg = _SVG_ID.sub(lambda m: m.group(1) + id_prefix + "-", svg.replace("xlink:href=", "href="))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1).strip()
