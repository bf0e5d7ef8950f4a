"""Batches of sessions: idempotent, atomic per session, redoing only what changed, on any executor."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from imurehab import simulate_session, write_recording
from imurehab.batch import BatchOptions, executor_kind, open_executor, plan_batch, run_batch
from imurehab.cli import app
from imurehab.errors import ImurehabError
from imurehab.pipeline import RESULT_TABLES
from imurehab.pipeline.provenance import (
    InputFile,
    ResultsSettings,
    ResultsSource,
    read_results_source,
)
from imurehab.store import read_table
from imurehab.store import staged as staged_module
from imurehab.store.layout import find_parts

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SESSIONS = (("p1", "s1", 1), ("p1", "s2", 2), ("p2", "s1", 3), ("p2", "s2", 4))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four small simulated squat sessions (2 subjects × 2 weeks, two sensors, ~20 s at 100 Hz)."""
    root = tmp_path_factory.mktemp("inputs")
    for i, (subject, session, seed) in enumerate(SESSIONS):
        sim = simulate_session(
            "squat",
            reps=3,
            seed=seed,
            with_mag=False,
            subject_id=subject,
            session_id=session,
            start_time=T0 + timedelta(days=7 * (i % 2)),
        )
        write_recording(sim.recording, root)
    return root


@pytest.fixture
def dataset(inputs: Path, tmp_path: Path) -> Path:
    """A fresh copy of the inputs (samples and sessions only)."""
    root = tmp_path / "ds"
    shutil.copytree(inputs, root)
    return root


def results(root: Path) -> dict[str, pl.DataFrame]:
    """Every results table, rows in a canonical order."""
    out = {}
    for table in RESULT_TABLES:
        frame = read_table(root, table).collect()
        out[table] = frame.sort(frame.columns, nulls_last=True)
    return out


def assert_same_results(a: Path, b: Path) -> None:
    ra, rb = results(a), results(b)
    for table in RESULT_TABLES:
        assert ra[table].height > 0
        assert_frame_equal(ra[table], rb[table])


def result_files(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for t in RESULT_TABLES for p in find_parts(root, t)}


def summaries(report) -> list:
    return [[j.summary.to_dict() for j in r.joints if j.summary] for r in report.results]


def test_a_second_run_processes_nothing_and_changes_no_byte(dataset: Path) -> None:
    first = run_batch(plan_batch(dataset))
    assert [r.status for r in first.results] == ["processed"] * 4
    assert all(r.reason == "no complete results" and r.reps == 3 for r in first.results)
    files = result_files(dataset)
    assert len(files) == 4 * len(RESULT_TABLES)
    plan = plan_batch(dataset)
    assert plan.tasks == () and [r.reason for r in plan.skipped] == ["unchanged"] * 4
    second = run_batch(plan)
    assert [r.status for r in second.results] == ["skipped"] * 4
    assert result_files(dataset) == files
    # each set of week 2 is compared with week 1 of the same subject, whatever ran first
    changes = [j.summary.change for r in first.results for j in r.joints]
    assert [c is not None for c in changes] == [False, False, True, True]


