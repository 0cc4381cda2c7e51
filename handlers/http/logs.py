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
import random
import sys
import threading
from typing import Any, TextIO

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("licensebot_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# what a LogRecord always has: anything else was passed with extra= and goes into the JSON object
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


# not `secrets`: a request id is for following a request through the lines, not a secret, and os.urandom
# is a system call that gives up the GIL once per request (issue 16's tail)
_ids = random.Random()


def new_request_id() -> str:
    return f"{_ids.getrandbits(64):016x}"


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


class LineWriter:
    """The one thread that writes the lines: it takes what waits in the queue at once and writes it with one
    write and one flush (a line each under load cost a system call each, every one giving up the GIL)."""

    BATCH = 512

    def __init__(self, lines: queue.SimpleQueue[logging.LogRecord | None], formatter: logging.Formatter,
                 stream: TextIO | None = None) -> None:
        self.lines, self.formatter = lines, formatter
        self.stream = stream if stream is not None else sys.stderr
        self._thread = threading.Thread(target=self._run, name="licensebot-log-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Writes what is queued, then ends the thread."""
        self.lines.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            batch = [self.lines.get()]
            while len(batch) < self.BATCH:
                try:
                    batch.append(self.lines.get_nowait())
                except queue.Empty:
                    break
            records = [r for r in batch if r is not None]
            if records:
                self._write(records)
            if len(records) < len(batch):
                return

    def _write(self, records: list[logging.LogRecord]) -> None:
        text = []
        for record in records:
            try:
                text.append(self.formatter.format(record) + "\n")
            except Exception:  # noqa: BLE001 - a record that cannot be formatted must not stop the others
                text.append(f"(unprintable log record from {record.name})\n")
        try:
            self.stream.write("".join(text))
            self.stream.flush()
        except (OSError, ValueError):  # the stream closed (a pipe gone): nothing else to tell
            pass


def configure_logging(log_format: str) -> None:
    formatter = JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT)
    lines: queue.SimpleQueue[logging.LogRecord | None] = queue.SimpleQueue()
    handoff = Handoff(lines)
    handoff.addFilter(RequestIdFilter())  # in the logging thread: the request id is its context's
    writer = LineWriter(lines, formatter)
    writer.start()
    atexit.register(writer.stop)  # what is queued is written before the process ends
    root = logging.getLogger()
    root.handlers[:] = [handoff]
    root.setLevel(logging.INFO)
