"""Synthetic single-lead ECG with exact fiducial ground truth: the dataset ``synthetic``.

Every beat is ECGSYN's sum of five Gaussians (P, Q, R, S, T; McSharry et al., IEEE TBME 50:289,
2003), written directly in time instead of integrating the ODE. ECGSYN places wave ``i`` at
phase angle ``theta_i`` with width ``b_i`` and scales both with the heart rate
(``hrfact = sqrt(HR/60)``: widths times ``hrfact``, Q/S angles times ``hrfact``, P/T angles
times ``sqrt(hrfact)``); at a phase speed of ``2*pi/RR`` an angle is the time ``theta*RR/2pi``.
Integrating ``dz/dtheta = -sum a_i dtheta_i exp(-dtheta_i**2 / 2 b_i**2) / omega`` gives
Gaussians of height ``a_i b_i**2 / omega``, which fixes the relative wave amplitudes. Each
record varies ECGSYN's amplitudes, widths and angles; timing and widths come from the record's
mean RR, so PR, QRS and QT are stable beat to beat (QT does not adapt to single RR intervals).

Ground truth is exact by construction: with ``c`` a wave's centre and ``s`` its width, a
sample at time ``t`` belongs to the wave when ``|t - c| <= 2 s`` (:data:`EXTENT_SIGMAS`). The
QRS extent runs from ``Q - 2 s_Q`` to ``S + 2 s_S`` (and covers ``R +- 2 s_R``); ``r_peak`` is
``|t - R| <= r_peak_width_ms / 2``; R peaks lie on the sample grid. P waves are moved earlier,
and T waves later, where needed to keep a 20 ms PR and ST segment between the extents, and RR
intervals never fall below the span from the atrial window to the QRS offset (+20 ms), so
``p_wave`` never overlaps ``qrs``. ``t_wave`` may touch the next beat's ``p_wave`` at fast
rates (as in real tachycardia). An AF beat's ``p_wave`` marks where its P wave would be.

Long because the generator, its controlled variants and its exact masks share one set of
beat parameters; split apart they would drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, TypeVar

import numpy as np
from pydantic import Field

from xecgbench.api import (
    MASK_NAMES,
    RHYTHM_AF,
    RHYTHM_NORMAL,
    RHYTHM_OTHER,
    ECGSet,
)
from xecgbench_builtin.data.synthetic_rhythm import (
    RHYTHMS,
    SINUS,
    BeatTrain,
    RhythmPlan,
    beat_times,
    plan_rhythms,
)

VARIANTS: tuple[str, ...] = ("both", "morphology_only", "rhythm_only", "shortcut")
NORMALISATIONS: tuple[str, ...] = ("minmax", "zscore", "none")
SPLITS: tuple[str, ...] = ("train", "test")

#: ECGSYN's Table 1 for P, Q, R, S, T: angles (rad), widths (rad) and ODE gains.
ECGSYN_ANGLE = np.array([-np.pi / 3, -np.pi / 12, 0.0, np.pi / 12, np.pi / 2])
ECGSYN_WIDTH = np.array([0.25, 0.1, 0.1, 0.1, 0.4])
ECGSYN_GAIN = np.array([1.2, -5.0, 30.0, -7.5, 0.75])
#: Power of ``HR/60`` that scales each angle (ECGSYN: ``hrfact**0.5`` for P and T, ``hrfact``
#: for Q and S, R fixed at 0), with ``hrfact = (HR/60)**0.5``.
ANGLE_HR_POWER = np.array([0.25, 0.5, 0.0, 0.5, 0.25])
#: Wave heights relative to R, from the integrated ODE with ECGSYN's own widths
#: (P 0.25, Q -0.17, S -0.25, T 0.4).
RELATIVE_HEIGHT = ECGSYN_GAIN * ECGSYN_WIDTH**2 / (ECGSYN_GAIN[2] * ECGSYN_WIDTH[2] ** 2)
#: Our one calibration of ECGSYN: P, Q, R and S widths times 0.75. ECGSYN's defaults give
#: 2-sigma extents of P ~140 ms and QRS ~130 ms at 75 bpm; narrowed, P ~107 ms, QRS ~118 ms,
#: PR ~136 ms, QTc ~430 ms (clinical normal: P < 120, QRS 80-120, PR 120-200 ms).
WIDTH_CALIBRATION = np.array([0.75, 0.75, 0.75, 0.75, 1.0])
P, Q, R, S, T = range(5)
#: A wave's extent is its centre +- this many standard deviations.
EXTENT_SIGMAS = 2.0
#: Gaussians are evaluated to +- this many standard deviations (beyond: < 3.4e-4 of the peak).
SUPPORT_SIGMAS = 4.0
#: Shortest PR and ST segments between wave extents (s).
PR_GAP_S = ST_GAP_S = 0.02
#: Seconds of beats simulated before the window starts and after it ends.
MARGIN_S = 1.0
#: R-wave amplitude range (mV) and log-normal spread of the other heights, widths and angles.
R_AMPLITUDE_MV = (0.6, 1.6)
HEIGHT_SPREAD, WIDTH_SPREAD, ANGLE_SPREAD = 0.25, 0.1, 0.05
#: Fibrillatory waves: base frequency (Hz, kept inside 4-9 Hz with the modulation), peak
#: amplitude (mV, fine to coarse AF) and the relative heights of the 2nd and 3rd harmonics.
F_WAVE_HZ, F_WAVE_MOD_HZ, F_WAVE_MV = (4.5, 8.5), 0.5, (0.03, 0.12)
F_WAVE_HARMONICS = (1.0, 0.3, 0.1)
#: Shortcut marker: a Gaussian-derivative blip (peak mV, sigma s) at a fixed fraction of the
#: window, present with probability ``SHORTCUT_P_TRAIN[label]`` in train and 0.5 in test. Its
#: mask spans +- SHORTCUT_EXTENT_SIGMAS (outside it the blip is below 0.3 % of its peak).
SHORTCUT_MV, SHORTCUT_SIGMA_S, SHORTCUT_AT, SHORTCUT_EXTENT_SIGMAS = 0.15, 0.01, 0.25, 4.0
SHORTCUT_P_TRAIN = (0.1, 0.9)
#: Records rendered together (bounds memory; the output does not depend on it).
CHUNK = 512
#: Independent random streams, so that e.g. the noise level leaves rhythm, morphology and
#: masks unchanged, and the ``shortcut`` variant equals ``both`` plus the marker.
STREAMS: tuple[str, ...] = ("labels", "rhythm", "beats", "morphology", "noise", "af", "shortcut")


@dataclass(frozen=True)
class Morphology:
    """Per-record wave heights (mV), centres relative to R (s) and widths (s), ``(N, 5)``;
    ``ectopic_p`` ``(N,)`` scales the P wave of premature atrial beats."""

    height: np.ndarray
    centre: np.ndarray
    width: np.ndarray
    ectopic_p: np.ndarray

    def extent(self, wave: int) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (s, relative to R) of ``wave``'s extent; QRS for ``Q``."""
        if wave == Q:
            start = np.minimum(
                self.centre[:, Q] - EXTENT_SIGMAS * self.width[:, Q],
                -EXTENT_SIGMAS * self.width[:, R],
            )
            end = np.maximum(
                self.centre[:, S] + EXTENT_SIGMAS * self.width[:, S],
                EXTENT_SIGMAS * self.width[:, R],
            )
            return start, end
        half = EXTENT_SIGMAS * self.width[:, wave]
        return self.centre[:, wave] - half, self.centre[:, wave] + half


