"""Beat timing for the synthetic ECG: sinus rhythm with physiological HRV, its confounders, AF.

Sinus RR intervals follow ECGSYN's bimodal RR spectrum (McSharry et al. 2003): a Mayer-wave
(low-frequency, ~0.1 Hz) and a respiratory (high-frequency, respiratory sinus arrhythmia) peak,
each a Gaussian of 0.01 Hz standard deviation, synthesised as a random-phase sum of sinusoids
with frequencies drawn from those Gaussians. AF RR intervals are independent draws (irregularly
irregular: no correlation between successive intervals) with a high coefficient of variation.
All records advance together, one beat index per loop iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rhythm codes; the index is what :class:`RhythmPlan.rhythm` stores.
RHYTHMS: tuple[str, ...] = ("sinus", "sinus_arrhythmia", "sinus_tachycardia", "pac", "af")
SINUS, ARRHYTHMIA, TACHYCARDIA, PAC, AF = range(len(RHYTHMS))

#: Non-AF rhythm mixture: 60 % are confounders (marked sinus arrhythmia, sinus tachycardia,
#: premature atrial contractions) so that "irregular" or "fast" alone does not mean AF.
NON_AF_MIX = np.array([0.4, 0.2, 0.2, 0.2, 0.0])
#: The mixture ``morphology_only`` draws for *both* classes: no premature beats, so RR
#: statistics come from one distribution whatever the label.
REGULAR_MIX = np.array([0.5, 0.25, 0.25, 0.0, 0.0])

#: Mean RR range (s) per rhythm: 55-95, 50-80, 100-150, 55-95 bpm; AF ventricular 67-143 bpm.
MEAN_RR_RANGE = np.array([(0.63, 1.1), (0.75, 1.2), (0.4, 0.6), (0.63, 1.1), (0.42, 0.9)])
#: Standard deviation (s) of the sinus RR process per rhythm (AF row unused).
RR_STD_RANGE = np.array([(0.01, 0.04), (0.06, 0.12), (0.004, 0.015), (0.01, 0.04), (0, 0)])
#: LF/HF power ratio per rhythm (ECGSYN's default 0.5 lies inside the sinus range); marked
#: sinus arrhythmia is respiratory (HF) dominated.
LF_HF_RANGE = np.array([(0.3, 1.5), (0.1, 0.3), (0.3, 1.5), (0.3, 1.5), (0.3, 1.5)])
#: Respiratory frequency (Hz) per rhythm; slow deep breathing amplifies sinus arrhythmia.
RESP_HZ_RANGE = np.array([(0.15, 0.4), (0.12, 0.3), (0.15, 0.4), (0.15, 0.4), (0.15, 0.4)])
#: Coefficient of variation of AF RR intervals.
AF_CV_RANGE = (0.15, 0.35)
#: Mayer-wave frequency and the spectral peak width, as ECGSYN (Hz).
LF_HZ, PEAK_SD_HZ = 0.1, 0.01
#: Sinusoids per spectral peak in the random-phase synthesis.
N_COMPONENTS = 4
#: PAC coupling interval as a fraction of the sinus RR, and the post-PAC interval (the sinus
#: node is reset, so the pause is not compensatory: about one sinus RR).
PAC_COUPLING_RANGE = (0.55, 0.8)
PAC_POST_RANGE = (1.0, 1.2)


@dataclass(frozen=True)
class RhythmPlan:
    """Per-record rhythm parameters (all ``(N,)``, seconds or Hz)."""

    rhythm: np.ndarray
    mean_rr: np.ndarray
    rr_std: np.ndarray
    lf_hf: np.ndarray
    resp_hz: np.ndarray
    af_cv: np.ndarray

    @property
    def is_af(self) -> np.ndarray:
        """Records whose RR intervals are AF-like (irregularly irregular)."""
        return self.rhythm == AF


@dataclass(frozen=True)
class BeatTrain:
    """R-peak times ``(N, B)`` in seconds and which beats are premature atrial beats."""

    r_times: np.ndarray
    premature: np.ndarray


def _uniform_rows(rng: np.random.Generator, ranges: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One uniform draw per record from the ``(low, high)`` row its code selects."""
    low, high = ranges[rows, 0], ranges[rows, 1]
    return low + (high - low) * rng.random(len(rows))


