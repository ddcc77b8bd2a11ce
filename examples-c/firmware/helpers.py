#!/usr/bin/env python3
"""Which 64-bit arithmetic helpers (and memmove) fusebox links into firmware.

Reads the symbol table of an image that links only fusebox's C API
(size_probe.c with bare_start.c: no C library, --gc-sections), so every
helper in it is there because fusebox calls it. Prints the helpers found
and where each came from (the GNU ld map: libgcc or Rust's
compiler_builtins inside libfusebox.a), and fails (exit 1) when the image
holds a helper that the table does not allow for this build (--key): a
build without a helper today must not gain one. When a helper disappears,
its entry can be removed from the table (the target is none at all).
"""
import argparse
import re
import subprocess
import sys

# Issue 16's list (64-bit division, multiplication and shifts; memmove),
# the entry points that reach memmove, the RISC-V names of the 64-bit
# remainders, and 32-bit division (a helper call on cores without a divide
# instruction: Cortex-M0, RV32 without M).
HELPERS = ("__aeabi_uldivmod", "__aeabi_ldivmod", "__aeabi_lmul", "__aeabi_llsl",
           "__aeabi_llsr", "__aeabi_lasr", "__udivdi3", "__divdi3", "__umoddi3", "__moddi3",
           "__muldi3", "memmove", "__aeabi_memmove", "__aeabi_memmove4", "__aeabi_memmove8",
           "__aeabi_uidiv", "__aeabi_idiv", "__aeabi_uidivmod", "__aeabi_idivmod",
           "__udivsi3", "__divsi3")


def allowed(table, key):
    for line in open(table):
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split()
        if parts[0] == key:
            return {p for p in parts[1:] if p != "-"}
    sys.exit(f"helpers.py: no row {key!r} in {table}")


def origin(map_path, sym):
    """The archive member that defined `sym`, from the linker map."""
    if not map_path:
        return ""
    text = open(map_path).read()
    # "Archive member included to satisfy reference by file (symbol)":
    # lines "lib(member)\n        file (sym)".
    m = re.search(r"^(\S+\.a)\((\S+)\)\s*\n\s+\S+ \(" + re.escape(sym) + r"\)", text, re.M)
    if not m:
        return ""
    lib = m.group(1).rsplit("/", 1)[-1]
    member = m.group(2)
    if "compiler_builtins" in member:
        return f"{lib}: Rust's compiler_builtins"
    return f"{lib}({member})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elf", required=True)
    ap.add_argument("--map")
    ap.add_argument("--key", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--nm", default="arm-none-eabi-nm")
    args = ap.parse_args()
    out = subprocess.run([args.nm, "-S", args.elf], capture_output=True, text=True,
                         check=True).stdout
    size, real = {}, {}
    for p in (l.split() for l in out.splitlines()):
        if len(p) == 4 and p[2] in "TtWw":
            name = p[3]
            # Rust's compiler_builtins defines memmove under a mangled name
            # (the C name is an alias where it exports one).
            m = re.search(r"compiler_builtins3mem7(memmove)$", name)
            key = m.group(1) if m else name
            size[key] = max(size.get(key, 0), int(p[1], 16))
            real.setdefault(key, name)
    defined = set(size)
    if "fusebox_create" not in defined:
        sys.exit(f"helpers.py: {args.elf} does not link fusebox's C API")
    found = [h for h in HELPERS if h in defined]
    ok_set = allowed(args.table, args.key)
    ok = True
    print(f"helpers linked because of fusebox, {args.label}: {len(found)}")
    for h in found:
        src = origin(args.map, real[h])
        if not src and "compiler_builtins" in real[h]:
            src = "Rust's compiler_builtins"
        verdict = "allowed (today's)" if h in ok_set else "FAIL: new"
        ok &= h in ok_set
        print(f"  {h:20} {size[h]:>5} B  {verdict}{'; from ' + src if src else ''}")
    gone = sorted(ok_set - set(found))
    if gone:
        print(f"  no longer linked (remove from {args.table}): {' '.join(gone)}")
    print(f"{'ok' if ok else 'FAIL'}: helpers, {args.label} (target: none)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
