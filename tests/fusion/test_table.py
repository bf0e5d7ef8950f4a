"""The orientation table of a recording: canonical schema, quality columns, library/pipeline parity."""

import numpy as np
import polars as pl

from imurehab.fusion import orientation_table
from imurehab.simulate import simulate_session
from imurehab.store import schema as col


def test_orientation_table_rows_and_schema():
    sim = simulate_session("elbow-flexion", reps=2, seed=2)
    rec = sim.recording
    table = orientation_table(rec, mode="causal")
    assert table.schema == col.polars_schema(col.ORIENTATION)
    assert table.height == sum(len(s) for s in rec.sensors)
    for s in rec.sensors:
        rows = table.filter(pl.col(col.SENSOR) == s.sensor_id)
        assert rows[col.SEGMENT][0] == rec.session.placements.get(s.sensor_id)
        q = rows.select(col.QUAT).to_numpy()
        assert np.allclose(np.linalg.norm(q, axis=1), 1.0)
        assert rows[col.BIAS_X].null_count() == 0
        assert rows[col.MAG_DISTURBED].null_count() == (0 if s.mag is not None else rows.height)
    assert table[col.REST].dtype == pl.Boolean
