"""Joints of the simulated body and their angle conventions (ISB; Z-X-Y Cardan, Y-X-Y for the shoulder).

A joint's angles describe the child segment relative to its parent: ``R_rel = R_parentᵀ R_child``
(child → parent). Segment frames follow :mod:`imurehab.simulate.body` (x anterior, y superior along the
segment, z to the right, on both sides).

Z-X-Y joints (all but the shoulder)
-----------------------------------
``R_rel = Rz(α) Rx(β) Ry(γ)``: α about the parent's medio-lateral z axis (flexion/extension), β about the
floating anterior x axis (ab/adduction), γ about the child's long y axis (axial rotation). For the hip
and knee this is the Grood & Suntay (1983) joint coordinate system adopted by the ISB (Wu et al. 2002,
J Biomech 35:543–548). The pelvis "joint" is the pelvis relative to the body reference frame (see
:func:`~imurehab.simulate.body.body_to_earth`; lying postures rotate it).

Clinical angles (``flexion_deg``, ``abduction_deg``, ``rotation_deg``) are α, β, γ in degrees times a
per-joint sign, so that with the same frame axes on both sides the clinically positive directions are
(sign of the Cardan angle, right / left):

- hip: flexion (+α); abduction (−β / +β); internal rotation (+γ / −γ).
- knee: flexion, the shank moving posterior (−α); abduction/valgus (−β / +β); internal rotation (+γ / −γ).
- ankle: dorsiflexion (+α); eversion (−β / +β); internal rotation, toe-in (+γ / −γ).
- elbow: flexion (+α); valgus (−β / +β); pronation (+γ / −γ).
- wrist: palmar flexion (+α); radial deviation (−β / +β); (+γ / −γ).
- pelvis (relative to the body reference frame), lumbar, neck: forward tilt/flexion (−α); lateral tilt
  or bend to the right (+β); turning to the left (+γ).

Z-X-Y has gimbal lock at β = ±90°, i.e. at 90° of shoulder abduction.

The shoulder (humerothoracic, humerus relative to the trunk): ISB Y-X-Y
-----------------------------------------------------------------------
Following Wu et al. 2005 (J Biomech 38:981–992, section 3.3.5) the humerothoracic rotation is
``R_rel = Ry(φ) Rx(θ) Ry(ψ)``: φ about the trunk's long y axis (plane of elevation), θ about the
floating x axis (elevation; negative for the right arm in ISB's right-handed frames), ψ about the
humerus' long y axis (axial rotation). Reported as

- ``flexion_deg`` = **elevation**, the angle between the humerus and the trunk's downward long axis,
  in [0°, 180°] (right θ = −elevation, left θ = +elevation);
- ``abduction_deg`` = **plane of elevation**, in (−180°, 180°]: 0° = raising in the frontal plane
  (abduction), +90° = raising forward (flexion), negative = behind the frontal plane, on both sides
  (right φ = +plane, left φ = −plane);
- ``rotation_deg`` = **axial rotation**, internal rotation positive (right ψ = +rotation, left −ψ).

An arm swung into its plane without turning about its own axis has ``rotation_deg = −plane`` (ψ = −φ):
ψ is measured from the plane of elevation, so forward flexion to any height reads rotation −90°, and
abduction reads 0°. Y-X-Y has its own gimbal lock at elevation 0° (arm hanging: plane and rotation are
not separable, only their sum is; :func:`quat_to_yxy` then returns plane 0) and at 180°.

Shoulders may be *commanded* in either sequence (a sagittal arm swing passes through elevation 0 and is
naturally written as Z-X-Y flexion with the signs (+α; −β / +β; +γ / −γ)); they are always *reported* in
Y-X-Y (:func:`joint_angles_from_rotation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from imurehab.quaternion import quat_relative, quat_to_matrix

__all__ = [
    "DOF_NAMES",
    "JOINTS",
    "AngleSequence",
    "JointSpec",
    "cardan_to_clinical",
    "cardan_zxy_to_quat",
    "clinical_to_cardan",
    "joint_angles_from_quats",
    "joint_angles_from_rotation",
    "joint_rotation",
    "quat_to_cardan_zxy",
    "quat_to_yxy",
    "yxy_to_quat",
]

FloatArray = npt.NDArray[np.float64]
AngleSequence = Literal["ZXY", "YXY"]
"""Euler sequence of a joint's angles: intrinsic Z-X-Y Cardan or Y-X-Y (ISB humerothoracic)."""

