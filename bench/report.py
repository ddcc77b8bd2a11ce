#!/usr/bin/env python3
"""Prints criterion's medians for each group as a markdown table, with the
ratio to the group's lower bound, in the reject group to the minimal
rejection that reads the time, compares and counts, and for the C API rows
to the Rust Registry's same operation (the registry handed a clock in the
reject group, as the C API is), inlined and, where a row has it, called
through a function pointer as the C API is. usage: report.py target/criterion"""
import json
import os
import sys

root = sys.argv[1]
# The Registry row each group's C API rows are compared with.
REGISTRY_ROW = {"call": "fusebox Registry, op by pointer", "acquire_record": "fusebox Registry by id",
                "reject": "fusebox Registry, clock"}
# The same Registry operations, each called through a function pointer as
# the C API's are: the C layer's own cost, apart from the calls'.
BY_POINTER_ROW = {"acquire_record": "fusebox Registry, each by pointer",
                  "reject": "fusebox Registry, clock, by pointer"}
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
    by_name = dict(rows)
    bound = by_name.get("lower bound")
    counted = by_name.get("minimal, time + count")
    registry = by_name.get(REGISTRY_ROW[group])
    by_pointer = by_name.get(BY_POINTER_ROW.get(group))
    print(f"\n{group}: median ns/op\n")
    head = "| row | ns | to lower bound |"
    if counted:
        head += " to time + count |"
    head += " C API to Registry |"
    if by_pointer:
        head += " C API to Registry by pointer |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, ns in sorted(rows, key=lambda r: r[1]):
        line = f"| {name} | {ns:.2f} | {ns / bound:.1f}x |" if bound else f"| {name} | {ns:.2f} | |"
        if counted:
            line += f" {ns / counted:.1f}x |"
        for base in (registry, by_pointer) if by_pointer else (registry,):
            if base and name.startswith("fusebox C API"):
                line += f" {ns / base:.2f}x |"
            else:
                line += " |"
        print(line)
