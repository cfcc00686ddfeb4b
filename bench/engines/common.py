"""Shared by the SQL baseline engines: the input contract's file rules, the field catalog,
the translation of Tamsa query nodes into SQL, the shape of a profile, and the timing loop.

Each engine (duckdb_engine.py, chdb_engine.py) computes the per-customer fields by SQL into a
table of its own, with category, brand, category and product values stored as small integer
codes (one dictionary table per dimension), and answers a query node with the WHERE clause
this module writes for it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

WINDOWS = (30, 90, 180, 365)
GENDERS = ("F", "M", "U")
CHANNELS = ("online", "offline", "both", "none")
AGE_BUCKETS = (("<20", None), ("20-29", 20), ("30-39", 30), ("40-49", 40), ("50-59", 50), ("60+", 60))
AGE_LABELS = tuple(label for label, _ in AGE_BUCKETS) + ("unknown",)
TOP_PRODUCTS = 10
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
EPOCH = dt.date(1970, 1, 1)
MASK_BITS = 64

# Rust's char::is_whitespace (Unicode White_Space), as an RE2 character class body, with
# `\` as written in the regex (engines escape it for their string literals as needed).
WHITESPACE_CLASS = r"\t\n\x0B\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"

# Number fields that can be null (the others are 0 for a customer without purchases).
NULLABLE = {"age", "days_since_signup", "days_since_first_purchase", "days_since_last_purchase"} | {
    f"aov_{w}d" for w in WINDOWS
}


def catalog() -> dict[str, tuple[str, str | None]]:
    """Field name -> (kind, dimension), as crates/model/src/field.rs defines them."""
    fields: dict[str, tuple[str, str | None]] = {
        "age": ("number", None),
        "gender": ("category", "gender"),
        "region": ("category", "region"),
        "tier": ("category", "tier"),
        "email_opt_in": ("bool", "bool"),
        "sms_opt_in": ("bool", "bool"),
        "days_since_signup": ("number", None),
    }
    for w in WINDOWS:
        fields[f"orders_{w}d"] = ("number", None)
        fields[f"spend_{w}d"] = ("number", None)
        fields[f"aov_{w}d"] = ("number", None)
        fields[f"brand_{w}d"] = ("set", "brand")
        fields[f"category_{w}d"] = ("set", "category")
        fields[f"product_{w}d"] = ("set", "product")
        fields[f"channel_{w}d"] = ("category", "channel")
    fields.update(
        {
            "orders_total": ("number", None),
            "spend_total": ("number", None),
            "days_since_first_purchase": ("number", None),
            "days_since_last_purchase": ("number", None),
            "last_brand": ("set", "brand"),
            "last_category": ("set", "category"),
            "last_product": ("set", "product"),
        }
    )
    return fields


CATALOG = catalog()


def table_files(input_dir: Path, name: str) -> list[str]:
    """`NAME.parquet` or the `*.parquet` files of the folder `NAME/`, in name order (as the
    loader finds them)."""
    single, folder = input_dir / f"{name}.parquet", input_dir / name
    if single.is_file() and folder.is_dir():
        raise SystemExit(f"{input_dir}: both {name}.parquet and {name}/ exist")
    if single.is_file():
        return [str(single.resolve())]
    if folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.suffix == ".parquet" and p.is_file())
        if files:
            return [str(p.resolve()) for p in files]
    raise SystemExit(f"{input_dir}: table {name} is missing")


def parse_day(text: str) -> int:
    return (dt.date.fromisoformat(text.strip()) - EPOCH).days


def format_day(day: int) -> str:
    return (EPOCH + dt.timedelta(days=day)).isoformat()


def stage_label(sql: str) -> str:
    """A short name for a reindex statement: the table it creates or changes."""
    words = sql.split()
    for i, w in enumerate(words[:-1]):
        if w in ("TABLE", "FROM"):
            return words[i + 1]
    return " ".join(words[:2])


def dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@dataclass
class Dicts:
    """Value -> code per dimension, and what profiles need to name codes."""

    region: list[str]
    tier: list[str]
    brand: list[str]
    category: list[str]
    product: list[str]  # product_id by code; codes ascend with product_id (byte order)
    product_name: list[str]
    product_brand: list[str]
    region_population: list[int]
    tier_population: list[int]
    population: int
    as_of: int
    codes: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for dim in ("region", "tier", "brand", "category", "product"):
            self.codes[dim] = {v: i for i, v in enumerate(getattr(self, dim))}
        self.codes["gender"] = {v: i for i, v in enumerate(GENDERS)}
        self.codes["channel"] = {v: i for i, v in enumerate(CHANNELS)}

    def code(self, dim: str, value, path: str) -> int | bool:
        """The code of a query value, with the parser's rules: fixed values (gender, channel,
        bool) match in any ASCII case; data-derived values must occur in the data."""
        if dim == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise QueryError(path, f"expected true or false, found {value!r}")
        if not isinstance(value, str):
            raise QueryError(path, f"expected a text value, found {value!r}")
        codes = self.codes[dim]
        if value in codes:
            return codes[value]
        if dim in ("gender", "channel"):
            for known, code in codes.items():
                if known.lower() == value.lower() and value.isascii():
                    return code
        raise QueryError(path, f"`{value}` is not a value of the {dim} dimension")

    def is_mask(self, dim: str) -> bool:
        """Whether a set field of this dimension is stored as a 64-bit mask of its codes (when
        the dimension has at most 64 values), else as an array of codes."""
        return dim in ("brand", "category") and len(getattr(self, dim)) <= MASK_BITS

    def display_order(self, dim: str) -> list[int]:
        """Codes of region or tier by population count, most common first, then by name."""
        names, counts = getattr(self, dim), getattr(self, f"{dim}_population")
        return sorted(range(len(names)), key=lambda i: (-counts[i], names[i].encode()))


class QueryError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


@dataclass
class Dialect:
    """What differs between the engines' SQL for a condition."""

    # set column, codes -> SQL boolean
    set_has_any: callable
    # mask column, bit mask -> SQL boolean "shares a bit"
    mask_any: callable
    # nullable number column -> SQL boolean "is known"
    known: callable
    true: str = "(1 = 1)"
    false: str = "(1 = 0)"


