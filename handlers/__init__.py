"""Doors into the licensing service: Slack (commands, actions, views, events, options) and the CLI."""
