//! The Open Collective account overview: identity, memberships, transactions and expenses,
//! one page at a time, and connecting with a personal token instead of OAuth.

use crate::options::OpenCollectiveOptions;
use crate::status::Credential;
use crate::{
    Datalinks, OcAccount, OcAccountRef, OcAmount, OcExpense, OcMembership, OcOverview, OcPage,
    OcTransaction, ProviderOptions,
};
use datalinks_core::{now_unix, Error, ErrorCode, Provider, Result};
use datalinks_opencollective as oc;
use datalinks_openhumans::parse_base_url;
use datalinks_store::{AccountRecord, ProviderSettings};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

const PROVIDER: Provider = Provider::OpenCollective;

/// Items per page of each collection.
pub const OC_PAGE_SIZE: u32 = 25;

pub(crate) fn hosts(
    settings: &ProviderSettings,
    options: &OpenCollectiveOptions,
) -> Result<oc::Hosts> {
    Ok(oc::Hosts::new(
        parse_base_url(&settings.base_url)?,
        parse_base_url(&options.api_url)?,
    ))
}

impl From<Credential> for oc::Credential {
    fn from(credential: Credential) -> Self {
        match credential {
            Credential::OAuth(token) => oc::Credential::OAuth(token),
            Credential::PersonalToken(token) => oc::Credential::PersonalToken(token),
        }
    }
}

impl Datalinks {
    pub(crate) fn oc_api(&self) -> Result<oc::ApiClient> {
        let settings = self.settings_or_error(PROVIDER)?;
        let ProviderOptions::OpenCollective(options) = self.options(&settings)? else {
            return Err(Error::internal(
                "Open Collective settings of another provider",
            ));
        };
        Ok(oc::ApiClient::new(
            self.http.clone(),
            &hosts(&settings, &options)?,
        ))
    }

    /// The connected account, with the stored slug and name brought up to date.
    pub async fn oc_me(self: &Arc<Self>) -> Result<OcAccount> {
        let api = self.oc_api()?;
        let personal_token = self.personal_token(PROVIDER).await?.is_some();
        let me = self
            .with_token(PROVIDER, |credential| {
                let api = api.clone();
                async move { api.me(&credential.into()).await }
            })
            .await?;
        if let Some(mut account) = self
            .store
            .account(PROVIDER)?
            .filter(|a| a.username.as_deref() != Some(me.slug.as_str()))
        {
            account.username = Some(me.slug.clone());
            self.store.save_account(&account)?;
        }
        Ok(OcAccount {
            id: me.id,
            slug: me.slug,
            name: me.name,
            email: me.email,
            image_url: me.image_url,
            created_at: rfc3339(me.created_at),
            personal_token,
        })
    }

    /// Who the person is and the first page of each collection.
    pub async fn oc_overview(self: &Arc<Self>) -> Result<OcOverview> {
        let account = self.oc_me().await?;
        Ok(OcOverview {
            memberships: self.oc_memberships(0).await?,
            transactions: self.oc_transactions(0).await?,
            expenses: self.oc_expenses_of(&account.slug, 0).await?,
            account,
        })
    }

    /// The collectives and organizations the person belongs to, from `offset`.
    pub async fn oc_memberships(self: &Arc<Self>, offset: u32) -> Result<OcPage<OcMembership>> {
        let api = self.oc_api()?;
        let page = self
            .with_token(PROVIDER, |credential| {
                let api = api.clone();
                async move { api.memberships(&credential.into(), window(offset)).await }
            })
            .await?;
        Ok(page_of(page, |m| OcMembership {
            id: m.id,
            role: m.role,
            since: rfc3339(m.since),
            is_active: m.is_active,
            total_donations: amount(m.total_donations),
            collective: account_ref(m.account),
        }))
    }

    /// The person's transactions, newest first, from `offset`.
    pub async fn oc_transactions(self: &Arc<Self>, offset: u32) -> Result<OcPage<OcTransaction>> {
        let api = self.oc_api()?;
        let page = self
            .with_token(PROVIDER, |credential| {
                let api = api.clone();
                async move { api.transactions(&credential.into(), window(offset)).await }
            })
            .await?;
        Ok(page_of(page, |t| OcTransaction {
            id: t.id,
            kind: t.kind,
            direction: t.direction,
            created_at: rfc3339(t.created_at),
            description: t.description,
            amount: amount(t.amount),
            net_amount: amount(t.net_amount),
            account: account_ref(t.account),
            opposite_account: t.opposite_account.map(account_ref),
        }))
    }

    /// The expenses the person submitted, from `offset`.
    pub async fn oc_expenses(self: &Arc<Self>, offset: u32) -> Result<OcPage<OcExpense>> {
        let slug = match self.store.account(PROVIDER)?.and_then(|a| a.username) {
            Some(slug) => slug,
            None => self.oc_me().await?.slug,
        };
        self.oc_expenses_of(&slug, offset).await
    }

    async fn oc_expenses_of(
        self: &Arc<Self>,
        slug: &str,
        offset: u32,
    ) -> Result<OcPage<OcExpense>> {
        let api = self.oc_api()?;
        let page = self
            .with_token(PROVIDER, |credential| {
                let api = api.clone();
                async move { api.expenses(&credential.into(), slug, window(offset)).await }
            })
            .await?;
        Ok(page_of(page, |e| OcExpense {
            id: e.id,
            description: e.description,
            status: e.status,
            expense_type: e.expense_type,
            created_at: rfc3339(e.created_at),
            amount: amount(e.amount),
            collective: account_ref(e.account),
        }))
    }

    /// Checks a newly stored personal token and links its account. A token Open Collective does
    /// not accept is deleted again, so it cannot shadow an OAuth connection.
    pub(crate) async fn connect_with_personal_token(
        self: &Arc<Self>,
        provider: Provider,
    ) -> Result<()> {
        self.cancel_connect(provider).await?;
        match self.oc_me().await {
            Ok(me) => {
                self.store.save_account(&AccountRecord {
                    provider,
                    account_id: me.id,
                    username: Some(me.slug.clone()),
                    connected_at: now_unix(),
                    token_expires_at: None,
                    reconnect_reason: None,
                })?;
                self.set_last_error(provider, None);
                self.store.record_event(
                    provider,
                    "connected",
                    &format!("Connected with a personal token as @{}.", me.slug),
                )
            }
            Err(err) if err.code == ErrorCode::ReconnectNeeded => {
                self.vault_call(move |v| v.delete_personal_token(provider))
                    .await?;
                let refused = Error::invalid_input(format!(
                    "Open Collective did not accept this personal token, so it was not kept. Check that it is complete and not expired. ({})",
                    err.message
                ));
                self.store
                    .record_event(provider, "connect_failed", &refused.message)?;
                Err(refused)
            }
            Err(err) => Err(err),
        }
    }
}

fn window(offset: u32) -> oc::PageRequest {
    oc::PageRequest {
        offset,
        limit: OC_PAGE_SIZE,
    }
}

fn page_of<S, T>(page: oc::Page<S>, node: impl Fn(S) -> T) -> OcPage<T> {
    let next_offset = page.next().map(|next| next.offset);
    OcPage {
        offset: page.offset,
        total_count: page.total_count,
        nodes: page.nodes.into_iter().map(node).collect(),
        next_offset,
    }
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn amount(amount: oc::Amount) -> OcAmount {
    OcAmount {
        value_in_cents: amount.value_in_cents,
        currency: amount.currency,
    }
}

fn account_ref(account: oc::AccountRef) -> OcAccountRef {
    OcAccountRef {
        slug: account.slug,
        name: account.name,
        kind: account.account_type,
    }
}
