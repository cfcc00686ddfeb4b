"""A tiny input that breaks every rule of the input contract once (duplicate and blank ids,
nulls, odd channels, unknown customers and products, refunds, ties for the last order,
purchases after the as-of day, day boundaries in UTC), and a suite that asks about every
field and value, so that compare.py checks the engines' reindex against Tamsa's rules.

    python bench/engines/fixture.py --out DIR       # writes DIR/input/ and DIR/suite.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb

import common

CUSTOMERS_A = [
    # customer_id, birth_date, gender, region, tier, signup_date, email, sms
    ("C1", "1990-05-10", "F", "서울", "VIP", "2020-01-01", True, False),
    ("C2", "2000-02-29", " f ", " 서울 ", "GOLD", "2026-12-01", None, True),
    ("  ", "1980-01-01", "M", "부산", "VIP", None, True, True),
    ("", "1980-01-01", "M", "부산", "VIP", None, True, True),
    (None, "1980-01-01", "M", "부산", "VIP", None, True, True),
    ("C3", None, "m", "", None, None, False, None),
    ("C4", "1970-01-01", "x", "부산", " ", "2026-10-31", True, True),
    ("C5", "2030-01-01", None, None, "VIP", "2026-11-01", None, None),
    ("C6", "2006-10-31", "M", "대구", "GOLD", "2025-10-31", False, False),
]
CUSTOMERS_B = [
    ("C4", "1999-09-09", "F", "서울", "GOLD", "2020-01-01", False, False),
    ("C1", "1999-09-09", "M", "대구", "GOLD", "2020-01-01", False, False),
    (" C8", "1960-03-01", "U", "제주", "WELCOME", "2010-05-05", True, False),
    ("C7", "1955-12-31", "F", "서울", "VIP", "2019-02-03", True, True),
    ("C9", "1985-06-15", "F", "부산", "WELCOME", "2024-01-01", False, True),
]
PRODUCTS = [
    # product_id, name, brand, category
    ("P1", "Alpha cream", "Alpha", "크림"),
    ("P2", "Alpha toner", "Alpha", "토너"),
    ("P1", "duplicate", "Beta", "토너"),
    (" P3 ", "Beta lotion", " Beta ", "로션"),
    ("", "no id", "Beta", "로션"),
    ("P4", None, "", None),
    ("P5", "Gamma mist", "Gamma", "미스트"),
    ("P9", "never bought", "Delta", "향수"),
]
# order_id, customer_id, purchased_at (UTC), product_id, quantity, amount, channel
PURCHASES_A = [
    ("O1", "C1", "2026-10-31 23:59:59", "P1", 1, 10000, "online"),
    ("O1", "C1", "2026-10-31 23:59:59", "P2", 2, 5000, "online"),
    ("O2", "C1", "2026-10-01 00:00:00", "P3", 1, 7000, "OFFLINE"),
    ("O3", "C1", "2026-08-02 00:00:01", "P5", 1, -3000, " Online "),
    ("O4", "C1", "2025-10-31 12:00:00", "P1", 1, 1000, "offline"),
    ("O5", "C1", "2025-11-01 00:00:00", "P2", 1, 2000, "offline"),
    ("O6", "C2", "2026-10-30 10:00:00", "PX", 1, 500, "online"),
    ("O7", "C2", "2026-10-30 10:00:00", "P4", 1, -999, "offline"),
    ("O6", "C2", "2026-09-01 10:00:00", "P5", 1, 1, "online"),
    ("O8", "C3", "2026-07-01 00:00:00", "P3", 1, 100, "web"),
    ("O9", "C3", "2026-07-01 00:00:00", "P3", 1, 100, None),
    ("O10", None, "2026-07-01 00:00:00", "P3", 1, 100, "online"),
    (None, "C3", "2026-07-01 00:00:00", "P3", 1, 100, "online"),
    ("O11", "C3", "2026-07-01 00:00:00", None, 1, 100, "online"),
    ("O12", "C3", None, "P3", 1, 100, "online"),
    ("O13", "C3", "2026-07-01 00:00:00", "P3", 1, None, "online"),
    ("O14", "C99", "2026-12-31 00:00:00", "P3", 1, 100, "online"),
    ("O15", "C3", "2026-12-31 00:00:00", "P3", 1, 100, "internet"),
    ("O16", "C8", "2026-10-01 00:00:00", "P1", 1, 100, "online"),
    ("O17", " C8", "2026-10-01 00:00:00", " P3 ", 1, 300, "online"),
    ("O18", "C4", "2026-11-05 00:00:00", "P1", 1, 100, "online"),
    ("O19", "C4", "2026-06-01 00:00:00", "P1", 1, 100, "online"),
    ("O19", "C6", "2026-06-01 00:00:00", "P2", 1, 100, "offline"),
    ("B", "C7", "2026-05-05 05:05:05", "P1", 1, 100, "online"),
    ("Z", "C9", "2026-05-05 05:05:05", "P1", 1, 7, "online"),
]
PURCHASES_B = [
    ("A", "C7", "2026-05-05 05:05:05", "P2", 1, 200, "offline"),
    ("C", "C7", "2026-05-05 05:05:05", "P5", 1, 300, "offline"),
    ("C", "C7", "2025-01-01 00:00:00", "P3", 1, 10, "offline"),
    ("Y", "C9", "2026-05-05 05:05:05", "P2", 1, 11, "online"),
    ("Y", "C9", "2026-05-05 05:05:05", "P5", 1, 13, "online"),
    ("O20", "C5", "2026-10-31 00:00:00", "P9", 3, 0, "offline"),
]


def write(con, path: Path, columns: str, rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE t ({columns})")
    if rows:
        con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(rows[0]))})", rows)
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")


def suite(values: dict | None = None) -> dict:
    """Every field with every operator, and every value of the valued fields."""
    values = values or {
        "gender": list(common.GENDERS), "channel": list(common.CHANNELS), "bool": [True, False],
        "region": ["서울", "부산", "대구", "제주", "unknown"], "tier": ["VIP", "GOLD", "WELCOME", "unknown"],
        "brand": ["Alpha", "Beta", "Gamma", "Delta", "unknown"],
        "category": ["크림", "토너", "로션", "미스트", "향수", "unknown"],
        "product": ["P1", "P2", "P3", "P4", "P5", "P9", "PX", " P3 "],
    }
    queries = [{"all": []}, {"any": []}, {"not": {"all": []}}]
    for name, (kind, dim) in common.CATALOG.items():
        if kind == "number":
            for op, v in (("exists", True), ("exists", False), ("gte", 0), ("lt", 0), ("gt", 1), ("eq", 0),
                          ("between", [1, 1000]), ("lte", 30), ("eq", 0.5), ("gt", -0.5)):
                cond = {"field": name, "op": op, "value": v}
                queries += [cond, {"not": cond}]
        else:
            for v in values[dim]:
                cond = {"field": name, "op": "eq", "value": v}
                queries += [cond, {"not": cond}]
            queries.append({"field": name, "op": "in", "value": values[dim][:2]})
    queries.append({"all": [{"field": "gender", "op": "in", "value": ["f", "U"]},
                            {"any": [{"field": "aov_365d", "op": "lt", "value": 0},
                                     {"not": {"field": "age", "op": "gte", "value": 20}}]}]})
    return {"seed": 0, "groups": [{"conditions": 1, "queries": queries}]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    inp = args.out / "input"
    cust = ("customer_id VARCHAR, birth_date DATE, gender VARCHAR, region VARCHAR, tier VARCHAR, "
            "signup_date DATE, email_opt_in BOOLEAN, sms_opt_in BOOLEAN")
    write(con, inp / "customers" / "a.parquet", cust, CUSTOMERS_A)
    write(con, inp / "customers" / "b.parquet", cust, CUSTOMERS_B)
    write(con, inp / "products.parquet", "product_id VARCHAR, name VARCHAR, brand VARCHAR, category VARCHAR", PRODUCTS)
    purch = ("order_id VARCHAR, customer_id VARCHAR, purchased_at TIMESTAMPTZ, product_id VARCHAR, "
             "quantity INTEGER, amount BIGINT, channel VARCHAR")
    fix = lambda rows: [r[:2] + ((r[2] + "+00") if r[2] else None,) + r[3:] for r in rows]  # noqa: E731
    write(con, inp / "purchases" / "a.parquet", purch, fix(PURCHASES_A))
    write(con, inp / "purchases" / "b.parquet", purch, fix(PURCHASES_B))
    (args.out / "suite.json").write_text(json.dumps(suite(), ensure_ascii=False))
    print(f"wrote {inp} and {args.out / 'suite.json'}")

    # Integer ids, timestamps without zone in milliseconds, a birth date given as a timestamp.
    inp = args.out / "input-ints"
    write(con, inp / "customers.parquet", cust.replace("customer_id VARCHAR", "customer_id BIGINT")
          .replace("birth_date DATE", "birth_date TIMESTAMP"), [
        (1, "1990-05-10 23:30:00", "F", "서울", "VIP", "2020-01-01", True, False),
        (2, "1969-12-31 23:59:59", "m", "부산", "GOLD", "2021-01-01", False, True),
        (1, "1980-01-01 00:00:00", "M", "대구", "GOLD", None, None, None),
        (30, None, None, None, None, None, None, None),
    ])
    write(con, inp / "products.parquet", "product_id INTEGER, name VARCHAR, brand VARCHAR, category VARCHAR",
          [(7, "seven", "Alpha", "크림"), (8, "eight", "Beta", "토너")])
    write(con, inp / "purchases.parquet", purch.replace("order_id VARCHAR", "order_id BIGINT")
          .replace("customer_id VARCHAR", "customer_id INTEGER").replace("product_id VARCHAR", "product_id SMALLINT")
          .replace("purchased_at TIMESTAMPTZ", "purchased_at TIMESTAMP_MS").replace("amount BIGINT", "amount INTEGER"), [
        (10, 1, "2026-10-31 23:59:59.999", 7, 1, 100, "online"),
        (9, 1, "2026-10-31 23:59:59.999", 8, 1, 50, "online"),
        (10, 1, "2026-10-01 00:00:00", 8, 1, 5, "offline"),
        (11, 2, "1969-12-31 23:00:00", 9, 1, -5, "offline"),
        (12, 30, "2026-10-30 00:00:00.001", 7, 1, 1, "OFFLINE"),
        (13, 4, "2026-10-30 00:00:00", 7, 1, 1, "online"),
    ])
    ints = suite({"gender": list(common.GENDERS), "channel": list(common.CHANNELS), "bool": [True, False],
                  "region": ["서울", "부산", "unknown"], "tier": ["VIP", "GOLD", "unknown"],
                  "brand": ["Alpha", "Beta", "unknown"], "category": ["크림", "토너", "unknown"],
                  "product": ["7", "8", "9"]})
    (args.out / "suite-ints.json").write_text(json.dumps(ints, ensure_ascii=False))


if __name__ == "__main__":
    main()
