"""The virtual Polar sensor's file system and its PSFTP service: offline recordings served over PFTP.

What it emulates (``firmware_protocols/polar-pmd/spec.md`` §8, §11):

- a flat store of files by path; directories exist while a file lies under them (a GET of a directory
  lists its files with their sizes and its subdirectories with a trailing ``/``);
- an offline recording stored as ``/U/0/<yyyymmdd>/R/<hhmmss>/<TYPE>.REC`` (sensor clock), split into
  ``<TYPE>0.REC``, ``<TYPE>1.REC``, … when its frames exceed ``max_file_bytes`` (each part a whole .REC
  file, as the SDK parses them: §8.1);
- the PSFTP service: request frames written to the MTU characteristic are reassembled (a new first
  frame restarts the message); GET answers the file's bytes (or the directory listing) in frames of
  ATT MTU − 3 bytes notified with sequence numbers; REMOVE deletes a file or a whole directory and
  answers status 0; an unknown path answers 103 NO_SUCH_FILE_OR_DIRECTORY, a malformed request 102; the
  3-byte stream cancel stops a response being sent. D2H and H2D exist but carry nothing.

Choices of ours where Polar documents nothing: a cancel stops the response at once; REMOVE of a
directory removes what it holds; a link drop abandons the response (a new request is needed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Final

from imurehab.errors import ProtocolError
from imurehab.protocols.polar_pmd import (
    PFTP_GATT,
    PftpEntry,
    encode_directory,
    encode_offline_recording,
    frame_message,
    parse_request,
)
from imurehab.protocols.polar_pmd.pftp import CANCEL, error_frame, parse_frame
from imurehab.virtual.gatt_spec import CharacteristicSpec, ServiceSpec

__all__ = ["PsftpServer", "recording_files"]

_FILE_STEM: Final = {"acc": "ACC", "gyro": "GYRO", "mag": "MAG"}
_NO_SUCH: Final = 103
_INVALID_PARAMETER: Final = 102


def recording_files(
    measurement: str,
    frames: list[bytes],
    start: datetime,
    settings: Mapping[str, float],
    max_file_bytes: int,
) -> dict[str, bytes]:
    """The .REC file(s) of one offline recording, by device path.

    Parameters
    ----------
    measurement : str
        ``"acc"``, ``"gyro"`` or ``"mag"``.
    frames : list of bytes
        Its PMD data frames, in order (at least one).
    start : datetime
        Its start on the sensor clock (names the directory, and goes in each file's header).
    settings : Mapping
        Settings stored in each file (``sample_rate_hz`` [Hz], ``range``, ``factor``, ...).
    max_file_bytes : int
        A part holds frames up to about this many bytes; more make a split recording.
    """
    parts: list[list[bytes]] = [[]]
    size = 0
    for frame in frames:
        if parts[-1] and size + len(frame) + 2 > max_file_bytes:
            parts.append([])
            size = 0
        parts[-1].append(frame)
        size += len(frame) + 2
    folder = f"/U/0/{start:%Y%m%d}/R/{start:%H%M%S}/"
    stem = _FILE_STEM[measurement]
    names = [f"{stem}.REC"] if len(parts) == 1 else [f"{stem}{i}.REC" for i in range(len(parts))]
    return {
        folder + name: encode_offline_recording(part, start_time=start, settings=settings)
        for name, part in zip(names, parts, strict=True)
    }


class PsftpServer:
    """Files and the PSFTP GATT service of one virtual Polar sensor.

    Parameters
    ----------
    notify : callable
        ``await notify(uuid, value)``: the peripheral's notification.
    spawn : callable
        Starts a task on the air (``spawn(coroutine, name)``).
    mtu : callable
        The link's ATT MTU now [bytes] (None when not connected).

    Attributes
    ----------
    files : dict of str to bytes
        The stored files by path.
    frames_sent : int
        Response frames notified (lost ones included).
    cancels : int
        Stream cancels received.
    """

    def __init__(
        self,
        notify: Callable[[str, bytes], Awaitable[int]],
        spawn: Callable[..., asyncio.Task[None]],
        mtu: Callable[[], int | None],
    ) -> None:
        self.files: dict[str, bytes] = {}
        self.frames_sent = 0
        self.cancels = 0
        self._notify, self._spawn, self._mtu = notify, spawn, mtu
        self._message = bytearray()
        self._response: asyncio.Task[None] | None = None

    def service(self) -> ServiceSpec:
        """The PSFTP service: MTU (write, notify), D2H (notify), H2D (write)."""
        return ServiceSpec(
            PFTP_GATT["service"],
            (
                CharacteristicSpec(
                    PFTP_GATT["mtu"], ("write", "write-without-response", "notify"), on_write=self._on_write
                ),
                CharacteristicSpec(PFTP_GATT["d2h"], ("notify",)),
                CharacteristicSpec(
                    PFTP_GATT["h2d"], ("write", "write-without-response"), on_write=lambda _: None
                ),
            ),
        )

    def listing(self, directory: str) -> list[PftpEntry] | None:
        """The entries directly under ``directory`` (ends with ``/``); None when it does not exist.

        Parameters
        ----------
        directory : str
            Device path.
        """
        entries: dict[str, int] = {}
        for path, data in self.files.items():
            if path.startswith(directory):
                rest = path[len(directory) :]
                head, slash, _ = rest.partition("/")
                entries[head + slash] = 0 if slash else len(data)
        if not entries and directory != "/":
            return None
        return [PftpEntry(name, size) for name, size in sorted(entries.items())]

    def reset(self) -> None:
        """The link went down: drop the half-written request and the response being sent."""
        self._message.clear()
        if self._response is not None:
            self._response.cancel()
            self._response = None

    def _on_write(self, data: bytes) -> None:
        data = bytes(data)
        if data == CANCEL:
            self.cancels += 1
            self.reset()
            return
        try:
            frame = parse_frame(data)
        except ProtocolError:
            return
        if frame.first:
            self._message.clear()
        self._message += frame.payload
        if frame.status == "last":
            message, self._message = bytes(self._message), bytearray()
            self.reset()
            self._response = self._spawn(self._answer(message), name="PSFTP response")

    async def _answer(self, message: bytes) -> None:
        try:
            request = parse_request(message)
        except ProtocolError:
            await self._send([error_frame(_INVALID_PARAMETER)])
            return
        path = request.path
        if request.command == "GET" and path.endswith("/"):
            entries = self.listing(path)
            content = None if entries is None else encode_directory(entries)
        elif request.command == "GET":
            content = self.files.get(path)
        elif request.command == "REMOVE":
            doomed = [p for p in self.files if p == path or (path.endswith("/") and p.startswith(path))]
            doomed += [p for p in self.files if p.startswith(path + "/")]
            for p in doomed:
                self.files.pop(p, None)
            await self._send([error_frame(0 if doomed else _NO_SUCH)])
            return
        else:
            await self._send([error_frame(201)])  # NOT_IMPLEMENTED: PUT and MERGE are not emulated
            return
        if content is None:
            await self._send([error_frame(_NO_SUCH)])
            return
        await self._send(frame_message(content, (self._mtu() or 23) - 3))

    async def _send(self, frames: list[bytes]) -> None:
        for frame in frames:
            self.frames_sent += 1
            await self._notify(PFTP_GATT["mtu"], frame)