def draw_morphology(
    rng: np.random.Generator, mean_rr: np.ndarray, *, ectopic_p_varies: bool
) -> Morphology:
    """ECGSYN waves at each record's mean RR, varied per record, with PR/ST gaps enforced.

    ``ectopic_p_varies``: premature atrial beats get a P wave of another height and possibly
    inverted polarity (an ectopic focus); otherwise their P wave equals the sinus one.
    """
    n = len(mean_rr)
    rr = mean_rr[:, None]
    spread = lambda sd: np.exp(sd * rng.standard_normal((n, 5)))  # noqa: E731
    r_height = rng.uniform(*R_AMPLITUDE_MV, n)
    height = RELATIVE_HEIGHT * spread(HEIGHT_SPREAD) * r_height[:, None]
    height[:, R] = r_height
    angle = ECGSYN_ANGLE * rr ** (-ANGLE_HR_POWER) * spread(ANGLE_SPREAD)
    centre = angle * rr / (2.0 * np.pi)
    width = ECGSYN_WIDTH * WIDTH_CALIBRATION * np.sqrt(rr) / (2.0 * np.pi) * spread(WIDTH_SPREAD)
    morph = Morphology(height, centre, width, np.ones(n))
    qrs_start, qrs_end = morph.extent(Q)
    latest_p = qrs_start - PR_GAP_S - EXTENT_SIGMAS * width[:, P]
    centre[:, P] = np.minimum(centre[:, P], latest_p)
    earliest_t = qrs_end + ST_GAP_S + EXTENT_SIGMAS * width[:, T]
    centre[:, T] = np.maximum(centre[:, T], earliest_t)
    ectopic = np.ones(n)
    if ectopic_p_varies:
        polarity = np.where(rng.random(n) < 0.3, -1.0, 1.0)
        ectopic = polarity * rng.uniform(0.4, 0.9, n)
    return Morphology(height, centre, width, ectopic)


