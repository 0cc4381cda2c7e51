"""The life cycle's runner (bot/lifecycle.py): every step once per run, a failing step logged without
starving the others; and `licensebot lifecycle run` through the console script."""

from __future__ import annotations

import json

from bot.service import LicensingService
from tests.cli.test_cli import licensebot


def test_a_failing_step_does_not_stop_the_next(service: LicensingService) -> None:
    calls: list[str] = []

    def broken() -> int:
        calls.append("broken")
        raise RuntimeError("database away")

    def fine() -> int:
        calls.append("fine")
        return 3

    concerns = [name for name, _ in service.lifecycle.steps]  # the real steps: nothing due in an empty database
    service.lifecycle.add_step("broken", broken)
    service.lifecycle.add_step("fine", fine)
    run = service.lifecycle.run()
    assert calls == ["broken", "fine"]
    assert run.done == {**dict.fromkeys(concerns, 0), "fine": 3}
    assert run.failed == {"broken": "RuntimeError"}
    assert run.total == 3


def test_cli_runs_the_steps_and_reports_them(sqlite_url: str) -> None:
    done = licensebot("lifecycle", "run", "--json", database_url=sqlite_url)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["failed"] == {}
    assert set(report["done"]) == {name for name, _ in _steps(sqlite_url)}
    plain = licensebot("lifecycle", "run", database_url=sqlite_url)
    assert plain.returncode == 0 and plain.stderr == ""


def _steps(url: str) -> list[tuple[str, object]]:
    from bot.config import Settings
    from bot.runtime import build_runtime

    runtime = build_runtime(Settings(DATABASE_URL=url), pooled=False)
    try:
        return list(runtime.service.lifecycle.steps)
    finally:
        runtime.close()
