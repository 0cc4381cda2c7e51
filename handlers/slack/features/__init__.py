"""Features, one module each: its `/licenses` subcommands (`SUBCOMMANDS`), and its actions, views and events
(`register(app, deps)`).

Grouped by what a person does (assign, unassign, seats…) rather than by Slack's kinds of request, so a
flow — command, modal, submit, confirmation — reads top to bottom in one file.
"""

from handlers.slack.features import (
    admin,
    alerts,
    assign,
    catalog,
    details,
    expiry,
    export,
    groups,
    home,
    lifecycle,
    provisioning,
    reclaim,
    records,
    requests,
    seats,
    unassign,
)

FEATURES = [catalog, details, records, assign, unassign, seats, admin, export, requests, groups, home, provisioning,
            lifecycle, expiry, reclaim, alerts]
