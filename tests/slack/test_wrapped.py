"""Every word a person reads in Slack goes through _(), ngettext() or pgettext() (handlers/slack/i18n.py).

An AST scan of handlers/slack: a string literal (or an f-string's literal part) with letters in it, passed as
the text of a Block Kit builder or a message, that is not inside a translation call, is a word a French reader
would read in English. tests/slack/test_i18n.py then checks that each wrapped string has its French.

What the scan accepts without a translation call (the documented exceptions):
- emoji short codes (`:warning:`), Slack's mentions and tokens (`<@U…>`, `<!date^…|…>`, `<url|…>`);
- a code span that starts with `/licenses` (sub-command keywords stay English, SPEC §10) or with `licensebot`
  (the CLI stays English), and a sub-command's usage ("/licenses list [WORDS]");
- log lines, exceptions for the logs and settings errors (operators read English), the reasons the outbox and
  the logs keep (INTERNAL), and `licensebot sync` (operator.py: the command line);
- the `N_()` marker: a constant extracted for translation and translated where it is shown (`_(CONSTANT)`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = sorted((ROOT / "handlers" / "slack").rglob("*.py"))
TRANSLATING = {"_", "ngettext", "pgettext", "N_", "gettext"}

# callee name -> (positional indexes, keyword names) that carry words a person reads
TEXT_ARGS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "section": ((0,), ("text",)),
    "sections": ((0,), ("lines", "head")),
    "context": ((0,), ("text",)),
    "button": ((0,), ("text",)),
    "plain": ((0,), ("text",)),
    "mrkdwn": ((0,), ("text",)),
    "option": ((0,), ("text",)),
    "modal": ((0,), ("title", "submit", "close")),
    "summary_modal": ((0, 1), ("title", "text")),
    "done_view": ((0, 1), ("title", "text")),  # records' last screen
    "header": ((0,), ("text",)),  # the Home tab's headers
    "field_errors": ((1,), ("message",)),
    "reply": ((0,), ("text",)),
    "tell": ((4,), ("text",)),
    "Refusal": ((0,), ()),
    "ack": ((), ("text",)),
    "respond": ((), ("text",)),
    "chat_postMessage": ((), ("text",)),
    "chat_postEphemeral": ((), ("text",)),
    "chat_update": ((), ("text",)),
}
EXCEPTIONS = [
    re.compile(r":[a-z0-9_+\-]+:"),  # emoji short codes
    re.compile(r"<[^<>]*>"),  # mentions, dates, links
    re.compile(r"`/licenses[^`]*`|`licensebot[^`]*`"),  # sub-command keywords and the CLI stay English
    re.compile(r"\{[^{}]*\}"),  # placeholders of a str.format template
    re.compile(r"^/licenses .*$"),  # a sub-command's usage
]
INTERNAL = {"no answer", "refused without a reason", "unknown message kind "}  # reasons logged or kept, never shown


def has_words(text: str) -> bool:
    for pattern in EXCEPTIONS:
        text = pattern.sub("", text)
    return any(c.isalpha() for c in text)


def callee(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def untranslated(node: ast.AST) -> list[ast.Constant]:
    """String literals with words inside `node`, outside any translation call and any builder (checked itself)."""
    if isinstance(node, ast.Call):
        name = callee(node)
        if name in TRANSLATING or name in TEXT_ARGS:
            return []
        if isinstance(node.func, ast.Attribute) and name in ("format", "join"):
            # "…".format(x) / ", ".join(parts): the template or separator, and what fills it
            return untranslated(node.func.value) + [c for a in node.args for c in untranslated(a)] + [
                c for k in node.keywords for c in untranslated(k.value)]
        return []  # another function's arguments are ids, keys, values: not words
    if isinstance(node, ast.Constant):
        return [node] if isinstance(node.value, str) and has_words(node.value) else []
    if isinstance(node, ast.Subscript):
        return untranslated(node.value)
    if isinstance(node, (ast.Lambda, ast.Dict, ast.Compare)):
        return []
    found: list[ast.Constant] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.comprehension):
            continue
        found += untranslated(child)
    return found


def text_arguments(call: ast.Call) -> list[ast.AST]:
    positions, names = TEXT_ARGS[callee(call)]
    shown: list[ast.AST] = [a for i, a in enumerate(call.args) if i in positions]
    shown += [k.value for k in call.keywords if k.arg in names]
    return shown


def dict_texts(node: ast.Dict) -> list[ast.AST]:
    """{"type": "plain_text", "text": "…"} and a view's "placeholder" / "label" written by hand."""
    return [v for k, v in zip(node.keys, node.values, strict=True)
            if isinstance(k, ast.Constant) and k.value in ("text", "label", "placeholder", "title")]


