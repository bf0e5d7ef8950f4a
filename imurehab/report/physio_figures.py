"""The physio report's charts: a set's angle over time, its ROM per repetition, and ROM across sessions.

Drawn to show evidence, not verdicts: error bars are the standard uncertainty (one standard deviation),
targets and tolerances are lines and bands labelled with their numbers, and the progress chart shows the
minimal detectable change (MDC95) as a band around the previous session's mean, so a reader sees whether
a change leaves it. Neutral colours, no traffic lights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from imurehab.report.figures import new_figure
from imurehab.report.physio_data import RepSet
from imurehab.store import schema as col

__all__ = ["MAX_TRACE_POINTS", "angle_figure", "envelope", "progress_figure", "rom_figure"]

MAX_TRACE_POINTS: Final[int] = 4000
"""Most points an angle trace is drawn with; longer traces are reduced to their min/max envelope."""

_TRACE: Final = "#1f4e79"
_FLAGGED: Final = "#b35900"
_BAND: Final = "0.85"

FloatArray = npt.NDArray[np.float64]


def envelope(
    t: FloatArray, y: FloatArray, max_points: int = MAX_TRACE_POINTS
) -> tuple[FloatArray, FloatArray]:
    """A trace reduced to at most ``max_points`` points that keep every peak: each bucket's min and max.

    Parameters
    ----------
    t, y : ndarray, shape (N,)
        Times (increasing) and values; NaN values are ignored within a bucket.
    max_points : int
        Most points returned (at least 2).

    Returns
    -------
    (t, y) : tuple of ndarray
        Unchanged when ``N <= max_points``; else two points per bucket at the bucket's middle time,
        its smallest and its largest value (drawn as a vertical stroke narrower than a pixel).

    Examples
    --------
    >>> t = np.arange(10.0)
    >>> envelope(t, t % 3, max_points=4)
    (array([2., 2., 7., 7.]), array([0., 2., 0., 2.]))
    """
    n = len(t)
    if n <= max_points:
        return t, y
    buckets = max(1, max_points // 2)
    starts = np.linspace(0, n, buckets + 1).astype(np.int64)[:-1]
    ends = np.append(starts[1:], n) - 1
    mid = (t[starts] + t[ends]) / 2
    lo, hi = np.fmin.reduceat(y, starts), np.fmax.reduceat(y, starts)
    return np.repeat(mid, 2), np.column_stack([lo, hi]).ravel()


def _angle_name(rep_set: RepSet) -> str:
    return f"{rep_set.label} {rep_set.dof.removesuffix('_deg')} [deg]"


def _target_band(ax: Axes, rep_set: RepSet) -> None:
    """The template's target angle as a dashed line, its tolerance as a band on the short side."""
    template = rep_set.template
    if template is None or template.target_deg is None:
        return
    target, tol = template.target_deg, template.tolerance_deg
    short_side = target - tol if template.direction == "increase" else target + tol
    label = f"target {target:g}° (tolerance {tol:g}°)"
    ax.axhspan(min(target, short_side), max(target, short_side), color=_BAND, alpha=0.6, lw=0)
    ax.axhline(target, color="0.3", linestyle="--", linewidth=1.0, label=label)


def _rep_number(r: dict[str, object]) -> str:
    return f"{r[col.REP]}*" if r[col.FLAGS] else str(r[col.REP])


