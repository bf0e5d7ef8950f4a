"""Session profiles: the example parses, every broken key is named with its file, TOML round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imurehab.ble import SYNC_FAMILIES
from imurehab.exercises import list_templates, load_template
from imurehab.session import ProfileError, ProfileSensor, SessionProfile, load_profile, parse_profile
from imurehab.types import SEGMENTS
from tests.strategies import DETERMINISTIC

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "profiles" / "knee-rehab.toml"

GOOD = """
subject = "P017"
exercises = ["seated-knee-extension"]

[[sensors]]
address = "F0:00:00:00:00:01"
segment = "thigh"
side = "right"

[[sensors]]
serial = "OSP-1"
segment = "pelvis"
"""


def test_the_example_profile_parses_with_its_placements_and_pose():
    profile = load_profile(EXAMPLE)
    assert profile.subject == "P017" and profile.path == EXAMPLE
    assert [s.placement for s in profile.sensors] == ["thigh_right", "shank_right"]
    assert profile.sensors[1].serial == "OSP-00C0FFEE-2" and profile.sensors[1].family == "osp"
    assert profile.exercises == ("seated-knee-extension", "ankle-pumps")
    assert profile.poses() == {"seated-knee-extension": "sitting", "ankle-pumps": "sitting"}


def test_a_good_profile_takes_the_exercises_pose_and_labels_sensors():
    profile = parse_profile(GOOD)
    assert profile.calibration_pose == "sitting"
    assert [(s.label, s.placement) for s in profile.sensors] == [
        ("F0:00:00:00:00:01", "thigh_right"),
        ("OSP-1", "pelvis"),
    ]


def test_exercises_in_different_poses_keep_their_own():
    profile = parse_profile(GOOD.replace('["seated-knee-extension"]', '["seated-knee-extension", "squat"]'))
    assert profile.calibration_pose is None
    assert profile.poses() == {"seated-knee-extension": "sitting", "squat": "standing"}


def _sensor(**keys: str) -> str:
    return "[[sensors]]\n" + "".join(f'{k} = "{v}"\n' for k, v in keys.items())


THIGH = _sensor(address="A1", segment="thigh", side="right")
BROKEN = [
    ("missing subject", THIGH, "subject", "missing"),
    ("subject not an id", 'subject = "Jane Doe"\n' + THIGH, "subject", "subject"),
    ("no sensors", 'subject = "P1"\n', "sensors", "[[sensors]]"),
    ("unknown top key", 'subject = "P1"\nname = "Jane"\n' + THIGH, "name", "unknown key"),
    (
        "unknown sensor key",
        'subject = "P1"\n' + THIGH + 'colour = "red"\n',
        "sensors[1].colour",
        "unknown key",
    ),
    (
        "no address nor serial",
        'subject = "P1"\n' + _sensor(segment="pelvis"),
        "sensors[1]",
        "address or serial",
    ),
    (
        "bad segment",
        'subject = "P1"\n' + _sensor(address="A1", segment="knee"),
        "sensors[1].segment",
        "thigh",
    ),
    (
        "paired without side",
        'subject = "P1"\n' + _sensor(address="A1", segment="shank"),
        "sensors[1].side",
        "left or right",
    ),
    (
        "bad side",
        'subject = "P1"\n' + _sensor(address="A1", segment="shank", side="up"),
        "sensors[1].side",
        "'up'",
    ),
    (
        "midline with side",
        'subject = "P1"\n' + _sensor(address="A1", segment="trunk", side="left"),
        "sensors[1].side",
        "midline",
    ),
    (
        "unknown family",
        'subject = "P1"\n' + _sensor(address="A1", segment="pelvis", family="fitbit"),
        "sensors[1].family",
        "osp",
    ),
    (
        "duplicate address",
        'subject = "P1"\n' + THIGH + _sensor(address="a1", segment="pelvis"),
        "sensors[2].address",
        "sensors[1]",
    ),
    (
        "duplicate serial",
        'subject = "P1"\n' + _sensor(serial="S", segment="pelvis") + _sensor(serial="S", segment="head"),
        "sensors[2].serial",
        "sensors[1]",
    ),
    (
        "two on one segment",
        'subject = "P1"\n' + THIGH + _sensor(address="A2", segment="thigh", side="right"),
        "sensors[2].segment",
        "thigh_right",
    ),
    (
        "unknown exercise",
        'subject = "P1"\nexercises = ["squat", "knee-bends"]\n' + THIGH,
        "exercises[2]",
        "knee-bends",
    ),
    ("exercise twice", 'subject = "P1"\nexercises = ["squat", "squat"]\n' + THIGH, "exercises", "twice"),
    ("exercises not a list", 'subject = "P1"\nexercises = "squat"\n' + THIGH, "exercises", "list"),
    (
        "pose not the exercise's",
        'subject = "P1"\nexercises = ["squat"]\ncalibration_pose = "supine"\n' + THIGH,
        "exercises[1]",
        "standing",
    ),
    (
        "unknown pose",
        'subject = "P1"\ncalibration_pose = "kneeling"\n' + THIGH,
        "calibration_pose",
        "sitting",
    ),
]


@pytest.mark.parametrize(("text", "key", "words"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_profile_names_the_file_and_the_key(tmp_path, text, key, words):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    err = info.value
    assert (err.path, err.key) == (path, key)
    assert str(err).startswith(f"{path}, key {key!r}: ") and words in str(err)


def test_not_toml_and_no_file_name_the_file(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("subject = P1\n")
    with pytest.raises(ProfileError, match="not valid TOML") as info:
        load_profile(path)
    assert info.value.path == path and info.value.key is None
    with pytest.raises(ProfileError, match="file not found"):
        load_profile(tmp_path / "missing.toml")


def test_profile_error_lives_in_the_one_exception_tree():
    from imurehab import errors
    from imurehab.session import profile

    assert ProfileError is profile.ProfileError is errors.ProfileError
    assert issubclass(ProfileError, errors.ConfigFileError) and issubclass(ProfileError, ValueError)
    assert not issubclass(ProfileError, errors.TemplateError)
    assert ":class:`ProfileError`" in errors.__doc__


# --- round trip ---------------------------------------------------------------------------------------

_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda t: t.strip() == t and t != ""
)


@st.composite
def profiles(draw: st.DrawFn) -> SessionProfile:
    placements = draw(st.lists(st.sampled_from(sorted(SEGMENTS)), min_size=1, max_size=6, unique=True))
    addresses = draw(st.lists(_TEXT, min_size=len(placements), max_size=len(placements), unique_by=str.upper))
    serials = draw(st.lists(_TEXT, min_size=len(placements), max_size=len(placements), unique=True))
    sensors = []
    for placement, address, serial in zip(placements, addresses, serials, strict=True):
        segment, _, side = (
            placement.rpartition("_") if placement.endswith(("_left", "_right")) else (placement, "", "")
        )
        named = draw(st.sampled_from(["address", "serial", "both"]))
        sensors.append(
            ProfileSensor(
                segment,
                side or None,
                None if named == "serial" else address,
                None if named == "address" else serial,
                draw(st.none() | st.sampled_from(sorted(SYNC_FAMILIES))),
            )
        )
    exercises = tuple(draw(st.lists(st.sampled_from(list_templates()), max_size=3, unique=True)))
    poses = {load_template(e).pose for e in exercises}
    return SessionProfile(draw(_IDS), tuple(sensors), exercises, poses.pop() if len(poses) == 1 else None)


@DETERMINISTIC
@given(profiles())
def test_a_profile_written_as_toml_reads_back_equal(profile):
    assert parse_profile(profile.to_toml()) == profile
