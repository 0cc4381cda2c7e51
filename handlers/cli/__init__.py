"""The command-line door: the local operator's `licensebot` commands that need only the core.

Commands that reach Slack (`serve`, `sync`, `requests expire`) live with the Slack and HTTP doors and are
added to the parser by handlers/main.py: nothing here imports the Slack door.
"""