def angle_figure(rep_set: RepSet, time_s: FloatArray, angle_deg: FloatArray) -> Figure:
    """The counted angle over the session, repetitions shaded and numbered (``*``: flagged).

    Parameters
    ----------
    rep_set : RepSet
        The set (its repetitions' times, its template's target).
    time_s, angle_deg : ndarray, shape (N,)
        Time from the session start [s] and the angle [deg] (:func:`~imurehab.report.physio_data.set_angles`).

    Returns
    -------
    matplotlib.figure.Figure
        One panel, on an Agg canvas.
    """
    fig = new_figure(10.0, 3.4)
    ax = fig.subplots()
    start = rep_set.start_time
    for r in rep_set.reps.iter_rows(named=True):
        a = (r[col.START] - start).total_seconds()
        b = (r[col.END] - start).total_seconds()
        flagged = bool(r[col.FLAGS])
        ax.axvspan(a, b, color=_FLAGGED if flagged else "0.6", alpha=0.15, lw=0)
        ax.text(
            (a + b) / 2, 1.0, _rep_number(r), transform=ax.get_xaxis_transform(), ha="center", va="bottom"
        )
    _target_band(ax, rep_set)
    t, y = envelope(time_s, angle_deg)
    ax.plot(t, y, color=_TRACE, linewidth=1.0, label=rep_set.dof.removesuffix("_deg"))
    ax.set_xlabel("time from the session start [s]")
    ax.set_ylabel(_angle_name(rep_set))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def rom_figure(rep_set: RepSet) -> Figure:
    """ROM per repetition with its uncertainty, and the angle each reached against the target.

    Parameters
    ----------
    rep_set : RepSet
        The set.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels (one without a template target angle), on an Agg canvas. Error bars: ± the standard
        uncertainty of each repetition's ROM (one standard deviation); hollow markers: flagged reps.
    """
    s, template = rep_set.summary, rep_set.template
    has_target = template is not None and template.target_deg is not None
    fig = new_figure(10.0, 3.2)
    axes: Sequence[Axes] = fig.subplots(1, 2) if has_target else [fig.subplots()]
    reps = np.asarray(s.reps)
    flagged = np.array([bool(f) for f in rep_set.reps.get_column(col.FLAGS).to_list()])
    ax = axes[0]
    for mask, face in ((~flagged, _TRACE), (flagged, "white")):
        ax.errorbar(
            reps[mask],
            np.asarray(s.rom_deg)[mask],
            yerr=np.asarray(s.rom_uncertainty_deg)[mask],
            fmt="o",
            color=_TRACE if face != "white" else _FLAGGED,
            markerfacecolor=face,
            capsize=3,
            label="flagged" if face == "white" else "ROM ± u",
        )
    if s.rom_mean_deg is not None:
        ax.axhline(
            s.rom_mean_deg, color="0.4", linewidth=0.8, linestyle=":", label=f"mean {s.rom_mean_deg:.1f}°"
        )
    if template is not None and template.target_rom_deg is not None:
        ax.axhline(
            template.target_rom_deg,
            color="0.3",
            linestyle="--",
            label=f"target ROM {template.target_rom_deg:g}°",
        )
    ax.set_title("ROM per repetition")
    ax.set_ylabel("ROM [deg]")
    if has_target:
        ax = axes[1]
        reached = rep_set.reps.get_column(col.MAX_DEG if template.direction == "increase" else col.MIN_DEG)
        _target_band(ax, rep_set)
        ax.plot(reps[~flagged], reached.to_numpy()[~flagged], "o", color=_TRACE, label="reached")
        ax.plot(
            reps[flagged],
            reached.to_numpy()[flagged],
            "o",
            color=_FLAGGED,
            markerfacecolor="white",
            label="flagged",
        )
        ax.set_title("End angle reached")
        ax.set_ylabel(_angle_name(rep_set))
    for ax in axes:
        ax.set_xlabel("repetition")
        ax.set_xticks(reps)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def progress_figure(sets: Sequence[RepSet]) -> Figure:
    """Mean ROM per session with its uncertainty, and the MDC95 band around the previous session's mean.

    Parameters
    ----------
    sets : sequence of RepSet
        One exercise, joint and side over sessions, oldest first.

    Returns
    -------
    matplotlib.figure.Figure
        One panel on an Agg canvas: a point per session (± the standard uncertainty of its mean ROM),
        and at each later session a grey bar spanning the previous mean ± the MDC95 used for the change:
        a point outside its bar changed by more than the MDC.
    """
    fig = new_figure(10.0, 3.4)
    ax = fig.subplots()
    x = np.arange(len(sets))
    means = np.array([np.nan if s.summary.rom_mean_deg is None else s.summary.rom_mean_deg for s in sets])
    u = np.array([s.summary.rom_mean_uncertainty_deg or 0.0 for s in sets])
    label: str | None = "previous mean ± MDC95"
    for i, s in enumerate(sets):
        if (c := s.summary.change) is not None:
            bottom = c.previous_rom_mean_deg - c.mdc_deg
            ax.bar(i, 2 * c.mdc_deg, bottom=bottom, width=0.5, color=_BAND, label=label)
            label = None
    ax.errorbar(x, means, yerr=u, fmt="o-", color=_TRACE, capsize=3, label="mean ROM ± u")
    ax.set_xticks(x, [f"{s.session}\n{s.start_time:%Y-%m-%d}" for s in sets])
    ax.set_xlim(-0.6, len(sets) - 0.4)
    ax.set_ylabel("mean ROM per repetition [deg]")
    ax.set_xlabel("session (start date, UTC)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return fig
