#!/usr/bin/env python3
"""A .bin (safetensors layout) as an older ganforge, or another program, wrote
it: copies IN to OUT with metadata entries removed or set. KEY removes
__metadata__[KEY]; KEY.FIELD removes FIELD from the JSON object stored in
__metadata__[KEY] (train_psp's "spec.generator_key"); KEY=VALUE sets
__metadata__[KEY] to the text VALUE; KEY.FIELD=JSON sets FIELD of that
object to the JSON value (a damaged spec: "spec.gpus=0"). Standard library only; the tensors'
bytes are copied as they are (their offsets count from the end of the header).
  edit_metadata.py IN OUT KEY|KEY.FIELD|KEY=VALUE..."""
import json
import sys

import bin_file


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    src, dst, keys = argv[0], argv[1], argv[2:]
    header, data = bin_file.read(src)
    meta = header.setdefault("__metadata__", {})
    for key in keys:
        if "=" in key:
            name, _, value = key.partition("=")
            top, _, field = name.partition(".")
            if field:
                inner = json.loads(meta[top])
                inner[field] = json.loads(value)
                meta[top] = json.dumps(inner)
            else:
                meta[name] = value
            continue
        top, _, field = key.partition(".")
        if top not in meta:
            print(f"edit_metadata.py: {src} has no metadata '{top}'", file=sys.stderr)
            return 1
        if field:
            inner = json.loads(meta[top])
            inner.pop(field, None)
            meta[top] = json.dumps(inner)
        else:
            del meta[top]
    bin_file.write(dst, header, data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
