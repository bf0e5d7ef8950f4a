"""Cue events: what the live feedback engine tells the patient, one small immutable record each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["KINDS", "CueEvent"]

KINDS: Final[tuple[str, ...]] = (
    "calibrating",
    "ready",
    "rep",
    "deeper",
    "slower",
    "faster",
    "compensation",
    "heading",
)
"""Event kinds, in the order a set usually produces them.

- ``calibrating``: hold still in the template's pose (``values["stage"] == "static"``), then do one slow
  repetition (``"movement"``) so the joint's axes can be found.
- ``ready``: calibrated; ``values`` say how (hinge method, heading decision, checks watched).
- ``rep``: a repetition ended (back near rest): number, ROM, duration, peak angle, flags.
- ``deeper``: the repetition turned back short of the template's target (fired at the turn).
- ``slower`` / ``faster``: the repetition that just ended was quicker than ``min_rep_s`` / slower than
  ``max_rep_s``.
- ``compensation``: a watched segment moved more than the check allows since the repetition began
  (fired once per repetition and check, when it happens).
- ``heading``: a knee or elbow whose heading was first settled by an assumption (``ready``'s
  ``heading`` is not ``"lever-arms"`` or ``"hinge"``) was re-checked after a repetition and the lever
  arms decided: ``changed`` says whether the solution switched (the angles after it use the new one;
  events already sent stand).
"""


@dataclass(frozen=True)
class CueEvent:
    """One feedback event.

    Attributes
    ----------
    time_us : int
        Time of the sample that triggered it [µs since the Unix epoch, UTC], as pushed.
    kind : str
        One of :data:`KINDS`.
    text : str
        What to tell the patient (from the template's ``cues`` where it has one).
    values : Mapping of str to value
        Numbers behind the event, angles in degrees (``*_deg``) and durations in seconds (``*_s``);
        e.g. for ``rep``: ``rep``, ``rom_deg``, ``peak_deg``, ``start_deg``, ``duration_s``, ``flags``.
    """

    time_us: int
    kind: str
    text: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-ready dict.

        Returns
        -------
        dict
            ``{"event": "cue", "time": ISO 8601 UTC, "time_us", "kind", "text", "values"}``; tuples in
            ``values`` become lists.
        """
        when = datetime.fromtimestamp(self.time_us / 1e6, tz=UTC)
        return {
            "event": "cue",
            "time": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "time_us": int(self.time_us),
            "kind": self.kind,
            "text": self.text,
            "values": {k: list(v) if isinstance(v, tuple) else v for k, v in self.values.items()},
        }
