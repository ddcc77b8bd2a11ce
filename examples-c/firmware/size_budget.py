#!/usr/bin/env python3
"""fusebox's flash in one probe image (a GNU ld map), against a budget.

The flash is fusebox's own input sections (.text, .rodata, .data) that the
linker kept from libfusebox.a, as size_report.py counts them (Rust's
compiler_builtins apart). Prints the value, the budget and issue 16's
target, and fails (exit 1) above the budget. The budget is a ratchet:
today's value plus a small margin, lowered when a change shrinks the code.
"""
import argparse
import sys

from size_report import flash_of


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--map", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--budget", type=int, help="fail above it (none: report only)")
    ap.add_argument("--target", type=int)
    args = ap.parse_args()
    own, builtins = flash_of(args.map)
    flash = own[".text"] + own[".rodata"] + own[".data"]
    extra = builtins[".text"] + builtins[".rodata"] + builtins[".data"]
    line = (f"{args.label}: fusebox flash {flash} bytes (.text {own['.text']},"
            f" .rodata {own['.rodata']}, .data {own['.data']}; compiler_builtins {extra} more)")
    if args.budget is None:
        print(f"{line}, no budget" + (f", target {args.target}" if args.target else ""))
        return 0
    ok = flash <= args.budget
    print(f"{'ok' if ok else 'FAIL'}: {line}, budget {args.budget}"
          + (f", target {args.target}" if args.target else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