def _templates(morph: Morphology, fs: float) -> tuple[np.ndarray, np.ndarray, int]:
    """P-wave and QRST templates ``(N, L)`` on the sample grid, and the R sample's index."""
    lead = int(np.ceil(-np.min(morph.centre - SUPPORT_SIGMAS * morph.width) * fs))
    tail = int(np.ceil(np.max(morph.centre + SUPPORT_SIGMAS * morph.width) * fs))
    tau = (np.arange(lead + tail + 1) - lead) / fs
    z = (tau - morph.centre[:, :, None]) / morph.width[:, :, None]
    waves = morph.height[:, :, None] * np.exp(-0.5 * z**2)
    return waves[:, P], waves[:, Q:].sum(axis=1), lead


def _render_beats(
    r_index: np.ndarray,
    p_gain: np.ndarray,
    qrst_gain: np.ndarray,
    morph: Morphology,
    fs: float,
    n_samples: int,
) -> np.ndarray:
    """Sum of every beat's waves in the window: impulse trains convolved with the templates."""
    p_tpl, qrst_tpl, lead = _templates(morph, fs)
    span = p_tpl.shape[1]
    n = len(r_index)
    pos = r_index - lead + span  # impulse index in an array that starts `span` before t=0
    keep = (pos >= 0) & (pos < span + n_samples)
    rows = np.broadcast_to(np.arange(n)[:, None], pos.shape)[keep]
    p_train = np.zeros((n, span + n_samples), dtype=np.float32)
    qrst_train = np.zeros((n, span + n_samples), dtype=np.float32)
    p_train[rows, pos[keep]] = p_gain[keep]
    qrst_train[rows, pos[keep]] = qrst_gain[keep]
    import scipy.fft  # here, not at the top: registering the dataset must not load scipy

    nfft = scipy.fft.next_fast_len(2 * span + n_samples, real=True)
    rfft = lambda x: scipy.fft.rfft(x.astype(np.float32), nfft, axis=1)  # noqa: E731
    spectrum = rfft(p_train) * rfft(p_tpl) + rfft(qrst_train) * rfft(qrst_tpl)
    return scipy.fft.irfft(spectrum, nfft, axis=1)[:, span : span + n_samples]


