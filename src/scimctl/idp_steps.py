"""The setup page's IdP steps, generated from docs/idp/*.md (``make setup-page``).

docs/idp/ is the one source of truth: this reads the Markdown subset those guides use (headings,
paragraphs, numbered and bulleted lists, tables, fenced code; **bold**, `code` and [links] inline)
into plain JSON blocks that the page renders with ``textContent`` only, filling in the tenant's
own values for the guides' placeholders. A test checks that the committed
``src/handlers/setup_page/idp.json`` is exactly what this writes, so the page cannot drift from the
docs.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "idp"
OUTPUT = ROOT / "src" / "handlers" / "setup_page" / "idp.json"
# (id, title on the page, guide); "other" is the IdP-neutral part of the README.
GUIDES: tuple[tuple[str, str, str], ...] = (
    ("okta", "Okta", "okta.md"),
    ("entra", "Microsoft Entra ID", "entra.md"),
    ("google", "Google Workspace", "google-workspace.md"),
    ("onelogin", "OneLogin", "onelogin.md"),
    ("jumpcloud", "JumpCloud", "jumpcloud.md"),
    ("other", "Other", "README.md"),
)
# The README sections an "Other" IdP needs (the rest is for the SaaS operator or links elsewhere).
_OTHER_SECTIONS = ("What the IT admin receives", "Presets at a glance")
# The guides' placeholders, which the page replaces with the tenant's values.
PLACEHOLDERS = {
    "tenant_url": ["https://<api-host>/v1/scim/v2/<tenant>", "https://<api-host>/v1/scim/v2/acme"],
    "tenant": ["<tenant>"],
}

_INLINE = re.compile(r"\*\*(?P<b>.+?)\*\*|`(?P<c>[^`]+)`|\[(?P<l>[^\]]+)\]\([^)]*\)")
_ITEM = re.compile(r"^(?P<indent> *)(?:\d+\.|[-*]) (?P<text>.*)$")

Inline = list[list[str]]


def inline(text: str) -> Inline:
    """Text as [kind, text] runs: "t" plain, "b" bold, "c" code (links keep their text only)."""
    runs: Inline = []
    at = 0
    for found in _INLINE.finditer(text):
        if found.start() > at:
            runs.append(["t", text[at : found.start()]])
        if found["b"] is not None:
            runs.append(["b", found["b"].replace("`", "")])
        elif found["c"] is not None:
            runs.append(["c", found["c"]])
        else:
            runs.append(["t", found["l"]])
        at = found.end()
    if at < len(text):
        runs.append(["t", text[at:]])
    return runs


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse(markdown: str) -> list[dict[str, Any]]:  # noqa: C901 - one pass over a small grammar
    blocks: list[dict[str, Any]] = []
    lines = markdown.splitlines()
    i = 0
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append({"p": inline(" ".join(paragraph))})
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            flush()
            i += 1
        elif stripped.startswith("```"):
            flush()
            end = next(
                (j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("```")), len(lines)
            )
            blocks.append({"code": "\n".join(lines[i + 1 : end])})
            i = end + 1
        elif stripped.startswith("#"):
            flush()
            level = len(stripped) - len(stripped.lstrip("#"))
            blocks.append({"h": level, "text": inline(stripped[level:].strip())})
            i += 1
        elif stripped.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            body = [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            blocks.append(
                {
                    "table": {
                        "head": [inline(c) for c in rows[0]],
                        "rows": [[inline(c) for c in r] for r in body],
                    }
                }
            )
        elif _ITEM.match(line):
            flush()
            ordered = stripped[0].isdigit()
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                found = _ITEM.match(lines[i])
                if found:
                    items.append(found["text"].strip())
                elif items:
                    items[-1] += " " + lines[i].strip()
                i += 1
            blocks.append({"ol" if ordered else "ul": [inline(item) for item in items]})
        else:
            paragraph.append(stripped)
            i += 1
    flush()
    return blocks


def _sections(blocks: list[dict[str, Any]], titles: Sequence[str]) -> list[dict[str, Any]]:
    """Only the level-2 sections named `titles` (each with its heading)."""
    kept: list[dict[str, Any]] = []
    keep = False
    for block in blocks:
        if block.get("h") == 2:
            keep = "".join(text for _, text in block["text"]) in titles
        if keep:
            kept.append(block)
    return kept


def build(docs: Path = DOCS) -> dict[str, Any]:
    idps = []
    for idp_id, title, file in GUIDES:
        blocks = parse((docs / file).read_text(encoding="utf-8"))
        blocks = _sections(blocks, _OTHER_SECTIONS) if idp_id == "other" else blocks[1:]  # title: ours
        idps.append({"id": idp_id, "title": title, "source": f"docs/idp/{file}", "blocks": blocks})
    return {"placeholders": PLACEHOLDERS, "idps": idps}


def render(docs: Path = DOCS) -> str:
    return json.dumps(build(docs), separators=(",", ":"), ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    target = Path(args[0]) if args else OUTPUT
    target.write_text(render(), encoding="utf-8")
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
