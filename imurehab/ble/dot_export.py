"""The journal of one exported DOT recording file, and what is still missing from it.

During an export the sensor notifies one ExportFileData message per sample, numbered by DataNumber from
0, then ExportFileDataDone (D1 §5.2.4). Every message that passes its checksum is appended, as received,
to ``<out>/_journal/<serial>/export-<start UTC s>-<file index>/frames.bin`` (a
:class:`~imurehab.ble.layout.StreamJournal`: fsynced as it grows, resumable after a link drop or a killed
host); ExportFileDataInvalid messages (the sensor cannot read that sample from its flash) are kept too.
Messages are self-delimiting (``MID LEN DATA CHECKSUM``), so the journal is replayed by walking LEN.

:class:`ExportProgress` holds what the journal proves and decides the next request: a Retransmission
from the first missing DataNumber (the sensor resends everything from there, D1 §5.2.2.11). The end of
a file is not announced with a count, so packets lost just before ExportFileDataDone are invisible; the
end is *confirmed* when a request from the number after the highest held one is answered by
ExportFileDataDone with no packet at all.

Examples
--------
>>> p = ExportProgress()
>>> for n in (0, 1, 2, 4, 5):
...     p.held.add(n)
>>> p.missing(), p.next_request()
([3], 3)
>>> p.held.add(3)
>>> p.missing(), p.next_request(), p.complete
([], 6, False)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imurehab.ble.clock import host_time_us
from imurehab.ble.files import read_json, write_json_atomic
from imurehab.ble.layout import JournalRoot, StreamJournal
from imurehab.errors import ProtocolError
from imurehab.protocols.movella_dot import describe, parse_frame

__all__ = ["ExportJournal", "ExportProgress", "FileKey", "export_folders", "messages"]


def messages(data: bytes) -> Iterator[bytes]:
    """The whole messages of a journal (``MID LEN DATA CHECKSUM``), in order; a torn tail is skipped.

    Parameters
    ----------
    data : bytes
        The journal's bytes.
    """
    pos = 0
    while pos + 3 <= len(data):
        end = pos + data[pos + 1] + 3
        if end > len(data):
            return
        yield data[pos:end]
        pos = end


@dataclass
class ExportProgress:
    """What an export has delivered so far, by DataNumber.

    Attributes
    ----------
    held : set of int
        DataNumbers received with a good checksum.
    invalid : set of int
        DataNumbers the sensor reported invalid (ExportFileDataInvalid): never recoverable.
    end : int or None
        The file's packet count, once confirmed (see the module notes).
    """

    held: set[int] = field(default_factory=set)
    invalid: set[int] = field(default_factory=set)
    end: int | None = None

    @property
    def top(self) -> int:
        """The highest DataNumber seen (−1 for none)."""
        return max(self.held | self.invalid, default=-1)

    def missing(self) -> list[int]:
        """DataNumbers below the highest seen (or the confirmed end) neither held nor invalid."""
        limit = self.top + 1 if self.end is None else self.end
        return [n for n in range(limit) if n not in self.held and n not in self.invalid]

    def next_request(self) -> int | None:
        """Where the next request starts (None when nothing is left to ask).

        The first missing number; else, until the end is confirmed, the number after the highest seen.
        """
        gaps = self.missing()
        if gaps:
            return gaps[0]
        return None if self.end is not None else self.top + 1

    def add(self, message: bytes) -> str | None:
        """Account for one journaled message: ``"data"``, ``"invalid"``, ``"done"`` or None (other).

        Parameters
        ----------
        message : bytes
            A message whose checksum was checked.
        """
        info = describe(message, "notification")
        name = info.get("message")
        if name == "ExportFileData":
            self.held.add(int(info["data_number"]))
            return "data"
        if name == "ExportFileDataInvalid":
            self.invalid.add(int(info["data_number"]))
            return "invalid"
        return "done" if name == "ExportFileDataDone" else None

    @property
    def complete(self) -> bool:
        """The end is confirmed and every DataNumber before it is held."""
        return self.end is not None and len(self.held) == self.end


@dataclass(frozen=True)
class FileKey:
    """What identifies a recording file on a DOT: serial, its index, the UTC second it started.

    Attributes
    ----------
    serial : str
        The sensor's serial.
    file_index : int
        Its index on the sensor (from 1; indices are reused after an erase).
    start_utc_s : int
        UTC the host gave at StartRecording [s since the Unix epoch].
    total_recording_time_s : int
        Its recording time, as the sensor reports it [s].
    """

    serial: str
    file_index: int
    start_utc_s: int
    total_recording_time_s: int


class ExportJournal:
    """The journal of one exported file: its messages on disk and the progress they prove.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal.
    key : FileKey
        The file.
    selection : tuple of int
        SelectExportData codes of its packets.
    study : (subject, session)
        Study ids for a new journal (an existing one keeps its own).

    Attributes
    ----------
    progress : ExportProgress
        What the journal holds.
    study : (subject, session)
        The study ids it was created under.
    """

    def __init__(
        self, root: JournalRoot, key: FileKey, selection: tuple[int, ...], study: tuple[str, str]
    ) -> None:
        self.key = key
        self.folder = root.device_dir(key.serial) / f"export-{key.start_utc_s}-{key.file_index}"
        existing = read_json(self.folder / "meta.json") or {}
        self.study = (str(existing.get("subject", study[0])), str(existing.get("session", study[1])))
        meta: dict[str, Any] = {
            "family": "movella-dot",
            "kind": "export",
            "serial": key.serial,
            "file_index": key.file_index,
            "start_utc_s": key.start_utc_s,
            "total_recording_time_s": key.total_recording_time_s,
            "selection": list(selection),
            "subject": self.study[0],
            "session": self.study[1],
        }
        self._file = StreamJournal(self.folder, meta, flush_bytes=16_384)
        self.progress = ExportProgress()
        path = self.folder / "frames.bin"
        for message in messages(path.read_bytes() if path.exists() else b""):
            self.progress.add(message)
        verified = self.verified
        if verified is not None:
            self.progress.end = int(verified["data_numbers"])

    @property
    def length(self) -> int:
        """Bytes journaled [bytes]."""
        return self._file.length

    @property
    def verified(self) -> dict[str, Any] | None:
        """``verified.json`` (data numbers, invalid ones, erased, ``host_us``) once the end checked out."""
        return read_json(self.folder / "verified.json")

    def add(self, message: bytes) -> str | None:
        """Check one notification's checksum; journal it and account for it when it is good.

        Parameters
        ----------
        message : bytes
            A message-service notification received during the export.

        Returns
        -------
        str or None
            As :meth:`ExportProgress.add`; ``"rejected"`` for a bad checksum or framing, ``"repeat"`` for
            a DataNumber already held (not journaled again).
        """
        try:
            parse_frame(message)
            info = describe(message, "notification")
        except ProtocolError:
            return "rejected"
        if info.get("message") == "ExportFileData" and info["data_number"] in self.progress.held:
            return "repeat"
        kind = self.progress.add(message)
        if kind in ("data", "invalid"):
            self._file.append(message)
        return kind

    def mark_end(self, end: int, *, erased: bool = False) -> None:
        """Record the file's confirmed packet count (and whether it was erased on the sensor).

        Parameters
        ----------
        end : int
            Packets in the file.
        erased : bool
            The sensor's flash was erased after verification.
        """
        self._file.flush()
        self.progress.end = end
        record = {
            "data_numbers": end,
            "invalid": sorted(self.progress.invalid),
            "erased": erased,
            "host_us": host_time_us(),  # which clock measurement places it (dot_clock.clocks_for_export)
        }
        write_json_atomic(self.folder / "verified.json", record)

    def close(self) -> None:
        """Flush and close."""
        self._file.close()


def export_folders(root: JournalRoot, study: tuple[str, str]) -> dict[str, list[Path]]:
    """The export journals of a study session, by serial.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal.
    study : (subject, session)
        The study session.
    """
    found: dict[str, list[Path]] = {}
    if not root.path.is_dir():
        return found
    for folder in sorted(root.path.glob("*/export-*")):
        meta = read_json(folder / "meta.json")
        if meta is not None and meta.get("family") == "movella-dot":
            if (meta.get("subject"), meta.get("session")) == study:
                found.setdefault(str(meta["serial"]), []).append(folder)
    return found
