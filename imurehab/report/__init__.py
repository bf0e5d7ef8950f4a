"""Reports and charts: matplotlib on the Agg canvas, PNG files and self-contained HTML pages.

Nothing here shows a window or reaches the network; HTML pages embed their figures as base64 PNG or
inline SVG. The coach's comparison (:mod:`~imurehab.report.coach`) and the physiotherapist's session
report (:mod:`~imurehab.report.physio`) are built from the same page and figure helpers.
"""

from imurehab.report.coach import comparison_figure, comparison_page, write_comparison
from imurehab.report.figures import figure_png, figure_svg, new_figure
from imurehab.report.html import Section, html_page, html_table
from imurehab.report.physio import PhysioReport, physio_page, physio_report

__all__ = [
    "PhysioReport",
    "Section",
    "comparison_figure",
    "comparison_page",
    "figure_png",
    "figure_svg",
    "html_page",
    "html_table",
    "new_figure",
    "physio_page",
    "physio_report",
    "write_comparison",
]
