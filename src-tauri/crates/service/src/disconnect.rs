//! Disconnecting: revoke at the provider, delete the local secrets, forget the account,
//! and say what happened at each step.

use crate::{Datalinks, DisconnectReceipt, ReceiptStep, StepOutcome};
use datalinks_core::{Error, Provider, Result};

/// Where a person withdraws an app's access on the provider's website, when the app cannot.
/// Open Collective: authorized OAuth apps are listed under the account's admin pages,
/// personal tokens under "For developers" (providers.md B2).
fn revoke_page(website: &str, slug: Option<&str>, personal_token: bool) -> String {
    let website = website.trim_end_matches('/');
    match (slug, personal_token) {
        (Some(slug), true) => format!("{website}/{slug}/admin/for-developers"),
        (Some(slug), false) => format!("{website}/{slug}/admin/authorized-apps"),
        (None, _) => website.to_owned(),
    }
}

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

    pub async fn disconnect(&self, provider: Provider) -> Result<DisconnectReceipt> {
        let mut steps = Vec::new();
        self.cancel_connect(provider).await?;

        let tokens = self.keeper(provider).current().await;
        let client = self.oauth_client(provider).await;
        let personal_token = self.personal_token(provider).await;
        let cannot_revoke =
            matches!(personal_token, Ok(Some(_))) || client.as_ref().is_ok_and(|c| !c.can_revoke());
        match (&tokens, &client) {
            _ if provider == Provider::HumanApi => steps.push(step(
                "Revoke access",
                StepOutcome::Skipped,
                self.hapi_revoke_hint(),
            )),
            _ if cannot_revoke => {
                let website = self
                    .store
                    .provider_settings(provider)?
                    .map(|s| s.base_url)
                    .unwrap_or_default();
                let slug = self.store.account(provider)?.and_then(|a| a.username);
                let link = revoke_page(
                    &website,
                    slug.as_deref(),
                    matches!(personal_token, Ok(Some(_))),
                );
                self.receipt_links.lock().unwrap().insert(link.clone());
                steps.push(ReceiptStep {
                    link: Some(link.clone()),
                    ..step(
                        "Revoke access",
                        StepOutcome::Skipped,
                        format!("{provider} gives apps no way to revoke their own access. Datalinks forgets its tokens below; to withdraw access on {provider} too, open {link}."),
                    )
                });
            }
            (Ok(Some(tokens)), Ok(client)) => {
                let revoke_hint =
                    format!("revoke access on {provider}'s website (Manage connections)");
                let revocations = [
                    (
                        "Revoke the access token",
                        Some(&tokens.access_token),
                        "access_token",
                    ),
                    (
                        "Revoke the refresh token",
                        tokens.refresh_token.as_ref(),
                        "refresh_token",
                    ),
                ];
                for (label, token, type_hint) in revocations {
                    steps.push(match token {
                        None => step(label, StepOutcome::Skipped, "There was no such token."),
                        Some(token) => match client.revoke(token, type_hint).await {
                            Ok(()) => step(
                                label,
                                StepOutcome::Done,
                                format!("{provider} accepted the revocation."),
                            ),
                            Err(e) => {
                                step(label, StepOutcome::Failed, format!("{e}; {revoke_hint}."))
                            }
                        },
                    });
                }
            }
            (Ok(None), _) => steps.push(step(
                "Revoke tokens",
                StepOutcome::Skipped,
                "No tokens were stored.",
            )),
            (Err(e), _) | (_, Err(e)) => steps.push(step(
                "Revoke tokens",
                StepOutcome::Failed,
                e.message.clone(),
            )),
        }

        let personal_token_deleted = match personal_token {
            Ok(None) => true,
            found => {
                let deleted = match found {
                    Ok(_) => {
                        self.vault_call(move |v| v.delete_personal_token(provider))
                            .await
                    }
                    Err(e) => Err(e),
                };
                record_deletion(
                    &mut steps,
                    "Delete the personal token from the OS keyring",
                    deleted,
                    "The personal token was deleted.",
                    None,
                )
            }
        };

        let tokens_deleted = record_deletion(
            &mut steps,
            "Delete tokens from the OS keyring",
            self.keeper(provider).forget().await,
            "The access and refresh tokens were deleted.",
            Some("The keyring held no tokens."),
        );

        let linked_data_forgotten = match provider {
            Provider::HumanApi => self.hapi_forget_linked(&mut steps).await,
            _ => true,
        };

        if tokens_deleted && personal_token_deleted && linked_data_forgotten {
            let removed = self.store.remove_account(provider)?;
            let (outcome, detail) = if removed {
                (
                    StepOutcome::Done,
                    "The account details were removed; settings and history are kept.",
                )
            } else {
                (StepOutcome::Skipped, "No account details were stored.")
            };
            steps.push(step("Forget the account on this computer", outcome, detail));
            self.store
                .record_event(provider, "disconnected", "Disconnected.")?;
        } else {
            steps.push(step(
                "Forget the account on this computer",
                StepOutcome::Skipped,
                "Kept until the tokens can be deleted.",
            ));
        }
        self.set_last_error(provider, None);
        self.announce(provider).await;
        Ok(DisconnectReceipt { provider, steps })
    }
}
