"""Trims X's published OpenAPI document to the schemas the X fixtures are validated against (run by hand
when the spec moves; the copies it writes are what tests/connectors/test_x_openapi.py reads).

Usage: python trim_openapi.py SPEC.json OUT.json SOURCE NAME...
"""

from __future__ import annotations

import json
import sys


def refs(value, found: set[str]) -> None:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for item in value.values():
            refs(item, found)
    elif isinstance(value, list):
        for item in value:
            refs(item, found)


def trim(spec: dict, names: list[str]) -> dict:
    schemas = spec["components"]["schemas"]
    keep: dict[str, object] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep[name] = schemas[name]
        found: set[str] = set()
        refs(schemas[name], found)
        todo.extend(found - set(keep))
    return dict(sorted(keep.items()))


def main(argv: list[str]) -> None:
    spec_path, out_path, source, *names = argv
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    trimmed = {"x-source": source, "info": spec["info"], "openapi": spec["openapi"],
               "x-roots": names, "components": {"schemas": trim(spec, names)}}
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(trimmed, handle, indent=1, sort_keys=False)
        handle.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
