//! `datalinks oh …` as a script runs it, against a sandbox started here.

use datalinks_sandbox::{RunningSandbox, SandboxConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

async fn sandbox() -> RunningSandbox {
    let config = SandboxConfig {
        member_count: 3,
        files_per_member: 12,
        ..SandboxConfig::default()
    };
    datalinks_sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Runs `datalinks oh <args>` with the master token in the environment.
fn oh(sandbox: &RunningSandbox, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datalinks"))
        .arg("oh")
        .args(args)
        .env("DATALINKS_OH_MASTER_TOKEN", sandbox.master_access_token())
        .env("DATALINKS_OH_BASE_URL", sandbox.base_url().as_str())
        // The audit log goes to a data folder of the test's own, never the person's.
        .env("DATALINKS_DATA_DIR", data_dir(sandbox))
        .output()
        .unwrap()
}

/// One data folder per sandbox, kept across the commands a test runs.
fn data_dir(sandbox: &RunningSandbox) -> std::path::PathBuf {
    let port = sandbox.base_url().port().unwrap_or_default();
    std::env::temp_dir().join(format!("datalinks-cli-oh-test-{port}"))
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

// Multi-threaded: the sandbox keeps serving while the test waits for the process.
#[tokio::test(flavor = "multi_thread")]
async fn members_lists_every_member_with_all_files() {
    let sandbox = sandbox().await;
    let output = oh(&sandbox, &["members", "--json"]);
    assert!(output.status.success(), "{output:?}");
    let members: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let members = members.as_array().unwrap();
    assert_eq!(members.len(), 2);
    for member in members {
        assert_eq!(member["file_count"], 12);
        assert_eq!(member["files"].as_array().unwrap().len(), 12);
    }
    let text = oh(&sandbox, &["members"]);
    assert_eq!(stdout(&text).lines().count(), 2);
    assert!(!stdout(&text).contains(&sandbox.master_access_token()));
}

#[tokio::test(flavor = "multi_thread")]
async fn download_writes_ohapis_layout_and_a_summary() {
    let sandbox = sandbox().await;
    let listed = oh(&sandbox, &["members", "--json"]);
    let members: serde_json::Value = serde_json::from_str(&stdout(&listed)).unwrap();
    let kept = members[0]["project_member_id"].as_str().unwrap();
    let excluded = members[1]["project_member_id"].as_str().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let deny_list = dest.path().join("exclude.txt");
    std::fs::write(&deny_list, format!("{excluded}\n")).unwrap();
    let dest_arg = dest.path().join("data");

    let output = oh(
        &sandbox,
        &[
            "download",
            "--dest",
            dest_arg.to_str().unwrap(),
            "--exclude",
            deny_list.to_str().unwrap(),
            "--concurrency",
            "3",
            "--json",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(summary["downloaded"], 12);
    assert_eq!(summary["failed"], serde_json::json!([]));
    let progress = String::from_utf8(output.stderr).unwrap();
    assert!(progress.contains("[12/12]"), "{progress}");

    for file in members[0]["files"].as_array().unwrap() {
        let path = dest_arg
            .join(kept)
            .join(file["source"].as_str().unwrap())
            .join(file["basename"].as_str().unwrap());
        assert!(path.is_file(), "{}", path.display());
    }
    assert!(!Path::new(&dest_arg.join(excluded)).exists());

    let again = oh(
        &sandbox,
        &[
            "download",
            "--dest",
            dest_arg.to_str().unwrap(),
            "--members",
            kept,
        ],
    );
    assert!(again.status.success());
    assert!(
        stdout(&again).starts_with("downloaded 0, already present 12"),
        "{}",
        stdout(&again)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_master_token_is_a_clear_error() {
    let sandbox = sandbox().await;
    let output = Command::new(env!("CARGO_BIN_EXE_datalinks"))
        .args(["oh", "members", "--base-url", sandbox.base_url().as_str()])
        .env_remove("DATALINKS_OH_MASTER_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains("--master-token-file"));
}

/// A host for a service that runs no window: nothing to open, nothing to show.
struct Headless;

impl datalinks_service::Host for Headless {
    fn open_in_browser(&self, _url: &str) -> datalinks_core::Result<()> {
        Ok(())
    }
    fn emit(&self, _event: datalinks_service::ServiceEvent) {}
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path.strip_prefix(dir).unwrap().to_owned(), bytes));
            }
        }
    }
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_and_the_app_download_the_same_layout_and_summary() {
    let sandbox = sandbox().await;
    // Names that collide or are unsafe on some system, so the naming rule shows.
    sandbox.set_faults(datalinks_sandbox::Faults {
        hostile_names: true,
        ..Default::default()
    });
    let work = tempfile::tempdir().unwrap();
    let (cli_dir, app_dir) = (work.path().join("cli"), work.path().join("app"));

    let output = oh(
        &sandbox,
        &["download", "--dest", cli_dir.to_str().unwrap(), "--json"],
    );
    assert!(output.status.success(), "{output:?}");
    let from_cli: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();

    let service = datalinks_service::Datalinks::open(
        &work.path().join("data"),
        Arc::new(datalinks_vault::MemoryStore::new()),
        Arc::new(Headless),
    )
    .unwrap();
    let settings = datalinks_service::ProviderSettingsInput {
        client_id: sandbox.client_id().into(),
        client_secret: Some(sandbox.client_secret().into()),
        base_url: sandbox.base_url().to_string(),
        transport: datalinks_core::Transport::Loopback,
        personal_token: None,
        options: datalinks_service::ProviderOptions::OpenHumans,
    };
    service
        .save_provider_settings(datalinks_core::Provider::OpenHumans, settings)
        .await
        .unwrap();
    service
        .open_project(sandbox.master_access_token(), false)
        .await
        .unwrap();
    let from_app = service
        .download_project_files(Default::default(), Some(app_dir.clone()), Arc::new(|_| {}))
        .await
        .unwrap();
    let from_app = serde_json::to_value(from_app).unwrap();

    for field in [
        "planned",
        "downloaded",
        "skipped_identical",
        "skipped_too_large",
        "failed",
        "bytes",
        "cancelled",
    ] {
        assert_eq!(from_cli[field], from_app[field], "{field}");
    }
    assert_eq!(from_app["downloaded"], 24);
    let (cli_tree, app_tree) = (tree(&cli_dir), tree(&app_dir));
    assert_eq!(cli_tree.len(), 24);
    assert_eq!(cli_tree, app_tree);
    let on_disk: usize = app_tree.iter().map(|(_, bytes)| bytes.len()).sum();
    assert_eq!(from_app["bytes"], on_disk as u64);
}

/// The `.part` files under `dir` and the bytes they hold.
fn parts(dir: &Path) -> Vec<(PathBuf, usize)> {
    if !dir.exists() {
        return Vec::new();
    }
    tree(dir)
        .into_iter()
        .filter(|(path, _)| path.extension().is_some_and(|e| e == "part"))
        .map(|(path, bytes)| (path, bytes.len()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_killed_mid_file_resumes_and_ends_byte_identical() {
    const SIZE: u64 = 4 * 1024 * 1024;
    let sandbox = datalinks_sandbox::start(
        SandboxConfig {
            member_count: 2,
            files_per_member: 3,
            file_size_bytes: Some(SIZE),
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let (killed_dir, reference_dir) = (work.path().join("killed"), work.path().join("reference"));
    let reference = oh(
        &sandbox,
        &["download", "--dest", reference_dir.to_str().unwrap()],
    );
    assert!(reference.status.success(), "{reference:?}");

    // Every body stops after 1 MiB and hangs, so the process is killed in the middle of files.
    sandbox.set_faults(datalinks_sandbox::Faults {
        storage_body_fault: Some(datalinks_sandbox::BodyFault::Stall { after: 1024 * 1024 }),
        storage_body_faults: u32::MAX,
        ..Default::default()
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_datalinks"))
        .args(["oh", "download", "--dest", killed_dir.to_str().unwrap()])
        .env("DATALINKS_OH_MASTER_TOKEN", sandbox.master_access_token())
        .env("DATALINKS_OH_BASE_URL", sandbox.base_url().as_str())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let waited = std::time::Instant::now();
    while parts(&killed_dir).iter().all(|(_, bytes)| *bytes == 0) {
        assert!(
            waited.elapsed().as_secs() < 30,
            "no part file ever held bytes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL: nothing of the process runs after this
    child.wait().unwrap();
    let kept: usize = parts(&killed_dir).iter().map(|(_, bytes)| bytes).sum();
    assert!(kept > 0);

    sandbox.set_faults(datalinks_sandbox::Faults::default());
    let again = oh(
        &sandbox,
        &["download", "--dest", killed_dir.to_str().unwrap(), "--json"],
    );
    assert!(again.status.success(), "{again:?}");
    let summary: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(summary["downloaded"], 3, "{summary}");
    assert_eq!(
        summary["bytes"].as_u64().unwrap(),
        3 * SIZE - kept as u64,
        "the kept parts are resumed, not fetched again"
    );
    assert_eq!(parts(&killed_dir), []);
    assert_eq!(tree(&killed_dir), tree(&reference_dir));
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_lists_each_request_the_console_made_and_never_the_master_token() {
    let sandbox = sandbox().await;
    assert!(oh(&sandbox, &["members"]).status.success());
    let audit = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_datalinks"))
            .arg("audit")
            .args(args)
            .env("DATALINKS_DATA_DIR", data_dir(&sandbox))
            .output()
            .unwrap()
    };
    let listed = audit(&["--json"]);
    assert!(listed.status.success(), "{listed:?}");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(entries.len(), sandbox.app_requests().len());
    assert!(entries
        .iter()
        .all(|e| e["action"] == "member listing" || e["action"] == "project view"));
    let text = audit(&["--action", "member listing"]);
    let lines = stdout(&text);
    assert!(!lines.is_empty() && lines.lines().all(|l| l.contains("  member listing  GET ")));
    for output in [&listed, &text] {
        assert!(!stdout(output).contains(&sandbox.master_access_token()));
    }
}
