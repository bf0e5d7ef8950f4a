"""The researcher notebooks in notebooks/ run end to end and show what they promise, so they cannot rot.

Each notebook runs in a fresh IPython kernel on this interpreter, in a temporary working folder. After
its own cells, a probe cell prints the key results as JSON, which the tests check next to the outputs a
reader sees (tables, plots, messages).

The kernel: nbclient asks jupyter_client for the kernel named ``python3``. A ``python3`` kernelspec in a
user or system Jupyter folder could start another interpreter, so the kernel spec manager here searches
no folders at all and falls back to ipykernel's own spec, which runs ``sys.executable`` (the venv's
Python, with imurehab installed). No global Jupyter install and no ``ipykernel install`` are needed.

nbclient runs in a child process (this file run as a script): jupyter_client leaves zmq sockets and a
heartbeat thread behind after a run, whose ResourceWarnings would surface in whichever test the garbage
collector happens to run in. The child takes them with it when it exits.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imurehab.fusion import METHODS
from imurehab.fusion.broad import broad_data_dir
from imurehab.types.hyrox import ROXZONE, RUN, STATIONS

nbformat = pytest.importorskip("nbformat", reason="install the test extras: nbformat, nbclient, ipykernel")
pytest.importorskip("nbclient", reason="install the test extras: nbformat, nbclient, ipykernel")
pytest.importorskip("ipykernel", reason="install the test extras: nbformat, nbclient, ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01-joint-angles.ipynb", "02-fusion-on-broad.ipynb", "03-coach-cohort.ipynb")
CELL_TIMEOUT_S = 600  # hang guards only (a cold numba cache compiles for ~15 s); never timing checks
RUN_TIMEOUT_S = 1800
PROBE_MARK = "NOTEBOOK-PROBE:"
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def execute_in_this_process(job: dict[str, str | None]) -> None:
    """Execute ``job["source"]`` in a kernel with cwd ``job["workdir"]``; write it to ``job["executed"]``.

    ``parameters`` is inserted as a cell right after the cell tagged ``parameters`` (papermill's
    convention); ``probe`` is an expression whose JSON the last, added cell prints after ``PROBE_MARK``.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(job["source"], as_version=4)
    if job["parameters"] is not None:
        index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(job["parameters"]))
    if job["probe"] is not None:
        probe = f"import json\nprint({PROBE_MARK!r} + json.dumps({job['probe']}))"
        nb.cells.append(nbformat.v4.new_code_cell(probe))
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    # The kernel's own matplotlib backend (inline) must show the figures, whatever the caller uses.
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"} | {"TMPDIR": job["workdir"]}
    client = NotebookClient(
        nb,
        km=km,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": job["workdir"]}},
    )
    client.execute(env=env)
    nbformat.write(nb, job["executed"])


