"""A shake carried by the virtual sensors' logs: every logged sample inside it measures the shake exactly.

Before strapping the sensors on, a physio holds them together and shakes them for a few seconds while
they log (:class:`~imurehab.simulate.shake.SensorShake`); cross-correlating their gyroscopes then aligns
families that share no clock. A twin's values otherwise replay simulated rows by index, which each family
maps to air time its own way, so here every family's **logged** sample whose true instant ``t`` (air
time, the one :meth:`~imurehab.virtual.mixed.FamilyScenario.true_sample_times_s` gives, clock offset and
drift included) lies inside the shake carries ``shake.measure(t, address)`` instead (acc, gyr, and mag
where logged), before the family's own quantisation. How a logged sample maps to its true instant, per
family:

- ``osp``: logged sample ``i`` is row ``i`` of the simulated recording, encoded into flash when the
  sensors are built; its true instant is the simulation truth's ``time_s[i]`` less the lead before air
  time 0 (jitter and drift included). The rows are rewritten before they are encoded
  (:attr:`~imurehab.virtual.VirtualScenario.log_overlay`); the live stream replays the unshaken rows.
- ``polar-pmd``: offline sample ``k`` of the grid at the recording rate (104 Hz, say, whatever the
  simulation's rate) was measured when the sensor clock read ``(k · 10⁹) // rate`` ns past its reading
  at air time 0, i.e. at ``that / (1 + drift)`` s of air time. The recording is framed when the air
  opens, reading each sample through :meth:`~imurehab.virtual.polar_sensor.PolarSource.at`, whose
  overlay puts the shake over the nearest row picked for ``k``.
- ``movesense-gsp``: sample ``k`` of a path's rate was taken at ``k / rate`` s since boot; the
  DataLogger entry is whole messages of that grid, made when fetched, again through the source's
  overlay; true instant ``(k / rate − boot at air 0) / (1 + drift)``.
- ``movella-dot``: grid sample ``k`` (the output rate) has device time ``sample_time_us(k)``; the flash
  recording is samples ``−rate · log_seconds … −1``, exported through the source's overlay; true instant
  ``(device time − clock at air 0) / (1 + drift)``.

Live samples are on the same grids but after air time 0, so a shake before the air opens leaves them as
they were. No family's codec remaps axes: a stored sample equals ``shake.measure`` in imurehab's sensor
frame up to quantisation. A DOT's quaternion (not exported by a sync) still follows the simulation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from imurehab.errors import SimulationError
from imurehab.simulate.shake import SensorShake, ShakeSeries

if TYPE_CHECKING:
    from imurehab.types import SensorSamples
    from imurehab.virtual.mixed import FamilyScenario
    from imurehab.virtual.polar_sensor import SourceOverlay

__all__ = ["ShakeInsideLogs", "apply_shake", "log_span_s", "shake_inside_logs"]

FloatArray = npt.NDArray[np.float64]
TrueInstants = Callable[[npt.NDArray[np.int64], float], FloatArray]
"""``(grid samples k, rate [Hz]) -> true instants [s of air time]`` of one sensor."""
_SOURCE_NAME = {"acc": 0, "gyro": 1, "mag": 2}  # PolarSource measurement → index in measure()


def apply_shake(scenario: FamilyScenario, shake: SensorShake | ShakeSeries) -> None:
    """Make every sample the scenario's sensors logged inside ``shake`` measure it, at its true instant.

    Replaces a shake applied before.

    Parameters
    ----------
    scenario : FamilyScenario
        One family's scenario, not on an air yet (an OSP one with its sensors not built yet).
    shake : SensorShake or ShakeSeries
        The shake (or shakes), in air time.

    Raises
    ------
    imurehab.errors.SimulationError
        The scenario is on an air already, its OSP sensors were built, or its family is unknown.
    """
    if scenario.origin_monotonic is not None:
        raise SimulationError("give the shake before the sensors go on the air (it is in their logs)")
    if scenario.family == "osp":
        if "sensors" in vars(scenario):
            raise SimulationError("give the shake before the OSP sensors are built (their logs are encoded)")
        scenario.log_overlay = _logged_rows(scenario, shake)  # type: ignore[attr-defined]
        return
    grid = {"polar-pmd": _polar_instants, "movesense-gsp": _movesense_instants, "movella-dot": _dot_instants}
    if scenario.family not in grid:
        raise SimulationError(f"no shake for family {scenario.family!r}")
    for i, (address, sensor) in enumerate(zip(scenario.addresses, scenario.sensors, strict=True)):
        overlay = _source_overlay(shake, address, grid[scenario.family](scenario, i))
        sensor.source = dataclasses.replace(sensor.source, overlay=overlay)


def log_span_s(scenario: FamilyScenario, address: str) -> tuple[float, float]:
    """True instants of the first and last sample the sensor logs before the air opens [s of air time].

    A Polar recording is framed when the sensors go on the air (a few ms of air time after it opens);
    before that its span is the planned one: the ``log_seconds`` of its clock before air time 0.

    Parameters
    ----------
    scenario : FamilyScenario
        The sensor's family scenario.
    address : str
        Its address.

    Raises
    ------
    imurehab.errors.SimulationError
        The sensor logs nothing.
    """
    s: Any = scenario
    if s.family == "polar-pmd" and address.upper() not in s._logged:
        s.sensors  # noqa: B018 (built: that draws the clocks)
        ppm = s._clocks[s._position(address)][1]
        n = round(s.log_seconds * s.log_rate_hz)
        t = np.array([-n / s.log_rate_hz / (1.0 + ppm * 1e-6), 0.0]) if n else np.array([])
    else:
        t = scenario.true_sample_times_s(address)
    if len(t) == 0:
        raise SimulationError(f"sensor {address} ({scenario.family}) logs nothing before the air opens")
    return float(t[0]), float(t[-1])


def shake_inside_logs(
    scenarios: Sequence[FamilyScenario],
    *,
    duration_s: float = 3.0,
    lead_s: float = 1.0,
    seed: int = 0,
    count: int = 1,
) -> SensorShake | ShakeSeries:
    """A shake inside every sensor's log: from ``lead_s`` after the latest first logged sample.

    Parameters
    ----------
    scenarios : sequence of FamilyScenario
        Every sensor's family scenario.
    duration_s : float
        Length of the shake, ramps included [s].
    lead_s : float
        From the latest first logged sample to the start of the shake [s] (and, with ``count`` 2, from
        the end of the last shake to the earliest last logged sample).
    seed : int
        Seed of the shake's motion (the second shake's is ``seed + 1``).
    count : int
        1, or 2: one shake at each end of the logs' overlap (a :class:`ShakeSeries`).

    Raises
    ------
    imurehab.errors.SimulationError
        A sensor logs nothing, or the logs do not overlap for the shakes.
    """
    if count not in (1, 2):
        raise SimulationError(f"count must be 1 or 2, got {count}")
    spans = [log_span_s(s, a) for s in scenarios for a in s.addresses]
    start = max(first for first, _ in spans) + lead_s
    end = min(last for _, last in spans)
    room = count * duration_s + (count - 1) * lead_s + (lead_s if count > 1 else 0.0)
    if start + room > end:
        raise SimulationError(
            f"the sensors' logs overlap from {start - lead_s:.3f} s to {end:.3f} s of air time: no room for "
            f"{count} shake(s) of {duration_s:g} s {lead_s:g} s in"
        )
    first = SensorShake(start_s=start, duration_s=duration_s, seed=seed)
    if count == 1:
        return first
    last_start = end - lead_s - duration_s
    last = SensorShake(start_s=last_start, duration_s=duration_s, seed=seed + 1, mount_seed=seed)
    return ShakeSeries((first, last))


class ShakeInsideLogs:
    """What a :class:`~imurehab.virtual.mixed.MixedScenario` knows of shakes (a mixin, kept here)."""

    scenarios: list[FamilyScenario]
    seed: int

    def shake_inside_logs(
        self, duration_s: float = 3.0, seed: int | None = None, count: int = 1
    ) -> SensorShake | ShakeSeries:
        """A shake inside every sensor's log, 1 s after the latest first logged sample (give it as ``shake``).

        Parameters
        ----------
        duration_s : float
            Its length, ramps included [s].
        seed : int, optional
            Seed of its motion (default: the scenario's).
        count : int
            2 for a second shake ending 1 s before the earliest last logged sample (sensors shaken
            together again after being taken off: it measures the drift between their clocks).

        Raises
        ------
        imurehab.errors.SimulationError
            A sensor logs nothing, or the logs do not overlap long enough.
        """
        seed = self.seed if seed is None else seed
        return shake_inside_logs(self.scenarios, duration_s=duration_s, seed=seed, count=count)


def _logged_rows(
    scenario: Any, shake: SensorShake | ShakeSeries
) -> Callable[[str, SensorSamples], SensorSamples]:
    """OSP: rewrite logged row ``i`` inside the shake with the shake at ``true_sample_times_s[i]``."""

    def overlay(address: str, samples: SensorSamples) -> SensorSamples:
        t = scenario.true_sample_times_s(address)
        inside = shake.contains(t)
        if len(t) != len(samples.time_us):
            raise SimulationError(f"{address}: {len(samples.time_us)} logged samples, {len(t)} true instants")
        if not inside.any():
            return samples
        measured = shake.measure(t[inside], address)
        new = {}
        for name, values in zip(("acc", "gyr", "mag"), measured, strict=True):
            if (old := getattr(samples, name)) is not None:
                new[name] = old.copy()
                new[name][inside] = values
        return dataclasses.replace(samples, **new)

    return overlay


def _source_overlay(shake: SensorShake | ShakeSeries, address: str, true_s: TrueInstants) -> SourceOverlay:
    """Grid families: the shake over the values picked for grid samples inside it."""

    def overlay(
        measurement: str, ks: npt.NDArray[np.int64], rate_hz: float, values: FloatArray
    ) -> FloatArray:
        t = true_s(ks, rate_hz)
        inside = shake.contains(t)
        if not inside.any():
            return values
        out = np.array(values, dtype=np.float64, copy=True)
        out[inside] = shake.measure(t[inside], address)[_SOURCE_NAME[measurement]]
        return out

    return overlay


def _polar_instants(scenario: Any, i: int) -> TrueInstants:
    """Polar: sample ``k`` at ``(k · 10⁹) // rate`` ns of its clock past air time 0."""

    def true_s(ks: npt.NDArray[np.int64], rate_hz: float) -> FloatArray:
        ppm = scenario._clocks[i][1]
        return ((ks * 10**9) // int(rate_hz)) / 1e9 / (1.0 + ppm * 1e-6)

    return true_s


def _movesense_instants(scenario: Any, i: int) -> TrueInstants:
    """Movesense: sample ``k`` at ``k / rate`` s since boot."""

    def true_s(ks: npt.NDArray[np.int64], rate_hz: float) -> FloatArray:
        boot_ns, ppm = scenario._clocks[i]
        return (ks.astype(np.float64) / rate_hz - boot_ns / 1e9) / (1.0 + ppm * 1e-6)

    return true_s


def _dot_instants(scenario: Any, i: int) -> TrueInstants:
    """DOT: sample ``k`` at its device time ``sample_time_us(k)`` (one grid at the output rate)."""

    def true_s(ks: npt.NDArray[np.int64], rate_hz: float) -> FloatArray:
        del rate_hz  # the sensor's output rate
        clock_us, ppm = scenario._clocks[i]
        return (scenario.sensors[i].sample_time_us(ks) - clock_us) / 1e6 / (1.0 + ppm * 1e-6)

    return true_s