def plan_rhythms(rng: np.random.Generator, labels: np.ndarray, variant: str) -> RhythmPlan:
    """Draw each record's rhythm and its parameters for the dataset ``variant``.

    ``both``/``shortcut``: non-AF from :data:`NON_AF_MIX`, AF with its own ventricular rate.
    ``rhythm_only``: every record draws its rate and HRV from :data:`NON_AF_MIX`; AF records
    then get AF irregularity at that same mean rate, so only the irregularity differs.
    ``morphology_only``: both classes draw from :data:`REGULAR_MIX` (the label is ignored).
    """
    n = len(labels)
    af = labels == 1
    mix = REGULAR_MIX if variant == "morphology_only" else NON_AF_MIX
    category = rng.choice(len(RHYTHMS), size=n, p=mix)
    if variant in ("both", "shortcut"):
        category = np.where(af, AF, category)
    mean_rr = _uniform_rows(rng, MEAN_RR_RANGE, category)
    rr_std = _uniform_rows(rng, RR_STD_RANGE, category)
    lf_hf = _uniform_rows(rng, LF_HF_RANGE, category)
    resp_hz = _uniform_rows(rng, RESP_HZ_RANGE, category)
    af_cv = rng.uniform(*AF_CV_RANGE, size=n)
    rhythm = category if variant == "morphology_only" else np.where(af, AF, category)
    return RhythmPlan(rhythm, mean_rr, rr_std, lf_hf, resp_hz, af_cv)


def _sinus_components(
    rng: np.random.Generator, plan: RhythmPlan
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequencies, amplitudes and phases ``(N, 2K)`` of the LF + HF sinusoid sum."""
    n = len(plan.rhythm)
    centre = np.concatenate(
        [np.full((n, N_COMPONENTS), LF_HZ), np.repeat(plan.resp_hz[:, None], N_COMPONENTS, 1)],
        axis=1,
    )
    freq = np.maximum(centre + PEAK_SD_HZ * rng.standard_normal(centre.shape), 0.01)
    variance = plan.rr_std**2
    lf_var = variance * plan.lf_hf / (1.0 + plan.lf_hf)
    hf_var = variance - lf_var
    # A sinusoid of amplitude a has variance a**2 / 2; K of them share a band's variance.
    amp = np.concatenate(
        [
            np.repeat(np.sqrt(2.0 * lf_var / N_COMPONENTS)[:, None], N_COMPONENTS, 1),
            np.repeat(np.sqrt(2.0 * hf_var / N_COMPONENTS)[:, None], N_COMPONENTS, 1),
        ],
        axis=1,
    )
    phase = rng.uniform(0.0, 2.0 * np.pi, size=centre.shape)
    return freq, amp, phase


def beat_times(
    rng: np.random.Generator,
    plan: RhythmPlan,
    *,
    t_first: float,
    t_last: float,
    rr_floor: np.ndarray,
    pac_window: tuple[float, float],
) -> BeatTrain:
    """R-peak times from before ``t_first`` until every record has passed ``t_last``.

    Parameters
    ----------
    rng : the rhythm stream; draws depend only on the plan and the time span.
    plan : per-record rhythm parameters from :func:`plan_rhythms`.
    t_first, t_last : seconds; the first beat lies in ``[t_first - mean_rr, t_first]``.
    rr_floor : ``(N,)`` shortest allowed RR (s), so that a beat's atrial window never
        reaches back into the previous QRS complex.
    pac_window : ``(start, stop)`` seconds within which premature atrial beats are placed.
    """
    n = len(plan.rhythm)
    freq, amp, phase = _sinus_components(rng, plan)
    n_beats = int(np.ceil((t_last - t_first + plan.mean_rr.max()) / rr_floor.min())) + 2
    sigma = np.sqrt(np.log1p(plan.af_cv**2))[:, None]
    af_ratio = np.exp(sigma * rng.standard_normal((n, n_beats)) - sigma**2 / 2.0)
    n_pacs = np.where(plan.rhythm == PAC, rng.integers(1, 3, size=n), 0)
    pac_at = np.sort(rng.uniform(*pac_window, size=(n, 2)), axis=1)
    coupling = rng.uniform(*PAC_COUPLING_RANGE, size=(n, 2))
    post_ratio = rng.uniform(*PAC_POST_RANGE, size=(n, 2))
    rows = np.arange(n)

    t = t_first - rng.random(n) * plan.mean_rr
    times = np.empty((n, n_beats))
    premature = np.zeros((n, n_beats), dtype=bool)
    times[:, 0] = t
    fired = np.zeros(n, dtype=np.int64)
    after_pac = np.zeros(n, dtype=bool)
    last = n_beats
    for k in range(1, n_beats):
        sinus = plan.mean_rr + np.sum(amp * np.sin(2.0 * np.pi * freq * t[:, None] + phase), 1)
        rr = np.where(plan.is_af, plan.mean_rr * af_ratio[:, k], sinus)
        slot = np.minimum(fired, 1)
        fire = (fired < n_pacs) & ~after_pac & (t + sinus > pac_at[rows, slot])
        rr = np.where(fire, coupling[rows, slot] * sinus, rr)
        rr = np.where(after_pac, post_ratio[rows, np.maximum(fired - 1, 0)] * sinus, rr)
        t = t + np.maximum(rr, rr_floor)
        times[:, k] = t
        premature[:, k] = fire
        fired += fire
        after_pac = fire
        if np.all(t > t_last):
            last = k + 1
            break
    return BeatTrain(times[:, :last], premature[:, :last])
