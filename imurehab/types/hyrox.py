"""The HYROX race's fixed structure: phase labels and the stations in race order.

One place for the labels the simulator's truth and the segmentation share (HYROX rulebook: eight 1 km
runs, each followed by one station, always in this order; the Roxzone is the transition area between the
run track and the stations).
"""

from __future__ import annotations

from typing import Final

__all__ = ["ROXZONE", "RUN", "STATIONS"]

RUN: Final = "run"
"""Phase label of the 1 km runs."""
ROXZONE: Final = "roxzone"
"""Phase label of the transitions between the run track and a station."""
STATIONS: Final[tuple[str, ...]] = (
    "skierg",
    "sled-push",
    "sled-pull",
    "burpee-broad-jumps",
    "rowing",
    "farmers-carry",
    "sandbag-lunges",
    "wall-balls",
)
"""Station labels in race order: station 1 … 8."""
