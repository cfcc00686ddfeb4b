//! The API over a real loopback socket: answers checked against the engine itself, every
//! kind of bad input, saved segments, tokens, exports, diffs, the audit log, and a reindex
//! switching generations under concurrent queries.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tamsa_index::ReindexOptions;
use tamsa_loader::LoadOptions;
use tamsa_model::NoProgress;
use tamsa_query::Engine;
use tamsa_server::{Config, Db, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A generated input and its index, made once for all tests (tests only read them).
struct Fixture {
    _dir: tempfile::TempDir,
    input: PathBuf,
    index: PathBuf,
}

const CUSTOMERS: u64 = 20_000;

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input");
        let options = tamsa_generate::GenerateOptions {
            customers: CUSTOMERS,
            seed: 5,
            end_day: tamsa_generate::default_end_day(),
        };
        tamsa_generate::generate(&input, &options, &NoProgress).unwrap();
        let index = dir.path().join("index");
        reindex(&input, &index, None);
        Fixture { _dir: dir, input, index }
    })
}

fn reindex(input: &Path, index: &Path, as_of: Option<&str>) -> tamsa_index::Meta {
    let options = ReindexOptions {
        load: LoadOptions { as_of: as_of.map(|d| tamsa_model::parse_day(d).unwrap()), strict: false },
        keep: 5,
    };
    tamsa_index::reindex(input, index, &options, &NoProgress).unwrap()
}

fn engine(index: &Path) -> Engine {
    Engine::new(tamsa_index::open(index).unwrap())
}

/// A running server and a client for it.
struct Server {
    base: String,
    client: reqwest::Client,
    data: tempfile::TempDir,
    token: String,
}

fn config(index: &Path, data: &Path) -> Config {
    Config {
        index_dir: index.to_owned(),
        data_dir: data.to_owned(),
        input_dir: Some(fixture().input.clone()),
        addr: "127.0.0.1:0".parse().unwrap(),
        limits: Limits { body_bytes: 64 << 10, query_nodes: 2_000, request_time: Duration::from_secs(30) },
        poll_interval: Duration::from_millis(100),
        keep_generations: 5,
        group_cache_bytes: tamsa_query::DEFAULT_GROUP_CACHE_BYTES,
    }
}

async fn start(config: Config) -> Server {
    let data = tempfile::tempdir().unwrap();
    let config = Config { data_dir: data.path().to_owned(), ..config };
    let token = Db::open(data.path()).unwrap().create_token("crm").unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    tokio::spawn(async move {
        tamsa_server::serve(config, move |addr| {
            let _ = tx.send(addr);
        })
        .await
        .unwrap();
    });
    let addr = rx.await.expect("the server starts");
    Server { base: format!("http://{addr}"), client: reqwest::Client::new(), data, token }
}

async fn start_default() -> Server {
    let f = fixture();
    start(config(&f.index, Path::new("unused"))).await
}