def test_a_crash_between_two_tables_is_never_taken_as_finished(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = []
    commit = staged_module._commit_part

    def crash_after_the_first_table(part):
        if published:
            raise OSError("disk pulled out")
        published.append(commit(part))
        return published[-1]

    monkeypatch.setattr(staged_module, "_commit_part", crash_after_the_first_table)
    report = run_batch(plan_batch(dataset, subject="p1", session="s1"))
    monkeypatch.undo()
    (failed,) = report.results
    assert failed.status == "failed" and "disk pulled out" in failed.error
    # the orientation part is visible, the other two are not: the session is not finished
    assert [len(find_parts(dataset, t, "p1", "s1")) for t in RESULT_TABLES] == [1, 0, 0]
    assert read_results_source(dataset, "p1", "s1") is None
    plan = plan_batch(dataset)
    assert {(t.subject, t.session, t.reason) for t in plan.tasks} >= {("p1", "s1", "no complete results")}
    assert run_batch(plan).count("failed") == 0
    clean = tmp_path / "clean"
    shutil.copytree(dataset, clean, ignore=shutil.ignore_patterns(*RESULT_TABLES))
    run_batch(plan_batch(clean))
    assert_same_results(dataset, clean)


def test_only_the_session_whose_input_changed_is_processed_again(dataset: Path) -> None:
    run_batch(plan_batch(dataset))
    before = result_files(dataset)
    other = simulate_session(
        "squat", reps=4, seed=9, with_mag=False, subject_id="p2", session_id="s2", start_time=T0
    )
    write_recording(other.recording, dataset, overwrite=True)
    plan = plan_batch(dataset)
    assert [(t.subject, t.session, t.reason) for t in plan.tasks] == [("p2", "s2", "input files touched")]
    report = run_batch(plan)
    assert [(r.session, r.status) for r in report.results if r.subject == "p2"] == [
        ("s1", "skipped"),
        ("s2", "processed"),
    ]
    (redone,) = [r for r in report.results if r.status == "processed"]
    assert redone.reason == "inputs changed" and redone.reps == 4
    after = result_files(dataset)
    assert {p for p in after if after[p] != before[p]} == {
        Path(t, "subject=p2", "session=s2", "part-0.parquet") for t in RESULT_TABLES
    }


def test_touched_files_with_the_same_content_are_hashed_not_processed(dataset: Path) -> None:
    run_batch(plan_batch(dataset, subject="p1"))
    files = result_files(dataset)
    for path in find_parts(dataset, "samples", "p1", "s2"):
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    plan = plan_batch(dataset, subject="p1")
    assert [(t.session, t.reason) for t in plan.tasks] == [("s2", "input files touched")]
    report = run_batch(plan)
    assert [(r.status, r.reason) for r in report.results] == [("skipped", "unchanged")] * 2
    assert result_files(dataset) == files


def test_another_exercise_processes_every_session_again(dataset: Path) -> None:
    run_batch(plan_batch(dataset, subject="p1"))
    plan = plan_batch(dataset, subject="p1", options=BatchOptions(exercise="seated-knee-extension"))
    assert [t.reason for t in plan.tasks] == ["exercise changed"] * 2
    assert [t.reason for t in plan_batch(dataset, options=BatchOptions(overwrite=True)).tasks] == [
        "overwrite"
    ] * 4


def test_a_bad_session_is_reported_and_the_others_are_done(dataset: Path) -> None:
    (samples,) = find_parts(dataset, "samples", "p2", "s1")
    samples.write_bytes(samples.read_bytes()[:300])  # a truncated file
    res = CliRunner().invoke(app, ["process", str(dataset), "--json", "--workers", "1"])
    assert res.exit_code == 3, res.output  # partial
    report = json.loads(res.stdout)
    assert (report["processed"], report["skipped"], report["failed"]) == (3, 0, 1)
    (bad,) = [r for r in report["sessions"] if r["status"] == "failed"]
    assert (bad["subject"], bad["session"]) == ("p2", "s1") and bad["error"]
    assert [len(find_parts(dataset, t, "p2", "s1")) for t in RESULT_TABLES] == [0, 0, 0]


def test_the_process_pool_batch_equals_the_serial_one(dataset: Path, tmp_path: Path) -> None:
    serial = tmp_path / "serial"
    shutil.copytree(dataset, serial)
    with open_executor("local", workers=2) as pool:
        assert pool is not None
        report = run_batch(plan_batch(dataset), executor=pool)
    reference = run_batch(plan_batch(serial))
    assert_same_results(dataset, serial)
    assert summaries(report) == summaries(reference)


@pytest.mark.slow
def test_the_dask_local_cluster_batch_equals_the_process_pool_batch(dataset: Path, tmp_path: Path) -> None:
    """A Dask LocalCluster of 2 worker processes (processes=True, as ``--executor dask-local``)."""
    pytest.importorskip("distributed")
    local = tmp_path / "local"
    shutil.copytree(dataset, local)
    with open_executor("local", workers=2) as pool:
        reference = run_batch(plan_batch(local), executor=pool)
    with open_executor("dask-local", workers=2) as cluster:
        report = run_batch(plan_batch(dataset), executor=cluster)
        assert run_batch(plan_batch(dataset), executor=cluster).count("skipped") == 4
    assert [r.status for r in report.results] == ["processed"] * 4
    assert_same_results(dataset, local)
    assert summaries(report) == summaries(reference)
    for subject, session, _ in SESSIONS:
        a, b = read_results_source(dataset, subject, session), read_results_source(local, subject, session)
        assert a is not None and b is not None
        assert [f.content for f in a.inputs] == [f.content for f in b.inputs]
        assert a.settings == b.settings


def test_executor_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert executor_kind("local") == "local" and executor_kind("dask-local") == "dask-local"
    assert executor_kind("dask://node1:8786") == executor_kind("tcp://10.0.0.1:8786") == "dask"
    for bad in ("threads", "dask://", "dask:node1"):
        with pytest.raises(ValueError, match="unknown executor"):
            executor_kind(bad)
    res = CliRunner().invoke(app, ["process", "nowhere", "--executor", "threads"])
    assert res.exit_code == 2 and "unknown executor" in res.output
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)  # as if Dask were not installed
    with pytest.raises(ImurehabError, match=r"imurehab\[dask\]"), open_executor("dask-local", workers=2):
        pass


names = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12)
input_file = st.builds(
    InputFile,
    table=st.sampled_from(["samples", "sessions"]),
    name=names,
    size=st.integers(0, 2**40),
    mtime_ns=st.integers(0, 2**62),
    sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
)
settings = st.builds(
    ResultsSettings,
    exercise=st.none() | names,
    template_sha256=st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
    software_version=names,
    schema_version=st.integers(1, 100),
    results_version=st.integers(1, 100),
)


@given(st.builds(ResultsSource, inputs=st.lists(input_file, max_size=4).map(tuple), settings=settings))
def test_a_results_source_survives_the_footer_json(source: ResultsSource) -> None:
    assert ResultsSource.from_dict(json.loads(json.dumps(source.to_dict()))) == source


@given(st.none() | st.integers() | st.text() | st.dictionaries(st.text(), st.integers() | st.text()))
def test_a_damaged_source_reads_as_none(raw: object) -> None:
    assert ResultsSource.from_dict(raw) is None


@pytest.mark.slow
def test_the_python_examples_of_docs_batch_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Local pool and Dask LocalCluster examples, in order, in a scratch folder."""
    pytest.importorskip("distributed")
    doc = Path(__file__).resolve().parents[1] / "docs" / "batch.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(doc), "exec"), namespace)
    assert namespace["report"].count("processed") == 4
