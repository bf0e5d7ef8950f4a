"""imurehab: body-worn IMU sensors to joint angles, ROM, reps, quality flags and training load.

The public API is what this module re-exports; everything else is private. Units are SI (m/s², rad/s,
µT, s) inside the library, degrees only in clinical outputs (columns ``*_deg``). Earth frame ENU;
quaternions Hamilton, scalar first (w, x, y, z), rotating sensor-frame vectors into the earth frame.

Names are imported on first use (PEP 562): ``import imurehab.training`` does not load the BLE, fusion or
simulator stacks unless they are used, while ``from imurehab import X`` works for every name below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from imurehab._version import __version__
from imurehab.errors import (
    BleError,
    DatasetNotFoundError,
    DataValidationError,
    DuplicateSensorError,
    IdentifierError,
    ImportFormatError,
    ImurehabError,
    JournalError,
    NonFiniteError,
    PartitionExistsError,
    SchemaError,
    ShapeError,
    SimulationError,
    StoreError,
    SyncIncompleteError,
    TemplateError,
    TimeOrderError,
    UnitsError,
)

if TYPE_CHECKING:
    from imurehab.analysis import Rep, segment_reps
    from imurehab.body import hinge_joint_angles, joint_angles, segment_joint_angles
    from imurehab.exercises import ExerciseTemplate, list_templates, load_template
    from imurehab.feedback import CueEvent, FeedbackEngine
    from imurehab.fusion import estimate_orientation
    from imurehab.pipeline import ProcessedSession, process_recording, process_session
    from imurehab.simulate import (
        SensorErrorModel,
        SimulatedSession,
        SimulationTruth,
        list_movements,
        simulate_session,
    )
    from imurehab.store import (
        SCHEMA_VERSION,
        TABLES,
        append_table,
        dataset_summary,
        list_sessions,
        read_file_metadata,
        read_recording,
        read_table,
        write_recording,
        write_table,
    )
    from imurehab.types import (
        SEGMENTS,
        STANDARD_GRAVITY,
        ClockModel,
        Recording,
        SampleFlags,
        SensorInfo,
        SensorSamples,
        SessionInfo,
    )

_LAZY: Final[dict[str, tuple[str, ...]]] = {
    "imurehab.analysis": ("Rep", "segment_reps"),
    "imurehab.body": ("hinge_joint_angles", "joint_angles", "segment_joint_angles"),
    "imurehab.exercises": ("ExerciseTemplate", "list_templates", "load_template"),
    "imurehab.feedback": ("CueEvent", "FeedbackEngine"),
    "imurehab.fusion": ("estimate_orientation",),
    "imurehab.pipeline": ("ProcessedSession", "process_recording", "process_session"),
    "imurehab.simulate": (
        "SensorErrorModel",
        "SimulatedSession",
        "SimulationTruth",
        "list_movements",
        "simulate_session",
    ),
    "imurehab.store": (
        "SCHEMA_VERSION",
        "TABLES",
        "append_table",
        "dataset_summary",
        "list_sessions",
        "read_file_metadata",
        "read_recording",
        "read_table",
        "write_recording",
        "write_table",
    ),
    "imurehab.types": (
        "SEGMENTS",
        "STANDARD_GRAVITY",
        "ClockModel",
        "Recording",
        "SampleFlags",
        "SensorInfo",
        "SensorSamples",
        "SessionInfo",
    ),
}
_MODULE_OF: Final[dict[str, str]] = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and keep the name here (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'imurehab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})


__all__ = [
    "SCHEMA_VERSION",
    "SEGMENTS",
    "STANDARD_GRAVITY",
    "TABLES",
    "BleError",
    "ClockModel",
    "CueEvent",
    "DataValidationError",
    "DatasetNotFoundError",
    "DuplicateSensorError",
    "ExerciseTemplate",
    "FeedbackEngine",
    "IdentifierError",
    "ImportFormatError",
    "ImurehabError",
    "JournalError",
    "NonFiniteError",
    "PartitionExistsError",
    "ProcessedSession",
    "Recording",
    "Rep",
    "SampleFlags",
    "SchemaError",
    "SensorErrorModel",
    "SensorInfo",
    "SensorSamples",
    "SessionInfo",
    "ShapeError",
    "SimulatedSession",
    "SimulationError",
    "SimulationTruth",
    "StoreError",
    "SyncIncompleteError",
    "TemplateError",
    "TimeOrderError",
    "UnitsError",
    "__version__",
    "append_table",
    "dataset_summary",
    "estimate_orientation",
    "hinge_joint_angles",
    "joint_angles",
    "list_movements",
    "list_sessions",
    "list_templates",
    "load_template",
    "process_recording",
    "process_session",
    "read_file_metadata",
    "read_recording",
    "read_table",
    "segment_joint_angles",
    "segment_reps",
    "simulate_session",
    "write_recording",
    "write_table",
]
