#!/usr/bin/env python3
"""Seeds the fuzz corpora (corpus/<target>/) from the shared conformance cases.

Every old/new schema becomes one file for avro_parse or json_parse; every case becomes one
compat_pairs input: a format byte (0 = Avro, 1 = JSON Schema), the old schema, a NUL byte and
the new schema. Run from core/fuzz; the shared folder is looked up next to the workspace.
"""
import hashlib
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
SHARED = HERE.parent.parent.parent / "shared" / "conformance"


def text(value):
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def write(target, data):
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    if not SHARED.is_dir():
        sys.exit(f"no conformance folder at {SHARED}")
    count = 0
    for path in sorted(SHARED.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            avro = case.get("format") == "AVRO"
            old = text(case["old"]).encode()
            new = text(case["new"]).encode()
            parse_target = "avro_parse" if avro else "json_parse"
            write(parse_target, old)
            write(parse_target, new)
            write("compat_pairs", bytes([0 if avro else 1]) + old + b"\0" + new)
            count += 1
    print(f"seeded from {count} cases")


if __name__ == "__main__":
    main()
