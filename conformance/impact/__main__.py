"""``python -m conformance.impact install``: put every official client in the cache now (CI does, before the tests).

``status`` prints where each client is and whether it is installed. Exit code 0 when every client
is usable, 1 when one could not be installed (the line says why); nothing here needs the network
except the install itself.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .clients import CLIENTS, ensure_all, home, installed


def main(argv: Sequence[str] | None = None) -> int:
    """Install or list the clients the impact replay uses."""
    parser = argparse.ArgumentParser(prog="python -m conformance.impact", description=__doc__)
    parser.add_argument("command", choices=("install", "status"))
    args = parser.parse_args(argv)
    if args.command == "status":
        for client in CLIENTS:
            print(f"{client.label:32} {'installed' if installed(client) else 'not installed':14} {home(client)}")
        return 0
    reasons = ensure_all(log=lambda line: print(line, file=sys.stderr, flush=True), retry_failed=True)
    for client in CLIENTS:
        reason = reasons[client.id]
        print(f"{client.label:32} {'ready' if reason is None else reason}")
    return 0 if all(r is None for r in reasons.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
