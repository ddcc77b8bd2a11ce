#!/bin/sh
# hide-symbols.sh IN.a OUT.a: the static library with only `fusebox_*`
# defined globally. Links, relocatably (ld -r), the archive members that
# fusebox's functions pull in into one object, then makes every defined
# symbol but the `fusebox_*` exports local: Rust's std, its runtime and the
# critical-section implementation can then no longer collide with another
# Rust static library in the same program. Section groups (COMDAT) become
# plain sections (--force-group-allocation): a group left in place would
# let the linker drop another library's copy of a symbol made local here.
# Undefined references (libc, the firmware port's fusebox_port_* hooks)
# stay undefined.
# LD, OBJCOPY, NM, AR and CC choose the tools (arm-none-eabi-* for firmware);
# LDRFLAGS, options for the relocatable link (riscv64-unknown-elf-ld needs
# `-m elf32lriscv` for a 32-bit RISC-V archive).
set -eu
in=$1
out=$2
LD=${LD:-ld}
LDRFLAGS=${LDRFLAGS:-}
OBJCOPY=${OBJCOPY:-objcopy}
NM=${NM:-nm}
AR=${AR:-ar}
CC=${CC:-cc}
# ar and nm load every plugin in bfd-plugins, and some (an older LLVMgold)
# abort on objects of a newer LLVM: name the compiler's own LTO plugin when
# there is one, so that they load that one.
plugin=$("$CC" -print-file-name=liblto_plugin.so 2>/dev/null || true)
case $plugin in
/*) [ -f "$plugin" ] && set -- --plugin "$plugin" || set -- ;;
*) set -- ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$NM" "$@" -g --defined-only "$in" >"$tmp/symbols" 2>/dev/null
awk '$3 ~ /^fusebox_/ { print $3 }' "$tmp/symbols" | sort -u >"$tmp/exports"
if ! [ -s "$tmp/exports" ]; then
    echo "hide-symbols.sh: no fusebox_ symbol defined in $in" >&2
    exit 1
fi
# shellcheck disable=SC2046,SC2086 # one -u per export; LDRFLAGS are words
"$LD" $LDRFLAGS -r --force-group-allocation $(sed 's/^/-u /' "$tmp/exports") -o "$tmp/fusebox.o" "$in"
"$OBJCOPY" --keep-global-symbols="$tmp/exports" "$tmp/fusebox.o"
mkdir -p "$(dirname "$out")"
rm -f "$out"
"$AR" "$@" rcs "$out" "$tmp/fusebox.o"
