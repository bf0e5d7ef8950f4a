"""The flash of a virtual OSP sensor: append-only session logs with running CRC-32, LIST entries and COMMIT.

A session log is the byte concatenation the spec prescribes (DESCRIPTOR frame, then DATA frames). Only
whole frames are written, so every byte in flash is durable: LIST, READ and END cover all of it. Session
ids come from a counter that never goes back, even after COMMIT erased a session.

Examples
--------
>>> from imurehab.protocols.osp import SessionState, Status, crc32
>>> flash = OspFlash(capacity_bytes=1000)
>>> s = flash.open(boot_id=7, rate_mhz=200_000, first_index=0, first_time_us=0, descriptor=b"D" * 40)
>>> s.append(b"F" * 60, n_samples=2)
>>> s.close(SessionState.CLOSED)
>>> flash.used_bytes, s.entry().length, s.mark_offset(0.005)
(100, 100, 40)
>>> flash.commit(1, 100, 0) == Status.CRC_MISMATCH, flash.commit(1, 100, crc32(s.log())) == Status.OK
(True, True)
>>> flash.open(boot_id=7, rate_mhz=200_000, first_index=2, first_time_us=10, descriptor=b"D").session_id
2
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from imurehab.errors import SimulationError
from imurehab.protocols.osp import SessionEntry, SessionState, Status, crc32

__all__ = ["FlashSession", "OspFlash"]


@dataclass
class FlashSession:
    """One session log in flash, with what the device keeps about it.

    Attributes
    ----------
    session_id, boot_id : int
        The session and the boot that recorded it.
    rate_mhz : int
        Its nominal sample rate [mHz].
    first_index, first_time_us : int
        Sample index and device time [µs since boot ``boot_id``] of its first sample.
    state : SessionState
        OPEN while logging, then CLOSED or INTERRUPTED.
    crc : int
        Running CRC-32 of the log.
    n_samples : int
        Samples in its DATA frames.
    """

    session_id: int
    boot_id: int
    rate_mhz: int
    first_index: int
    first_time_us: int
    state: SessionState = SessionState.OPEN
    crc: int = 0
    n_samples: int = 0
    _data: bytearray = field(default_factory=bytearray, repr=False)
    _frame_offsets: list[int] = field(default_factory=list, repr=False)
    _samples_before: list[int] = field(default_factory=list, repr=False)

    @property
    def length(self) -> int:
        """Bytes of the log [bytes]."""
        return len(self._data)

    def append(self, frame: bytes, n_samples: int = 0) -> None:
        """Append one frame (the DESCRIPTOR with ``n_samples`` 0, or a DATA frame).

        Parameters
        ----------
        frame : bytes
            The frame.
        n_samples : int
            Samples it carries (0 for the descriptor).
        """
        if self.state != SessionState.OPEN:
            raise SimulationError(f"session {self.session_id} is closed: its log is append-only")
        if n_samples:
            self._frame_offsets.append(len(self._data))
            self._samples_before.append(self.n_samples)
        self._data += frame
        self.crc = crc32(frame, self.crc)
        self.n_samples += int(n_samples)

    def close(self, state: SessionState) -> None:
        """End the session: CLOSED (stopped, storage full) or INTERRUPTED (reboot).

        Parameters
        ----------
        state : SessionState
            The final state.
        """
        self.state = state

    def read(self, offset: int, length: int) -> bytes:
        """Log bytes ``[offset, offset + length)``.

        Parameters
        ----------
        offset, length : int
            The range [bytes].
        """
        return bytes(self._data[offset : offset + length])

    def log(self) -> bytes:
        """The whole log."""
        return bytes(self._data)

    def entry(self) -> SessionEntry:
        """Its LIST entry."""
        return SessionEntry(
            self.session_id,
            int(self.state),
            self.boot_id,
            self.length,
            self.crc,
            self.n_samples,
            self.first_index,
            self.first_time_us,
        )

    def mark_offset(self, seconds: float) -> int | None:
        """Byte offset of the first DATA frame holding a sample ``seconds`` or more into the session.

        Parameters
        ----------
        seconds : float
            Position in the session, counted in samples: ``round(seconds × rate)`` [s].

        Returns
        -------
        int or None
            The frame's offset; None when the log has no sample that late.
        """
        wanted = round(seconds * self.rate_mhz / 1000.0)
        if wanted >= self.n_samples:
            return None
        return self._frame_offsets[bisect.bisect_right(self._samples_before, wanted) - 1]


class OspFlash:
    """The sessions a device holds, its capacity and its session counter.

    Parameters
    ----------
    capacity_bytes : int or None
        Storage for logs [bytes]; None for unlimited.
    """

    def __init__(self, capacity_bytes: int | None = None) -> None:
        if capacity_bytes is not None and capacity_bytes <= 0:
            raise SimulationError(f"log capacity must be positive, got {capacity_bytes} bytes")
        self.capacity_bytes = capacity_bytes
        self.next_session_id = 1
        self._sessions: dict[int, FlashSession] = {}
        self._erased: dict[int, FlashSession] = {}

    @property
    def used_bytes(self) -> int:
        """Bytes held by the sessions in flash [bytes]."""
        return sum(s.length for s in self._sessions.values())

    def free_bytes(self) -> int | None:
        """Bytes still free [bytes]; None for unlimited storage."""
        return None if self.capacity_bytes is None else self.capacity_bytes - self.used_bytes

    def fits(self, n_bytes: int) -> bool:
        """Whether ``n_bytes`` more fit in flash.

        Parameters
        ----------
        n_bytes : int
            Bytes to write [bytes].
        """
        free = self.free_bytes()
        return free is None or n_bytes <= free

    def open(
        self, *, boot_id: int, rate_mhz: int, first_index: int, first_time_us: int, descriptor: bytes
    ) -> FlashSession:
        """Start a new OPEN session with the next session id; its log starts with ``descriptor``.

        Parameters
        ----------
        boot_id : int
            The current boot.
        rate_mhz : int
            Nominal rate [mHz].
        first_index, first_time_us : int
            Index and device time [µs] of the session's first sample.
        descriptor : bytes
            Its DESCRIPTOR frame (carrying :attr:`next_session_id`).
        """
        session = FlashSession(self.next_session_id, boot_id, rate_mhz, first_index, first_time_us)
        session.append(descriptor)
        self._sessions[session.session_id] = session
        self.next_session_id += 1
        return session

    def get(self, session_id: int) -> FlashSession | None:
        """The session with this id still in flash, or None.

        Parameters
        ----------
        session_id : int
            The session.
        """
        return self._sessions.get(session_id)

    def find(self, session_id: int) -> FlashSession:
        """The session in flash or erased by COMMIT (its bytes as they were).

        Parameters
        ----------
        session_id : int
            The session.

        Raises
        ------
        imurehab.errors.SimulationError
            If the device never had it.
        """
        session = self._sessions.get(session_id) or self._erased.get(session_id)
        if session is None:
            raise SimulationError(f"no session {session_id} was ever logged on this device")
        return session

    def sessions(self) -> list[FlashSession]:
        """The sessions in flash, by session id."""
        return [self._sessions[k] for k in sorted(self._sessions)]

    @property
    def erased_ids(self) -> list[int]:
        """Ids of the sessions COMMIT erased, ascending."""
        return sorted(self._erased)

    def commit(self, session_id: int, length: int, log_crc: int) -> Status:
        """COMMIT: erase a session only when it is not OPEN and length and CRC-32 match.

        Parameters
        ----------
        session_id : int
            The session.
        length, log_crc : int
            What the host verified [bytes] and its CRC-32.

        Returns
        -------
        Status
            OK (erased), UNKNOWN_SESSION, SESSION_OPEN or CRC_MISMATCH.
        """
        session = self._sessions.get(session_id)
        if session is None:
            return Status.UNKNOWN_SESSION
        if session.state == SessionState.OPEN:
            return Status.SESSION_OPEN
        if length != session.length or log_crc != session.crc:
            return Status.CRC_MISMATCH
        self._erased[session_id] = self._sessions.pop(session_id)
        return Status.OK

    def interrupt_open(self) -> list[int]:
        """At boot: close every OPEN session as INTERRUPTED; returns their ids."""
        ids = [s.session_id for s in self._sessions.values() if s.state == SessionState.OPEN]
        for session_id in ids:
            self._sessions[session_id].close(SessionState.INTERRUPTED)
        return ids
