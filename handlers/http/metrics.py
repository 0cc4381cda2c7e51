"""GET /metrics in the Prometheus text format (prometheus_client), and every request's id.

`observe(wsgi)` wraps the WSGI app: it gives each request an id (the logs' `request_id`, and the response's
X-Request-Id), counts POST /slack/events by kind and outcome with its latency (to the ack: what Slack's
3 s are about), and answers GET /metrics itself.

Measured in this process, as they happen:
    licensebot_requests_total{kind,outcome}            kind: command, block_actions, view_submission,
    licensebot_request_duration_seconds{kind}            view_closed, block_suggestion, shortcut, event, other
                                                        outcome: ok, unauthorized, too_large, bad_request
    licensebot_outbox_settled_total{result}            delivered, retry, dropped, lost (the deliverer's)
    licensebot_gc_pause_seconds{generation}            each garbage collection's pause (handlers/heap.py)
    licensebot_gc_frozen_objects                       objects kept out of collections (gc.freeze)
Read from the core at scrape time (a few indexed queries; every process reports the same database):
    licensebot_outbox_pending, licensebot_outbox_oldest_pending_seconds,
    licensebot_outbox_delivered_last_day, licensebot_outbox_dropped_last_day,
    licensebot_seats_assigned{app}, licensebot_seats_total{app}, licensebot_seats_waiting{app}
"""

from __future__ import annotations

import gc
import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from bot.service import LicensingService
from handlers import heap
from handlers.http.logs import new_request_id, request_id

log = logging.getLogger("licensebot")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
EVENTS_PATH = "/slack/events"
PEEK_LIMIT = 1024 * 1024  # bodies above this are refused by the app (413); their kind is not read
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
INTERACTIONS = {"block_actions", "view_submission", "view_closed", "block_suggestion", "shortcut",
                "message_action", "interactive_message"}


