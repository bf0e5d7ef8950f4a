"""Motion generator: ground-truth body kinematics and the IMU signals strapped sensors would measure.

:func:`simulate_session` turns a movement name into a :class:`~imurehab.types.Recording` of simulated
sensors (family ``"sim"``) plus a :class:`SimulationTruth`: segment and sensor orientations, joint angles,
reps and phases. Conventions are the project's: SI units, earth frame ENU, Hamilton scalar-first
quaternions mapping the named frame into the earth frame, ISB segment frames (x anterior, y superior,
z right) and joint angles in degrees: Z-X-Y Cardan, the shoulder in ISB Y-X-Y (elevation, plane of
elevation, axial rotation; see :mod:`imurehab.simulate.joints`). What is and is not modelled:
``docs/simulator.md``.

Examples
--------
>>> from imurehab.simulate import SensorErrorModel, simulate_session
>>> sim = simulate_session("seated-knee-extension", reps=3, errors=SensorErrorModel.ideal(), seed=1)
>>> sim.recording.sensor_ids
['S1', 'S2']
>>> [r.rep for r in sim.truth.reps_for("knee_right")]
[1, 2, 3]
"""

from imurehab.simulate.body import POSTURES, Skeleton
from imurehab.simulate.compensations import COMPENSATIONS, Compensation
from imurehab.simulate.error_model import ChannelErrors, ClockErrors, SensorErrorModel, SoftTissue
from imurehab.simulate.field import GRAVITY, EarthField, MagneticDipole
from imurehab.simulate.hyrox_athlete import HyroxAthlete
from imurehab.simulate.hyrox_race import HyroxRaceOptions, race_truth
from imurehab.simulate.joints import DOF_NAMES, JOINTS, JointSpec, joint_angles_from_quats
from imurehab.simulate.movements import MOVEMENTS, Movement, list_movements
from imurehab.simulate.sensors import SensorMount
from imurehab.simulate.session import (
    DEFAULT_START_TIME,
    SimulatedSession,
    body_reference_quat,
    simulate_session,
)
from imurehab.simulate.truth import PhaseTruth, RepTruth, SensorTruth, SimulationTruth

__all__ = [
    "COMPENSATIONS",
    "DEFAULT_START_TIME",
    "DOF_NAMES",
    "GRAVITY",
    "JOINTS",
    "MOVEMENTS",
    "POSTURES",
    "ChannelErrors",
    "ClockErrors",
    "Compensation",
    "EarthField",
    "HyroxAthlete",
    "HyroxRaceOptions",
    "JointSpec",
    "MagneticDipole",
    "Movement",
    "PhaseTruth",
    "RepTruth",
    "SensorErrorModel",
    "SensorMount",
    "SensorTruth",
    "SimulatedSession",
    "SimulationTruth",
    "Skeleton",
    "SoftTissue",
    "body_reference_quat",
    "joint_angles_from_quats",
    "list_movements",
    "race_truth",
    "simulate_session",
]
