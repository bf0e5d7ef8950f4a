"""The ``imurehab`` command-line app: a thin layer over the library.

Exit codes: 0 ok, 1 failure, 2 usage error, 3 partial (something incomplete). Errors print one line on
stderr; ``--json`` output goes to stdout; progress and tables go to stderr so stdout stays clean.
"""

from imurehab.cli.app import app, main

__all__ = ["app", "main"]
