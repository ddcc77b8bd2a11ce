#!/usr/bin/env python3
"""Flash and RAM that fusebox takes in a linked firmware image.

Flash: reads GNU ld map files (what the linker kept after --gc-sections) of
two probe images that link the C API of size_probe.c, without and with the snapshot
functions, and sums the input sections that came from libfusebox.a:
fusebox's own object, and apart from it the compiler_builtins routines
(memcpy, memset, memcmp) it pulled in, which are the C library's functions,
taken from the Rust archive only when it comes first on the link line.

RAM: the registry's size from the firmware ELF's symbol table; one slot
exactly, as the difference with an ELF built with one slot more.

With --policies-map/--policies-elf it also reports, without a budget, the
flash of that C API and the registry RAM of a build with policies;
with --policies-elf-plus-one (that build with one slot more), the size of
one slot with policies, which grows with the rate-window limits
(FUSEBOX_MAX_WINDOW_CALLS, FUSEBOX_MAX_BUCKETS).

Budgets: fusebox's own flash for the core C API (the snapshot functions are
reported on top; --gc-sections drops them from firmware that does not call
them), and the RAM of one breaker's state (a slot less its 44-byte name
entry and 8-byte id). Exits 1 when a budget is exceeded.
"""
import argparse
import re
import subprocess
import sys

CATEGORIES = (".text", ".rodata", ".data", ".bss")
ROW = re.compile(r"^\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$")


def kept_sections(map_path):
    """Yield (input section name, size, file) for sections the linker kept."""
    with open(map_path) as f:
        lines = f.read().splitlines()
    try:
        start = lines.index("Linker script and memory map")
    except ValueError:
        sys.exit(f"{map_path}: not a GNU ld map file")
    pending = None
    for line in lines[start:]:
        if pending is not None:
            m = ROW.match(line)
            if m:
                yield pending, int(m.group(2), 16), m.group(3)
            pending = None
            continue
        m = re.match(r"^ (\.\S+)(.*)$", line)
        if not m:
            continue
        name, rest = m.group(1), m.group(2)
        if rest.strip():
            m2 = ROW.match(" " + rest.strip() if not rest.startswith(" ") else rest)
            if m2:
                yield name, int(m2.group(2), 16), m2.group(3)
        else:
            pending = name  # long names put address/size/file on the next line


def category(section):
    for c in CATEGORIES:
        if section == c or section.startswith(c + "."):
            return c
    return None


def flash_of(map_path):
    own = dict.fromkeys(CATEGORIES, 0)
    builtins = dict.fromkeys(CATEGORIES, 0)
    for section, size, origin in kept_sections(map_path):
        if "libfusebox.a(" not in origin:
            continue
        cat = category(section)
        if cat is not None:
            (builtins if "compiler_builtins" in origin else own)[cat] += size
    return own, builtins


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--core-map", required=True)
    ap.add_argument("--all-map", required=True)
    ap.add_argument("--elf", required=True)
    ap.add_argument("--elf-plus-one", required=True)
    ap.add_argument("--nm", default="arm-none-eabi-nm")
    ap.add_argument("--capacity", type=int, default=16)
    ap.add_argument("--budget-flash", type=int, default=4096)
    ap.add_argument("--budget-breaker", type=int, default=64)
    ap.add_argument("--policies-map", help="probe linking the C API of size_probe.c, built with policies")
    ap.add_argument("--policies-elf", help="the firmware built with policies")
    ap.add_argument("--policies-elf-plus-one", help="the same with one registry slot more")
    args = ap.parse_args()

    flash = lambda d: d[".text"] + d[".rodata"] + d[".data"]
    core, core_builtins = flash_of(args.core_map)
    full, full_builtins = flash_of(args.all_map)
    print("fusebox flash, C API of size_probe.c linked, after --gc-sections (bytes):")
    print(f"  {'':34}{'.text':>7}{'.rodata':>9}{'.data':>7}{'total':>8}")
    for label, d in (("core C API", core), ("core + snapshot functions", full),
                     ("compiler_builtins (core)", core_builtins),
                     ("compiler_builtins (+ snapshot)", full_builtins)):
        print(f"  {label:34}{d['.text']:>7}{d['.rodata']:>9}{d['.data']:>7}{flash(d):>8}")

    registry = registry_bytes(args.nm, args.elf)
    slot = registry_bytes(args.nm, args.elf_plus_one) - registry
    # Less the name entry (sequence number, occupant's id, 31-byte name and
    # its length: src/registry/names.rs) and the slot's own 8-byte id.
    breaker = slot - 44 - 8
    print(f"RAM: registry at capacity {args.capacity}: {registry} bytes"
          f" = {args.capacity} slots of {slot} bytes + {registry - args.capacity * slot} of bookkeeping")
    print(f"     one slot: {slot} bytes = 44-byte name entry + 8-byte id"
          f" + {breaker} bytes of breaker state, occupancy flag and slot lock")

    if args.policies_map and args.policies_elf:
        pol, _ = flash_of(args.policies_map)
        pol_registry = registry_bytes(args.nm, args.policies_elf)
        print(f"with policies (reported, no budget): size_probe C API flash {flash(pol)} bytes;"
              f" registry at capacity {args.capacity}: {pol_registry} bytes"
              f" (slots and the 32-entry event queue)")
        if args.policies_elf_plus_one:
            pol_slot = registry_bytes(args.nm, args.policies_elf_plus_one) - pol_registry
            print(f"     one slot with policies: {pol_slot} bytes = 44-byte name entry + 8-byte id"
                  f" + {pol_slot - 52} bytes of breaker state, occupancy flag and slot lock"
                  f" (window limits: FUSEBOX_MAX_WINDOW_CALLS, FUSEBOX_MAX_BUCKETS)")

    ok = True
    for what, value, budget in (("core C API flash", flash(core), args.budget_flash),
                                ("breaker state", breaker, args.budget_breaker)):
        verdict = "ok" if value <= budget else "FAIL"
        ok &= value <= budget
        print(f"{verdict}: {what} {value} bytes, budget {budget}")
    return 0 if ok else 1


def registry_bytes(nm_tool, elf):
    """The registry's size. It must be in .bss (all-zero when empty): in
    .data it would also cost its size in flash, as an initial image."""
    nm = subprocess.run([nm_tool, "-S", "-C", elf], capture_output=True, text=True, check=True)
    for line in nm.stdout.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[3].endswith("ffi::REGISTRY"):
            if parts[2] not in ("b", "B"):
                sys.exit(f"FAIL: {elf}: the registry is in section type {parts[2]!r}, not .bss:"
                         " an empty registry is no longer all-zero")
            return int(parts[1], 16)
    sys.exit(f"{elf}: REGISTRY symbol not found")


if __name__ == "__main__":
    sys.exit(main())
