//! Disconnecting one connection: revoke at the provider, delete its secrets from the keyring,
//! forget the account, and say what happened at each step.

use crate::audit::actions;
use crate::providers::adapter;
use crate::{Datalinks, DisconnectReceipt, ReceiptStep, StepOutcome};
use datalinks_core::{AccountSummary, ConnectionId, Error, Result};
use datalinks_store::ConnectionFilter;
use datalinks_vault::{SecretKind, SecretOwner};

pub(crate) fn step(label: &str, outcome: StepOutcome, detail: impl Into<String>) -> ReceiptStep {
    ReceiptStep {
        label: label.to_owned(),
        outcome,
        detail: detail.into(),
        link: None,
    }
}

/// Records deleting a keyring entry as a receipt step: `done` when it was deleted, `absent`
/// (or no step) when there was none. False when the keyring could not be reached, so the
/// account is kept and disconnecting can be tried again.
pub(crate) fn record_deletion(
    steps: &mut Vec<ReceiptStep>,
    label: &str,
    deleted: Result<bool>,
    done: &str,
    absent: Option<&str>,
) -> bool {
    match deleted {
        Ok(true) => steps.push(step(label, StepOutcome::Done, done)),
        Ok(false) => {
            if let Some(absent) = absent {
                steps.push(step(label, StepOutcome::Skipped, absent));
            }
        }
        Err(e) => {
            steps.push(step(
                label,
                StepOutcome::Failed,
                format!(
                    "{} Disconnect again once the keyring is available.",
                    e.message
                ),
            ));
            return false;
        }
    }
    true
}

/// The secrets a connection may have, each deleted on disconnect.
const CONNECTION_SECRETS: [(SecretKind, &str, &str, Option<&str>); 3] = [
    (
        SecretKind::Tokens,
        "Delete tokens from the OS keyring",
        "The access and refresh tokens were deleted.",
        Some("The keyring held no tokens."),
    ),
    (
        SecretKind::PersonalToken,
        "Delete the personal token from the OS keyring",
        "The personal token was deleted.",
        None,
    ),
    (
        SecretKind::PublicToken,
        "Delete the legacy public token from the OS keyring",
        "The public token was deleted.",
        None,
    ),
];

impl Datalinks {
    /// Opens a page a disconnect receipt linked to in the system browser. Only links this
    /// service put in a receipt are opened, so the window cannot send the browser elsewhere.
    pub fn open_receipt_link(&self, url: &str) -> Result<()> {
        if !self.receipt_links.lock().unwrap().contains(url) {
            return Err(Error::invalid_input(
                "That link is not one Datalinks gave in a receipt; it was not opened.",
            ));
        }
        self.host.open_in_browser(url)
    }

    /// Disconnects one account; the provider's other connections are not touched.
    pub async fn disconnect(&self, id: ConnectionId) -> Result<DisconnectReceipt> {
        let (registration, connection) = self.connection_for_use(id).await?;
        let provider = connection.provider;
        let scope = self.connection_scope(&registration, id);
        if self
            .attempts
            .inspect(&registration.id(), |a| a.context.reconnect)
            == Some(Some(id))
        {
            self.cancel_connect(registration.id()).await?;
        }
        self.end_connect_window_for(id);

        let account = registration.account(&connection.account_id);
        let stored = {
            let account = account.clone();
            self.vault_call(move |vault| vault.tokens(&account)).await
        };
        let mut steps = match &stored {
            Ok(tokens) => {
                let revoking =
                    adapter(provider).revoke(self, &registration, &connection, tokens.as_ref());
                self.audited(id, actions::DISCONNECT, revoking).await
            }
            Err(e) => vec![step(
                "Revoke tokens",
                StepOutcome::Failed,
                e.message.clone(),
            )],
        };

        let mut all_deleted = true;
        for (kind, label, done, absent) in CONNECTION_SECRETS {
            let account = account.clone();
            let deleted = self
                .vault_call(move |vault| vault.delete(SecretOwner::Account(&account), kind))
                .await;
            all_deleted &= record_deletion(&mut steps, label, deleted, done, absent);
        }

        if all_deleted {
            let sources = self.store.connection_sources(id)?.len();
            if sources > 0 {
                steps.push(step(
                    "Forget the linked sources",
                    StepOutcome::Done,
                    format!(
                        "The list of {sources} linked source(s) was removed from this computer."
                    ),
                ));
            }
            self.store.remove_connection(id)?;
            self.forget_connection_state(id);
            steps.push(step(
                "Forget the account on this computer",
                StepOutcome::Done,
                "The account details were removed; settings and history are kept.",
            ));
            self.store
                .record_event(scope, "disconnected", "Disconnected.")?;
            let left = self
                .store
                .connections(ConnectionFilter::Registration(registration.id()))?;
            if registration.record.retired && left.is_empty() {
                // An earlier setup with nothing bound to it any more goes, with its secret.
                self.remove_unused_registration(&registration.record).await;
            }
        } else {
            steps.push(step(
                "Forget the account on this computer",
                StepOutcome::Skipped,
                "Kept until its secrets can be deleted.",
            ));
        }
        self.announce().await;
        Ok(DisconnectReceipt {
            provider,
            account: AccountSummary {
                account_id: connection.account_id,
                username: connection.username,
                connected_at: connection.connected_at,
            },
            steps,
        })
    }
}
