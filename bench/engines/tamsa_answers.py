"""Tamsa's answers to every query of a suite, for compare.py: runs `tamsa query` once per
query (it opens the index each time: slow, but it needs nothing beyond the shipped binary).

    python bench/engines/tamsa_answers.py --tamsa target/release/tamsa --index IDX \
        --suite SUITE.json --out TAMSA_ANSWERS.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tamsa", default="tamsa", help="the tamsa binary")
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--suite", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    suite = json.loads(args.suite.read_text())
    answers, as_of, population = [], None, None
    for group in suite["groups"]:
        for i, query in enumerate(group["queries"]):
            done = subprocess.run(
                [args.tamsa, "query", "--index", str(args.index), "--query", "-"],
                input=json.dumps(query).encode(), capture_output=True, check=False,
            )
            if done.returncode != 0:
                sys.exit(f"tamsa query failed on group {group['conditions']} query {i}:\n"
                         f"{done.stderr.decode(errors='replace')}")
            profile = json.loads(done.stdout)
            as_of, population = profile["index"]["as_of"], profile["population"]
            answers.append({
                "conditions": group["conditions"], "query": i, "count": profile["count"],
                "profile": {k: profile[k] for k in ("count", "population", "facets")},
            })
        print(f"{group['conditions']} conditions: {len(group['queries'])} answers", file=sys.stderr)
    args.out.write_text(json.dumps({"engine": "tamsa", "as_of": as_of, "population": population,
                                    "answers": answers}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