def _sample_bounds(start_s: np.ndarray, end_s: np.ndarray, fs: float) -> tuple[np.ndarray, ...]:
    """First and last sample offsets (relative to R) whose time lies in ``[start, end]``."""
    eps = 1e-9
    return np.ceil(start_s * fs - eps).astype(np.int64), np.floor(end_s * fs + eps).astype(np.int64)


def _interval_mask(
    r_index: np.ndarray, first: np.ndarray, last: np.ndarray, n_samples: int
) -> np.ndarray:
    """Bool ``(N, T)``: samples within ``[R + first, R + last]`` of any beat."""
    n = len(r_index)
    start = np.clip(r_index + first[:, None], 0, n_samples)
    stop = np.clip(r_index + last[:, None] + 1, 0, n_samples)
    keep = stop > start
    offset = (np.arange(n) * (n_samples + 1))[:, None]
    size = n * (n_samples + 1)
    edges = np.bincount((start + offset)[keep], minlength=size) - np.bincount(
        (stop + offset)[keep], minlength=size
    )
    depth = edges.reshape(n, n_samples + 1).astype(np.int8)  # overlapping intervals: <= 2
    return np.cumsum(depth, axis=1, dtype=np.int8)[:, :n_samples] > 0


def _fiducial_masks(
    r_index: np.ndarray, morph: Morphology, fs: float, n_samples: int, r_half_width_s: float
) -> dict[str, np.ndarray]:
    """Exact ``p_wave``, ``qrs``, ``r_peak`` and ``t_wave`` masks ``(N, T)``."""
    p_first, p_last = _sample_bounds(*morph.extent(P), fs)
    qrs_first, qrs_last = _sample_bounds(*morph.extent(Q), fs)
    p_last = np.minimum(p_last, qrs_first - 1)  # only bites where fs < 1 / PR_GAP_S
    t_first, t_last = _sample_bounds(*morph.extent(T), fs)
    half = np.full(len(r_index), r_half_width_s)
    r_first, r_last = _sample_bounds(-half, half, fs)
    return {
        "p_wave": _interval_mask(r_index, p_first, p_last, n_samples),
        "qrs": _interval_mask(r_index, qrs_first, qrs_last, n_samples),
        "r_peak": _interval_mask(r_index, r_first, r_last, n_samples),
        "t_wave": _interval_mask(r_index, t_first, t_last, n_samples),
    }


def fibrillatory_waves(rng: np.random.Generator, n: int, t: np.ndarray) -> np.ndarray:
    """AF f-waves ``(n, len(t))`` in mV, in ``t``'s dtype: a 4-9 Hz wave with two harmonics,
    frequency- and amplitude-modulated (after Stridh & Sörnmo, IEEE TBME 48:105, 2001)."""
    draw = lambda low, high: rng.uniform(low, high, (n, 1)).astype(t.dtype)  # noqa: E731
    two_pi = 2.0 * np.pi
    f0, depth, mod_hz = draw(*F_WAVE_HZ), draw(0.0, F_WAVE_MOD_HZ), draw(0.05, 0.3)
    amp, am_hz = draw(*F_WAVE_MV), draw(0.05, 0.3)
    phases = rng.uniform(0.0, two_pi, (n, 2 + len(F_WAVE_HARMONICS))).astype(t.dtype)
    # Instantaneous frequency f0 + depth * sin(2 pi mod_hz t + phi), integrated.
    phase = two_pi * f0 * t - depth / mod_hz * np.cos(two_pi * mod_hz * t + phases[:, :1])
    wave = np.zeros((n, t.size), dtype=t.dtype)
    for h, rel in enumerate(F_WAVE_HARMONICS, start=1):
        wave += rel * np.sin(h * phase + phases[:, 1 + h : 2 + h])
    return amp * (1.0 + 0.3 * np.sin(two_pi * am_hz * t + phases[:, 1:2])) * wave


