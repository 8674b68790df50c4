#!/usr/bin/env python3
"""Compiles each unity library's .cpp files as one translation unit, syntax only.

The emulated build compiles gf_kernels, gf_engine and gf_app as unity builds
(GF_UNITY_LIBRARIES: CMake puts 8 files in a unit), where a name one file
keeps to itself meets the others': two definitions of it are an error, and
one in an anonymous namespace hides a header's name of the enclosing
namespace from the other files' code there (dataset.cpp's be32 hid
byte_order.h's). Which files share a unit changes as files come and go; this
puts every file of a library in one unit, with the flags the build gives its
files, and asks the compiler (-fsyntax-only: about 20 s for all three).

    unity_one_unit.py --compile-commands FILE --work DIR --library NAME FILE... [--library ...]

(--compile-commands and --work first, then the libraries.)

FILE lists may be `;`-separated (CMake's SOURCES); files other than .cpp are
ignored. The unit includes them in the order given, as CMake's units do, so
every pair of files that can share a unit meets in the same order here. The flags are those compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS)
gives most of the library's files (in a unity build, the units that include
them); a file built with other flags (its own
COMPILE_OPTIONS, which CMake keeps out of unity units too) is left out and
named. Exits 0 when every library compiles, 1 when one does not (the
compiler's messages printed), 2 on a usage error or a file it cannot read.
"""
import collections
import json
import os
import re
import shlex
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import file_local_names  # noqa: E402  (its --library parsing)

# Options that name the one file a command compiles, and their arguments.
FILE_OPTIONS_WITH_VALUE = {"-o", "-MF", "-MT", "-MQ"}
FILE_OPTIONS = {"-c", "-MD", "-MMD"}


def library_flags(args, source):
    """The command without what names its file: the flags it shares with the
    library's other files."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in FILE_OPTIONS_WITH_VALUE:
            skip = True
            continue
        if a in FILE_OPTIONS or a == source or os.path.abspath(a) == source:
            continue
        out.append(a)
    return out


def unit_sources(path):
    """The files a CMake unity unit (.../Unity/unity_N_cxx.cxx) includes, or
    [] for any other file."""
    if os.path.basename(os.path.dirname(path)) != "Unity" or not os.path.basename(path).startswith("unity_"):
        return []
    with open(path, encoding="utf-8") as f:
        return [os.path.abspath(m) for m in re.findall(r'^#include "([^"]+)"', f.read(), re.M)]


def parse_args(argv):
    opts = {"compile_commands": None, "work": None}
    i = 0
    while i + 1 < len(argv) and argv[i] in ("--compile-commands", "--work"):
        opts[argv[i][2:].replace("-", "_")] = argv[i + 1]
        i += 2
    # The libraries in the order given, CMake's SOURCES order, which its units
    # keep: a name that hides another's reaches the files after it only.
    libraries = file_local_names.libraries_of(argv[i:])
    if not opts["compile_commands"] or not opts["work"] or libraries is None:
        return None
    opts["libraries"] = [(name, [os.path.abspath(f) for f in files]) for name, files in libraries]
    return opts


def main(argv):
    opts = parse_args(argv[1:])
    if opts is None:
        print("usage: unity_one_unit.py --compile-commands FILE --work DIR --library NAME FILE... [--library ...]",
              file=sys.stderr)
        return 2
    try:
        with open(opts["compile_commands"]) as f:
            entries = json.load(f)
    except (OSError, ValueError) as e:
        print(f"unity_one_unit: cannot read {opts['compile_commands']}: {e} "
              "(configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)", file=sys.stderr)
        return 2
    commands = {}
    for e in entries:
        source = os.path.abspath(os.path.join(e.get("directory", ""), e["file"]))
        args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        commands[source] = (e.get("directory", "."), library_flags(args, source))
        # In a build that is itself a unity build the commands compile the
        # units: each file included by one takes the unit's flags.
        for included in unit_sources(source):
            commands.setdefault(included, commands[source])
    os.makedirs(opts["work"], exist_ok=True)
    failed = 0
    for name, files in opts["libraries"]:
        missing = [f for f in files if f not in commands]
        if missing:
            print(f"unity_one_unit: {name}: {missing[0]} is not in {opts['compile_commands']}", file=sys.stderr)
            return 2
        common = collections.Counter(tuple(commands[f][1]) for f in files).most_common(1)[0][0]
        inside = [f for f in files if tuple(commands[f][1]) == common]
        apart = [os.path.relpath(f) for f in files if tuple(commands[f][1]) != common]
        unit = os.path.join(opts["work"], name + ".cpp")
        with open(unit, "w") as f:
            for source in inside:
                f.write(f'#include "{source}"\n')
        cmd = list(common) + ["-fsyntax-only", unit]
        r = subprocess.run(cmd, cwd=commands[inside[0]][0], capture_output=True, text=True)
        note = f" ({len(apart)} with flags of their own left out: {', '.join(apart)})" if apart else ""
        if r.returncode != 0:
            failed += 1
            sys.stdout.write(r.stdout + r.stderr)
            print(f"{name}: its {len(inside)} files do not compile as one translation unit{note}")
        else:
            print(f"{name}: {len(inside)} files compile as one translation unit{note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
