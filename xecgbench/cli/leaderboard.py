"""``xecgbench leaderboard …``: build tables and reports, export and rebuild committed results.

Every subcommand (build, export, rebuild, validate, verify, submit, site, checksum, schema)
raises its errors (a damaged board, an unsafe path) as they come; they are XecgbenchErrors,
and the group shows each as one ``error:`` line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from xecgbench.cli.context import UserErrorGroup, data_dir_option, plugin_system
from xecgbench.errors import UserError
from xecgbench.plugins.manager import PluginSystem

DEFAULT_ROOT = Path("leaderboards")
FORMATS = ("md", "csv", "latex", "html")


def _system() -> PluginSystem:
    """The plugins, unchecked: reading a board needs no plugin, a broken one must not stop it."""
    return plugin_system(check=False)


def _results(store: Path | None, results_dir: Path | None, run_id: str | None) -> Any:
    from xecgbench.report.results_files import load_store, validate_directory

    if (store is None) == (results_dir is None):
        raise click.UsageError("give exactly one of --store or --results")
    if store is not None:
        return load_store(store, _system(), run_id)
    assert results_dir is not None
    return validate_directory(results_dir)


def _examples(store: Path | None, results_dir: Path | None, run_id: str, n: int) -> Any:
    from xecgbench.report.examples import collect_examples
    from xecgbench.report.results_files import read_examples

    if n <= 0:
        return None
    if results_dir is not None:
        return read_examples(results_dir)
    assert store is not None
    return collect_examples(store, _system(), run_id, n)


class _Steps:
    """Prints ``[elapsed] step`` lines on stderr: a long report build is never silent."""

    def __init__(self, enabled: bool = True) -> None:
        self.started = time.perf_counter()
        self.enabled = enabled

    def __call__(self, message: str) -> None:
        if self.enabled:
            click.echo(f"[{time.perf_counter() - self.started:5.1f} s] {message}", err=True)

    def done(self) -> None:
        self(f"done in {time.perf_counter() - self.started:.1f} s")


@click.group("leaderboard", cls=UserErrorGroup)
def leaderboard() -> None:
    """Leaderboard tables and reports from a results store or committed raw results."""


_store_option = click.option(
    "--store", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
    help="A results.sqlite file written by `xecgbench run`.",
)
_results_option = click.option(
    "--results", "results_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None, help="A raw-results directory (run.json + scores.parquet) instead of a store.",
)
_run_option = click.option("--run", "run_id", default=None,
                           help="Run id in the store (default: the latest).")


@leaderboard.command("build")
@_store_option
@_results_option
@_run_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file (default: standard output).")
@click.option("--examples", "n_examples", type=int, default=2, show_default=True,
              help="HTML only: records per heatmap (0: no heatmaps).")
def build_command(store: Path | None, results_dir: Path | None, run_id: str | None, fmt: str,
                  out: Path | None, n_examples: int) -> None:
    """Build a run's leaderboard tables as Markdown, tidy CSV, LaTeX or an HTML report.

    Progress (each step and its time) goes to standard error, so stdout stays the table.
    """
    from xecgbench.report.rendering.text_formats import to_csv, to_latex, to_markdown
    from xecgbench.report.tables import build_leaderboard

    if out is not None:
        _write_out(out, None)
    step = _Steps(enabled=fmt == "html" or out is not None)  # stdout alone: the table alone
    step("reading results")
    results = _results(store, results_dir, run_id)
    step(f"building tables ({len(results.scores)} scores)")
    board = build_leaderboard(results)
    if fmt == "html":
        from xecgbench.report.rendering.html import render_report

        step("collecting heatmap examples")
        examples = _examples(store, results_dir, results.run.run_id, n_examples)
        text = render_report(board, results, examples, progress=step)
    else:
        text = {"md": to_markdown, "csv": to_csv, "latex": to_latex}[fmt](board)
    step.done()
    if out is None:
        click.echo(text, nl=False)
        return
    _write_out(out, text)
    click.echo(f"wrote {out}")


def _write_out(out: Path, text: str | None) -> None:
    """``--out`` through the safe writer; None only checks the target (before a long build)."""
    from xecgbench.report.board_format.confined_write import (
        checked_target,
        write_inside,
    )

    try:
        if text is None:
            checked_target(out.parent, out.name)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        write_inside(out.parent, out.name, text)
    except OSError as exc:
        raise UserError(f"{out}: cannot write: {exc.strerror}") from None


@leaderboard.command("export")
@_store_option
@_run_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the raw results, e.g. leaderboards/synthetic-quick.")
@click.option("--examples", "n_examples", type=int, default=2, show_default=True,
              help="Records kept for the report's heatmaps (0: none).")
def export_command(store: Path | None, run_id: str | None, out: Path, n_examples: int) -> None:
    """Export a run's raw results (and its generated tables) for committing."""
    from xecgbench.report.results_files import export_results

    if store is None:
        raise click.UsageError("--store is required")
    from xecgbench.report.published import publish_run

    export_results(store, _system(), out, run_id, n_examples)
    publish_run(store, _system(), out)
    click.echo(f"exported to {out} (with its models and explained windows)")


