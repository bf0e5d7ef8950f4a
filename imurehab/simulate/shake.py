"""Sensors held together in one hand and shaken: one rigid motion that every sensor of the bundle measures.

A common way to put sensors that share no clock on one timeline is to move them together once, as a
rigid bundle, while they log: every sensor then records the same angular velocity (each in its own
frame) and cross-correlating them gives their relative clock offsets (e.g. Bannach et al. 2009,
"Automatic event-based synchronization of multimodal data streams from wearable and ambient sensors",
EuroSSC, LNCS 5741). :class:`SensorShake` is that motion for the virtual sensors: a smooth, band-limited
shake (2–6 Hz) evaluated exactly at any instant, so a virtual sensor whose clock is offset or drifts
measures it at its own true sample instants.

The bundle's orientation is ``R(t) = R0 · Rot(u1, θ1(t)) · Rot(u2, θ2(t))`` (two fixed axes of the
bundle, each angle a sum of three sines under a raised-cosine envelope), its translation acceleration a
sum of sines per earth axis under the same envelope. Each sensor sits in the bundle at its own fixed
orientation (drawn from its key); lever arms between the sensors (a few cm) are not modelled: their
angular velocities are exactly equal up to that rotation, their specific force nearly so.
Conventions: earth frame ENU, SI units, a resting accelerometer reads +9.81 m/s² up.

Examples
--------
>>> import numpy as np
>>> shake = SensorShake(start_s=10.0, seed=3)
>>> acc, gyr, mag = shake.measure(np.array([9.0, 11.5]), "S1")
>>> bool(np.allclose(gyr[0], 0.0)), bool(np.linalg.norm(gyr[1]) > 0.5)
(True, True)
>>> a1 = np.linalg.norm(shake.measure(np.array([11.5]), "S1")[1])
>>> a2 = np.linalg.norm(shake.measure(np.array([11.5]), "S2")[1])
>>> bool(np.isclose(a1, a2))  # one rigid motion: equal rates, each in its own frame
True
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from imurehab.simulate.field import GRAVITY, EarthField

__all__ = ["SensorShake", "ShakeSeries"]

FloatArray = npt.NDArray[np.float64]

_N_SINES = 3
_BAND_HZ = (2.0, 6.0)
_RATE_AMPLITUDE_RADS = (2.0, 4.0)  # per sine, on each of the two axes
_ACC_AMPLITUDE_MPS2 = (1.0, 3.0)  # per sine, on each earth axis


def _rot(axis: FloatArray, angle: FloatArray) -> FloatArray:
    """Rotation matrices about a unit ``axis`` by ``angle`` [rad], shape (N, 3, 3)."""
    return Rotation.from_rotvec(np.outer(angle, axis)).as_matrix()


@dataclass(frozen=True)
class SensorShake:
    """A rigid bundle of sensors shaken by hand for ``duration_s`` from ``start_s``.

    Parameters
    ----------
    start_s : float
        When the shake starts, on the caller's time axis [s] (the virtual air's time for virtual sensors).
    duration_s : float
        How long it lasts, ramps included [s].
    ramp_s : float
        Raised-cosine ramp at each end [s]: the bundle starts and ends at rest.
    seed : int
        Draws the motion and each sensor's orientation in the bundle.
    mount_seed : int, optional
        Draws each sensor's orientation in the bundle instead (default ``seed``): shakes of one bundle
        at different times share it.
    """

    start_s: float
    duration_s: float = 3.0
    ramp_s: float = 0.4
    seed: int = 0
    mount_seed: int | None = None

    @cached_property
    def _motion(self) -> dict[str, FloatArray]:
        rng = np.random.default_rng([self.seed, 0x5A4E])
        axes = Rotation.random(random_state=rng).as_matrix()[:, :2].T  # two orthogonal bundle axes
        freq = rng.uniform(*_BAND_HZ, size=(5, _N_SINES))  # θ1, θ2, a_east, a_north, a_up
        phase = rng.uniform(0.0, 2.0 * np.pi, size=(5, _N_SINES))
        rate = rng.uniform(*_RATE_AMPLITUDE_RADS, size=(2, _N_SINES))
        amp = np.vstack([rate / (2.0 * np.pi * freq[:2]), rng.uniform(*_ACC_AMPLITUDE_MPS2, (3, _N_SINES))])
        base = Rotation.random(random_state=rng).as_matrix()
        return {"axes": axes, "freq": freq, "phase": phase, "amp": amp, "base": base}

    def contains(self, t_s: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which instants [s] fall inside the shake (ramps included)."""
        t = np.asarray(t_s, dtype=np.float64)
        return (t >= self.start_s) & (t < self.start_s + self.duration_s)

    def _envelope(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Envelope and its time derivative [1/s]: 0 outside, raised-cosine ramps, 1 between."""
        u = t - self.start_s
        d, r = self.duration_s, self.ramp_s
        w, dw = np.zeros_like(u), np.zeros_like(u)
        up = (u >= 0) & (u < r)
        down = (u > d - r) & (u < d)
        mid = (u >= r) & (u <= d - r)
        w[up] = 0.5 * (1.0 - np.cos(np.pi * u[up] / r))
        dw[up] = 0.5 * np.pi / r * np.sin(np.pi * u[up] / r)
        v = d - u[down]
        w[down] = 0.5 * (1.0 - np.cos(np.pi * v / r))
        dw[down] = -0.5 * np.pi / r * np.sin(np.pi * v / r)
        w[mid] = 1.0
        return w, dw

    def _sines(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The five sine sums (θ1, θ2 [rad]; acceleration E, N, U [m/s²]) and their derivatives, (5, N)."""
        m = self._motion
        arg = 2.0 * np.pi * m["freq"][:, :, None] * (t - self.start_s)[None, None, :] + m["phase"][:, :, None]
        s = np.sum(m["amp"][:, :, None] * np.sin(arg), axis=1)
        ds = np.sum(m["amp"][:, :, None] * 2.0 * np.pi * m["freq"][:, :, None] * np.cos(arg), axis=1)
        return s, ds

    def mount(self, key: str) -> FloatArray:
        """Orientation of sensor ``key`` in the bundle: the matrix taking its vectors to the bundle frame."""
        seed = self.seed if self.mount_seed is None else self.mount_seed
        rng = random.Random(f"imurehab-shake/{seed}/{key}")
        return Rotation.random(random_state=rng.getrandbits(32)).as_matrix()

    def measure(self, t_s: npt.ArrayLike, key: str) -> tuple[FloatArray, FloatArray, FloatArray]:
        """What sensor ``key`` of the bundle measures at the true instants ``t_s``, without errors.

        Parameters
        ----------
        t_s : array_like, shape (N,)
            True instants [s], on the same axis as ``start_s``.
        key : str
            The sensor (e.g. its address): sets its orientation in the bundle.

        Returns
        -------
        acc : ndarray, shape (N, 3)
            Specific force [m/s²], sensor frame.
        gyr : ndarray, shape (N, 3)
            Angular rate [rad/s], sensor frame.
        mag : ndarray, shape (N, 3)
            Earth's magnetic flux density [µT], sensor frame.
        """
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        m = self._motion
        w, dw = self._envelope(t)
        s, ds = self._sines(t)
        theta, dtheta = w * s, dw * s + w * ds
        u1, u2 = m["axes"]
        r1, r2 = _rot(u1, theta[0]), _rot(u2, theta[1])
        # ω in the bundle frame: Rot(u2, θ2)ᵀ u1 θ1' + u2 θ2'
        omega = np.einsum("nji,j->ni", r2, u1) * dtheta[0][:, None] + np.outer(dtheta[1], u2)
        world = np.einsum("ij,njk,nkl->nil", m["base"], r1, r2)  # bundle → earth
        force = (w * s[2:]).T - GRAVITY  # earth frame specific force
        mount = self.mount(key)
        acc = np.einsum("ji,nkj,nk->ni", mount, world, force)
        gyr = omega @ mount
        mag = np.einsum("ji,nkj,k->ni", mount, world, EarthField().vector())
        return acc, gyr, mag


@dataclass(frozen=True)
class ShakeSeries:
    """Several shakes of the same bundle at different times (e.g. before strapping on and after taking off).

    Has :class:`SensorShake`'s ``contains`` and ``measure``; each sensor keeps one orientation in the
    bundle across the shakes (the first shake's ``mount``).

    Parameters
    ----------
    shakes : tuple of SensorShake
        In time order, not overlapping.

    Examples
    --------
    >>> import numpy as np
    >>> both = ShakeSeries((SensorShake(start_s=2.0, seed=1), SensorShake(start_s=40.0, seed=2)))
    >>> both.contains(np.array([1.0, 3.0, 20.0, 41.0])).tolist()
    [False, True, False, True]
    """

    shakes: tuple[SensorShake, ...]

    def __post_init__(self) -> None:
        for a, b in zip(self.shakes, self.shakes[1:], strict=False):
            if b.start_s < a.start_s + a.duration_s:
                raise ValueError("shakes must be in time order and must not overlap")

    @property
    def start_s(self) -> float:
        """Start of the first shake [s]."""
        return self.shakes[0].start_s

    def contains(self, t_s: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which instants [s] fall inside one of the shakes."""
        t = np.asarray(t_s, dtype=np.float64)
        inside = np.zeros(t.shape, dtype=bool)
        for shake in self.shakes:
            inside |= shake.contains(t)
        return inside

    def mount(self, key: str) -> FloatArray:
        """Orientation of sensor ``key`` in the bundle (see :meth:`SensorShake.mount`)."""
        return self.shakes[0].mount(key)

    def measure(self, t_s: npt.ArrayLike, key: str) -> tuple[FloatArray, FloatArray, FloatArray]:
        """What sensor ``key`` measures at the true instants ``t_s`` (see :meth:`SensorShake.measure`).

        Parameters
        ----------
        t_s : array_like, shape (N,)
            True instants [s].
        key : str
            The sensor.

        Returns
        -------
        acc, gyr, mag : ndarray, shape (N, 3)
            [m/s²], [rad/s], [µT] in the sensor frame; outside every shake, as the first one at rest.
        """
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        out = [np.empty((t.size, 3)) for _ in range(3)]
        which = np.zeros(t.size, dtype=np.int64)
        for i, shake in enumerate(self.shakes):
            which[shake.contains(t)] = i
        for i, shake in enumerate(self.shakes):
            pick = which == i
            if pick.any():
                first = self.shakes[0]
                mount = first.seed if first.mount_seed is None else first.mount_seed
                same_mount = dataclasses.replace(shake, mount_seed=mount)
                for o, v in zip(out, same_mount.measure(t[pick], key), strict=True):
                    o[pick] = v
        return out[0], out[1], out[2]
