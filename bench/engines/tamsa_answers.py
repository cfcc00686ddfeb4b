"""Tamsa's answers to every query of a suite, for compare.py: starts `tamsa serve` on the index
once and asks each query over HTTP with `Cache-Control: no-cache` (nothing beyond the shipped
binary; the index is opened once, not per query).

    python bench/engines/tamsa_answers.py --tamsa target/release/tamsa --index IDX \
        --suite SUITE.json --out TAMSA_ANSWERS.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
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
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(
            [args.tamsa, "serve", "--index", str(args.index), "--data", data, "--addr", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        try:
            line = server.stdout.readline()
            match = re.match(r"listening on (http://\S+)", line)
            if not match:
                sys.exit(f"tamsa serve did not start: {line!r}")
            base = match.group(1)
            for group in suite["groups"]:
                for i, query in enumerate(group["queries"]):
                    request = urllib.request.Request(
                        base + "/api/query", data=json.dumps(query).encode(), method="POST",
                        headers={"Content-Type": "application/json", "Cache-Control": "no-cache"},
                    )
                    try:
                        with urllib.request.urlopen(request, timeout=600) as response:
                            profile = json.loads(response.read())
                    except urllib.error.HTTPError as e:
                        sys.exit(f"tamsa failed on group {group['conditions']} query {i}: "
                                 f"{e.read().decode(errors='replace')}")
                    as_of, population = profile["index"]["as_of"], profile["population"]
                    answers.append({
                        "conditions": group["conditions"], "query": i, "count": profile["count"],
                        "profile": {k: profile[k] for k in ("count", "population", "facets")},
                    })
                print(f"{group['conditions']} conditions: {len(group['queries'])} answers", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(timeout=60)
    args.out.write_text(json.dumps({"engine": "tamsa", "as_of": as_of, "population": population,
                                    "answers": answers}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
