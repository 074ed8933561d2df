//! `datalinks audit`: the requests Datalinks made on your behalf, newest first.

use crate::oh::print_json;
use datalinks_core::{ConnectionId, Result};
use datalinks_service::{AuditEntry, AuditFilter, Datalinks};

/// Which requests `datalinks audit` prints.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// Only this connection's requests (its number, as `datalinks status` shows it).
    #[arg(long)]
    connection: Option<i64>,
    /// Only requests of this action (connect, refresh, member view, download, …).
    #[arg(long)]
    action: Option<String>,
    /// Only requests that failed or were answered with an error.
    #[arg(long)]
    errors: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn print_audit(service: &Datalinks, args: AuditArgs) -> Result<()> {
    let filter = AuditFilter {
        connection: args.connection.map(ConnectionId),
        action: args.action,
        errors_only: args.errors,
    };
    let entries = service.audit_log(filter, usize::MAX).await?;
    if args.json {
        return print_json(&entries);
    }
    for entry in &entries {
        println!("{}", line(entry));
    }
    eprintln!("{} requests", entries.len());
    Ok(())
}

/// `2026-12-08 01:02:03 UTC  refresh  POST https://host/oauth2/token/  200  ↑ 312 bytes ↓ 1.2 KB  84 ms  alice · …`
fn line(entry: &AuditEntry) -> String {
    let outcome = match (entry.status, &entry.failure) {
        (Some(status), _) => status.to_string(),
        (None, Some(failure)) => format!("no answer ({failure})"),
        (None, None) => "no answer".to_owned(),
    };
    let size = |bytes: Option<u64>| bytes.map_or_else(|| "?".to_owned(), datalinks_core::size_text);
    format!(
        "{}  {}  {} {}{}  {outcome}  ↑ {} ↓ {}  {} ms  {}",
        utc(entry.at_ms),
        entry.action,
        entry.method,
        entry.origin,
        entry.path,
        size(entry.bytes_sent),
        size(entry.bytes_received),
        entry.duration_ms,
        entry.subject,
    )
}

fn utc(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
        .ok()
        .and_then(|at| {
            at.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}