def offenders() -> list[str]:
    problems = []
    for path in SCANNED:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and callee(node) in TEXT_ARGS:
                shown = text_arguments(node)
            elif isinstance(node, ast.Dict):
                shown = dict_texts(node)
            else:
                continue
            for arg in shown:
                for literal in untranslated(arg):
                    problems.append(f"{path.relative_to(ROOT)}:{literal.lineno}: {literal.value!r}")
    return sorted(set(problems))


def test_the_scan_finds_an_unwrapped_word() -> None:
    tree = ast.parse('ui.section("Hello " + name)\nui.section(_("Hello"))\ninv.reply(f":warning: {x}")\n'
                     'ui.button(_("Next"), "list_next")\nRefusal(f"No app {name}")\n')
    found = [lit.value for node in ast.walk(tree) if isinstance(node, ast.Call) and callee(node) in TEXT_ARGS
             for arg in text_arguments(node) for lit in untranslated(arg)]
    assert found == ["Hello ", "No app "]


def test_every_visible_literal_of_the_slack_door_is_translated() -> None:
    assert offenders() == []


# ------------------------------------------------------------------ sentences built away from the builders
SENTENCE = re.compile(r"[^\W\d_]{2,}[ ,'’][^\W\d_]{2,}")  # two words with a space between: a phrase
QUIET = {"debug", "info", "warning", "error", "exception", "critical", "ValueError", "TypeError", "RuntimeError",
         "KeyError", "AssertionError", "NotImplementedError", "getLogger", "Template", "log", "SettingsError",
         "BoltResponse"}  # BoltResponse: the body a foreign workspace's request gets, read by no person


def phrases(tree: ast.AST) -> list[ast.Constant]:
    """Every string literal with a phrase in it outside a translation call, a docstring, a log line or an
    exception meant for the logs (those are read by operators, in English)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skipped.add(id(first.value))
        if isinstance(node, ast.Call) and (callee(node) in TRANSLATING or callee(node) in QUIET):
            skipped.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped
                and node.value not in INTERNAL):
            text = node.value
            for pattern in EXCEPTIONS:
                text = pattern.sub("", text)
            if SENTENCE.search(text):
                found.append(node)
    return found


def test_no_phrase_of_the_slack_door_is_left_in_english() -> None:
    problems = []
    for path in SCANNED:
        if path.name in PHRASES_ALLOWED:
            continue
        for literal in phrases(ast.parse(path.read_text(encoding="utf-8"))):
            problems.append(f"{path.relative_to(ROOT)}:{literal.lineno}: {literal.value!r}")
    assert sorted(set(problems)) == []


PHRASES_ALLOWED = {
    "i18n.py",  # the translation machinery
    "operator.py",  # `licensebot sync` and the CLI's Slack directory: the command line stays English
}


def test_the_phrase_scan_finds_a_sentence_built_away_from_the_builders() -> None:
    tree = ast.parse('def mine():\n    """Docs are read in English."""\n    log.info("loaded the directory")\n'
                     '    lines = ["*Your licenses*", _("*Your pending requests*"), "`/licenses mine`"]\n'
                     '    return f"{n} seats left" if n else "no answer"\n')
    assert [c.value for c in phrases(tree)] == ["*Your licenses*", " seats left"]
