"""Post-processing of Allure 3's single-file HTML: remove the analytics it embeds.

Allure 3.18 hard-codes a Google Analytics tag in every generated page (allure3 issue #476); a
report that must open offline and make no external request cannot keep it.
"""

from __future__ import annotations

import re

_GTAG = re.compile(
    r"<script[^>]*\bsrc=\"https://www\.googletagmanager\.com/gtag/js[^\"]*\"[^>]*>\s*</script>\s*"
    r"(?:<script>(?:(?!</script>).)*?gtag\((?:(?!</script>).)*?</script>)?",
    re.S,
)
_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']https?://""", re.I)


def strip_analytics(html: str) -> tuple[str, int]:
    """The page without the gtag loader and its inline config; returns the page and how many blocks went."""
    return _GTAG.subn("", html)


def external_references(html: str) -> int:
    """How many src/href attributes still point at another host (0 for an offline-safe page)."""
    return len(_EXTERNAL.findall(html))
