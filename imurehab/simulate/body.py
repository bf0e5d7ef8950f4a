"""Skeleton, joint-angle convention and forward kinematics of the simulated body.

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

Joint angles
------------
A joint's angles describe the child segment relative to its parent: ``R_rel = R_parentᵀ R_child``
(child → parent), decomposed as intrinsic Z-X-Y Cardan angles ``R_rel = Rz(α) Rx(β) Ry(γ)``: α about the
parent's medio-lateral z axis (flexion/extension), β about the floating anterior x axis (ab/adduction),
γ about the child's long y axis (axial rotation). For the hip and knee this sequence is equivalent to the
Grood & Suntay (1983) joint coordinate system adopted by the ISB. The pelvis "joint" is the pelvis
relative to the body reference frame B.

Clinical angles (``flexion_deg``, ``abduction_deg``, ``rotation_deg``) are α, β, γ in degrees times a
per-joint sign, so that with the same frame axes on both sides the clinically positive directions are
(flexion_deg; abduction_deg; rotation_deg, with the sign of the Cardan angle, right / left):

- hip: flexion (+α); abduction (right −β, left +β); internal rotation (right +γ, left −γ).
- knee: flexion, the shank moving posterior (−α); abduction/valgus (−β / +β); internal rotation (+γ / −γ).
- ankle: dorsiflexion (+α); eversion (−β / +β); internal rotation, toe-in (+γ / −γ).
- shoulder (humerothoracic): flexion (+α); abduction/elevation (−β / +β); internal rotation (+γ / −γ).
- elbow: flexion (+α); valgus (−β / +β); pronation (+γ / −γ).
- wrist: palmar flexion (+α); radial deviation (−β / +β); (+γ / −γ).
- pelvis (relative to B), lumbar, neck: forward tilt/flexion (−α); lateral tilt to the right (+β);
  turning to the left (+γ).

The Z-X-Y sequence has gimbal lock at β = ±90°; for the shoulder that is 90° of abduction, which is why
the ISB recommends a Y-X-Y sequence for the humerothoracic joint (Wu et al. 2005). The simulator keeps
Z-X-Y for every joint and keeps commanded shoulder abduction below 90°.

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
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.quaternion import (
    quat_identity,
    quat_multiply,
    quat_relative,
    quat_rotate,
    quat_to_matrix,
)
from imurehab.types import SEGMENTS

__all__ = [
    "DOF_NAMES",
    "JOINTS",
    "JointSpec",
    "Skeleton",
    "body_to_earth",
    "cardan_to_clinical",
    "cardan_zxy_to_quat",
    "clinical_to_cardan",
    "joint_angles_from_quats",
    "orientations_in_body_frame",
    "origins_in_body_frame",
    "quat_to_cardan_zxy",
    "segment_chain",
]

FloatArray = npt.NDArray[np.float64]

DOF_NAMES: Final[tuple[str, str, str]] = ("flexion_deg", "abduction_deg", "rotation_deg")
"""Names of a joint's three clinical angles, in the order of the Z-X-Y decomposition."""

CARDAN_SEQUENCE: Final[str] = "ZXY"
"""scipy ``Rotation.from_euler`` sequence of the intrinsic Z-X-Y Cardan decomposition used for every joint."""


@dataclass(frozen=True)
class JointSpec:
    """A joint between two segments.

    Attributes
    ----------
    key : str
        Joint key, e.g. ``"knee_right"``, ``"lumbar"``, ``"pelvis"``.
    joint : str
        Joint name without side (``"knee"``).
    side : str or None
        ``"left"``, ``"right"`` or None for midline joints.
    parent : str or None
        Parent segment (None for the pelvis, whose parent is the body reference frame).
    child : str
        Child segment.
    signs : tuple of float
        Clinical angle = sign × Cardan angle, for (flexion, abduction, rotation).
    """

    key: str
    joint: str
    side: str | None
    parent: str | None
    child: str
    signs: tuple[float, float, float]


def _build_joints() -> dict[str, JointSpec]:
    joints = {
        "pelvis": JointSpec("pelvis", "pelvis", None, None, "pelvis", (-1.0, 1.0, 1.0)),
        "lumbar": JointSpec("lumbar", "lumbar", None, "pelvis", "trunk", (-1.0, 1.0, 1.0)),
        "neck": JointSpec("neck", "neck", None, "trunk", "head", (-1.0, 1.0, 1.0)),
    }
    limbs = {
        "hip": ("pelvis", "thigh", 1.0),
        "knee": ("thigh", "shank", -1.0),
        "ankle": ("shank", "foot", 1.0),
        "shoulder": ("trunk", "upper_arm", 1.0),
        "elbow": ("upper_arm", "forearm", 1.0),
        "wrist": ("forearm", "hand", 1.0),
    }
    for name, (parent, child, flex) in limbs.items():
        for side, lateral in (("right", 1.0), ("left", -1.0)):
            parent_seg = parent if parent in ("pelvis", "trunk") else f"{parent}_{side}"
            key = f"{name}_{side}"
            joints[key] = JointSpec(key, name, side, parent_seg, f"{child}_{side}", (flex, -lateral, lateral))
    return joints


JOINTS: Final[Mapping[str, JointSpec]] = _build_joints()
"""Every joint of the model by key (``"pelvis"``, ``"lumbar"``, ``"neck"``, ``"hip_right"``, ...)."""

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


