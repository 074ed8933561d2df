//! `datalinks oh webhook …` and `datalinks oh inbox` as a script runs them: a headless receiver
//! killed right after a delivery loses nothing, and a pasted delivery is checked.

use datalinks_sandbox::{RunningSandbox, SandboxConfig};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const SECRET: &str = "abcdefghijklmnop";
const BODY: &str = r#"{"project_member_id": "12345678", "erasure_requested": true, "timestamp": "2020-06-30T20:00:00.000000+00:00"}"#;
const SIGNATURE: &str = "sha1=ebda5c0a38593a4350ad8401b7d8c8f1cd08ec67";

async fn sandbox() -> RunningSandbox {
    datalinks_sandbox::start(SandboxConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn oh(sandbox: &RunningSandbox, data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_datalinks"));
    command
        .arg("oh")
        .env("DATALINKS_OH_MASTER_TOKEN", sandbox.master_access_token())
        .env("DATALINKS_OH_BASE_URL", sandbox.base_url().as_str())
        .env("DATALINKS_DATA_DIR", data_dir)
        .env("OH_WEBHOOK_SECRET", SECRET);
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_killed_right_after_a_delivery_loses_nothing() {
    let sandbox = sandbox().await;
    let data_dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = oh(&sandbox, data_dir.path())
        .args(["webhook", "serve", "--secret-env", "OH_WEBHOOK_SECRET"])
        .args(["--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it listens.
    let mut stderr = BufReader::new(serve.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");

    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/"))
        .header("X-OpenHumans-Webhooks-Signature", SIGNATURE)
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // SIGKILL: no chance to flush anything after the answer.
    serve.kill().unwrap();
    serve.wait().unwrap();

    let inbox = oh(&sandbox, data_dir.path())
        .args(["inbox", "--json"])
        .output()
        .unwrap();
    assert!(inbox.status.success(), "{inbox:?}");
    let entries: serde_json::Value = serde_json::from_slice(&inbox.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["project_member_id"], "12345678");
    assert_eq!(entries[0]["erasure_requested"], true);
    assert_eq!(entries[0]["source"], "webhook");

    // The checklist reads the same database: the departure counts as a tested withdrawal.
    let checklist = oh(&sandbox, data_dir.path())
        .args(["checklist", "--json"])
        .output()
        .unwrap();
    assert!(checklist.status.success(), "{checklist:?}");
    let checklist: serde_json::Value = serde_json::from_slice(&checklist.stdout).unwrap();
    let items = checklist["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    let withdrawal = items.iter().find(|i| i["step"] == "withdrawal").unwrap();
    assert!(withdrawal["done_at"].is_number(), "{withdrawal}");
    assert_eq!(checklist["member_cap"], 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_checks_the_exact_body_on_stdin() {
    let sandbox = sandbox().await;
    let data_dir = tempfile::tempdir().unwrap();
    let check = |body: &str, signature: &str| {
        let mut child = oh(&sandbox, data_dir.path())
            .args(["webhook", "verify", "--secret-env", "OH_WEBHOOK_SECRET"])
            .args(["--signature", signature])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let good = check(BODY, SIGNATURE);
    assert!(good.status.success(), "{good:?}");
    assert!(String::from_utf8_lossy(&good.stdout).contains("12345678"));
    let with_newline = check(&format!("{BODY}\n"), SIGNATURE);
    assert!(
        !with_newline.status.success(),
        "one more byte is another body"
    );
    let stderr = String::from_utf8_lossy(&with_newline.stderr);
    assert!(stderr.contains("does not verify"), "{stderr}");
}
