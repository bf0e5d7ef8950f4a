"""What a sync or a stream did, per sensor: samples, gaps, bytes, CRC verification, clock, errors.

:func:`~imurehab.ble.sync` returns a :class:`SyncReport` and calls its ``progress`` callback with
:class:`SyncProgress` events; :func:`~imurehab.ble.stream` returns a :class:`StreamReport`. Every report
has ``to_json()`` (JSON-ready dicts for ``--json``) and a ``complete`` property (the CLI exits 3 when it
is False). Errors are kept as the exception raised for that sensor: ``str(error)`` is one line for a
person, ``error.reason`` is for a program.

Examples
--------
>>> r = SensorReport(address="F1:00:00:00:00:01", sessions=[SessionResult(1, 0xBEEF, "CLOSED", 140)])
>>> r.complete, r.to_json()["error"]
(False, None)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imurehab.align import SensorAlignment
from imurehab.ble.clock import ClockModel
from imurehab.errors import ImurehabError, SyncIncompleteError

__all__ = [
    "Gap",
    "SensorReport",
    "SessionResult",
    "StreamReport",
    "StreamSensorReport",
    "SyncProgress",
    "SyncReport",
]


def _error_json(err: BaseException | None) -> dict[str, Any] | None:
    if err is None:
        return None
    return {"type": type(err).__name__, "reason": getattr(err, "reason", None), "message": str(err)}


def _number(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else x


@dataclass(frozen=True)
class SyncProgress:
    """One progress event of a sync, for a progress bar per sensor.

    Attributes
    ----------
    address : str
        The sensor.
    phase : str
        In order: ``"connecting"``, ``"reading"`` (repeated as bytes arrive), ``"verified"`` (a session
        checked out whole), ``"committed"`` (erased on the device), ``"clock"`` (measuring the clock),
        ``"downloaded"``; or ``"reconnecting"`` (after a drop, back to connecting) and ``"failed"``
        (``message`` says why); then ``"writing"`` (decoding into the dataset) and finally ``"done"`` or
        ``"incomplete"``.
    bytes_done : int
        Verified log bytes journaled so far, all sessions of the sensor [bytes].
    bytes_total : int
        Log bytes the sensor listed (0 until its LIST arrived) [bytes].
    serial : str or None
        The sensor's serial, once its descriptor was read.
    session_id : int or None
        The device session concerned.
    message : str
        A short line for a person (the error, for ``"failed"``).
    """

    address: str
    phase: str
    bytes_done: int = 0
    bytes_total: int = 0
    serial: str | None = None
    session_id: int | None = None
    message: str = ""


@dataclass
class SessionResult:
    """One device log session as this sync left it.

    Attributes
    ----------
    session_id, boot_id : int
        The device's ids.
    state : str
        ``"CLOSED"``, ``"OPEN"`` (still logging), ``"INTERRUPTED"`` (closed by a reboot) or ``"VANISHED"``
        (no longer listed by the device: erased before).
    length : int
        The device's durable log length [bytes] (the journal's for a vanished session).
    journal_bytes : int
        Verified bytes in the journal [bytes].
    received_bytes : int
        New verified bytes journaled by this run [bytes].
    verified : bool
        The journal equals the device's whole log: same length and CRC-32.
    committed : bool
        The device erased it (``erase=True``) after verification.
    """

    session_id: int
    boot_id: int
    state: str
    length: int
    journal_bytes: int = 0
    received_bytes: int = 0
    verified: bool = False
    committed: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of the fields."""
        return dict(self.__dict__)


