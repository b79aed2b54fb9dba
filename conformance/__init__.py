"""Conformance suite for the Anthropic Messages API.

The public Python API (see README, "From Python"): ``run`` the suite against a URL with
``Options`` and get ``Results``; ``validate_bytes`` judges one saved answer; ``load_profile``
reads a provider profile. Everything else in the package may change between versions.
"""

from __future__ import annotations

from ._version import __version__
from .api import Results, load_profile, run, validate_bytes
from .findings import Finding, Outcome
from .options import Options

__all__ = ["Finding", "Options", "Outcome", "Results", "__version__", "load_profile", "run", "validate_bytes"]
