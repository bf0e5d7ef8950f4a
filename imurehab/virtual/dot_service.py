"""The message and device control services of a virtual Movella DOT: recording, export with faults, rate.

Each control write is answered on the acknowledge characteristic and, where D1 §5 says so, by
notifications (see :mod:`imurehab.virtual.dot_sensor` for what is emulated and our choices). The export
sends one ExportFileData message per recorded sample from the requested DataNumber, then
ExportFileDataDone; ``corrupt`` of them get a flipped byte (bad checksum), ``invalid_data_numbers`` are
sent as ExportFileDataInvalid, and a ``link-drop@S`` event fires after the packet of DataNumber
``round(S × rate)`` (and once after each of ``export_link_drops``). A Retransmission with no file
requested (on this link, for a sensor that forgets the export on a link drop) is refused with the
acknowledge result ``invalid_command``. The device control characteristic (D1 §2.2) takes a new output
rate only while idle (see :mod:`imurehab.virtual.dot_sensor`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from bumble import att

from imurehab.errors import ProtocolError, SimulationError
from imurehab.protocols import load_profile
from imurehab.protocols.movella_dot import (
    acknowledge,
    describe,
    device_control,
    export_file_data,
    parse_device_control,
    recording_payload,
    select_export_data,
    uuid,
    visits,
)
from imurehab.virtual.dot_flash import DotFlash
from imurehab.virtual.peripheral import VirtualPeripheral

__all__ = ["DotMessageService"]

_NOTIFICATION: Final = uuid(load_profile("movella-dot")["uuid"]["characteristics"]["message_notification"])
_WRAP: Final = 1 << 32
_ACK_WAIT_S: Final = 1.0
_RATES: Final = tuple(float(r) for r in load_profile("movella-dot")["rates"]["recording_hz"])


class DotMessageService(VirtualPeripheral):
    """The message-service half of :class:`~imurehab.virtual.dot_sensor.DotSensor` (not used alone)."""

    flash: DotFlash
    rate_hz: float
    corrupt: float
    invalid_data_numbers: frozenset[int]
    _rng: random.Random
    _ack: bytes
    _ack_read: asyncio.Event
    _export: asyncio.Task[None] | None
    _export_index: int
    refused_retransmissions: int
    export_link_drops: set[int]
    _selection: tuple[int, ...]
    _drops: list[float]
    _device_control: bytes
    _mode: int | None
    _origin_us: int
    synced: bool

    def newest_k(self) -> int:
        """Index of the newest sample of the sensor's grid."""
        raise NotImplementedError

    def sample_time_us(self, k: Any) -> Any:
        """Device time of grid samples ``k`` [µs].

        Parameters
        ----------
        k : array_like of int
            Grid indices.
        """
        raise NotImplementedError

    def quantities(self, ks: Any, fields: Sequence[str]) -> dict[str, Any]:
        """SI values of grid samples ``ks`` for ``fields``.

        Parameters
        ----------
        ks : ndarray of int64
            Grid indices.
        fields : sequence of str
            Field names.
        """
        raise NotImplementedError

    def _sync(self, message: bytes, info: dict[str, Any]) -> tuple[bytes, list[bytes]]:
        raise NotImplementedError

    def _fire_drop(self, t: float) -> None:
        raise NotImplementedError

    def _read_ack(self) -> bytes:
        self._ack_read.set()
        return self._ack

    async def _delivered(self) -> None:
        """Wait until the notifications queued on every link went out (Bumble drops them on a disconnect)."""
        for connection in list(self._links):
            if connection.data_packet_queue is not None:
                await connection.drain()

    def _device_control_value(self) -> bytes:
        return self._device_control

    def _on_device_control(self, data: bytes) -> None:
        value = bytes(data)
        try:
            asked = parse_device_control(value)
        except ProtocolError:
            raise att.ATT_Error(att.ErrorCode.INVALID_ATTRIBUTE_LENGTH) from None
        if "output_rate" not in visits(value):
            return
        rate = float(asked["output_rate_hz"])
        if rate not in _RATES or self._mode is not None or self.synced or self.flash.files:
            return  # not taken (D1: not after a measurement or the sync started); the host reads it back
        self._origin_us = int(self.sample_time_us(self.newest_k() + 1))  # a new grid from the next sample
        self.rate_hz = self.flash.rate_hz = rate
        self._device_control = device_control(output_rate_hz=int(rate), base=self._device_control)

    def _on_message(self, data: bytes) -> None:
        message = bytes(data)
        try:
            info = describe(message, "control")
        except ProtocolError:
            raise att.ATT_Error(att.ErrorCode.VALUE_NOT_ALLOWED) from None
        self.flash.settle(self.newest_k())
        if info["service"] == "synchronization":
            self._ack, notes = self._sync(message, info)
        elif info["service"] == "recording":
            self._ack, notes = self._recording(message, info)
        else:
            self._ack, notes = b"", []
        if notes:
            self._require_air().spawn(self._send(notes), name=f"DOT messages {self.address}")

    async def _send(self, messages: Sequence[bytes]) -> None:
        for m in messages:
            if self.is_connected:
                await self.notify(_NOTIFICATION, m)

    def _recording(self, message: bytes, info: dict[str, Any]) -> tuple[bytes, list[bytes]]:
        name, flash = info["message"], self.flash
        k_now = self.newest_k()
        busy = "recording" if flash.recording is not None else None
        if name == "GetState":
            exporting = self._export is not None and not self._export.done()
            return acknowledge(message, busy or ("exporting_file_data" if exporting else "idle")), []
        if name == "StartRecording":
            ok = flash.start(info["start_utc_s"], info["recording_time_s"], k_now + 1)
            return acknowledge(message, "success" if ok else "recording"), []
        if name == "StopRecording":
            return acknowledge(message, "success" if flash.stop(k_now) else "idle"), []
        if busy is not None and name != "RequestRecordingTime":
            return acknowledge(message, busy), []
        if name == "EraseFlash":
            flash.erase(info["erase_utc_s"])
            return acknowledge(message, "success"), [recording_payload("StoreFlashInfoDone")]
        if name == "RequestRecordingTime":
            rec = flash.files[-1] if flash.files else None
            elapsed = 0 if rec is None else round(rec.samples(k_now) / self.rate_hz)
            times = struct.pack("<IHH", 0 if rec is None else rec.start_utc_s, elapsed, 0)
            return acknowledge(message, "success"), [recording_payload("RecordingTime", times)]
        if name == "RequestFlashInfo":
            return acknowledge(message, "success"), flash.flash_info(k_now)
        if name == "RequestFileInfo":
            return acknowledge(message, "success"), flash.file_info(info["file_index"])
        if name == "SelectExportData":
            self._selection = tuple(info["selection"])
            return acknowledge(message, "success"), []
        if name == "StopExportData":
            if self._export is not None:
                self._export.cancel()
            return acknowledge(message, "success"), []
        if name == "Retransmission" and flash.file(self._export_index) is None:
            self.refused_retransmissions += 1  # no export to resume (on this link, when it forgets)
            return acknowledge(message, "invalid_command"), []
        if name in ("RequestFileData", "Retransmission"):
            index = info["file_index"] if name == "RequestFileData" else self._export_index
            if flash.file(index) is None:
                return acknowledge(message, "invalid_command"), [recording_payload("NoRecordingFile")]
            self._export_index = index
            if self._export is not None:
                self._export.cancel()
            self._ack_read.clear()
            start = info.get("retrans_data_number", 0)
            self._export = self._require_air().spawn(
                self._export_file(index, start), name=f"DOT export {index}"
            )
            return acknowledge(message, "success"), []
        return acknowledge(message, "invalid_command"), []

    def export_packets(self, index: int) -> list[bytes]:
        """The ExportFileData messages of file ``index`` for the current selection, as sent unharmed.

        Parameters
        ----------
        index : int
            File index (from 1).
        """
        rec = self.flash.file(index)
        if rec is None or rec.k_last is None:
            raise SimulationError(f"no closed recording file {index}")
        ks = np.arange(rec.k_first, rec.last(rec.k_last) + 1, dtype=np.int64)
        fields = [f for f in describe(select_export_data(self._selection))["fields"] if f != "timestamp"]
        times = self.sample_time_us(ks) % _WRAP
        return export_file_data(
            np.arange(len(ks)), self._selection, time_us=times, **self.quantities(ks, fields)
        )

    async def _export_file(self, index: int, start: int) -> None:
        packets = self.export_packets(index)
        # The central reads the acknowledge in the first connection events of the export; with no
        # airtime on the virtual bus, wait for that read (bounded) so the export does not outrun it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_ACK_WAIT_S):
                await self._ack_read.wait()
        for n in range(start, len(packets)):
            if n in self.invalid_data_numbers:
                packet = recording_payload("ExportFileDataInvalid", struct.pack("<I", n))
            elif self._rng.random() < self.corrupt:
                damaged = bytearray(packets[n])
                damaged[-2] ^= 0x5A
                packet = bytes(damaged)
            else:
                packet = packets[n]
            if not self.is_connected:
                return
            await self.notify(_NOTIFICATION, packet)
            due = [t for t in self._drops if n >= round(t * self.rate_hz)]
            if due or n in self.export_link_drops:
                await self._delivered()  # the packets sent so far reach the host before the link goes
                self.export_link_drops.discard(n)
                if due:
                    self._fire_drop(due[0])
                else:
                    self.drop_link()
                return
        await self._send([recording_payload("ExportFileDataDone")])
