"""Per-family protocol benchmark cases loaded by benchmarks/protocols.py."""