DOF_NAMES: Final[tuple[str, str, str]] = ("flexion_deg", "abduction_deg", "rotation_deg")
"""Names of a joint's three clinical angles (for the shoulder: elevation, plane of elevation, rotation)."""

# Below this sin(elevation) the Y-X-Y plane and rotation are not separable (arm along the trunk).
_YXY_SINGULAR: Final[float] = 1e-12


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
        Clinical angle = sign × Z-X-Y Cardan angle, for (flexion, abduction, rotation); for the shoulder
        these are the signs of its Z-X-Y *command* convention.
    sequence : {"ZXY", "YXY"}
        Sequence the joint's angles are reported in (``"YXY"`` for the shoulder).
    """

    key: str
    joint: str
    side: str | None
    parent: str | None
    child: str
    signs: tuple[float, float, float]
    sequence: AngleSequence = "ZXY"


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
            sequence: AngleSequence = "YXY" if name == "shoulder" else "ZXY"
            joints[key] = JointSpec(
                key, name, side, parent_seg, f"{child}_{side}", (flex, -lateral, lateral), sequence
            )
    return joints


JOINTS: Final[Mapping[str, JointSpec]] = _build_joints()
"""Every joint of the model by key (``"pelvis"``, ``"lumbar"``, ``"neck"``, ``"hip_right"``, ...)."""


def clinical_to_cardan(key: str, angles_deg: npt.ArrayLike) -> FloatArray:
    """Z-X-Y Cardan angles [rad] of a joint from its Z-X-Y clinical angles [deg].

    Parameters
    ----------
    key : str
        Joint key (``"knee_right"``).
    angles_deg : array_like, shape (..., 3)
        Clinical (flexion, abduction, rotation) angles [deg].
    """
    return np.deg2rad(np.asarray(angles_deg, dtype=np.float64) * np.asarray(JOINTS[key].signs))


def cardan_to_clinical(key: str, cardan_rad: npt.ArrayLike) -> FloatArray:
    """Z-X-Y clinical angles [deg] (flexion, abduction, rotation) of a joint from Z-X-Y Cardan angles.

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


def yxy_to_quat(angles_rad: npt.ArrayLike) -> FloatArray:
    """Quaternions (w, x, y, z) of intrinsic Y-X-Y Euler angles: ``Ry(φ) Rx(θ) Ry(ψ)``.

    Expanding ``(cφ, 0, sφ, 0) ⊗ (cθ, sθ, 0, 0) ⊗ (cψ, 0, sψ, 0)`` (half angles) gives
    ``(cos θ/2 · cos Σ, sin θ/2 · cos Δ, cos θ/2 · sin Σ, −sin θ/2 · sin Δ)`` with Σ = (φ + ψ)/2 and
    Δ = (φ − ψ)/2.

    Parameters
    ----------
    angles_rad : array_like, shape (..., 3)
        Euler angles (φ, θ, ψ) [rad].
    """
    a = np.asarray(angles_rad, dtype=np.float64)
    half_sum = 0.5 * (a[..., 0] + a[..., 2])
    half_diff = 0.5 * (a[..., 0] - a[..., 2])
    ct, st = np.cos(0.5 * a[..., 1]), np.sin(0.5 * a[..., 1])
    return np.stack(
        [ct * np.cos(half_sum), st * np.cos(half_diff), ct * np.sin(half_sum), -st * np.sin(half_diff)],
        axis=-1,
    )


def quat_to_yxy(q: npt.ArrayLike, theta_sign: float = 1.0) -> FloatArray:
    """Intrinsic Y-X-Y Euler angles (φ, θ, ψ) [rad] of unit quaternions.

    From ``R = Ry(φ) Rx(θ) Ry(ψ)``: ``R₁₁ = cos θ``, ``(R₀₁, R₂₁) = sin θ (sin φ, cos φ)``,
    ``(R₁₀, R₁₂) = sin θ (sin ψ, −cos ψ)``. Every rotation has two solutions, (φ, θ, ψ) and
    (φ + π, −θ, ψ + π); ``theta_sign`` picks the one whose θ has that sign. When sin θ vanishes (θ = 0
    or π) only φ ± ψ is defined; φ is then set to 0.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z) of a child → parent rotation.
    theta_sign : {1.0, -1.0}
        Sign of the returned θ (θ in [0, π] or [−π, 0]).
    """
    r = quat_to_matrix(q)
    s = 1.0 if theta_sign >= 0 else -1.0
    sin_theta = np.hypot(r[..., 0, 1], r[..., 2, 1])
    theta = s * np.arctan2(sin_theta, r[..., 1, 1])
    singular = sin_theta < _YXY_SINGULAR
    phi = np.where(singular, 0.0, np.arctan2(s * r[..., 0, 1], s * r[..., 2, 1]))
    psi = np.where(
        singular,
        np.arctan2(r[..., 0, 2], r[..., 0, 0]),
        np.arctan2(s * r[..., 1, 0], -s * r[..., 1, 2]),
    )
    return np.stack([phi, theta, psi], axis=-1)


