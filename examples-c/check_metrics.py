#!/usr/bin/env python3
"""Parses examples-c/metrics.c's output with prometheus_client's parser
(strict: any malformed line raises) and checks the families and samples
the demo's breakers must have. Usage: metrics | python3 check_metrics.py"""
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
families = {f.name: f for f in text_string_to_metric_families(text)}
need = {"fusebox_state", "fusebox_calls", "fusebox_failure_rate",
        "fusebox_slow_call_rate", "fusebox_open_seconds"}
missing = need - set(families)
assert not missing, f"missing families: {missing} (have {sorted(families)})"


def sample(family, **labels):
    for s in families[family].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError(f"no sample {family} {labels}")


assert sample("fusebox_state", name="inventory", state="open") == 1
assert sample("fusebox_state", name="inventory", state="closed") == 0
assert sample("fusebox_state", name="payments", state="closed") == 1
assert sample("fusebox_calls", name="payments", outcome="succeeded") == 5
assert sample("fusebox_calls", name="inventory", outcome="rejected") == 1
assert sample("fusebox_calls", name="inventory", outcome="admitted") == 2
# The name with a quote, a backslash and "now" survives the escaping.
assert sample("fusebox_state", name='say "hi"\\now', state="closed") == 1
print(f"metrics parsed: {len(families)} families, "
      f"{sum(len(f.samples) for f in families.values())} samples")
