#!/usr/bin/env python3
"""Worst-case stack per C API function, from the linked firmware image.

Static: disassembles the ELF (objdump -d) and walks its call graph. A
function's frame is the sum of every stack-pointer decrement in its body
(push / stmdb sp! / str [sp, #-N]! / sub sp, and `add sp, rN` of a
negative literal on ARMv6-M; addi sp, sp, -N on RISC-V), which is its prologue for the code
compilers emit here and an over-estimate otherwise. Its depth is its frame
plus the deepest of its callees (bl / jal, and branches into another
function: tail calls, counted on top of the caller's frame, which
over-estimates by that frame). Indirect calls (blx rN / jalr) go to the
application's callbacks (clock, op, classifier, listener), whose own stack
is not counted: such functions are marked "+ callback".

Painted: rt_probe.c built with RT_PAINT_BYTES paints the stack below each
API call and reports the deepest word the call wrote ("stack <function>
<bytes>" lines of its output, read from --painted). Painting measures the
paths the probe took; the static value bounds every path, so painted must
never exceed static (that would be a bug of this analysis: it fails).

Fails (exit 1) when a function's static value is above its bound in the
table (column --key), when a function of the header has no bound, or on a
recursion. Prints issue 16's target (512 B) beside each bound, and the
deepest call chain of each function. --tighten / --init as in rt_cs.py.
"""
import argparse
import re
import struct
import subprocess
import sys

from rt_cs import header_functions, margin, read_bounds, write_bounds

TARGET = 512

FUNC = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSN = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
WORD = re.compile(r"^\s*([0-9a-f]+):\s+\.word\s+0x([0-9a-f]+)")
TARGET_REF = re.compile(r"\b([0-9a-f]+) <([^>+]+)(?:\+0x[0-9a-f]+)?>")


def regs(text):
    m = re.search(r"\{([^}]*)\}", text)
    if not m:
        return 0
    n = 0
    for part in m.group(1).split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-")
            n += int(b.strip()[1:]) - int(a.strip()[1:]) + 1 if a.strip()[1:].isdigit() else 1
        elif part:
            n += 1
    return n


def image_words(elf):
    """{address: word} of every aligned 32-bit little-endian word of the
    ELF32's allocated PROGBITS sections."""
    data = open(elf, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        sys.exit(f"rt_stack.py: {elf} is not a little-endian ELF32")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x2E)
    words = {}
    for i in range(shnum):
        _, stype, flags, addr, off, size = struct.unpack_from("<IIIIII", data,
                                                               shoff + i * shentsize)
        if stype == 1 and flags & 2:  # SHT_PROGBITS, SHF_ALLOC
            n = (size - (-addr % 4)) // 4
            start = off + (-addr % 4)
            for k, w in enumerate(struct.unpack_from(f"<{n}I", data, start)):
                words[addr + (-addr % 4) + 4 * k] = w
    return words


