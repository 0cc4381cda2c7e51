"""The doors into the licensing core: Slack (handlers/slack), HTTP (handlers/http: the endpoint Slack posts
to, health), and the operator's command line (handlers/cli); handlers/main.py is the `licensebot` command.

Doors turn what comes in into plain values, call bot/, and say the results and errors in their reader's
words (handlers/words.py). They never touch storage/.
"""
