"""ClickHouse (embedded, chdb) baseline: the per-customer fields computed by SQL from the
Parquet input into a MergeTree table of a session directory, and segments answered by SQL.

Choices (see README.md): values as integer codes with dictionary tables beside; brand and
category sets as 64-bit masks, product sets as arrays of codes; ORDER BY (gender, age) for
the primary key; a profile as one pass (`sumMap` over offset facet codes and over the last
products, the top ten picked from its result).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
from pathlib import Path

import chdb
from chdb import session as chs

from common import (
    AGE_LABELS,
    CHANNELS,
    GENDERS,
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
    top_products,
)


def lit(text: str) -> str:
    """A ClickHouse string literal (which unescapes backslashes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


WS = f"[{WHITESPACE_CLASS}]"
TRIM = lit(f"^{WS}+|{WS}+$")
BLANK = lit(f"^{WS}*$")
DAY_US = 86400000000


def trim_ws(expr: str) -> str:
    """Rust's str::trim (Unicode whitespace) of a text expression."""
    return f"replaceRegexpAll({expr}, {TRIM}, '')"


def base_type(ty: str) -> str:
    m = re.fullmatch(r"(?:Nullable|LowCardinality)\((.*)\)", ty)
    return base_type(m.group(1)) if m else ty


def floor_div(a: str, b: str) -> str:
    return f"(intDiv({a}, {b}) - if(({a}) % ({b}) < 0, 1, 0))"


def micros_sql(column: str, ty: str) -> str:
    ty = base_type(ty)
    if ty.startswith("Date32") or ty == "Date":
        return f"(toInt64(toInt32(toDate32({column}))) * {DAY_US})"
    if ty.startswith("DateTime64"):
        return f"toUnixTimestamp64Micro({column})"
    return f"(toInt64(toUnixTimestamp({column})) * 1000000)"  # DateTime: seconds


def day_sql(column: str, ty: str) -> str:
    ty = base_type(ty)
    if ty.startswith("Date32") or ty == "Date":
        return f"toInt32(toDate32({column}))"
    return f"toInt32({floor_div(micros_sql(column, ty), str(DAY_US))})"


def files_glob(files: list[str]) -> str:
    """One `file` path naming exactly these files (all in one folder)."""
    if len(files) == 1:
        return files[0]
    folder = str(Path(files[0]).parent)
    return folder + "/{" + ",".join(Path(f).name for f in files) + "}"


def code_type(n: int) -> str:
    return "UInt8" if n <= 256 else "UInt16" if n <= 65536 else "UInt32"


DIALECT = Dialect(
    set_has_any=lambda col, codes: (
        f"has({col}, {codes[0]})" if len(codes) == 1 else f"hasAny({col}, [{', '.join(map(str, codes))}])"
    ),
    mask_any=lambda col, mask: f"(bitAnd({col}, {mask}) != 0)",
    known=lambda col: f"isNotNull({col})",
)

# Long queries (500 conditions) need more than the default limits on query text and AST size.
QUERY_SETTINGS = "SETTINGS max_query_size = 16777216, max_ast_elements = 10000000, max_expanded_ast_elements = 10000000"


class Engine:
    name = "chdb"

    def __init__(self, work: Path, threads: int | None = None) -> None:
        self.path = work / "chdb"
        self.threads = threads
        self.sess = None
        self.dicts: Dicts | None = None

    def version(self) -> str:
        return f"chdb {chdb.__version__}, ClickHouse {self.q('SELECT version()').strip()}"

    def q(self, sql: str, fmt: str = "TabSeparated") -> str:
        if self.sess is None:
            self.sess = chs.Session(str(self.path))
            if self.threads:
                self.sess.query(f"SET max_threads = {self.threads}")
        res = self.sess.query(sql, fmt)
        if res.has_error():
            raise RuntimeError(res.error_message())
        return res.bytes().decode()

    def rows(self, sql: str) -> list[list]:
        return [json.loads(line) for line in self.q(sql, "JSONCompactEachRow").splitlines()]

    def settings(self) -> dict:
        return dict(self.rows("SELECT name, value FROM system.settings WHERE name IN ('max_threads')"))

    # ---------------------------------------------------------------- reindex
    def reindex(self, input_dir: Path, as_of: int | None) -> dict:
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        started = time.perf_counter()
        stages: dict[str, float] = {}

        def x(sql: str) -> str:
            t = time.perf_counter()
            out = self.q(sql)
            label = stage_label(sql)
            stages[label] = stages.get(label, 0.0) + time.perf_counter() - t
            return out
        x("CREATE DATABASE IF NOT EXISTS tamsa")
        x("USE tamsa")
        x("SET join_use_nulls = 0")

        def types(files: list[str]) -> dict[str, str]:
            return {r[0]: r[1] for r in self.rows(f"DESCRIBE file({lit(files[0])}, Parquet)")}

        def read(files: list[str], columns: str) -> str:
            # One `file` per part, numbered in name order, so "the first row" is well defined.
            return " UNION ALL ".join(
                f"SELECT {columns}, toUInt32({k}) AS f, _row_number AS r FROM file({lit(path)}, Parquet)"
                for k, path in enumerate(files)
            )

        cust_files = table_files(input_dir, "customers")
        prod_files = table_files(input_dir, "products")
        purch_files = table_files(input_dir, "purchases")
        ct, pt = types(cust_files), types(purch_files)

        # Customers: an empty id (after trimming) is skipped, then the first row of an id (in
        # file name order, then row order) wins. Numbered in that order.
        gender = trim_ws("gender")
        x(f"""
            CREATE TABLE cust ENGINE = MergeTree ORDER BY cno AS
            SELECT toUInt32(row_number() OVER (ORDER BY f, r) - 1) AS cno, * EXCEPT (f, r) FROM (
                SELECT assumeNotNull(toString(customer_id)) AS customer_id,
                       {day_sql('birth_date', ct['birth_date'])} AS birth,
                       toUInt8(multiIf(gender IS NULL, 2, upper({gender}) = 'F', 0, upper({gender}) = 'M', 1, 2)) AS gender,
                       assumeNotNull(coalesce(nullIf({trim_ws('region')}, ''), 'unknown')) AS region,
                       assumeNotNull(coalesce(nullIf({trim_ws('tier')}, ''), 'unknown')) AS tier,
                       {day_sql('signup_date', ct['signup_date'])} AS signup,
                       assumeNotNull(coalesce(email_opt_in, false)) AS email_opt_in,
                       assumeNotNull(coalesce(sms_opt_in, false)) AS sms_opt_in, f, r
                FROM ({read(cust_files, '*')})
                WHERE NOT match(assumeNotNull(toString(customer_id)), {BLANK})
                ORDER BY f, r LIMIT 1 BY customer_id)
        """)
        # Products: ids are matched exactly; a blank one is skipped; the first row of an id wins.
        x(f"""
            CREATE TABLE prod ENGINE = MergeTree ORDER BY product_id AS
            SELECT assumeNotNull(product_id) AS product_id, assumeNotNull(coalesce(name, '')) AS name,
                   assumeNotNull(coalesce(nullIf({trim_ws('brand')}, ''), 'unknown')) AS brand,
                   assumeNotNull(coalesce(nullIf({trim_ws('category')}, ''), 'unknown')) AS category
            FROM (SELECT toString(product_id) AS product_id, name, brand, category, f, r
                  FROM ({read(prod_files, '*')}))
            WHERE product_id IS NOT NULL AND {trim_ws('product_id')} != ''
            ORDER BY f, r LIMIT 1 BY product_id
        """)
        # Purchases: rows with a null key column, another channel or an unknown customer are
        # skipped; the channel is trimmed and compared in any ASCII case (`lower` is ASCII).
        ch = trim_ws("channel")
        online = (
            f"multiIf(channel IN ('online', 'offline'), toNullable(channel = 'online'), "
            f"lower({ch}) = 'online', toNullable(true), lower({ch}) = 'offline', toNullable(false), NULL)"
        )
        micros = micros_sql("purchased_at", pt["purchased_at"])
        x(f"""
            CREATE TABLE lines ENGINE = MergeTree ORDER BY cno AS
            SELECT c.cno AS cno, p.order_id AS order_id, p.micros AS micros,
                   toInt32({floor_div('p.micros', str(DAY_US))}) AS day,
                   p.product_id AS product_id, p.amount AS amount, assumeNotNull(p.online) AS online
            FROM (SELECT assumeNotNull(toString(customer_id)) AS customer_id,
                         assumeNotNull(toString(order_id)) AS order_id,
                         assumeNotNull({micros}) AS micros,
                         assumeNotNull(toString(product_id)) AS product_id,
                         assumeNotNull(toInt64(amount)) AS amount, {online} AS online
                  -- Filtered in a subquery: ClickHouse lets a SELECT alias shadow a column in WHERE.
                  FROM (SELECT * FROM file({lit(files_glob(purch_files))}, Parquet)
                        WHERE customer_id IS NOT NULL AND order_id IS NOT NULL AND product_id IS NOT NULL
                          AND purchased_at IS NOT NULL AND amount IS NOT NULL)) AS p
            INNER JOIN (SELECT cno, customer_id FROM cust) AS c ON c.customer_id = p.customer_id
            WHERE p.online IS NOT NULL
        """)
        if as_of is None:
            top = self.rows("SELECT max(day), count() FROM lines")[0]
            as_of = int(top[0]) if int(top[1]) > 0 else None
        if as_of is None:
            top = self.rows("SELECT max(signup) FROM cust")[0][0]
            as_of = 0 if top is None else int(top)

        # Dictionaries. Products the purchases name but the table lacks join it with brand and
        # category 'unknown'; product codes ascend with product_id (the top list's tie order).
        x(f"""
            CREATE TABLE dim_product ENGINE = MergeTree ORDER BY code AS
            SELECT toUInt32(row_number() OVER (ORDER BY product_id) - 1) AS code, * FROM (
                SELECT product_id, name, brand, category FROM prod
                UNION ALL
                SELECT DISTINCT product_id, '', 'unknown', 'unknown' FROM lines
                WHERE day <= {as_of} AND product_id NOT IN (SELECT product_id FROM prod))
        """)
        for dim, source in (("brand", "dim_product"), ("category", "dim_product"), ("region", "cust"), ("tier", "cust")):
            x(f"""
                CREATE TABLE dim_{dim} ENGINE = MergeTree ORDER BY code AS
                SELECT toUInt32(row_number() OVER (ORDER BY value) - 1) AS code, value, population
                FROM (SELECT {dim} AS value, count() AS population FROM {source} GROUP BY {dim})
            """)
        n = {d: int(self.rows(f"SELECT count() FROM dim_{d}")[0][0]) for d in ("product", "brand", "category", "region", "tier")}
        pty, bty, cty = code_type(n["product"]), code_type(n["brand"]), code_type(n["category"])
        rty, tty = code_type(n["region"]), code_type(n["tier"])

        x(f"""
            CREATE TABLE l2 ENGINE = MergeTree ORDER BY cno AS
            SELECT l.cno AS cno, l.order_id AS order_id, l.micros AS micros, l.day AS day, l.amount AS amount,
                   l.online AS online, to{pty}(d.code) AS pcode, to{bty}(d.bc) AS bcode, to{cty}(d.kc) AS ccode
            FROM (SELECT * FROM lines WHERE day <= {as_of}) AS l
            INNER JOIN (SELECT p.code AS code, p.product_id AS product_id, b.code AS bc, k.code AS kc
                        FROM dim_product AS p
                        INNER JOIN dim_brand AS b ON b.value = p.brand
                        INNER JOIN dim_category AS k ON k.value = p.category) AS d ON d.product_id = l.product_id
        """)
        x("DROP TABLE lines SYNC")

        since = {w: as_of - w for w in WINDOWS}
        chan = lambda w: (  # noqa: E731
            f"toUInt8(multiIf(countIf(day > {since[w]}) = 0, 3, "
            f"countIf(day > {since[w]} AND online) = countIf(day > {since[w]}), 0, "
            f"countIf(day > {since[w]} AND online) = 0, 1, 2))"
        )
        # Per customer: spend, channels, first and last day from the lines; order counts from
        # each order's latest day (an order counts in a window when any of its lines does).
        x(f"""
            CREATE TABLE agg_lines ENGINE = MergeTree ORDER BY cno AS
            SELECT cno, toUInt8(1) AS has,
                   {', '.join(f"sumIf(amount, day > {since[w]}) AS spend_{w}d" for w in WINDOWS)},
                   {', '.join(f"{chan(w)} AS channel_{w}d" for w in WINDOWS)},
                   sum(amount) AS spend_total, min(day) AS first_day, max(day) AS last_day,
                   argMax(order_id, (micros, order_id)) AS last_order
            FROM l2 GROUP BY cno
        """)
        x(f"""
            CREATE TABLE agg_orders ENGINE = MergeTree ORDER BY cno AS
            SELECT cno, {', '.join(f"countIf(od > {since[w]}) AS orders_{w}d" for w in WINDOWS)},
                   count() AS orders_total
            FROM (SELECT cno, order_id, max(day) AS od FROM l2 GROUP BY cno, order_id) GROUP BY cno
        """)
        # Set fields: a 64-bit mask of codes for dimensions of at most 64 values, else an array.
        masked = {"brand": n["brand"] <= MASK_BITS, "category": n["category"] <= MASK_BITS, "product": False}

        def collect(dim: str, col: str, cond: str | None = None) -> str:
            if masked[dim]:
                bit = f"bitShiftLeft(toUInt64(1), {col})"
                return f"groupBitOrIf({bit}, {cond})" if cond else f"groupBitOr({bit})"
            return f"arraySort(groupArrayIf({col}, {cond}))" if cond else f"arraySort(groupUniqArray({col}))"

        for dim, col in (("brand", "bcode"), ("category", "ccode"), ("product", "pcode")):
            x(f"""
                CREATE TABLE agg_{dim} ENGINE = MergeTree ORDER BY cno AS
                SELECT cno, {', '.join(f"{collect(dim, col, f'd > {since[w]}')} AS {dim}_{w}d" for w in WINDOWS)}
                FROM (SELECT cno, {col}, max(day) AS d FROM l2 GROUP BY cno, {col}) GROUP BY cno
            """)
        x(f"""
            CREATE TABLE agg_last ENGINE = MergeTree ORDER BY cno AS
            SELECT l.cno AS cno, {collect('brand', 'l.bcode')} AS last_brand,
                   {collect('category', 'l.ccode')} AS last_category,
                   {collect('product', 'l.pcode')} AS last_product
            FROM l2 AS l INNER JOIN (SELECT cno, last_order FROM agg_lines) AS a
                ON a.cno = l.cno AND a.last_order = l.order_id
            GROUP BY l.cno
        """)

        d = dt.date(1970, 1, 1) + dt.timedelta(days=as_of)
        bd = "addDays(toDate32('1970-01-01'), c.birth)"
        age = (
            f"if(c.birth IS NULL OR c.birth > {as_of}, NULL, toInt32({d.year} - toYear({bd}) - "
            f"if(toMonth({bd}) > {d.month} OR (toMonth({bd}) = {d.month} AND toDayOfMonth({bd}) > {d.day}), 1, 0)))"
        )
        cols = [
            "c.cno AS cno", "c.customer_id AS customer_id", "c.age AS age",
            "toUInt8(multiIf(c.age IS NULL, 6, c.age < 20, 0, c.age >= 60, 5, intDiv(c.age, 10) - 1)) AS age_bucket",
            "c.gender AS gender", f"to{rty}(r.code) AS region", f"to{tty}(t.code) AS tier",
            "c.email_opt_in AS email_opt_in", "c.sms_opt_in AS sms_opt_in",
            f"if(c.signup <= {as_of}, toInt32({as_of} - c.signup), NULL) AS days_since_signup",
        ]
        for w in WINDOWS:
            cols += [
                f"toInt32(o.orders_{w}d) AS orders_{w}d",
                f"toInt64(s.spend_{w}d) AS spend_{w}d",
                f"if(o.orders_{w}d > 0, toInt64({floor_div(f's.spend_{w}d', f'toInt64(o.orders_{w}d)')}), NULL) AS aov_{w}d",
                f"if(s.has = 1, s.channel_{w}d, toUInt8(3)) AS channel_{w}d",
                f"b.brand_{w}d AS brand_{w}d", f"k.category_{w}d AS category_{w}d", f"p.product_{w}d AS product_{w}d",
            ]
        cols += [
            "toInt32(o.orders_total) AS orders_total", "toInt64(s.spend_total) AS spend_total",
            f"if(s.has = 1, toInt32({as_of} - s.first_day), NULL) AS days_since_first_purchase",
            f"if(s.has = 1, toInt32({as_of} - s.last_day), NULL) AS days_since_last_purchase",
            "la.last_brand AS last_brand", "la.last_category AS last_category", "la.last_product AS last_product",
        ]
        x(f"""
            -- Most segments filter on gender and age: the primary key skips granules.
            CREATE TABLE customer_fields ENGINE = MergeTree ORDER BY (gender, age)
            SETTINGS allow_nullable_key = 1 AS
            SELECT {', '.join(cols)}
            FROM (SELECT *, {age} AS age FROM cust AS c) AS c
            INNER JOIN dim_region AS r ON r.value = c.region
            INNER JOIN dim_tier AS t ON t.value = c.tier
            LEFT JOIN agg_lines AS s ON s.cno = c.cno
            LEFT JOIN agg_orders AS o ON o.cno = c.cno
            LEFT JOIN agg_brand AS b ON b.cno = c.cno
            LEFT JOIN agg_category AS k ON k.cno = c.cno
            LEFT JOIN agg_product AS p ON p.cno = c.cno
            LEFT JOIN agg_last AS la ON la.cno = c.cno
            SETTINGS join_use_nulls = 0
        """)
        x(f"CREATE TABLE meta ENGINE = MergeTree ORDER BY tuple() AS SELECT toInt32({as_of}) AS as_of, "
          "(SELECT count() FROM cust) AS population")
        for t in ("l2", "agg_lines", "agg_orders", "agg_brand", "agg_category", "agg_product", "agg_last", "prod", "cust"):
            x(f"DROP TABLE {t} SYNC")
        x("OPTIMIZE TABLE customer_fields FINAL")
        seconds = time.perf_counter() - started
        # Replaced parts linger on disk for a while after OPTIMIZE: count the live ones.
        live = self.rows("SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = 'tamsa'")[0][0]
        return {"seconds": seconds, "db_bytes": int(live), "dir_bytes": dir_bytes(self.path),
                "stages": {k: round(v, 2) for k, v in stages.items() if v >= 0.05}}

    # ---------------------------------------------------------------- queries
    def open(self) -> Dicts:
        self.q("USE tamsa")
        as_of, population = (int(v) for v in self.rows("SELECT as_of, population FROM meta")[0])

        def dim(d: str) -> list[list[str]]:
            return self.rows(f"SELECT value, population FROM dim_{d} ORDER BY code")

        region, tier = dim("region"), dim("tier")
        products = self.rows("SELECT product_id, name, brand FROM dim_product ORDER BY code")
        self.dicts = Dicts(
            region=[(v) for v, _ in region],
            tier=[(v) for v, _ in tier],
            brand=[(v) for v, _ in dim("brand")],
            category=[(v) for v, _ in dim("category")],
            product=[(p[0]) for p in products],
            product_name=[(p[1]) for p in products],
            product_brand=[(p[2]) for p in products],
            region_population=[int(v) for _, v in region],
            tier_population=[int(v) for _, v in tier],
            population=population,
            as_of=as_of,
        )
        d = self.dicts
        # The profile statement: every facet in one pass over the members, the few-valued
        # facets as one sumMap over offset codes, the last products as another.
        self.offsets = [0]
        for k in (len(AGE_LABELS), len(GENDERS), len(CHANNELS), len(d.region), len(d.tier)):
            self.offsets.append(self.offsets[-1] + k)
        o = self.offsets
        keys = (f"[toUInt32(age_bucket), {o[1]} + toUInt32(gender), {o[2]} + toUInt32(channel_365d), "
                f"{o[3]} + toUInt32(region), {o[4]} + toUInt32(tier)]")
        self.profile_select = (f"count(), sum(spend_365d), sumMap({keys}, [1, 1, 1, 1, 1]), "
                               "sumMap(last_product, arrayMap(x -> toUInt64(1), last_product))")
        return d

    def where(self, node) -> str:
        return to_sql(node, self.dicts, DIALECT)

    def count(self, where: str) -> int:
        return int(self.q(f"SELECT count() FROM customer_fields WHERE {where} {QUERY_SETTINGS}"))

    def profile(self, where: str) -> dict:
        row = self.q(f"SELECT {self.profile_select} FROM customer_fields WHERE {where} {QUERY_SETTINGS}",
                     "JSONCompactEachRow")
        count, spend, (fkeys, fcounts), (pkeys, pcounts) = json.loads(row)
        d, o = self.dicts, self.offsets
        parts: list[dict[int, int]] = [{} for _ in range(5)]
        for k, c in zip(fkeys, fcounts):
            facet = next(i for i in range(5) if k < o[i + 1])
            parts[facet][int(k) - o[facet]] = int(c)
        age, gender, channel, region, tier = parts
        top = top_products({int(k): int(c) for k, c in zip(pkeys, pcounts)})
        count, spend = int(count), int(spend)
        return {"count": count, "population": d.population,
                "facets": facets(d, age, gender, channel, region, tier, top, spend)}