class Graph:
    """The call graph of a linked image."""

    def __init__(self, objdump, elf):
        res = subprocess.run([objdump, "-d", "--no-show-raw-insn", elf],
                             capture_output=True, text=True, check=True)
        self.words = image_words(elf)
        blocks, body = [], None
        for line in res.stdout.splitlines():
            m = FUNC.match(line)
            if m:
                body = []
                blocks.append((int(m.group(1), 16), m.group(2), body))
                continue
            m = INSN.match(line) if body is not None else None
            if m and not WORD.match(line):
                body.append((int(m.group(1), 16), m.group(2), m.group(3)))
        self.starts = sorted((a, n) for a, n, _ in blocks)
        self.by_start = {a: n for a, n in self.starts}
        # name -> (frame, direct callees, has indirect calls, referenced addresses)
        self.funcs = {name: self.function(name, body) for _, name, body in blocks}

    def containing(self, addr):
        lo, hi, best = 0, len(self.starts) - 1, None
        while lo <= hi:
            mid = (lo + hi) // 2
            if self.starts[mid][0] <= addr:
                best, lo = self.starts[mid][1], mid + 1
            else:
                hi = mid - 1
        return best

    def function(self, name, body):
        frame, callees, indirect, refs, lits = 0, set(), False, set(), {}
        for _, op, args in body:
            op = op.split(".")[0]
            m = re.search(r"@ \(([0-9a-f]+)", args)
            if m:  # a PC-relative load or address: its word, or the address
                at = int(m.group(1), 16)
                refs.add(self.words.get(at, at) if op == "ldr" else at)
                if op == "ldr" and at in self.words:
                    lits[args.split(",")[0].strip()] = self.words[at]
            m = re.match(r"(r\d+|ip|fp|sl|lr), #(\d+)", args)
            if m and op == "movw":  # an address built by movw/movt (ARMv7-M)
                lits["lo:" + m.group(1)] = int(m.group(2))
            elif m and op == "movt" and "lo:" + m.group(1) in lits:
                refs.add(int(m.group(2)) << 16 | lits["lo:" + m.group(1)])
            if op == "push" or (op == "stmdb" and args.startswith("sp!")):
                frame += 4 * regs(args)
            elif op.startswith("str") and re.search(r"\[sp, #-(\d+)\]!", args):
                frame += int(re.search(r"\[sp, #-(\d+)\]!", args).group(1))
            elif op in ("sub", "subw") and re.match(r"sp,\s*(sp,\s*)?#", args):
                frame += int(re.search(r"#(\d+)", args).group(1))
            elif op in ("add", "sub") and re.match(r"sp,\s*(r\d+)$", args):
                # ARMv6-M frames over 508 bytes: a literal added to sp.
                v = lits.get(re.match(r"sp,\s*(r\d+)$", args).group(1))
                if v is not None:
                    delta = (0x100000000 - v) if v >= 0x80000000 else -v
                    frame += max(0, delta if op == "add" else -delta)
            elif op in ("addi", "c.addi16sp", "c.addi") and \
                    re.match(r"sp,\s*(sp,\s*)?-\d+", args):
                frame += int(re.search(r"-(\d+)", args).group(1))
            # A branch or call into another function is a call (or a tail
            # call); a register target is an indirect call.
            t = TARGET_REF.search(args)
            if t and (op in ("bl", "jal", "j", "call", "tail") or
                      (op.startswith("b") and op not in ("bic", "bics"))):
                callee = self.containing(int(t.group(1), 16))
                if callee and callee != name:
                    callees.add(callee)
            elif op in ("blx", "jalr", "c.jalr") or \
                    (op in ("bx", "jr", "c.jr") and not re.match(r"(lr|ra)\b", args)):
                indirect = True
        return frame, callees, indirect, refs

    def targets_of(self, entry):
        """The functions of fusebox that indirect calls made on behalf of
        `entry` may reach: those whose address the code reachable from it
        loads, directly or from a table it loads the address of (a vtable,
        a table of closures). Rust functions only: the C functions are the
        application's callbacks, whose stack is the application's."""
        seen, todo, found = set(), [entry], set()
        while todo:
            f = todo.pop()
            if f in seen or f not in self.funcs:
                continue
            seen.add(f)
            _, callees, _, refs = self.funcs[f]
            todo.extend(callees)
            for r in refs:
                for k in range(32):  # the address itself, or a table there
                    w = self.words.get((r & ~3) + 4 * k) if k else r
                    if w is None:
                        break
                    g = self.by_start.get(w & ~1)
                    if g and g.startswith(("_ZN", "_R")) and g not in found:
                        found.add(g)
                        todo.append(g)
        return found

    # The setters store fusebox functions (the C listener's and clock's
    # trampolines) that any later call may reach through a pointer loaded
    # from data, not from its own code: they are targets of every entry.
    SETTERS = ("fusebox_set_listener", "fusebox_set_clock", "fusebox_set_clock32",
               "fusebox_set_clock_var32", "fusebox_set_clock_var64")

    def stored_targets(self):
        """The fusebox functions that the setters' code stores."""
        if not hasattr(self, "_stored"):
            self._stored = set()
            for s in self.SETTERS:
                if s in self.funcs:
                    self._stored |= self.targets_of(s)
        return self._stored

    def depth(self, entry):
        """(bytes, chain, indirect, cut) of the deepest path from `entry`;
        `cut`: cycles through indirect calls (each counted once)."""
        targets = self.targets_of(entry) | self.stored_targets()
        memo, cut = {}, []

        def walk(f, stack, kinds):
            # stack: the path; kinds[i]: whether stack[i] was reached by an
            # indirect call. A cycle with an indirect edge is cut (counted
            # once); a cycle of direct calls is a recursion: it fails.
            if f in memo:
                return memo[f]
            frame, callees, indirect, _ = self.funcs.get(f, (0, set(), False, set()))
            nexts = set(callees) | (targets - {f} if indirect else set())
            stack.append(f)
            best, chain, ind = 0, [], indirect
            for c in sorted(nexts):
                via = c not in callees
                if c in stack:
                    i = stack.index(c)
                    if via or any(kinds[i + 1:]):
                        cut.append(c)
                        continue
                    sys.exit(f"rt_stack.py: recursion: {' -> '.join(stack + [c])}")
                kinds.append(via)
                d, ch, i2 = walk(c, stack, kinds)
                kinds.pop()
                ind = ind or i2
                if d > best:
                    best, chain = d, ch
            stack.pop()
            # Not memoised when a cycle was cut below: the value depends on
            # the path.
            if not cut:
                memo[f] = (frame + best, [(f, frame)] + chain, ind)
            return (frame + best, [(f, frame)] + chain, ind)

        d, chain, ind = walk(entry, [], [False])
        return d, chain, ind, sorted(set(cut))