@leaderboard.command("submit")
@click.option("--board", type=click.Path(file_okay=False, exists=True, path_type=Path),
              required=True, help="A board directory that publishes its models and windows.")
@click.option("--attribution", default=None, help="Installed attribution method to score.")
@click.option("--metric", default=None,
              help="Installed explanation metric to score (on the board's attributions, or on "
                   "--attribution's).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Submission directory (default: BOARD/submissions/<attribution or metric>).")
@click.option("--publishable", is_flag=True,
              help="Refuse a plugin whose code exists only here (editable install, local path).")
def submit_command(board: Path, attribution: str | None, metric: str | None,
                   out: Path | None, publishable: bool) -> None:
    """Score an installed attribution method (or metric) on a board's published models.

    Uses the board's windows, explain settings and metrics; needs neither retraining nor the
    raw datasets. Writes run.json (naming each plugin's distribution, version, source and
    archive hash) and the raw scores; check it with `xecgbench leaderboard verify OUT`.
    """
    from xecgbench.report.board_format.submission_record import SUBMISSIONS_DIR
    from xecgbench.report.submission.submit import submit

    out = out or board / SUBMISSIONS_DIR / str(attribution or metric)
    started = time.perf_counter()
    submit(board, _system(), out, attribution=attribution, metric=metric,
           publishable=publishable, notify=lambda line: click.echo(line, err=True))
    click.echo(f"wrote submission {out} in {time.perf_counter() - started:.1f} s")


@leaderboard.command("rebuild")
@click.argument("root", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_ROOT)
@click.option("--check", is_flag=True, help="Only report stale tables (exit 1 if any).")
def rebuild_command(root: Path, check: bool) -> None:
    """Regenerate every committed table under ROOT from its raw results only (no store).

    ROOT is a folder of boards, or one board; a ROOT holding no board is an error (exit 2).
    """
    from xecgbench.report.results_files import (
        committed_directories,
        stale_tables,
        validate_directory,
        write_tables,
    )

    stale: list[Any] = []
    directories = committed_directories(root)
    for directory in directories:
        if check:
            stale += stale_tables(directory)
        else:
            for path in write_tables(validate_directory(directory), directory, root):
                click.echo(f"wrote {path}")
    if check:
        for path in stale:
            click.echo(f"stale: {path}", err=True)
        click.echo(f"{len(directories)} leaderboards, {len(stale)} stale tables")
        if stale:
            sys.exit(1)


@leaderboard.command("site")
@click.option("--boards", "root", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=DEFAULT_ROOT, show_default=True, help="Folder of committed boards.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("leaderboard-site"), show_default=True,
              help="Folder for the pages (this repository's own: docs/leaderboards).")
@click.option("--match", default="*", show_default=True,
              help="Only boards whose folder name matches this glob, e.g. 'synthetic-*'.")
def site_command(root: Path, out: Path, match: str) -> None:
    """One mkdocs page per board: built-in methods and accepted submissions ranked together."""
    from xecgbench.report.pages.site import write_site

    written = write_site(root, out, match)
    for path in written:
        click.echo(f"wrote {path}")


@leaderboard.command("checksum")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
def checksum_command(directory: Path) -> None:
    """Write DIRECTORY's checksums.json for the raw files it holds now (a board exported before
    checksums, or raw files you have checked by hand); export writes it itself."""
    from xecgbench.report.results_files import write_checksums

    click.echo(f"wrote {write_checksums(directory)}")


