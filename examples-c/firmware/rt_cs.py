#!/usr/bin/env python3
"""Masked instructions per C API function, from an instruction trace.

Runs a firmware image of rt_probe.c under QEMU with one instruction per
translation block (`-singlestep -d exec,nochain`: QEMU 7.2 logs one line per
executed instruction) and reads the trace as it streams. A critical section
runs from the port's mask instruction (`cpsid i` on Cortex-M, the `csrrci`
of mstatus on RISC-V) in fusebox_port_critical_enter to the matching
restore (`msr primask` / `csrs mstatus`) in fusebox_port_critical_exit,
both counted; nested sections count towards the outermost one. The markers
`rt_mark_<function>` that rt_probe.c calls before each API call tell which
function a section belongs to.

For each function of the C API (every one that include/fusebox.h declares)
it prints the most instructions one critical section of it masked, and
fails (exit 1) when a value is above its bound in the bound table (column
--key), when a function of the header is not called by the probe or has
no bound, or when the probe itself fails. It also fails when a value is
above the target of 150 masked instructions, whatever its bound: every
function of every build meets it (the bounds, lower, catch smaller
regressions). Whole operations (a closed breaker's try_acquire +
record_success, a rejection) are counted too, instruction by instruction,
against their bounds (rows op_*), with issue 16's targets printed.

--tighten rewrites the column --key of the table to the measured values
plus the margin wherever that is lower than the bound (a ratchet: bounds
only go down). --init writes the column from the measurements.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

TARGET = 150
# Whole operations (rt_probe.c's rt_op_<name> markers) and issue 16's
# instruction targets for them. Reported and held to their bounds; a miss
# of the target is printed, not failed (docs/firmware.md says which).
OP_TARGETS = {"closed_pair": 200, "rejection": 130}


def margin(value):
    """The room a bound leaves above a measured value: 5 % + 8 (0 stays 0:
    a function without a critical section must not gain one)."""
    return 0 if value == 0 else value + (value + 19) // 20 + 8


def header_functions(header):
    """Every function include/fusebox.h declares, less the port's."""
    text = open(header).read()
    names = re.findall(r"^(?!typedef)[A-Za-z_][\w \*]*?\b(fusebox_\w+)\s*\(", text, re.M)
    out = []
    for n in names:
        if n.startswith("fusebox_port_") or n in out:
            continue
        out.append(n)
    return out


def symbols(nm, elf):
    """name -> address (Thumb bit cleared) of the ELF's function symbols."""
    res = subprocess.run([nm, elf], capture_output=True, text=True, check=True)
    out = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWw":
            out.setdefault(parts[2], int(parts[0], 16) & ~1)
    return out


def find_insn(objdump, elf, func, pattern):
    """Addresses of the instructions of `func` that match `pattern`."""
    res = subprocess.run([objdump, "-d", f"--disassemble={func}", elf],
                         capture_output=True, text=True, check=True)
    hits = []
    for line in res.stdout.splitlines():
        m = re.match(r"^\s*([0-9a-f]+):\s+(?:[0-9a-f]{2,8}\s)+\s*(.*)$", line)
        if m and re.search(pattern, m.group(2), re.I):
            hits.append(int(m.group(1), 16))
    if not hits:
        sys.exit(f"rt_cs.py: no instruction matching {pattern!r} in {func} of {elf}")
    return hits


def read_bounds(path):
    """(keys, {function: {key: bound or None}}, lines) of the bound table."""
    lines = open(path).read().splitlines()
    keys, table = None, {}
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if keys is None:
            keys = parts[1:]
            continue
        table[parts[0]] = {k: (None if v == "-" else int(v)) for k, v in zip(keys, parts[1:])}
    return keys, table, lines


def write_bounds(path, keys, table, lines, functions):
    """Rewrites the table (comments kept, columns aligned)."""
    head = [l for l in lines if l.startswith("#")]
    rows = [["function"] + keys]
    for f in functions:
        rows.append([f] + ["-" if table.get(f, {}).get(k) is None else str(table[f][k])
                           for k in keys])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    body = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        body.append(" ".join(cells).rstrip())
    open(path, "w").write("\n".join(head + body) + "\n")