class Metrics:
    def __init__(self, service: LicensingService, settled: Callable[[], dict[str, int]] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("licensebot_requests", "Requests from Slack, by kind and outcome",
                                ["kind", "outcome"], registry=self.registry)
        self.latency = Histogram("licensebot_request_duration_seconds",
                                 "Time to answer a request from Slack (the ack), by kind", ["kind"],
                                 buckets=BUCKETS, registry=self.registry)
        self.registry.register(CoreCollector(service, settled))
        self.registry.register(GcCollector())

    def render(self) -> bytes:
        return generate_latest(self.registry)


class GcCollector(Collector):
    """The garbage collector's pauses in this process, by generation (timed by handlers/heap.py)."""

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        family = HistogramMetricFamily("licensebot_gc_pause_seconds", "Garbage collections' pauses, by generation",
                                       labels=["generation"])
        with heap.pauses.lock:
            for generation, counts in heap.pauses.buckets.items():
                cumulative, buckets = 0, []
                for bound, count in zip((*map(str, heap.PAUSE_BUCKETS), "+Inf"), counts, strict=True):
                    cumulative += count
                    buckets.append((bound, cumulative))
                family.add_metric([str(generation)], buckets, heap.pauses.total[generation])
        yield family
        yield GaugeMetricFamily("licensebot_gc_frozen_objects", "Objects moved out of the collector's generations "
                                "(gc.freeze, after start-up and each directory load)", value=gc.get_freeze_count())


class CoreCollector(Collector):
    """What the core knows, read when Prometheus scrapes: never a cost on the requests' path."""

    def __init__(self, service: LicensingService, settled: Callable[[], dict[str, int]] | None) -> None:
        self.service = service
        self.settled = settled

    def describe(self) -> Iterable[Any]:
        return []  # read at scrape time only: registering must not query the database

    def collect(self) -> Iterator[Any]:
        if self.settled is not None:
            family = CounterMetricFamily("licensebot_outbox_settled", "Outbox messages this process settled, "
                                         "by result (retry and dropped are delivery failures)", labels=["result"])
            results = self.settled()
            for result in ("delivered", "retry", "dropped", "lost"):
                family.add_metric([result], results.get(result, 0))
            yield family
        try:
            status = self.service.outbox.status(drops=0)
            apps = self.service.catalog.list_apps()
        except Exception:  # the database is away: /healthz says so; the in-process series still answer
            log.exception("metrics: reading the core failed")
            return
        yield GaugeMetricFamily("licensebot_outbox_pending", "Messages waiting to be sent", value=status.pending)
        yield GaugeMetricFamily("licensebot_outbox_oldest_pending_seconds",
                                "Age of the oldest message waiting to be sent (0: none)",
                                value=status.oldest_pending_seconds or 0.0)
        yield GaugeMetricFamily("licensebot_outbox_delivered_last_day", "Messages delivered in the last 24 hours",
                                value=status.delivered_last_day)
        yield GaugeMetricFamily("licensebot_outbox_dropped_last_day",
                                "Messages dropped (refused for good, or given up) in the last 24 hours",
                                value=status.dropped_last_day)
        assigned = GaugeMetricFamily("licensebot_seats_assigned", "Licenses assigned, per app", labels=["app"])
        total = GaugeMetricFamily("licensebot_seats_total", "Licenses bought, per app", labels=["app"])
        waiting = GaugeMetricFamily("licensebot_seats_waiting", "Users waiting for a license, per app",
                                    labels=["app"])
        for app in apps:
            assigned.add_metric([app.name], app.assigned)
            total.add_metric([app.name], app.total)
            waiting.add_metric([app.name], app.waiting)
        yield from (assigned, total, waiting)


def observe(app: WSGIApp, metrics: Metrics) -> WSGIApp:
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/metrics" and method in ("GET", "HEAD"):
            payload = metrics.render()
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(payload)))])
            return [payload] if method == "GET" else []
        rid = new_request_id()
        token = request_id.set(rid)
        try:
            if path != EVENTS_PATH or method != "POST":
                return app(environ, _with_request_id(start_response, rid))
            kind = _kind(environ)
            started = time.perf_counter()
            status: list[int] = []

            def recording(status_line: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
                status.append(int(status_line.split(" ", 1)[0]))
                return start_response(status_line, [*headers, ("X-Request-Id", rid)], *exc)

            body = app(environ, recording)
            elapsed = time.perf_counter() - started
            code = status[0] if status else 500
            outcome = _outcome(code)
            metrics.requests.labels(kind, outcome).inc()
            metrics.latency.labels(kind).observe(elapsed)
            log.info("%s %s: %d in %.0f ms", kind, outcome, code, elapsed * 1000,
                     extra={"kind": kind, "status": code, "ms": round(elapsed * 1000, 1)})
            return body
        finally:
            request_id.reset(token)

    return wsgi


def _with_request_id(start_response: Callable[..., Any], rid: str) -> Callable[..., Any]:
    def start(status_line: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
        return start_response(status_line, [*headers, ("X-Request-Id", rid)], *exc)

    return start


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "unauthorized"
    if status == 413:
        return "too_large"
    return "bad_request"


def _kind(environ: dict[str, Any]) -> str:
    """The request's kind, read from a copy of its body (put back for the app). Never raises."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "other"
    if length <= 0 or length > PEEK_LIMIT:
        return "other"
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        text = body.decode("utf-8", errors="replace")
        if "json" in (environ.get("CONTENT_TYPE") or ""):
            return "event" if isinstance(json.loads(text), dict) else "other"
        form = parse_qs(text, max_num_fields=100)
        if "command" in form:
            return "command"
        if "payload" in form:
            payload = json.loads(form["payload"][0])
            kind = payload.get("type") if isinstance(payload, dict) else None
            return kind if kind in INTERACTIONS else "other"
    except (ValueError, TypeError):
        return "other"
    return "other"