def _lateral(key: str) -> float:
    return -1.0 if JOINTS[key].side == "left" else 1.0


def _clinical_to_yxy(key: str, angles_deg: npt.ArrayLike) -> FloatArray:
    """Shoulder (elevation, plane, rotation) [deg] → Y-X-Y (φ, θ, ψ) [rad]."""
    a = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    lat = _lateral(key)
    return np.stack([lat * a[..., 1], -lat * a[..., 0], lat * a[..., 2]], axis=-1)


def _yxy_to_clinical(key: str, q: FloatArray) -> FloatArray:
    """Shoulder child → parent quaternions → (elevation, plane, rotation) [deg], elevation ≥ 0."""
    lat = _lateral(key)
    e = np.rad2deg(quat_to_yxy(q, theta_sign=-lat))
    return np.stack([-lat * e[..., 1], lat * e[..., 0], lat * e[..., 2]], axis=-1)


def joint_rotation(key: str, angles_deg: npt.ArrayLike, sequence: AngleSequence | None = None) -> FloatArray:
    """Child → parent quaternions (w, x, y, z) of a joint from its clinical angles.

    Parameters
    ----------
    key : str
        Joint key (``"shoulder_right"``); see :data:`JOINTS`.
    angles_deg : array_like, shape (..., 3)
        Clinical angles [deg] in the order of :data:`DOF_NAMES`, in ``sequence``'s convention.
    sequence : {"ZXY", "YXY"}, optional
        Convention of ``angles_deg``; default the joint's own (:attr:`JointSpec.sequence`). Only the
        shoulder has a Y-X-Y convention.
    """
    sequence = JOINTS[key].sequence if sequence is None else sequence
    if sequence == "ZXY":
        return cardan_zxy_to_quat(clinical_to_cardan(key, angles_deg))
    if sequence == "YXY" and JOINTS[key].joint == "shoulder":
        return yxy_to_quat(_clinical_to_yxy(key, angles_deg))
    raise ValueError(f"joint {key!r} has no {sequence!r} convention")


def joint_angles_from_rotation(key: str, q_rel: npt.ArrayLike) -> FloatArray:
    """Clinical angles [deg], shape (..., 3), of child → parent rotations, in the joint's own convention.

    Parameters
    ----------
    key : str
        Joint key; the shoulder is decomposed Y-X-Y (elevation, plane of elevation, axial rotation),
        every other joint Z-X-Y (flexion, abduction, rotation).
    q_rel : array_like, shape (..., 4)
        Child → parent unit quaternions (w, x, y, z).
    """
    q = np.asarray(q_rel, dtype=np.float64)
    if JOINTS[key].sequence == "YXY":
        return _yxy_to_clinical(key, q)
    return cardan_to_clinical(key, quat_to_cardan_zxy(q))


def joint_angles_from_quats(key: str, q_parent: npt.ArrayLike, q_child: npt.ArrayLike) -> FloatArray:
    """Clinical joint angles [deg], shape (M, 3), from parent and child orientations.

    Parameters
    ----------
    key : str
        Joint key (``"knee_right"``); see :data:`JOINTS`. The shoulder is reported in ISB Y-X-Y
        (elevation, plane of elevation, axial rotation), every other joint in Z-X-Y.
    q_parent, q_child : array_like, shape (M, 4)
        Segment → earth orientations (w, x, y, z). For ``"pelvis"`` pass the body reference frame's
        orientation (:func:`~imurehab.simulate.body.body_to_earth`) as ``q_parent``.
    """
    return joint_angles_from_rotation(key, quat_relative(q_parent, q_child))
