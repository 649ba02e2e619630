"""``xecgbench explain``: one record's relevance over its ECG, from a finished run's model."""

from __future__ import annotations

from pathlib import Path

import click

from xecgbench.cli.context import data_dir_option, plugin_system


@click.command("explain")
@click.option("--dataset", required=True, help="Dataset name, e.g. synthetic or cinc2017.")
@click.option(
    "--record", required=True, help="Record or window id, e.g. A00004 or synthetic-test-000003."
)
@click.option("--method", required=True, help="Attribution method, e.g. dtd.")
@click.option(
    "--branch",
    type=click.Choice(["morphology", "rhythm", "ensemble"]),
    default="morphology",
    show_default=True,
)
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("xecgbench-results"),
    show_default=True,
    help="Output directory of a finished `xecgbench run` (its fine-tuned models are used).",
)
@click.option(
    "--pretraining", default=None, help="Which cell's model (default: the suite's first)."
)
@click.option("--freezing", default=None, help="Which cell's model (default: the suite's first).")
@click.option("--seed", type=int, default=None, help="Which seed's model (default: the first).")
@data_dir_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("explanation.png"),
    show_default=True,
)
@click.pass_context
def explain_command(
    ctx: click.Context,
    dataset: str,
    record: str,
    method: str,
    branch: str,
    results_dir: Path,
    pretraining: str | None,
    freezing: str | None,
    seed: int | None,
    out: Path,
) -> None:
    """Plot the relevance of one record over its ECG, with P/QRS/T shading."""
    from xecgbench.report.rendering.figures import save_relevance_figure
    from xecgbench.run.explain import explain_record

    system = plugin_system(ctx)
    system.registry["attributions"].registration(method)
    result = explain_record(
        results_dir,
        system,
        dataset=dataset,
        record=record,
        method=method,
        branch=branch,
        pretraining=pretraining,
        freezing=freezing,
        seed=seed,
    )
    save_relevance_figure(
        out, result.signal, result.relevance, result.masks, result.fs, result.title
    )
    click.echo(f"wrote {out}")
