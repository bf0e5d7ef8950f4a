"""Skeleton, frames, postures and forward kinematics of the simulated body.

Frames
------
Every segment frame follows the ISB recommendations (Wu et al. 2002, J Biomech 35:543–548; Wu et al.
2005, J Biomech 38:981–992): in the neutral standing pose (anatomical position, palms forward) all
segment frames are parallel with x anterior, y superior (along the segment, toward proximal) and z to the
right, for both body sides. Each segment's origin is its proximal joint centre (the pelvis origin is the
midpoint of the hip joint centres, the trunk's is the lumbosacral joint, the head's the cervicothoracic
joint), a simplification of the ISB bony-landmark origins.

The *body reference frame* B has the same axes as the segments in the neutral pose; its origin is on the
floor below the standing pelvis. It is mapped to the earth frame (ENU) by a rotation about the vertical:
with ``facing_deg = 0`` the subject faces north, so B-x is north, B-y is up and B-z (the subject's right)
is east; ``facing_deg`` is the compass azimuth of the facing direction (clockwise from north).

Postures
--------
The pelvis hangs from B through the ``"pelvis"`` joint and, for lying exercises, a fixed *posture*
rotation (:data:`POSTURES`): ``"upright"`` (identity; standing and sitting) or ``"supine"`` (lying on the
back, face up: the body turned +90° about B-z, so the segments' anterior x axes point up, their
superior y axes toward B's −x: the head lies away from ``facing_deg``, the feet toward it). The pelvis
joint angles are relative to the posture (0 = lying flat), and :func:`body_to_earth` with the posture
gives that joint's parent frame.

Joint angles
------------
The conventions live in :mod:`imurehab.simulate.joints`: Z-X-Y Cardan angles (Grood & Suntay) for every
joint except the shoulder, which is commanded in Z-X-Y or Y-X-Y and always reported in the ISB Y-X-Y
sequence for the humerothoracic joint (flexion_deg = elevation, abduction_deg = plane of elevation,
rotation_deg = axial rotation; Wu et al. 2005).

Anthropometry
-------------
Segment lengths are fractions of body height H from Drillis & Contini (1966) as tabulated in Winter DA,
*Biomechanics and Motor Control of Human Movement*, 4th ed., Wiley 2009, Fig. 4.1: upper arm 0.186 H,
forearm 0.146 H, hand 0.108 H, thigh 0.245 H, leg 0.246 H, ankle height 0.039 H, foot length 0.152 H,
shoulder height 0.818 H, hip (greater trochanter) height 0.530 H, shoulder width 0.259 H. The hip joint
centres are 0.052 H from the midline (≈ 9 cm at 1.75 m, in line with Bell et al. 1990, J Biomech
23:617–621: 36 % of the inter-ASIS distance); trunk landmarks are rounded estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from imurehab.quaternion import quat_identity, quat_multiply, quat_rotate
from imurehab.simulate.joints import JOINTS, AngleSequence, joint_rotation
from imurehab.types import SEGMENTS

__all__ = [
    "POSTURES",
    "Posture",
    "Skeleton",
    "body_to_earth",
    "orientations_in_body_frame",
    "origins_in_body_frame",
    "posture_quat",
    "segment_chain",
]

FloatArray = npt.NDArray[np.float64]
Posture = Literal["upright", "supine"]
POSTURES: Final[tuple[str, ...]] = ("upright", "supine")
"""Whole-body postures: standing or sitting (``"upright"``) and lying on the back (``"supine"``)."""

_JOINT_OF_CHILD: Final[dict[str, str]] = {spec.child: key for key, spec in JOINTS.items()}

# fractions of body height (see the module docstring for sources)
_HIP_HALF_WIDTH = 0.052
_THIGH = 0.245
_SHANK = 0.246
_ANKLE_HEIGHT = 0.039
_FOOT = 0.152
_UPPER_ARM = 0.186
_FOREARM = 0.146
_HAND = 0.108
_LUMBAR = (-0.025, 0.055)  # lumbosacral joint relative to the hip-centre midpoint (x, y)
_NECK_Y = 0.255  # cervicothoracic joint above the lumbosacral joint
_SHOULDER = (0.213, 0.110)  # glenohumeral centre above the lumbosacral joint, and from the midline
_HEAD = 0.160
_PELVIS_HEIGHT = _ANKLE_HEIGHT + _SHANK + _THIGH  # = 0.530, Winter's hip height


def segment_chain(segment: str) -> list[str]:
    """Segments from the pelvis down to ``segment`` (inclusive), root first.

    Parameters
    ----------
    segment : str
        A segment name (see :data:`imurehab.types.SEGMENTS`).
    """
    if segment not in SEGMENTS:
        raise KeyError(f"unknown segment {segment!r}")
    chain = [segment]
    while (parent := JOINTS[_JOINT_OF_CHILD[chain[-1]]].parent) is not None:
        chain.append(parent)
    return chain[::-1]


@dataclass(frozen=True)
class Skeleton:
    """Segment geometry of a subject of a given height.

    Parameters
    ----------
    height_m : float
        Body height [m]; every length scales with it.

    Attributes
    ----------
    joint_offsets : dict
        Child segment → position of its proximal joint centre in the parent frame [m].
    """

    height_m: float = 1.75
    joint_offsets: Mapping[str, FloatArray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.height_m) and 1.0 <= self.height_m <= 2.5):
            raise ValueError(f"height_m must be within 1.0..2.5 m, got {self.height_m!r}")
        h = self.height_m
        off: dict[str, FloatArray] = {
            "trunk": np.array([_LUMBAR[0], _LUMBAR[1], 0.0]) * h,
            "head": np.array([0.0, _NECK_Y, 0.0]) * h,
        }
        for side, lat in (("right", 1.0), ("left", -1.0)):
            off[f"thigh_{side}"] = np.array([0.0, 0.0, lat * _HIP_HALF_WIDTH]) * h
            off[f"shank_{side}"] = np.array([0.0, -_THIGH, 0.0]) * h
            off[f"foot_{side}"] = np.array([0.0, -_SHANK, 0.0]) * h
            off[f"upper_arm_{side}"] = np.array([0.0, _SHOULDER[0], lat * _SHOULDER[1]]) * h
            off[f"forearm_{side}"] = np.array([0.0, -_UPPER_ARM, 0.0]) * h
            off[f"hand_{side}"] = np.array([0.0, -_FOREARM, 0.0]) * h
        object.__setattr__(self, "joint_offsets", off)

    @property
    def ankle_height_m(self) -> float:
        """Height of the ankle joint centre above the floor when standing [m]."""
        return _ANKLE_HEIGHT * self.height_m

    @property
    def pelvis_height_m(self) -> float:
        """Height of the hip-centre midpoint above the floor in neutral standing [m]."""
        return _PELVIS_HEIGHT * self.height_m

    @property
    def thigh_length_m(self) -> float:
        """Hip to knee joint centre [m]."""
        return _THIGH * self.height_m

    @property
    def shank_length_m(self) -> float:
        """Knee to ankle joint centre [m]."""
        return _SHANK * self.height_m

    @property
    def heel_offset(self) -> FloatArray:
        """Heel contact point in the foot frame [m] (below and 0.2 foot lengths behind the ankle)."""
        return np.array([-0.2 * _FOOT, -_ANKLE_HEIGHT, 0.0]) * self.height_m

    @property
    def toe_offset(self) -> FloatArray:
        """Forefoot contact point (metatarsal heads) in the foot frame [m], half a foot ahead of the ankle."""
        return np.array([0.5 * _FOOT, -_ANKLE_HEIGHT, 0.0]) * self.height_m

    def ankle_rest_position(self, side: str) -> FloatArray:
        """Ankle joint centre in neutral standing, body reference frame B (forward, up, right) [m]."""
        lat = 1.0 if side == "right" else -1.0
        return np.array([0.0, self.ankle_height_m, lat * _HIP_HALF_WIDTH * self.height_m])

    def default_mount_position(self, segment: str) -> FloatArray:
        """A typical strap site on ``segment``, in the segment frame [m].

        Lateral mid-thigh, lateral upper shank, foot dorsum (instep), lateral mid upper arm, dorsal distal
        forearm (watch position), hand dorsum, sacrum, sternum and forehead.
        """
        if segment not in SEGMENTS:
            raise KeyError(f"unknown segment {segment!r}")
        h = self.height_m
        lat = -1.0 if segment.endswith("_left") else 1.0
        base = segment.removesuffix("_left").removesuffix("_right")
        sites = {
            "pelvis": (-0.055, 0.03, 0.0),
            "trunk": (0.06, 0.15, 0.0),
            "head": (0.055, 0.09, 0.0),
            "thigh": (0.0, -0.5 * _THIGH, lat * 0.045),
            "shank": (0.012, -0.35 * _SHANK, lat * 0.03),
            "foot": (0.045, -0.012, 0.0),
            "upper_arm": (0.0, -0.5 * _UPPER_ARM, lat * 0.027),
            "forearm": (-0.018, -0.8 * _FOREARM, 0.0),
            "hand": (-0.012, -0.4 * _HAND, 0.0),
        }
        return np.array(sites[base]) * h


def posture_quat(posture: Posture) -> FloatArray:
    """Rotation (w, x, y, z) of a posture relative to the body reference frame B.

    Parameters
    ----------
    posture : {"upright", "supine"}
        ``"upright"``: identity. ``"supine"``: +90° about B-z (anterior → up, superior → backward).
    """
    if posture == "upright":
        return np.array([1.0, 0.0, 0.0, 0.0])
    if posture == "supine":
        return np.array([np.sqrt(0.5), 0.0, 0.0, np.sqrt(0.5)])
    raise ValueError(f"unknown posture {posture!r}; expected one of {POSTURES}")


def body_to_earth(facing_deg: float, posture: Posture = "upright") -> FloatArray:
    """Body reference frame B → earth frame (ENU) quaternion (w, x, y, z), turned into ``posture``.

    With ``facing_deg = 0`` and upright: B-x (anterior) → north, B-y (up) → up, B-z (right) → east. With a
    posture, the returned frame is B rotated by :func:`posture_quat`: the parent frame of the
    ``"pelvis"`` joint.

    Parameters
    ----------
    facing_deg : float
        Compass azimuth the subject faces [deg], clockwise from north (lying: where the feet point).
    posture : {"upright", "supine"}
        Whole-body posture.
    """
    # B → ENU at facing 0 is the cyclic permutation x→y, y→z, z→x: 120° about (1, 1, 1)/√3
    neutral = np.array([0.5, 0.5, 0.5, 0.5])
    half = -0.5 * np.deg2rad(facing_deg)
    heading = np.array([np.cos(half), 0.0, 0.0, np.sin(half)])
    out = quat_multiply(heading, neutral)
    return out if posture == "upright" else quat_multiply(out, posture_quat(posture))


def orientations_in_body_frame(
    angles_deg: Mapping[str, FloatArray],
    n: int,
    segments: Iterable[str],
    *,
    shoulder_sequence: AngleSequence = "YXY",
    posture: Posture = "upright",
) -> dict[str, FloatArray]:
    """Segment → body-reference-frame quaternions (n, 4) for ``segments`` and all their ancestors.

    Parameters
    ----------
    angles_deg : mapping
        Joint key → clinical angles [deg], shape (n, 3); missing joints are neutral (the identity).
    n : int
        Number of instants.
    segments : iterable of str
        Segments wanted.
    shoulder_sequence : {"YXY", "ZXY"}
        Convention of the shoulder angles in ``angles_deg`` (see :mod:`imurehab.simulate.joints`).
    posture : {"upright", "supine"}
        Whole-body posture: the pelvis is ``posture_quat(posture) ⊗ pelvis joint rotation``.
    """
    out: dict[str, FloatArray] = {}
    for segment in segments:
        for seg in segment_chain(segment):
            if seg in out:
                continue
            key = _JOINT_OF_CHILD[seg]
            spec = JOINTS[key]
            ang = angles_deg.get(key)
            sequence = shoulder_sequence if spec.joint == "shoulder" else "ZXY"
            rel = None if ang is None else joint_rotation(key, ang, sequence)
            if spec.parent is not None:
                out[seg] = out[spec.parent] if rel is None else quat_multiply(out[spec.parent], rel)
            elif posture == "upright":
                out[seg] = quat_identity(n) if rel is None else rel
            else:
                root = np.broadcast_to(posture_quat(posture), (n, 4))
                out[seg] = root.copy() if rel is None else quat_multiply(root, rel)
    return out


def origins_in_body_frame(
    skeleton: Skeleton,
    rotations: Mapping[str, FloatArray],
    pelvis_origin: FloatArray,
    segments: Iterable[str],
) -> dict[str, FloatArray]:
    """Segment origins (proximal joint centres) in the body reference frame [m].

    Parameters
    ----------
    skeleton : Skeleton
        Segment geometry.
    rotations : mapping
        Segment → segment-to-B quaternions (n, 4); must hold every ancestor of ``segments`` (as from
        :func:`orientations_in_body_frame`).
    pelvis_origin : ndarray, shape (n, 3)
        Pelvis origin in B [m].
    segments : iterable of str
        Segments wanted (their ancestors are computed too).

    Returns
    -------
    dict
        Segment → origin, shape (n, 3).
    """
    out: dict[str, FloatArray] = {"pelvis": np.asarray(pelvis_origin, dtype=np.float64)}
    for segment in segments:
        for seg in segment_chain(segment):
            if seg in out:
                continue
            parent = JOINTS[_JOINT_OF_CHILD[seg]].parent
            assert parent is not None
            out[seg] = out[parent] + quat_rotate(rotations[parent], skeleton.joint_offsets[seg])
    return out
