"""Headless Chromium for the setup page's browser tests (Playwright, Python).

Playwright cannot download its own browsers here, so the tests drive Debian's ``chromium``
(``make browser`` installs it when /usr/bin/chromium is missing). A missing browser or Playwright
fails the tests loudly: they are never skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking")


def chromium_path() -> str:
    candidates = [os.environ.get("CHROMIUM", ""), "/usr/bin/chromium", shutil.which("chromium") or ""]
    found = next((c for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        pytest.fail("no Chromium: run `make browser` (apt-get install chromium) or set CHROMIUM=/path")
    return found


def expect(target: Any) -> Any:
    """Playwright's auto-waiting assertions (the page's CSP forbids eval, so no wait_for_function)."""
    from playwright.sync_api import expect as playwright_expect  # noqa: PLC0415

    # 20 s, not Playwright's 5 s: CI's two cores run the other integration workers meanwhile.
    playwright_expect.set_options(timeout=20_000)
    return playwright_expect(target)


@contextmanager
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the browser tests need it
    except ImportError:
        pytest.fail("playwright is not installed: `make install` installs the dev extras")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()
