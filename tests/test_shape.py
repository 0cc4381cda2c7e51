"""The shape ARCHITECTURE.md promises, checked on every run: the dependency rule, no Slack or markup in the
core, and no source file over 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py") if "migrations/versions" not in str(p))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def imports_of(folder: str) -> dict[str, set[str]]:
    return {str(p.relative_to(ROOT)): imported_modules(p) for p in python_files(folder)}


def offenders(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    return {path: sorted(m for m in modules if m.startswith(forbidden))
            for path, modules in imports_of(folder).items() if any(m.startswith(forbidden) for m in modules)}


def test_storage_imports_nothing_of_ours() -> None:
    assert offenders("storage", ("bot", "handlers")) == {}


def test_the_core_imports_no_door_and_no_slack() -> None:
    assert offenders("bot", ("handlers", "slack_sdk", "slack_bolt")) == {}


def test_the_doors_never_touch_storage() -> None:
    assert offenders("handlers", ("storage",)) == {}


def test_the_cli_door_does_not_import_the_slack_or_http_doors() -> None:
    assert offenders("handlers/cli", ("handlers.slack", "handlers.http", "slack_sdk", "slack_bolt")) == {}


def test_the_core_builds_no_slack_markup() -> None:
    marked = [str(p.relative_to(ROOT)) for p in python_files("bot")
              if "<@" in p.read_text(encoding="utf-8") or "<!subteam" in p.read_text(encoding="utf-8")]
    assert marked == []


@pytest.mark.parametrize("folder", ["bot", "handlers", "storage", "tests", "bench"])
def test_no_source_file_is_over_400_lines(folder: str) -> None:
    long = {str(p.relative_to(ROOT)): n for p in python_files(folder)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