@dataclass(frozen=True)
class NoiseLevels:
    """Per-record noise amplitudes (mV) and frequencies (Hz), ``(N,)`` each."""

    wander: np.ndarray
    drift: np.ndarray
    drift_hz: np.ndarray
    mains: np.ndarray
    muscle: np.ndarray
    burst_hz: np.ndarray
    gain_depth: np.ndarray
    gain_jitter: np.ndarray
    phases: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, level: float) -> NoiseLevels:
        """Amplitudes scaled by the overall ``level`` (mV); ``level=0`` gives a clean ECG."""
        u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
        return cls(
            wander=level * u(0.5, 2.0),
            drift=level * u(0.5, 2.0),
            drift_hz=u(0.03, 0.1),
            mains=level * u(0.1, 0.5),
            muscle=level * u(0.1, 0.6),
            burst_hz=u(0.1, 0.5),
            gain_depth=np.minimum(2.0 * level * u(0.5, 1.5), 0.5),
            gain_jitter=np.full(n, level / 2.0),
            phases=rng.uniform(0.0, 2.0 * np.pi, (n, 5)),
        )


def _noise(
    rng: np.random.Generator, levels: NoiseLevels, resp_hz: np.ndarray, t: np.ndarray,
    fs: float, mains_hz: float,
) -> np.ndarray:
    """Baseline wander (respiratory + slow drift), mains hum and bursty muscle noise (mV).

    Computed in float32 (``t`` is float32): phases stay accurate to ~1e-3 rad for minutes.
    """
    col = lambda x: x[:, None].astype(np.float32)  # noqa: E731
    two_pi = np.float32(2.0 * np.pi)
    ph = levels.phases
    out = col(levels.wander) * np.sin(two_pi * col(resp_hz) * t + col(ph[:, 0]))
    out += col(levels.drift) * np.sin(two_pi * col(levels.drift_hz) * t + col(ph[:, 1]))
    if mains_hz < fs / 2.0:  # an ideal anti-aliasing filter removes hum above Nyquist
        hum = 2.0 * np.pi * mains_hz * t.astype(np.float64)
        # sin(w t + phi) = sin(w t) cos(phi) + cos(w t) sin(phi): two outer products, no sin
        out += col(levels.mains * np.cos(ph[:, 2])) * np.sin(hum).astype(np.float32)
        out += col(levels.mains * np.sin(ph[:, 2])) * np.cos(hum).astype(np.float32)
    white = rng.standard_normal((len(resp_hz), len(t) + 1), dtype=np.float32)
    muscle = np.diff(white, axis=1)  # first difference: an EMG-like high-pass
    burst = np.abs(np.sin(two_pi * col(levels.burst_hz) * t + col(ph[:, 3])))
    burst += np.float32(0.5)
    out += col(levels.muscle / np.sqrt(2.0)) * burst * muscle
    return out


def shortcut_marker(t: np.ndarray, at_s: float) -> np.ndarray:
    """The spurious marker (mV): a Gaussian derivative peaking at +-SHORTCUT_MV."""
    z = (t - at_s) / SHORTCUT_SIGMA_S
    return SHORTCUT_MV * z * np.exp(0.5 - 0.5 * z**2)


def _normalise(x: np.ndarray, how: str) -> np.ndarray:
    """Per-window scaling: ``minmax`` to [0, 1] (xECGArch), ``zscore`` or ``none`` (mV)."""
    if how == "minmax":
        low = x.min(axis=1, keepdims=True)
        span = x.max(axis=1, keepdims=True) - low
        return (x - low) / np.where(span > 0, span, 1.0)
    if how == "zscore":
        sd = x.std(axis=1, keepdims=True)
        return (x - x.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    return x


def rr_statistics(r_index: np.ndarray, fs: float, n_samples: int) -> dict[str, np.ndarray]:
    """RMSSD, SDNN (ms), CV and heart rate of the R peaks ``(N, B)`` inside the window.

    SDNN and CV use the sample standard deviation; NaN where too few R peaks lie inside.
    """
    inside = (r_index >= 0) & (r_index < n_samples)
    rr = np.diff(r_index, axis=1) / fs
    valid = inside[:, 1:] & inside[:, :-1]
    count = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, rr, 0.0).sum(axis=1) / count
        sdnn = np.sqrt(np.where(valid, (rr - mean[:, None]) ** 2, 0.0).sum(axis=1) / (count - 1))
        succ = valid[:, 1:] & valid[:, :-1]
        rmssd = np.sqrt(np.where(succ, np.diff(rr, axis=1) ** 2, 0.0).sum(1) / succ.sum(1))
    enough = count >= 2
    nan = np.full(len(r_index), np.nan)
    return {
        "rr_rmssd_ms": np.where(enough, 1000.0 * rmssd, nan),
        "rr_sdnn_ms": np.where(enough, 1000.0 * sdnn, nan),
        "rr_cv": np.where(enough, sdnn / mean, nan),
        "heart_rate_bpm": np.where(count >= 1, 60.0 / mean, nan),
    }


