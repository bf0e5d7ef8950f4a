"""A Logbook entry's journal folder and the checks that make its downloaded file verified.

``<out>/_journal/<serial>/movesense-log-<id>/``: ``meta.json`` (serial, log id, study ids),
``attempt-<n>.bin`` (every FETCH_LOG notification of one attempt with its arrival time, as received),
``log.sbem`` and ``verified.json`` once the file passed :func:`verify_log`. Chunks of every attempt are
merged by offset (a closed entry's file does not change; bytes that differ throw the older ones away).
"""

from __future__ import annotations

import os
from pathlib import Path

from imurehab.ble.files import make_dirs, write_json_atomic
from imurehab.errors import ProtocolError
from imurehab.protocols.movesense import assemble_log, decode_log, meas_timestamps_contiguous

__all__ = ["EntryJournal", "verify_log"]


def verify_log(data: bytes, info: dict[str, object], size: int) -> str | None:
    """Why an assembled log file is not the whole entry (None when every check passes).

    Parameters
    ----------
    data : bytes
        The file as assembled (holes are zero bytes).
    info : dict
        :func:`~imurehab.protocols.movesense.assemble_log`'s facts (``end_of_log``, ``holes``).
    size : int
        The size the Logbook listed [bytes].
    """
    holes = list(info["holes"])  # type: ignore[call-overload]
    if len(data) < size:
        holes.append([len(data), size])
    if holes:
        return f"bytes {holes} of {size} missing"
    if len(data) != size:
        return f"{len(data)} bytes, the Logbook lists {size}"
    if not info["end_of_log"]:
        return "no end-of-log chunk"
    try:
        for path, s in decode_log(data).items():
            jumps = meas_timestamps_contiguous(s)
            if jumps:
                return f"{path}: timestamps jump after message(s) {[m for m, _ in jumps]}"
    except ProtocolError as err:
        return f"not a whole SBEM file: {err}"
    return None


class EntryJournal:
    """One Logbook entry's folder: attempts as received, chunks by offset, the verified file."""

    def __init__(self, folder: Path, meta: dict[str, object]) -> None:
        self.folder = folder
        make_dirs(folder)
        if not (folder / "meta.json").exists():
            write_json_atomic(folder / "meta.json", meta)
        self.chunks: dict[int, bytes] = {}
        self.end_seen = False
        self.reasons: list[str] = []

    @property
    def verified(self) -> bool:
        """Verified whole by this or an earlier run."""
        return (self.folder / "verified.json").exists()

    def attempt_file(self) -> Path:
        """The journal file of the next attempt."""
        return self.folder / f"attempt-{len(list(self.folder.glob('attempt-*.bin'))) + 1}.bin"

    def merge(self, chunks: dict[int, bytes], end: bool) -> tuple[bytes, dict[str, object]]:
        """Add one attempt's chunks (offset → bytes); the file assembled from every attempt so far."""
        if any(self.chunks.get(o, b)[: len(b)] != b[: len(self.chunks.get(o, b))] for o, b in chunks.items()):
            self.chunks = {}  # the file changed between attempts: only this attempt counts
        self.chunks.update(chunks)
        self.end_seen |= end
        packets = [bytes([2, 1]) + o.to_bytes(4, "little") + b for o, b in self.chunks.items()]
        data, info = assemble_log(packets)
        info["end_of_log"] = self.end_seen
        return data, info

    def accept(self, data: bytes) -> None:
        """Keep the verified file (atomically), then mark it verified."""
        tmp = self.folder / "log.sbem.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.folder / "log.sbem")
        write_json_atomic(
            self.folder / "verified.json", {"size": len(data), "attempts": len(self.reasons) + 1}
        )
