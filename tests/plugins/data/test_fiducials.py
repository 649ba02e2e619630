"""Fiducials -> masks, atrial windows, annotation parsing and the cached NeuroKit2 delineation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xecgbench_builtin.data.ecg_windows import BadRecordError
from xecgbench_builtin.data.fiducials import (
    ATRIAL_WINDOW_MS,
    CACHE_ENV,
    Fiducials,
    atrial_windows,
    cache_root,
    delineate,
    fiducials_from_delineation,
    interval_mask,
    waves_from_annotation,
)

FS = 500.0


def test_interval_mask_is_inclusive_and_clipped() -> None:
    mask = interval_mask(np.array([[2, 4], [8, 12], [-3, 0]]), 10)
    assert np.flatnonzero(mask).tolist() == [0, 2, 3, 4, 8, 9]
    assert not interval_mask(np.empty((0, 2)), 5).any()


def test_masks_and_resampling() -> None:
    fid = Fiducials(FS, np.array([100]), np.array([[80, 130]]), np.array([[20, 60]]),
                    np.array([[200, 300]]))
    masks = fid.masks(400, r_peak_width_ms=40.0)
    assert np.flatnonzero(masks["r_peak"]).tolist() == list(range(90, 111))  # ±20 ms = ±10
    assert masks["qrs"].sum() == 51 and masks["p_wave"].sum() == 41 and masks["t_wave"].sum() == 101
    half = fid.resampled(250.0)
    assert half.r_peaks.tolist() == [50] and half.qrs.tolist() == [[40, 65]]


def test_atrial_windows_sit_before_qrs_and_respect_the_previous_beat() -> None:
    onsets = np.array([300, 600, 650])
    windows = atrial_windows(onsets, np.array([-1, 450, 640]), FS)
    start_s, end_s = (round(ms / 1000 * FS) for ms in ATRIAL_WINDOW_MS)
    assert windows[0].tolist() == [300 - start_s, 300 - end_s]
    assert windows[1].tolist() == [500, 600 - end_s]  # clipped after the previous T end (450)
    assert len(windows) == 2  # third beat: no room between 640 and 650 - 15


def test_annotation_parsing_handles_missing_boundaries() -> None:
    symbols = ["(", "p", ")", "(", "N", ")", "N", ")", "(", "t", ")", "(", "N"]
    samples = np.array([10, 20, 30, 40, 50, 60, 100, 120, 150, 170, 190, 250, 260])
    waves = waves_from_annotation(samples, symbols)
    assert waves.p_wave.tolist() == [[10, 30]] and waves.p_peaks.tolist() == [20]
    assert waves.qrs.tolist() == [[40, 60], [100, 120], [250, 260]]
    assert waves.r_peaks.tolist() == [50, 100, 260]
    assert waves.t_wave.tolist() == [[150, 190]] and waves.span == (10, 260)


def _raw(p_on: float, p_off: float) -> dict[str, np.ndarray]:
    """Three regular beats at 500 Hz with one P wave per beat, as NeuroKit2 returns them."""
    r = np.array([500.0, 1000.0, 1500.0])
    nan = np.full(3, np.nan)
    return {
        "ECG_R_Peaks": r, "ECG_R_Onsets": r - 20, "ECG_R_Offsets": r + 25,
        "ECG_P_Onsets": r - p_on, "ECG_P_Peaks": r - (p_on + p_off) / 2, "ECG_P_Offsets": r - p_off,
        "ECG_T_Onsets": r + 100, "ECG_T_Peaks": r + 150, "ECG_T_Offsets": r + 200,
        "ECG_Q_Peaks": nan,
    }


def test_plausible_p_waves_are_kept_only_when_trusted() -> None:
    trusted = fiducials_from_delineation(_raw(80, 30), FS, trust_p=True)
    assert trusted.p_wave.tolist() == [[420, 470], [920, 970], [1420, 1470]]
    assert (trusted.qrs[:, 0] > trusted.p_wave[:, 1]).all()
    af = fiducials_from_delineation(_raw(80, 30), FS, trust_p=False)
    qrs_on = af.qrs[:, 0]
    end = round(ATRIAL_WINDOW_MS[1] / 1000 * FS)
    assert (af.p_wave[:, 1] == qrs_on - end).all()  # atrial windows, not NeuroKit2's P
    assert af.t_wave.tolist() == [[600, 700], [1100, 1200], [1600, 1700]]


def test_implausible_p_waves_fall_back_to_the_atrial_window() -> None:
    fid = fiducials_from_delineation(_raw(-10, -40), FS, trust_p=True)  # "P" after the R peak
    end = round(ATRIAL_WINDOW_MS[1] / 1000 * FS)
    assert (fid.p_wave[:, 1] == fid.qrs[:, 0] - end).all()


def test_cache_root_prefers_argument_then_env(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    assert cache_root(tmp_path / "arg") == tmp_path / "arg"
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv(CACHE_ENV)
    assert cache_root() == Path.home() / ".cache" / "xecgbench"


def test_delineation_is_cached_per_signal(shared_data: Path, tmp_path: Path) -> None:
    import wfdb

    record = wfdb.rdrecord(str(shared_data / "cinc2017" / "A00001"))
    signal = record.p_signal[:3000, 0]
    first = delineate("A00001", signal, record.fs, cache_dir=tmp_path)
    files = list((tmp_path / "delineation").glob("A00001-*.npz"))
    assert len(files) == 1
    r = first["ECG_R_Peaks"]
    assert len(r) >= 8 and np.all(np.diff(r) > 0.3 * record.fs)  # plausible heart rate
    again = delineate("A00001", signal, record.fs, cache_dir=tmp_path)
    assert all(np.array_equal(first[k], again[k], equal_nan=True) for k in first)
    delineate("A00001", signal * 1.5, record.fs, cache_dir=tmp_path)  # new signal, new entry
    assert len(list((tmp_path / "delineation").glob("A00001-*.npz"))) == 2


def test_delineation_failure_names_the_record(tmp_path: Path) -> None:
    with pytest.raises(BadRecordError, match=r"record X9: NeuroKit2 .*R peaks"):
        delineate("X9", np.zeros(3000) + 1e-3 * np.sin(np.arange(3000)), 300.0,
                  cache_dir=tmp_path)
