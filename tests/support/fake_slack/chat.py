"""Messages: chat.postMessage, chat.postEphemeral, chat.update, chat.delete, and conversations.open.

Live messages are kept in ``fake.messages[(channel, ts)]``; a message to a user id lands in the bot's DM
with them (channel ``"D" + user_id``). ``ts`` values are deterministic, easy to read in failures.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .checks import blocks_errors
from .core import FakeSlackCore, slack_method
from .wire import SlackError

BASE_TS_MICROS = 1_700_000_000 * 1_000_000  # ts values are deterministic: easy to read in failures


class ChatMethods(FakeSlackCore):
    _users: dict[str, dict]  # DirectoryMethods' members: conversations.open refuses deactivated ones

    def _init_state(self) -> None:
        self.messages: dict[tuple[str, str], dict] = {}  # (channel, ts) -> message, live ones only
        self._open_ims: set[str] = set()
        self._ts_counter = 0

    def _next_ts(self) -> str:
        self._ts_counter += 1
        micros = BASE_TS_MICROS + self._ts_counter * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel_for(self, channel: Any) -> str:
        if not channel or not isinstance(channel, str):
            raise SlackError("channel_not_found")
        # Posting to a user id posts into the bot's DM with that user, as on Slack.
        return "D" + channel if channel[0] in "UW" else channel

    @staticmethod
    def _check_content(args: dict) -> None:
        text, blocks = args.get("text"), args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
        if isinstance(text, str) and len(text) > 40_000:
            raise SlackError("msg_too_long")
        if blocks is not None:
            if isinstance(blocks, str):
                raise SlackError("invalid_blocks_format")
            errors = blocks_errors(blocks, "/blocks", 50)
            if errors:
                raise SlackError("invalid_blocks", errors, errors=[e.removeprefix("[ERROR] ") for e in errors])

    def _message(self, args: dict, ts: str) -> dict:
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "text": args.get("text", ""),
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if key in args:
                message[key] = args[key]
        return message

    @slack_method("chat.postMessage")
    def _chat_post_message(self, args: dict) -> dict:
        channel = self._channel_for(args.get("channel"))
        self._check_content(args)
        ts = self._next_ts()
        message = self._message(args, ts)
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    @slack_method("chat.postEphemeral")
    def _chat_post_ephemeral(self, args: dict) -> dict:
        self._channel_for(args.get("channel"))
        if not args.get("user"):
            raise SlackError("user_not_found")
        self._check_content(args)
        return {"ok": True, "message_ts": self._next_ts()}

    def _existing_message(self, args: dict) -> tuple[str, str, dict]:
        channel = self._channel_for(args.get("channel"))
        ts = args.get("ts")
        message = self.messages.get((channel, ts))
        if message is None:
            raise SlackError("message_not_found")
        return channel, ts, message

    @slack_method("chat.update")
    def _chat_update(self, args: dict) -> dict:
        channel, ts, message = self._existing_message(args)
        self._check_content(args)
        message = {**self._message(args, ts), "edited": {"user": self.bot_user_id, "ts": self._next_ts()}}
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}

    @slack_method("chat.delete")
    def _chat_delete(self, args: dict) -> dict:
        channel, ts, _ = self._existing_message(args)
        del self.messages[(channel, ts)]
        return {"ok": True, "channel": channel, "ts": ts}

    @slack_method("conversations.open")
    def _conversations_open(self, args: dict) -> dict:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": args["channel"]}}
        users = args.get("users") or ""
        users = users.split(",") if isinstance(users, str) else list(users)
        users = [u.strip() for u in users if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        for user_id in users:
            if self._users.get(user_id, {}).get("deleted"):
                raise SlackError("user_disabled")
        if len(users) == 1:
            channel = {"id": "D" + users[0], "is_im": True, "user": users[0]}
        else:
            digest = hashlib.sha1(",".join(sorted(users)).encode()).hexdigest()[:10].upper()
            channel = {"id": "G" + digest, "is_mpim": True}
        already_open = channel["id"] in self._open_ims
        self._open_ims.add(channel["id"])
        return {"ok": True, "no_op": already_open, "already_open": already_open, "channel": channel}
