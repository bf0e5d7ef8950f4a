"""A virtual Movesense sensor: the GSP service, its commands, IMU subscriptions and the DataLogger.

What it emulates (``firmware_protocols/movesense-gsp/spec.md``): the GSP service with its write
characteristic (commands) and notify characteristic (results, DATA, DATA_PART2), at most 155-byte
notifications (MTU 158). Commands: HELLO (protocol version, serial, product, DFU MAC, app name and
version); SUBSCRIBE ``/Meas/{Acc,Gyro,Magn,IMU6,IMU6m,IMU9}/<rate>`` at the profile's rates (404
otherwise) and UNSUBSCRIBE; GET ``/Time`` (its UTC clock [µs]), ``/Mem/DataLogger/State`` and
``/Mem/Logbook/Entries``; PUT_UTCTIME; PUT_DATALOGGER_CONFIG and PUT_DATALOGGER_STATE (2 ready, 3
logging); FETCH_LOG (result 200, then the entry's file in ``offset, bytes`` chunks from offset 0 and
the empty end chunk — there is no way to ask for a range); CLEAR_LOGBOOK; PUT_SYSTEMMODE (accepted,
ignored). Every result is a notification, so the air can lose it like DATA.

Clock: IMU timestamps are milliseconds since boot of a clock that may drift; sample ``k`` of a rate is
taken at ``k / rate`` since boot, a message holds ``samples_per_message`` samples and is stamped with
its first sample's time, rounded down to the ms. Subscriptions stop when the link goes down (S2 does);
the DataLogger goes on. Values come from a :class:`~imurehab.virtual.polar_sensor.PolarSource`
(simulated motion), as float32 on the wire.

Examples
--------
>>> sensor = MovesenseSensor("F3:00:00:00:00:01", serial="233830000101")
>>> sensor.name
'Movesense 233830000101'
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import ProtocolError, SimulationError
from imurehab.protocols import load_profile
from imurehab.protocols.movesense import (
    BLOCKS,
    ENTRIES_PATH,
    RATES_HZ,
    LogEntry,
    encode_entries,
    encode_hello_result,
    encode_log,
    encode_result,
    meas_resource,
    parse_command,
)
from imurehab.virtual.gatt_spec import CharacteristicSpec, ServiceSpec
from imurehab.virtual.movesense_logger import DataLogger, LoggedEntry, message_notifications
from imurehab.virtual.peripheral import VirtualPeripheral
from imurehab.virtual.polar_sensor import PolarSource

__all__ = ["MovesenseSensor"]

_UUID: Final = load_profile("movesense-gsp")["uuid"]
SERVICE_UUID: Final[str] = _UUID["service"]
WRITE_UUID: Final[str] = _UUID["write"]
NOTIFY_UUID: Final[str] = _UUID["notify"]
MAX_MTU: Final = 158
_TICK_S: Final = 0.01
_BLOCK_NAMES: Final = {"acc": "acc", "gyr": "gyro", "mag": "mag"}


@dataclass
class _Subscription:
    path: str
    rate: int
    next_k: int


class MovesenseSensor(VirtualPeripheral):
    """A virtual Movesense sensor running the GSP app.

    Parameters
    ----------
    address : str
        Its address.
    serial : str
        Its serial number (the name's suffix, as ``Movesense <serial>``).
    source : PolarSource, optional
        What the IMU measures (default: at rest, z up).
    boot_ms_at_air0 : int
        Its boot-relative clock at air time 0 [ms since boot].
    clock_drift_ppm : float
        How much faster its clock runs than true time [ppm].
    utc_offset_s : float
        How far its UTC clock (``/Time``) is off the true UTC at air time 0 [s].
    samples_per_message : int
        Samples in one measurement message.
    lose_data : iterable of int
        Numbers (from 0, over all subscriptions) of the subscription data notifications (DATA and
        DATA_PART2) it does not put on the air: an exact loss pattern, independent of timing.

    Attributes
    ----------
    logger : DataLogger
        Its DataLogger and Logbook.
    messages_sent : dict of int to list of (int, list of bytes)
        Per subscription reference, every message put on the air: (timestamp [ms], notifications).
    """

    def __init__(
        self,
        address: str,
        *,
        serial: str,
        source: PolarSource | None = None,
        boot_ms_at_air0: int = 3_600_000,
        clock_drift_ppm: float = 0.0,
        utc_offset_s: float = 0.0,
        samples_per_message: int = 8,
        lose_data: Iterable[int] = (),
    ) -> None:
        if not (math.isfinite(clock_drift_ppm) and abs(clock_drift_ppm) <= 10_000):
            raise SimulationError(f"clock_drift_ppm must be within ±10000, got {clock_drift_ppm!r}")
        if boot_ms_at_air0 < 0 or samples_per_message < 1:
            raise SimulationError("boot_ms_at_air0 must be >= 0 and samples_per_message >= 1")
        self.serial = serial
        self.source = source or PolarSource(1.0, np.array([[0.0, 0.0, 9.80665]]), np.zeros((1, 3)))
        self.samples_per_message = samples_per_message
        self.logger = DataLogger()
        self.messages_sent: dict[int, list[tuple[int, list[bytes]]]] = {}
        self.lose_data = frozenset(lose_data)
        self._data_sent = 0
        self._boot_ns_at_air0 = boot_ms_at_air0 * 1_000_000
        self._rate = 1.0 + clock_drift_ppm * 1e-6
        self._ref_mono: float | None = None
        self._utc_ref_us = round((time.time() + utc_offset_s) * 1e6)
        self._utc_ref_boot_ns = self._boot_ns_at_air0
        self._subs: dict[int, _Subscription] = {}
        self._pump: asyncio.Task[None] | None = None
        gsp = ServiceSpec(
            SERVICE_UUID,
            (
                CharacteristicSpec(WRITE_UUID, ("write",), on_write=self._on_write),
                CharacteristicSpec(NOTIFY_UUID, ("notify",)),
            ),
        )
        super().__init__(
            address, f"Movesense {serial}", [gsp], advertised_services=[SERVICE_UUID], max_mtu=MAX_MTU
        )

    # --- clocks ------------------------------------------------------------------------------------

    def device_time_ns(self) -> int:
        """Its boot-relative clock now [ns since boot]."""
        now = asyncio.get_running_loop().time()
        if self._ref_mono is None:
            self._ref_mono = now - self._require_air().time
        return self._boot_ns_at_air0 + round((now - self._ref_mono) * self._rate * 1e9)

    def true_time_of(self, device_ns: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """When its clock read ``device_ns``: event-loop time (``time.monotonic()``) [s].

        Parameters
        ----------
        device_ns : array_like
            Boot-relative clock values [ns since boot].
        """
        if self._ref_mono is None:
            self.device_time_ns()
        assert self._ref_mono is not None
        elapsed = (np.asarray(device_ns, dtype=np.float64) - self._boot_ns_at_air0) / 1e9
        return self._ref_mono + elapsed / self._rate

    def utc_us(self) -> int:
        """Its UTC clock now (``/Time``) [µs since 1970], running at its clock's rate."""
        return self._utc_ref_us + (self.device_time_ns() - self._utc_ref_boot_ns) // 1000

    def values(
        self, resource: str, ks: npt.NDArray[np.int64], rate: float
    ) -> dict[str, npt.NDArray[np.float64]]:
        """The blocks of ``resource`` at samples ``ks`` of ``rate`` (sample k at k / rate since boot).

        Parameters
        ----------
        resource : str
            ``"IMU6"``, ``"IMU9"``, ...
        ks : ndarray of int64
            Sample numbers.
        rate : float
            Sample rate [Hz].

        Returns
        -------
        dict of str to ndarray, shape (n, 3)
            ``acc`` [m/s²], ``gyr`` [rad/s], ``mag`` [µT], as the resource has them.
        """
        return {name: self.source.at(_BLOCK_NAMES[name], ks, rate) for name in BLOCKS[resource]}

    # --- DataLogger --------------------------------------------------------------------------------

    def prefill_log(self, paths: list[str], seconds: float) -> int:
        """Make a closed Logbook entry of ``paths`` logged for ``seconds`` until air time 0; its id.

        Parameters
        ----------
        paths : list of str
            ``/Meas/<resource>/<rate>`` paths.
        seconds : float
            How long it logged [s] (at most the uptime at air time 0).
        """
        start = self._boot_ns_at_air0 - round(seconds * 1e9)
        if start < 0:
            raise SimulationError(f"the sensor was up for less than {seconds} s at air time 0")
        utc_s = self._utc_ref_us // 1_000_000
        self.logger.configure(paths)
        self.logger.start(start, utc_s)
        stopped = self.logger.stop(self._boot_ns_at_air0, utc_s)
        assert stopped is not None
        return stopped

    def log_file(self, log_id: int) -> bytes:
        """The SBEM file of a Logbook entry, as FETCH_LOG sends it.

        Parameters
        ----------
        log_id : int
            The entry.
        """
        entry = self.logger.entry(log_id)
        if entry is None:
            raise SimulationError(f"no Logbook entry {log_id}")
        now = self.device_time_ns() if entry.stop_ns is None else entry.stop_ns
        return self.logger.file(entry, now, self.values, self.samples_per_message, MAX_MTU - 3)

    # --- link --------------------------------------------------------------------------------------

    def on_disconnect(self, reason: int) -> None:
        """The link went down: every subscription stops (the DataLogger goes on).

        Parameters
        ----------
        reason : int
            HCI reason code.
        """
        del reason
        self._subs.clear()

    # --- commands ----------------------------------------------------------------------------------

    def _on_write(self, data: bytes) -> None:
        self._require_air().spawn(self._answer(bytes(data)), name=f"GSP command {self.address}")

    async def _send(self, packet: bytes) -> None:
        if self.is_connected:
            await self.notify(NOTIFY_UUID, packet)

    async def _answer(self, data: bytes) -> None:
        try:
            cmd = parse_command(data)
        except ProtocolError:
            if len(data) >= 2 and data[1]:
                await self._send(encode_result(data[1], 400))
            return
        ref, name = int(cmd["reference"]), str(cmd["command"])
        if name == "HELLO":
            mac = ":".join(self.address.split(":")[::-1])
            await self._send(
                encode_hello_result(
                    ref,
                    1,
                    serial=self.serial,
                    product="Movesense",
                    dfu_mac=mac,
                    app_name="gatt_sensordata_app",
                    app_version="imurehab-virtual",
                )
            )
        elif name == "SUBSCRIBE":
            await self._send(encode_result(ref, self._subscribe(ref, str(cmd["path"]))))
        elif name == "UNSUBSCRIBE":
            await self._send(encode_result(ref, 200 if self._subs.pop(ref, None) else 404))
        elif name == "GET":
            status, payload = self._get(str(cmd["path"]))
            await self._send(encode_result(ref, status, payload))
        elif name == "FETCH_LOG":
            await self._fetch(ref, int(cmd["log_id"]))
        else:
            await self._send(encode_result(ref, self._put(name, cmd)))

    def _subscribe(self, ref: int, path: str) -> int:
        try:
            _, rate = meas_resource(path)
        except ProtocolError:
            return 404
        if rate is None or rate not in RATES_HZ:
            return 404
        now = self.device_time_ns()
        self._subs[ref] = _Subscription(path, int(rate), -(-now * int(rate) // 10**9))
        self.messages_sent.setdefault(ref, [])
        if self._pump is None or self._pump.done():
            self._pump = self._require_air().spawn(self._stream(), name=f"GSP stream {self.address}")
        return 200

    def _get(self, path: str) -> tuple[int, bytes]:
        key = path.rstrip("/").lower()
        if key == "/time":
            return 200, self.utc_us().to_bytes(8, "little", signed=True)
        if key == "/mem/datalogger/state":
            return 200, bytes([3 if self.logger.logging else 2])
        if key == ENTRIES_PATH.lower():
            room = (MAX_MTU - 3 - 4 - 1) // 16
            listed = [self._listed(e) for e in self.logger.entries[:room]]
            return 200, encode_entries(listed)
        return 404, b""

    def _listed(self, entry: LoggedEntry) -> LogEntry:
        size = len(self.log_file(entry.log_id))
        return LogEntry(entry.log_id, entry.modified_s, size)

    def _put(self, name: str, cmd: dict[str, object]) -> int:
        utc_s = self.utc_us() // 1_000_000
        try:
            if name == "PUT_DATALOGGER_CONFIG":
                self.logger.configure(list(cmd["paths"]))  # type: ignore[call-overload]
            elif name == "PUT_DATALOGGER_STATE":
                if cmd["state"] == 3:
                    self.logger.start(self.device_time_ns(), utc_s)
                elif cmd["state"] == 2:
                    self.logger.stop(self.device_time_ns(), utc_s)
                else:
                    return 400
            elif name == "PUT_UTCTIME":
                self._utc_ref_us, self._utc_ref_boot_ns = int(cmd["utc_us"]), self.device_time_ns()  # type: ignore[call-overload]
            elif name == "CLEAR_LOGBOOK":
                self.logger.clear()
        except SimulationError:
            return 423
        except ProtocolError:
            return 400
        return 200

    async def _fetch(self, ref: int, log_id: int) -> None:
        entry = self.logger.entry(log_id)
        if entry is None or entry.stop_ns is None:
            await self._send(encode_result(ref, 404 if entry is None else 423))
            return
        await self._send(encode_result(ref, 200))
        for packet in encode_log(ref, self.log_file(log_id)):
            if not self.is_connected:
                return  # the transfer dies with the link; the next FETCH_LOG starts from offset 0
            await self._send(packet)

    # --- streaming ---------------------------------------------------------------------------------

    async def _stream(self) -> None:
        n = self.samples_per_message
        while self._subs and self.is_connected:
            now = self.device_time_ns()
            for ref, sub in list(self._subs.items()):
                last = now * sub.rate // 10**9
                while sub.next_k + n - 1 <= last and self._subs.get(ref) is sub:
                    stamp, packets = message_notifications(
                        sub.path, ref, sub.next_k, n, self.values, MAX_MTU - 3
                    )
                    sub.next_k += n
                    self.messages_sent[ref].append((stamp, packets))
                    for packet in packets:
                        if self._data_sent not in self.lose_data:
                            await self._send(packet)
                        self._data_sent += 1
            await asyncio.sleep(_TICK_S)