@leaderboard.command("validate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def validate_command(path: Path) -> None:
    """Validate a submitted results directory (or its run.json) against the schema.

    Reads through the guarded loader (limits in leaderboards/README.md): nothing in a
    submission is executed, nothing outside it is read.
    """
    from xecgbench.report.results_files import (
        read_examples,
        validate_directory,
    )
    from xecgbench.report.tables import build_leaderboard

    directory = path.parent if path.is_file() else path
    results = validate_directory(directory)
    read_examples(directory)
    board = build_leaderboard(results)
    click.echo(
        f"{directory}: valid ({len(results.scores)} scores, run {results.run.run_id}, "
        f"{len(board.tables)} tables)"
    )


@leaderboard.command("verify")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--cells", "n_cells", type=int, default=1, show_default=True,
              help="How many randomly drawn cells (seed x pretraining x freezing) to rerun.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the draw.")
@click.option("--atol", type=float, default=None,
              help="Tolerance: |committed - rerun| <= ATOL x max(1, |committed|, |rerun|), "
                   "finite and >= 0 (default: 0, i.e. identical at the committed %.9g, when "
                   "the CPU fingerprint, Python, packages and plugins match the run; else 64 "
                   "float32 ulps, 7.6e-06).")
@data_dir_option
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the rerun's results here (default: a temporary directory).")
@click.option("--board", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, help="Submissions only: the board it joins (default: the "
                                 "directory above its submissions/ folder).")
@click.option("--stage-time-limit", "stage_time_limit", type=float, default=None,
              help="Seconds one stage may run before the verify stops (default 3600; a "
                   "board's own limit applies when lower).")
def verify_command(directory: Path, n_cells: int, seed: int, atol: float | None,
                   workers: int, keep: Path | None, board: Path | None,
                   stage_time_limit: float | None) -> None:
    """Rerun N drawn cells of a committed leaderboard (or submission) from its run.json.

    A board's cells are retrained and re-scored; a submission is re-scored on N drawn models
    its board publishes. Exits 1 when any score differs, listing the differing rows.
    """
    from xecgbench.report.results_files import read_record
    from xecgbench.report.submission.verify_board import verify_leaderboard
    from xecgbench.report.submission.verify_submission import verify_submission

    if read_record(directory).submission is not None:
        report = verify_submission(directory, _system(), n_cells=n_cells, seed=seed,
                                   atol=atol, board=board, stage_time_limit_s=stage_time_limit)
    else:
        report = verify_leaderboard(directory, _system(), n_cells=n_cells, seed=seed,
                                    atol=atol, work_dir=keep, workers=workers,
                                    stage_time_limit_s=stage_time_limit)
    if report.same_environment:
        click.echo("environment matches the committed run (CPU fingerprint, Python, packages, "
                   "plugins)")
    for key, (then, now) in report.environment_diff.items():
        click.echo(f"environment differs: {key}: committed {then}, here {now}")
    click.echo(f"comparing within tolerance {report.atol:.2g} x max(1, |score|)" if report.atol
               else "comparing exactly: scores must be identical at the committed %.9g")
    for check in report.cells:
        status = "ok" if check.ok else f"{len(check.differing)} differing rows"
        click.echo(f"{check.label}: {check.n_rows} committed rows, {status}")
        for row in check.differing[:20]:
            where = " ".join(f"{k}={row[k]}" for k in ("branch", "attribution", "metric",
                                                       "region", "sample") if row[k] != "")
            click.echo(f"  {where}: committed {row['committed']!r}, rerun {row['rerun']!r}",
                       err=True)
        if len(check.differing) > 20:
            click.echo(f"  ... and {len(check.differing) - 20} more", err=True)
    n_bad = sum(not c.ok for c in report.cells)
    click.echo(f"{len(report.cells)} cells verified, {n_bad} differ")
    if n_bad:
        sys.exit(1)


@leaderboard.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of run.json (leaderboards/schema.json is this output)."""
    from xecgbench.report.results_files import schema

    click.echo(json.dumps(schema(), indent=2, sort_keys=True))
