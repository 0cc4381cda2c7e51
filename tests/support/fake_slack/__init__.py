"""A fake Slack Web API served over real HTTP on loopback, for end-to-end tests.

The bot under test runs as a separate process with ``SLACK_API_URL=fake.url`` and talks to this
server through slack_sdk exactly as it would talk to slack.com: form-encoded, JSON or query-string
arguments, ``Authorization: Bearer xoxb-...``. The fake records every call, serves a user/user-group
directory, keeps modal and message state, validates views and blocks the way Slack rejects them,
and can inject failures (``ok: false``, HTTP 429 with Retry-After, HTTP 5xx, slowness).

It also serves ``response_url`` endpoints (see :meth:`FakeSlack.response_url`), recorded as calls
to the pseudo-method ``"response_url"``.

Usage::

    with FakeSlack() as fake:
        fake.add_users(3)
        ...  # start the bot with SLACK_API_URL=fake.url
        [call] = fake.wait_for("chat.postMessage")

The package: ``wire`` (calls, errors, faults, argument parsing, cursors, the HTTP server), ``checks``
(Block Kit validation), ``core`` (lifecycle, call log, ``wait_for``, faults, dispatch, auth.test) and one
module per Slack area, each a subclass of ``FakeSlackCore``: ``chat``, ``views``, ``directory``.

Files (``files``): files.getUploadURLExternal, the upload POST to the URL it gives, and
files.completeUploadExternal, as ``files_upload_v2`` calls them.

To serve another Web API method: write a module with a ``class …Methods(FakeSlackCore)``, its state in ``_init_state(self)`` and each handler marked
``@slack_method("files.getUploadURLExternal")`` (``args`` in, the ``{"ok": true, ...}`` answer out, or
``raise SlackError("...")``); then add the class to ``FakeSlack``'s bases below. A method without
a handler answers ``unknown_method``.
"""

from __future__ import annotations

from .chat import BASE_TS_MICROS, ChatMethods
from .checks import blocks_errors, view_errors
from .core import FakeSlackCore, slack_method
from .directory import MAX_PAGE, DirectoryMethods
from .files import FileMethods
from .views import MAX_VIEW_STACK, ViewMethods
from .wire import JSON_FIELDS, Call, SlackError, parse_args

__all__ = [
    "BASE_TS_MICROS",
    "JSON_FIELDS",
    "MAX_PAGE",
    "MAX_VIEW_STACK",
    "Call",
    "FakeSlack",
    "FakeSlackCore",
    "SlackError",
    "blocks_errors",
    "parse_args",
    "slack_method",
    "view_errors",
]


class FakeSlack(ChatMethods, ViewMethods, DirectoryMethods, FileMethods):
    """A fake Slack workspace's Web API: every area's methods over one core (see the module docstring)."""
