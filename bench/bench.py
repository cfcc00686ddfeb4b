#!/usr/bin/env python3
"""The benchmark: Tamsa beside DuckDB, ClickHouse (chdb) and a tantivy index, at several sizes.

    bench/bench.py [STAGE ...] [--sizes 1000000,4000000,15000000] [--engines-at 15000000]

Stages (default: all, in this order; each can be re-run alone, reading what earlier stages
left under bench/work/):

    data      generate each size once (cached under data/bench-N)
    reindex   tamsa reindex each size: wall time, peak memory, index and Parquet size
    suite     the seeded query suite of each size (3, 10, 50, 500 conditions, 30 each)
    tamsa     time the suite on Tamsa's engine (count only; count and profile)
    duckdb    the same on DuckDB (fields computed by SQL from the same Parquet), checked equal
    chdb      the same on ClickHouse embedded (MergeTree), checked equal
    tantivy   the same on a tantivy index of one document per customer, checked equal
    http      `tamsa serve` under 1, 8 and 64 concurrent clients (wrk), the mixed suite
    export    a segment of about 5 million customers exported as CSV through the API
    report    bench/results/bench-<time>.{md,json}: every table, ratios, the scaling curve

    query     shorthand for tamsa, duckdb, chdb and tantivy

Every engine's counts and profiles must equal Tamsa's on every query: a mismatch fails.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"
STAGES = ["data", "reindex", "suite", "tamsa", "duckdb", "chdb", "tantivy", "http", "export", "report"]
ALIASES = {"query": ["tamsa", "duckdb", "chdb", "tantivy"]}
ENGINES = ["duckdb", "chdb", "tantivy"]
CLIENTS = [1, 8, 64]


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(args, **kwargs):
    log("$ " + " ".join(str(a) for a in args))
    return subprocess.run([str(a) for a in args], check=True, **kwargs)


def target_dir():
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return Path(json.loads(meta.stdout)["target_directory"]) / "release"


BIN = None


def binary(name):
    """A release binary of this checkout, built on first use (TAMSA_BENCH_BIN names another folder)."""
    global BIN
    if BIN is None:
        if os.environ.get("TAMSA_BENCH_BIN"):
            BIN = Path(os.environ["TAMSA_BENCH_BIN"])
        else:
            run(["cargo", "build", "--release", "-q", "-p", "tamsa", "-p", "tamsa-bench"], cwd=ROOT)
            BIN = target_dir()
    return BIN / name


def input_dir(size):
    return ROOT / "data" / f"bench-{size}"


def index_dir(size):
    return ROOT / "data" / f"bench-{size}-index"


def work(size):
    path = WORK / str(size)
    path.mkdir(parents=True, exist_ok=True)
    return path


def du(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def timed(args):
    """Runs a command under /usr/bin/time; returns (wall seconds, peak RSS bytes)."""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M"] + [str(a) for a in args], check=True, stderr=subprocess.PIPE, text=True
    )
    last = out.stderr.strip().splitlines()[-1]
    wall, kib = last.split()
    return float(wall), int(kib) * 1024


def save(path, value):
    tmp = Path(str(path) + ".partial")
    tmp.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)


def load(path):
    path = Path(path)
    if not path.is_file():
        sys.exit(f"bench: {path} is missing; run the stage that makes it first")
    return json.loads(path.read_text())


# --- stages -------------------------------------------------------------------------------

def stage_data(sizes, args):
    for size in sizes:
        if (input_dir(size) / "purchases").is_dir():
            log(f"data for {size} customers is cached in {input_dir(size)}")
            continue
        wall, rss = timed([binary("tamsa"), "generate", "--out", input_dir(size), "--customers", size, "--seed", 42])
        log(f"generated {size} customers in {wall:.0f} s (peak {rss / 2**20:.0f} MiB)")


def stage_reindex(sizes, args):
    for size in sizes:
        wall, rss = timed([binary("tamsa"), "reindex", "--input", input_dir(size), "--index", index_dir(size), "--keep", 1])
        current = (index_dir(size) / "CURRENT").read_text().strip()
        meta = json.loads((index_dir(size) / current / "manifest.json").read_text())["meta"]
        save(work(size) / "reindex.json", {
            "customers": size,
            "seconds": wall,
            "peak_rss_bytes": rss,
            "index_bytes": du(index_dir(size) / current),
            "parquet_bytes": du(input_dir(size)),
            "purchase_lines": meta["report"].get("purchase_lines"),
            "as_of": meta["as_of"],
        })
        # Tamsa's answers belong to the index they came from.
        (work(size) / "answers.json").unlink(missing_ok=True)


def stage_suite(sizes, args):
    for size in sizes:
        run([binary("tamsa-bench"), "suite", "--index", index_dir(size), "--seed", 7, "--out", work(size) / "suite.json"])
        (work(size) / "answers.json").unlink(missing_ok=True)


def stage_tamsa(sizes, args):
    for size in sizes:
        run([binary("tamsa-bench"), "run", "--index", index_dir(size), "--suite", work(size) / "suite.json",
             "--repeat", args.repeat, "--out", work(size) / "tamsa.json"], stdout=subprocess.DEVNULL)


def venv_python():
    venv = WORK / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", venv])
        run([python, "-m", "pip", "install", "-q", "-r", ROOT / "bench" / "requirements.txt"])
    return python


def as_of(size):
    return load(work(size) / "reindex.json")["as_of"]


def stage_sql(engine, sizes, args):
    python = venv_python()
    for size in sizes:
        out = work(size) / f"{engine}.json"
        run([python, ROOT / "bench" / "engines" / "run.py", "--engine", engine, "--input", input_dir(size),
             "--as-of", day_text(as_of(size)), "--suite", work(size) / "suite.json", "--repeat", args.repeat,
             "--out", out])
        answers = work(size) / "answers.json"
        if not answers.exists():
            run([python, ROOT / "bench" / "engines" / "tamsa_answers.py", "--tamsa", binary("tamsa"),
                 "--index", index_dir(size), "--suite", work(size) / "suite.json", "--out", answers])
        run([python, ROOT / "bench" / "engines" / "compare.py", answers, out])


def day_text(day):
    """The as-of day: stored as days since 1970-01-01 in the manifest."""
    if isinstance(day, str):
        return day
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86400))


def stage_tantivy(sizes, args):
    for size in sizes:
        directory = work(size) / "tantivy-index"
        if not (directory / "meta.json").exists():
            shutil.rmtree(directory, ignore_errors=True)
            wall, rss = timed([binary("tamsa-bench"), "tantivy-build", "--index", index_dir(size), "--out", directory])
            save(work(size) / "tantivy-build.json", {"seconds": wall, "peak_rss_bytes": rss, "index_bytes": du(directory)})
        run([binary("tamsa-bench"), "tantivy-run", "--tantivy", directory, "--index", index_dir(size),
             "--suite", work(size) / "suite.json", "--repeat", args.repeat, "--out", work(size) / "tantivy.json",
             "--check"])


class Server:
    """`tamsa serve` on a free port, with a token; RSS sampled on request."""

    def __init__(self, size, extra=()):
        self.data = work(size) / "service"
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)
        self.token = subprocess.run(
            [str(binary("tamsa")), "token", "create", "bench", "--data", str(self.data)],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        self.process = subprocess.Popen(
            [str(binary("tamsa")), "serve", "--index", str(index_dir(size)), "--data", str(self.data),
             "--addr", "127.0.0.1:0", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = self.process.stdout.readline()
        match = re.match(r"listening on (http://\S+)", line)
        if not match:
            self.process.kill()
            sys.exit(f"bench: tamsa serve did not start: {line!r}")
        self.base = match.group(1)

    def rss(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def request(self, method, path, body=None, token=False):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read() or b"null")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)


WRK_SCRIPT = """
local queries = {}
for line in io.lines(os.getenv("TAMSA_QUERIES")) do queries[#queries + 1] = line end
local i = math.random(#queries)
local headers = {["Content-Type"] = "application/json"}
if os.getenv("TAMSA_FRESH") == "1" then headers["Cache-Control"] = "no-cache" end
request = function()
  i = i % #queries + 1
  return wrk.format("POST", "/api/query", headers, queries[i])
end
"""


def parse_wrk(text):
    def seconds(value, unit):
        return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    result = {"errors": 0}
    for label, key in [("50%", "p50_ms"), ("90%", "p90_ms"), ("99%", "p99_ms")]:
        match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        result[key] = seconds(*match.groups()) * 1e3 if match else None
    match = re.search(r"Requests/sec:\s+([\d.]+)", text)
    result["requests_per_second"] = float(match.group(1)) if match else None
    match = re.search(r"(\d+) requests in", text)
    result["requests"] = int(match.group(1)) if match else None
    for pattern in [r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"]:
        match = re.search(pattern, text)
        if match:
            result["errors"] += sum(int(g) for g in match.groups())
    return result


def ensure_wrk():
    """The load tool, installed from Debian when missing (as root, or through sudo)."""
    if shutil.which("wrk"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    if sudo and not shutil.which("sudo"):
        sys.exit("bench: the http stage needs wrk, and installing it needs root (apt-get install wrk)")
    run(sudo + ["apt-get", "update", "-qq"])
    run(sudo + ["apt-get", "install", "-y", "-qq", "wrk"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("wrk"):
        sys.exit("bench: apt-get installed no wrk on PATH")


def stage_http(sizes, args):
    ensure_wrk()
    size = max(sizes)
    suite = load(work(size) / "suite.json")
    mixed = work(size) / "mixed-queries.ndjson"
    with open(mixed, "w") as out:
        for group in suite["groups"]:
            for query in group["queries"]:
                out.write(json.dumps(query, ensure_ascii=False) + "\n")
    script = work(size) / "mixed.lua"
    script.write_text(WRK_SCRIPT)
    results = []
    # Three ways of answering, each on a server started afresh:
    # - `fresh`: every answer computed from the index alone (`Cache-Control: no-cache`, and the
    #   server keeps no groups' results between queries: --group-cache-mib 0);
    # - `groups kept`: every answer computed (`no-cache`), with the groups' results over
    #   everyone that earlier queries computed kept, as served by default;
    # - `cached`: as served: the suite's 120 queries repeat, so after the first round the
    #   generation's answer cache holds them.
    for answers, extra, fresh in [("fresh", ["--group-cache-mib", "0"], True), ("groups kept", [], True),
                                  ("cached", [], False)]:
        server = Server(size, extra)
        try:
            for clients in CLIENTS:
                text = subprocess.run(
                    ["wrk", "--latency", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{args.http_seconds}s",
                     "--timeout", "10s", "-s", str(script), server.base],
                    check=True, capture_output=True, text=True,
                    env={**os.environ, "TAMSA_QUERIES": str(mixed), "TAMSA_FRESH": "1" if fresh else "0"},
                ).stdout
                result = {"answers": answers, "clients": clients, **parse_wrk(text)}
                if answers == "groups kept":
                    result["group_cache"] = server.request("GET", "/api/index")["group_cache"]
                log(f"http {answers} {clients} clients: {result}")
                results.append(result)
        finally:
            server.stop()
    save(work(size) / "http.json", {"customers": size, "seconds_per_level": args.http_seconds, "levels": results})


def stage_export(sizes, args):
    size = max(sizes)
    server = Server(size)
    try:
        fields = server.request("GET", "/api/fields")
        regions = next(f for f in fields["fields"] if f["name"] == "region")["values"]
        target = min(5_000_000, size // 3)
        chosen, total = [], 0
        for value in regions:
            if total >= target:
                break
            chosen.append(value["value"])
            total += value["count"]
        query = {"field": "region", "op": "in", "value": chosen}
        segment = server.request("POST", "/api/segments", {"name": "bench export", "query": query})
        columns = "age,gender,region,tier,spend_365d,orders_365d"
        url = f"{server.base}/api/segments/{segment['id']}/export?format=csv&columns={columns}"
        peak, samples, done = [server.rss()], [], threading.Event()

        def sample():
            while not done.is_set():
                samples.append(server.rss())
                time.sleep(0.05)

        before = server.rss()
        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {server.token}"})
        rows, size_bytes = -1, 0
        with urllib.request.urlopen(request, timeout=3600) as response:
            while chunk := response.read(1 << 20):
                size_bytes += len(chunk)
                rows += chunk.count(b"\n")
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        peak = max(samples + peak)
        result = {
            "customers": size,
            "rows": rows,
            "expected_rows": segment["count"],
            "bytes": size_bytes,
            "seconds": seconds,
            "rows_per_second": rows / seconds,
            "rss_before_bytes": before,
            "rss_peak_bytes": peak,
            "rss_growth_bytes": peak - before,
            "columns": columns,
        }
        if rows != segment["count"]:
            sys.exit(f"bench: the export wrote {rows} rows, the segment has {segment['count']}")
        log(f"export: {result}")
        save(work(size) / "export.json", result)
    finally:
        server.stop()


# --- report -------------------------------------------------------------------------------

def ms(value):
    return "–" if value is None else (f"{value:.1f}" if value >= 10 else f"{value:.2f}")


def gib(value):
    return f"{value / 2**30:.2f} GiB"


def check_targets(size, entry):
    """Each target the product is built for, the figure measured at `size`, and whether it holds."""
    targets = []

    def add(target, measured, met):
        targets.append({"target": target, "measured": measured, "met": bool(met)})

    by_conditions = {r["conditions"]: r for r in entry.get("tamsa", {}).get("sizes", [])}
    if 500 in by_conditions:
        p = by_conditions[500]["profile_ms"]
        add("500 conditions with full profile: p50 < 50 ms", f"{ms(p['p50'])} ms", p["p50"] < 50)
        add("500 conditions with full profile: p99 < 100 ms", f"{ms(p['p99'])} ms", p["p99"] < 100)
        for engine in [e for e in ENGINES if e in entry]:
            other = next(r for r in entry[engine]["sizes"] if r["conditions"] == 500)["profile_ms"]["p50"]
            add(f"500 conditions: at least 10× faster than {engine} (p50)", f"{other / p['p50']:.1f}×", other >= 10 * p["p50"])
    if 10 in by_conditions:
        p = by_conditions[10]["profile_ms"]
        add("10 conditions with full profile: p50 < 5 ms", f"{ms(p['p50'])} ms", p["p50"] < 5)
    if "reindex" in entry:
        r = entry["reindex"]
        add("reindex: under 5 minutes", f"{r['seconds']:.0f} s", r["seconds"] < 300)
        add("reindex: under 8 GB peak memory", gib(r["peak_rss_bytes"]), r["peak_rss_bytes"] < 8e9)
    if "http" in entry:
        levels = entry["http"]["levels"]
        most = max(l["clients"] for l in levels)
        for level in [l for l in levels if l["clients"] == most]:
            answers = level.get("answers", "fresh")
            add(f"{most} clients, {answers} answers: no errors", str(level["errors"]), level["errors"] == 0)
            p99 = level["p99_ms"] or float("inf")
            add(f"{most} clients, {answers} answers: p99 < 250 ms", f"{ms(p99)} ms", p99 < 250)
    if "export" in entry:
        e = entry["export"]
        add("export: over 1 million rows/s", f"{e['rows_per_second']:,.0f} rows/s", e["rows_per_second"] > 1e6)
        add("export: server memory flat (growth under 64 MiB)", f"+{e['rss_growth_bytes'] / 2**20:.0f} MiB",
            e["rss_growth_bytes"] < 64 * 2**20)
    return targets


def stage_report(sizes, args):
    largest = max(sizes)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "diff", "--quiet"], cwd=ROOT).returncode != 0
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "?")
    memory = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1]) * 1024
    stamp = time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime())
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit + (" (with local changes)" if dirty else ""),
        "machine": {"cores": os.cpu_count(), "cpu": cpu, "memory_bytes": memory},
        "sizes": {},
    }
    for size in sizes:
        entry = {}
        for name in ["reindex", "tamsa", *ENGINES, "tantivy-build", "http", "export"]:
            path = work(size) / f"{name}.json"
            if path.exists():
                entry[name] = json.loads(path.read_text())
        report["sizes"][str(size)] = entry
    lines = [
        f"# Benchmark, {report['date']}",
        "",
        f"- commit {report['commit']}; machine: {os.cpu_count()} cores, {cpu}, {memory / 2**30:.0f} GiB",
        f"- suite: seed 7, 30 queries per size; {args.repeat} timed runs per query after a warm-up; times in ms",
        "",
    ]
    big = report["sizes"][str(largest)]
    engines = [e for e in ["tamsa", *ENGINES] if e in big]
    if "tamsa" in big:
        for kind in ["profile_ms", "count_ms"]:
            title = "count and full profile" if kind == "profile_ms" else "count only"
            lines += [f"## {largest:,} customers: {title} (p50 / p95 / p99)", ""]
            lines.append("| conditions | " + " | ".join(engines) + " | " + " | ".join(f"{e} ÷ tamsa (p50)" for e in engines[1:]) + " |")
            lines.append("|---:|" + "---:|" * (2 * len(engines) - 1))
            for i, row in enumerate(big["tamsa"]["sizes"]):
                cells, base = [], row[kind]["p50"]
                for engine in engines:
                    s = big[engine]["sizes"][i][kind]
                    cells.append(f"{ms(s['p50'])} / {ms(s['p95'])} / {ms(s['p99'])}")
                ratios = [f"{big[e]['sizes'][i][kind]['p50'] / base:.1f}×" for e in engines[1:]]
                lines.append(f"| {row['conditions']} | " + " | ".join(cells + ratios) + " |")
            lines.append("")
    lines += ["## Reindex and size", "", "| customers | engine | build s | peak memory | on disk | Parquet in |", "|---:|---|---:|---:|---:|---:|"]
    for size in sizes:
        entry = report["sizes"][str(size)]
        if "reindex" in entry:
            r = entry["reindex"]
            lines.append(f"| {size:,} | tamsa | {r['seconds']:.0f} | {gib(r['peak_rss_bytes'])} | {gib(r['index_bytes'])} | {gib(r['parquet_bytes'])} |")
        for engine in ["duckdb", "chdb"]:
            if engine in entry and "reindex" in entry[engine]:
                r = entry[engine]["reindex"]
                lines.append(f"| {size:,} | {engine} | {r.get('seconds', 0):.0f} | {gib(r.get('peak_rss_bytes') or 0)} | {gib(r.get('db_bytes') or 0)} | |")
        if "tantivy-build" in entry:
            r = entry["tantivy-build"]
            lines.append(f"| {size:,} | tantivy | {r['seconds']:.0f} | {gib(r['peak_rss_bytes'])} | {gib(r['index_bytes'])} | |")
    lines.append("")
    curve = [(s, report["sizes"][str(s)]) for s in sizes if "tamsa" in report["sizes"][str(s)]]
    if len(curve) > 1:
        lines += ["## Scaling (Tamsa, profile p50 in ms per query size)", ""]
        lines.append("| customers | " + " | ".join(f"{r['conditions']} cond." for r in curve[0][1]["tamsa"]["sizes"]) + " | reindex s | index |")
        lines.append("|---:|" + "---:|" * (len(curve[0][1]["tamsa"]["sizes"]) + 2))
        for size, entry in curve:
            cells = [ms(r["profile_ms"]["p50"]) for r in entry["tamsa"]["sizes"]]
            r = entry.get("reindex", {})
            lines.append(f"| {size:,} | " + " | ".join(cells) + f" | {r.get('seconds', 0):.0f} | {gib(r.get('index_bytes', 0))} |")
        lines.append("")
    if "http" in big:
        lines += [f"## HTTP, mixed suite, {largest:,} customers (wrk, {big['http']['seconds_per_level']} s per level)", "",
                  "`fresh`: every answer computed from the index alone (`Cache-Control: no-cache`, `--group-cache-mib 0`); "
                  "`groups kept`: every answer computed (`no-cache`), with the results of groups that earlier queries "
                  "computed over everyone kept, as served by default; `cached`: as served, where the suite's 120 queries "
                  "repeat and come from the generation's answer cache after the first round.", "",
                  "| answers | clients | requests/s | p50 ms | p90 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|---:|---:|"]
        for level in big["http"]["levels"]:
            lines.append(f"| {level.get('answers', 'fresh')} | {level['clients']} | {level['requests_per_second']:.0f} | {ms(level['p50_ms'])} | {ms(level['p90_ms'])} | {ms(level['p99_ms'])} | {level['errors']} |")
        lines.append("")
    if "export" in big:
        e = big["export"]
        lines += ["## Export through the API", "",
                  f"{e['rows']:,} rows ({e['columns']}) as CSV in {e['seconds']:.1f} s: {e['rows_per_second']:,.0f} rows/s; "
                  f"server memory {gib(e['rss_before_bytes'])} before, {gib(e['rss_peak_bytes'])} at peak "
                  f"(+{e['rss_growth_bytes'] / 2**20:.0f} MiB).", ""]
    targets = check_targets(largest, big)
    report["targets"] = targets
    if targets:
        lines += [f"## Targets ({largest:,} customers)", "", "| target | measured | |", "|---|---|---|"]
        for t in targets:
            lines.append(f"| {t['target']} | {t['measured']} | {'met' if t['met'] else '**NOT MET**'} |")
        lines.append("")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"bench-{stamp}.md").write_text("\n".join(lines) + "\n")
    save(RESULTS / f"bench-{stamp}.json", report)
    print("\n".join(lines))
    log(f"wrote bench/results/bench-{stamp}.md and .json")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stages", nargs="*", choices=STAGES + list(ALIASES) + [[]], help="stages to run (default: all)")
    parser.add_argument("--sizes", default="1000000,4000000,15000000", help="customers, comma-separated")
    parser.add_argument("--engines-at", default=None, help="sizes the other engines, HTTP and export run at (default: the largest)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each query after a warm-up")
    parser.add_argument("--http-seconds", type=int, default=20, help="seconds of load per client level")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    engines_at = [int(s) for s in args.engines_at.split(",")] if args.engines_at else [max(sizes)]
    stages = [s for stage in args.stages or STAGES for s in ALIASES.get(stage, [stage])]
    for stage in stages:
        log(f"stage {stage}")
        if stage in ("duckdb", "chdb"):
            stage_sql(stage, engines_at, args)
        elif stage == "tantivy":
            stage_tantivy(engines_at, args)
        elif stage in ("http", "export"):
            globals()[f"stage_{stage}"](engines_at, args)
        else:
            globals()[f"stage_{stage}"](sizes, args)


if __name__ == "__main__":
    main()
