"""BROAD trials and the BROAD orientation error metric.

BROAD (Berlin Robust Orientation Estimation Assessment Dataset) holds IMU recordings with optical ground
truth: D. Laidig, M. Caruso, A. Cereatti, T. Seel, "BROAD — A Benchmark for Robust Inertial Orientation
Estimation", Data 6(7), 2021, doi:10.3390/data6070072 (CC BY 4.0). The data are never part of this
package: :func:`broad_data_dir` finds them beside the repository (``<repo>/../shared/data/broad``) or
where the environment variable ``IMUREHAB_BROAD_DIR`` points.

The error metric follows the paper. With estimate ``q_imu`` and optical reference ``q_opt`` (both unit,
w-first, sensor → ENU earth frame) the error expressed in the earth frame is
``q_e = q_imu ⊗ q_opt⁻¹ = (w, x, y, z)``, and per sample

- total error ``2·arccos(min(1, |w|))``,
- heading error ``2·arctan(|z / w|)`` (the rotation about earth-vertical),
- inclination error ``2·arccos(min(1, √(w² + z²)))`` (what is left: the tilt of the vertical axis).

Each is an RMSE over the ``movement`` samples in degrees, optical dropouts (NaN) left out. For 6D
estimates heading is unobservable, so one constant heading offset per trial is removed first
(:func:`heading_offset`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError
from imurehab.quaternion import quat_conjugate, quat_multiply

__all__ = [
    "CATEGORIES",
    "BroadErrors",
    "BroadTrial",
    "broad_data_dir",
    "broad_errors",
    "broad_trial_paths",
    "heading_offset",
    "read_broad_trial",
    "trial_category",
]

FloatArray = npt.NDArray[np.float64]

CATEGORIES: Final[tuple[str, ...]] = (
    "rotation",
    "translation",
    "combined",
    "tapping",
    "vibration",
    "magnet",
)
"""Trial categories, from the trial names: three undisturbed motion kinds, three disturbances."""

_CATEGORY_KEYS: Final = (
    ("tapping", "tapping"),
    ("vibration", "vibration"),
    ("magnet", "magnet"),
    ("combined", "combined"),
    ("translation", "translation"),
    ("rotation", "rotation"),
)


def broad_data_dir() -> Path | None:
    """The folder holding the BROAD ``.mat`` trials, or None if it is absent.

    Looks at ``$IMUREHAB_BROAD_DIR`` first, then ``<repo>/../shared/data/broad`` (the repository being
    the folder that holds the ``imurehab`` package).

    Returns
    -------
    Path or None
        The folder, if it exists and holds at least one ``*.mat`` file.
    """
    env = os.environ.get("IMUREHAB_BROAD_DIR")
    repo = Path(__file__).resolve().parents[2]
    for candidate in ([Path(env)] if env else []) + [repo.parent / "shared" / "data" / "broad"]:
        if candidate.is_dir() and any(candidate.glob("*.mat")):
            return candidate
    return None


def broad_trial_paths(root: str | Path) -> list[Path]:
    """The trial files (``NN_<name>.mat``) in a BROAD folder, sorted by name.

    Parameters
    ----------
    root : str or Path
        The BROAD folder.
    """
    return sorted(Path(root).glob("[0-9][0-9]_*.mat"))


def trial_category(name: str) -> str:
    """The category of a BROAD trial from its name (one of :data:`CATEGORIES`).

    Parameters
    ----------
    name : str
        Trial name such as ``"24_disturbed_tapping_A"``.

    Examples
    --------
    >>> trial_category("32_disturbed_attached_magnet_1cm")
    'magnet'
    """
    for key, category in _CATEGORY_KEYS:
        if key in name:
            return category
    raise DataValidationError(f"cannot tell the category of BROAD trial {name!r}")


@dataclass(frozen=True, eq=False)
class BroadTrial:
    """One BROAD trial in project units and frames.

    Attributes
    ----------
    name : str
        Trial name (file stem), e.g. ``"01_undisturbed_slow_rotation_A"``.
    acc, gyr, mag : ndarray, shape (N, 3)
        Specific force [m/s²], angular rate [rad/s], magnetic flux density [µT], sensor frame.
    quat_ref : ndarray, shape (N, 4)
        Optical reference orientation (w, x, y, z), sensor → ENU earth frame; NaN rows are dropouts.
    movement : ndarray of bool, shape (N,)
        Samples that count for errors.
    rate_hz : float
        Sampling rate [Hz].
    """

    name: str
    acc: FloatArray
    gyr: FloatArray
    mag: FloatArray
    quat_ref: FloatArray
    movement: npt.NDArray[np.bool_]
    rate_hz: float

    @property
    def category(self) -> str:
        """The trial's category (see :func:`trial_category`)."""
        return trial_category(self.name)