def _int(x: float) -> int:
    """Rust's `f64 as i64`: truncation toward zero, saturating."""
    if math.isnan(x):
        return 0
    return max(I64_MIN, min(I64_MAX, int(x)))


def _sat(x: int) -> int:
    return max(I64_MIN, min(I64_MAX, x))


def _number(value, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise QueryError(path, f"expected a number, found {value!r}")
    return float(value)


def number_bounds(op: str, value, path: str) -> tuple[int, int] | bool:
    """The inclusive integer range a number condition means (crates/query/src/parse.rs),
    or True/False for `exists`."""
    if op == "exists":
        if not isinstance(value, bool):
            raise QueryError(path, "`exists` takes true or false")
        return value
    if op == "eq":
        x = _number(value, path)
        return (1, 0) if x != math.floor(x) else (_int(x), _int(x))
    if op == "gt":
        return (_sat(_int(math.floor(_number(value, path))) + 1), I64_MAX)
    if op == "gte":
        return (_int(math.ceil(_number(value, path))), I64_MAX)
    if op == "lt":
        return (I64_MIN, _sat(_int(math.ceil(_number(value, path))) - 1))
    if op == "lte":
        return (I64_MIN, _int(math.floor(_number(value, path))))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise QueryError(path, "`between` takes [lo, hi]")
        lo, hi = _number(value[0], path), _number(value[1], path)
        if lo > hi:
            raise QueryError(path, "`between` needs lo <= hi")
        return (_int(math.ceil(lo)), _int(math.floor(hi)))
    raise QueryError(path, f"unknown number operator {op!r}")


def to_sql(node, dicts: Dicts, dialect: Dialect, path: str = "$") -> str:
    """A WHERE expression for a query node that is never NULL, so that SQL's NOT, AND and OR
    act as Tamsa's set operations (a null matches no comparison; `not` of one includes it)."""
    if not isinstance(node, dict):
        raise QueryError(path, "expected a node object")
    if "all" in node or "any" in node:
        key = "all" if "all" in node else "any"
        children = [to_sql(c, dicts, dialect, f"{path}.{key}[{i}]") for i, c in enumerate(node[key])]
        if not children:
            return dialect.true if key == "all" else dialect.false
        if len(children) == 1:
            return children[0]
        return "(" + (" AND " if key == "all" else " OR ").join(children) + ")"
    if "not" in node:
        return f"(NOT {to_sql(node['not'], dicts, dialect, path + '.not')})"
    name, op, value = node.get("field"), node.get("op"), node.get("value")
    if name not in CATALOG:
        raise QueryError(path + ".field", f"unknown field {name!r}")
    kind, dim = CATALOG[name]
    if kind == "number":
        bounds = number_bounds(op, value, path + ".value")
        nullable = name in NULLABLE
        if isinstance(bounds, bool):
            if not nullable:
                return dialect.true if bounds else dialect.false
            return dialect.known(name) if bounds else f"(NOT {dialect.known(name)})"
        lo, hi = bounds
        if lo > hi:
            return dialect.false
        parts = [dialect.known(name)] if nullable else []
        if lo == hi:
            parts.append(f"{name} = {lo}")
        else:
            if lo != I64_MIN:
                parts.append(f"{name} >= {lo}")
            if hi != I64_MAX:
                parts.append(f"{name} <= {hi}")
        if not parts:
            return dialect.true
        return "(" + " AND ".join(parts) + ")"
    if op == "eq":
        values = [dicts.code(dim, value, path + ".value")]
    elif op == "in":
        if not isinstance(value, list):
            raise QueryError(path + ".value", "`in` takes a list")
        values = [dicts.code(dim, v, f"{path}.value[{i}]") for i, v in enumerate(value)]
    else:
        raise QueryError(path + ".op", f"operator {op!r} does not fit {kind} field {name}")
    values = sorted(set(values))
    if not values:
        return dialect.false
    if kind == "bool":
        if len(values) == 2:
            return dialect.true
        return f"({name})" if values[0] else f"(NOT {name})"
    if kind == "category":
        if len(values) == 1:
            return f"({name} = {values[0]})"
        return f"({name} IN ({', '.join(map(str, values))}))"
    if dicts.is_mask(dim):
        return dialect.mask_any(name, sum(1 << v for v in values))
    return dialect.set_has_any(name, values)


def facets(dicts: Dicts, age, gender, channel, region, tier, products, spend) -> dict:
    """Tamsa's `facets` from per-code counts (dicts code -> count) and the top products
    [(code, count)], in Tamsa's key order."""
    return {
        "age": {label: int(age.get(i, 0)) for i, label in enumerate(AGE_LABELS)},
        "gender": {g: int(gender.get(i, 0)) for i, g in enumerate(GENDERS)},
        "channel_365d": {c: int(channel.get(i, 0)) for i, c in enumerate(CHANNELS)},
        "region": {dicts.region[i]: int(region.get(i, 0)) for i in dicts.display_order("region")},
        "tier": {dicts.tier[i]: int(tier.get(i, 0)) for i in dicts.display_order("tier")},
        "last_product": [
            {
                "product_id": dicts.product[p],
                "name": dicts.product_name[p],
                "brand": dicts.product_brand[p],
                "count": int(c),
            }
            for p, c in products
        ],
        "spend_365d_sum": int(spend or 0),
    }


def top_products(counts: dict[int, int]) -> list[tuple[int, int]]:
    """The top list by count, ties by product_id (codes ascend with it)."""
    ranked = sorted(((c, p) for p, c in counts.items() if c > 0), key=lambda t: (-t[0], t[1]))
    return [(p, c) for c, p in ranked[:TOP_PRODUCTS]]


def percentiles(samples: list[float]) -> dict:
    """As tamsa-bench: the sample at round((n - 1) * q) of the sorted samples."""
    s = sorted(samples)
    at = lambda q: s[int(math.floor((len(s) - 1) * q + 0.5))]  # noqa: E731
    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


def run_suite(engine, suite: dict, repeat: int) -> tuple[list[dict], list[dict]]:
    """Times every query as tamsa-bench does (one warm-up, then `repeat` timed runs of the
    count and of the profile) and keeps each query's answers."""
    sizes, answers = [], []
    print("| conditions | queries | median count | count p50 | count p95 | count p99 | profile p50 | profile p95 | profile p99 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for group in suite["groups"]:
        wheres = [engine.where(q) for q in group["queries"]]
        counts, count_ms, profile_ms = [], [], []
        for i, where in enumerate(wheres):
            count = engine.count(where)
            profile = engine.profile(where)
            counts.append(count)
            answers.append({"conditions": group["conditions"], "query": i, "count": count, "profile": profile})
            for _ in range(repeat):
                t = time.perf_counter()
                engine.count(where)
                count_ms.append((time.perf_counter() - t) * 1e3)
                t = time.perf_counter()
                engine.profile(where)
                profile_ms.append((time.perf_counter() - t) * 1e3)
        counts.sort()
        result = {
            "conditions": group["conditions"],
            "queries": len(wheres),
            "runs": len(count_ms),
            "median_count": counts[len(counts) // 2] if counts else 0,
            "count_ms": percentiles(count_ms) if count_ms else None,
            "profile_ms": percentiles(profile_ms) if profile_ms else None,
        }
        sizes.append(result)
        if count_ms:
            c, p = result["count_ms"], result["profile_ms"]
            print(
                f"| {result['conditions']} | {result['queries']} | {result['median_count']} | "
                f"{c['p50']:.2f} | {c['p95']:.2f} | {c['p99']:.2f} | {p['p50']:.2f} | {p['p95']:.2f} | {p['p99']:.2f} |",
                flush=True,
            )
    return sizes, answers


def write_json(path: Path, value) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, indent=1))
    os.replace(tmp, path)