def short(name):
    """A readable name for a mangled Rust symbol: its last two path parts."""
    if not name.startswith(("_ZN", "_R")):
        return name
    # Length-prefixed identifiers, read left to right (legacy _ZN..E and
    # v0 _R mangling alike; v0's other tags are skipped over).
    parts, i = [], 3 if name.startswith("_ZN") else 2
    while i < len(name):
        m = re.compile(r"(\d+)_?").match(name, i)
        if not m or (name[i - 1].isdigit() if i > 0 else False):
            i += 1
            continue
        n = int(m.group(1))
        text = name[m.end():m.end() + n]
        if len(text) == n and re.match(r"[A-Za-z_$]", text):
            parts.append(text)
            i = m.end() + n
        else:
            i = m.end()
    parts = [p for p in parts if not re.fullmatch(r"h[0-9a-f]{16}", p)]
    out = "::".join(parts[-2:]) if parts else name
    for a, b in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("..", "::")):
        out = out.replace(a, b)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elf", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--bounds", required=True)
    ap.add_argument("--header", required=True)
    ap.add_argument("--painted", help="output of the painting probe (stack lines)")
    ap.add_argument("--objdump", default="arm-none-eabi-objdump")
    ap.add_argument("--tighten", action="store_true")
    ap.add_argument("--init", action="store_true")
    args = ap.parse_args()

    functions = header_functions(args.header)
    graph = Graph(args.objdump, args.elf)
    painted = {}
    if args.painted:
        for line in open(args.painted):
            p = line.split()
            if len(p) >= 3 and p[0] == "stack":
                painted[p[1]] = (int(p[2]), "overflowed" in line)
        if "rt_probe: ok" not in open(args.painted).read():
            print(f"FAIL: the painting probe did not finish ok ({args.painted})")
            return 1
    keys, table, lines = read_bounds(args.bounds)
    if args.key not in keys:
        sys.exit(f"rt_stack.py: no column {args.key!r} in {args.bounds}")
    ok = True
    missing = []
    print(f"worst-case stack per C API function (bytes), {args.label}")
    print(f"  {'function':28}{'static':>8}{'painted':>9}{'bound':>7}{'target':>8}")
    chains = []
    for f in functions:
        if f not in graph.funcs:
            print(f"  {f:28}  FAIL: not in {args.elf}")
            ok = False
            continue
        d, chain, indirect, cut = graph.depth(f)
        p, over = painted.get(f, (None, False))
        bound = table.get(f, {}).get(args.key)
        if args.init or (args.tighten and bound is not None and margin(d) < bound):
            table.setdefault(f, {k: None for k in keys})[args.key] = margin(d)
            bound = margin(d)
        note = " + callback" if indirect else ""
        if bound is None:
            note += "  FAIL: no bound in the table"
            ok = False
        elif d > bound:
            note += "  FAIL: above the bound"
            ok = False
        elif d > TARGET:
            missing.append(f)
            note += "  misses the target"
        if p is not None and (p > d or over):
            note += "  FAIL: painting went deeper than the analysis"
            ok = False
        ptxt = "-" if p is None else str(p)
        print(f"  {f:28}{d:>8}{ptxt:>9}{'-' if bound is None else bound:>7}{TARGET:>8}{note}")
        if d > TARGET:
            chains.append((f, chain))
    if chains:
        print("deepest call chains (frame bytes) of the functions above the target:")
        for f, chain in chains:
            print(f"  {f}: " + " -> ".join(f"{short(n)} {fr}" for n, fr in chain if fr or n == f))
    if args.init or args.tighten:
        write_bounds(args.bounds, keys, table, lines, functions)
        print(f"wrote column {args.key} of {args.bounds}")
    print(f"{len(missing)} functions above the target of {TARGET} B: {' '.join(missing) or 'none'}")
    print(f"{'ok' if ok else 'FAIL'}: stack, {args.label}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