def read_broad_trial(path: str | Path) -> BroadTrial:
    """Read one BROAD trial (MATLAB v5 file).

    Parameters
    ----------
    path : str or Path
        A ``NN_<name>.mat`` file of the dataset.

    Returns
    -------
    BroadTrial
        The IMU signals, the optical reference and the movement mask.
    """
    from scipy.io import loadmat

    path = Path(path)
    raw = loadmat(path, squeeze_me=True)
    try:
        fields = {
            k: np.ascontiguousarray(raw[k], dtype=np.float64) for k in ("imu_acc", "imu_gyr", "imu_mag")
        }
        quat = np.ascontiguousarray(raw["opt_quat"], dtype=np.float64)
        movement = np.asarray(raw["movement"]).astype(bool)
        rate = float(raw["sampling_rate"])
    except KeyError as err:
        raise DataValidationError(f"{path.name} is not a BROAD trial: no field {err}") from None
    return BroadTrial(
        name=path.stem,
        acc=fields["imu_acc"],
        gyr=fields["imu_gyr"],
        mag=fields["imu_mag"],
        quat_ref=quat,
        movement=movement,
        rate_hz=rate,
    )


@dataclass(frozen=True)
class BroadErrors:
    """RMSEs of one estimate against the optical reference, over the movement samples.

    Attributes
    ----------
    total_deg, heading_deg, inclination_deg : float
        Total, heading and inclination RMSE [deg].
    heading_offset_deg : float
        The constant heading offset removed before the errors were computed [deg] (0 for 9D).
    n_samples : int
        Samples that counted (movement and a valid optical reference).
    """

    total_deg: float
    heading_deg: float
    inclination_deg: float
    heading_offset_deg: float
    n_samples: int


def _error_quat(q_est: FloatArray, q_ref: FloatArray, mask: npt.NDArray[np.bool_]) -> FloatArray:
    q_e = quat_multiply(q_est[mask], quat_conjugate(q_ref[mask]))
    return q_e / np.linalg.norm(q_e, axis=1, keepdims=True)


def _valid_mask(
    q_est: FloatArray, q_ref: FloatArray, movement: npt.ArrayLike | None
) -> npt.NDArray[np.bool_]:
    if q_est.shape != q_ref.shape or q_est.ndim != 2 or q_est.shape[1] != 4:
        raise DataValidationError(f"estimate {q_est.shape} and reference {q_ref.shape} must both be (N, 4)")
    mask = np.isfinite(q_ref).all(axis=1) & np.isfinite(q_est).all(axis=1)
    if movement is not None:
        mov = np.asarray(movement, dtype=bool)
        if mov.shape != mask.shape:
            raise DataValidationError(f"movement mask {mov.shape} does not match {mask.shape}")
        mask &= mov
    return mask


