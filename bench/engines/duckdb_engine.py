"""DuckDB baseline: the per-customer fields computed by SQL from the Parquet input into a
native table of a database file, and segments answered by SQL over it.

Choices (see README.md): values as integer codes with dictionary tables beside; brand and
category sets as 64-bit masks, product sets as lists of codes; the table sorted by (gender,
age) for its zone maps; one profile statement over a materialized CTE of the members.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import duckdb

from common import (
    MASK_BITS,
    WHITESPACE_CLASS,
    WINDOWS,
    Dialect,
    Dicts,
    dir_bytes,
    facets,
    stage_label,
    table_files,
    to_sql,
)

WS = f"[{WHITESPACE_CLASS}]"
# DuckDB string literals keep backslashes, as RE2 wants them.
TRIM = f"'^{WS}+|{WS}+$'"
BLANK = f"'^{WS}*$'"


def trim_ws(expr: str) -> str:
    """Rust's str::trim (Unicode whitespace) of a text expression."""
    return f"regexp_replace({expr}, {TRIM}, '', 'g')"


def files_sql(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def micros_sql(column: str, ty: str) -> str:
    """Microseconds since the epoch (UTC) of a date or timestamp column of any unit/zone."""
    ty = ty.upper()
    if ty == "DATE":
        return f"(CAST({column} - DATE '1970-01-01' AS BIGINT) * 86400000000)"
    if ty.startswith("TIMESTAMP_NS"):
        # Arrow's cast to microseconds divides, truncating toward zero.
        n = f"epoch_ns({column})"
        return f"(({n}) // 1000)"
    return f"epoch_us({column})"


def floor_div(a: str, b: str) -> str:
    """Floor division of integers (DuckDB's // truncates toward zero)."""
    return f"(({a}) // ({b}) - CASE WHEN ({a}) % ({b}) < 0 THEN 1 ELSE 0 END)"


def day_sql(column: str, ty: str) -> str:
    """The UTC day (days since 1970-01-01) of a date or timestamp column."""
    if ty.upper() == "DATE":
        return f"CAST({column} - DATE '1970-01-01' AS INTEGER)"
    return f"CAST({floor_div(micros_sql(column, ty), '86400000000')} AS INTEGER)"


def text_sql(column: str) -> str:
    """Text, or an integer read as its decimal text."""
    return f"CAST({column} AS VARCHAR)"


def code_type(n: int) -> str:
    return "UTINYINT" if n <= 256 else "USMALLINT" if n <= 65536 else "UINTEGER"


DIALECT = Dialect(
    set_has_any=lambda col, codes: (
        f"list_contains({col}, {codes[0]})" if len(codes) == 1 else f"list_has_any({col}, [{', '.join(map(str, codes))}])"
    ),
    mask_any=lambda col, mask: f"(({col} & {mask}::UBIGINT) <> 0)",
    known=lambda col: f"({col} IS NOT NULL)",
)


class Engine:
    name = "duckdb"

    def __init__(self, work: Path, threads: int | None = None) -> None:
        self.path = work / "duckdb" / "tamsa.duckdb"
        self.threads = threads
        self.con = None
        self.dicts: Dicts | None = None

    def version(self) -> str:
        return duckdb.__version__

    def connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(self.path))
        if self.threads:
            con.execute(f"SET threads = {self.threads}")
        return con

    def settings(self) -> dict:
        return {"threads": self.con.execute("SELECT current_setting('threads')").fetchone()[0]}

    # ---------------------------------------------------------------- reindex
    def reindex(self, input_dir: Path, as_of: int | None) -> dict:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for p in self.path.parent.glob("tamsa.duckdb*"):
            p.unlink()
        started = time.perf_counter()
        con = self.connect()
        stages: dict[str, float] = {}

        def x(sql: str):
            t = time.perf_counter()
            out = con.execute(sql)
            label = stage_label(sql)
            stages[label] = stages.get(label, 0.0) + time.perf_counter() - t
            return out

        def types(files: list[str]) -> dict[str, str]:
            rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({files_sql(files)})").fetchall()
            return {r[0]: r[1] for r in rows}

        cust_files = table_files(input_dir, "customers")
        prod_files = table_files(input_dir, "products")
        purch_files = table_files(input_dir, "purchases")
        ct, pt = types(cust_files), types(purch_files)
        read = lambda files: (  # noqa: E731
            f"read_parquet({files_sql(files)}, filename = true, file_row_number = true)"
        )
        file_no = lambda files: f"list_position({files_sql(files)}, filename)"  # noqa: E731

        # Customers: an empty id (after trimming) is skipped, then the first row of an id
        # (in file name order, then row order) wins. Numbered in that order.
        x(f"""
            CREATE TEMP TABLE cust AS
            SELECT (row_number() OVER (ORDER BY f, r) - 1)::UINTEGER AS cno, * EXCLUDE (f, r) FROM (
                SELECT {text_sql('customer_id')} AS customer_id,
                       {day_sql('birth_date', ct['birth_date'])} AS birth,
                       CASE WHEN gender IS NULL THEN 2
                            WHEN upper({trim_ws('gender')}) = 'F' THEN 0
                            WHEN upper({trim_ws('gender')}) = 'M' THEN 1 ELSE 2 END::UTINYINT AS gender,
                       coalesce(nullif({trim_ws('region')}, ''), 'unknown') AS region,
                       coalesce(nullif({trim_ws('tier')}, ''), 'unknown') AS tier,
                       {day_sql('signup_date', ct['signup_date'])} AS signup,
                       coalesce(email_opt_in, false) AS email_opt_in,
                       coalesce(sms_opt_in, false) AS sms_opt_in,
                       {file_no(cust_files)} AS f, file_row_number AS r
                FROM {read(cust_files)}
                WHERE customer_id IS NOT NULL AND NOT regexp_matches({text_sql('customer_id')}, {BLANK})
                QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY f, r) = 1)
        """)
        # Products: ids are matched exactly; a blank one is skipped; the first row of an id wins.
        x(f"""
            CREATE TEMP TABLE prod AS
            SELECT product_id, coalesce(name, '') AS name,
                   coalesce(nullif({trim_ws('brand')}, ''), 'unknown') AS brand,
                   coalesce(nullif({trim_ws('category')}, ''), 'unknown') AS category
            FROM (SELECT {text_sql('product_id')} AS product_id, name, brand, category,
                         {file_no(prod_files)} AS f, file_row_number AS r
                  FROM {read(prod_files)})
            WHERE product_id IS NOT NULL AND {trim_ws('product_id')} <> ''
            QUALIFY row_number() OVER (PARTITION BY product_id ORDER BY f, r) = 1
        """)
        # Purchases: rows with a null key column, another channel or an unknown customer are
        # skipped; the channel is trimmed and compared in any ASCII case (the regex only runs
        # for the rare values that are not already plain).
        channel = (
            "CASE WHEN channel IN ('online', 'offline') THEN channel = 'online' "
            f"WHEN lower({trim_ws('channel')}) = 'online' THEN true "
            f"WHEN lower({trim_ws('channel')}) = 'offline' THEN false END"
        )
        x(f"""
            CREATE TEMP TABLE lines AS
            SELECT c.cno, p.order_id, p.micros, {floor_div('p.micros', '86400000000')}::INTEGER AS day,
                   p.product_id, p.amount, p.online
            FROM (SELECT {text_sql('customer_id')} AS customer_id, {text_sql('order_id')} AS order_id,
                         {micros_sql('purchased_at', pt['purchased_at'])} AS micros,
                         {text_sql('product_id')} AS product_id, CAST(amount AS BIGINT) AS amount,
                         {channel} AS online
                  FROM read_parquet({files_sql(purch_files)})
                  WHERE customer_id IS NOT NULL AND order_id IS NOT NULL AND product_id IS NOT NULL
                    AND purchased_at IS NOT NULL AND amount IS NOT NULL) p
            JOIN cust c ON c.customer_id = p.customer_id
            WHERE p.online IS NOT NULL
        """)
        if as_of is None:
            as_of = x("SELECT max(day) FROM lines").fetchone()[0]
        if as_of is None:
            as_of = x("SELECT max(signup) FROM cust").fetchone()[0]
        if as_of is None:
            as_of = 0
        x(f"DELETE FROM lines WHERE day > {as_of}")

        # Dictionaries. Products the purchases name but the table lacks join it with brand and
        # category 'unknown'; product codes ascend with product_id (the top list's tie order).
        x("""
            CREATE TABLE dim_product AS
            SELECT (row_number() OVER (ORDER BY product_id) - 1)::UINTEGER AS code, * FROM (
                SELECT product_id, name, brand, category FROM prod
                UNION ALL
                SELECT DISTINCT l.product_id, '', 'unknown', 'unknown'
                FROM lines l ANTI JOIN prod p ON p.product_id = l.product_id)
        """)
        for dim, source in (("brand", "dim_product"), ("category", "dim_product"), ("region", "cust"), ("tier", "cust")):
            x(f"""
                CREATE TABLE dim_{dim} AS
                SELECT (row_number() OVER (ORDER BY {dim}) - 1)::UINTEGER AS code, {dim} AS value, population
                FROM (SELECT {dim}, count(*) AS population FROM {source} GROUP BY {dim})
            """)
        n_prod = x("SELECT count(*) FROM dim_product").fetchone()[0]
        n_brand = x("SELECT count(*) FROM dim_brand").fetchone()[0]
        n_cat = x("SELECT count(*) FROM dim_category").fetchone()[0]
        pty, bty, cty = code_type(n_prod), code_type(n_brand), code_type(n_cat)
        rty = code_type(x("SELECT count(*) FROM dim_region").fetchone()[0])
        tty = code_type(x("SELECT count(*) FROM dim_tier").fetchone()[0])

        x(f"""
            CREATE TEMP TABLE l2 AS
            SELECT l.cno, l.order_id, l.micros, l.day, l.amount, l.online,
                   p.code::{pty} AS pcode, b.code::{bty} AS bcode, c.code::{cty} AS ccode
            FROM lines l
            JOIN dim_product p ON p.product_id = l.product_id
            JOIN dim_brand b ON b.value = p.brand
            JOIN dim_category c ON c.value = p.category
        """)
        x("DROP TABLE lines")

        since = {w: as_of - w for w in WINDOWS}
        ch = lambda w: (  # noqa: E731
            f"CASE WHEN bool_or(online) FILTER (WHERE day > {since[w]}) IS NULL THEN 3 "
            f"WHEN bool_and(online) FILTER (WHERE day > {since[w]}) THEN 0 "
            f"WHEN NOT bool_or(online) FILTER (WHERE day > {since[w]}) THEN 1 ELSE 2 END"
        )
        # Per customer: spend, channels, first and last day from the lines; order counts from
        # each order's latest day (an order counts in a window when any of its lines does).
        x(f"""
            CREATE TEMP TABLE agg_lines AS
            SELECT cno,
                   {', '.join(f"coalesce(sum(amount) FILTER (WHERE day > {since[w]}), 0) AS spend_{w}d" for w in WINDOWS)},
                   {', '.join(f"{ch(w)}::UTINYINT AS channel_{w}d" for w in WINDOWS)},
                   sum(amount) AS spend_total, min(day) AS first_day, max(day) AS last_day,
                   max({{'m': micros, 'o': order_id}}).o AS last_order
            FROM l2 GROUP BY cno
        """)
        x(f"""
            CREATE TEMP TABLE agg_orders AS
            SELECT cno, {', '.join(f"count(*) FILTER (WHERE od > {since[w]}) AS orders_{w}d" for w in WINDOWS)},
                   count(*) AS orders_total
            FROM (SELECT cno, order_id, max(day) AS od FROM l2 GROUP BY cno, order_id) GROUP BY cno
        """)
        # Set fields: a 64-bit mask of codes for dimensions of at most 64 values, else a list.
        masked = {"brand": n_brand <= MASK_BITS, "category": n_cat <= MASK_BITS, "product": False}
        empty = {"brand": f"[]::{bty}[]", "category": f"[]::{cty}[]", "product": f"[]::{pty}[]"}
        for dim in masked:
            if masked[dim]:
                empty[dim] = "0::UBIGINT"

        def collect(dim: str, col: str, distinct: bool = False) -> str:
            if masked[dim]:
                return f"bit_or(1::UBIGINT << {col})"
            return f"list({'DISTINCT ' if distinct else ''}{col})"

        for dim, col in (("brand", "bcode"), ("category", "ccode"), ("product", "pcode")):
            x(f"""
                CREATE TEMP TABLE agg_{dim} AS
                SELECT cno, {', '.join(f"{collect(dim, col)} FILTER (WHERE d > {since[w]}) AS {dim}_{w}d" for w in WINDOWS)}
                FROM (SELECT cno, {col}, max(day) AS d FROM l2 GROUP BY cno, {col}) GROUP BY cno
            """)
        x(f"""
            CREATE TEMP TABLE agg_last AS
            SELECT l.cno, {collect('brand', 'l.bcode', True)} AS last_brand,
                   {collect('category', 'l.ccode', True)} AS last_category,
                   {collect('product', 'l.pcode', True)} AS last_product
            FROM l2 l JOIN agg_lines a ON a.cno = l.cno AND a.last_order = l.order_id
            GROUP BY l.cno
        """)

        on = dt.date(1970, 1, 1) + dt.timedelta(days=as_of)
        dm, dd = on.month, on.day
        age = (
            f"CASE WHEN c.birth IS NULL OR c.birth > {as_of} THEN NULL ELSE "
            f"{on.year} - year(DATE '1970-01-01' + c.birth) - CASE WHEN month(DATE '1970-01-01' + c.birth) > {dm} "
            f"OR (month(DATE '1970-01-01' + c.birth) = {dm} AND day(DATE '1970-01-01' + c.birth) > {dd}) THEN 1 ELSE 0 END END"
        )
        cols = ["c.cno", "c.customer_id", "c.age::INTEGER AS age", """CASE WHEN c.age IS NULL THEN 6 WHEN c.age < 20 THEN 0
                   WHEN c.age >= 60 THEN 5 ELSE c.age // 10 - 1 END::UTINYINT AS age_bucket""",
                "c.gender", f"r.code::{rty} AS region", f"t.code::{tty} AS tier",
                "c.email_opt_in", "c.sms_opt_in",
                f"CASE WHEN c.signup <= {as_of} THEN {as_of} - c.signup END::INTEGER AS days_since_signup"]
        for w in WINDOWS:
            cols += [
                f"coalesce(o.orders_{w}d, 0)::INTEGER AS orders_{w}d",
                f"coalesce(s.spend_{w}d, 0)::BIGINT AS spend_{w}d",
                f"CASE WHEN coalesce(o.orders_{w}d, 0) > 0 THEN {floor_div(f's.spend_{w}d', f'o.orders_{w}d')} END::BIGINT AS aov_{w}d",
                f"coalesce(s.channel_{w}d, 3)::UTINYINT AS channel_{w}d",
                f"coalesce(b.brand_{w}d, {empty['brand']}) AS brand_{w}d",
                f"coalesce(k.category_{w}d, {empty['category']}) AS category_{w}d",
                f"coalesce(p.product_{w}d, {empty['product']}) AS product_{w}d",
            ]
        cols += [
            "coalesce(o.orders_total, 0)::INTEGER AS orders_total",
            "coalesce(s.spend_total, 0)::BIGINT AS spend_total",
            f"({as_of} - s.first_day)::INTEGER AS days_since_first_purchase",
            f"({as_of} - s.last_day)::INTEGER AS days_since_last_purchase",
            f"coalesce(la.last_brand, {empty['brand']}) AS last_brand",
            f"coalesce(la.last_category, {empty['category']}) AS last_category",
            f"coalesce(la.last_product, {empty['product']}) AS last_product",
        ]
        x(f"""
            CREATE TABLE customer_fields AS
            SELECT {', '.join(cols)}
            FROM (SELECT *, {age} AS age FROM cust c) c
            JOIN dim_region r ON r.value = c.region
            JOIN dim_tier t ON t.value = c.tier
            LEFT JOIN agg_lines s ON s.cno = c.cno
            LEFT JOIN agg_orders o ON o.cno = c.cno
            LEFT JOIN agg_brand b ON b.cno = c.cno
            LEFT JOIN agg_category k ON k.cno = c.cno
            LEFT JOIN agg_product p ON p.cno = c.cno
            LEFT JOIN agg_last la ON la.cno = c.cno
            -- Most segments filter on gender and age: sorted so, zone maps skip row groups.
            ORDER BY c.gender, c.age
        """)
        x(f"CREATE TABLE meta AS SELECT {as_of}::INTEGER AS as_of, (SELECT count(*) FROM cust) AS population")
        x("CHECKPOINT")
        con.close()
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "db_bytes": dir_bytes(self.path.parent),
                "stages": {k: round(v, 2) for k, v in stages.items() if v >= 0.05}}

    # ---------------------------------------------------------------- queries
    def open(self) -> Dicts:
        self.con = self.connect()
        x = lambda sql: self.con.execute(sql).fetchall()  # noqa: E731
        as_of, population = x("SELECT as_of, population FROM meta")[0]
        dim = lambda d: x(f"SELECT value, population FROM dim_{d} ORDER BY code")  # noqa: E731
        region, tier = dim("region"), dim("tier")
        products = x("SELECT product_id, name, brand FROM dim_product ORDER BY code")
        self.dicts = Dicts(
            region=[v for v, _ in region],
            tier=[v for v, _ in tier],
            brand=[v for v, _ in dim("brand")],
            category=[v for v, _ in dim("category")],
            product=[p[0] for p in products],
            product_name=[p[1] for p in products],
            product_brand=[p[2] for p in products],
            region_population=[n for _, n in region],
            tier_population=[n for _, n in tier],
            population=population,
            as_of=as_of,
        )
        return self.dicts

    def where(self, node) -> str:
        return to_sql(node, self.dicts, DIALECT)

    def count(self, where: str) -> int:
        return self.con.execute(f"SELECT count(*) FROM customer_fields WHERE {where}").fetchone()[0]

    def profile(self, where: str) -> dict:
        # One statement: the members once (materialized), then every facet from them.
        rows = self.con.execute(f"""
            WITH m AS MATERIALIZED (
                SELECT age_bucket, gender, channel_365d, region, tier, spend_365d, last_product
                FROM customer_fields WHERE {where})
            SELECT 0 AS facet, age_bucket AS code, count(*) AS n FROM m GROUP BY age_bucket
            UNION ALL SELECT 1, gender, count(*) FROM m GROUP BY gender
            UNION ALL SELECT 2, channel_365d, count(*) FROM m GROUP BY channel_365d
            UNION ALL SELECT 3, region, count(*) FROM m GROUP BY region
            UNION ALL SELECT 4, tier, count(*) FROM m GROUP BY tier
            UNION ALL SELECT 5, 0, coalesce(sum(spend_365d), 0) FROM m
            UNION ALL SELECT 6, 0, count(*) FROM m
            UNION ALL (SELECT 7, p, count(*) AS n FROM (SELECT unnest(last_product) AS p FROM m)
                       GROUP BY p ORDER BY n DESC, p LIMIT 10)
        """).fetchall()
        return assemble(self.dicts, rows)


def assemble(dicts: Dicts, rows) -> dict:
    """A profile from (facet, code, n) rows: 0 age, 1 gender, 2 channel, 3 region, 4 tier,
    5 spend sum, 6 count, 7 top products."""
    parts: list[dict] = [{} for _ in range(8)]
    top = []
    for facet, code, n in rows:
        if facet == 7:
            top.append((code, n))
        else:
            parts[facet][code] = n
    top.sort(key=lambda t: (-t[1], t[0]))
    count = parts[6].get(0, 0)
    return {
        "count": int(count),
        "population": dicts.population,
        "facets": facets(dicts, parts[0], parts[1], parts[2], parts[3], parts[4], top, parts[5].get(0, 0)),
    }
