//! The Open Collective account overview: identity, memberships, transactions and expenses,
//! one page at a time, and connecting with a personal token instead of OAuth.

use crate::audit::actions;
use crate::providers::OpenCollective;
use crate::status::Credential;
use crate::{
    wrong_provider, Datalinks, OcAccount, OcAccountRef, OcAmount, OcExpense, OcMembership,
    OcOverview, OcPage, OcTransaction,
};
use datalinks_core::{
    ConnectionId, CredentialKind, Error, ErrorCode, PersonalToken, Provider, RegistrationId, Result,
};
use datalinks_opencollective as oc;
use datalinks_store::NewConnection;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// Items per page of each collection.
pub const OC_PAGE_SIZE: u32 = 25;

impl From<Credential> for oc::Credential {
    fn from(credential: Credential) -> Self {
        match credential {
            Credential::OAuth(token) => oc::Credential::OAuth(token),
            Credential::PersonalToken(token) => oc::Credential::PersonalToken(token),
        }
    }
}

impl Datalinks {
    /// The API of an Open Collective connection's registration: its token goes nowhere else.
    async fn oc_api(&self, connection: ConnectionId) -> Result<oc::ApiClient> {
        let (registration, record) = self.connection_for_use(connection).await?;
        if record.provider != Provider::OpenCollective {
            return Err(wrong_provider(record.provider, Provider::OpenCollective));
        }
        Ok(oc::ApiClient::new(
            self.http.clone(),
            &OpenCollective::hosts(&registration.settings)?,
        ))
    }

    /// The connected account, with the stored slug brought up to date.
    pub async fn oc_me(self: &Arc<Self>, connection: ConnectionId) -> Result<OcAccount> {
        let api = self.oc_api(connection).await?;
        let me = self
            .with_token(connection, actions::ACCOUNT_VIEW, |credential| {
                let api = api.clone();
                async move { api.me(&credential.into()).await }
            })
            .await?;
        let record = self.store.connection(connection)?;
        if record.as_ref().and_then(|c| c.username.as_deref()) != Some(me.slug.as_str()) {
            self.store.set_username(connection, Some(&me.slug))?;
        }
        Ok(OcAccount {
            id: me.id,
            slug: me.slug,
            name: me.name,
            email: me.email,
            image_url: me.image_url,
            created_at: rfc3339(me.created_at),
            personal_token: record.is_some_and(|c| c.credential == CredentialKind::PersonalToken),
        })
    }

    /// Who the person is and the first page of each collection, asked for together. Without
    /// the account there is nothing to show; a collection that fails is shown as failed.
    pub async fn oc_overview(self: &Arc<Self>, connection: ConnectionId) -> Result<OcOverview> {
        let account = self.oc_me(connection).await?;
        let (memberships, transactions, expenses) = tokio::join!(
            self.oc_memberships(connection, 0),
            self.oc_transactions(connection, 0),
            self.oc_expenses_of(connection, &account.slug, 0),
        );
        Ok(OcOverview {
            memberships: memberships.into(),
            transactions: transactions.into(),
            expenses: expenses.into(),
            account,
        })
    }

    /// The collectives and organizations the person belongs to, from `offset`.
    pub async fn oc_memberships(
        self: &Arc<Self>,
        connection: ConnectionId,
        offset: u32,
    ) -> Result<OcPage<OcMembership>> {
        let api = self.oc_api(connection).await?;
        let page = self
            .with_token(connection, actions::ACCOUNT_VIEW, |credential| {
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
    pub async fn oc_transactions(
        self: &Arc<Self>,
        connection: ConnectionId,
        offset: u32,
    ) -> Result<OcPage<OcTransaction>> {
        let api = self.oc_api(connection).await?;
        let page = self
            .with_token(connection, actions::ACCOUNT_VIEW, |credential| {
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
    pub async fn oc_expenses(
        self: &Arc<Self>,
        connection: ConnectionId,
        offset: u32,
    ) -> Result<OcPage<OcExpense>> {
        let slug = match self.store.connection(connection)?.and_then(|c| c.username) {
            Some(slug) => slug,
            None => self.oc_me(connection).await?.slug,
        };
        self.oc_expenses_of(connection, &slug, offset).await
    }

    async fn oc_expenses_of(
        self: &Arc<Self>,
        connection: ConnectionId,
        slug: &str,
        offset: u32,
    ) -> Result<OcPage<OcExpense>> {
        let api = self.oc_api(connection).await?;
        let page = self
            .with_token(connection, actions::ACCOUNT_VIEW, |credential| {
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

    /// Checks a pasted personal token with the registration's API and connects its account
    /// (a new connection, or the account's existing one). A token Open Collective does not
    /// accept is not kept.
    pub(crate) async fn connect_with_personal_token(
        self: &Arc<Self>,
        registration: RegistrationId,
        token: PersonalToken,
    ) -> Result<ConnectionId> {
        let registration = self.registration(registration).await?;
        let api = oc::ApiClient::new(
            self.http.clone(),
            &OpenCollective::hosts(&registration.settings)?,
        );
        let credential = oc::Credential::PersonalToken(token.clone());
        let asked = self.audited_at(
            Some(registration.id()),
            None,
            actions::CONNECT,
            api.me(&credential),
        );
        let me = match asked.await {
            Ok(me) => me,
            Err(err) => {
                let err = Error::from(err);
                let err = match err.code {
                    ErrorCode::ReconnectNeeded => Error::invalid_input(format!(
                        "Open Collective did not accept this personal token, so it was not kept. Check that it is complete and not expired. ({})",
                        err.message
                    )),
                    _ => err,
                };
                let scope = self.registration_scope(&registration);
                self.store
                    .record_event(scope, "connect_failed", &err.message)?;
                return Err(err);
            }
        };
        let account = registration.account(&me.id);
        self.vault_call(move |vault| vault.set_personal_token(&account, &token))
            .await?;
        let id = self.store.save_connection(&NewConnection {
            registration_id: registration.id(),
            account_id: me.id,
            username: Some(me.slug.clone()),
            credential: CredentialKind::PersonalToken,
            details: "{}".to_owned(),
            token_expires_at: None,
        })?;
        self.forget_connection_state(id);
        self.store.record_event(
            self.connection_scope(&registration, id),
            "connected",
            &format!("Connected with a personal token as @{}.", me.slug),
        )?;
        Ok(id)
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
