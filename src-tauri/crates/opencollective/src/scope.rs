use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The scopes Open Collective's consent screen knows (docs/providers/open-collective.md,
/// "Scopes"); it silently drops any other requested scope, so only these are offered. Serialized
/// with OC's own names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum Scope {
    Email,
    Incognito,
    Account,
    Expenses,
    Orders,
    Transactions,
    VirtualCards,
    Updates,
    Conversations,
    Webhooks,
    Host,
}

impl Scope {
    pub const ALL: [Scope; 11] = [
        Scope::Email,
        Scope::Incognito,
        Scope::Account,
        Scope::Expenses,
        Scope::Orders,
        Scope::Transactions,
        Scope::VirtualCards,
        Scope::Updates,
        Scope::Conversations,
        Scope::Webhooks,
        Scope::Host,
    ];

    /// The name Open Collective uses in `scope` parameters and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Email => "email",
            Scope::Incognito => "incognito",
            Scope::Account => "account",
            Scope::Expenses => "expenses",
            Scope::Orders => "orders",
            Scope::Transactions => "transactions",
            Scope::VirtualCards => "virtualCards",
            Scope::Updates => "updates",
            Scope::Conversations => "conversations",
            Scope::Webhooks => "webhooks",
            Scope::Host => "host",
        }
    }

    /// What the scope lets the app do, in Open Collective's words.
    pub fn explanation(self) -> &'static str {
        match self {
            Scope::Email => "Access your email address.",
            Scope::Incognito => "Access your incognito account.",
            Scope::Account => "Manage your account, collectives and organizations.",
            Scope::Expenses => "Create and manage expenses, payout methods.",
            Scope::Orders => "Create and manage contributions, payment methods.",
            Scope::Transactions => "Refund and reject recorded transactions.",
            Scope::VirtualCards => "Create and manage virtual cards.",
            Scope::Updates => "Create and manage updates.",
            Scope::Conversations => "Create and manage conversations.",
            Scope::Webhooks => "Create and manage webhooks.",
            Scope::Host => "Administrate fiscal hosts.",
        }
    }

    /// What asking for the scope changes in Datalinks, which only reads: everything the overview
    /// shows but the email address needs no scope.
    pub fn use_in_datalinks(self) -> &'static str {
        match self {
            Scope::Email => "Datalinks shows your email address with your account; without it the overview still works.",
            _ => "Not used by Datalinks.",
        }
    }

    pub fn from_name(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == name)
    }

    /// Every scope with its explanation, for a scope chooser.
    pub fn catalogue() -> Vec<ScopeDescription> {
        Scope::ALL
            .into_iter()
            .map(|scope| ScopeDescription {
                scope,
                explanation: scope.explanation().to_owned(),
                use_in_datalinks: scope.use_in_datalinks().to_owned(),
            })
            .collect()
    }
}

/// One line of a scope chooser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ScopeDescription {
    pub scope: Scope,
    /// What it lets an app do, in Open Collective's words.
    pub explanation: String,
    /// What it changes in Datalinks.
    pub use_in_datalinks: String,
}

/// How the `scope` parameter of the authorize URL joins scopes. Open Collective's API accepts
/// both, but older consent pages split on commas only (docs/providers/open-collective.md,
/// "Scopes"), hence the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ScopeSeparator {
    #[default]
    Comma,
    Space,
}

impl ScopeSeparator {
    pub fn join(self, scopes: &[Scope]) -> String {
        let separator = match self {
            ScopeSeparator::Comma => ",",
            ScopeSeparator::Space => " ",
        };
        scopes
            .iter()
            .map(|scope| scope.as_str())
            .collect::<Vec<_>>()
            .join(separator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for scope in Scope::ALL {
            assert_eq!(Scope::from_name(scope.as_str()), Some(scope));
            assert_eq!(serde_json::to_value(scope).unwrap(), scope.as_str());
        }
        assert_eq!(Scope::from_name("root"), None);
    }

    #[test]
    fn separators_join_scopes() {
        let scopes = [Scope::Email, Scope::VirtualCards];
        assert_eq!(ScopeSeparator::Comma.join(&scopes), "email,virtualCards");
        assert_eq!(ScopeSeparator::Space.join(&scopes), "email virtualCards");
        assert_eq!(ScopeSeparator::default(), ScopeSeparator::Comma);
    }
}
