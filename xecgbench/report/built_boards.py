"""A committed board's tables, built once per process and content.

A board's tables are a pure function of its raw files (metric directions are frozen into
``run.json``), and every raw file is read against the SHA-256s of its ``checksums.json``, so
those digests name a build. The rebuild check, the results page and the test suite each build
every committed board, and a ``paper`` board takes about a minute to build; they share one
build per content instead.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping

from xecgbench.report.board import Leaderboard, RunResults
from xecgbench.report.tables import build_leaderboard

#: Boards kept: the test suite builds dozens of small temporary boards between two reads of
#: a committed paper board, whose tables (tens of MB) must survive them.
KEPT = 64
_BUILT: OrderedDict[str, Leaderboard] = OrderedDict()


def built_tables(results: RunResults, manifest: Mapping[str, str] | None) -> Leaderboard:
    """``build_leaderboard(results)``, reused for results read from the same raw files.

    ``manifest`` is the checksums the raw files of ``results`` were verified against; None
    (the files changed while they were read) always builds afresh.
    """
    if manifest is None:
        return build_leaderboard(results)
    key = json.dumps(dict(manifest), sort_keys=True)
    board = _BUILT.get(key)
    if board is None:
        board = _BUILT[key] = build_leaderboard(results)
        while len(_BUILT) > KEPT:
            _BUILT.popitem(last=False)
    _BUILT.move_to_end(key)
    return board
