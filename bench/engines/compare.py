"""Compares an engine's answers with Tamsa's, query by query: the count (of the count-only
query and of the profile) and every facet. Key order within a facet is not compared (it is
presentation), the order of the last-product top list is.

    python bench/engines/compare.py TAMSA_ANSWERS.json ENGINE_RESULTS.json

Exits 1 listing the first mismatches when anything differs.
"""

from __future__ import annotations

import json
import sys

SHOW = 20


def diff(path: str, want, got, out: list[str]) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            if key not in got:
                out.append(f"{path}.{key}: missing (tamsa {json.dumps(want[key], ensure_ascii=False)})")
            elif key not in want:
                out.append(f"{path}.{key}: extra {json.dumps(got[key], ensure_ascii=False)}")
            else:
                diff(f"{path}.{key}", want[key], got[key], out)
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (w, g) in enumerate(zip(want, got)):
            diff(f"{path}[{i}]", w, g, out)
    elif want != got:
        out.append(f"{path}: tamsa {json.dumps(want, ensure_ascii=False)}, engine {json.dumps(got, ensure_ascii=False)}")


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tamsa = json.load(open(sys.argv[1]))
    engine = json.load(open(sys.argv[2]))
    name = engine.get("engine", "engine")
    got = {(a["conditions"], a["query"]): a for a in engine["answers"]}
    problems: list[str] = []
    bad_queries = 0
    for want in tamsa["answers"]:
        key = (want["conditions"], want["query"])
        where = f"[{key[0]} conditions, query {key[1]}]"
        if key not in got:
            problems.append(f"{where} missing")
            bad_queries += 1
            continue
        mine: list[str] = []
        # Only what both describe: `tamsa query` output also carries took_ms and index.
        want_profile = {k: want["profile"][k] for k in ("count", "population", "facets") if k in want["profile"]}
        diff("count", want.get("count", want["profile"]["count"]), got[key]["count"], mine)
        diff("profile", want_profile, got[key]["profile"], mine)
        if mine:
            bad_queries += 1
            problems += [f"{where} {m}" for m in mine]
    if tamsa.get("as_of") and engine.get("as_of") and tamsa["as_of"] != engine["as_of"]:
        problems.insert(0, f"as_of: tamsa {tamsa['as_of']}, {name} {engine['as_of']}")
    total = len(tamsa["answers"])
    if problems:
        print(f"{name}: {bad_queries} of {total} queries differ from tamsa")
        for p in problems[:SHOW]:
            print("  " + p)
        if len(problems) > SHOW:
            print(f"  … and {len(problems) - SHOW} more differences")
        sys.exit(1)
    print(f"{name}: all {total} queries agree with tamsa (counts and every facet)")


if __name__ == "__main__":
    main()
