"""The validating proxy: clients point their base URL at it, it forwards to the target and judges every exchange.

``app.py`` forwards (an ASGI app over httpx: bytes go out as they come in) and records each
exchange, redacted; ``session.py`` judges the records on a thread of its own (``traffic.py``),
writes the cassette as it goes, prints the live lines and, at the end, the usual run folder;
``server.py`` runs both, in the foreground until SIGINT/SIGTERM or in a thread for tests and
client runs. With ``transport.py`` this package is the suite's second network seam, so it imports
httpx too.
"""

from __future__ import annotations