def run_notebook(name: str, tmp_path: Path, *, parameters: str | None = None, probe: str | None = None):
    """Execute a notebook in a child process; returns (executed notebook without the probe cell, probe).

    The kernel's working folder and temporary folder are ``tmp_path/cwd``.
    """
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    executed = tmp_path / f"executed-{name}"
    job = {
        "source": str(NOTEBOOKS / name),
        "executed": str(executed),
        "workdir": str(workdir),
        "parameters": parameters,
        "probe": probe,
    }
    done = subprocess.run(
        [sys.executable, __file__, json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        plain = ANSI_COLOUR.sub("", done.stderr)  # IPython colours its tracebacks
        pytest.fail(f"{name} failed to run:\n{plain[-6000:]}")
    nb = nbformat.read(executed, as_version=4)
    found = None
    if probe is not None:
        text = "".join(o.get("text", "") for o in nb.cells.pop().outputs if o.output_type == "stream")
        found = json.loads(text.split(PROBE_MARK, 1)[1])
    return nb, found


def outputs(nb, stream: str = "stdout") -> str:
    """All text the cells printed to ``stream`` (``stdout`` or ``stderr``)."""
    return "".join(
        o.text
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if o.output_type == "stream" and o.name == stream
    )


def figures(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def check_clean_run(nb) -> None:
    """No cell wrote to stderr: warnings (deprecations in the APIs used) show up there."""
    assert outputs(nb, "stderr") == ""


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1
    assert name in (NOTEBOOKS / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_joint_angles_notebook(tmp_path):
    probe = """{
        "reps": REPS, "sessions": list(SESSIONS),
        "time_dtype": str(angles.schema["time"]),
        "rom": rom.select("session", "rep", "rom_deg", "rom_uncertainty_deg", "flags").rows(),
        "duckdb_reps": per_session.select("session", "reps").rows(),
        "truth_errors": [r["error_deg"] for r in truth_rows],
        "truth_incomplete": [
            [s, r.rep] for s, sim in simulations.items() for r in sim.truth.reps if r.incomplete
        ],
        "dataset_removed": not root.exists(),
    }"""
    nb, got = run_notebook("01-joint-angles.ipynb", tmp_path, probe=probe)
    check_clean_run(nb)
    n_reps = got["reps"] * len(got["sessions"])
    assert got["time_dtype"] == "Datetime(time_unit='us', time_zone='UTC')"
    assert len(got["rom"]) == n_reps
    assert got["duckdb_reps"] == [[s, got["reps"]] for s in got["sessions"]]
    assert all(u == 0.5 for *_, u, _ in got["rom"])  # the knee's ROM uncertainty
    assert all(20.0 < rom < 100.0 for _, _, rom, _, _ in got["rom"])
    # the second set was simulated with one short repetition: the template flags that one
    flagged = [[s, r] for s, r, _, _, flags in got["rom"] if "incomplete" in flags]
    assert flagged == got["truth_incomplete"] and len(flagged) == 1
    assert len(got["truth_errors"]) == n_reps and all(abs(e) < 1.0 for e in got["truth_errors"])
    printed = re.findall(r"^knee0[12] rep \d+: ROM \d+\.\d° ± 0\.5°", outputs(nb), flags=re.MULTILINE)
    assert len(printed) == n_reps
    assert figures(nb) == 1
    assert got["dataset_removed"]


def expected_estimators() -> set[tuple[str, str, str]]:
    return {(m, mode, dim) for m, modes in METHODS.items() for mode in modes for dim in ("6D", "9D")}


@pytest.mark.slow
def test_fusion_notebook_on_broad(tmp_path):
    probe = """{
        "trials": list(TRIALS),
        "errors": None if errors is None else errors.select(
            "trial", "method", "mode", "dim", "total_deg", "n_samples").rows(),
        "table": None if table is None else table.select("estimator", "dim", "mean").rows(),
    }"""
    nb, got = run_notebook("02-fusion-on-broad.ipynb", tmp_path, probe=probe)
    check_clean_run(nb)
    if broad_data_dir() is None:
        assert "BROAD data not found" in outputs(nb)
        assert got["errors"] is None and figures(nb) == 0
        return
    runs = got["errors"]
    assert {(m, mode, dim) for _, m, mode, dim, _, _ in runs} == expected_estimators()
    assert len(runs) == len(expected_estimators()) * len(got["trials"])
    assert {t for t, *_ in runs} == set(got["trials"])
    # finite and below Madgwick's worst on these trials with room (13° for a magnet 1 cm away)
    assert all(math.isfinite(e) and 0.0 < e < 20.0 and n > 1000 for *_, e, n in runs)
    assert {(label, dim) for label, dim, _ in got["table"]} == {
        (f"{m} {mode}", dim) for m, mode, dim in expected_estimators()
    }
    assert figures(nb) == 1


def test_fusion_notebook_without_broad_says_so_and_skips(tmp_path):
    nb, got = run_notebook(
        "02-fusion-on-broad.ipynb",
        tmp_path,
        parameters="BROAD_DIR = None",
        probe='{"errors": errors is None, "table": table is None}',
    )
    check_clean_run(nb)
    text = outputs(nb)
    assert "BROAD data not found" in text and "skipping the fusion comparison" in text
    assert got == {"errors": True, "table": True}
    assert figures(nb) == 0


def test_fusion_notebook_cites_broad():
    source = "".join(
        c.source for c in nbformat.read(NOTEBOOKS / "02-fusion-on-broad.ipynb", as_version=4).cells
    )
    for words in ("Laidig", "Caruso", "Cereatti", "Seel", "10.3390/data6070072", "CC BY 4.0"):
        assert words in source


@pytest.mark.slow
def test_coach_notebook(tmp_path):
    probe = """{
        "athletes": list(ATHLETES),
        "weekly_columns": weekly.columns,
        "weeks": weekly.height,
        "stations": stations.rows(),
        "latest": latest.get_column("subject").to_list(),
        "computed": report.count("computed"), "failed": report.count("failed"),
        "recomputed": again.count("computed"),
        "sessions": sessions.height,
        "per_kind": per_kind.select("subject", "kind", "sessions").rows(),
    }"""
    nb, got = run_notebook("03-coach-cohort.ipynb", tmp_path, probe=probe)
    check_clean_run(nb)
    athletes = got["athletes"]
    assert got["weekly_columns"] == ["week", *athletes]
    assert got["weeks"] == 6  # five weeks of walks and the race week
    assert got["latest"] == athletes
    assert (got["computed"], got["failed"], got["recomputed"]) == (got["sessions"], 0, 0)
    assert [(a, kind) for a, kind, _ in got["per_kind"]] == [
        (a, k) for a in athletes for k in ("race", "walks")
    ]
    assert all(n == 1 for _, kind, n in got["per_kind"] if kind == "race")
    # every phase of the race, in race order, with a load for every athlete
    assert [row[0] for row in got["stations"]] == [RUN, *STATIONS, ROXZONE]
    assert all(v is not None and v > 0 for row in got["stations"] for v in row[1:])
    text = outputs(nb)
    assert "not a validated injury-risk predictor" in text and "Impellizzeri et al. 2021" in text
    assert figures(nb) == 3


if __name__ == "__main__":
    execute_in_this_process(json.loads(sys.argv[1]))
