"""The IMU error model: noise, bias, scale, misalignment, quantisation, clock and soft tissue.

A measured vector is ``y = Q(M·x + b(t) + n)``: ``M = I + diag(scale) + misalignment`` (off-diagonal
cross-axis terms, i.e. non-orthogonal sensing axes), ``b(t)`` a constant bias plus a random walk, ``n``
white noise and ``Q`` quantisation to int16 counts at the full-scale range with saturation.

The realistic defaults follow a consumer wearable IMU of the Bosch BMI270 class (datasheet
BST-BMI270-DS000: accelerometer noise density 160 µg/√Hz, gyroscope 0.007–0.008 °/s/√Hz, zero-rate
offset ±0.5 °/s, ranges up to ±16 g and ±2000 °/s) with a BMM150-class magnetometer (a few tenths of a
µT RMS noise). Bias random walks, scale and misalignment figures are typical orders of magnitude for
factory-trimmed MEMS parts, not datasheet values. Clock figures assume a crystal of ±40 ppm.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from imurehab.types import STANDARD_GRAVITY

__all__ = ["ChannelErrors", "ClockErrors", "SensorErrorModel", "SoftTissue"]

FloatArray = npt.NDArray[np.float64]
_INT16_MIN, _INT16_MAX = -32768, 32767


@dataclass(frozen=True)
class ChannelErrors:
    """Errors of one triaxial sensor (accelerometer, gyroscope or magnetometer), in its SI unit u.

    Parameters
    ----------
    noise_density : float
        White noise density [u/√Hz]; the per-sample standard deviation is ``density·√(rate/2)``
        (noise bandwidth of half the output rate).
    bias : float
        Each axis's constant bias is drawn uniformly in ``±bias`` [u].
    bias_walk : float
        Bias random walk [u/√s]: the bias changes by N(0, bias_walk²·dt) per sample interval dt.
    scale : float
        Standard deviation of each axis's scale-factor error [-] (0.01 = 1 %).
    misalignment : float
        Standard deviation of each cross-axis coupling term [rad] (non-orthogonality).
    full_scale : float, optional
        Full-scale range [u]: values are quantised to int16 counts of ``full_scale / 32768`` and clipped
        there (saturation). None: no quantisation, no saturation.
    """

    noise_density: float = 0.0
    bias: float = 0.0
    bias_walk: float = 0.0
    scale: float = 0.0
    misalignment: float = 0.0
    full_scale: float | None = None

    def __post_init__(self) -> None:
        for name in ("noise_density", "bias", "bias_walk", "scale", "misalignment"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
        if self.full_scale is not None and not (np.isfinite(self.full_scale) and self.full_scale > 0):
            raise ValueError(f"full_scale must be positive, got {self.full_scale!r}")

    @property
    def lsb(self) -> float | None:
        """Quantisation step [u], or None without quantisation."""
        return None if self.full_scale is None else self.full_scale / 32768.0


@dataclass(frozen=True)
class ClockErrors:
    """Device clock and sampling-instant errors.

    The device clock reads ``offset + (1 + drift·1e-6)·t`` at true time t [s]; the sensor samples when it
    reads ``offset + k/rate`` and time-stamps that nominal value, while the true instant is also off by a
    random jitter.

    Parameters
    ----------
    offset_max_s : float
        Offset drawn uniformly in ``[0, offset_max_s]`` [s].
    drift_max_ppm : float
        Drift drawn uniformly in ``±drift_max_ppm`` [ppm].
    jitter_s : float
        Standard deviation of the sampling instants around the clock grid [s] (clipped to ±¼ period).
    """

    offset_max_s: float = 0.0
    drift_max_ppm: float = 0.0
    jitter_s: float = 0.0


@dataclass(frozen=True)
class SoftTissue:
    """Soft-tissue wobble: the sensor moves on the skin relative to the bone.

    A phenomenological model, not fitted to a published data set: translation and rotation of the sensor
    relative to its segment are damped second-order oscillators (natural frequency f, damping ratio ζ)
    driven by the segment's linear acceleration at the mount, a [m/s²] in the segment frame
    (gravity excluded, so a resting sensor does not move):
    ``ẍ + 2ζω ẋ + ω² x = −translation·a`` and ``θ̈ + 2ζω θ̇ + ω² θ = −ω²·tilt·(ê × a)``, ê the unit
    direction from the segment's long axis to the mount. With ``translation = 1`` the tissue behaves as a
    mass on a spring (static sag ``a/ω²``); ``tilt`` is the static rotation per unit acceleration.

    Parameters
    ----------
    frequency_hz : float
        Natural frequency [Hz].
    damping : float
        Damping ratio ζ [-].
    translation : float
        Gain of the translational oscillator [-] (0: off).
    tilt_rad_per_mps2 : float
        Static rotation per unit acceleration [rad/(m/s²)] (0: off).
    """

    frequency_hz: float = 12.0
    damping: float = 0.4
    translation: float = 0.0
    tilt_rad_per_mps2: float = 0.0

    @property
    def enabled(self) -> bool:
        """True if the wobble changes anything."""
        return self.translation > 0.0 or self.tilt_rad_per_mps2 > 0.0


@dataclass(frozen=True)
class SensorErrorModel:
    """Everything that makes a simulated IMU differ from the ideal one.

    Build with :meth:`ideal` (exact, noiseless, unquantised, perfect clock, rigid mounting) or
    :meth:`realistic` (a BMI270-class wearable), or set the parts directly; use
    :func:`dataclasses.replace` to change one part.
    """

    acc: ChannelErrors = field(default_factory=ChannelErrors)
    gyr: ChannelErrors = field(default_factory=ChannelErrors)
    mag: ChannelErrors = field(default_factory=ChannelErrors)
    clock: ClockErrors = field(default_factory=ClockErrors)
    soft_tissue: SoftTissue = field(default_factory=SoftTissue)

    @classmethod
    def ideal(cls) -> SensorErrorModel:
        """No errors at all: the measurements are the exact physical quantities at the true instants."""
        return cls()

    @classmethod
    def realistic(cls, *, bias_drift: bool = True, soft_tissue: bool = True) -> SensorErrorModel:
        """A consumer wearable: BMI270-class accelerometer and gyroscope, BMM150-class magnetometer.

        Parameters
        ----------
        bias_drift : bool
            Whether the accelerometer and gyroscope biases random-walk (False: constant biases).
        soft_tissue : bool
            Whether the sensors wobble on the skin (False: rigidly strapped).

        Notes
        -----
        The magnetometer is switched off per session (``simulate_session(with_mag=False)``), not here.
        """
        deg = np.pi / 180.0
        model = cls(
            acc=ChannelErrors(
                noise_density=160e-6 * STANDARD_GRAVITY,
                bias=20e-3 * STANDARD_GRAVITY,
                bias_walk=2e-4,
                scale=0.005,
                misalignment=0.005,
                full_scale=16 * STANDARD_GRAVITY,
            ),
            gyr=ChannelErrors(
                noise_density=0.008 * deg,
                bias=0.5 * deg,
                bias_walk=3e-5,
                scale=0.004,
                misalignment=0.005,
                full_scale=2000 * deg,
            ),
            mag=ChannelErrors(noise_density=0.06, bias=1.0, scale=0.01, misalignment=0.01, full_scale=1300.0),
            clock=ClockErrors(offset_max_s=0.02, drift_max_ppm=40.0, jitter_s=20e-6),
            soft_tissue=SoftTissue(frequency_hz=12.0, damping=0.4, translation=1.0, tilt_rad_per_mps2=5e-4),
        )
        if not bias_drift:
            model = replace(
                model, acc=replace(model.acc, bias_walk=0.0), gyr=replace(model.gyr, bias_walk=0.0)
            )
        if not soft_tissue:
            model = replace(model, soft_tissue=SoftTissue())
        return model


class ChannelStream:
    """Applies one channel's errors to consecutive chunks of samples (it keeps the bias walk's state).

    Parameters
    ----------
    errors : ChannelErrors
        What to apply.
    rate_hz : float
        Nominal output rate [Hz].
    rng : numpy.random.Generator
        The constant parts are drawn at construction, the noise chunk by chunk.
    """

    def __init__(self, errors: ChannelErrors, rate_hz: float, rng: np.random.Generator) -> None:
        self.errors = errors
        self._rng = rng
        self._dt = 1.0 / rate_hz
        self._sigma = errors.noise_density * np.sqrt(rate_hz / 2.0)
        self.bias0 = rng.uniform(-errors.bias, errors.bias, 3) if errors.bias > 0 else np.zeros(3)
        matrix = np.eye(3)
        if errors.scale > 0:
            matrix += np.diag(rng.normal(0.0, errors.scale, 3))
        if errors.misalignment > 0:
            off = rng.normal(0.0, errors.misalignment, (3, 3))
            matrix += off - np.diag(np.diag(off))
        self.matrix = matrix
        self._walk = np.zeros(3)

    def apply(self, x: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_], FloatArray]:
        """Measure true values ``x`` (n, 3).

        Returns
        -------
        measured : ndarray, shape (n, 3)
            Quantised values converted back to SI.
        saturated : ndarray of bool, shape (n,)
            True where an axis hit the full-scale range.
        bias : ndarray, shape (n, 3)
            Bias at each sample (constant plus random walk).
        """
        e = self.errors
        n = x.shape[0]
        bias = np.broadcast_to(self.bias0, (n, 3))
        if e.bias_walk > 0:
            steps = self._rng.normal(0.0, e.bias_walk * np.sqrt(self._dt), (n, 3))
            walk = self._walk + np.cumsum(steps, axis=0)
            self._walk = walk[-1].copy()
            bias = bias + walk
        y = x @ self.matrix.T + bias
        if self._sigma > 0:
            y = y + self._rng.normal(0.0, self._sigma, (n, 3))
        saturated = np.zeros(n, dtype=bool)
        if e.lsb is not None:
            counts = np.round(y / e.lsb)
            saturated = np.any((counts > _INT16_MAX) | (counts < _INT16_MIN), axis=1)
            y = np.clip(counts, _INT16_MIN, _INT16_MAX) * e.lsb
        return y, saturated, np.asarray(bias)
