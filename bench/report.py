#!/usr/bin/env python3
"""Prints criterion's medians for each group with the ratio to the group's
lower bound (and, in the reject group, to the minimal rejection that checks
the time and counts itself). usage: report.py target/criterion"""
import json
import os
import sys

root = sys.argv[1]
for group in ("call", "acquire_record", "reject"):
    gdir = os.path.join(root, group)
    rows = []
    for bench in sorted(os.listdir(gdir)):
        est = os.path.join(gdir, bench, "new", "estimates.json")
        bench_json = os.path.join(gdir, bench, "new", "benchmark.json")
        if not os.path.exists(est):
            continue
        with open(bench_json) as f:
            name = json.load(f)["function_id"]
        with open(est) as f:
            rows.append((name, json.load(f)["median"]["point_estimate"]))
    bound = dict(rows).get("lower bound")
    # The reject group has a second bound: a rejection that checks the time
    # and counts itself, as a Snakepit breaker's must.
    counted = dict(rows).get("minimal, time + count")
    print(f"\n{group}: median ns/op (ratio to lower bound"
          + (", and to the minimal time + count rejection)" if counted else ")"))
    for name, ns in sorted(rows, key=lambda r: r[1]):
        ratio = f"{ns / bound:6.1f}x" if bound else ""
        second = f"{ns / counted:6.1f}x" if counted else ""
        print(f"  {name:28} {ns:8.2f} ns  {ratio} {second}".rstrip())
