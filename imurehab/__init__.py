"""imurehab: body-worn IMU sensors to joint angles, ROM, reps, quality flags and training load.

The public API is what this module re-exports; everything else is private. Units are SI (m/s², rad/s,
µT, s) inside the library, degrees only in clinical outputs (columns ``*_deg``). Earth frame ENU;
quaternions Hamilton, scalar first (w, x, y, z), rotating sensor-frame vectors into the earth frame.
"""

from imurehab._version import __version__
from imurehab.errors import (
    DatasetNotFoundError,
    DataValidationError,
    DuplicateSensorError,
    IdentifierError,
    ImportFormatError,
    ImurehabError,
    NonFiniteError,
    PartitionExistsError,
    SchemaError,
    ShapeError,
    SimulationError,
    StoreError,
    TimeOrderError,
    UnitsError,
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
    Recording,
    SampleFlags,
    SensorInfo,
    SensorSamples,
    SessionInfo,
)

__all__ = [
    "SCHEMA_VERSION",
    "SEGMENTS",
    "STANDARD_GRAVITY",
    "TABLES",
    "DataValidationError",
    "DatasetNotFoundError",
    "DuplicateSensorError",
    "IdentifierError",
    "ImportFormatError",
    "ImurehabError",
    "NonFiniteError",
    "PartitionExistsError",
    "Recording",
    "SampleFlags",
    "SchemaError",
    "SensorInfo",
    "SensorSamples",
    "SessionInfo",
    "ShapeError",
    "SimulationError",
    "StoreError",
    "TimeOrderError",
    "UnitsError",
    "__version__",
    "append_table",
    "dataset_summary",
    "list_sessions",
    "read_file_metadata",
    "read_recording",
    "read_table",
    "write_recording",
    "write_table",
]
