#!/usr/bin/env python3
"""Checks that a library file built for another instruction set is compiled alone.

A .cpp that starts `#pragma GCC target("avx2")` before its includes
(kernels/upfirdn2d_avx2.cpp) builds what those headers define for AVX2. In a
unity build's unit a file before it has already included them (#pragma
once) without the pragma: the code compiled, ran, and had no AVX2
instruction. CMakeLists.txt keeps such files out of the units
(SKIP_UNITY_BUILD_INCLUSION); this checks the build that came out.

    target_pragma_objects.py --sources "A.cpp;B.cpp;..." --objects "X.o;Y.o;..."

(CMake's lists: a library's SOURCES and $<TARGET_OBJECTS>; the options may
repeat, one pair per library.) For each source whose lines start
`#pragma GCC target("...")`, an object of its own must be among the objects
(`<name>.cpp.o`), and `objdump -d` of it, where it holds code, must show
the target's registers: %ymm or %zmm for an avx target (on x86-64 machines;
a file whose #ifdef leaves it empty for this compiler is only checked to be
alone). Prints one line per such file; exits 0
when all hold, 1 when one does not, 2 on a usage error.
"""
import os
import platform
import re
import subprocess
import sys

PRAGMA = re.compile(r'^#pragma GCC target\s*\(\s*"([^"]*)"', re.M)


def registers_for(target):
    """Register names, one of which code built for this target uses (AVX-512
    code may keep to 256-bit vectors), or None to check none."""
    if "avx" in target:
        return ("%ymm", "%zmm")
    return None


def has_code(dump):
    """Whether objdump -d shows any instruction (a file whose #ifdef is off
    for this compiler, e.g. clang for upfirdn2d_avx2.cpp, compiles to none)."""
    return re.search(r"^\s+[0-9a-f]+:\s+\S", dump, re.M) is not None


def main(argv):
    sources, objects = [], []
    i = 0
    while i < len(argv):
        if argv[i] in ("--sources", "--objects") and i + 1 < len(argv):
            (sources if argv[i] == "--sources" else objects).extend(x for x in argv[i + 1].split(";") if x)
            i += 2
        else:
            print("usage: target_pragma_objects.py --sources LIST --objects LIST [...]", file=sys.stderr)
            return 2
    failed = checked = 0
    for src in sources:
        if not src.endswith(".cpp"):
            continue
        with open(src, encoding="utf-8") as f:
            targets = PRAGMA.findall(f.read())
        if not targets:
            continue
        checked += 1
        name = os.path.basename(src) + ".o"
        own = [o for o in objects if os.path.basename(o) == name]
        if not own:
            print(f"{src}: #pragma GCC target(\"{targets[0]}\"), but no object of its own: it was compiled in a unity "
                  "unit, where the headers it builds for that target were included before it without the pragma")
            failed += 1
            continue
        # The registers are x86's (the file's pragma sits under its own #ifdef elsewhere).
        regs = registers_for(targets[0]) if platform.machine() in ("x86_64", "AMD64") else None
        dump = ""
        if regs:
            try:
                dump = subprocess.run(["objdump", "-d", "--no-show-raw-insn", own[0]], capture_output=True, text=True,
                                      check=True).stdout
            except (OSError, subprocess.CalledProcessError) as e:
                print(f"{src}: cannot disassemble {own[0]} with objdump (binutils): {e}")
                failed += 1
                continue
        if regs and has_code(dump):
            count = sum(dump.count(r) for r in regs)
            if count == 0:
                print(f"{src}: #pragma GCC target(\"{targets[0]}\"), but {own[0]} holds no {' or '.join(regs)} "
                      "register")
                failed += 1
                continue
            print(f"{src}: compiled alone, {count} uses of {' or '.join(regs)}")
        else:
            print(f"{src}: compiled alone" + (" (no code: its #ifdef is off for this compiler)" if regs else ""))
    if checked == 0:
        print("no source with #pragma GCC target among the sources given")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
