"""A hostile suite is one line and exit 2, in bounded time and memory, before any stage runs:
alias bombs, deep nesting, duplicated keys, non-UTF-8 text, files that never end, absurd grids."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xecgbench.cli import main

REPO = Path(__file__).resolve().parents[2]
#: Bounds of a refused suite: it must fail fast and small (the alias bomb took 31 s and 3.2 GB).
SECONDS, MEMORY = 60, 2 << 30

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}]\n" for i in range(9))


def _suite(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "hostile.yaml"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return str(path)


def _sized(tmp_path: Path, size: int) -> str:
    """A suite file of ``size`` bytes that costs nothing on disk."""
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(size)
    return str(path)


def _fifo(tmp_path: Path) -> str:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return str(path)


def _directory(tmp_path: Path) -> str:
    path = tmp_path / "folder.yaml"
    path.mkdir()
    return str(path)


#: Runs the CLI and prints its peak RSS (KiB) as its last stderr line: VmHWM, this process's
#: own high-water mark (``ru_maxrss`` would carry the forking pytest's peak across ``exec``).
CHILD = ("import re, runpy, sys\n"
         "sys.argv = ['xecgbench', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('xecgbench.cli', run_name='__main__')\n"
         "finally:\n"
         "    status = open('/proc/self/status').read()\n"
         "    print('peak-rss', re.search(r'VmHWM:\\s*(\\d+)', status).group(1), "
         "file=sys.stderr)\n")


CASES = {
    "alias bomb": (lambda t: [_suite(t, "name: bomb\n" + BOMB)], "expands to more than"),
    "alias bomb in --set": (lambda t: ["smoke", "--set", "training={" + BOMB.replace(
        "\n", ", ").rstrip(", ").replace(": &", ": &") + "}"], "--set"),
    "20,000-deep list": (lambda t: [_suite(t, "name: deep\nseeds: " + "[" * 20_000
                                           + "]" * 20_000 + "\n")], "nested"),
    "duplicated key": (lambda t: [_suite(t, "name: twice\ntraining: {epochs: 2}\n"
                                         "training: {epochs: 0}\n")],
                       "hostile.yaml:3: key 'training' is given twice"),
    "latin-1 file": (lambda t: [_suite(t, "name: caf\xe9\n".encode("latin-1"))], "not UTF-8"),
    "fifo": (lambda t: [_fifo(t)], "is not a regular file"),
    "directory": (lambda t: [_directory(t)], "is not a regular file"),
    "duplicate seeds": (lambda t: ["smoke", "--set", "seeds=[0, 0]"], "seed 0 is listed twice"),
    "no branches": (lambda t: ["smoke", "--set", "explain.branches=[]"],
                    "explain at least one branch"),
    "zero workers": (lambda t: ["smoke", "--workers", "0"], "--workers"),
    "negative workers": (lambda t: ["smoke", "--workers", "-3"], "--workers"),
    # issue 32 items 6-7: every field refused in one line naming it, before any stage
    **{f"--set {setting}": (lambda t, s=setting: ["smoke", "--set", s], field)
       for setting, field in (
           ("seeds=[1e30]", "seeds.0"), ("seeds=[0, true]", "seeds.1"),
           ('seeds=["0"]', "seeds.0"), ("seeds=[-1]", "seeds.0"), ("seeds=[]", "seeds"),
           ("seeds=[4294967296]", "seeds.0"), ("data.fs=.inf", "data.fs"),
           ("data.fs=0", "data.fs"), ("training.lr=.nan", "training.lr"),
           ("training.epochs=-1", "training.epochs"),
           ("training.batch_size=0", "training.batch_size"),
           ("explain.n_samples=0", "explain.n_samples"), ("metrics=[]", "metrics"),
           ("attributions=[]", "attributions"),
           ("stage_time_limit_s=.nan", "stage_time_limit_s"),
           ("stage_time_limit_s=-5", "stage_time_limit_s"),
           ("stage_time_limit_s=1e300", "stage_time_limit_s"),
           ("nope=1", "unknown field"), ("attributions=[nope]", "unknown attributions"))},
    "/dev/zero": (lambda t: ["/dev/zero"], "is not a regular file"),
    "a directory without .yaml": (lambda t: [str(t)], "is not a regular file"),
    "100 MB suite file": (lambda t: [_sized(t, 100 << 20)], "the limit is"),
    "empty suite file": (lambda t: [_suite(t, "")], "a suite must be a mapping"),
    "suite a list": (lambda t: [_suite(t, "- a\n- b\n")], "a suite must be a mapping"),
    "suite a number": (lambda t: [_suite(t, "12\n")], "a suite must be a mapping"),
    "tab-indented yaml": (lambda t: [_suite(t, "name: x\n\tseeds: [0]\n")], "hostile.yaml"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_suite_is_one_line_and_exit_2(case: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    make, expected = CASES[case]
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main(["run", *make(tmp_path), "--out", str(out), "--quiet"])
    stderr = capsys.readouterr().err
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert exit_.value.code == 2, stderr[-2000:]
    assert len(lines) <= 3 and "Traceback" not in stderr, lines
    assert expected in stderr, stderr
    assert not (out / "results.sqlite").exists()  # refused before any stage


def test_an_alias_bomb_is_refused_in_bounded_time_and_memory(tmp_path: Path) -> None:
    """Measured in a child of its own: before, 31 s and 3.2 GB, then a MemoryError."""
    env = {**os.environ, "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run([sys.executable, "-c", CHILD, "run", _suite(tmp_path, BOMB),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True,
                            env=env, timeout=SECONDS, cwd=tmp_path)
    *lines, peak = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "expands to more than" in lines[0]
    assert int(peak.split()[-1]) * 1024 < MEMORY, peak


def test_the_bounded_loader_reads_every_builtin_suite_as_yaml_does() -> None:
    import yaml

    from xecgbench.run.config import builtin_suites
    from xecgbench.run.suite_yaml import read_suite_text, safe_load_bounded

    for name, path in builtin_suites().items():
        text = read_suite_text(path)
        assert safe_load_bounded(text, name) == yaml.safe_load(text), name