class SyntheticECG:
    """Generated single-lead ECG windows, AF vs not AF, with exact fiducial masks.

    Parameters
    ----------
    variant : ``both`` (realistic AF: no P waves, irregular RR, f-waves), ``morphology_only``
        (AF differs only by absent P waves: no f-waves, RR from one distribution for both
        classes), ``rhythm_only`` (AF differs only by irregularly irregular RR at the same
        mean rate; P waves drawn alike in both classes) or ``shortcut`` (``both`` plus a
        marker present in 90 % of AF and 10 % of non-AF training windows, in 50 % of test
        windows whatever the label; mask ``shortcut``, extra ``shortcut_present``).
    n_train, n_test : windows per split.
    af_fraction : share of AF windows (exactly ``round(n * af_fraction)``).
    noise : overall noise level in mV (baseline wander, mains, muscle noise; beat amplitude
        modulation of depth ``2 * noise``); 0 gives a clean ECG. Noise draws come from their
        own stream, so changing ``noise`` leaves rhythm, morphology and masks unchanged.
    seed : data seed; train and test use different streams derived from it.
    r_peak_width_ms : the ``r_peak`` mask spans R +- half of it.
    mains_hz : 50 or 60 (omitted when above the Nyquist frequency).
    normalise : ``minmax`` (per window to [0, 1], as xECGArch), ``zscore`` or ``none`` (mV).
    """

    name: ClassVar[str] = "synthetic"
    version: ClassVar[str] = "1"
    #: Written beside a board's published windows.
    data_licence: ClassVar[str] = (
        "Synthetic ECG windows generated by xecgbench's `synthetic` dataset (no recorded\n"
        "patient data); regenerate them from the run's config. Same licence as xecgbench.\n"
    )

    def __init__(
        self,
        *,
        variant: str = "both",
        n_train: Annotated[int, Field(ge=0)] = 512,
        n_test: Annotated[int, Field(ge=0)] = 256,
        af_fraction: Annotated[float, Field(ge=0, le=1)] = 0.5,
        noise: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.05,
        seed: Annotated[int, Field(ge=0)] = 0,
        r_peak_width_ms: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)] = 40.0,
        mains_hz: float = 50.0,
        normalise: str = "minmax",
    ) -> None:
        _check_choice("variant", variant, VARIANTS)
        _check_choice("normalise", normalise, NORMALISATIONS)
        _check_choice("mains_hz", mains_hz, (50, 60))
        for key, value in (("n_train", n_train), ("n_test", n_test), ("seed", seed)):
            if int(value) != value or value < 0:
                raise ValueError(f"synthetic: {key} must be a non-negative integer, got {value!r}")
        if not 0.0 <= af_fraction <= 1.0:
            raise ValueError(f"synthetic: af_fraction must lie in [0, 1], got {af_fraction!r}")
        if not noise >= 0.0:
            raise ValueError(f"synthetic: noise must be >= 0, got {noise!r}")
        if not r_peak_width_ms > 0.0:
            raise ValueError(f"synthetic: r_peak_width_ms must be > 0, got {r_peak_width_ms!r}")
        self.variant = variant
        self.n_train, self.n_test, self.seed = int(n_train), int(n_test), int(seed)
        self.af_fraction, self.noise = float(af_fraction), float(noise)
        self.r_peak_width_ms, self.mains_hz = float(r_peak_width_ms), float(mains_hz)
        self.normalise = normalise

    def expected_windows(self, split: str) -> int:
        """How many windows :meth:`load` returns for ``split`` (the run's memory estimate)."""
        return self.n_train if split == "train" else self.n_test

    def load(self, split: str, *, fs: float, duration_s: float) -> ECGSet:
        """``split`` (``train`` or ``test``) as ``duration_s``-second windows at ``fs`` Hz."""
        _check_choice("split", split, SPLITS)
        if not fs > 0 or not duration_s > 0 or round(fs * duration_s) < 1:
            raise ValueError(
                f"synthetic: windows of fs × duration_s = {fs:g} Hz × {duration_s:g} s = "
                f"{fs * duration_s:g} samples; need at least one sample")
        n = self.n_train if split == "train" else self.n_test
        seeds = np.random.SeedSequence(self.seed, spawn_key=(SPLITS.index(split),))
        streams = map(np.random.default_rng, seeds.spawn(len(STREAMS)))
        rngs = dict(zip(STREAMS, streams, strict=True))
        return _generate(self, split, n, rngs, float(fs), float(duration_s))


