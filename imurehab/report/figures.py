"""Figures drawn with matplotlib's object API on the Agg canvas: no display, no global pyplot state.

Every function here builds or fills a :class:`matplotlib.figure.Figure` and returns it; nothing is
shown, nothing is fetched from the network. :func:`figure_png` renders a figure to PNG bytes (without the
software metadata chunk, so the bytes depend on the figure only).
"""

from __future__ import annotations

import io
from typing import Final

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["DPI", "figure_png", "new_figure"]

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
