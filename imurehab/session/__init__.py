"""Session profiles: set up a patient's sensors once, then start and sync a whole session in one command.

A profile (:func:`load_profile`, ``docs/session-profiles.md``) names the subject, the sensors with
their segments, the exercises and the calibration pose. :func:`start_session` starts onboard logging on
those sensors only, clocks synced; :func:`sync_session` stops it, downloads every sensor verified,
places, processes and reports. :func:`virtual_scenario` and :func:`bind_virtual` run a profile on
virtual OSP sensors.

Examples
--------
>>> import asyncio
>>> from imurehab.session import load_profile, sync_session  # doctest: +SKIP
>>> profile = load_profile("examples/profiles/knee-rehab.toml")  # doctest: +SKIP
>>> result = asyncio.run(sync_session(profile, "data"))  # doctest: +SKIP
>>> result.complete, result.missing  # doctest: +SKIP
(True, [])
"""

from imurehab.session.onboard import START_FAMILIES, STOP_FAMILIES, LoggingOutcome, run_family
from imurehab.session.profile import ProfileError, ProfileSensor, SessionProfile, load_profile, parse_profile
from imurehab.session.run import SessionStart, SessionSync, start_session, started_session, sync_session
from imurehab.session.virtual import bind_virtual, virtual_scenario

__all__ = [
    "START_FAMILIES",
    "STOP_FAMILIES",
    "LoggingOutcome",
    "ProfileError",
    "ProfileSensor",
    "SessionProfile",
    "SessionStart",
    "SessionSync",
    "bind_virtual",
    "load_profile",
    "parse_profile",
    "run_family",
    "start_session",
    "started_session",
    "sync_session",
    "virtual_scenario",
]
