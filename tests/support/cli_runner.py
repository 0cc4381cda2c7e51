"""The `licensebot` command line run as its own process, without paying its start-up each time.

The console script spends about 1.5 s importing SQLAlchemy, pydantic and the core before it reads its first
argument; the suite runs it some two hundred times. Here a fork server (multiprocessing's "forkserver")
imports `handlers.main` once, and each run is a fresh child forked from it: its own process, environment,
working directory, standard output and error and exit code, as the console script would have, with nothing
of the test process in it. tests/cli/test_cli.py keeps running the installed script itself, in a
subprocess, so the entry point stays covered.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

# what every command needs; the commands' lazily imported modules (Slack's, the HTTP door's) stay lazy
PRELOAD = ["handlers.main", "handlers.cli.bulk", "handlers.cli.usage"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any Licensebot, Slack or database setting, then `settings`: a
    command or `serve` sees only what its test gives it."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("LICENSEBOT_", "SLACK_", "DATABASE_URL"))}
    return {**kept, **settings}


def run_cli(argv: Sequence[str], env: dict[str, str], cwd: Path | str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`licensebot ARGV` in a child process with exactly `env` and `cwd`; what subprocess.run would return."""
    with tempfile.TemporaryDirectory(prefix="licensebot-cli-") as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        child = _context.Process(target=_main, args=(list(argv), env, str(cwd) if cwd else None, str(out), str(err)))
        child.start()
        child.join(timeout)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(["licensebot", *argv], timeout)
        return subprocess.CompletedProcess(["licensebot", *argv], child.exitcode,
                                           out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"))


def _main(argv: list[str], env: dict[str, str], cwd: str | None, out: str, err: str) -> None:
    """In the child: the console script's own `main`, its output on files, its return value the exit code."""
    os.environ.clear()
    os.environ.update(env)
    if cwd:
        os.chdir(cwd)
    sys.argv = ["licensebot", *argv]
    with open(out, "w", encoding="utf-8") as stdout, open(err, "w", encoding="utf-8") as stderr:
        os.dup2(stdout.fileno(), 1)
        os.dup2(stderr.fileno(), 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        from handlers.main import main

        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's errors and --help, as the console script would exit
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            if isinstance(exit_.code, str):
                sys.stderr.write(exit_.code + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code or 0)