def _check_choice(key: str, value: object, valid: tuple) -> None:
    if value not in valid:
        raise ValueError(f"synthetic: unknown {key} {value!r}; valid: {', '.join(map(str, valid))}")


def _generate(
    cfg: SyntheticECG, split: str, n: int, rngs: dict[str, np.random.Generator], fs: float,
    duration_s: float,
) -> ECGSet:
    """Draw every record's parameters, then render the windows chunk by chunk."""
    n_samples = round(fs * duration_s)
    if n == 0:
        return _empty(n_samples, fs, with_shortcut=cfg.variant == "shortcut")
    labels = np.zeros(n, dtype=np.int64)
    labels[: round(n * cfg.af_fraction)] = 1
    labels = rngs["labels"].permutation(labels)
    af = labels == 1
    plan = plan_rhythms(rngs["rhythm"], labels, cfg.variant)
    morph = draw_morphology(
        rngs["morphology"], plan.mean_rr, ectopic_p_varies=cfg.variant in ("both", "shortcut")
    )
    p_start, _ = morph.extent(P)
    _, qrs_end = morph.extent(Q)
    pac_window = (0.5, duration_s - 0.5) if duration_s > 1.0 else (0.0, duration_s)
    beats = beat_times(
        rngs["beats"], plan, t_first=-MARGIN_S, t_last=duration_s + MARGIN_S,
        rr_floor=np.maximum(qrs_end - p_start + PR_GAP_S, 0.3), pac_window=pac_window,
    )
    r_index = np.rint(beats.r_times * fs).astype(np.int64)
    levels = NoiseLevels.draw(rngs["noise"], n, cfg.noise)
    beat_gain = _beat_gain(rngs["noise"], levels, plan, beats)
    has_p = ~af if cfg.variant != "rhythm_only" else np.ones(n, dtype=bool)
    p_gain = beat_gain * has_p[:, None] * np.where(beats.premature, morph.ectopic_p[:, None], 1.0)
    f_waves = af & (cfg.variant in ("both", "shortcut"))
    marker = _shortcut_presence(rngs["shortcut"], labels, split, cfg.variant)

    t = (np.arange(n_samples) / fs).astype(np.float32)
    signals = np.empty((n, 1, n_samples), dtype=np.float32)
    mask_names = MASK_NAMES + (("shortcut",) if marker is not None else ())
    masks = {name: np.empty((n, 1, n_samples), dtype=bool) for name in mask_names}
    for lo in range(0, n, CHUNK):
        rows = slice(lo, min(lo + CHUNK, n))
        ecg = _render_beats(r_index[rows], p_gain[rows], beat_gain[rows], _rows(morph, rows),
                            fs, n_samples)
        idx = np.flatnonzero(f_waves[rows])
        if idx.size:
            ecg[idx] += fibrillatory_waves(rngs["af"], idx.size, t)
        if cfg.noise > 0:
            ecg += _noise(rngs["noise"], _rows(levels, rows), plan.resp_hz[rows], t, fs,
                          cfg.mains_hz)
        for name, mask in _fiducial_masks(r_index[rows], _rows(morph, rows), fs, n_samples,
                                          cfg.r_peak_width_ms / 2000.0).items():
            masks[name][rows, 0] = mask
        if marker is not None:
            at_s = SHORTCUT_AT * duration_s
            present = marker[rows, None]
            ecg += present * shortcut_marker(t, at_s)
            near = np.abs(t - at_s) <= SHORTCUT_EXTENT_SIGMAS * SHORTCUT_SIGMA_S
            masks["shortcut"][rows, 0] = present & near
        signals[rows, 0] = _normalise(ecg, cfg.normalise)

    extras: dict[str, np.ndarray] = rr_statistics(r_index, fs, n_samples)
    extras["rhythm"] = np.asarray(RHYTHMS, dtype=object)[plan.rhythm].astype(str)
    if marker is not None:
        extras["shortcut_present"] = marker
    # rhythm class: the label's AF, else sinus (N) or a confounder (O: arrhythmia, PACs …)
    rhythm = np.where(af, RHYTHM_AF, np.where(plan.rhythm == SINUS, RHYTHM_NORMAL, RHYTHM_OTHER))
    return ECGSet(
        signals=signals,
        labels=labels,
        masks=masks,
        record_ids=tuple(f"synthetic-{split}-{i:06d}" for i in range(n)),
        fs=fs,
        extras=extras,
        rhythm_labels=tuple(rhythm.tolist()),
    )


