"""Command-line values checked where they are typed: one clear line and exit 2, before any request.

A count of 0 requests in flight or a negative timeout is a typo, not a configuration: accepting it
would hang the run or refuse every request later, far from the flag that caused it. argparse's
own error (a usage block, then the message) becomes one line naming the flag and ``--help``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (the usage block is what ``--help`` is for)."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: <message> (see <prog> --help)`` on stderr and exit 2."""
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def count(minimum: int) -> Callable[[str], int]:
    """An integer option that must be at least ``minimum`` (1 for a count of things, 0 for retries)."""
    kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {value}")
        return value

    parse.__name__ = "count"  # argparse names the type in its own messages
    return parse


def seconds(text: str) -> float:
    """A duration in seconds: finite and above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {text}")
    return value


def add_verbosity(command: argparse.ArgumentParser) -> None:
    """-q and -v, as every command line tool has them (``verbosity``: -1, 0 or 1)."""
    loudness = command.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=-1, default=0, help="print only the verdict: counts, gate, report path (default: off)")
    loudness.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=1, help="also list every pass and skip with what it judged or why not (default: off)")
