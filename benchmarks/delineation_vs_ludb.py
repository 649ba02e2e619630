"""How good are NeuroKit2's fiducials (the CinC 2017 masks) against LUDB's cardiologists?

Runs the exact delineation the ``cinc2017`` loader uses (:func:`xecgbench_builtin.data.fiducials
.delineate`: ``ecg_clean`` + ``ecg_peaks`` + ``ecg_delineate(method="dwt")``) on one lead of
every LUDB record and matches its points to the expert annotations, one-to-one within a
tolerance (greedy, :func:`xecgbench_builtin.data.fiducial_events.event_f1`). Only detections inside
the annotated span (first to last expert annotation) count: outside it LUDB is silent.

Usage::

    python benchmarks/delineation_vs_ludb.py [--ludb ../shared/data/ludb] [--lead ii]

prints Markdown tables (the ones in docs/data.md).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from xecgbench_builtin.data.ecg_windows import BadRecordError
from xecgbench_builtin.data.fiducial_events import event_f1
from xecgbench_builtin.data.fiducials import (
    Fiducials,
    atrial_windows,
    delineate,
    fiducials_from_delineation,
    interval_mask,
    waves_from_annotation,
)
from xecgbench_builtin.data.ludb import LUDB

REPO_ROOT = Path(__file__).resolve().parent.parent
#: (row name, NeuroKit2 key, expert point, tolerance in ms)
POINTS: tuple[tuple[str, str, str, float], ...] = (
    ("P onset", "ECG_P_Onsets", "p_on", 50.0),
    ("P peak", "ECG_P_Peaks", "p_peak", 50.0),
    ("P offset", "ECG_P_Offsets", "p_off", 50.0),
    ("P peak", "ECG_P_Peaks", "p_peak", 25.0),
    ("QRS onset", "ECG_R_Onsets", "qrs_on", 50.0),
    ("QRS offset", "ECG_R_Offsets", "qrs_off", 50.0),
    ("QRS onset, loader rule", "loader_qrs_on", "qrs_on", 50.0),
    ("QRS offset, loader rule", "loader_qrs_off", "qrs_off", 50.0),
    ("QRS onset, loader rule", "loader_qrs_on", "qrs_on", 25.0),
    ("R peak", "ECG_R_Peaks", "r_peak", 25.0),
    ("R peak", "ECG_R_Peaks", "r_peak", 50.0),
)


def _default_ludb() -> Path:
    root = os.environ.get("XECGBENCH_DATA")
    return Path(root) / "ludb" if root else REPO_ROOT.parent / "shared" / "data" / "ludb"


def _inside(points: np.ndarray, span: tuple[int, int]) -> np.ndarray:
    points = points[np.isfinite(points)]
    return points[(points >= span[0]) & (points <= span[1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ludb", type=Path, default=_default_ludb())
    parser.add_argument("--lead", default="ii")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--cinc", type=Path, default=None,
                        help="Also count NeuroKit2's P waves in CinC 2017 records at this path.")
    parser.add_argument("--cinc-records", type=int, default=60,
                        help="Records per class (AF, non-AF) drawn for --cinc.")
    args = parser.parse_args()
    ludb_tables(args)
    if args.cinc is not None:
        cinc_p_rate(args.cinc, args.cinc_records, args.cache_dir)


def cinc_p_rate(path: Path, per_class: int, cache_dir: str | None) -> None:
    """How often NeuroKit2 reports a P peak per beat in random CinC 2017 AF / non-AF records."""
    from xecgbench_builtin.data.cinc2017 import CinC2017

    dataset = CinC2017(path=path)
    entries = dataset.records("all")[0]
    rng = np.random.default_rng(0)
    print("\n| CinC 2017 records (random, seed 0) | beats | beats with a NeuroKit2 P peak | "
          "delineation s per 30 s |")
    print("|---|---|---|---|")
    for label, name in ((1, "AF"), (0, "non-AF")):
        members = [e for e in entries if e.label == label]
        chosen = rng.choice(len(members), size=min(per_class, len(members)), replace=False)
        hits = beats = 0
        seconds = spent = 0.0
        for i in chosen:
            raw = dataset._read(members[i])
            started = time.perf_counter()
            try:
                nk = delineate(raw.record, raw.signal, raw.fs, cache_dir=cache_dir)
            except BadRecordError:
                continue
            spent += time.perf_counter() - started
            seconds += len(raw.signal) / raw.fs
            hits += int(np.isfinite(nk["ECG_P_Peaks"]).sum())
            beats += len(nk["ECG_R_Peaks"])
        print(f"| {len(chosen)} {name} | {beats} | {hits} ({hits / max(beats, 1):.1%}) | "
              f"{spent / max(seconds, 1e-9) * 30:.2f} (0 when cached) |")


def ludb_tables(args: argparse.Namespace) -> None:
    """Sensitivity/PPV of NeuroKit2 against LUDB's experts, P waves in AF, mask overlap."""

    import wfdb

    dataset = LUDB(path=args.ludb, lead=args.lead, normalise="none")
    entries = dataset.records("all")[0]
    truth: dict[str, list[np.ndarray]] = {k: [] for _, _, k, _ in POINTS}
    found: dict[str, list[np.ndarray]] = {k: [] for _, k, _, _ in POINTS}
    p_rate = {0: [0, 0], 1: [0, 0]}  # label -> [beats with a P peak, beats]
    overlap = {"mask": [0, 0, 0], "window": [0, 0, 0]}  # [P∩mask, P samples, mask samples]
    failed: dict[str, str] = {}
    started = time.perf_counter()
    for entry in entries:
        raw = dataset._read(entry)
        annotation = wfdb.rdann(str(args.ludb / entry.record), args.lead)
        waves = waves_from_annotation(annotation.sample, list(annotation.symbol))
        try:
            nk = delineate(f"ludb-{entry.record}-{args.lead}", raw.signal, raw.fs,
                           cache_dir=args.cache_dir)
        except BadRecordError as exc:  # scored as "found nothing": its expert points are missed
            failed[entry.record] = exc.fault
            nk = {key: np.empty(0) for _, key, _, _ in POINTS}
            nk.update({key: np.empty(0) for key in ("ECG_P_Onsets", "ECG_P_Offsets")})
        to_samples = raw.fs / 1000.0
        in_span = (nk["ECG_R_Peaks"] >= waves.span[0]) & (nk["ECG_R_Peaks"] <= waves.span[1])
        p_rate[entry.label][0] += int(np.isfinite(nk["ECG_P_Peaks"][in_span]).sum())
        p_rate[entry.label][1] += int(in_span.sum())
        if entry.label == 1:
            continue
        expert = {
            "p_on": waves.p_wave[:, 0], "p_peak": waves.p_peaks, "p_off": waves.p_wave[:, 1],
            "qrs_on": waves.qrs[:, 0], "qrs_off": waves.qrs[:, 1], "r_peak": waves.r_peaks,
        }
        for key, points in expert.items():
            truth[key].append(points.astype(float))
        fid = (fiducials_from_delineation(nk, raw.fs, trust_p=True) if entry.record not in failed
               else Fiducials(raw.fs, *(np.empty((0, 2), int),) * 4))
        nk = {**nk, "loader_qrs_on": fid.qrs[:, 0].astype(float),
              "loader_qrs_off": fid.qrs[:, 1].astype(float)}
        for nk_key in {k for _, k, _, _ in POINTS}:
            found[nk_key].append(_inside(nk[nk_key], waves.span))
        n = len(raw.signal)
        span = np.zeros(n, dtype=bool)
        span[waves.span[0] : waves.span[1] + 1] = True
        expert_p = interval_mask(waves.p_wave, n)
        mask = interval_mask(fid.p_wave, n) & span
        previous = np.concatenate([[waves.span[0] - 1], waves.qrs[:-1, 1]])
        window = interval_mask(atrial_windows(waves.qrs[:, 0], previous, raw.fs), n) & span
        for name, m in (("mask", mask), ("window", window)):
            overlap[name][0] += int((expert_p & m).sum())
            overlap[name][1] += int(expert_p.sum())
            overlap[name][2] += int(m.sum())
    elapsed = time.perf_counter() - started

    n_af = sum(e.label == 1 for e in entries)
    print(f"LUDB lead {args.lead}: {len(entries) - n_af} non-AF records scored, "
          f"{n_af} AF records for the P-in-AF row ({elapsed:.1f} s incl. delineation)")
    for record, fault in failed.items():
        print(f"NeuroKit2 failed on {record} (scored as no detections): {fault}")
    print()
    print("| fiducial point | tolerance | expert points | NeuroKit2 points | sensitivity | PPV |")
    print("|---|---|---|---|---|---|")
    for name, nk_key, expert_key, tol_ms in POINTS:
        score = event_f1(truth[expert_key], found[nk_key], tol_ms * to_samples)
        n_true = sum(len(t) for t in truth[expert_key])
        n_found = sum(len(f) for f in found[nk_key])
        print(f"| {name} | ±{tol_ms:.0f} ms | {n_true} | {n_found} | "
              f"{score['sensitivity']:.3f} | {score['ppv']:.3f} |")
    print("\n| records | beats (NeuroKit2 R peaks in span) | beats with a NeuroKit2 P peak |")
    print("|---|---|---|")
    for label, name in ((1, "AF"), (0, "non-AF")):
        hits, beats = p_rate[label]
        print(f"| {name} | {beats} | {hits} ({hits / max(beats, 1):.1%}) |")
    print("\n| p_wave region (non-AF, in span) | share of expert P samples covered | "
          "share of region that is expert P |")
    print("|---|---|---|")
    for name, label in (("mask", "loader's CinC rule (NeuroKit2 P, else atrial window)"),
                        ("window", "atrial window at expert QRS onsets")):
        inter, expert_n, region_n = overlap[name]
        print(f"| {label} | {inter / expert_n:.3f} | {inter / max(region_n, 1):.3f} |")


if __name__ == "__main__":
    main()
