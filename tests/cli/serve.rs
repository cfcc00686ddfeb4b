//! `tamsa serve` and `tamsa token` as an operator runs them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::cli::{fails, indexed, ok, s, Indexed};

/// A plain HTTP/1.0 GET over a real socket: the status line and the body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).expect("connects");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

#[test]
fn tokens_are_created_once_listed_and_revoked() {
    let Indexed { dir: _dir, index, .. } = indexed();
    let token = ok(&["token", "create", "crm", "--index", s(&index)]);
    let token = token.trim();
    assert!(token.starts_with("tamsa_") && token.len() > 40, "{token}");
    let err = fails(&["token", "create", "crm", "--index", s(&index)]);
    assert!(err.contains("a token named `crm` already exists"), "{err}");
    let list = ok(&["token", "list", "--index", s(&index)]);
    assert!(list.contains("crm") && list.contains("live") && !list.contains(token), "{list}");
    ok(&["token", "revoke", "crm", "--index", s(&index)]);
    assert!(ok(&["token", "list", "--index", s(&index)]).contains("revoked"));
    let err = fails(&["token", "revoke", "nobody", "--index", s(&index)]);
    assert!(err.contains("no token named `nobody`"), "{err}");
}

#[test]
fn serve_answers_over_http_and_stops_on_sigterm() {
    let Indexed { dir: _dir, index, .. } = indexed();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tamsa"))
        .args(["serve", "--index", s(&index), "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr =
        line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line}")).to_owned();
    let (status, body) = get(&addr, "/healthz");
    assert!(status.contains("200"), "{status}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["customers"], 3000);
    let (status, _) = get(&addr, "/");
    assert!(status.contains("200"), "{status}");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "a SIGTERM is a clean stop: {exit:?}");
    assert!(index.join("tamsa.sqlite").is_file(), "the service database sits in the index directory");
}
