"""Process a session: samples → orientation → joint angles → repetitions and ROM.

Each step is a pure function of typed data; :func:`process_recording` composes them and returns the
results as polars DataFrames in the canonical table schemas (see :mod:`imurehab.store.schema`).
:func:`process_session` reads a session from a dataset, processes it and writes the results beside it,
with what they were made from (:mod:`imurehab.pipeline.provenance`). The command-line app, the batch
(:mod:`imurehab.batch`) and the demo all call these.

Modules: :mod:`~imurehab.pipeline.joints` (one joint: calibration, angles, reps, quality),
:mod:`~imurehab.pipeline.recording` (a recording's tables), :mod:`~imurehab.pipeline.session` (a
dataset's session, written), :mod:`~imurehab.pipeline.provenance` (what results were made from).
"""

from imurehab.pipeline.joints import EXERCISE_JOINTS, ROM_UNCERTAINTY_DEG, JointResult
from imurehab.pipeline.provenance import RESULT_TABLES
from imurehab.pipeline.recording import ProcessedSession, process_recording
from imurehab.pipeline.session import process_session

__all__ = [
    "EXERCISE_JOINTS",
    "RESULT_TABLES",
    "ROM_UNCERTAINTY_DEG",
    "JointResult",
    "ProcessedSession",
    "process_recording",
    "process_session",
]
