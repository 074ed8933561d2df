//! Disconnecting: revoke at the provider, delete the local secrets, forget the account,
//! and say what happened at each step.

use crate::{Datalinks, DisconnectReceipt, ReceiptStep, StepOutcome};
use datalinks_core::{Provider, Result};

fn step(label: &str, outcome: StepOutcome, detail: impl Into<String>) -> ReceiptStep {
    ReceiptStep {
        label: label.to_owned(),
        outcome,
        detail: detail.into(),
    }
}

impl Datalinks {
    pub async fn disconnect(&self, provider: Provider) -> Result<DisconnectReceipt> {
        let mut steps = Vec::new();
        self.cancel_connect(provider).await?;

        let tokens = self.keeper(provider).current().await;
        let client = self.oauth_client(provider).await;
        match (&tokens, &client) {
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

        let secrets_deleted = match self.keeper(provider).forget().await {
            Ok(true) => {
                steps.push(step(
                    "Delete tokens from the OS keyring",
                    StepOutcome::Done,
                    "The access and refresh tokens were deleted.",
                ));
                true
            }
            Ok(false) => {
                steps.push(step(
                    "Delete tokens from the OS keyring",
                    StepOutcome::Skipped,
                    "The keyring held no tokens.",
                ));
                true
            }
            Err(e) => {
                steps.push(step(
                    "Delete tokens from the OS keyring",
                    StepOutcome::Failed,
                    format!(
                        "{} Disconnect again once the keyring is available.",
                        e.message
                    ),
                ));
                false
            }
        };

        if secrets_deleted {
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
