"""Runs one SQL baseline engine on a Tamsa input and query suite: reindex (the per-customer
fields by SQL into the engine's own table), then time every query of the suite as
`tamsa-bench run` does, and write timings and answers as JSON.

    python bench/engines/run.py --engine duckdb|chdb --input DIR --suite SUITE.json \
        --out RESULTS.json [--as-of YYYY-MM-DD] [--repeat 5] [--work bench/work] [--skip-reindex]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import format_day, parse_day, run_suite, write_json  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["duckdb", "chdb"], required=True)
    ap.add_argument("--input", type=Path, required=True, help="Tamsa input directory (Parquet)")
    ap.add_argument("--as-of", help="YYYY-MM-DD; default the latest purchase day, as Tamsa's")
    ap.add_argument("--suite", type=Path, required=True, help="from `tamsa-bench suite`")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per query after one warm-up")
    ap.add_argument("--work", type=Path, default=Path(__file__).resolve().parents[1] / "work",
                    help="where the engine keeps its database (default bench/work)")
    ap.add_argument("--threads", type=int, default=None, help="engine threads (default: all cores)")
    ap.add_argument("--skip-reindex", action="store_true", help="reuse the database of a previous run")
    args = ap.parse_args()

    if args.engine == "duckdb":
        from duckdb_engine import Engine
    else:
        from chdb_engine import Engine
    engine = Engine(args.work.resolve(), threads=args.threads)

    reindex = None
    if not args.skip_reindex:
        as_of = parse_day(args.as_of) if args.as_of else None
        reindex = engine.reindex(args.input.resolve(), as_of)
        # The engine runs inside this process: its peak is the process's (ru_maxrss in KiB).
        reindex["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"{engine.name} reindex: {reindex['seconds']:.1f} s, database {reindex['db_bytes'] / 2**20:.1f} MiB",
              flush=True)
    dicts = engine.open()
    print(f"{engine.name} {engine.version()}: {dicts.population} customers as of {format_day(dicts.as_of)}",
          flush=True)
    suite = json.loads(args.suite.read_text())
    sizes, answers = run_suite(engine, suite, args.repeat)
    write_json(args.out, {
        "engine": engine.name,
        "version": engine.version(),
        "settings": engine.settings(),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "population": dicts.population,
        "as_of": format_day(dicts.as_of),
        "reindex": reindex,
        "repeat": args.repeat,
        "suite": str(args.suite),
        "sizes": sizes,
        "answers": answers,
    })
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
