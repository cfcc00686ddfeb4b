//! The marketer's path through the UI, step by step, each checked against the API's own
//! answers fetched directly over HTTP.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use fantoccini::key::Key;
use serde_json::{json, Value};

use crate::harness::{grouped, Env, Page};

/// A condition `{"field", "op", "value"}`.
fn cond(field: &str, op: &str, value: Value) -> Value {
    json!({"field": field, "op": op, "value": value})
}

/// A selector for a builder item's control: the item at `path` (`$.all[2]`), then `testid`.
fn item(path: &str, testid: &str) -> String {
    format!(r#"[data-testid="builder"] li[data-path="{path}"] > .row [data-testid="{testid}"]"#)
}

fn catalog_value(field: &str, value: &str) -> String {
    format!(r#"[data-testid="catalog-value"][data-field="{field}"][data-value="{value}"]"#)
}

fn segment(id: u64, testid: &str) -> String {
    format!(r#"[data-testid="segment"][data-id="{id}"] [data-testid="{testid}"]"#)
}

/// What the page shows of its answer: the count text and the numbers the charts carry.
const SHOWN: &str = r#"
    const rows = (sel) => Object.fromEntries([...document.querySelectorAll(sel + ' [data-testid="chart-row"]')]
        .map((e) => [e.dataset.key, {count: +e.dataset.count, index: e.dataset.index === '' ? null : +e.dataset.index}]));
    const spend = document.querySelector('[data-testid="chart-spend"]');
    return {
        count: document.querySelector('[data-testid="count"]').textContent,
        dataCount: +document.querySelector('[data-testid="count"]').dataset.count,
        age: rows('[data-testid="chart-age"]'),
        gender: rows('[data-testid="chart-gender"]'),
        channel: rows('[data-testid="chart-channel"]'),
        tier: rows('[data-testid="chart-tier"]'),
        region: rows('[data-testid="chart-region"]'),
        products: rows('[data-testid="chart-products"]'),
        spend: spend ? +spend.dataset.sum : null,
        steps: [...document.querySelectorAll('[data-testid="step"]')].map((e) => [e.dataset.path, +e.dataset.count]),
        empty: !!document.querySelector('[data-testid="answer-empty"]'),
    };"#;

/// Waits for the answer to `{"all": conditions}` and checks what the page shows against
/// `POST /api/query`. Returns the API's answer.
async fn check(env: &Env, page: &Page, conditions: &[Value]) -> Result<Value> {
    let query = json!({ "all": conditions });
    page.wait_answer(&query, "ready").await?;
    let want = env.post("/api/query", &query).await?;
    let shown = page.js(SHOWN, vec![]).await?;
    let count = want["count"].as_u64().context("count")?;
    ensure!(
        shown["count"] == json!(format!("{}명", grouped(count))),
        "count text {} for {count}",
        shown["count"]
    );
    ensure!(shown["dataCount"] == json!(count), "data-count {} for {count}", shown["dataCount"]);
    let steps: Vec<Value> = want["steps"].as_array().cloned().unwrap_or_default();
    if steps.len() >= 2 {
        let expected: Vec<Value> = steps.iter().map(|s| json!([s["path"], s["count"]])).collect();
        ensure!(shown["steps"] == json!(expected), "steps {} for {}", shown["steps"], want["steps"]);
    }
    if count == 0 {
        ensure!(shown["empty"] == json!(true), "no empty state for a count of 0");
        return Ok(want);
    }
    let (facets, population_facets) = (&want["facets"], &want["population_facets"]);
    let population = want["population"].as_f64().context("population")?;
    for (chart, facet) in
        [("age", "age"), ("gender", "gender"), ("channel", "channel_365d"), ("tier", "tier")]
    {
        let rows = shown[chart].as_object().context("chart rows")?;
        let values = facets[facet].as_object().context("facet")?;
        ensure!(rows.len() == values.len(), "{chart}: {} rows for {} values", rows.len(), values.len());
        for (key, n) in values {
            let row = &rows.get(key).with_context(|| format!("{chart} row {key}"))?;
            ensure!(row["count"] == *n, "{chart} {key}: shown {} for {n}", row["count"]);
            // The index: the segment's share over the population's.
            let pop = population_facets[facet][key].as_f64().unwrap_or(0.0);
            if pop > 0.0 {
                let index = (n.as_f64().unwrap_or(0.0) / count as f64) / (pop / population);
                let shown_index = row["index"].as_f64().unwrap_or(f64::NAN);
                ensure!((shown_index - index).abs() < 1e-3, "{chart} {key}: index {shown_index} for {index}");
            }
        }
    }
    for (key, row) in shown["region"].as_object().context("region rows")? {
        ensure!(
            facets["region"][key] == row["count"],
            "region {key}: shown {} for {}",
            row["count"],
            facets["region"][key]
        );
    }
    for product in facets["last_product"].as_array().context("last_product")? {
        let key = product["product_id"].as_str().context("product_id")?;
        ensure!(
            shown["products"][key]["count"] == product["count"],
            "product {key} shown {}",
            shown["products"][key]
        );
    }
    ensure!(
        shown["spend"] == facets["spend_365d_sum"],
        "spend {} for {}",
        shown["spend"],
        facets["spend_365d_sum"]
    );
    Ok(want)
}

/// The saved segment named `name`, from `GET /api/segments`.
async fn saved(env: &Env, name: &str) -> Result<Value> {
    let list = env.get("/api/segments").await?;
    list["segments"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == json!(name)).cloned())
        .with_context(|| format!("no saved segment named {name}: {list}"))
}

pub async fn run(env: &Env, page: &Page) -> Result<()> {
    let started = Instant::now();
    let fields = env.get("/api/fields").await?;
    page.find(r#"[data-testid="app"][data-state="ready"]"#).await?;

    // Everyone, before any condition.
    let everyone = check(env, page, &[]).await?;
    ensure!(everyone["count"] == fields["population"], "the empty query is not everyone");
    page.find(r#"[data-testid="builder-empty"]"#).await?;

    // Clicked conditions form an AND list, each answer checked against the API.
    let mut all = vec![];
    page.click(&catalog_value("gender", "F")).await?;
    all.push(cond("gender", "in", json!(["F"])));
    check(env, page, &all).await?;

    // A windowed field: switch brands to 365 days, click the first brand.
    page.click(r#"[data-testid="catalog-field"][data-base="brand"] [data-testid="catalog-window"][data-window="365"]"#).await?;
    let brand_css = r#"[data-testid="catalog-value"][data-field="brand_365d"]"#;
    let brand = page.attr(brand_css, "data-value").await?;
    page.click(&catalog_value("brand_365d", &brand)).await?;
    all.push(cond("brand_365d", "in", json!([brand])));
    check(env, page, &all).await?;

    // Two regions AND-ed match nobody; grouped as OR they match either.
    page.click(&catalog_value("region", "서울")).await?;
    page.click(&catalog_value("region", "경기")).await?;
    all.push(cond("region", "in", json!(["서울"])));
    all.push(cond("region", "in", json!(["경기"])));
    check(env, page, &all).await?;
    page.click(&item("$.all[2]", "cond-select")).await?;
    page.click(&item("$.all[3]", "cond-select")).await?;
    page.click(r#"[data-testid="group-selected"]"#).await?;
    let regions = json!({"any": [all[2], all[3]]});
    all.truncate(2);
    all.push(regions);
    check(env, page, &all).await?;

    // Negate the brand.
    page.click(&item("$.all[1]", "cond-negate")).await?;
    all[1] = json!({"not": all[1]});
    check(env, page, &all).await?;

    // Edit the brand's window, and the values of a region inside the OR group.
    let editor_of = |path: &str, testid: &str| {
        format!(r#"[data-testid="builder"] li[data-path="{path}"] [data-testid="{testid}"]"#)
    };
    page.click(&item("$.all[1]", "cond-edit")).await?;
    page.click(&format!(r#"{}[data-window="90"]"#, editor_of("$.all[1]", "edit-window"))).await?;
    all[1] = json!({"not": cond("brand_90d", "in", json!([brand]))});
    check(env, page, &all).await?;
    page.click(&editor_of("$.all[1]", "edit-done")).await?;
    page.click(&item("$.all[2].any[0]", "cond-edit")).await?;
    page.click(&format!(r#"{}[data-value="부산"]"#, editor_of("$.all[2].any[0]", "edit-value-option")))
        .await?;
    all[2]["any"][0] = cond("region", "in", json!(["서울", "부산"]));
    check(env, page, &all).await?;
    page.click(&editor_of("$.all[2].any[0]", "edit-done")).await?;

    // A number preset (30대), then an edit the API refuses: the error sits beside it.
    page.click(r#"[data-testid="catalog-preset"][data-field="age"][data-preset="decade-30"]"#).await?;
    all.push(cond("age", "between", json!([30, 39])));
    check(env, page, &all).await?;
    page.click(&item("$.all[3]", "cond-edit")).await?;
    let editor = r#"[data-testid="builder"] li[data-path="$.all[3]"] [data-testid="editor"]"#;
    page.type_into(&format!("{editor} [data-testid=\"edit-lo\"]"), "50").await?;
    page.type_into(&format!("{editor} [data-testid=\"edit-hi\"]"), "30").await?;
    all[3] = cond("age", "between", json!([50, 30]));
    let bad = json!({ "all": all });
    page.wait_answer(&bad, "error").await?;
    let message = env.error_of(env.request(reqwest::Method::POST, "/api/query").json(&bad)).await?;
    let shown =
        page.text(r#"[data-testid="builder"] li[data-path="$.all[3]"] > [data-testid="cond-error"]"#).await?;
    ensure!(shown == message, "the error beside the age condition reads {shown:?}, the API said {message:?}");
    ensure!(
        page.text(r#"[data-testid="answer-error"]"#).await?.contains(&message),
        "no error in the answer panel"
    );
    page.type_into(&format!("{editor} [data-testid=\"edit-hi\"]"), "59").await?;
    all[3] = cond("age", "between", json!([50, 59]));
    check(env, page, &all).await?;
    page.wait_count(r#"[data-testid="cond-error"]"#, 0).await?;
    page.click(&format!("{editor} [data-testid=\"edit-done\"]")).await?;

    // Search in Korean and click a result: its node joins the list; then remove it again.
    page.type_into(r#"[data-testid="search-input"]"#, "설화").await?;
    page.find(r#"[data-testid="search-results"][data-state="ready"][data-q="설화"]"#).await?;
    let node = page.attr(r#"[data-testid="search-result"][data-index="0"]"#, "data-node").await?;
    page.click(r#"[data-testid="search-result"][data-index="0"]"#).await?;
    all.push(serde_json::from_str(&node)?);
    check(env, page, &all).await?;
    page.click(&item("$.all[4]", "cond-remove")).await?;
    all.pop();
    check(env, page, &all).await?;

    // Search in English: field labels match too.
    page.type_into(r#"[data-testid="search-input"]"#, "age").await?;
    page.find(r#"[data-testid="search-results"][data-state="ready"][data-q="age"] [data-testid="search-result"][data-group="profile"]"#).await?;
    page.find(r#"[data-testid="search-input"]"#).await?.send_keys(&Key::Escape).await?;
    page.find(r#"[data-testid="search-results"][data-state="idle"]"#).await?;

    // Save, change (drop the negated brand), save again: version 2.
    let name = "여성 서울·경기 테스트";
    page.click(r#"[data-testid="save"]"#).await?;
    page.type_into(r#"[data-testid="save-name"]"#, name).await?;
    page.type_into(r#"[data-testid="save-owner"]"#, "마케팅팀").await?;
    page.click(r#"[data-testid="save-confirm"]"#).await?;
    page.wait_text(r#"[data-testid="toolbar-name"]"#, name).await?;
    page.wait_text(r#"[data-testid="toolbar-version"]"#, "v1").await?;
    let first = saved(env, name).await?;
    let id1 = first["id"].as_u64().context("id")?;
    let version1 = json!({ "all": all });
    ensure!(first["query"] == version1, "saved query {}", first["query"]);
    page.click(&item("$.all[1]", "cond-remove")).await?;
    all.remove(1);
    check(env, page, &all).await?;
    page.click(r#"[data-testid="save"]"#).await?;
    page.wait_text(r#"[data-testid="toolbar-version"]"#, "v2").await?;
    let version2 = json!({ "all": all });
    ensure!(env.get(&format!("/api/segments/{id1}")).await?["query"] == version2, "version 2 not saved");

    // A new, empty segment; then reload the saved one from the list.
    page.click(r#"[data-testid="new-segment"]"#).await?;
    check(env, page, &[]).await?;
    page.click(r#"[data-testid="tab-segments"]"#).await?;
    page.click(&segment(id1, "segment-load")).await?;
    check(env, page, &all).await?;
    page.wait_text(r#"[data-testid="toolbar-name"]"#, name).await?;

    // History: restore version 1 as version 3; the open builder follows.
    page.click(&segment(id1, "segment-history")).await?;
    page.wait_count(r#"[data-testid="version"]"#, 2).await?;
    page.click(r#"[data-testid="version"][data-version="1"] [data-testid="version-restore"]"#).await?;
    page.wait_count(r#"[data-testid="version"]"#, 3).await?;
    let restored = env.get(&format!("/api/segments/{id1}")).await?;
    ensure!(restored["version"] == json!(3) && restored["query"] == version1, "restore gave {restored}");
    page.wait_answer(&version1, "ready").await?;
    page.click(r#"[data-testid="history-dialog"] [data-testid="dialog-close"]"#).await?;

    // A second segment, then compare the two as a Venn diagram.
    page.click(r#"[data-testid="new-segment"]"#).await?;
    page.click(r#"[data-testid="tab-catalog"]"#).await?;
    page.click(&catalog_value("region", "서울")).await?;
    check(env, page, &[cond("region", "in", json!(["서울"]))]).await?;
    let name2 = "서울 테스트";
    page.click(r#"[data-testid="save"]"#).await?;
    page.type_into(r#"[data-testid="save-name"]"#, name2).await?;
    page.click(r#"[data-testid="save-confirm"]"#).await?;
    page.wait_text(r#"[data-testid="toolbar-name"]"#, name2).await?;
    let id2 = saved(env, name2).await?["id"].as_u64().context("id")?;
    page.click(r#"[data-testid="tab-segments"]"#).await?;
    page.click(&segment(id1, "segment-compare")).await?;
    page.click(&segment(id2, "segment-compare")).await?;
    page.click(r#"[data-testid="compare"]"#).await?;
    page.find(r#"[data-testid="venn"]"#).await?;
    // The page lists segments in the API's order, and compares them in that order.
    let order: Vec<Value> = env.get("/api/segments").await?["segments"]
        .as_array()
        .context("segments")?
        .iter()
        .filter(|s| s["id"] == json!(id1) || s["id"] == json!(id2))
        .map(|s| json!({"id": s["id"]}))
        .collect();
    let overlap = env.post("/api/overlap", &json!({ "segments": order })).await?;
    let regions = page
        .js(
            r#"return Object.fromEntries([...document.querySelectorAll('[data-testid="venn-region"]')]
                 .map((e) => [e.dataset.sets, +e.dataset.count]));"#,
            vec![],
        )
        .await?;
    ensure!(
        overlap["regions"].as_array().is_some_and(|r| r.iter().all(|r| r["count"] != json!(0))),
        "a trivial overlap"
    );
    for region in overlap["regions"].as_array().context("regions")? {
        let key = region["sets"]
            .as_array()
            .context("sets")?
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        ensure!(
            regions[&key] == region["count"],
            "Venn region {key}: shown {} for {}",
            regions[&key],
            region["count"]
        );
    }
    let union: u64 = page.attr(r#"[data-testid="venn"]"#, "data-union").await?.parse()?;
    ensure!(json!(union) == overlap["union"], "Venn union: shown {union} for {}", overlap["union"]);
    page.click(r#"[data-testid="compare-dialog"] [data-testid="dialog-close"]"#).await?;

    // Rename the second segment.
    let renamed = "서울 고객 (이름 변경)";
    page.click(&segment(id2, "segment-rename")).await?;
    page.type_into(r#"[data-testid="rename-input"]"#, renamed).await?;
    page.click(r#"[data-testid="rename-confirm"]"#).await?;
    page.find(&format!(r#"[data-testid="segment"][data-id="{id2}"][data-name="{renamed}"]"#)).await?;
    ensure!(env.get(&format!("/api/segments/{id2}")).await?["name"] == json!(renamed), "rename not saved");

    // Export with a wrong token (the API's error shows), then the right one.
    page.click(&segment(id1, "segment-export")).await?;
    page.type_into(r#"[data-testid="export-token"]"#, "not-a-token").await?;
    page.click(r#"[data-testid="export-download"]"#).await?;
    let refused = env
        .error_of(
            env.request(reqwest::Method::GET, &format!("/api/segments/{id1}/export?format=csv"))
                .bearer_auth("not-a-token"),
        )
        .await?;
    page.wait_text(r#"[data-testid="export-dialog"] [data-testid="dialog-error"]"#, &refused).await?;
    page.type_into(r#"[data-testid="export-token"]"#, &env.token).await?;
    page.click(r#"[data-testid="export-download"]"#).await?;
    page.find(r#"[data-testid="export-status"][data-state="done"]"#).await?;
    let csv = downloaded(&env.downloads).await?;
    let rows = csv.trim_start_matches('\u{feff}').lines().count() - 1;
    let count = env.get(&format!("/api/segments/{id1}")).await?["count"].as_u64().context("count")?;
    ensure!(count > 0 && rows as u64 == count, "the CSV has {rows} rows, the segment {count} customers");
    ensure!(
        csv.trim_start_matches('\u{feff}').starts_with("customer_id,age,gender,region,tier"),
        "CSV header"
    );
    page.click(r#"[data-testid="export-dialog"] [data-testid="dialog-close"]"#).await?;

    // English and back: labels come from the API.
    let profile = fields["groups"]
        .as_array()
        .context("groups")?
        .iter()
        .find(|g| g["id"] == "profile")
        .context("profile")?;
    let group_head = r#"[data-testid="catalog-group"][data-group="profile"] .cat-group-head"#;
    page.click(r#"[data-testid="tab-catalog"]"#).await?;
    page.click(r#"[data-testid="lang-toggle"]"#).await?;
    page.wait_text(group_head, &format!("▾{}", profile["label_en"].as_str().unwrap_or_default())).await?;
    ensure!(page.text(r#"[data-testid="count"]"#).await?.ends_with("customers"), "English count");
    page.click(r#"[data-testid="lang-toggle"]"#).await?;
    page.wait_text(group_head, &format!("▾{}", profile["label_ko"].as_str().unwrap_or_default())).await?;

    // Delete the second segment.
    page.click(r#"[data-testid="tab-segments"]"#).await?;
    page.click(&segment(id2, "segment-delete")).await?;
    page.click(r#"[data-testid="delete-confirm"]"#).await?;
    page.wait_count(&format!(r#"[data-testid="segment"][data-id="{id2}"]"#), 0).await?;
    let left = env.get("/api/segments").await?;
    ensure!(
        !left["segments"].as_array().context("segments")?.iter().any(|s| s["id"] == json!(id2)),
        "not deleted"
    );

    // Hundreds of conditions: a click is answered well under a second.
    many(env, page).await?;

    // One screenshot of the full page, segment 1 open, for people to look at.
    page.click(r#"[data-testid="tab-segments"]"#).await?;
    page.click(&segment(id1, "segment-load")).await?;
    page.wait_answer(&version1, "ready").await?;
    let shot = std::env::var_os("TAMSA_BROWSER_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| env.dir.path().join("screenshot.png"));
    page.screenshot(&shot).await?;
    let errors = page.js("return window.__errors;", vec![]).await?;
    ensure!(errors == json!([]), "the page raised script errors: {errors}");
    eprintln!("browser flow took {:.1} s; screenshot {}", started.elapsed().as_secs_f64(), shot.display());
    Ok(())
}

/// The CSV Chromium saved into `dir`, once the download is complete.
async fn downloaded(dir: &std::path::Path) -> Result<String> {
    let started = Instant::now();
    loop {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "csv") {
                return Ok(std::fs::read_to_string(&path)?);
            }
        }
        if started.elapsed() > Duration::from_secs(15) {
            bail!("no CSV downloaded into {}", dir.display());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Saves a segment of 300 conditions through the API, opens it, adds one more condition,
/// and times the click until the answer is on screen.
async fn many(env: &Env, page: &Page) -> Result<()> {
    let fields = env.get("/api/fields").await?;
    let products: Vec<Value> = fields["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "product_365d"))
        .and_then(|f| f["values"].as_array())
        .context("product_365d values")?
        .iter()
        .map(|v| v["value"].clone())
        .collect();
    let mut conditions: Vec<Value> = (0..300)
        .map(|i| match i % 3 {
            0 => cond("age", "between", json!([15, 60 + i / 3])),
            1 => json!({"not": cond("product_365d", "in", json!([products[i % products.len()]]))}),
            _ => json!({"any": [cond("region", "in", json!(["경기"])), cond("region", "in", json!(["서울"])), cond("tier", "eq", json!("GOLD"))]}),
        })
        .collect();
    let query = json!({ "all": conditions });
    let body = json!({"name": "조건 300개", "description": "", "owner": "test", "query": query});
    let id = env.post("/api/segments", &body).await?["id"].as_u64().context("id")?;
    page.click(r#"[data-testid="tab-segments"]"#).await?;
    page.click(&segment(id, "segment-load")).await?;
    check(env, page, &conditions).await?;
    page.click(r#"[data-testid="tab-catalog"]"#).await?;
    let value = catalog_value("gender", "F");
    page.find(&value).await?;
    // Timed in the page, from the click event to the answer on screen, so that WebDriver's
    // own round trips do not count.
    page.js(
        r#"const answer = document.querySelector('[data-testid="answer"]');
           window.__clicked = null; window.__ready = null;
           document.addEventListener('click', () => { window.__clicked = performance.now(); }, {capture: true, once: true});
           new MutationObserver(() => { if (answer.dataset.state === 'ready') window.__ready = performance.now(); })
               .observe(answer, {attributes: true, attributeFilter: ['data-state']});"#,
        vec![],
    )
    .await?;
    page.click(&value).await?;
    conditions.push(cond("gender", "in", json!(["F"])));
    page.wait_answer(&json!({ "all": conditions }), "ready").await?;
    let took =
        page.js("return window.__ready - window.__clicked;", vec![]).await?.as_f64().context("timing")?;
    ensure!(took < 1000.0, "a click on 301 conditions took {took:.0} ms to answer");
    eprintln!("301 conditions: click to answer in {took:.0} ms");
    check(env, page, &conditions).await?;
    Ok(())
}