def clinical_to_cardan(key: str, angles_deg: npt.ArrayLike) -> FloatArray:
    """Z-X-Y Cardan angles [rad] of a joint from its clinical angles [deg].

    Parameters
    ----------
    key : str
        Joint key (``"knee_right"``).
    angles_deg : array_like, shape (..., 3)
        Clinical (flexion, abduction, rotation) angles [deg].
    """
    return np.deg2rad(np.asarray(angles_deg, dtype=np.float64) * np.asarray(JOINTS[key].signs))


def cardan_to_clinical(key: str, cardan_rad: npt.ArrayLike) -> FloatArray:
    """Clinical angles [deg] (flexion, abduction, rotation) of a joint from Z-X-Y Cardan angles.

    Parameters
    ----------
    key : str
        Joint key (``"knee_right"``).
    cardan_rad : array_like, shape (..., 3)
        Cardan angles (α, β, γ) [rad].
    """
    return np.rad2deg(np.asarray(cardan_rad, dtype=np.float64)) * np.asarray(JOINTS[key].signs)


def cardan_zxy_to_quat(angles_rad: npt.ArrayLike) -> FloatArray:
    """Quaternions (w, x, y, z) of intrinsic Z-X-Y Cardan angles: ``Rz(α) Rx(β) Ry(γ)``.

    Parameters
    ----------
    angles_rad : array_like, shape (..., 3)
        Cardan angles (α, β, γ) [rad].
    """
    half = 0.5 * np.asarray(angles_rad, dtype=np.float64)
    c, s = np.cos(half), np.sin(half)
    # (cz, 0, 0, sz) ⊗ (cx, sx, 0, 0) = (a, b, e, d), then ⊗ (cy, 0, sy, 0), expanded
    a, b = c[..., 0] * c[..., 1], c[..., 0] * s[..., 1]
    e, d = s[..., 0] * s[..., 1], s[..., 0] * c[..., 1]
    cy, sy = c[..., 2], s[..., 2]
    out = np.empty((*half.shape[:-1], 4))
    out[..., 0] = a * cy - e * sy
    out[..., 1] = b * cy - d * sy
    out[..., 2] = a * sy + e * cy
    out[..., 3] = b * sy + d * cy
    return out


def quat_to_cardan_zxy(q: npt.ArrayLike) -> FloatArray:
    """Intrinsic Z-X-Y Cardan angles (α, β, γ) [rad] of unit quaternions, β in [−π/2, π/2].

    From ``R = Rz(α) Rx(β) Ry(γ)``: ``R₂₁ = sin β``, ``(R₀₁, R₁₁) ∝ (−sin α, cos α)``,
    ``(R₂₀, R₂₂) ∝ (−sin γ, cos γ)``. At β = ±90° (gimbal lock) α and γ are not separable; the split
    returned there is arbitrary.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z) of a child → parent rotation.
    """
    r = quat_to_matrix(q)
    beta = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    alpha = np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    gamma = np.arctan2(-r[..., 2, 0], r[..., 2, 2])
    return np.stack([alpha, beta, gamma], axis=-1)


def joint_angles_from_quats(key: str, q_parent: npt.ArrayLike, q_child: npt.ArrayLike) -> FloatArray:
    """Clinical joint angles [deg], shape (M, 3), from parent and child orientations.

    Parameters
    ----------
    key : str
        Joint key (``"knee_right"``); see :data:`JOINTS`.
    q_parent, q_child : array_like, shape (M, 4)
        Segment → earth orientations (w, x, y, z). For ``"pelvis"`` pass the body reference frame's
        orientation (:func:`body_to_earth`) as ``q_parent``.
    """
    return cardan_to_clinical(key, quat_to_cardan_zxy(quat_relative(q_parent, q_child)))


def body_to_earth(facing_deg: float) -> FloatArray:
    """Body reference frame B → earth frame (ENU) quaternion (w, x, y, z).

    With ``facing_deg = 0``: B-x (anterior) → north, B-y (up) → up, B-z (right) → east.

    Parameters
    ----------
    facing_deg : float
        Compass azimuth the subject faces [deg], clockwise from north.
    """
    # B → ENU at facing 0 is the cyclic permutation x→y, y→z, z→x: 120° about (1, 1, 1)/√3
    neutral = np.array([0.5, 0.5, 0.5, 0.5])
    half = -0.5 * np.deg2rad(facing_deg)
    heading = np.array([np.cos(half), 0.0, 0.0, np.sin(half)])
    return quat_multiply(heading, neutral)


def orientations_in_body_frame(
    angles_deg: Mapping[str, FloatArray], n: int, segments: Iterable[str]
) -> dict[str, FloatArray]:
    """Segment → body-reference-frame quaternions (n, 4) for ``segments`` and all their ancestors.

    Parameters
    ----------
    angles_deg : mapping
        Joint key → clinical angles [deg], shape (n, 3); missing joints are neutral (0, 0, 0).
    n : int
        Number of instants.
    segments : iterable of str
        Segments wanted.
    """
    out: dict[str, FloatArray] = {}
    for segment in segments:
        for seg in segment_chain(segment):
            if seg in out:
                continue
            key = _JOINT_OF_CHILD[seg]
            parent = JOINTS[key].parent
            ang = angles_deg.get(key)
            if ang is None:
                out[seg] = quat_identity(n) if parent is None else out[parent]
            else:
                rel = cardan_zxy_to_quat(clinical_to_cardan(key, ang))
                out[seg] = rel if parent is None else quat_multiply(out[parent], rel)
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
