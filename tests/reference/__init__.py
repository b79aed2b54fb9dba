"""Tests of conformance.reference: the embedded reference server, its faults and variants."""
