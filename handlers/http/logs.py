"""`serve`'s logging: plain lines, or with LICENSEBOT_LOG_FORMAT=json one JSON object per line.

Every line written while a request is handled carries its request id, and so does every line of the work
it queued: the id lives in a context variable, and the background lanes run each task in a copy of the
context that queued it (handlers/slack/deps.py's Background). The outbox's deliveries are not a request's
work (they may run in another process, after a restart): their lines carry no request id.
"""

from __future__ import annotations

import atexit
import contextvars
import copy
import datetime as dt
import json
import logging
import logging.handlers
import queue
import secrets
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("licensebot_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# what a LogRecord always has: anything else was passed with extra= and goes into the JSON object
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


def new_request_id() -> str:
    return secrets.token_hex(8)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "thread": record.threadName,
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [request {rid}]" if rid else line


class Handoff(logging.handlers.QueueHandler):
    """Hands each record to the writer thread: a request thread never waits on the stream's lock or its
    write (issue 16: 16 request threads logging a line each contended for it). The message is merged here
    (its arguments may change later); the record is formatted, traceback included, by the writer."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        return record


def configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handoff = Handoff(lines)
    handoff.addFilter(RequestIdFilter())  # in the logging thread: the request id is its context's
    writer = logging.handlers.QueueListener(lines, handler)
    writer.start()
    atexit.register(writer.stop)  # what is queued is written before the process ends
    root = logging.getLogger()
    root.handlers[:] = [handoff]
    root.setLevel(logging.INFO)