@dataclass
class SensorReport:
    """One sensor's sync.

    Attributes
    ----------
    address : str
        As given.
    serial, sensor_id : str or None
        Device serial, and the ``sensor`` column value written (the serial as a safe identifier).
    sessions : list of SessionResult
        Its device log sessions.
    samples : int
        Rows written to ``samples`` for this sensor (whole study session, all boots).
    gaps, lost_samples : int
        Sample-index jumps in those rows and the samples missing in them (0 after a complete sync unless
        the device itself dropped samples).
    received_bytes : int
        Verified log bytes downloaded by this run [bytes].
    rejected_chunks : int
        CHUNKs dropped for a bad CRC, truncation or a wrong session (read again).
    clocks : dict of int to ClockModel
        The fitted clock of each boot.
    clock_uncertainty_us : float
        Largest bound on a sample's UTC error [µs] (nan before writing, inf for an unmeasured boot).
    reconnects : int
        Link drops survived.
    error : ImurehabError or None
        Why the sensor is incomplete, if it is.
    alignment : SensorAlignment or None
        How a shake it shared with the session's reference sensor moved its times, or why not (None for
        the reference and without a shake; :func:`imurehab.align.align_on_shakes`).
    """

    address: str
    serial: str | None = None
    sensor_id: str | None = None
    sessions: list[SessionResult] = field(default_factory=list)
    samples: int = 0
    gaps: int = 0
    lost_samples: int = 0
    received_bytes: int = 0
    rejected_chunks: int = 0
    clocks: dict[int, ClockModel] = field(default_factory=dict)
    clock_uncertainty_us: float = math.nan
    reconnects: int = 0
    error: ImurehabError | None = None
    alignment: SensorAlignment | None = None

    @property
    def journal_bytes(self) -> int:
        """Verified log bytes held in the journal, all sessions [bytes]."""
        return sum(s.journal_bytes for s in self.sessions)

    @property
    def crc_verified(self) -> bool:
        """Every session's journal matched the device's length and CRC-32 (True when it had none)."""
        return all(s.verified for s in self.sessions)

    @property
    def complete(self) -> bool:
        """Verified, no session still logging, no error."""
        return self.error is None and self.crc_verified and all(s.state != "OPEN" for s in self.sessions)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: the fields, ``complete``, ``crc_verified``, ``journal_bytes``."""
        return {
            "address": self.address,
            "serial": self.serial,
            "sensor_id": self.sensor_id,
            "complete": self.complete,
            "crc_verified": self.crc_verified,
            "samples": self.samples,
            "gaps": self.gaps,
            "lost_samples": self.lost_samples,
            "journal_bytes": self.journal_bytes,
            "received_bytes": self.received_bytes,
            "rejected_chunks": self.rejected_chunks,
            "clock_uncertainty_us": _number(self.clock_uncertainty_us),
            "clocks": {str(b): m.to_json() for b, m in self.clocks.items()},
            "reconnects": self.reconnects,
            "sessions": [s.to_json() for s in self.sessions],
            "error": _error_json(self.error),
            "alignment": None if self.alignment is None else self.alignment.to_json(),
        }


@dataclass
class SyncReport:
    """A sync of several sensors.

    Attributes
    ----------
    out : Path
        The dataset root.
    subject, session : str
        The study session written.
    sensors : list of SensorReport
        One per address, in the order given.
    paths : list of Path
        Parquet files written (``samples``, then ``sessions``).
    elapsed_s : float
        Wall time of the run [s].
    write_error : ImurehabError or None
        Why the dataset could not be written (the journal is kept: run the sync again).
    """

    out: Path
    subject: str
    session: str
    sensors: list[SensorReport] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    elapsed_s: float = 0.0
    write_error: ImurehabError | None = None

    @property
    def complete(self) -> bool:
        """Every sensor complete and the dataset written."""
        return self.write_error is None and all(s.complete for s in self.sensors)

    @property
    def incomplete(self) -> list[str]:
        """Addresses of the sensors not complete."""
        return [s.address for s in self.sensors if not s.complete]

    def raise_for_incomplete(self) -> None:
        """Raise :class:`~imurehab.errors.SyncIncompleteError` unless :attr:`complete`."""
        if not self.complete:
            reasons = "; ".join(str(s.error) for s in self.sensors if s.error is not None)
            what = reasons or (str(self.write_error) if self.write_error else "sessions not verified or open")
            raise SyncIncompleteError(
                f"sync incomplete for {', '.join(self.incomplete) or 'the dataset'}: {what}",
                addresses=tuple(self.incomplete),
                report=self,
            )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of the run."""
        return _run_json(self)


@dataclass(frozen=True)
class Gap:
    """Samples a live stream did not deliver, found from sequence numbers and sample indices.

    Attributes
    ----------
    boot_id : int
        The device boot (indices count per boot).
    first_index : int
        Device sample index of the first missing sample.
    count : int
        Samples missing.
    frames : int
        Frames missing (sequence-number jump; 0 for a device drop or a link gap).
    cause : str
        ``"air"`` (notifications lost: a sequence-number jump, or for Polar a jump of the frame times),
        ``"device"`` (the device dropped them, GAP_BEFORE), ``"link"`` (between two stream runs of one
        boot: not streamed while the link was down, or lost unseen at the end of the run the drop cut
        short).
    measurement : str
        The stream of a family with one stream per measurement (Polar: ``"acc"``, ``"gyro"``,
        ``"mag"``); empty for OSP, whose frames carry every channel.

    Notes
    -----
    Polar PMD frames carry no counter: a Polar gap's ``count`` is exact (from the frame times) but its
    ``frames`` is 0, as how many notifications carried those samples is unknown.
    """

    boot_id: int
    first_index: int
    count: int
    frames: int
    cause: str
    measurement: str = ""


