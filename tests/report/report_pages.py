"""Reading our HTML pages in tests: their tags and inline scripts, and the DOM headless Chromium builds.

Shared by the report and matrix page tests (imported as ``report_pages``; tests/report is on sys.path).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (.ci/run installs it)")


def timed(render: Callable[[], str]) -> tuple[str, float, int]:
    """A rendered page, the seconds rendering took and its size in UTF-8 bytes: the budgets the large-page tests hold."""
    t0 = time.perf_counter()
    page = render()
    return page, time.perf_counter() - t0, len(page.encode())


class Tags(HTMLParser):
    """Start tags with attributes, and the texts of <script> and <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._into: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._into = self.scripts if tag == "script" else self.styles if tag == "style" else None
        if self._into is not None:
            self._into.append("")

    def handle_endtag(self, tag):
        self._into = None

    def handle_data(self, data):
        if self._into is not None:
            self._into[-1] += data


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    tags.close()
    return tags


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM after load (our script has run), as headless Chromium serialises it."""
    done = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()], capture_output=True, timeout=120, check=True)
    return done.stdout.decode("utf-8")


def driven(page: str, first_step: str, folder: Path) -> str:
    """The DOM after a test-only script ran ``first_step`` then chose the "stream" area in the filters.

    The page's CSP, which would block that script, is removed for this test only.
    """
    driver = f"""<script>
(function () {{
  {first_step}
  var area = document.getElementById("f-area");
  area.value = "stream";
  area.dispatchEvent(new Event("change"));
  document.body.setAttribute("data-driven", "1");
}}());
</script>"""
    path = folder / "driven.html"
    path.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page).replace("</body>", driver + "</body>"), encoding="utf-8")
    return dump_dom(path, folder / "chromium-profile")