impl Server {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let response =
            self.client.request(method, format!("{}{path}", self.base)).json(body).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    /// `POST /api/query` with `Cache-Control: no-cache`: an answer computed afresh.
    async fn query_fresh(&self, query: &Value) -> Value {
        let response = self
            .client
            .post(format!("{}/api/query", self.base))
            .header("cache-control", "no-cache")
            .json(query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn authed(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }
}

fn brand_query(engine: &Engine, rank: usize) -> Value {
    let fields = engine.fields();
    let brands = fields.iter().find(|f| f.name == "brand_365d").unwrap().values.as_ref().unwrap();
    json!({"all": [
        {"field": "brand_365d", "op": "in", "value": [brands[rank].value]},
        {"field": "gender", "op": "in", "value": ["F"]},
        {"not": {"field": "channel_365d", "op": "eq", "value": "offline"}}
    ]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_answers_match_the_engine_with_steps_and_population() {
    let server = start_default().await;
    let engine = engine(&fixture().index);
    let query = brand_query(&engine, 0);
    let (status, answer) = server.post("/api/query", &query).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["cached"], false);
    let profile = engine.profile(&engine.parse(&query).unwrap());
    assert_eq!(answer["count"], profile.count);
    assert_eq!(answer["population"], CUSTOMERS);
    assert_eq!(answer["facets"], serde_json::to_value(&profile.facets).unwrap());
    let everyone = engine.profile(&engine.parse(&json!({"all": []})).unwrap());
    assert_eq!(answer["population_facets"], serde_json::to_value(&everyone.facets).unwrap());
    // Each step is the count of the conditions so far.
    let children = query["all"].as_array().unwrap();
    let steps = answer["steps"].as_array().unwrap();
    assert_eq!(steps.len(), children.len());
    for (i, step) in steps.iter().enumerate() {
        let prefix = json!({"all": children[..=i].to_vec()});
        let want = engine.segment(&engine.parse(&prefix).unwrap()).len();
        assert_eq!(step["count"], want, "step {i}");
        assert_eq!(step["path"], format!("$.all[{i}]"));
    }
    assert!(steps[0]["count"].as_u64() >= steps[2]["count"].as_u64());
    // Not an `all` at the top: no steps.
    let (_, answer) = server.post("/api/query", &json!({"any": [children[0].clone()]})).await;
    assert!(answer.get("steps").is_none());
    assert_eq!(answer["index"]["generation"], 1);

    // The same question again is answered from the generation's cache, identically; `no-cache`
    // computes it afresh.
    let (_, first) = server.post("/api/query", &query).await;
    let (_, again) = server.post("/api/query", &query).await;
    assert_eq!((first["cached"].as_bool(), again["cached"].as_bool()), (Some(true), Some(true)));
    let fresh = server.query_fresh(&query).await;
    assert_eq!(fresh["cached"], false);
    for answer in [&again, &fresh] {
        for key in ["count", "facets", "steps", "population_facets", "index"] {
            assert_eq!(answer[key], first[key], "{key}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_computed_once_answer_later_queries_alike() {
    let server = start_default().await;
    let uncached = engine(&fixture().index).with_group_cache(0);
    let fields = uncached.fields();
    let brands = fields.iter().find(|f| f.name == "brand_365d").unwrap().values.as_ref().unwrap();
    let group = json!({"any": [
        {"field": "brand_365d", "op": "in", "value": [brands[0].value, brands[1].value]},
        {"field": "brand_90d", "op": "in", "value": [brands[2].value]}
    ]});
    let cache = |index: &Value| index["group_cache"].clone();
    let (_, before) = server.get("/api/index").await;
    assert_eq!((cache(&before)["entries"].as_u64(), cache(&before)["hits"].as_u64()), (Some(0), Some(0)));

    // Two different segments sharing one group, each asked afresh twice: the group is
    // computed once and every answer equals one computed with nothing kept.
    let queries = [
        json!({"all": [{"field": "gender", "op": "in", "value": ["F", "M"]}, group.clone()]}),
        json!({"all": [group.clone(), {"not": {"field": "channel_365d", "op": "eq", "value": "offline"}}]}),
    ];
    for query in queries.iter().chain(&queries) {
        let fresh = server.query_fresh(query).await;
        let node = uncached.parse(query).unwrap();
        let children = query["all"].as_array().unwrap();
        let want: Vec<u64> = (0..children.len())
            .map(|i| uncached.segment(&uncached.parse(&json!({"all": children[..=i]})).unwrap()).len())
            .collect();
        let got: Vec<u64> =
            fresh["steps"].as_array().unwrap().iter().map(|s| s["count"].as_u64().unwrap()).collect();
        assert_eq!(got, want, "steps of {query}");
        assert_eq!(fresh["facets"], serde_json::to_value(uncached.profile(&node).facets).unwrap());
    }
    let (_, after) = server.get("/api/index").await;
    let after = cache(&after);
    assert!(after["entries"].as_u64() >= Some(1), "{after}");
    assert!(after["hits"].as_u64() >= Some(3), "{after}");
    assert!(
        after["bytes"].as_u64() > Some(0) && after["bytes"].as_u64() <= after["budget"].as_u64(),
        "{after}"
    );
    let metrics =
        server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("tamsa_group_cache_hits"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_and_condition_search() {
    let server = start_default().await;
    let (status, fields) = server.get("/api/fields").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fields["population"], CUSTOMERS);
    let list = fields["fields"].as_array().unwrap();
    assert_eq!(list.len(), tamsa_model::catalog().len());
    let brand = list.iter().find(|f| f["name"] == "brand_90d").unwrap();
    assert_eq!(
        (brand["base"].as_str(), brand["group"].as_str(), brand["window"].as_u64()),
        (Some("brand"), Some("brand"), Some(90))
    );
    assert!(
        brand["label_ko"].as_str().unwrap().contains("브랜드")
            || !brand["label_ko"].as_str().unwrap().is_empty()
    );
    let product = list.iter().find(|f| f["name"] == "product_365d").unwrap();
    let first = &product["values"][0];
    assert!(first["label"].as_str().is_some_and(|l| !l.is_empty()), "{first}");
    assert!(first["brand"].as_str().is_some(), "{first}");
    let age = list.iter().find(|f| f["name"] == "age").unwrap();
    assert_eq!(age["quantiles"].as_array().unwrap().len(), 5);
    let groups: Vec<&str> =
        fields["groups"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(
        groups,
        ["profile", "brand", "category", "product", "spend_orders", "channel", "recency", "last_purchase"]
    );

    // A brand's first two syllables find the brand; its node answers a query.
    let top_brand = list.iter().find(|f| f["name"] == "brand_365d").unwrap()["values"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let prefix: String = top_brand.chars().take(2).collect();
    let (status, found) = server.get(&format!("/api/conditions/search?q={prefix}&limit=5")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let results = found["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 5);
    assert!(results.iter().any(|r| r["node"]["value"][0] == top_brand.as_str()), "{prefix}: {found}");
    let (status, _) = server.post("/api/query", &results[0]["node"]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = server.get("/api/conditions/search?q=x&limit=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "bad_parameter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors() {
    let server = start_default().await;
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or_default().to_owned();

    let (status, e) = server.post("/api/query", &json!({"all": [{"field": "gender", "op": "eq", "value": "F"}, {"field": "brnd_90d", "op": "in", "value": ["x"]}]})).await;
    assert_eq!((status, code(&e).as_str()), (StatusCode::BAD_REQUEST, "invalid_query"));
    assert_eq!(e["error"]["path"], "$.all[1].field");
    assert!(e["error"]["message"].as_str().unwrap().contains("`brand_90d`"), "{e}");

    let response =
        server.client.post(format!("{}/api/query", server.base)).body("{\"all\": [").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let e: Value = response.json().await.unwrap();
    assert_eq!(code(&e), "bad_json");
    assert!(e["error"]["message"].as_str().unwrap().contains("line 1"), "{e}");

    let huge = json!({"any": (0..20_000).map(|i| json!({"field": "age", "op": "eq", "value": i})).collect::<Vec<_>>()});
    let (status, e) = server.post("/api/query", &huge).await;
    assert_eq!((status, code(&e).as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"));

    let many = json!({"any": (0..2_500).map(|_| json!({"all": []})).collect::<Vec<_>>()});
    let (status, e) = server.post("/api/query", &many).await;
    assert_eq!((status, code(&e).as_str()), (StatusCode::BAD_REQUEST, "query_too_large"));

    let (status, e) = server.get("/api/segments/999").await;
    assert_eq!((status, code(&e).as_str()), (StatusCode::NOT_FOUND, "unknown_segment"));
    let (status, e) = server.get("/api/segments/abc").await;
    assert_eq!((status, code(&e).as_str()), (StatusCode::NOT_FOUND, "unknown_segment"));
    let (status, e) = server.get("/api/nothing-here").await;
    assert_eq!((status, code(&e).as_str()), (StatusCode::NOT_FOUND, "unknown_route"));
    let (status, e) = server.post("/api/segments", &json!({"name": " ", "query": {"all": []}})).await;
    assert_eq!((status, e["error"]["path"].as_str()), (StatusCode::BAD_REQUEST, Some("$.name")));
    let (status, e) = server
        .post(
            "/api/segments",
            &json!({"name": "x", "query": {"any": [{"field": "age", "op": "gte", "value": "old"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"]["path"].as_str().unwrap().starts_with("$.query.any[0]"), "{e}");
    let (status, e) = server.post("/api/overlap", &json!({"segments": [{"id": 1}]})).await;
    assert_eq!((status, code(&e).as_str()), (StatusCode::BAD_REQUEST, "bad_overlap"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_time_limit_is_a_503_in_the_error_shape() {
    let f = fixture();
    let limits = Limits { request_time: Duration::from_millis(50), ..Limits::default() };
    let server = start(Config { limits, ..config(&f.index, Path::new("unused")) }).await;
    // The body arrives after the limit, so no answer can come in time however fast the
    // engine is.
    let body = brand_query(&engine(&f.index), 0).to_string();
    let addr = server.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/query HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = socket.write_all(body.as_bytes()).await;
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    let json = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let e: Value = serde_json::from_str(json).unwrap();
    assert_eq!(e["error"]["code"], "timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_keep_versions_and_overlap() {
    let server = start_default().await;
    let engine = engine(&fixture().index);
    let (a, b) = (brand_query(&engine, 0), brand_query(&engine, 1));
    let (status, created) =
        server.post("/api/segments", &json!({"name": "설화 VIP", "owner": "mina", "query": a})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["version"], 1);
    assert_eq!(created["count"], engine.segment(&engine.parse(&a).unwrap()).len());
    assert_eq!(created["index"]["generation"], 1);

    let (status, edited) = server
        .send(reqwest::Method::PUT, &format!("/api/segments/{id}"), &json!({"query": b, "description": "b"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!((edited["version"].as_i64(), edited["name"].as_str()), (Some(2), Some("설화 VIP")));
    assert_eq!(edited["count"], engine.segment(&engine.parse(&b).unwrap()).len());
    assert_eq!(edited["versions"].as_array().unwrap().len(), 2);
    assert_eq!(edited["versions"][0]["query"], a);

    let (_, restored) = server
        .send(reqwest::Method::PUT, &format!("/api/segments/{id}"), &json!({"restore_version": 1}))
        .await;
    assert_eq!((restored["version"].as_i64(), &restored["query"]), (Some(3), &a));
    let (status, _) = server
        .send(reqwest::Method::PUT, &format!("/api/segments/{id}"), &json!({"restore_version": 9}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, other) = server.post("/api/segments", &json!({"name": "B", "query": b})).await;
    let (_, list) = server.get("/api/segments").await;
    assert_eq!(list["segments"].as_array().unwrap().len(), 2);

    // Venn regions: exact counts, adding up to the union.
    let women = json!({"field": "gender", "op": "eq", "value": "F"});
    let (status, venn) = server
        .post("/api/overlap", &json!({"segments": [{"id": id}, {"id": other["id"]}, {"query": women}]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{venn}");
    let sets: Vec<roaring::RoaringBitmap> =
        [&a, &b, &women].iter().map(|q| engine.segment(&engine.parse(q).unwrap())).collect();
    let regions = venn["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 7);
    for region in regions {
        let inside: Vec<usize> =
            region["sets"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as usize).collect();
        let mut want = sets[inside[0]].clone();
        for &i in &inside[1..] {
            want &= &sets[i];
        }
        for i in (0..3).filter(|i| !inside.contains(i)) {
            want -= &sets[i];
        }
        assert_eq!(region["count"], want.len(), "{region}");
    }
    let union = sets.iter().fold(roaring::RoaringBitmap::new(), |acc, s| acc | s);
    assert_eq!(venn["union"], union.len());
    assert_eq!(venn["sets"][0]["label"], "설화 VIP");

    let response = server.client.delete(format!("{}/api/segments/{id}", server.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = server.get(&format!("/api/segments/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn csv_ids(text: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader.records().map(|r| r.unwrap()[0].to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_need_a_token_and_stream_every_member() {
    let server = start_default().await;
    let engine = engine(&fixture().index);
    let query = brand_query(&engine, 0);
    let (_, segment) = server.post("/api/segments", &json!({"name": "export me", "query": query})).await;
    let id = segment["id"].as_i64().unwrap();
    let path = format!("/api/segments/{id}/export?format=csv&columns=age,gender,region");

    let response = server.authed(&path, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let e: Value = response.json().await.unwrap();
    assert_eq!(e["error"]["code"], "missing_token");
    let response = server.authed(&path, Some("tamsa_not-a-token")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = server.authed(&path, Some(&server.token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-tamsa-export-version"], "1");
    let text = response.text().await.unwrap();
    assert!(text.starts_with("customer_id,age,gender,region\n"), "{}", &text[..80.min(text.len())]);
    let members = engine.segment(&engine.parse(&query).unwrap());
    let mut want: Vec<String> = members.iter().map(|c| engine.customer_id(c).to_owned()).collect();
    assert_eq!(csv_ids(&text), want);

    // Consent: only the opted-in members.
    let response = server
        .authed(&format!("/api/segments/{id}/export?consent=email&bom=true"), Some(&server.token))
        .await;
    let text = response.text().await.unwrap();
    assert!(text.starts_with("\u{feff}customer_id"), "a byte-order mark for Excel");
    let consenting = json!({"all": [query, {"field": "email_opt_in", "op": "eq", "value": true}]});
    let opted = engine.segment(&engine.parse(&consenting).unwrap());
    assert!(opted.len() < members.len());
    assert_eq!(csv_ids(text.trim_start_matches('\u{feff}')).len() as u64, opted.len());

    let response = server
        .authed(&format!("/api/segments/{id}/export?format=ndjson&columns=spend_365d"), Some(&server.token))
        .await;
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(first["spend_365d"].is_number() || first["spend_365d"].is_null());
    assert_eq!(text.lines().count() as u64, members.len());

    let response =
        server.authed(&format!("/api/segments/{id}/export?format=parquet"), Some(&server.token)).await;
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"PAR1");

    let response =
        server.authed(&format!("/api/segments/{id}/export?columns=brand_90d"), Some(&server.token)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = server.authed(&format!("/api/segments/{id}/export?format=xml"), Some(&server.token)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Who entered and who left since export 1, after the segment changed.
    let narrower = brand_query(&engine, 1);
    server.send(reqwest::Method::PUT, &format!("/api/segments/{id}"), &json!({"query": narrower})).await;
    let response =
        server.authed(&format!("/api/segments/{id}/diff?since_version=1"), Some(&server.token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let now = engine.segment(&engine.parse(&narrower).unwrap());
    let entered: Vec<String> = (&now - &members).iter().map(|c| engine.customer_id(c).to_owned()).collect();
    let left: Vec<String> = (&members - &now).iter().map(|c| engine.customer_id(c).to_owned()).collect();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let (mut got_in, mut got_out) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = record.unwrap();
        match &record[1] {
            "entered" => got_in.push(record[0].to_owned()),
            "left" => got_out.push(record[0].to_owned()),
            other => panic!("change {other}"),
        }
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(got_in), sorted(entered.clone()));
    assert_eq!(sorted(got_out), sorted(left.clone()));
    assert_eq!(headers["x-tamsa-entered"], entered.len().to_string().as_str());
    let since = headers["x-tamsa-export-version"].to_str().unwrap().to_owned();
    // Nothing changed since the diff: an empty diff.
    let response = server
        .authed(&format!("/api/segments/{id}/diff?since_version={since}&format=ndjson"), Some(&server.token))
        .await;
    assert_eq!(response.text().await.unwrap(), "");
    let response =
        server.authed(&format!("/api/segments/{id}/diff?since_version=77"), Some(&server.token)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    want.clear();

    // Every export and diff is in the audit log, with its token, segment, format and rows.
    let response = server.authed("/api/audit", Some(&server.token)).await;
    let log: Value = response.json().await.unwrap();
    let entries = log["entries"].as_array().unwrap();
    let exports: Vec<&Value> =
        entries.iter().filter(|e| e["action"] == "export" && e["outcome"] == "complete").collect();
    assert_eq!(exports.len(), 4, "{log}");
    let first = exports.last().unwrap();
    assert_eq!(
        (first["token"].as_str(), first["format"].as_str(), first["segment_version"].as_i64()),
        (Some("crm"), Some("csv"), Some(1))
    );
    assert_eq!(first["rows"], members.len());
    assert_eq!(entries.iter().filter(|e| e["action"] == "diff").count(), 2);
    assert_eq!(server.authed("/api/audit", None).await.status(), StatusCode::UNAUTHORIZED);
    assert!(server.data.path().join("tamsa.sqlite").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused() {
    let server = start_default().await;
    let (_, segment) = server.post("/api/segments", &json!({"name": "s", "query": {"all": []}})).await;
    let path = format!("/api/segments/{}/export", segment["id"]);
    assert_eq!(server.authed(&path, Some(&server.token)).await.status(), StatusCode::OK);
    Db::open(server.data.path()).unwrap().revoke_token("crm").unwrap();
    let response = server.authed(&path, Some(&server.token)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let e: Value = response.json().await.unwrap();
    assert_eq!(e["error"]["code"], "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_endpoints_describe_the_service() {
    let server = start_default().await;
    let (status, health) = server.get("/healthz").await;
    assert_eq!((status, health["generation"].as_u64()), (StatusCode::OK, Some(1)));
    server.post("/api/query", &json!({"all": []})).await;
    let metrics =
        server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("tamsa_http_requests_total{route=\"/api/query\",method=\"POST\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("tamsa_query_duration_seconds_bucket"), "{metrics}");
    assert!(metrics.contains("tamsa_index_generation"), "{metrics}");
    assert!(metrics.contains("tamsa_customers"), "{metrics}");
    let (_, index) = server.get("/api/index").await;
    assert_eq!(index["generation"], 1);
    assert_eq!(index["population"], CUSTOMERS);
    assert_eq!(index["reindex"]["state"], "idle");
    assert!(index["report"]["load"].is_object(), "{index}");

    // Every route is described in the OpenAPI document.
    let (status, openapi) = server.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for route in [
        "/api/fields",
        "/api/conditions/search",
        "/api/query",
        "/api/overlap",
        "/api/segments",
        "/api/segments/{id}",
        "/api/segments/{id}/export",
        "/api/segments/{id}/diff",
        "/api/audit",
        "/api/admin/reindex",
        "/api/index",
        "/api/openapi.json",
        "/healthz",
        "/metrics",
    ] {
        assert!(openapi["paths"].get(route).is_some(), "{route} is not in the OpenAPI document");
    }
    // The web UI is served from the binary.
    let page = server.client.get(&server.base).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(page.text().await.unwrap().contains("<html"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reindex_switches_generations_without_failing_or_mixing_answers() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    // Generation 1 answers as of the data's last day; generation 2 as of 60 days earlier.
    reindex(&f.input, &index, None);
    let server = start(config(&index, Path::new("unused"))).await;
    let query = json!({"all": [{"field": "orders_30d", "op": "gte", "value": 1}]});
    let first = engine(&index);
    let answers_1 = first.profile(&first.parse(&query).unwrap());
    drop(first);

    // A slow export started on generation 1 must finish on generation 1.
    let (_, segment) = server.post("/api/segments", &json!({"name": "all", "query": {"all": []}})).await;
    let export_path = format!(
        "/api/segments/{}/export?columns=age,gender,region,tier,spend_365d,orders_365d,days_since_signup",
        segment["id"]
    );
    let mut export = server.authed(&export_path, Some(&server.token)).await;
    assert_eq!(export.headers()["x-tamsa-generation"], "1");
    let mut exported = export.chunk().await.unwrap().unwrap().to_vec();

    // Queries in flight throughout the switch.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (client, url, query, stop) =
            (server.client.clone(), format!("{}/api/query", server.base), query.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let response = client.post(&url).json(&query).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let answer: Value = response.json().await.unwrap();
                seen.push((
                    answer["index"]["generation"].as_u64().unwrap(),
                    answer["count"].as_u64().unwrap(),
                    answer["facets"].clone(),
                ));
            }
            seen
        }));
    }
    let response = server
        .client
        .post(format!("{}/api/admin/reindex", server.base))
        .bearer_auth(&server.token)
        .json(&json!({"as_of": "2026-09-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let second_try = server
        .client
        .post(format!("{}/api/admin/reindex", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert!(matches!(second_try.status(), StatusCode::CONFLICT | StatusCode::ACCEPTED));
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (_, health) = server.get("/healthz").await;
        if health["generation"].as_u64() >= Some(2) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the new generation is never served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let second = engine(&index);
    let generation_2 = second.index.meta.generation;
    let answers_2 = second.profile(&second.parse(&query).unwrap());
    assert_ne!(answers_1.count, answers_2.count, "the two generations answer differently");
    let (mut on_1, mut on_2) = (0, 0);
    for client in clients {
        for (generation, count, facets) in client.await.unwrap() {
            let want = if generation == 1 {
                on_1 += 1;
                &answers_1
            } else {
                on_2 += 1;
                assert_eq!(generation, generation_2);
                &answers_2
            };
            assert_eq!(count, want.count, "count on generation {generation}");
            assert_eq!(
                facets,
                serde_json::to_value(&want.facets).unwrap(),
                "facets on generation {generation}"
            );
        }
    }
    assert!(on_1 > 0 && on_2 > 0, "queries ran on both generations ({on_1}, {on_2})");

    while let Some(chunk) = export.chunk().await.unwrap() {
        exported.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(exported).unwrap();
    let ids = csv_ids(&text);
    assert_eq!(ids.len() as u64, CUSTOMERS, "the export finished whole on generation 1");
    let (_, index_info) = server.get("/api/index").await;
    assert_eq!(index_info["reindex"]["state"], "succeeded", "{index_info}");
    assert_eq!(index_info["as_of"], "2026-09-01");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reindex_keeps_serving_the_current_generation() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    reindex(&f.input, &index, None);
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    let server = start(Config { input_dir: Some(broken), ..config(&index, Path::new("unused")) }).await;
    let response = server
        .client
        .post(format!("{}/api/admin/reindex", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        let (_, info) = server.get("/api/index").await;
        if info["reindex"]["state"] != "running" {
            break info;
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status["reindex"]["state"], "failed");
    assert!(status["reindex"]["error"].as_str().unwrap().contains("is missing"), "{status}");
    assert_eq!(status["generation"], 1);
    let (status, _) = server.post("/api/query", &json!({"all": []})).await;
    assert_eq!(status, StatusCode::OK);
    let response = server.client.post(format!("{}/api/admin/reindex", server.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