@dataclass
class StreamSensorReport:
    """One sensor's live stream.

    Attributes
    ----------
    address : str
        As given.
    serial, sensor_id : str or None
        Device serial and the ``sensor`` column value.
    family : str or None
        The device's protocol family (``"osp"``, ``"polar-pmd"``), once known.
    frames, samples : int
        Data frames and samples received (for Polar, summed over its measurement streams).
    gaps : list of Gap
        Every gap, in order.
    tail_lost : bool
        The stream's last frame (flag LAST) never arrived: frames lost at the very end cannot be counted.
    rejected_frames : int
        Notifications that were not an intact DATA frame (malformed, CRC).
    received_bytes : int
        Bytes of the frames journaled [bytes].
    reconnects : int
        Link drops survived.
    clock_uncertainty_us : float
        Largest bound on a sample's UTC error [µs] (nan before writing).
    error : ImurehabError or None
        Why streaming from this sensor stopped early, if it did.
    """

    address: str
    serial: str | None = None
    sensor_id: str | None = None
    family: str | None = None
    frames: int = 0
    samples: int = 0
    gaps: list[Gap] = field(default_factory=list)
    tail_lost: bool = False
    rejected_frames: int = 0
    received_bytes: int = 0
    reconnects: int = 0
    clock_uncertainty_us: float = math.nan
    error: ImurehabError | None = None

    def lost(self, cause: str | None = None) -> int:
        """Samples missing in the gaps (of one cause, or all).

        Parameters
        ----------
        cause : str or None
            ``"air"``, ``"device"``, ``"link"``, or None for every gap.
        """
        return sum(g.count for g in self.gaps if cause is None or g.cause == cause)

    @property
    def lost_frames(self) -> int:
        """Frames lost on the air (sequence-number jumps)."""
        return sum(g.frames for g in self.gaps)

    @property
    def complete(self) -> bool:
        """Nothing missing and no error."""
        return self.error is None and not self.gaps and not self.tail_lost and not self.rejected_frames

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: the fields, gap totals by cause and ``complete``."""
        return {
            "address": self.address,
            "serial": self.serial,
            "sensor_id": self.sensor_id,
            "family": self.family,
            "complete": self.complete,
            "frames": self.frames,
            "samples": self.samples,
            "lost_frames": self.lost_frames,
            "lost_samples": {c: self.lost(c) for c in ("air", "device", "link")},
            "gaps": [g.__dict__ for g in self.gaps],
            "tail_lost": self.tail_lost,
            "rejected_frames": self.rejected_frames,
            "received_bytes": self.received_bytes,
            "reconnects": self.reconnects,
            "clock_uncertainty_us": _number(self.clock_uncertainty_us),
            "error": _error_json(self.error),
        }


@dataclass
class StreamReport:
    """A live stream from several sensors.

    Attributes
    ----------
    out : Path
        The dataset root.
    subject, session : str
        The study session written.
    sensors : list of StreamSensorReport
        One per address.
    paths : list of Path
        Parquet files written.
    elapsed_s : float
        Wall time streamed [s].
    interrupted : bool
        Stopped by cancellation (Ctrl-C) rather than by ``seconds`` or ``stop_event``.
    write_error : ImurehabError or None
        Why the dataset could not be written (the journal is kept).
    """

    out: Path
    subject: str
    session: str
    sensors: list[StreamSensorReport] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    elapsed_s: float = 0.0
    interrupted: bool = False
    write_error: ImurehabError | None = None

    @property
    def complete(self) -> bool:
        """Every sensor delivered everything and the dataset was written."""
        return self.write_error is None and all(s.complete for s in self.sensors)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of the run."""
        return _run_json(self, interrupted=self.interrupted)


def _run_json(report: SyncReport | StreamReport, **extra: Any) -> dict[str, Any]:
    """The JSON of a sync or stream run: what both share, with ``extra`` after ``elapsed_s``."""
    return {
        "out": str(report.out),
        "subject": report.subject,
        "session": report.session,
        "complete": report.complete,
        "elapsed_s": report.elapsed_s,
        **extra,
        "paths": [str(p) for p in report.paths],
        "write_error": _error_json(report.write_error),
        "sensors": [s.to_json() for s in report.sensors],
    }
