"""The setup page's IdP steps come from docs/idp/*.md (one source of truth): the committed
src/handlers/setup_page/idp.json is exactly what `make setup-page` generates from them."""

from __future__ import annotations

import json

from scimctl import idp_steps
from tests.conftest import ROOT

PAGE = ROOT / "src" / "handlers" / "setup_page"


def test_the_pages_idp_steps_are_generated_from_the_docs() -> None:
    committed = (PAGE / "idp.json").read_text(encoding="utf-8")
    assert committed == idp_steps.render(), "docs/idp changed: run `make setup-page`"


def test_every_idp_the_page_offers_has_its_guides_headings_and_our_placeholders() -> None:
    built = idp_steps.build()
    assert [i["title"] for i in built["idps"]] == [
        "Okta",
        "Microsoft Entra ID",
        "Google Workspace",
        "OneLogin",
        "JumpCloud",
        "Other",
    ]
    for idp in built["idps"]:
        markdown = (ROOT / idp["source"]).read_text(encoding="utf-8")
        headings = ["".join(text for _, text in b["text"]) for b in idp["blocks"] if "h" in b]
        assert headings, idp["id"]
        for heading in headings:
            assert heading.replace("`", "") in markdown.replace("`", "").replace("**", ""), (
                idp["id"],
                heading,
            )
    text = json.dumps(built)
    assert "https://<api-host>/v1/scim/v2/<tenant>" in text  # what the page fills in


def test_inline_markdown_becomes_runs_and_links_keep_only_their_text() -> None:
    assert idp_steps.inline("see **Save** and `userName` in [README](README.md#x).") == [
        ["t", "see "],
        ["b", "Save"],
        ["t", " and "],
        ["c", "userName"],
        ["t", " in "],
        ["t", "README"],
        ["t", "."],
    ]
    blocks = idp_steps.parse("# T\n\n1. one\n   more\n2. two\n\n| a | b |\n|---|---|\n| `x` | y |\n")
    assert blocks == [
        {"h": 1, "text": [["t", "T"]]},
        {"ol": [[["t", "one more"]], [["t", "two"]]]},
        {"table": {"head": [[["t", "a"]], [["t", "b"]]], "rows": [[[["c", "x"]], [["t", "y"]]]]}},
    ]
