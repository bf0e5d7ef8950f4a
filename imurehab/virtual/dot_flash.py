"""The onboard flash of a virtual Movella DOT: recordings, their file info, and the export packets.

A recording is a run of samples ``k_first..k_last`` of the sensor's sample grid (sample ``k`` at device
time ``origin + round(k · 10⁶ / rate)`` µs), with the UTC second the host gave in StartRecording
(``firmware_protocols/movella-dot/spec.md``, message service). Its samples are not stored: they are
made again from the sensor's source on export, by :func:`~imurehab.protocols.movella_dot.export_file_data`,
one ExportFileData message per sample with DataNumber ``0..N−1``.

Choices of ours where D1 is silent: file indices count from 1 in recording order; a file's total
recording time is its sample count over the rate, rounded to whole seconds; ExportFlashInfo is sent as
the header message (magic, header size 0, revision 1, the UTC of the last erase, the flash size) then one
indicator message (0xEE per file, 0xCC per data sector of 4096 samples), then ExportFlashInfoDone.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final

from imurehab.protocols import load_profile
from imurehab.protocols.movella_dot import recording_payload

__all__ = ["DotFlash", "DotRecording"]

EXPORT: Final = load_profile("movella-dot")["recording"]["export"]
_FILE_INFO: Final = struct.Struct("<IIHIH")  # magic, header size, revision, start UTC [s], total time [s]
_FLASH_INFO: Final = struct.Struct("<IIHII")  # magic, header size, revision, init UTC [s], space [bytes]
_SECTOR_SAMPLES: Final = 4096
_FLASH_BYTES: Final = 64 * 2**20
_UNTIMED: Final = int(EXPORT["unlimited_recording_time"])


@dataclass
class DotRecording:
    """One recording file on the flash.

    Attributes
    ----------
    start_utc_s : int
        UTC the host gave at StartRecording [s since the Unix epoch].
    k_first : int
        Index of its first sample on the sensor's sample grid.
    k_last : int or None
        Index of its last sample; None while recording.
    stop_at_k : int or None
        Sample index at which a timed recording stops by itself.
    """

    start_utc_s: int
    k_first: int
    k_last: int | None = None
    stop_at_k: int | None = None

    def last(self, k_now: int) -> int:
        """Last sample recorded so far, given the newest sample index of the grid ``k_now``.

        Parameters
        ----------
        k_now : int
            The newest sample of the sensor's grid.
        """
        end = k_now if self.k_last is None else self.k_last
        return end if self.stop_at_k is None else min(end, self.stop_at_k)

    def samples(self, k_now: int) -> int:
        """Samples recorded so far.

        Parameters
        ----------
        k_now : int
            The newest sample of the sensor's grid.
        """
        return max(0, self.last(k_now) - self.k_first + 1)


class DotFlash:
    """The files a virtual DOT recorded, and the recording in progress.

    Parameters
    ----------
    rate_hz : float
        Recording rate [Hz] (the sensor's output rate).

    Attributes
    ----------
    files : list of DotRecording
        In recording order (file index 1 first).
    erased_utc_s : int
        UTC of the last EraseFlash [s].
    """

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.files: list[DotRecording] = []
        self.erased_utc_s = 0

    @property
    def recording(self) -> DotRecording | None:
        """The file being recorded, if one is."""
        return self.files[-1] if self.files and self.files[-1].k_last is None else None

    def settle(self, k_now: int) -> None:
        """Close a timed recording whose time ran out.

        Parameters
        ----------
        k_now : int
            The newest sample of the sensor's grid.
        """
        rec = self.recording
        if rec is not None and rec.stop_at_k is not None and k_now >= rec.stop_at_k:
            rec.k_last = rec.stop_at_k

    def start(self, start_utc_s: int, recording_time_s: int, k_next: int) -> bool:
        """Start a recording at grid sample ``k_next``; False when one is running.

        Parameters
        ----------
        start_utc_s : int
            UTC the host gives [s].
        recording_time_s : int
            Duration [s]; 0xFFFF records until StopRecording.
        k_next : int
            First sample of the recording.
        """
        if self.recording is not None:
            return False
        stop = None if recording_time_s == _UNTIMED else k_next + round(recording_time_s * self.rate_hz) - 1
        self.files.append(DotRecording(start_utc_s, k_next, stop_at_k=stop))
        return True

    def stop(self, k_now: int) -> bool:
        """Stop the recording at grid sample ``k_now``; False when none runs.

        Parameters
        ----------
        k_now : int
            The newest sample of the sensor's grid.
        """
        rec = self.recording
        if rec is None:
            return False
        rec.k_last = max(rec.k_first - 1, rec.last(k_now))
        return True

    def erase(self, utc_s: int) -> None:
        """Erase every file.

        Parameters
        ----------
        utc_s : int
            UTC the host gives [s].
        """
        self.files.clear()
        self.erased_utc_s = utc_s

    def file(self, index: int) -> DotRecording | None:
        """File ``index`` (from 1), if it exists and is closed.

        Parameters
        ----------
        index : int
            File index.
        """
        if 1 <= index <= len(self.files) and self.files[index - 1].k_last is not None:
            return self.files[index - 1]
        return None

    def file_info(self, index: int) -> list[bytes]:
        """ExportFileInfo and ExportFileInfoDone of file ``index``, or NoRecordingFile.

        Parameters
        ----------
        index : int
            File index.
        """
        rec = self.file(index)
        if rec is None:
            return [recording_payload("NoRecordingFile")]
        assert rec.k_last is not None
        total_s = round(rec.samples(rec.k_last) / self.rate_hz)
        info = _FILE_INFO.pack(EXPORT["file_info_magic"], 0, 1, rec.start_utc_s, min(total_s, _UNTIMED - 1))
        return [recording_payload("ExportFileInfo", info), recording_payload("ExportFileInfoDone")]

    def flash_info(self, k_now: int) -> list[bytes]:
        """ExportFlashInfo (header, then file indicators) and ExportFlashInfoDone.

        Parameters
        ----------
        k_now : int
            The newest sample of the sensor's grid.
        """
        head = _FLASH_INFO.pack(EXPORT["flash_info_magic"], 0, 1, self.erased_utc_s, _FLASH_BYTES)
        indicators = b"".join(
            b"\xee" + b"\xcc" * math.ceil(f.samples(k_now) / _SECTOR_SAMPLES) for f in self.files
        )
        return [
            recording_payload("ExportFlashInfo", head),
            recording_payload("ExportFlashInfo", indicators[:150]),
            recording_payload("ExportFlashInfoDone"),
        ]
