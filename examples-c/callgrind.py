#!/usr/bin/env python3
"""Instructions per C API call, counted by callgrind (deterministic).

Runs the callgrind.c program under `valgrind --tool=callgrind`, reads the
inclusive instruction count of each loop_* function, divides by the loop
count, and fails (exit 1) if any operation's per-call figure is above its
bound: a regression bound, about 10 % over the figure measured when it was
last set (x86_64, release, LTO; 2026-12-01). Lower a bound when an
operation gets cheaper; raise one only with the reason in the commit.

usage: callgrind.py PROGRAM
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

N = 10000
LOOPS = {
    # loop function: (label, bound in instructions per call)
    "loop_acquire_record": ("try_acquire + record_success (closed)", 100),
    "loop_call": ("call, op succeeds (closed)", 96),
    "loop_reject": ("try_acquire rejected (open)", 171),
    "loop_reject_var": ("the same, variable clock", 171),
    # 241 since the stats are built into zeroed caller storage (firmware
    # stacks, 2026-12-02): the zeroing costs hosts some 40 instructions.
    "loop_stats": ("stats_get", 265),
    "loop_lookup": ("lookup by name (2 breakers)", 143),
    "loop_create_destroy": ("create + destroy", 880),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("program")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}",
                        args.program], check=True, stdout=subprocess.DEVNULL)
        ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                             check=True, capture_output=True, text=True).stdout
    counts = {}
    for line in ann.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\(.*?\)\s+\S*:(\w+)", line) or re.match(r"^\s*([\d,]+)\s+\S*:(\w+)", line)
        if m and m.group(2) in LOOPS:
            counts[m.group(2)] = int(m.group(1).replace(",", ""))
    missing = [k for k in LOOPS if k not in counts]
    if missing:
        sys.exit(f"callgrind_annotate output lacks {missing}:\n{ann}")
    ok = True
    print("instructions per C API call (callgrind, x86_64):")
    for fn, (label, bound) in LOOPS.items():
        per = counts[fn] / N
        flag = f"  (bound {bound})"
        if per > bound:
            flag = f"  FAIL: over its bound {bound}"
            ok = False
        print(f"  {label:40} {per:8.1f}{flag}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
