"""Open training-load metrics from body-worn accelerometers, with exact, versioned definitions.

Every function takes specific force in m/s² in the sensor frame (gravity included, as in the
``samples`` table) and converts to g with g = 9.80665 m/s². Definitions, units, sources and the
behaviour at other sampling rates: ``docs/load-metrics.md``. The definitions' version is
:data:`LOAD_METRICS_VERSION`; the per-epoch table (:func:`load_epochs`) writes it in each row.

Examples
--------
>>> import numpy as np
>>> from imurehab.analysis.load import playerload
>>> rng = np.random.default_rng(0)
>>> acc = rng.normal(0.0, 1.0, (1000, 3)) + [0.0, 9.80665, 0.0]
>>> playerload(acc, 100.0) > playerload(acc, 100.0, axes="2d") > playerload(acc, 100.0, axes="fwd")
True
"""

from imurehab.analysis.load.axes import ISB_AXES, LOAD_METRICS_VERSION, STANDARD_GRAVITY, AxisMap
from imurehab.analysis.load.cadence import (
    MIN_ACTIVITY_MAD_MG,
    MIN_PERIODIC_FRACTION,
    STEP_BAND_HZ,
    STROKE_BAND_HZ,
    cadence_spm,
)
from imurehab.analysis.load.counts import ACTIGRAPH_RATES_HZ, COUNTS_RATE_HZ, actigraph_counts
from imurehab.analysis.load.epochs import enmo_mg, mad_mg
from imurehab.analysis.load.events import EVENT_MIN_DURATION_S, EVENT_THRESHOLD_MPS2, accel_decel_events
from imurehab.analysis.load.impacts import IMPACT_REFRACTORY_S, IMPACT_ZONES_G, impact_peaks
from imurehab.analysis.load.playerload import PLAYERLOAD_AXES, PLAYERLOAD_RATE_HZ, playerload
from imurehab.analysis.load.table import SUMMED_COLUMNS, WEIGHTED_MEAN_COLUMNS, aggregate_load, load_epochs

__all__ = [
    "ACTIGRAPH_RATES_HZ",
    "COUNTS_RATE_HZ",
    "EVENT_MIN_DURATION_S",
    "EVENT_THRESHOLD_MPS2",
    "IMPACT_REFRACTORY_S",
    "IMPACT_ZONES_G",
    "ISB_AXES",
    "LOAD_METRICS_VERSION",
    "MIN_ACTIVITY_MAD_MG",
    "MIN_PERIODIC_FRACTION",
    "PLAYERLOAD_AXES",
    "PLAYERLOAD_RATE_HZ",
    "STANDARD_GRAVITY",
    "STEP_BAND_HZ",
    "STROKE_BAND_HZ",
    "SUMMED_COLUMNS",
    "WEIGHTED_MEAN_COLUMNS",
    "AxisMap",
    "accel_decel_events",
    "actigraph_counts",
    "aggregate_load",
    "cadence_spm",
    "enmo_mg",
    "impact_peaks",
    "load_epochs",
    "mad_mg",
    "playerload",
]
