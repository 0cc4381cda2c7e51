"""Block Kit validation the way Slack rejects views and message blocks.

A subset of Slack's documented limits, enough to catch the mistakes bots really make (long titles,
empty or huge texts, too many options, duplicate block ids). Errors use Slack's wording, e.g.
``[ERROR] must be less than 25 characters [json-pointer:/view/title/text]``. Pure functions: an empty
list means Slack would take it.
"""

from __future__ import annotations

from typing import Any


def _too_long(value: Any, limit: int, ptr: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{ptr}]"]
    return []


def _too_many(items: Any, limit: int, ptr: str) -> list[str]:
    if isinstance(items, list) and len(items) > limit:
        return [f"[ERROR] no more than {limit} items allowed [json-pointer:{ptr}]"]
    return []


def _text_errors(obj: Any, ptr: str, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [f"[ERROR] must provide an object [json-pointer:{ptr}]"]
    if plain_only and obj.get("type") != "plain_text":
        return [f"[ERROR] must be a valid enum value [json-pointer:{ptr}/type]"]
    if not obj["text"]:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{ptr}/text]"]
    return _too_long(obj["text"], limit, f"{ptr}/text")


def _option_errors(option: Any, ptr: str) -> list[str]:
    if not isinstance(option, dict):
        return [f"[ERROR] must provide an object [json-pointer:{ptr}]"]
    return _text_errors(option.get("text"), f"{ptr}/text", 75) + _too_long(
        option.get("value"), 150, f"{ptr}/value"
    )


def _element_errors(element: Any, ptr: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"[ERROR] must provide an object [json-pointer:{ptr}]"]
    errors = _too_long(element.get("action_id"), 255, f"{ptr}/action_id")
    if element.get("type") == "button":
        errors += _text_errors(element.get("text"), f"{ptr}/text", 75, plain_only=True)
        errors += _too_long(element.get("value"), 2000, f"{ptr}/value")
        errors += _too_long(element.get("url"), 3000, f"{ptr}/url")
    if "placeholder" in element:
        errors += _text_errors(element["placeholder"], f"{ptr}/placeholder", 150, plain_only=True)
    options = element.get("options")
    if isinstance(options, list):
        errors += _too_many(options, 100, f"{ptr}/options")
        for i, option in enumerate(options):
            errors += _option_errors(option, f"{ptr}/options/{i}")
    return errors


def _block_errors(block: Any, ptr: str, seen_ids: set) -> list[str]:
    if not isinstance(block, dict):
        return [f"[ERROR] must provide an object [json-pointer:{ptr}]"]
    errors: list[str] = []
    block_id = block.get("block_id")
    if block_id is not None:
        errors += _too_long(block_id, 255, f"{ptr}/block_id")
        if block_id in seen_ids:
            errors.append(f"[ERROR] duplicate block_id [json-pointer:{ptr}/block_id]")
        seen_ids.add(block_id)
    kind = block.get("type")
    if kind == "header":
        errors += _text_errors(block.get("text"), f"{ptr}/text", 150, plain_only=True)
    elif kind == "section":
        errors += _section_errors(block, ptr)
    elif kind == "input":
        errors += _text_errors(block.get("label"), f"{ptr}/label", 2000, plain_only=True)
        if "hint" in block:
            errors += _text_errors(block["hint"], f"{ptr}/hint", 2000, plain_only=True)
        errors += _element_errors(block.get("element"), f"{ptr}/element")
    elif kind in ("actions", "context"):
        elements = block.get("elements")
        errors += _too_many(elements, 25 if kind == "actions" else 10, f"{ptr}/elements")
        if kind == "actions":
            for i, element in enumerate(elements or []):
                errors += _element_errors(element, f"{ptr}/elements/{i}")
    return errors


def _section_errors(block: dict, ptr: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"[ERROR] must provide either text or fields [json-pointer:{ptr}]"]
    errors = []
    if "text" in block:
        errors += _text_errors(block["text"], f"{ptr}/text", 3000)
    fields = block.get("fields") or []
    errors += _too_many(fields, 10, f"{ptr}/fields")
    for i, text in enumerate(fields):
        errors += _text_errors(text, f"{ptr}/fields/{i}", 2000)
    if "accessory" in block:
        errors += _element_errors(block["accessory"], f"{ptr}/accessory")
    return errors


def blocks_errors(blocks: Any, ptr: str, max_blocks: int) -> list[str]:
    """Slack's complaints about a list of blocks at ``ptr``: a message takes 50 (``"/blocks"``), a view 100."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must provide an array [json-pointer:{ptr}]"]
    errors = _too_many(blocks, max_blocks, ptr)
    seen: set = set()
    for i, block in enumerate(blocks):
        errors += _block_errors(block, f"{ptr}/{i}", seen)
    return errors


def view_errors(view: Any, expected_type: str) -> list[str]:
    """Slack's complaints about a view of ``expected_type`` (``"modal"`` or ``"home"``)."""
    if not isinstance(view, dict):
        return ["[ERROR] must provide an object [json-pointer:/view]"]
    if view.get("type") != expected_type:
        return ["[ERROR] must be a valid enum value [json-pointer:/view/type]"]
    errors = blocks_errors(view.get("blocks"), "/view/blocks", 100)
    if expected_type == "modal":
        errors += _text_errors(view.get("title"), "/view/title", 24, plain_only=True)
        for key in ("close", "submit"):
            if view.get(key) is not None:
                errors += _text_errors(view[key], f"/view/{key}", 24, plain_only=True)
        has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_inputs and not view.get("submit"):
            errors.append("[ERROR] must provide a submit property when using input blocks [json-pointer:/view]")
    errors += _too_long(view.get("private_metadata"), 3000, "/view/private_metadata")
    errors += _too_long(view.get("callback_id"), 255, "/view/callback_id")
    errors += _too_long(view.get("external_id"), 255, "/view/external_id")
    return errors
