"""Exports of a dataset for other tools: BIDS motion, OpenSense orientations, CSV for spreadsheets.

Each export reads sessions of a dataset and writes files into an output folder (empty unless
``overwrite``), one session after another, and returns an :class:`ExportResult` listing what it wrote.
Formats, layouts, units and conventions: the modules :mod:`imurehab.export.bids`,
:mod:`imurehab.export.opensense`, :mod:`imurehab.export.csv`, and docs/exports.md.

Examples
--------
>>> from imurehab.export import export_bids, export_csv, export_opensense
>>> export_bids("data", "data-bids", subject="001")  # doctest: +SKIP
"""

from imurehab.export._common import ExportResult, ExportSession
from imurehab.export.bids import export_bids
from imurehab.export.csv import export_csv
from imurehab.export.opensense import export_opensense

__all__ = ["ExportResult", "ExportSession", "export_bids", "export_csv", "export_opensense"]
