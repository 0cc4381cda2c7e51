"""Files, as `files_upload_v2` sends them: files.getUploadURLExternal, the upload itself (a POST of the raw
bytes to the URL it gave, on the files host: no token), and files.completeUploadExternal.

As on Slack: the upload URL is good for one upload of the announced length; completing shares the file into
`channel_id` (a conversation id: a user id is refused, open the DM first with conversations.open) or
leaves it private to the bot when no channel is given. Uploaded files are kept in ``fake.files[file_id]``
(``filename``, ``title``, ``data``, ``channels``, ``initial_comment``); a shared file also lands as a
message in ``fake.messages``.
"""

from __future__ import annotations

import json
from typing import Any

from .core import FakeSlackCore, slack_method
from .wire import SlackError


class FileMethods(FakeSlackCore):
    messages: dict[tuple[str, str], dict]  # ChatMethods'
    _open_ims: set[str]

    def _init_state(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self._file_counter = 0

    @slack_method("files.getUploadURLExternal")
    def _get_upload_url(self, args: dict) -> dict:
        filename = args.get("filename")
        try:
            length = int(args.get("length") or "")
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if not filename or length <= 0:
            raise SlackError("invalid_arguments")
        self._file_counter += 1
        file_id = f"F{self._file_counter:08d}"
        self.files[file_id] = {"id": file_id, "filename": filename, "length": length, "data": None,
                               "title": filename, "channels": [], "initial_comment": None, "completed": False}
        return {"ok": True, "upload_url": self.url.replace("/api/", f"/upload/v1/{file_id}"), "file_id": file_id}

    @slack_method("file.upload")  # the pseudo-method of a POST to an upload URL (no token: the URL is the key)
    def _upload(self, args: dict) -> dict:
        record = self.files.get(args["_key"])
        if record is None or record["data"] is not None:
            raise SlackError("invalid_upload_url")
        data: bytes = args["_bytes"]
        if len(data) != record["length"]:
            raise SlackError("length_mismatch")
        record["data"] = data
        return {"ok": True}

    @slack_method("files.completeUploadExternal")
    def _complete_upload(self, args: dict) -> dict:
        files = args.get("files")
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except ValueError:
                raise SlackError("invalid_json") from None
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        channel = args.get("channel_id") or None
        if channel is not None and not (channel[0] in "CG" or channel in self._open_ims):
            raise SlackError("channel_not_found")  # a user id, or a DM the bot never opened
        done = []
        for item in files:
            record = self.files.get(str(item.get("id")))
            if record is None or record["completed"]:
                raise SlackError("file_not_found")
            if record["data"] is None:
                raise SlackError("file_upload_not_completed")
            record.update(completed=True, title=item.get("title") or record["filename"],
                          initial_comment=args.get("initial_comment"), channels=[channel] if channel else [])
            if channel:
                ts = self._next_ts()  # type: ignore[attr-defined]
                self.messages[(channel, ts)] = {"channel": channel, "ts": ts, "files": [record["id"]],
                                                "text": args.get("initial_comment") or ""}
            done.append({"id": record["id"], "name": record["filename"], "title": record["title"]})
        return {"ok": True, "files": done}
