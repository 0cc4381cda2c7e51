"""The bot as a real process (`licensebot serve`) on loopback, talking to a FakeSlack, driven over signed HTTP."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.support import slack_signing as slack
from tests.support.cli_runner import clean_env
from tests.support.fake_slack import FakeSlack

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0TEAM"
GLOBAL_ADMIN = "UADMIN01"


def licensebot_executable() -> str:
    found = shutil.which("licensebot") or str(Path(sys.executable).parent / "licensebot")
    if not Path(found).exists():
        raise RuntimeError("the licensebot console script is not installed (pip install -e '.[test]')")
    return found


class BotProcess:
    """Starts `licensebot serve --port 0`, reads the bound port from its first line, stops with SIGTERM."""

    def __init__(self, fake: FakeSlack, database_url: str, env: dict[str, str] | None = None,
                 *, wait_for_directory: bool = True) -> None:
        self.fake = fake
        self.database_url = database_url
        self.extra_env = env or {}
        # start() returns once the directory's background load is done too (requests before it hear
        # "still loading"); off for tests of that very wait
        self.wait_for_directory = wait_for_directory
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []
        self._reader: threading.Thread | None = None

    def env(self) -> dict[str, str]:
        env = clean_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=self.fake.url,
            DATABASE_URL=self.database_url,
            LICENSEBOT_GLOBAL_ADMINS=GLOBAL_ADMIN,
            LICENSEBOT_SYNC_INTERVAL_MINUTES="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30.0) -> BotProcess:
        self.proc = subprocess.Popen(
            [licensebot_executable(), "serve", "--host", "127.0.0.1", "--port", "0"],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line.rstrip("\n"))
                if m := re.search(r"listening on (http://\S+?)/slack/events", line):
                    self.url = m.group(1)
                    ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not ready.is_set():
            if self.proc.poll() is not None:
                raise RuntimeError("the bot exited at start:\n" + "\n".join(self.output))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the bot did not start in time:\n" + "\n".join(self.output))
            ready.wait(0.05)
        while self.wait_for_directory and not self._directory_loaded():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the bot did not load the directory in time:\n" + "\n".join(self.output))
            time.sleep(0.02)
        return self

    def _directory_loaded(self) -> bool:
        lines = list(self.output)
        return all(any(f"directory loaded: {kind}" in line for line in lines) for kind in ("groups", "users"))

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("the bot did not stop on SIGTERM:\n" + "\n".join(self.output)) from None
        finally:
            if self._reader is not None:
                self._reader.join(2)

    def kill(self) -> None:
        """kill -9: no shutdown, nothing finished or flushed, as a crash."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        if self._reader is not None:
            self._reader.join(2)

    def __enter__(self) -> BotProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ requests into the bot
    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def post(self, body: bytes, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
        return slack.post(self.events_url, body, SIGNING_SECRET, **kwargs)

    def command(self, text: str, user_id: str = GLOBAL_ADMIN, **kwargs: Any) -> tuple[int, Any]:
        """Runs `/licenses TEXT`; returns the status and the ack's body (JSON if it is JSON)."""
        kwargs.setdefault("response_url", self.fake.response_url(f"cmd-{time.monotonic_ns()}"))
        trigger = kwargs.pop("trigger_id", f"trig-{time.monotonic_ns()}")
        body = slack.slash_command_body(text=text, user_id=user_id, trigger_id=trigger, **kwargs)
        status, _, raw = self.post(body)
        return status, _parse(raw)

    def interact(self, payload: dict[str, Any]) -> tuple[int, Any]:
        status, _, raw = self.post(slack.interactivity_body(payload))
        return status, _parse(raw)

    def event(self, event: dict[str, Any], event_id: str, **kwargs: Any) -> tuple[int, Any]:
        status, _, raw = self.post(slack.event_body(event, event_id=event_id, **kwargs))
        return status, _parse(raw)

    def healthz(self) -> int:
        import urllib.request

        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
