#!/usr/bin/env python3
"""Flash and RAM that fusebox takes in a linked firmware image.

Reads the GNU ld map file (what the linker kept after --gc-sections) and
sums the input sections that came from libfusebox.a: fusebox's own object
and the compiler_builtins routines (memcpy, memcmp, ...) it pulled in.
Reads the registry's size from the ELF's symbol table. Exits 1 when a budget
is exceeded.

The RAM of one registry slot is exact: the difference between the registry
of ELF (built with --capacity slots) and of a second ELF built with one slot
more (--elf-plus-one).

Budgets: fusebox's own flash (its object's .text+.rodata+.data) and the RAM
of one breaker's state (the slot less its 32-byte name and generation).
The compiler_builtins routines (memcpy, memset, memcmp) are shown apart:
they are the C library's functions, taken from the Rust archive only when
it comes first on the link line.

usage: size_report.py MAP ELF --elf-plus-one ELF2 [--nm arm-none-eabi-nm]
                      [--capacity 16] [--budget-flash 4096] [--budget-breaker 64]
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("map")
    ap.add_argument("elf")
    ap.add_argument("--nm", default="arm-none-eabi-nm")
    ap.add_argument("--capacity", type=int, default=16)
    ap.add_argument("--budget-flash", type=int, default=4096)
    ap.add_argument("--elf-plus-one", required=True)
    ap.add_argument("--budget-breaker", type=int, default=64)
    args = ap.parse_args()

    own = dict.fromkeys(CATEGORIES, 0)
    builtins = dict.fromkeys(CATEGORIES, 0)
    for section, size, origin in kept_sections(args.map):
        if "libfusebox.a(" not in origin:
            continue
        cat = category(section)
        if cat is None:
            continue
        (builtins if "compiler_builtins" in origin else own)[cat] += size

    print(f"fusebox in {args.elf} (after --gc-sections):")
    print(f"{'':22}{'.text':>8}{'.rodata':>9}{'.data':>7}{'.bss':>7}")
    for label, d in (("fusebox", own), ("compiler_builtins", builtins)):
        print(f"  {label:20}{d['.text']:>8}{d['.rodata']:>9}{d['.data']:>7}{d['.bss']:>7}")
    flash = sum(own[c] for c in (".text", ".rodata", ".data"))
    flash_builtins = sum(builtins[c] for c in (".text", ".rodata", ".data"))
    ram = sum(own[c] + builtins[c] for c in (".data", ".bss"))
    print(f"  fusebox flash (.text+.rodata+.data): {flash} bytes"
          f" (+{flash_builtins} of compiler_builtins mem routines = {flash + flash_builtins})")
    print(f"  static RAM (.data+.bss):             {ram} bytes")

    registry = registry_bytes(args.nm, args.elf)
    slot = registry_bytes(args.nm, args.elf_plus_one) - registry
    breaker = slot - 32 - 4  # less the name (31 bytes + length) and generation
    print(f"  registry at capacity {args.capacity}: {registry} bytes"
          f" = {args.capacity} slots of {slot} bytes + {registry - args.capacity * slot} of bookkeeping")
    print(f"  one slot: {slot} bytes = 32-byte name + 4-byte generation"
          f" + {breaker} bytes of breaker state (with padding)")

    ok = True
    for what, value, budget in (("flash", flash, args.budget_flash),
                                ("breaker state", breaker, args.budget_breaker)):
        verdict = "ok" if value <= budget else "FAIL"
        ok &= value <= budget
        print(f"{verdict}: {what} {value} bytes, budget {budget}")
    return 0 if ok else 1


def registry_bytes(nm_tool, elf):
    nm = subprocess.run([nm_tool, "-S", "-C", elf], capture_output=True, text=True, check=True)
    for line in nm.stdout.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[3].endswith("ffi::REGISTRY"):
            return int(parts[1], 16)
    sys.exit(f"{elf}: REGISTRY symbol not found")


if __name__ == "__main__":
    sys.exit(main())