def heading_offset(
    q_est: npt.ArrayLike, q_ref: npt.ArrayLike, movement: npt.ArrayLike | None = None
) -> float:
    """The constant rotation about earth-vertical that best aligns an estimate with the reference.

    Parameters
    ----------
    q_est, q_ref : array_like, shape (N, 4)
        Estimated and reference orientations (w, x, y, z), sensor → earth; NaN rows are skipped.
    movement : array_like of bool, shape (N,), optional
        Samples to align over (default: all).

    Returns
    -------
    float
        Angle δ [rad] such that ``q_z(δ) ⊗ q_est`` is closest to ``q_ref``, ``q_z(δ)`` being the rotation
        by δ about the earth z axis.

    Notes
    -----
    With ``q_e = q_est ⊗ q_ref⁻¹ = (w, x, y, z)`` the corrected error is ``q_z(δ) ⊗ q_e``, whose scalar
    part is ``c·w − s·z`` with ``c = cos(δ/2)``, ``s = sin(δ/2)``. "Best" maximises the sum of its
    squares, i.e. minimises ``Σ sin²(α/2)`` of the error angles α (the chordal distance). With
    ``A = Σw², B = Σwz, C = Σz²`` that sum is ``(A + C)/2 + (A − C)/2·cos δ − B·sin δ``, largest at
    ``δ = atan2(−2B, A − C)``. The sums are products of pairs of components, so the sign ambiguity of
    quaternions (``q`` vs ``−q``) does not matter.
    """
    q_est_a = np.asarray(q_est, dtype=np.float64)
    q_ref_a = np.asarray(q_ref, dtype=np.float64)
    mask = _valid_mask(q_est_a, q_ref_a, movement)
    if not mask.any():
        return 0.0
    q_e = _error_quat(q_est_a, q_ref_a, mask)
    w, z = q_e[:, 0], q_e[:, 3]
    return float(np.arctan2(-2.0 * np.dot(w, z), np.dot(w, w) - np.dot(z, z)))


def broad_errors(
    q_est: npt.ArrayLike,
    q_ref: npt.ArrayLike,
    movement: npt.ArrayLike | None = None,
    *,
    remove_heading: bool = False,
) -> BroadErrors:
    """BROAD's total, heading and inclination RMSE of an orientation estimate.

    Parameters
    ----------
    q_est, q_ref : array_like, shape (N, 4)
        Estimated and optical reference orientations (w, x, y, z), sensor → ENU earth frame. NaN rows of
        the reference (optical dropouts) are left out.
    movement : array_like of bool, shape (N,), optional
        The samples that count (default: all).
    remove_heading : bool
        Remove one constant heading offset first (:func:`heading_offset`); use it for 6D estimates,
        whose heading is unobservable.

    Returns
    -------
    BroadErrors
        RMSEs [deg] over the counted samples (NaN if none counts).

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.tile([1.0, 0.0, 0.0, 0.0], (10, 1))
    >>> est = np.tile([np.cos(0.05), np.sin(0.05), 0.0, 0.0], (10, 1))  # 0.1 rad about x: tilt
    >>> e = broad_errors(est, ref)
    >>> round(e.total_deg, 3), round(e.heading_deg, 3), round(e.inclination_deg, 3)
    (5.73, 0.0, 5.73)
    """
    q_est_a = np.asarray(q_est, dtype=np.float64)
    q_ref_a = np.asarray(q_ref, dtype=np.float64)
    mask = _valid_mask(q_est_a, q_ref_a, movement)
    n = int(mask.sum())
    if n == 0:
        return BroadErrors(np.nan, np.nan, np.nan, 0.0, 0)
    delta = heading_offset(q_est_a, q_ref_a, mask) if remove_heading else 0.0
    q_e = _error_quat(q_est_a, q_ref_a, mask)
    if delta:
        q_e = quat_multiply([np.cos(delta / 2), 0.0, 0.0, np.sin(delta / 2)], q_e)
    w, z = np.abs(q_e[:, 0]), q_e[:, 3]
    total = 2.0 * np.arccos(np.minimum(1.0, w))
    heading = 2.0 * np.arctan2(np.abs(z), w)  # = 2·arctan(|z/w|), finite where w = 0
    inclination = 2.0 * np.arccos(np.minimum(1.0, np.sqrt(w * w + z * z)))

    def rmse(e: FloatArray) -> float:
        return float(np.degrees(np.sqrt(np.mean(e * e))))

    return BroadErrors(rmse(total), rmse(heading), rmse(inclination), float(np.degrees(delta)), n)
