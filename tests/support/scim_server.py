"""The real `scim2-server` from PyPI on loopback, as a vendor's SCIM 2.0 endpoint: started, stopped (the
vendor down) and started again on the same port, read with scim2-client as a vendor's admin would."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import ListResponse, ScimProvider, SearchRequest, User

TOKEN = "scim-test-token-5f2c9d0e7a41"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scim2_server_executable() -> str:
    found = shutil.which("scim2-server") or str(Path(sys.executable).parent / "scim2-server")
    if not Path(found).exists():
        raise RuntimeError("scim2-server is not installed (pip install -e '.[test]')")
    return found


class ScimServer:
    def __init__(self, token: str = TOKEN, port: int | None = None) -> None:
        self.token = token
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: list[bytes] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    def start(self, timeout: float = 20.0) -> ScimServer:
        self.proc = subprocess.Popen(
            [scim2_server_executable(), "--port", str(self.port), "--bearer-token", self.token],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"scim2-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("scim2-server did not start in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> ScimServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ reading it, as the vendor's admin
    def client(self) -> SyncSCIMClient:
        http = httpx2.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        return SyncSCIMClient(http, provider=ScimProvider(models=[User]))

    def users(self) -> dict[str, Any]:
        """Every user, by userName."""
        client = self.client()
        found: dict[str, Any] = {}
        start = 1
        while True:
            page = client.query(User, query_parameters=SearchRequest(start_index=start, count=500))
            assert isinstance(page, ListResponse)
            for user in page.resources or []:
                found[str(user.user_name)] = user
            start += len(page.resources or [])
            if not page.resources or start > (page.total_results or 0):
                client.client.close()
                return found

    def active(self) -> dict[str, str | None]:
        """userName -> externalId of every active user."""
        return {name: u.external_id for name, u in self.users().items() if u.active}
