"""A virtual Polar Verity Sense: the PMD service, its control point and ACC/GYRO/MAG delta frames.

What it emulates (``firmware_protocols/polar-pmd/spec.md``, sections named):

- GATT (§1): the PMD service with its control point (read: the feature bit mask; write: commands;
  indicate: responses) and data characteristic (notify: one data frame per notification); the
  Device Information serial number (0x2A25) and the Battery Service. It advertises the Heart Rate
  service (0x180D) and the PMD service under the name ``Polar Sense <device id>``.
- Commands (§3): *get settings* answers the values offered in the current mode; *start measurement*
  checks the settings against them (``ERROR_INVALID_SAMPLE_RATE``, ``…_RANGE``, ``…_RESOLUTION``,
  ``…_NUMBER_OF_CHANNELS``, ``ERROR_ALREADY_IN_STATE``, ``ERROR_INVALID_MTU``) and answers the FACTOR;
  *stop measurement*; *start/stop* of measurement ``sdk_mode`` enter and leave SDK mode, which offers the
  wider rates and ranges (§7). Other commands answer ``ERROR_NOT_SUPPORTED``.
- Frames (§5): ACC as type 0x81 (delta, counts × factor in mG), GYRO and MAG as 0x80 (delta, counts ×
  factor in deg/s or gauss), made by :func:`imurehab.protocols.polar_pmd.encode_delta_frame` from a
  source of SI samples (simulated motion), quantised to int16 with the factor of the range.
- Offline recording (§10): *start measurement* with the offline bit records a measurement into the
  sensor's memory whether or not a link is up; *stop measurement* of that type ends it and stores it
  as .REC files (:func:`~imurehab.virtual.polar_files.recording_files`), which the PSFTP service
  (:class:`~imurehab.virtual.polar_files.PsftpServer`) lists, serves and removes over PFTP (§11);
  *get measurement status* answers each measurement's online/offline state.
- Clock (§6): the frame timestamp is the time of its **last** sample, in ns since 2000-01-01 on the
  sensor's own clock, which reads whatever it was set to (an offset from UTC) and may drift.

Choices of ours where Polar documents nothing: all measurements sample on one IMU grid of the sensor
clock (sample ``k`` at ``origin + round(k · 10⁹ / rate)`` ns), so ACC and GYRO at one rate share sample
times; a frame holds as many samples as fit ``MTU − 3`` bytes in the worst case (17-bit deltas) and is
notified the moment its last sample is measured; the start is refused with ``ERROR_INVALID_MTU`` when
fewer than 2 samples would fit; streams stop and SDK mode ends when the link goes down. Faults
(notification loss, link drops, silent links) come from the :class:`~imurehab.virtual.FaultPlan` the air
applies, as for any virtual peripheral.

Examples
--------
>>> import numpy as np
>>> sensor = PolarSensor("F2:00:00:00:00:01", device_id="B5A2F42C")
>>> sensor.name, sensor.frame_samples(247)
('Polar Sense B5A2F42C', 33)
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import ProtocolError, SimulationError
from imurehab.protocols.polar_pmd import (
    encode_delta_frame,
    encode_features,
    encode_response,
    encode_settings,
    parse_command,
    pmd_profile,
)
from imurehab.types import STANDARD_GRAVITY
from imurehab.virtual.gatt_spec import CharacteristicSpec, ServiceSpec
from imurehab.virtual.peripheral import VirtualPeripheral
from imurehab.virtual.polar_files import PsftpServer, recording_files

__all__ = ["DEFAULT_MODE", "SDK_MODE", "PolarSensor", "PolarSource"]

_GATT: Final = pmd_profile().raw["gatt"]
SERVICE_UUID: Final[str] = _GATT["service"]
CONTROL_POINT_UUID: Final[str] = _GATT["control_point"]
DATA_UUID: Final[str] = _GATT["data"]
SERIAL_UUID: Final = "2A25"
_RATES: Final = pmd_profile().raw["rates"]

SDK_MODE: Final[dict[str, dict[str, list[int]]]] = {
    "acc": {"sample_rate_hz": _RATES["verity_sense_sdk_mode"]["acc_hz"], "range": [2, 4, 8, 16]},
    "gyro": {"sample_rate_hz": _RATES["verity_sense_sdk_mode"]["gyro_hz"], "range": [250, 500, 1000, 2000]},
    "mag": {"sample_rate_hz": _RATES["verity_sense_sdk_mode"]["mag_hz"], "range": [50]},
}
"""Rates [Hz] and ranges [g, deg/s, gauss] a Verity Sense offers in SDK mode (spec.md §7)."""
DEFAULT_MODE: Final[dict[str, dict[str, list[int]]]] = {
    "acc": {"sample_rate_hz": [52], "range": [8]},
    "gyro": {"sample_rate_hz": [52], "range": [2000]},
    "mag": {"sample_rate_hz": _RATES["verity_sense_default"]["mag_hz"], "range": [50]},
}
"""What it offers outside SDK mode (spec.md §7)."""
_FRAME_TYPE: Final = {"acc": 1, "gyro": 0, "mag": 0}  # delta-compressed (bit 7 added by the encoder)
_TO_COUNTS_UNIT: Final = {"acc": 1000.0, "gyro": 1.0, "mag": 1.0}  # range unit → base unit (g → mG)
_SI_PER_BASE: Final = {"acc": STANDARD_GRAVITY / 1000.0, "gyro": math.pi / 180.0, "mag": 100.0}
_HEADER: Final = 10 + 6 + 2  # frame header, 16-bit reference sample, one block header [bytes]
_WORST_SAMPLE_BYTES: Final = 7  # three 17-bit deltas, rounded up [bytes]
_OFFLINE_FRAME_SAMPLES: Final = (
    36  # samples per stored frame (the SDK's sample files hold 88–279-byte frames)
)
_STATE_BITS: Final = 6  # get measurement status: state in bits 6–7 (1 online, 2 offline)
_Values = npt.NDArray[np.float64]
SourceOverlay = Callable[[str, npt.NDArray[np.int64], float, _Values], _Values]
"""``(measurement, grid samples, rate [Hz], SI values picked) -> SI values``: see :class:`PolarSource`."""


@dataclass(frozen=True)
class PolarSource:
    """What the emulated IMU measures, replayed cyclically, in SI units.

    Attributes
    ----------
    rate_hz : float
        Rate of the rows [Hz]; a stream at another rate reads the nearest row in time.
    acc : ndarray, shape (N, 3)
        Specific force [m/s²].
    gyr : ndarray, shape (N, 3)
        Angular rate [rad/s].
    mag : ndarray, shape (N, 3), or None
        Magnetic flux density [µT].
    overlay : callable, optional
        ``(measurement, ks, rate [Hz], values) -> values``: rewrites the SI values :meth:`at` picked for
        grid samples ``ks`` (e.g. a shake at their true instants, :mod:`imurehab.virtual.shake_overlay`).
    """

    rate_hz: float
    acc: npt.NDArray[np.float64]
    gyr: npt.NDArray[np.float64]
    mag: npt.NDArray[np.float64] | None = None
    overlay: SourceOverlay | None = None

    def rows(self, measurement: str) -> npt.NDArray[np.float64]:
        """The rows of one measurement (``"acc"``, ``"gyro"``, ``"mag"``); at rest when absent."""
        if measurement == "acc":
            return self.acc
        if measurement == "gyro":
            return self.gyr
        if self.mag is not None:
            return self.mag
        return np.tile([20.0, 0.0, -40.0], (len(self.acc), 1))

    def at(self, measurement: str, ks: npt.NDArray[np.int64], rate_hz: float) -> npt.NDArray[np.float64]:
        """SI values of one measurement at grid samples ``ks`` of ``rate_hz`` (sample k at k / rate).

        Each sample reads the row nearest its grid time (cyclically), then :attr:`overlay` if any.

        Parameters
        ----------
        measurement : str
            ``"acc"``, ``"gyro"`` or ``"mag"``.
        ks : ndarray of int64
            Grid sample numbers.
        rate_hz : float
            Rate of the grid [Hz].

        Returns
        -------
        ndarray, shape (len(ks), 3)
        """
        rows = self.rows(measurement)
        t = ks.astype(np.float64) / rate_hz
        picked = rows[np.rint(t * self.rate_hz).astype(np.int64) % len(rows)]
        return picked if self.overlay is None else self.overlay(measurement, ks, rate_hz, picked)


def _at_rest() -> PolarSource:
    return PolarSource(1.0, np.array([[0.0, 0.0, STANDARD_GRAVITY]]), np.zeros((1, 3)))


@dataclass
class _Run:
    """One running measurement: its settings, factor and the samples not yet framed."""

    measurement: str
    rate_hz: int
    range_: int
    factor: float
    next_k: int
    pending: list[tuple[int, npt.NDArray[np.int64]]]


class PolarSensor(VirtualPeripheral):
    """A virtual Polar Verity Sense streaming PMD ACC, GYRO and MAG.

    Parameters
    ----------
    address : str
        Its address.
    device_id : str
        Polar device id (8 hex digits): the name's suffix and the serial number.
    source : PolarSource, optional
        What the IMU measures (default: at rest, z up).
    clock_at_air0_ns : int
        Its clock at air time 0 of the air it joins [ns since 2000-01-01] (what the phone last set).
    clock_drift_ppm : float
        How much faster its clock runs than true time [ppm].
    max_mtu : int
        Largest ATT MTU it accepts [bytes].
    max_file_bytes : int
        Size above which an offline recording is split into parts [bytes].

    Attributes
    ----------
    sdk_mode : bool
        Whether SDK mode is on.
    frames_sent : dict of str to list of bytes
        Every data frame put on the air, per measurement (lost ones included), for tests.
    psftp : PsftpServer
        Its files (offline recordings) and PSFTP service.
    """

    def __init__(
        self,
        address: str,
        *,
        device_id: str,
        source: PolarSource | None = None,
        clock_at_air0_ns: int = 820_000_000 * 10**9,
        clock_drift_ppm: float = 0.0,
        max_mtu: int = 247,
        max_file_bytes: int = 65_536,
    ) -> None:
        if not (math.isfinite(clock_drift_ppm) and abs(clock_drift_ppm) <= 10_000):
            raise SimulationError(f"clock_drift_ppm must be within ±10000, got {clock_drift_ppm!r}")
        self.device_id = device_id
        self.source = source or _at_rest()
        self.sdk_mode = False
        self.frames_sent: dict[str, list[bytes]] = {"acc": [], "gyro": [], "mag": []}
        self._clock_ref_ns = int(clock_at_air0_ns)
        self._clock_rate = 1.0 + clock_drift_ppm * 1e-6
        self._clock_ref_mono: float | None = None
        self._origin_ns = int(clock_at_air0_ns)
        self._runs: dict[str, _Run] = {}
        self._offline: dict[str, _Run] = {}
        self._max_file_bytes = max_file_bytes
        self.psftp = PsftpServer(self.notify, self._spawn, lambda: self.mtu)
        self._pump: asyncio.Task[None] | None = None
        self._started = asyncio.Event()  # a run started: the stream recomputes when its next frame is full
        pmd = ServiceSpec(
            SERVICE_UUID,
            (
                CharacteristicSpec(
                    CONTROL_POINT_UUID,
                    ("read", "write", "indicate"),
                    on_read=lambda: encode_features(["acc", "gyro", "mag", "sdk_mode", "offline_recording"]),
                    on_write=self._on_write,
                ),
                CharacteristicSpec(DATA_UUID, ("notify",)),
            ),
        )
        info = ServiceSpec("180A", (CharacteristicSpec(SERIAL_UUID, ("read",), value=device_id.encode()),))
        battery = ServiceSpec("180F", (CharacteristicSpec("2A19", ("read",), value=bytes([90])),))
        super().__init__(
            address,
            f"Polar Sense {device_id}",
            [pmd, self.psftp.service(), info, battery],
            advertised_services=["180D", SERVICE_UUID],
            max_mtu=max_mtu,
        )

    # --- clock -------------------------------------------------------------------------------------

    def device_time_ns(self) -> int:
        """The sensor clock now [ns since 2000-01-01]."""
        now = asyncio.get_running_loop().time()
        if self._clock_ref_mono is None:
            self._clock_ref_mono = now - self._require_air().time
        return self._clock_ref_ns + round((now - self._clock_ref_mono) * self._clock_rate * 1e9)

    def true_time_of(self, device_ns: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """When the sensor clock read ``device_ns``: event-loop time (``time.monotonic()``) [s].

        Parameters
        ----------
        device_ns : array_like
            Sensor clock values [ns since 2000-01-01].
        """
        if self._clock_ref_mono is None:
            self.device_time_ns()
        assert self._clock_ref_mono is not None
        elapsed = (np.asarray(device_ns, dtype=np.float64) - self._clock_ref_ns) / 1e9
        return self._clock_ref_mono + elapsed / self._clock_rate

    @staticmethod
    def frame_samples(mtu: int) -> int:
        """Samples per data frame at ATT MTU ``mtu`` [bytes] (worst case of 17-bit deltas)."""
        return (mtu - 3 - _HEADER) // _WORST_SAMPLE_BYTES + 1

    # --- link --------------------------------------------------------------------------------------

    def on_disconnect(self, reason: int) -> None:
        """The link went down: every stream stops and SDK mode ends.

        Parameters
        ----------
        reason : int
            HCI reason code.
        """
        del reason
        self._runs.clear()
        self.sdk_mode = False
        self.psftp.reset()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return self._require_air().spawn(coroutine, name=f"{name} {self.address}")

    # --- control point -----------------------------------------------------------------------------

    def _on_write(self, data: bytes) -> None:
        self._require_air().spawn(self._answer(bytes(data)), name=f"PMD command {self.address}")

    async def _answer(self, data: bytes) -> None:
        try:
            cmd = parse_command(data)
        except ProtocolError as err:
            error = "ERROR_INVALID_OP_CODE" if err.offset == 0 else "ERROR_INVALID_MEASUREMENT_TYPE"
            opcode = pmd_profile().opcode_names.get(data[0], "get_settings") if data else "get_settings"
            await self._indicate(encode_response(opcode, data[1] if len(data) > 1 else 0, error))
            return
        m = cmd.measurement
        if cmd.command == "get_measurement_status":
            await self._indicate(encode_response(cmd.command, 0, 0, self._status()))
        elif cmd.offline and m in SDK_MODE and cmd.command in ("start_measurement", "get_settings"):
            if cmd.command == "get_settings":
                await self._indicate(encode_response(cmd.command, m, 0, encode_settings(self._offered(m))))
            else:
                error = self._start_offline(m, cmd.settings)
                await self._indicate(encode_response(cmd.command, m, error))
        elif cmd.command in ("start_measurement", "stop_measurement") and m == "sdk_mode":
            self.sdk_mode = cmd.command == "start_measurement"
            self._runs.clear()
            await self._indicate(encode_response(cmd.command, "sdk_mode"))
        elif m not in SDK_MODE or cmd.offline:
            await self._indicate(
                encode_response(cmd.command, cmd.measurement_type or 0, "ERROR_NOT_SUPPORTED")
            )
        elif cmd.command in ("get_settings", "get_sdk_mode_settings"):
            offered = self._offered(m, full=cmd.command == "get_sdk_mode_settings")
            await self._indicate(encode_response(cmd.command, m, 0, encode_settings(offered)))
        elif cmd.command == "start_measurement":
            error, params = self._start(m, cmd.settings)
            await self._indicate(encode_response(cmd.command, m, error, params))
        elif cmd.command == "stop_measurement":  # the same stop ends an online stream and a recording
            stopped = self._runs.pop(m, None)
            recording = self._offline.pop(m, None)
            if recording is not None:
                self._store(recording)
            ok = stopped or recording
            await self._indicate(encode_response(cmd.command, m, 0 if ok else "ERROR_ALREADY_IN_STATE"))

    async def _indicate(self, packet: bytes) -> None:
        if self.is_connected:
            await self.indicate(CONTROL_POINT_UUID, packet)

    def _offered(self, measurement: str, *, full: bool = False) -> dict[str, list[int]]:
        mode = SDK_MODE if self.sdk_mode or full else DEFAULT_MODE
        return {**mode[measurement], "resolution_bits": [16], "channels": [3]}

    def _status(self) -> bytes:
        states = {m: (1 if m in self._runs else 0) | (2 if m in self._offline else 0) for m in SDK_MODE}
        return bytes(pmd_profile().measurement_ids[m] | s << _STATE_BITS for m, s in states.items() if s)

    def _refused(self, m: str, settings: Mapping[str, list[int | float]]) -> str | None:
        offered = self._offered(m)
        for key, error in (
            ("sample_rate_hz", "ERROR_INVALID_SAMPLE_RATE"),
            ("range", "ERROR_INVALID_RANGE"),
            ("resolution_bits", "ERROR_INVALID_RESOLUTION"),
            ("channels", "ERROR_INVALID_NUMBER_OF_CHANNELS"),
        ):
            if len(settings.get(key, [])) != 1 or settings[key][0] not in offered[key]:
                return error
        return None

    def _new_run(self, m: str, settings: Mapping[str, list[int | float]]) -> _Run:
        rate, range_ = int(settings["sample_rate_hz"][0]), int(settings["range"][0])
        factor = float(np.float32(range_ * _TO_COUNTS_UNIT[m] / 32768))
        k = math.ceil((self.device_time_ns() - self._origin_ns) * rate / 1e9)
        return _Run(m, rate, range_, factor, k, [])

    def _start_offline(self, m: str, settings: Mapping[str, list[int | float]]) -> str:
        if m in self._offline:
            return "ERROR_ALREADY_IN_STATE"
        error = self._refused(m, settings)
        if error is None:
            self._offline[m] = self._new_run(m, settings)
        return error or "SUCCESS"

    def _store(self, run: _Run) -> None:
        """An offline recording ended: its samples up to now, framed and stored as .REC file(s)."""
        last_k = math.floor((self.device_time_ns() - self._origin_ns) * run.rate_hz / 1e9)
        ks = np.arange(run.next_k, max(last_k, run.next_k) + 1, dtype=np.int64)
        counts = self._counts(run, ks)
        n = _OFFLINE_FRAME_SAMPLES
        frames = [
            encode_delta_frame(
                run.measurement,
                _FRAME_TYPE[run.measurement],
                self._time_of(run, int(ks[i : i + n][-1])),
                counts[i : i + n],
            )
            for i in range(0, len(ks), n)
        ]
        start = datetime(2000, 1, 1) + timedelta(microseconds=self._time_of(run, int(ks[0])) // 1000)
        settings = {"sample_rate_hz": run.rate_hz, "resolution_bits": 16, "range": run.range_, "channels": 3}
        self.psftp.files.update(
            recording_files(
                run.measurement, frames, start, {**settings, "factor": run.factor}, self._max_file_bytes
            )
        )

    def prefill_recording(self, measurements: Mapping[str, int], seconds: float, rate_hz: int) -> int:
        """Store an offline recording that ran the last ``seconds``, as if started then and stopped now.

        Parameters
        ----------
        measurements : mapping of str to int
            Measurement (``"acc"``, ``"gyro"``, ``"mag"``) → its range [g, deg/s or µT].
        seconds : float
            How long ago the recording started [s of the sensor clock].
        rate_hz : int
            Its sample rate [Hz].

        Returns
        -------
        int
            Grid index ``k`` of its first sample: sample ``k + i`` was measured when the sensor clock read
            its grid time (``k + i`` periods from the clock's origin).
        """
        settings = {"sample_rate_hz": [rate_hz], "resolution_bits": [16], "channels": [3]}
        runs = [self._new_run(m, {**settings, "range": [r]}) for m, r in measurements.items()]
        first_k = runs[0].next_k - round(seconds * rate_hz)
        for run in runs:
            run.next_k = first_k
            self._store(run)
        return first_k

    def _start(self, m: str, settings: Mapping[str, list[int | float]]) -> tuple[str, bytes]:
        if m in self._runs:
            return "ERROR_ALREADY_IN_STATE", b""
        error = self._refused(m, settings)
        if error is not None:
            return error, b""
        if self.frame_samples(self.mtu or 23) < 2:
            return "ERROR_INVALID_MTU", b""
        self._runs[m] = run = self._new_run(m, settings)
        self._started.set()
        if self._pump is None or self._pump.done():
            self._pump = self._require_air().spawn(self._stream(), name=f"PMD stream {self.address}")
        return "SUCCESS", encode_settings({"factor": run.factor})

    # --- sampling and frames -----------------------------------------------------------------------

    def _time_of(self, run: _Run, k: int) -> int:
        return self._origin_ns + (k * 10**9) // run.rate_hz

    def _counts(self, run: _Run, ks: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        picked = self.source.at(run.measurement, ks, run.rate_hz)
        counts = np.rint(picked / _SI_PER_BASE[run.measurement] / run.factor)
        return np.clip(counts, -32768, 32767).astype(np.int64)

    async def _stream(self) -> None:
        """Notify each run's frames: one goes out as soon as its last sample is measured (it is full)."""
        loop = asyncio.get_running_loop()
        while self._runs and self.is_connected:
            now, n = self.device_time_ns(), self.frame_samples(self.mtu or 23)
            for run in list(self._runs.values()):
                last_k = math.floor((now - self._origin_ns) * run.rate_hz / 1e9)
                if last_k >= run.next_k:
                    ks = np.arange(run.next_k, last_k + 1, dtype=np.int64)
                    run.pending.extend(zip(ks.tolist(), self._counts(run, ks), strict=True))
                    run.next_k = last_k + 1
                while len(run.pending) >= n and self._runs.get(run.measurement) is run:
                    chunk, run.pending = run.pending[:n], run.pending[n:]
                    frame = encode_delta_frame(
                        run.measurement,
                        _FRAME_TYPE[run.measurement],
                        self._time_of(run, chunk[-1][0]),
                        np.array([c for _, c in chunk]),
                    )
                    self.frames_sent[run.measurement].append(frame)
                    await self.notify(DATA_UUID, frame)
            # sleep until the next frame is full (the grid edge of its last sample), or a run starts
            full = [
                self._origin_ns + (r.next_k + n - 1 - len(r.pending)) * 1e9 / r.rate_hz
                for r in self._runs.values()
            ]
            wake = float(self.true_time_of(min(full))) if full else loop.time()
            self._started.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._started.wait(), max(0.0, wake - loop.time()))
