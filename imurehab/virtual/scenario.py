"""A virtual OSP scenario: a simulated session logged on N virtual OSP sensors, on a virtual air with faults.

:class:`VirtualScenario` simulates a movement with :func:`imurehab.simulate.simulate_session` (sensors S1..SN
strapped to thigh and shank of both legs, then pelvis, feet, trunk, head, arms), builds one
:class:`~imurehab.virtual.OspSensor` per simulated sensor with that session pre-logged (CLOSED, session
id 1), and ``async with scenario.start() as air:`` puts them on a :class:`~imurehab.virtual.VirtualAir`.
Everything follows from ``(n_sensors, minutes, rate_hz, movement, faults, seed, channels)``: addresses,
serials, boot ids, the log bytes, clocks and which notifications the air loses.

Clocks. Each sensor's device clock reads its simulated clock: a random offset (up to 30 s at the session
start) and, with ``drift-ppm=X``, a drift drawn in ±X ppm; otherwise no drift. The session ends 1 s (true
time) before air time 0 of the first :meth:`~VirtualScenario.start`, the same instant for every sensor, so
:meth:`~VirtualScenario.true_sample_times_s` gives each sample's true air time and sensors agree on it.

Host crash and restart. With ``state_file``, the scenario keeps in a small JSON file what a device changes
that (seed, parameters) cannot tell: sessions erased by COMMIT, faults already fired, reboots and the clock
reference (as system monotonic time, so a device clock runs on across processes). The file is rewritten
atomically before the device answers the COMMIT (or acts on the fault, or reboots). A new process building
the same scenario with the same ``state_file`` gets the same devices in the same state.

Examples
--------
>>> scenario = VirtualScenario(n_sensors=2, minutes=0.2, seed=3, faults=["link-drop@1.5", "loss=0.01"])
>>> scenario.names, scenario.placements
(['imurehab-OSP-1', 'imurehab-OSP-2'], {'S1': 'thigh_right', 'S2': 'shank_right'})
>>> scenario.addresses == VirtualScenario(n_sensors=2, seed=3).addresses
True
>>> log = scenario.expected_log(scenario.addresses[0])
>>> log[:2].hex(), scenario.sensors[0].sessions[0].n_samples
('0102', 2400)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError
from imurehab.simulate import (
    MOVEMENTS,
    ClockErrors,
    SensorErrorModel,
    SimulatedSession,
    SimulationTruth,
    simulate_session,
)
from imurehab.types import Recording, SensorSamples
from imurehab.virtual._radio import Airtime
from imurehab.virtual.air import VirtualAir
from imurehab.virtual.faults import FaultPlan
from imurehab.virtual.mixed import FamilyScenario
from imurehab.virtual.osp_faults import FAULT_GRAMMAR, Fault, parse_fault
from imurehab.virtual.osp_sensor import OspSensor

__all__ = ["PLACEMENTS", "VirtualScenario", "check_placement", "parse_fault"]

PLACEMENTS: Final = (
    "thigh_right",
    "shank_right",
    "thigh_left",
    "shank_left",
    "pelvis",
    "foot_right",
    "foot_left",
    "trunk",
    "head",
    "upper_arm_right",
    "upper_arm_left",
    "forearm_right",
    "forearm_left",
    "hand_right",
    "hand_left",
)
"""Segment of sensor S1, S2, ... in a scenario."""
_STATE_FORMAT: Final = "imurehab-virtual-osp-scenario/1"
_GAP_S: Final = 1.0  # true time from the end of the logged session to air time 0
_OFFSET_MAX_S: Final = 30.0  # device clocks read up to this at the session start
_MAX_MINUTES: Final = 24 * 60.0


def check_placement(n_sensors: int, first_placement: int) -> tuple[list[str], dict[str, str]]:
    """Sensor ids ``S<first+1>..`` and their segments, from :data:`PLACEMENTS` entry ``first_placement`` on.

    Parameters
    ----------
    n_sensors : int
        Sensors.
    first_placement : int
        Index in :data:`PLACEMENTS` of the first sensor's segment.

    Raises
    ------
    imurehab.errors.DataValidationError
        When the sensors do not fit in :data:`PLACEMENTS` from there.
    """
    if not isinstance(first_placement, int) or not 0 <= first_placement <= len(PLACEMENTS) - n_sensors:
        raise DataValidationError(
            f"{n_sensors} sensors from placement {first_placement!r} exceed the {len(PLACEMENTS)} segments"
        )
    ids = [f"S{first_placement + i}" for i in range(1, n_sensors + 1)]
    return ids, dict(zip(ids, PLACEMENTS[first_placement:], strict=False))


def check_scenario(
    n_sensors: int,
    minutes: float,
    rate_hz: float,
    movement: str,
    faults: Sequence[str | Fault],
    seed: int,
    *,
    max_minutes: float = _MAX_MINUTES,
) -> tuple[Fault, ...]:
    """Check the arguments every virtual scenario shares and parse its fault texts.

    Raises
    ------
    imurehab.errors.DataValidationError
        A parameter out of range or a bad fault text.
    """
    if isinstance(n_sensors, bool) or not isinstance(n_sensors, int) or not 1 <= n_sensors <= len(PLACEMENTS):
        raise DataValidationError(f"n_sensors must be an integer in 1..{len(PLACEMENTS)}, got {n_sensors!r}")
    if not (isinstance(minutes, int | float) and math.isfinite(minutes) and 0 < minutes <= max_minutes):
        raise DataValidationError(f"minutes must be in (0, {max_minutes:g}], got {minutes!r}")
    if not (isinstance(rate_hz, int | float) and math.isfinite(rate_hz) and 1 <= rate_hz <= 2000):
        raise DataValidationError(f"rate_hz must be in [1, 2000] Hz, got {rate_hz!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataValidationError(f"seed must be a non-negative integer, got {seed!r}")
    if movement not in MOVEMENTS:
        raise DataValidationError(f"unknown movement {movement!r}; expected one of {sorted(MOVEMENTS)}")
    if isinstance(faults, str):
        raise DataValidationError("faults must be a sequence of fault texts, not one string")
    return tuple(f if isinstance(f, Fault) else parse_fault(f) for f in faults)


def scenario_addresses(namespace: str, first_octet: str, seed: int, n_sensors: int) -> tuple[int, list[str]]:
    """A scenario's tag (CRC-32 of ``namespace/seed``) and its sensors' BLE addresses, one per sensor."""
    tag = zlib.crc32(f"{namespace}/{seed}".encode())
    addresses = [
        f"{first_octet}:{tag >> 16 & 0xFF:02X}:{tag >> 8 & 0xFF:02X}:{tag & 0xFF:02X}:00:{i:02X}"
        for i in range(1, n_sensors + 1)
    ]
    return tag, addresses


class VirtualScenario(FamilyScenario):
    """A simulated session logged on virtual OSP sensors, ready to go on a virtual air.

    Parameters
    ----------
    n_sensors : int
        Sensors S1..SN (1–15), placed per :data:`PLACEMENTS`.
    minutes : float
        Length of the logged session [min].
    rate_hz : float
        Sample rate of every sensor [Hz].
    movement : str
        A movement of :func:`imurehab.simulate.list_movements` (``"walking"``, ``"squat"``, ...).
    faults : sequence of str or Fault
        Fault texts (see :mod:`imurehab.virtual.osp_faults`): ``link-drop@S``, ``reboot@S``, ``silent@S``,
        ``overflow@S`` for every sensor; ``loss=F`` on every link; ``drift-ppm=X`` for the clocks.
    seed : int
        Seed of everything (simulation, addresses, boot ids, air losses).
    channels : {"acc+gyr", "acc+gyr+mag"}
        Channels of the sensors.
    state_file : str or Path or None
        Where to keep the device state across host processes (see the module notes); None keeps nothing.
    first_placement : int
        Index in :data:`PLACEMENTS` of S1's segment (the sensors are then ``S<first+1>``, ...), so that
        several families' scenarios strap their sensors on distinct segments of one body.

    Raises
    ------
    imurehab.errors.DataValidationError
        A parameter out of range, a bad fault text, or a state file of another scenario.
    """

    family = "osp"
    air_faults = ()  # link drops and silences are fired by the OSP sensors themselves
    log_overlay: Callable[[str, SensorSamples], SensorSamples] | None = None
    """``(address, samples) -> samples``: rewrites what a sensor logs before its flash is written (set it
    before :attr:`sensors` is built; e.g. a shake, :mod:`imurehab.virtual.shake_overlay`)."""

    def __init__(
        self,
        n_sensors: int = 2,
        minutes: float = 1.0,
        rate_hz: float = 200.0,
        movement: str = "walking",
        faults: Sequence[str | Fault] = (),
        seed: int = 0,
        *,
        channels: str = "acc+gyr",
        state_file: str | Path | None = None,
        first_placement: int = 0,
    ) -> None:
        self.faults = check_scenario(n_sensors, minutes, rate_hz, movement, faults, seed)
        if channels not in ("acc+gyr", "acc+gyr+mag"):
            raise DataValidationError(f"channels must be 'acc+gyr' or 'acc+gyr+mag', got {channels!r}")
        for kind in ("loss", "drift-ppm"):
            if sum(f.kind == kind for f in self.faults) > 1:
                raise DataValidationError(
                    f"fault {kind} given more than once; expected one of: {FAULT_GRAMMAR}"
                )
        self.n_sensors, self.minutes, self.rate_hz = n_sensors, float(minutes), float(rate_hz)
        self.movement, self.seed, self.channels = movement, seed, channels
        self.state_file = None if state_file is None else Path(state_file)
        self.first_placement = first_placement
        self.sensor_ids, self.placements = check_placement(n_sensors, first_placement)
        tag, self.addresses = scenario_addresses("imurehab-virtual-osp", "F0", seed, n_sensors)
        self.serials = [f"OSP-{tag:08X}-{i}" for i in range(1, n_sensors + 1)]
        self.names = [f"imurehab-OSP-{i}" for i in range(1, n_sensors + 1)]
        self._state = self._load_state()

    # --- what was simulated ------------------------------------------------------------------------

    @property
    def loss(self) -> float:
        """Fraction of notifications the air loses on every link."""
        return next((f.value for f in self.faults if f.kind == "loss"), 0.0)

    @property
    def drift_ppm(self) -> float:
        """Largest |clock drift| of the sensors [ppm] (0: perfect rates)."""
        return next((f.value for f in self.faults if f.kind == "drift-ppm"), 0.0)

    @cached_property
    def simulation(self) -> SimulatedSession:
        """The simulated session (computed once, on first use)."""
        realistic = SensorErrorModel.realistic()
        clock = ClockErrors(
            offset_max_s=_OFFSET_MAX_S, drift_max_ppm=self.drift_ppm, jitter_s=realistic.clock.jitter_s
        )
        return simulate_session(
            self.movement,
            duration_s=self.minutes * 60.0,
            rate_hz=self.rate_hz,
            sensors=self.placements,
            seed=self.seed,
            errors=dataclasses.replace(realistic, clock=clock),
            with_mag=self.channels == "acc+gyr+mag",
        )

    @property
    def recording(self) -> Recording:
        """The simulated samples (SI units) the sensors logged, before quantisation."""
        return self.simulation.recording

    @property
    def truth(self) -> SimulationTruth:
        """The simulation's ground truth (segment orientations, joint angles, reps, clocks)."""
        return self.simulation.truth

    @cached_property
    def sensors(self) -> list[OspSensor]:  # type: ignore[override]
        """The virtual OSP sensors, S1 first, each with its session logged (and restored state)."""
        events = [f for f in self.faults if f.is_event]
        lead_s = self._duration_s() + _GAP_S
        out = []
        recorded = {s.info.sensor_id: s for s in self.recording.sensors}
        for i, (sid, address) in enumerate(zip(self.sensor_ids, self.addresses, strict=True)):
            samples = recorded[sid]
            truth = self.truth.sensors[sid]
            sensor = OspSensor(
                address,
                serial=self.serials[i],
                name=self.names[i],
                rate_hz=self.rate_hz,
                channels=self.channels,
                clock_drift_ppm=truth.clock_drift_ppm,
                seed=self.seed,
                faults=events,
                on_state_change=self._on_state_change,
            )
            sensor.record_session(samples if self.log_overlay is None else self.log_overlay(address, samples))
            sensor.set_stream_source(samples)
            reading_s = truth.clock_offset_s + (1.0 + truth.clock_drift_ppm * 1e-6) * lead_s
            sensor.set_clock(round(reading_s * 1e6))
            if (snapshot := self._state["sensors"].get(address)) is not None:
                sensor.restore(snapshot)
            out.append(sensor)
        return out

    def sensor(self, address: str) -> OspSensor:
        """The sensor at ``address``.

        Parameters
        ----------
        address : str
            Its address (any case).
        """
        return self.sensors[self._position(address)]

    def expected_log(self, address: str) -> bytes:
        """The exact bytes of the session the sensor at ``address`` logged (session id 1).

        Parameters
        ----------
        address : str
            The sensor's address.
        """
        return self.sensor(address).expected_log(1)

    def true_sample_times_s(self, address: str) -> npt.NDArray[np.float64]:
        """True instant of each logged sample, in air time of the scenario's first start [s] (negative).

        Add :attr:`origin_monotonic` for system monotonic time (``time.monotonic()``).

        Parameters
        ----------
        address : str
            The sensor's address.
        """
        sid = self.sensor_ids[self._position(address)]
        return self.truth.sensors[sid].time_s - (self._duration_s() + _GAP_S)

    # --- on the air --------------------------------------------------------------------------------

    def _on_air(self, air: VirtualAir) -> None:
        del air
        for sensor in self.sensors:
            sensor.device_time_us()  # fixes the first boot's clock reference to the first air's time 0
        self._save()

    @contextlib.asynccontextmanager
    async def start(
        self, plan: FaultPlan | None = None, *, airtime: Airtime | None = None
    ) -> AsyncIterator[VirtualAir]:
        """Open a virtual air with the scenario's sensors on it; the state file is saved at the end too.

        Parameters
        ----------
        plan : FaultPlan, optional
            A fault plan to use instead of ``loss=F`` (the other faults are the sensors' own).
        airtime : Airtime, optional
            Give the air a radio that takes time (see :class:`~imurehab.virtual.Airtime`).

        Yields
        ------
        VirtualAir
            The air (current in the context, so the bleak backend classes find it).
        """
        async with super().start(plan, airtime=airtime) as air:
            try:
                yield air
            finally:
                self._save()

    # --- state file --------------------------------------------------------------------------------

    def _params(self) -> dict[str, Any]:
        return {
            "n_sensors": self.n_sensors,
            "minutes": self.minutes,
            "rate_hz": self.rate_hz,
            "movement": self.movement,
            "faults": [str(f) for f in self.faults],
            "seed": self.seed,
            "channels": self.channels,
            "first_placement": self.first_placement,
        }

    def _load_state(self) -> dict[str, Any]:
        if self.state_file is None or not self.state_file.exists():
            return {"sensors": {}}
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError) as err:
            raise DataValidationError(
                f"virtual scenario state {self.state_file} is unreadable: {err}"
            ) from None
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            raise DataValidationError(f"{self.state_file} is not a virtual scenario state file")
        if state.get("params") != self._params():
            raise DataValidationError(
                f"{self.state_file} belongs to another virtual scenario ({state.get('params')}); "
                "use the same --virtual-* options and --seed, or another folder"
            )
        self.origin_monotonic = state.get("origin_monotonic")
        return state

    def _save(self) -> None:
        if self.state_file is None:
            return
        state = {
            "format": _STATE_FORMAT,
            "params": self._params(),
            "origin_monotonic": self.origin_monotonic,
            "sensors": {s.address: s.snapshot() for s in self.sensors},
        }
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, self.state_file)

    def _on_state_change(self, sensor: OspSensor, event: str) -> None:
        del sensor, event
        if "sensors" in self.__dict__:  # not while the sensors are being built
            self._save()

    def _duration_s(self) -> float:
        return len(self.recording.sensors[0].time_us) / self.rate_hz
