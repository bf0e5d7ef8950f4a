"""A virtual OSP v1 sensor: the firmware of ``firmware_protocols/osp/spec.md`` on the virtual BLE air.

:class:`OspSensor` is a :class:`~imurehab.virtual.VirtualPeripheral` exposing the OSP GATT service
(descriptor, control point, data, log data; plus a battery service). It answers every command of the spec:
LIST, READ (CHUNKs as fast as the link takes them, then END), ABORT, COMMIT (erases only on matching length
and CRC-32 of a session that is not OPEN), START/STOP_STREAM, START/STOP_LOG and CLOCK_SYNC. Its flash can
be pre-filled with :meth:`OspSensor.record_session` (a logged session of given samples, CLOSED), and its
IMU replays the samples given to :meth:`OspSensor.set_stream_source` (a sensor at rest by default).

Device clock: µs since boot, ``reading(t) = reference + (1 + drift·10⁻⁶) · time_scale · (t − t_ref)`` of air
time ``t``. At the first boot the reference is air time 0, where the clock reads the end of the pre-filled
log (its last sample + one period; 0 without one) plus ``clock_offset_s``; a reboot restarts it at 0.
Samples are taken on this clock at the nominal rate, so ``time_scale > 1`` runs streams faster than real
time (CLOCK_SYNC then shows a clock running ``time_scale`` times fast).

Where the spec leaves a choice, the emulator's choices are listed in :mod:`imurehab.virtual.osp_control`
and ``docs/virtual-sensors.md``.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from imurehab.errors import SimulationError
from imurehab.protocols.osp import (
    CONTROL_POINT_UUID,
    DATA_UUID,
    DESCRIPTOR_UUID,
    LOG_DATA_UUID,
    SERVICE_UUID,
    SessionEntry,
)
from imurehab.types import SensorSamples
from imurehab.virtual.gatt_spec import CharacteristicSpec, ServiceSpec
from imurehab.virtual.osp_acquisition import ACC_RANGES_G, GYR_RANGES_DPS, SampleSource, Settings
from imurehab.virtual.osp_control import OspControl
from imurehab.virtual.osp_faults import Fault
from imurehab.virtual.osp_flash import OspFlash
from imurehab.virtual.osp_prefill import prefill_session
from imurehab.virtual.osp_recorder import Recorder
from imurehab.virtual.osp_stats import OspDeviceStats
from imurehab.virtual.peripheral import VirtualPeripheral

__all__ = ["FIRMWARE_VERSION", "OspSensor"]

FIRMWARE_VERSION = "1.0.0-virtual"
"""Firmware string of the descriptor."""
_CHANNELS = {"acc+gyr": 0x03, "acc+gyr+mag": 0x07}
_MAX_DRIFT_PPM = 10_000.0
_REST = SampleSource(np.array([[0.0, 0.0, 9.80665]]), np.zeros((1, 3)), np.array([[0.0, 20.0, -40.0]]))


class OspSensor(VirtualPeripheral):
    """An OSP v1 sensor firmware on the virtual air.

    Parameters
    ----------
    address : str
        BLE address (``"F1:00:00:00:00:01"``).
    serial : str
        Serial number (≤ 32 UTF-8 bytes); hosts key their journals on it.
    name : str or None
        Advertised name; default ``"imurehab-OSP-<serial>"``.
    rate_hz : float
        Sample rate [Hz] (the only one the device supports).
    channels : {"acc+gyr", "acc+gyr+mag"}
        Channel groups of the IMU.
    acc_range_g : int
        Power-on accelerometer full scale [±g] (2, 4, 8 or 16).
    gyr_range_dps : int
        Power-on gyroscope full scale [±deg/s] (125, 250, 500, 1000 or 2000).
    clock_offset_s : float
        Device clock reading at air time 0 beyond the end of the pre-filled log [s] (≥ 0).
    clock_drift_ppm : float
        How much faster the device clock runs than air time [ppm].
    boot_id : int or None
        Boot id of the first boot (non-zero u32); None draws one from ``seed``.
    log_capacity_bytes : int or None
        Flash for logs [bytes]; None for unlimited.
    seed : int
        Seed of the boot ids.
    time_scale : float
        Device seconds per air second (> 0): streams and logs run this much faster than real time.
    faults : sequence of Fault
        Event faults (``link-drop``, ``reboot``, ``silent``, ``overflow``), each fired once; see
        :mod:`imurehab.virtual.osp_faults` for their triggers.
    on_state_change : callable or None
        ``on_state_change(sensor, event)`` with event ``"commit"``, ``"fault"`` or ``"reboot"``, called
        before the device acts on or answers it (so a harness can persist :meth:`snapshot`).
    max_mtu : int
        Largest ATT MTU its GATT server accepts [bytes].

    Attributes
    ----------
    device_stats : OspDeviceStats
        What the firmware did (``stats`` is the air's record: notifications sent and lost, link drops).

    Examples
    --------
    >>> import numpy as np
    >>> from imurehab.types import SensorInfo, SensorSamples
    >>> info = SensorInfo(sensor_id="S1", family="sim", rate_hz=200.0)
    >>> rest = SensorSamples(info, time_us=np.arange(400) * 5000, acc=np.tile([0.0, 0.0, 9.81], (400, 1)),
    ...                      gyr=np.zeros((400, 3)))
    >>> sensor = OspSensor("F1:00:00:00:00:01", serial="OSP-0001")
    >>> sensor.record_session(rest), sensor.sessions[0].n_samples, len(sensor.expected_log(1))
    (1, 400, 5752)

    On the air (``async with VirtualAir() as air: await air.add(sensor)``) a bleak client with
    ``backend=VirtualBleakClient`` reads, LISTs and READs it as any OSP sensor.
    """

    def __init__(
        self,
        address: str,
        *,
        serial: str,
        name: str | None = None,
        rate_hz: float = 200.0,
        channels: str = "acc+gyr",
        acc_range_g: int = 16,
        gyr_range_dps: int = 2000,
        clock_offset_s: float = 0.0,
        clock_drift_ppm: float = 0.0,
        boot_id: int | None = None,
        log_capacity_bytes: int | None = None,
        seed: int = 0,
        time_scale: float = 1.0,
        faults: Sequence[Fault] = (),
        on_state_change: Callable[[OspSensor, str], None] | None = None,
        max_mtu: int = 247,
    ) -> None:
        if channels not in _CHANNELS:
            raise SimulationError(f"channels must be one of {sorted(_CHANNELS)}, got {channels!r}")
        if acc_range_g not in ACC_RANGES_G or gyr_range_dps not in GYR_RANGES_DPS:
            raise SimulationError(f"ranges must be in {ACC_RANGES_G} g and {GYR_RANGES_DPS} deg/s")
        if not (math.isfinite(rate_hz) and 0 < rate_hz <= 10_000):
            raise SimulationError(f"rate_hz must be in (0, 10000] Hz, got {rate_hz!r}")
        if not (math.isfinite(clock_offset_s) and clock_offset_s >= 0):
            raise SimulationError(f"clock_offset_s must be finite and >= 0, got {clock_offset_s!r}")
        if not (math.isfinite(clock_drift_ppm) and abs(clock_drift_ppm) <= _MAX_DRIFT_PPM):
            raise SimulationError(
                f"clock_drift_ppm must be within ±{_MAX_DRIFT_PPM:g}, got {clock_drift_ppm!r}"
            )
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise SimulationError(f"time_scale must be a positive number, got {time_scale!r}")
        if boot_id is not None and not 0 < boot_id < 2**32:
            raise SimulationError(f"boot_id must be a non-zero u32, got {boot_id!r}")
        if len(serial.encode()) > 32 or not serial:
            raise SimulationError(f"serial must be 1..32 UTF-8 bytes, got {serial!r}")
        if any(not f.is_event for f in faults):
            raise SimulationError(
                "an OspSensor takes event faults only (link-drop, reboot, silent, overflow)"
            )
        self.serial = serial
        self.device_stats = OspDeviceStats()
        self._device_mask = _CHANNELS[channels]
        self._power_on = Settings(round(rate_hz * 1000), self._device_mask, acc_range_g, gyr_range_dps)
        self._flash = OspFlash(log_capacity_bytes)
        self._seed = seed
        self._boot_number = 0
        self._boot_id = boot_id if boot_id is not None else self._draw_boot_id(0)
        self._clock_rate = (1.0 + clock_drift_ppm * 1e-6) * time_scale
        self._clock_offset_us = clock_offset_s * 1e6
        self._clock_ref_us: float | None = None  # None: end of the pre-filled log + offset
        self._clock_ref_mono: float | None = None  # event-loop time of the reference; None: air time 0
        self._prefill_end_us = 0
        self._on_state_change = on_state_change
        self._control = OspControl(
            self,
            flash=self._flash,
            stats=self.device_stats,
            faults=faults,
            recorder=lambda: self._recorder,
            air=self._require_air,
            drain=self._drain,
            changed=self._changed,
        )
        self._recorder = self._new_recorder(first_index=0, source=_REST)
        self.battery_percent = 100
        osp = ServiceSpec(
            SERVICE_UUID,
            (
                CharacteristicSpec(
                    CONTROL_POINT_UUID, ("write", "indicate"), on_write=self._control.on_write
                ),
                CharacteristicSpec(DATA_UUID, ("notify",)),
                CharacteristicSpec(LOG_DATA_UUID, ("notify",)),
                CharacteristicSpec(
                    DESCRIPTOR_UUID, ("read",), on_read=lambda: self._recorder.descriptor_frame()
                ),
            ),
        )
        battery = ServiceSpec(
            "180F", (CharacteristicSpec("2A19", ("read",), on_read=lambda: bytes([self.battery_percent])),)
        )
        super().__init__(
            address,
            name or f"imurehab-OSP-{serial}",
            [osp, battery],
            advertised_services=[SERVICE_UUID],
            max_mtu=max_mtu,
        )

    # --- public state ------------------------------------------------------------------------------

    @property
    def boot_id(self) -> int:
        """The current boot id (a new random non-zero u32 at every boot)."""
        return self._boot_id

    @property
    def sessions(self) -> tuple[SessionEntry, ...]:
        """The sessions in flash as LIST reports them, by session id."""
        return tuple(s.entry() for s in self._flash.sessions())

    @property
    def fired_faults(self) -> tuple[Fault, ...]:
        """The faults fired so far."""
        return tuple(self._control.faults[i] for i in sorted(self._control.fired))

    def device_time_us(self) -> int:
        """The device clock now [µs since boot].

        Returns
        -------
        int
            ``reference + (1 + drift) · time_scale · (air time − reference time)`` in µs.
        """
        now = asyncio.get_running_loop().time()
        if self._clock_ref_mono is None:
            self._clock_ref_mono = now - self._require_air().time
        return max(0, int(self._reference_us() + (now - self._clock_ref_mono) * self._clock_rate * 1e6))

    def true_time_of(self, device_time_us: npt.ArrayLike) -> float | npt.NDArray[np.float64]:
        """When the device clock of the current boot read ``device_time_us``: event-loop time [s].

        Event-loop time is the system monotonic clock (``time.monotonic()``); the truth for checking a
        host's clock model.

        Parameters
        ----------
        device_time_us : float or array_like
            Device times of the current boot [µs since boot].
        """
        if self._clock_ref_mono is None:
            self.device_time_us()  # fixes the reference to air time 0
        assert self._clock_ref_mono is not None
        elapsed_us = np.asarray(device_time_us, dtype=np.float64) - self._reference_us()
        times = self._clock_ref_mono + elapsed_us / (self._clock_rate * 1e6)
        return float(times) if times.ndim == 0 else times

    def expected_log(self, session_id: int) -> bytes:
        """The exact bytes of a session log as the device logged them (also after COMMIT erased it).

        Parameters
        ----------
        session_id : int
            The session.
        """
        return self._flash.find(session_id).log()

    # --- setting the device up ---------------------------------------------------------------------

    def record_session(self, samples: SensorSamples) -> int:
        """Pre-fill flash with one CLOSED session of ``samples``, logged in the current boot.

        The samples are quantised with the power-on settings and logged as the spec's log (DESCRIPTOR, then
        DATA frames of up to 244 bytes, LAST on the final one, GAP_BEFORE after a ``sample_index`` gap).
        Device times are ``samples.device_time`` when given in µs, else the nominal grid from the end of the
        previous pre-filled session; sample indices are ``samples.sample_index``. Both must come after the
        previous pre-filled session. Call before the sensor goes on an air.

        Parameters
        ----------
        samples : SensorSamples
            The session's samples in SI units, at the device's rate (mag required for a mag device).

        Returns
        -------
        int
            The new session id.
        """
        if self._air is not None:
            raise SimulationError("record_session pre-fills flash before the sensor goes on the air")
        session, next_index, end_us = prefill_session(
            self._flash,
            samples,
            self._power_on,
            boot_id=self._boot_id,
            serial=self.serial,
            firmware=FIRMWARE_VERSION,
            first_index=self._recorder.next_index,
            first_time_us=self._prefill_end_us,
        )
        self._prefill_end_us = end_us
        self._recorder = self._new_recorder(first_index=next_index)
        return session.session_id

    def set_stream_source(self, samples: SensorSamples) -> None:
        """What the IMU measures from now on (replayed cyclically; sample index i reads row i mod N).

        Parameters
        ----------
        samples : SensorSamples
            SI samples (mag required for a mag device); their times are ignored.
        """
        if self._device_mask & 0x04 and samples.mag is None:
            raise SimulationError(f"{self.name} has a magnetometer: the stream source needs mag")
        self._recorder.set_source(SampleSource(samples.acc, samples.gyr, samples.mag))

    def set_clock(self, reading_us: float, *, at_monotonic: float | None = None) -> None:
        """Set the device clock of the current boot, before the sensor goes on an air.

        Parameters
        ----------
        reading_us : float
            Clock reading [µs since boot] at the reference instant.
        at_monotonic : float or None
            The reference instant in event-loop time (``loop.time()``, the system monotonic clock, so a
            clock can continue across processes); None: air time 0 of the air the sensor joins.
        """
        if self._air is not None:
            raise SimulationError("set_clock is only allowed while the sensor is off the air")
        self._clock_ref_us, self._clock_ref_mono = float(reading_us), at_monotonic

    def snapshot(self) -> dict[str, Any]:
        """The device state a new process needs to continue this device: a JSON-ready dict.

        Holds the erased sessions, the session counter, the boot, the clock reference, the sample index
        and the faults fired. Pre-filled sessions are not in it (the same samples rebuild them); sessions
        logged on the air with START_LOG are not kept.
        """
        return {
            "serial": self.serial,
            "boot_number": self._boot_number,
            "clock_ref_us": self._reference_us(),
            "clock_ref_monotonic": self._clock_ref_mono,
            "next_index": self._recorder.next_index,
            "next_session_id": self._flash.next_session_id,
            "committed": self._flash.erased_ids,
            "fired": sorted(self._control.fired),
        }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Continue a device from :meth:`snapshot` (after its pre-filled sessions were recorded again).

        Parameters
        ----------
        snapshot : mapping
            What :meth:`snapshot` returned for the same serial.
        """
        if self._air is not None or snapshot.get("serial") != self.serial:
            raise SimulationError(
                f"restore needs {self.name} off the air and a snapshot of serial {self.serial}"
            )
        for session_id in snapshot["committed"]:
            if (session := self._flash.get(int(session_id))) is not None:
                self._flash.commit(session.session_id, session.length, session.crc)
        self._flash.next_session_id = max(self._flash.next_session_id, int(snapshot["next_session_id"]))
        self._boot_number = int(snapshot["boot_number"])
        if self._boot_number:
            self._boot_id = self._draw_boot_id(self._boot_number)
        if snapshot["clock_ref_monotonic"] is not None:
            self.set_clock(snapshot["clock_ref_us"], at_monotonic=float(snapshot["clock_ref_monotonic"]))
        self._control.fired = {int(i) for i in snapshot["fired"]}
        self._recorder = self._new_recorder(first_index=int(snapshot["next_index"]))

    # --- link and boot hooks -----------------------------------------------------------------------

    def on_connect(self) -> None:
        """A central connected: commands of earlier links are stale from now on."""
        self._control.link_changed()

    def on_disconnect(self, reason: int) -> None:
        """The link went down: a READ ends without END, the live stream stops, logging goes on.

        Parameters
        ----------
        reason : int
            HCI reason code.
        """
        self._control.link_changed()
        self._recorder.end_stream()

    async def on_reboot(self) -> None:
        """Reboot: RAM state is lost, an OPEN log becomes INTERRUPTED, new boot id, the clock restarts."""
        self._control.link_changed()
        self._recorder.halt()
        self._flash.interrupt_open()
        self._boot_number += 1
        self._boot_id = self._draw_boot_id(self._boot_number)
        self._clock_ref_us, self._clock_ref_mono = 0.0, asyncio.get_running_loop().time()
        self._recorder = self._new_recorder(first_index=0)
        self.device_stats.reboots += 1
        self._changed("reboot")

    # --- helpers -----------------------------------------------------------------------------------

    async def _drain(self) -> None:
        for connection in list(self._links):
            await connection.drain()

    def _changed(self, event: str) -> None:
        if self._on_state_change is not None:
            self._on_state_change(self, event)

    def _reference_us(self) -> float:
        if self._clock_ref_us is not None:
            return self._clock_ref_us
        return self._prefill_end_us + self._clock_offset_us

    def _draw_boot_id(self, boot_number: int) -> int:
        rng = random.Random(f"imurehab-osp-boot/{self._seed}/{self.serial}/{boot_number}")
        previous = getattr(self, "_boot_id", 0)
        while (value := rng.getrandbits(32)) in (0, previous):
            pass
        return value

    def _new_recorder(self, *, first_index: int, source: SampleSource | None = None) -> Recorder:
        return Recorder(
            settings=self._power_on,
            device_mask=self._device_mask,
            source=source or self._recorder.source,
            flash=self._flash,
            stats=self.device_stats,
            first_index=first_index,
            clock=self.device_time_us,
            clock_rate=self._clock_rate,
            boot_id=self._boot_id,
            serial=self.serial,
            firmware=FIRMWARE_VERSION,
            spawn=lambda coroutine, name: self._require_air().spawn(coroutine, name=f"{name} {self.address}"),
            send_live=lambda frame: self.notify(DATA_UUID, frame),
            mtu=lambda: self.mtu,
            on_stream_tick=self._control.stream_tick,
        )
