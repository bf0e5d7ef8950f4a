"""Clinical and training analysis: repetitions and range of motion (more to come: quality, load)."""

from imurehab.analysis.reps import Rep, segment_reps

__all__ = ["Rep", "segment_reps"]
