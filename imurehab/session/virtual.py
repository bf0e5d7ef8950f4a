"""A profile on virtual sensors: a virtual OSP scenario with a sensor on each of the profile's segments.

A virtual scenario's addresses follow from its seed, so a profile cannot name them ahead. With
``--virtual`` the profile's sensors are matched **by placement** instead: :func:`virtual_scenario`
simulates the profile's first exercise (walking if it has none the simulator knows) on sensors S1..SN
placed per :data:`imurehab.virtual.scenario.PLACEMENTS`, enough of them to cover every segment of the
profile plus ``extra`` more (on the air, not in the profile: never connected to); :func:`bind_virtual`
gives each profile sensor the address of the virtual sensor on its segment. Every virtual sensor is
OSP, whatever family the profile names; the profile's serials are dropped (the virtual ones differ).

Examples
--------
>>> from imurehab.session import parse_profile
>>> profile = parse_profile('''
... subject = "P017"
... exercises = ["seated-knee-extension"]
... [[sensors]]
... address = "AA:BB:CC:DD:EE:01"
... segment = "shank"
... side = "right"
... ''')
>>> scenario = virtual_scenario(profile, minutes=0.2, extra=1)
>>> scenario.n_sensors, scenario.movement
(3, 'seated-knee-extension')
>>> bind_virtual(profile, scenario).sensors[0].address == scenario.addresses[1]
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from imurehab.session.profile import SessionProfile
from imurehab.simulate import MOVEMENTS
from imurehab.virtual import VirtualScenario
from imurehab.virtual.scenario import PLACEMENTS

__all__ = ["bind_virtual", "virtual_scenario"]


def virtual_scenario(
    profile: SessionProfile,
    *,
    minutes: float = 1.0,
    rate_hz: float = 100.0,
    faults: Sequence[str] = (),
    seed: int = 0,
    extra: int = 1,
    state_file: str | Path | None = None,
) -> VirtualScenario:
    """Virtual OSP sensors on the profile's segments, each with a simulated session logged.

    Parameters
    ----------
    profile : SessionProfile
        The profile.
    minutes : float
        Length of the logged session [min].
    rate_hz : float
        Sample rate [Hz].
    faults : sequence of str
        Fault texts (:mod:`imurehab.virtual.osp_faults`: ``link-drop@S``, ``loss=F``, ...).
    seed : int
        Seed of the scenario (addresses, motion, losses).
    extra : int
        Virtual sensors beyond the last segment the profile uses (not in the profile) [count].
    state_file : str or Path, optional
        Where the devices' state is kept between processes (see :class:`~imurehab.virtual.VirtualScenario`).

    Returns
    -------
    VirtualScenario
        Not started yet (``async with scenario.start():``).
    """
    used = max(PLACEMENTS.index(s.placement) for s in profile.sensors) + 1
    movement = next((e for e in profile.exercises if e in MOVEMENTS), "walking")
    return VirtualScenario(
        n_sensors=min(used + extra, len(PLACEMENTS)),
        minutes=minutes,
        rate_hz=rate_hz,
        movement=movement,
        faults=tuple(faults),
        seed=seed,
        channels="acc+gyr+mag",
        state_file=state_file,
    )


def bind_virtual(profile: SessionProfile, scenario: VirtualScenario) -> SessionProfile:
    """The profile with each sensor addressed as the virtual sensor on its segment.

    Parameters
    ----------
    profile : SessionProfile
        The profile.
    scenario : VirtualScenario
        From :func:`virtual_scenario` for this profile.

    Returns
    -------
    SessionProfile
        The same subject, exercises, pose and placements; addresses of the scenario, family ``osp``,
        no serials.
    """
    address_on = {placement: a for placement, a in zip(PLACEMENTS, scenario.addresses, strict=False)}
    sensors = tuple(
        dataclasses.replace(s, address=address_on[s.placement], serial=None, family="osp")
        for s in profile.sensors
    )
    return dataclasses.replace(profile, sensors=sensors)
