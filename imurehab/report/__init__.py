"""Reports and charts: matplotlib on the Agg canvas, PNG files and self-contained HTML pages.

Nothing here shows a window or reaches the network; HTML pages embed their figures as base64 PNG.
"""

from imurehab.report.coach import comparison_figure, comparison_page, write_comparison
from imurehab.report.figures import figure_png, new_figure
from imurehab.report.html import Section, html_page, html_table

__all__ = [
    "Section",
    "comparison_figure",
    "comparison_page",
    "figure_png",
    "html_page",
    "html_table",
    "new_figure",
    "write_comparison",
]
