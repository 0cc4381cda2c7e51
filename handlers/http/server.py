"""`licensebot serve`: the bolt app behind waitress (HTTP), or over Socket Mode with SLACK_APP_TOKEN.

Why waitress: a production WSGI server in pure Python with a thread pool, which suits bolt's synchronous
listeners; it embeds in this one process, so `serve` migrates the schema, checks the token, starts the
schedulers and then serves, and SIGTERM shuts all of it down in order. Scale out by running more
`serve` processes against one PostgreSQL database.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

from bot.config import SlackSettings, load
from bot.runtime import build_runtime
from handlers import heap
from handlers.cli.main import CliError
from handlers.http.limits import LIMITS, REQUEST_DEADLINE, close_slow_requests
from handlers.http.logs import configure_logging
from handlers.http.metrics import Metrics, observe
from handlers.http.usage_rights import API_PATH, usage_rights_app
from handlers.http.wsgi import make_wsgi_app
from handlers.slack.app import create_app
from handlers.slack.client import checked_client, interactive_client, outbox_client
from handlers.slack.deps import Deps
from handlers.slack.directory import SlackDirectory
from handlers.slack.locales import LOOKUP_TIMEOUT, SlackLocales

log = logging.getLogger("licensebot")


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    settings = load(SlackSettings)
    heap.tune()  # the collector's pauses timed, and kept off the long-lived heap (handlers/heap.py)
    deps, engine = build_deps(settings)  # a bad token or URL stops here with one line, before logging is on
    configure_logging(settings.licensebot_log_format)
    app = create_app(deps)
    server = None
    if not settings.socket_mode:  # bound before anything starts: a busy port is one line, and nothing ran
        metrics = Metrics(deps.service, deps.deliverer.results if deps.deliverer else None)
        routes = {API_PATH: usage_rights_app(deps.service)}  # the usage-rights API (SPEC §8)
        wsgi = observe(make_wsgi_app(app, deps.service.database_ok, routes, settings.slack_signing_secret), metrics)
        server = _bind(wsgi, args.host, settings.port if args.port is None else args.port)
    stop = threading.Event()
    for hook in deps.on_start:
        hook(stop)
    heap.settle()  # modules, mappers, compiled statements: alive for good (the directory settles after loads)
    try:
        if server is None:
            _serve_socket_mode(app, settings, stop)
        else:
            _serve_http(server, stop, out)
    finally:
        stop.set()
        for stopping in deps.on_stop:
            stopping()
        deps.later.shutdown(wait=True)
        deps.events.shutdown(wait=True)
        engine.dispose()
        log.info("stopped")
    return 0


def build_deps(settings: SlackSettings) -> tuple[Deps, Any]:
    client, auth = checked_client(settings.slack_bot_token, settings.slack_api_url)
    directory = SlackDirectory(client, users_ttl=settings.licensebot_users_refresh_hours * 3600.0,
                               sync_interval=settings.licensebot_sync_interval_minutes * 60.0)
    runtime = build_runtime(settings, directory, long_lived=True)
    runtime.service.provisioning.connect(_scim_vendor)  # seats made real at each vendor's SCIM endpoint
    deps = Deps(
        service=runtime.service,
        directory=directory,
        settings=settings,
        client=client,
        team_id=str(auth["team_id"]),
        bot_user_id=str(auth.get("user_id") or ""),
        locale_of=SlackLocales(outbox_client(settings.slack_bot_token, settings.slack_api_url,
                                             timeout=LOOKUP_TIMEOUT)),
        interactive_client=interactive_client(settings.slack_bot_token, settings.slack_api_url),
    )
    return deps, runtime.engine


def _scim_vendor(scim_url: str, token: str) -> Any:
    """The SCIM client, imported when an app with provisioning first needs it: scim2-client, scim2-models and
    httpx2 are about 10 MiB of a process that may never provision (issue 16: peak RSS)."""
    from handlers.scim.vendor import scim_vendor

    return scim_vendor(scim_url, token)


def _on_signals(handler: Callable[[int, FrameType | None], None]) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def _bind(wsgi: Any, host: str, port: int) -> Any:
    from waitress.server import create_server

    try:
        server = create_server(
            wsgi,
            host=host,
            port=port,
            threads=16,
            clear_untrusted_proxy_headers=True,
            ident="licensebot",
            **LIMITS,
        )
        close_slow_requests(server, REQUEST_DEADLINE)
        return server
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise CliError(f"port {port} is already in use") from None
        if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
            raise CliError(f"cannot listen on {host}: {error.strerror or error}") from None
        if error.errno == errno.EACCES:
            raise CliError(f"not allowed to listen on port {port}") from None
        raise


def _serve_http(server: Any, stop: threading.Event, out: TextIO) -> None:

    def shutdown(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: shutting down", signum)
        stop.set()
        raise SystemExit(0)  # leaves server.run() in the main thread; the finally blocks clean up

    _on_signals(shutdown)
    bound = f"http://{server.effective_host}:{server.effective_port}"
    print(f"licensebot listening on {bound}/slack/events", file=out, flush=True)
    log.info("listening on %s", bound)
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        server.close()
        server.task_dispatcher.shutdown()


def _serve_socket_mode(app: Any, settings: SlackSettings, stop: threading.Event) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, settings.slack_app_token)

    def shutdown(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: shutting down", signum)
        stop.set()

    _on_signals(shutdown)
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("connected over Socket Mode")
    stop.wait()
    handler.close()  # type: ignore[no-untyped-call]


