#!/usr/bin/env python3
"""Checks that README.md's list of a program's flags ("`build/bin/PROGRAM
--help` lists the flags (`--a --b ...`)") names exactly the flags the
program's --help prints (less --help itself), so that the list cannot go
stale as flags are added. Prints "README flag list of PROGRAM: as --help";
exits 1 naming the flags one side lacks. Standard library only.
  readme_flag_list.py README.md PROGRAM_PATH"""
import os
import re
import subprocess
import sys


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    readme, program = argv
    name = os.path.basename(program)
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    found = re.search(r"`build/bin/" + re.escape(name) + r" --help` lists the flags \(`([^`]*)`", text)
    if not found:
        print(f"readme_flag_list.py: {readme} has no list of {name}'s flags", file=sys.stderr)
        return 1
    listed = set(re.findall(r"--[a-z0-9-]+", found.group(1)))
    usage = subprocess.run([program, "--help"], capture_output=True, text=True, check=True).stdout
    helped = set(re.findall(r"^  (--[a-z0-9-]+)", usage, re.MULTILINE)) - {"--help"}
    if listed != helped:
        print(f"readme_flag_list.py: README's list of {name}'s flags lacks {sorted(helped - listed)} and names "
              f"{sorted(listed - helped)} that --help does not", file=sys.stderr)
        return 1
    print(f"README flag list of {name}: as --help")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