def _empty(n_samples: int, fs: float, *, with_shortcut: bool) -> ECGSet:
    """A split of zero windows (``n_train`` or ``n_test`` set to 0)."""
    names = MASK_NAMES + (("shortcut",) if with_shortcut else ())
    extras = ("rr_rmssd_ms", "rr_sdnn_ms", "rr_cv", "heart_rate_bpm")
    return ECGSet(
        signals=np.empty((0, 1, n_samples), dtype=np.float32),
        labels=np.empty(0, dtype=np.int64),
        masks={name: np.empty((0, 1, n_samples), dtype=bool) for name in names},
        record_ids=(),
        fs=fs,
        extras={key: np.empty(0) for key in extras}
        | {"rhythm": np.empty(0, dtype=str)}
        | ({"shortcut_present": np.empty(0, dtype=bool)} if with_shortcut else {}),
        rhythm_labels=(),
    )


_Params = TypeVar("_Params", Morphology, NoiseLevels)


def _rows(obj: _Params, rows: slice) -> _Params:
    """The same per-record parameters restricted to ``rows``."""
    return type(obj)(**{k: v[rows] for k, v in vars(obj).items()})


def _beat_gain(
    rng: np.random.Generator, levels: NoiseLevels, plan: RhythmPlan, beats: BeatTrain
) -> np.ndarray:
    """Per-beat amplitude ``(N, B)``: respiratory modulation plus beat-to-beat jitter."""
    resp = np.sin(2.0 * np.pi * plan.resp_hz[:, None] * beats.r_times + levels.phases[:, 4:5])
    jitter = rng.standard_normal(beats.r_times.shape)
    return 1.0 + levels.gain_depth[:, None] * resp + levels.gain_jitter[:, None] * jitter


def _shortcut_presence(
    rng: np.random.Generator, labels: np.ndarray, split: str, variant: str
) -> np.ndarray | None:
    """Whether each window carries the shortcut marker (``None`` unless ``shortcut``)."""
    if variant != "shortcut":
        return None
    chance = np.where(labels == 1, *SHORTCUT_P_TRAIN[::-1]) if split == "train" else 0.5
    return rng.random(len(labels)) < chance
