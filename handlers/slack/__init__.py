"""The Slack door: the bolt app, its features (one module each), Block Kit builders, the cached directory."""
