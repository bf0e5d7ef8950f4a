"""The journal folder of a dataset: its lock, the study ids of a run, and every device's journals.

Layout under a dataset root (underscore-prefixed, so Parquet readers skip it)::

    <out>/_journal/
        .lock                      held (flock) by the one process writing here
        run.json                   the study subject/session of the current (or unfinished) run
        <serial>/
            clock.jsonl            every CLOCK_SYNC round trip, by boot (imurehab.ble.clock)
            clock.json             the clock fitted for each boot
            session-<id>/          one device log session (imurehab.ble.journal)
                meta.json          (serial, session_id, boot_id, first_time_us) + study ids
                log.bin            the verified log prefix [0, V), byte-identical to the device's
                log.idx            the flush records that prove it
                verified.json      once the whole log matched the device's length and CRC-32
            stream-<boot>-<start>/ one live stream run
                meta.json
                frames.bin         the descriptor, then every DATA frame as received

Examples
--------
>>> import tempfile
>>> root = JournalRoot(Path(tempfile.mkdtemp()))
>>> with root.locked():
...     root.begin_run("sync", None, None, "20260101T000000Z")
('unassigned', '20260101T000000Z')
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from imurehab.ble.files import (
    check_identity,
    journal_error,
    make_dirs,
    read_json,
    safe_name,
    write_all,
    write_json_atomic,
)
from imurehab.ble.journal import FORMAT_VERSION, LogJournal, SessionKey
from imurehab.errors import JournalError

try:  # POSIX; elsewhere one writer per folder is the caller's business
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["DEFAULT_SUBJECT", "JOURNAL_DIR", "JournalRoot", "StreamJournal", "default_session_id"]

JOURNAL_DIR: Final = "_journal"
"""Folder of the raw journal under a dataset root."""
DEFAULT_SUBJECT: Final = "unassigned"
"""Subject id of a run that was given none."""


def default_session_id(now_s: float | None = None) -> str:
    """A study session id from the UTC time: ``YYYYMMDDTHHMMSSZ``.

    Parameters
    ----------
    now_s : float, optional
        Seconds since the Unix epoch (default: now).

    Examples
    --------
    >>> default_session_id(0)
    '19700101T000000Z'
    """
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now_s is None else now_s))


class StreamJournal:
    """Append-only file of the DATA frames of one live stream run, as received (each frame checks itself).

    Parameters
    ----------
    folder : Path
        ``<out>/_journal/<serial>/stream-<boot>-<start>``.
    meta : dict
        Identity and study ids, written to ``meta.json`` when the folder is new.
    flush_bytes : int
        Bytes appended between fsyncs [bytes].
    """

    def __init__(self, folder: Path, meta: dict[str, Any], *, flush_bytes: int = 32_768) -> None:
        existing = read_json(folder / "meta.json")
        if existing is None:
            make_dirs(folder)
            write_json_atomic(folder / "meta.json", {"format": FORMAT_VERSION, **meta})
        else:
            check_identity(folder, existing, meta, "stream")
        self.folder = folder
        self.flush_bytes = flush_bytes
        self.length = 0
        self._pending = 0
        path = folder / "frames.bin"
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self.length = os.fstat(self._fd).st_size
        except OSError as err:
            raise journal_error(err, path, "opening the stream journal") from err

    def append(self, frame: bytes) -> None:
        """Append one received frame; fsync every ``flush_bytes``.

        Parameters
        ----------
        frame : bytes
            The notification's bytes.
        """
        try:
            write_all(self._fd, frame)
        except OSError as err:
            raise journal_error(err, self.folder / "frames.bin", "appending to the stream journal") from err
        self.length += len(frame)
        self._pending += len(frame)
        if self._pending >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        """Fsync the frames appended so far."""
        if self._pending and self._fd >= 0:
            try:
                os.fsync(self._fd)
            except OSError as err:
                raise journal_error(err, self.folder / "frames.bin", "flushing the stream journal") from err
            self._pending = 0

    def close(self) -> None:
        """Flush and close (idempotent; errors here are not raised)."""
        if self._fd >= 0:
            with contextlib.suppress(JournalError):
                self.flush()
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


class JournalRoot:
    """``<out>/_journal``: the run lock, the study ids of the run, and the journals of every device.

    Parameters
    ----------
    out : Path
        The dataset root.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.path = self.out / JOURNAL_DIR
        self._lock_fd = -1

    @contextlib.contextmanager
    def locked(self) -> Iterator[JournalRoot]:
        """Hold the folder's lock for a run (released by the OS if the process dies).

        Raises
        ------
        JournalError
            ``busy`` if another process holds it.
        """
        make_dirs(self.path)
        try:
            fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise journal_error(err, self.path, "locking the journal") from err
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise JournalError(
                        "another imurehab process is writing to this output folder",
                        path=self.out,
                        reason="busy",
                    ) from None
            self._lock_fd = fd
            yield self
        finally:
            self._lock_fd = -1
            os.close(fd)

    def begin_run(
        self, kind: str, subject: str | None, session: str | None, default_session: str
    ) -> tuple[str, str]:
        """Decide the study ids of this run and record them in ``run.json``.

        Ids not given are taken from an unfinished earlier run (a killed sync resumes into the same
        study session), else ``subject`` defaults to :data:`DEFAULT_SUBJECT` and ``session`` to
        ``default_session``.

        Parameters
        ----------
        kind : str
            ``"sync"`` or ``"stream"``.
        subject, session : str or None
            Study ids asked for.
        default_session : str
            Session id for a fresh run.

        Returns
        -------
        (subject, session)
        """
        previous = read_json(self.path / "run.json")
        unfinished = previous if previous is not None and not previous.get("finished", True) else {}
        subject = subject or str(unfinished.get("subject") or DEFAULT_SUBJECT)
        session = session or str(unfinished.get("session") or default_session)
        write_json_atomic(
            self.path / "run.json", {"kind": kind, "subject": subject, "session": session, "finished": False}
        )
        return subject, session

    def finish_run(self) -> None:
        """Mark the current run finished: the next run starts a new study session by default."""
        run = read_json(self.path / "run.json") or {}
        write_json_atomic(self.path / "run.json", {**run, "finished": True})

    def device_dir(self, serial: str) -> Path:
        """The folder of one device's journals.

        Parameters
        ----------
        serial : str
            The device serial.
        """
        return self.path / safe_name(serial)

    def log_journal(self, key: SessionKey, study: tuple[str, str]) -> LogJournal:
        """Open (or create) the journal of a device log session.

        Parameters
        ----------
        key : SessionKey
            The session.
        study : (subject, session)
            Study ids for a new journal.
        """
        return LogJournal.open(self.device_dir(key.serial) / f"session-{key.session_id}", key, study=study)

    def stream_journal(
        self, serial: str, boot_id: int, start_utc_us: int, study: tuple[str, str], *, family: str = "osp"
    ) -> StreamJournal:
        """Create the journal of a live stream run.

        Parameters
        ----------
        serial : str
            The device serial.
        boot_id : int
            Its boot.
        start_utc_us : int
            When the run started [µs since the Unix epoch].
        study : (subject, session)
            Study ids.
        family : str
            The device's family (recorded in ``meta.json`` unless OSP, which older journals imply).
        """
        folder = self.device_dir(serial) / f"stream-{boot_id:08x}-{start_utc_us}"
        meta: dict[str, Any] = {"serial": serial, "boot_id": boot_id}
        meta |= {"subject": study[0], "session": study[1]}
        if family != "osp":
            meta["family"] = family
        return StreamJournal(folder, meta)

    def stream_folders(self, study: tuple[str, str], family: str) -> dict[str, list[Path]]:
        """One family's live-stream journals of a study session, by serial (in folder order).

        Parameters
        ----------
        study : (subject, session)
            The study session.
        family : str
            The ``family`` their meta.json names (``"polar-pmd"``, ``"movella-dot"``, ...).
        """
        found: dict[str, list[Path]] = {}
        for kind, folder, meta in self.iter_journals():
            if kind == "stream" and meta.get("family") == family:
                if (meta.get("subject"), meta.get("session")) == study:
                    found.setdefault(str(meta["serial"]), []).append(folder)
        return found

    def iter_journals(self) -> Iterator[tuple[str, Path, dict[str, Any]]]:
        """Every journal folder: (``"log"`` or ``"stream"``, folder, its meta.json)."""
        if not self.path.is_dir():
            return
        for device in sorted(p for p in self.path.iterdir() if p.is_dir()):
            for folder in sorted(p for p in device.iterdir() if p.is_dir()):
                kind = "log" if folder.name.startswith("session-") else "stream"
                if folder.name.startswith(("session-", "stream-")):
                    meta = read_json(folder / "meta.json")
                    if meta is not None:
                        yield kind, folder, meta
