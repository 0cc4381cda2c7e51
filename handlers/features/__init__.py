"""Features, one module each: its `/licenses` subcommands, actions, views and events, and `register(app, deps)`.

Grouped by what a person does (assign, unassign, seats…) rather than by Slack's kinds of request, so a
flow — command, modal, submit, confirmation — reads top to bottom in one file.
"""

from handlers.features import admin, assign, catalog, groups, requests, seats, unassign

FEATURES = [catalog, assign, unassign, seats, admin, requests, groups]
