"""The HTTP door: `licensebot serve`, the WSGI app (POST /slack/events, GET /healthz) behind waitress."""
