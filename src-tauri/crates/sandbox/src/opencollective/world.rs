//! The seeded Open Collective: one OAuth application, the account people log in as, the
//! collectives it belongs to, its transactions and its expenses, all derived from the seed.

use std::cmp::Reverse;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_graphql::Enum;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::OpenCollectiveConfig;

pub const SEEDED_SLUG: &str = "ada";
pub const SEEDED_EMAIL: &str = "ada@example.org";
pub const SEEDED_PASSWORD: &str = "sandbox";

/// Every scope of `server/constants/oauth-scopes.ts`.
pub const ALL_SCOPES: [&str; 16] = [
    "email",
    "incognito",
    "account",
    "expenses",
    "orders",
    "transactions",
    "virtualCards",
    "updates",
    "conversations",
    "webhooks",
    "host",
    "applications",
    "connectedAccounts",
    "root",
    "kyc",
    "exportRequests",
];

/// The scopes the consent screen knows, with the explanation it shows (OC's docs); anything else
/// requested is dropped by the frontend.
pub const CONSENT_SCOPES: [(&str, &str); 11] = [
    ("email", "Access your email address."),
    ("incognito", "Access your incognito account."),
    (
        "account",
        "Manage your account, collectives and organizations.",
    ),
    ("expenses", "Create and manage expenses, payout methods."),
    (
        "orders",
        "Create and manage contributions, payment methods.",
    ),
    ("transactions", "Refund and reject recorded transactions."),
    ("virtualCards", "Create and manage virtual cards."),
    ("updates", "Create and manage updates."),
    ("conversations", "Create and manage conversations."),
    ("webhooks", "Create and manage webhooks"),
    ("host", "Administrate fiscal hosts."),
];

/// Scopes of the seeded personal token.
pub const PERSONAL_TOKEN_SCOPES: [&str; 4] = ["email", "account", "expenses", "transactions"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(name = "AccountType")]
pub enum AccountKind {
    Individual,
    Collective,
    Organization,
}

pub struct Account {
    pub id: String,
    pub legacy_id: i32,
    pub slug: String,
    pub name: String,
    pub kind: AccountKind,
    pub created_at: SystemTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(name = "MemberRole")]
pub enum Role {
    Admin,
    Member,
    Backer,
    Contributor,
}

