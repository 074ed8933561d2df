//! `datalinks oh webhook …` and `datalinks oh inbox`: Open Humans' deauthorization webhook
//! received headless into the same inbox as the app, a delivery checked against the secret,
//! and the inbox printed.

use clap::Subcommand;
use datalinks_core::{Error, ErrorCode, Result, WebhookSecret};
use datalinks_research::webhook::{check_secret, Deauthorization};
use datalinks_service::{check_delivery, ProjectKey, ReceiverSettings, WebhookReceiver};
use datalinks_store::Store;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum WebhookAction {
    /// Receive the webhook until interrupted, writing each verified notification to the inbox
    /// (put it behind the tunnel or reverse proxy that Open Humans posts to).
    Serve {
        #[arg(long, default_value = "127.0.0.1")]
        address: String,
        #[arg(long, default_value_t = ReceiverSettings::default().port)]
        port: u16,
        /// The environment variable that holds the project's webhook secret.
        #[arg(long)]
        secret_env: String,
    },
    /// Check a delivery: the body on stdin, exactly as it arrived, and its signature header.
    Verify {
        /// The environment variable that holds the project's webhook secret.
        #[arg(long)]
        secret_env: String,
        /// The X-OpenHumans-Webhooks-Signature header's value (`sha1=…`).
        #[arg(long)]
        signature: String,
    },
}

/// The secret from the environment variable `name`, checked as Open Humans checks it.
fn secret_from_env(name: &str) -> Result<WebhookSecret> {
    let value = std::env::var(name).map_err(|_| {
        Error::new(
            ErrorCode::NotConfigured,
            format!("The environment variable {name} does not hold the webhook secret."),
        )
    })?;
    check_secret(&value)
}

/// `oh webhook verify`: exit status 0 only when the delivery verifies.
pub fn verify(secret_env: &str, signature: &str) -> Result<()> {
    let secret = secret_from_env(secret_env)?;
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| Error::invalid_input(format!("Could not read the body from stdin: {e}")))?;
    let check = check_delivery(&secret, &body, signature);
    if check.verified {
        println!("{}", check.message);
        Ok(())
    } else {
        Err(Error::invalid_input(check.message))
    }
}

/// `oh webhook serve`: runs until Ctrl-C.
pub async fn serve(
    store: Arc<Store>,
    project: ProjectKey,
    address: String,
    port: u16,
    secret_env: &str,
) -> Result<()> {
    let secret = secret_from_env(secret_env)?;
    let address = ReceiverSettings { address, port }.socket_address()?;
    let receiver = WebhookReceiver::start(
        store,
        project,
        secret,
        address,
        Arc::new(|notification: &Deauthorization, new: bool| {
            println!(
                "{}\tmember {} left{}{}",
                notification.timestamp,
                notification.project_member_id,
                if notification.erasure_requested {
                    ", erasure requested"
                } else {
                    ""
                },
                if new { "" } else { " (repeat)" }
            );
        }),
    )
    .await?;
    eprintln!(
        "Receiving Open Humans' webhook at http://{}/ (Ctrl-C stops).",
        receiver.address()
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Error::internal(e.to_string()))?;
    Ok(())
}

/// `oh inbox`: newest first.
pub fn print_inbox(store: &Store, project: &ProjectKey, json: bool) -> Result<()> {
    let entries = store.departures(project)?;
    if json {
        return crate::oh::print_json(&entries);
    }
    for entry in &entries {
        let how = match entry.source {
            datalinks_store::DepartureSource::Webhook => "webhook",
            datalinks_store::DepartureSource::Detected => "detected by Datalinks",
        };
        println!(
            "{}\t{}\t{}\t{how}\t{}",
            entry.id,
            entry.project_member_id,
            if entry.erasure_requested {
                "erasure requested"
            } else {
                "left"
            },
            if entry.handled_at.is_some() {
                "handled"
            } else {
                "open"
            }
        );
    }
    eprintln!("{} entries", entries.len());
    Ok(())
}

/// `oh checklist`: one line per step, in the guide's order.
pub fn print_checklist(checklist: &datalinks_service::ProjectChecklist, json: bool) -> Result<()> {
    if json {
        return crate::oh::print_json(checklist);
    }
    for item in &checklist.items {
        let mark = if item.done_at.is_some() { "x" } else { " " };
        let who = if item.seen_by_datalinks {
            "seen by Datalinks"
        } else {
            "ticked in the app"
        };
        println!("[{mark}] {:>2}. {} ({who})", item.guide_step, item.title);
    }
    match checklist.member_cap {
        Some(cap) => eprintln!(
            "{} of at most {cap} members until Open Humans approves the project",
            checklist.members
        ),
        None => eprintln!("{} members; the project is approved", checklist.members),
    }
    Ok(())
}

/// The database the app uses in `data_dir`.
pub fn open_store(data_dir: &Path) -> Result<Arc<Store>> {
    Ok(Arc::new(Store::open(
        data_dir.join(datalinks_service::DATABASE_FILE),
    )?))
}
