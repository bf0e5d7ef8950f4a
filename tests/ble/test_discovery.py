"""Family recognition from advertisements, backoff policy and report JSON: the pure parts of the ingest."""

from __future__ import annotations

import json
import math
import random

import pytest

from imurehab.ble import RetryPolicy, SensorReport, SessionResult, SyncReport
from imurehab.ble.discovery import family_signatures, identify_family
from imurehab.errors import BleError, SyncIncompleteError

SERVICES = {
    "osp": "c47f0001-6f3d-4840-b4e8-1efca359db78",
    "polar-pmd": "FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8",
    "movesense-gsp": "34802252-7185-4d5d-b431-630e7050e8f0",
    "movella-dot": "15172000-4947-11e9-8646-d663bd873d93",
    "witmotion": "0000ffe5-0000-1000-8000-00805f9a34fb",
}


@pytest.mark.parametrize(("family", "uuid"), SERVICES.items())
def test_each_family_is_recognised_by_its_service(family, uuid):
    assert identify_family([uuid], None) == family
    assert identify_family(["180F", uuid.upper()], "whatever") == family


def test_every_registered_family_has_a_signature():
    assert set(family_signatures()) == set(SERVICES)
    assert all(services for services, _ in family_signatures().values())


def test_unknown_advertisements_are_not_guessed():
    assert identify_family([], None) is None
    assert identify_family(["180F", "0000180a-0000-1000-8000-00805f9b34fb"], "Polar H10") is None


def test_backoff_doubles_up_to_its_cap_with_bounded_jitter():
    policy = RetryPolicy(backoff_initial_s=0.5, backoff_max_s=4.0)
    assert [policy.backoff_s(k) for k in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    rng = random.Random(1)
    assert all(0.75 * 4.0 <= policy.backoff_s(9, rng) <= 1.25 * 4.0 for _ in range(100))


def test_reports_say_what_is_incomplete_and_why(tmp_path):
    ok = SensorReport("A", serial="S1", sessions=[SessionResult(1, 7, "CLOSED", 100, 100, verified=True)])
    failed = SensorReport(
        "B", error=BleError("could not connect after 6 attempts", address="B", reason="unreachable")
    )
    still_logging = SensorReport("C", sessions=[SessionResult(2, 7, "OPEN", 50, 50)])
    report = SyncReport(tmp_path, "p01", "v1", [ok, failed, still_logging])
    assert (ok.complete, failed.complete, still_logging.complete, report.complete) == (
        True,
        False,
        False,
        False,
    )
    assert report.incomplete == ["B", "C"]
    doc = json.loads(json.dumps(report.to_json()))
    assert doc["sensors"][1]["error"] == {
        "type": "BleError",
        "reason": "unreachable",
        "message": "B: could not connect after 6 attempts (unreachable)",
    }
    assert doc["sensors"][0]["clock_uncertainty_us"] is None and math.isnan(ok.clock_uncertainty_us)
    with pytest.raises(SyncIncompleteError, match="B, C: B: could not connect") as err:
        report.raise_for_incomplete()
    assert err.value.addresses == ("B", "C") and err.value.report is report