pub struct Membership {
    pub id: String,
    pub role: Role,
    pub since: SystemTime,
    pub is_active: bool,
    pub total_donations_cents: i64,
    /// Index into `World::collectives`.
    pub collective: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum TransactionKind {
    Contribution,
    Expense,
    PlatformTip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum TransactionType {
    Credit,
    Debit,
}

pub struct Transaction {
    pub id: String,
    pub legacy_id: i32,
    pub kind: TransactionKind,
    /// `CREDIT` when money came to the seeded account.
    pub direction: TransactionType,
    pub created_at: SystemTime,
    pub description: String,
    pub amount_cents: i64,
    pub net_amount_cents: i64,
    pub collective: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ExpenseStatus {
    Pending,
    Approved,
    Paid,
    Rejected,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ExpenseType {
    Invoice,
    Receipt,
}

pub struct Expense {
    pub id: String,
    pub legacy_id: i32,
    pub description: String,
    pub status: ExpenseStatus,
    pub kind: ExpenseType,
    pub created_at: SystemTime,
    pub amount_cents: i64,
    /// The collective the expense was submitted to (`Expense.account`).
    pub collective: usize,
}

pub struct Application {
    pub name: String,
    /// 20 hex characters.
    pub client_id: String,
    /// 40 hex characters.
    pub client_secret: String,
}

pub struct World {
    pub application: Application,
    pub user: Account,
    pub email: String,
    pub personal_token: String,
    /// Key the sandbox signs its JWTs with.
    pub jwt_key: Vec<u8>,
    pub collectives: Vec<Account>,
    pub memberships: Vec<Membership>,
    /// Newest first (`orderBy CREATED_AT DESC`).
    pub transactions: Vec<Transaction>,
    /// Newest first.
    pub expenses: Vec<Expense>,
}

pub fn random_hex(rng: &mut impl Rng, bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// A GraphQL v2 id: four groups of 8 characters from `[a-z0-9]`.
fn public_id(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..4)
        .map(|_| {
            (0..8)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

const DAY: u64 = 24 * 60 * 60;

/// Seeded history ends at a fixed date so that the data does not depend on when tests run.
fn history_end() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600) // 2026-01-01T00:00:00Z
}

const COLLECTIVES: [(&str, &str, AccountKind, Role); 4] = [
    (
        "open-source-garden",
        "Open Source Garden",
        AccountKind::Collective,
        Role::Admin,
    ),
    (
        "river-cleanup",
        "River Cleanup Crew",
        AccountKind::Collective,
        Role::Backer,
    ),
    (
        "civic-data-lab",
        "Civic Data Lab",
        AccountKind::Organization,
        Role::Member,
    ),
    (
        "community-radio",
        "Community Radio",
        AccountKind::Collective,
        Role::Contributor,
    ),
];

impl World {
    pub fn generate(config: &OpenCollectiveConfig) -> World {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let end = history_end();
        let ago = |rng: &mut StdRng, max_days: u64| {
            end - Duration::from_secs(rng.random_range(DAY..max_days * DAY))
        };
        let application = Application {
            name: "Datalinks".into(),
            client_id: random_hex(&mut rng, 10),
            client_secret: random_hex(&mut rng, 20),
        };
        let user = Account {
            id: public_id(&mut rng),
            legacy_id: rng.random_range(10_000..900_000),
            slug: SEEDED_SLUG.into(),
            name: "Ada Lovelace".into(),
            kind: AccountKind::Individual,
            created_at: end - Duration::from_secs(4 * 365 * DAY),
        };
        let personal_token = random_hex(&mut rng, 20);
        let jwt_key = random_hex(&mut rng, 32).into_bytes();
        let collectives: Vec<Account> = COLLECTIVES
            .iter()
            .map(|(slug, name, kind, _)| Account {
                id: public_id(&mut rng),
                legacy_id: rng.random_range(1_000..900_000),
                slug: (*slug).into(),
                name: (*name).into(),
                kind: *kind,
                created_at: end - Duration::from_secs(6 * 365 * DAY),
            })
            .collect();
        let mut memberships: Vec<Membership> = COLLECTIVES
            .iter()
            .enumerate()
            .map(|(collective, (_, _, _, role))| Membership {
                id: public_id(&mut rng),
                role: *role,
                since: ago(&mut rng, 3 * 365),
                is_active: collective != 3,
                total_donations_cents: if *role == Role::Backer {
                    rng.random_range(1_000..50_000)
                } else {
                    0
                },
                collective,
            })
            .collect();
        memberships.sort_by_key(|membership| Reverse(membership.since));
        let mut transactions: Vec<Transaction> = (0..config.transaction_count)
            .map(|_| {
                let collective = rng.random_range(0..collectives.len());
                let kind = match rng.random_range(0..10) {
                    0..=5 => TransactionKind::Contribution,
                    6..=8 => TransactionKind::Expense,
                    _ => TransactionKind::PlatformTip,
                };
                let cents = rng.random_range(500..20_000);
                let direction = if kind == TransactionKind::Expense {
                    TransactionType::Credit
                } else {
                    TransactionType::Debit
                };
                let (amount_cents, net_amount_cents, description) = match kind {
                    TransactionKind::Contribution => (
                        -cents,
                        -cents - cents / 20,
                        format!("Contribution to {}", collectives[collective].name),
                    ),
                    TransactionKind::Expense => (
                        cents,
                        cents,
                        format!("Expense paid by {}", collectives[collective].name),
                    ),
                    TransactionKind::PlatformTip => (
                        -cents / 10,
                        -cents / 10,
                        "Financial contribution to Open Collective".into(),
                    ),
                };
                Transaction {
                    id: public_id(&mut rng),
                    legacy_id: 0,
                    kind,
                    direction,
                    created_at: ago(&mut rng, 3 * 365),
                    description,
                    amount_cents,
                    net_amount_cents,
                    collective,
                }
            })
            .collect();
        transactions.sort_by_key(|transaction| Reverse(transaction.created_at));
        let newest_transaction_id = 1_000_000 + transactions.len() as i32;
        for (index, transaction) in transactions.iter_mut().enumerate() {
            transaction.legacy_id = newest_transaction_id - index as i32;
        }
        const EXPENSE_ITEMS: [&str; 5] = [
            "Domain renewal",
            "Workshop snacks",
            "Printing flyers",
            "Server hosting",
            "Travel to meetup",
        ];
        let mut expenses: Vec<Expense> = (0..config.expense_count)
            .map(|index| {
                let status = match rng.random_range(0..10) {
                    0..=5 => ExpenseStatus::Paid,
                    6 => ExpenseStatus::Approved,
                    7 | 8 => ExpenseStatus::Pending,
                    _ => ExpenseStatus::Rejected,
                };
                Expense {
                    id: public_id(&mut rng),
                    legacy_id: 0,
                    description: EXPENSE_ITEMS[index % EXPENSE_ITEMS.len()].into(),
                    status,
                    kind: if rng.random_bool(0.5) {
                        ExpenseType::Invoice
                    } else {
                        ExpenseType::Receipt
                    },
                    created_at: ago(&mut rng, 2 * 365),
                    amount_cents: rng.random_range(1_000..60_000),
                    collective: rng.random_range(0..collectives.len()),
                }
            })
            .collect();
        expenses.sort_by_key(|expense| Reverse(expense.created_at));
        let newest_expense_id = 200_000 + expenses.len() as i32;
        for (index, expense) in expenses.iter_mut().enumerate() {
            expense.legacy_id = newest_expense_id - index as i32;
        }
        World {
            application,
            user,
            email: SEEDED_EMAIL.into(),
            personal_token,
            jwt_key,
            collectives,
            memberships,
            transactions,
            expenses,
        }
    }
}
