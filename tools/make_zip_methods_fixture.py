#!/usr/bin/env python3
"""Writes tests/data/zip_methods.zip for tests/test_zip_methods.cpp: one entry
for each compression method Python's zipfile writes (the official
dataset_tool.py and training loader read zips through it), so the C++ reader
is tested against another tool's archives, not only its own:
  stored.txt (0), deflate.txt (8), bzip2.txt (12), lzma.txt (14),
  empty_bzip2.txt and empty_lzma.txt (0 bytes, 12 and 14).
Each non-empty entry holds the same text, content(), long and repetitive
enough that every method really compresses it. Timestamps are fixed, so the
file is the same on every run of the same Python.
"""
import os
import zipfile

TOOLS = os.path.dirname(os.path.abspath(__file__))


def content():
    return "".join(f"line {i}: the quick brown fox {i * i % 97}\n" for i in range(400)).encode()


def main():
    path = os.path.join(TOOLS, "..", "tests", "data", "zip_methods.zip")
    entries = [("stored.txt", zipfile.ZIP_STORED, content()), ("deflate.txt", zipfile.ZIP_DEFLATED, content()),
               ("bzip2.txt", zipfile.ZIP_BZIP2, content()), ("lzma.txt", zipfile.ZIP_LZMA, content()),
               ("empty_bzip2.txt", zipfile.ZIP_BZIP2, b""), ("empty_lzma.txt", zipfile.ZIP_LZMA, b"")]
    with zipfile.ZipFile(path, "w") as z:
        for name, method, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 12, 4, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    with zipfile.ZipFile(path) as z:
        for name, method, data in entries:
            assert z.getinfo(name).compress_type == method and z.read(name) == data
            if data:
                assert method == zipfile.ZIP_STORED or z.getinfo(name).compress_size < len(data) // 4
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
