"""``python -m conformance``: the same as the ``anthropic-conformance`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
