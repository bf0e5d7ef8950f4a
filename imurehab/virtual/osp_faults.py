"""The fault grammar of virtual OSP scenarios (the CLI's ``--fault TEXT``), parsed into :class:`Fault`.

Six kinds. Four are *events* a virtual OSP sensor fires once each, at the first of two triggers:

- ``link-drop@SECONDS``: the radio link drops (both sides see a supervision timeout).
- ``reboot@SECONDS``: the sensor reboots (new boot id, clock restarts, an open log becomes INTERRUPTED).
- ``silent@SECONDS``: the link goes silent (notifications lost), then drops a supervision timeout later.
- ``overflow@SECONDS``: the radio stalls long enough for the live-stream TX queue to overflow: the device
  drops frames and flags the next one GAP_BEFORE (live streaming only).

The triggers of an event at ``SECONDS``:

- **log download** (a sync runs faster than real time): the first CHUNK the device sends that covers the
  first byte of the first DATA frame holding a sample ``SECONDS`` or more into the session (counted in
  samples: ``round(SECONDS × rate)``) fires it, right after that CHUNK is put on the air;
- **live streaming**: the first moment the sensor is streaming at air time ``SECONDS`` or later (air time:
  seconds since the virtual air was opened).

Two kinds are *conditions* of the whole run:

- ``loss=FRACTION``: each notification is lost on the air with this probability (seeded, in [0, 1)).
- ``drift-ppm=X``: each sensor's clock drift is drawn (seeded) in ±X ppm, with random clock offsets.

Examples
--------
>>> parse_fault("link-drop@12.5")
Fault(kind='link-drop', value=12.5)
>>> str(parse_fault(" loss=0.02 ")), parse_fault("reboot@30").is_event
('loss=0.02', True)
>>> parse_fault("loss=2")
Traceback (most recent call last):
...
imurehab.errors.DataValidationError: bad fault 'loss=2': FRACTION must be in [0, 1), got 2
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from imurehab.errors import DataValidationError

__all__ = ["EVENT_KINDS", "FAULT_GRAMMAR", "Fault", "parse_fault"]

EVENT_KINDS: Final = ("link-drop", "reboot", "silent", "overflow")
"""Fault kinds that are one-off events (``KIND@SECONDS``)."""
_CONDITIONS: Final = {"loss": "FRACTION", "drift-ppm": "X"}
FAULT_GRAMMAR: Final = (
    "link-drop@SECONDS, reboot@SECONDS, silent@SECONDS, overflow@SECONDS, loss=FRACTION, drift-ppm=X"
)
"""The accepted texts, for help and error messages."""
_MAX_DRIFT_PPM: Final = 10_000.0


@dataclass(frozen=True)
class Fault:
    """One fault of a virtual scenario.

    Attributes
    ----------
    kind : str
        ``"link-drop"``, ``"reboot"``, ``"silent"``, ``"overflow"`` (events), ``"loss"`` or ``"drift-ppm"``.
    value : float
        Events: the trigger [s] (log seconds in a download, air seconds in a stream). ``loss``: the
        fraction of notifications lost. ``drift-ppm``: the largest |drift| [ppm].
    """

    kind: str
    value: float

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS and self.kind not in _CONDITIONS:
            raise DataValidationError(f"unknown fault kind {self.kind!r}; expected one of: {FAULT_GRAMMAR}")
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise DataValidationError(f"fault {self.kind}: value must be a finite number, got {v!r}")
        if self.kind == "loss" and not 0.0 <= v < 1.0:
            raise DataValidationError(f"FRACTION must be in [0, 1), got {v:g}")
        if self.kind == "drift-ppm" and not 0.0 <= v <= _MAX_DRIFT_PPM:
            raise DataValidationError(f"X must be in [0, {_MAX_DRIFT_PPM:g}] ppm, got {v:g}")
        if self.kind in EVENT_KINDS and v < 0.0:
            raise DataValidationError(f"SECONDS must be >= 0, got {v:g}")

    @property
    def is_event(self) -> bool:
        """Whether this is a one-off event (link drop, reboot, silent loss, overflow)."""
        return self.kind in EVENT_KINDS

    def __str__(self) -> str:
        sep = "@" if self.is_event else "="
        return f"{self.kind}{sep}{self.value:g}"


def parse_fault(text: str) -> Fault:
    """Parse one ``--fault`` text.

    Parameters
    ----------
    text : str
        ``link-drop@SECONDS``, ``reboot@SECONDS``, ``silent@SECONDS``, ``overflow@SECONDS``,
        ``loss=FRACTION`` or ``drift-ppm=X`` (surrounding blanks ignored; SECONDS ≥ 0 [s],
        0 ≤ FRACTION < 1, 0 ≤ X ≤ 10000 [ppm]).

    Returns
    -------
    Fault
        The fault.

    Raises
    ------
    imurehab.errors.DataValidationError
        On any other text, with the accepted grammar in the message.
    """
    if not isinstance(text, str):
        raise DataValidationError(f"a fault must be text like 'link-drop@30', got {type(text).__name__}")
    raw = text.strip()
    for kind in EVENT_KINDS:
        if raw.startswith(kind + "@"):
            return _build(text, kind, raw[len(kind) + 1 :], "SECONDS")
    for kind, name in _CONDITIONS.items():
        if raw.startswith(kind + "="):
            return _build(text, kind, raw[len(kind) + 1 :], name)
    raise DataValidationError(f"bad fault {text!r}: expected one of {FAULT_GRAMMAR}")


def _build(text: str, kind: str, number: str, name: str) -> Fault:
    try:
        value = float(number)
    except ValueError:
        raise DataValidationError(f"bad fault {text!r}: {name} must be a number, got {number!r}") from None
    try:
        return Fault(kind, value)
    except DataValidationError as err:
        raise DataValidationError(f"bad fault {text!r}: {err}") from None
