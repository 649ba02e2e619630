"""The ``submission`` part of a submission's ``run.json``: which board it joins and what it adds.

A submission is a board-format directory (``run.json`` + raw scores) under
``leaderboards/<board>/submissions/<name>/``, scored on the board's published models and
windows; its ``run.json`` carries this record, and its provenance names the distribution,
version, source and archive hash of every plugin it used (``plugin_distributions``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SUBMISSIONS_DIR = "submissions"


class SubmissionRecord(BaseModel):
    """The board a submission joins and the components it scored there."""

    model_config = ConfigDict(extra="forbid")
    board: str = Field(description="name of the board directory it joins (leaderboards/<board>)")
    board_run_id: str = Field(description="run id of the board's run.json")
    board_config_hash: str = Field(description="config hash of the board's run")
    under_test: dict[str, str] = Field(
        description="registry kind -> component name being submitted, e.g. "
                    "{'attributions': 'gradient_x_sign'}")
    attributions: list[str] = Field(description="attribution labels scored (config order)")
    metrics: list[str] = Field(description="explanation metric labels scored (config order)")
    local: dict[str, str] = Field(
        default_factory=dict,
        description="plugin -> why its code exists only where the submission was made (an "
                    "editable install, a local path, no distribution); empty when every "
                    "submitted plugin can be installed elsewhere")
