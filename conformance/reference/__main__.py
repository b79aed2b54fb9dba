"""`python -m conformance.reference`: serve the reference API (see server.py)."""

from __future__ import annotations

import sys

from conformance.reference.server import main

if __name__ == "__main__":
    sys.exit(main())
