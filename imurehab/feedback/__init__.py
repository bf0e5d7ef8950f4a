"""Real-time feedback: the exercise logic run causally on a live stream, as cue events.

Feed :class:`FeedbackEngine` each sensor packet as it arrives (``push(sensor_id, time_us, acc, gyr)``);
it returns :class:`CueEvent` records — ``calibrating``, ``ready``, ``rep`` (number, ROM, duration, peak),
``deeper``, ``slower``, ``faster``, ``compensation`` — computed only from samples received so far.
See ``docs/feedback.md``.
"""

from imurehab.feedback.engine import TILT_JOINTS, FeedbackEngine, required_segments
from imurehab.feedback.events import KINDS, CueEvent
from imurehab.feedback.joint import Calibration
from imurehab.feedback.reps import RepDetector, RepTargets, WatchedChannel
from imurehab.feedback.track import SensorTrack

__all__ = [
    "KINDS",
    "TILT_JOINTS",
    "Calibration",
    "CueEvent",
    "FeedbackEngine",
    "RepDetector",
    "RepTargets",
    "SensorTrack",
    "WatchedChannel",
    "required_segments",
]