def trace(cmd, mask_on, mask_off, marks, entries, ops=None, op_end=None):
    """Runs QEMU and counts. Returns (worst, regions, entered, stdout, rc,
    lines, op_counts): op_counts[name] is the instructions of the last run
    of operation `name`, from the entry of its marker (ops: name ->
    address) to the entry of op_end."""
    # PCs as the trace prints them: 8 hex digits.
    on = {b"%08x" % a for a in mask_on}
    off = {b"%08x" % a for a in mask_off}
    op_of = {b"%08x" % a: n for n, a in (ops or {}).items()}
    end_pc = b"%08x" % op_end if op_end is not None else None
    op_counts, op_current, op_count = {}, None, 0
    mark_of = {b"%08x" % a: f for f, a in marks.items()}  # None: rt_mark_none
    entry_of = {}
    for f, a in entries.items():
        entry_of.setdefault(b"%08x" % a, []).append(f)
    special = on | off | set(mark_of) | set(entry_of) | set(op_of) | ({end_pc} - {None})
    worst, regions, entered = {}, {}, set()
    current, depth, count, lines = None, 0, 0, 0
    # The log goes through a FIFO: QEMU buffers a log file (to stderr it
    # makes one write per line, four times slower).
    tmp = tempfile.mkdtemp(prefix="rt_cs.")
    fifo = os.path.join(tmp, "trace")
    os.mkfifo(fifo)
    out_file = open(os.path.join(tmp, "stdout"), "w+b")
    proc = subprocess.Popen(cmd + ["-D", fifo], stdout=out_file)

    def unblock():
        # If QEMU ends without opening the log, open it ourselves so that
        # the reader's open returns (and reads nothing).
        proc.wait()
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass

    threading.Thread(target=unblock, daemon=True).start()
    log = open(fifo, "rb", buffering=1 << 20)
    for line in log:
        lines += 1
        if depth:
            count += 1
        if op_current is not None:
            op_count += 1
        i = line.find(b"[")
        if i < 0:
            continue
        pc = line[i + 10:i + 18]
        if pc not in special:
            continue
        if pc == end_pc and op_current is not None:
            # The end marker's own instruction is not the operation's.
            op_counts[op_current] = op_count - 1
            op_current = None
        elif pc in op_of:
            op_current, op_count = op_of[pc], 1
        if pc in on:
            if depth == 0:
                count = 1
            depth += 1
        elif pc in off:
            depth -= 1
            if depth == 0:
                key = current or "(outside any API call)"
                regions[key] = regions.get(key, 0) + 1
                if count > worst.get(key, 0):
                    worst[key] = count
            elif depth < 0:
                sys.exit("rt_cs.py: a critical_exit without its enter")
        elif pc in mark_of:
            current = mark_of[pc]
        if pc in entry_of and current in entry_of[pc]:
            entered.add(current)
    rc = proc.wait()
    out_file.seek(0)
    out = out_file.read().decode(errors="replace")
    shutil.rmtree(tmp)
    return worst, regions, entered, out, rc, lines, op_counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elf", required=True)
    ap.add_argument("--key", required=True, help="the bound table's column: build and capacity")
    ap.add_argument("--label", required=True)
    ap.add_argument("--bounds", required=True)
    ap.add_argument("--header", required=True)
    ap.add_argument("--nm", default="arm-none-eabi-nm")
    ap.add_argument("--objdump", default="arm-none-eabi-objdump")
    ap.add_argument("--tighten", action="store_true")
    ap.add_argument("--init", action="store_true")
    ap.add_argument("qemu", nargs=argparse.REMAINDER, help="-- then the QEMU command")
    args = ap.parse_args()
    cmd = args.qemu[1:] if args.qemu[:1] == ["--"] else args.qemu
    if not cmd:
        sys.exit("rt_cs.py: no QEMU command")

    functions = header_functions(args.header)
    syms = symbols(args.nm, args.elf)
    marks = {f: syms[f"rt_mark_{f}"] for f in functions if f"rt_mark_{f}" in syms}
    if "rt_mark_none" not in syms:
        sys.exit(f"rt_cs.py: {args.elf} has no rt_mark_none: not an rt_probe.c image")
    marks[None] = syms["rt_mark_none"]
    unprobed = [f for f in functions if f not in marks]
    entries = {f: syms[f] for f in functions if f in syms}
    mask_on = find_insn(args.objdump, args.elf, "fusebox_port_critical_enter",
                        r"^cpsid\s+i|^csrrci?\s.*mstatus")
    mask_off = find_insn(args.objdump, args.elf, "fusebox_port_critical_exit",
                         r"^msr\s+primask|^csrs\s.*mstatus")

    ops = {n: syms[f"rt_op_{n}"] for n in OP_TARGETS if f"rt_op_{n}" in syms}
    if len(ops) != len(OP_TARGETS) or "rt_op_end" not in syms:
        sys.exit(f"rt_cs.py: {args.elf} lacks the operation markers rt_op_*")
    worst, regions, entered, out, rc, lines, op_counts = trace(
        cmd + ["-singlestep", "-d", "exec,nochain"], mask_on, mask_off, marks, entries,
        ops, syms["rt_op_end"])
    sys.stdout.write(out if "rt_probe: ok" not in out else
                     "".join(l + "\n" for l in out.splitlines() if not l.startswith("stack ")))
    ok = rc == 0
    if rc != 0:
        print(f"FAIL: the probe exited with {rc}")

    keys, table, lines_ = read_bounds(args.bounds)
    if args.key not in keys:
        sys.exit(f"rt_cs.py: no column {args.key!r} in {args.bounds}")
    print(f"\nmasked instructions per C API function, {args.label}"
          f" ({lines} instructions traced)")
    print(f"  {'function':28}{'masked':>9}{'sections':>9}{'bound':>9}{'target':>8}")
    missing = []
    for f in functions:
        if f in unprobed:
            print(f"  {f:28}{'':>9}{'':>9}{'':>9}{TARGET:>8}  FAIL: rt_probe.c does not call it")
            ok = False
            continue
        w, n = worst.get(f, 0), regions.get(f, 0)
        bound = table.get(f, {}).get(args.key)
        if args.init or (args.tighten and bound is not None and margin(w) < bound):
            table.setdefault(f, {k: None for k in keys})[args.key] = margin(w)
            bound = margin(w)
        note = ""
        if f not in entered:
            note = "  FAIL: never entered"
            ok = False
        elif bound is None:
            note = "  FAIL: no bound in the table"
            ok = False
        elif w > bound:
            note = "  FAIL: above the bound"
            ok = False
        elif w > TARGET:
            note = "  FAIL: above the target"
            missing.append(f)
            ok = False
        print(f"  {f:28}{w:>9}{n:>9}{'-' if bound is None else bound:>9}{TARGET:>8}{note}")
    for k in worst:
        if k not in functions:
            print(f"  {k}: {worst[k]} masked instructions in {regions[k]} sections"
                  " (not attributed to an API call)")
    print(f"\ninstructions per operation (calls, port, variable-clock read), {args.label}")
    print(f"  {'operation':28}{'insns':>9}{'':>9}{'bound':>9}{'target':>8}")
    for op, target in OP_TARGETS.items():
        row = f"op_{op}"
        n = op_counts.get(op)
        bound = table.get(row, {}).get(args.key)
        if n is not None and (args.init or (args.tighten and bound is not None
                                            and margin(n) < bound)):
            table.setdefault(row, {k: None for k in keys})[args.key] = margin(n)
            bound = margin(n)
        note = ""
        if n is None:
            note, ok = "  FAIL: never run", False
        elif bound is None:
            note, ok = "  FAIL: no bound in the table", False
        elif n > bound:
            note, ok = "  FAIL: above the bound", False
        elif n > target:
            note = "  misses the target"
        shown = "-" if n is None else n
        print(f"  {row:28}{shown:>9}{'':>9}{'-' if bound is None else bound:>9}{target:>8}{note}")
    if args.init or args.tighten:
        write_bounds(args.bounds, keys, table, lines_, functions + [f"op_{o}" for o in OP_TARGETS])
        print(f"wrote column {args.key} of {args.bounds}")
    print(f"{len(missing)} functions above the target of {TARGET}: {' '.join(missing) or 'none'}")
    print(f"{'ok' if ok else 'FAIL'}: masked instructions, {args.label}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
