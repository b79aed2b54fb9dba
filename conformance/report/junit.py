"""``junit.xml`` from a results document, for runs that do not go through pytest (the proxy, client runs).

A planned run gets its JUnit from pytest; this writes the same shape (one testsuite, one testcase
per result, classname = area) from results.json alone: fail → ``<failure>``, error → ``<error>``,
skip → ``<skipped>``, warn → a passing case whose ``<system-out>`` starts with WARN (as pytest
reports a warning). Target text is escaped by ElementTree, and control characters a target sent are
shown as ``\\xNN`` (XML 1.0 cannot carry them).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from .._types import JSONObject

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: object) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def element(document: JSONObject, *, suite: str = "anthropic-conformance") -> ET.Element:
    """The ``<testsuites>`` element of a results document."""
    results = list(document.get("results", ()))
    counts = {o: sum(1 for r in results if r.get("outcome") == o) for o in ("fail", "error", "skip")}
    run = document.get("run", {})
    root = ET.Element("testsuites")
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        skipped=str(counts["skip"]),
        time=f"{float(run.get('wall_time_s', 0.0)):.3f}",
        timestamp=_clean(run.get("started_at", "")),
    )
    properties = ET.SubElement(node, "properties")
    for key in ("target", "profile", "model", "api_version", "id"):
        ET.SubElement(properties, "property", name=key, value=_clean(run.get(key, "")))
    for record in results:
        case = ET.SubElement(node, "testcase", classname=_clean(f"conformance.{record.get('area', '')}"), name=_clean(record.get("id", "")), time="0")
        outcome, message = str(record.get("outcome", "")), _clean(record.get("message", ""))
        first = message.split("\n", 1)[0][:500]
        if outcome == "fail":
            ET.SubElement(case, "failure", message=first, type=_clean(record.get("level", "MUST"))).text = message
        elif outcome == "error":
            ET.SubElement(case, "error", message=first, type="infrastructure").text = message
        elif outcome == "skip":
            ET.SubElement(case, "skipped", message=first)
        elif outcome == "warn":
            ET.SubElement(case, "system-out").text = f"WARN ({_clean(record.get('level', ''))}): {message}"
    return root


def write(path: Path, document: JSONObject) -> Path:
    """Write ``junit.xml`` for ``document`` and return its path."""
    tree = ET.ElementTree(element(document))
    ET.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
