"""``xecgbench data``: check, export and download the real ECG datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from xecgbench.api import UserError
from xecgbench_builtin.data.ecg_windows import DatasetError


def _dataset_class(ctx: click.Context, name: str) -> Any:
    """The dataset registered as ``name``, from the CLI's plugin system (or a fresh one)."""
    from xecgbench.api import PluginSystem, RegistryError, load_plugins

    system = ctx.find_root().obj
    if not isinstance(system, PluginSystem):
        system = load_plugins()
    try:
        return system.registry["datasets"].get(name)
    except RegistryError as exc:
        raise UserError(str(exc)) from exc


def _dataset(ctx: click.Context, name: str, path: Path | None, **config: Any) -> Any:
    cls = _dataset_class(ctx, name)
    if path is not None:
        config["path"] = path
    try:
        return cls(**config)
    except (DatasetError, TypeError) as exc:
        raise UserError(f"{name}: {exc}") from exc


def _needs(dataset: Any, method: str, name: str) -> None:
    if not callable(getattr(dataset, method, None)):
        raise UserError(f"dataset {name!r} does not support `data {method}` (not a local WFDB set)")


@click.group("data")
def data() -> None:
    """Check, export and download the real ECG datasets (CinC 2017, LUDB, QTDB, CPSC 2021)."""


@data.command("check")
@click.argument("name")
@click.option("--path", type=click.Path(path_type=Path), help="Dataset directory.")
@click.option("--duration", "duration_s", type=float, default=10.0, show_default=True,
              help="Window length the records must fill (for the too-short check).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--strict", is_flag=True, help="Exit with status 1 if any record is skipped.")
@click.pass_context
def check_command(ctx: click.Context, name: str, path: Path | None, duration_s: float,
                  as_json: bool, strict: bool) -> None:
    """Validate every record of NAME: counts per class and skipped records with reasons."""
    dataset = _dataset(ctx, name, path)
    _needs(dataset, "check", name)
    try:
        report = dataset.check(duration_s=duration_s)
    except DatasetError as exc:
        raise UserError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({
            "dataset": report.dataset, "path": str(report.path), "records": report.n_records,
            "classes": report.class_counts, "excluded": report.excluded,
            "labels": {str(k): v for k, v in report.label_counts.items()},
            "skipped": report.skipped,
        }, indent=2))
    else:
        click.echo(f"{report.dataset} at {report.path}: {report.n_records} records")
        click.echo("classes: " + ", ".join(f"{k} {v}" for k, v in report.class_counts.items()))
        if report.excluded:
            click.echo("excluded by the label map: "
                       + ", ".join(f"{k} {v}" for k, v in report.excluded.items()))
        click.echo(f"usable: AF {report.label_counts.get(1, 0)}, "
                   f"non-AF {report.label_counts.get(0, 0)}")
        click.echo(f"skipped: {len(report.skipped)} records")
        for record, reason in sorted(report.skipped.items()):
            click.echo(f"  {record}: {reason}")
    if strict and report.skipped:
        ctx.exit(1)


@data.command("export")
@click.argument("name")
@click.option("--path", type=click.Path(path_type=Path), help="Dataset directory.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="The .npz file to write.")
@click.option("--split", type=click.Choice(["all", "train", "test"]), default="all",
              show_default=True)
@click.option("--fs", type=float, default=250.0, show_default=True, help="Rate in Hz.")
@click.option("--duration", "duration_s", type=float, default=10.0, show_default=True,
              help="Window length in seconds.")
@click.option("--limit", type=int, default=None, help="A stratified subset of records.")
@click.pass_context
def export_command(ctx: click.Context, name: str, path: Path | None, out: Path, split: str,
                   fs: float, duration_s: float, limit: int | None) -> None:
    """Write NAME's windows, labels, record ids and masks to an .npz file.

    Arrays: ``signals`` (N, 1, T) float32, ``labels`` (N,), ``record_ids`` (N,), ``fs``,
    ``mask_<name>`` (N, 1, T) bool per mask, ``annotated`` when the dataset has one, and
    ``skipped_records`` / ``skipped_reasons``.
    """
    config: dict[str, Any] = {} if limit is None else {"limit": limit}
    dataset = _dataset(ctx, name, path, **config)
    try:
        windows = dataset.load(split, fs=fs, duration_s=duration_s)
    except DatasetError as exc:
        raise UserError(str(exc)) from exc
    arrays: dict[str, np.ndarray] = {
        "signals": windows.signals,
        "labels": windows.labels,
        "record_ids": np.asarray(windows.record_ids, dtype=str),
        "fs": np.asarray(windows.fs),
        "skipped_records": np.asarray(list(windows.skipped), dtype=str),
        "skipped_reasons": np.asarray(list(windows.skipped.values()), dtype=str),
    }
    arrays.update({f"mask_{k}": v for k, v in windows.masks.items()})
    if windows.annotated is not None:
        arrays["annotated"] = windows.annotated
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, allow_pickle=True, **arrays)  # numpy's default, named for mypy
    click.echo(f"wrote {len(windows)} windows of {name} ({split}) to {out}; "
               f"{len(windows.skipped)} records skipped")


@data.command("download")
@click.argument("name")
@click.option("--path", type=click.Path(path_type=Path),
              help="Target directory; default $XECGBENCH_DATA/NAME, else ./data/NAME.")
@click.pass_context
def download_command(ctx: click.Context, name: str, path: Path | None) -> None:
    """Fetch NAME from PhysioNet (needs internet) into the layout the loader reads."""
    dataset = _dataset(ctx, name, path)
    _needs(dataset, "download", name)
    click.echo(f"downloading {name} from PhysioNet to {dataset.path} ...")
    try:
        dataset.download(dataset.path)
    except OSError as exc:
        raise UserError(f"download of {name} failed: {exc}") from exc
    click.echo(f"done; check it with `xecgbench data check {name} --path {dataset.path}`")
