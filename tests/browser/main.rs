//! Browser tests of the web UI: the real `tamsa serve` on a small generated data set,
//! driven in headless Chromium through chromedriver (WebDriver, the fantoccini crate).
//!
//! Without Chromium or chromedriver the test prints why and passes, unless
//! `TAMSA_REQUIRE_BROWSER=1` asks for them (CI): then it fails.
//!
//! `cargo test -p tamsa --test browser -- --nocapture` also prints how long the flow took
//! and where its screenshot is (`TAMSA_BROWSER_SCREENSHOT=FILE` keeps it past the test).

mod flow;
mod harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marketer_explores_saves_compares_and_exports() {
    if !harness::browser_available() {
        return;
    }
    let env = harness::Env::start();
    let page = harness::Page::open(&env).await;
    let result = flow::run(&env, &page).await;
    page.close().await;
    if let Err(err) = result {
        panic!("{err:#}\n{}", env.logs());
    }
}
