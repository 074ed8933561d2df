//! `datalinks`: the app's use cases from a terminal, over the same crates and the same data
//! folder and keyring as the desktop app. Never prints a token or a client secret of a real
//! provider.

mod audit;
mod departures;
mod oh;

use clap::{Parser, Subcommand};
use datalinks_core::{
    ConnectionId, ConnectionsOverview, Error, ErrorCode, Provider, RegistrationId, Result,
    SignInState, SignInTarget, Transport, APP_IDENTIFIER,
};
use datalinks_service::{
    Datalinks, Host, OcPage, OcSection, ProviderDefaults, ProviderOptions, ProviderSettingsInput,
    ServiceEvent,
};
use datalinks_vault::KeyringStore;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(
    name = "datalinks",
    version,
    about = "Manage your personal data connections"
)]
struct Cli {
    /// Folder holding Datalinks' database (default: the desktop app's data folder).
    #[arg(long, env = "DATALINKS_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show each connection and its state (never secrets).
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Connect an account: opens the sign-in page in the system browser and waits for the
    /// redirect on a loopback port.
    Connect {
        /// openhumans or opencollective.
        #[arg(value_parser = provider_arg)]
        provider: Provider,
        #[command(flatten)]
        credentials: Credentials,
        /// Use the built-in sandbox instead of a real server.
        #[arg(long, conflicts_with_all = ["base_url", "client_id", "client_secret", "api_url", "loopback_port"])]
        sandbox: bool,
    },
    /// A researcher's Open Humans project, over its master token.
    Oh(oh::OhCommand),
    /// Open Collective: the connected account.
    Oc {
        #[command(subcommand)]
        command: OcCommand,
        #[command(flatten)]
        account: AccountArg,
    },
    /// Human API: the linked person's data.
    Hapi {
        #[command(subcommand)]
        command: HapiCommand,
        #[command(flatten)]
        account: AccountArg,
    },
    /// Run the provider sandbox until interrupted.
    Sandbox(SandboxArgs),
    /// The requests Datalinks made on your behalf, newest first: when, for whom, which action,
    /// the host and path (never a token, a code or a body), the status, sizes and duration.
    Audit(audit::AuditArgs),
}

/// Which of a provider's connections a command uses, when there are several.
#[derive(clap::Args)]
struct AccountArg {
    /// The account: its id, its username, or the connection number `datalinks status` shows.
    #[arg(long, global = true)]
    account: Option<String>,
}

#[derive(Subcommand)]
enum HapiCommand {
    /// The sources linked in Human API Connect, with how far Human API got syncing each.
    Sources {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum OcCommand {
    /// Who the connected account is, and its memberships, transactions and expenses.
    Me {
        #[arg(long)]
        json: bool,
    },
}

/// The sandbox's world: the defaults are a small one; benchmarks ask for a large one.
#[derive(clap::Args)]
struct SandboxArgs {
    /// Open Humans' port; Open Collective and Human API take the next two unless given.
    #[arg(long, default_value_t = 8765)]
    port: u16,
    #[arg(long)]
    oc_port: Option<u16>,
    #[arg(long)]
    hapi_port: Option<u16>,
    /// The one callback URL of the Open Collective sandbox's app, as a developer registers it
    /// (for `datalinks connect` on a fixed port: `http://127.0.0.1:<port>/callback`).
    #[arg(long, default_value = "datalinks://oauth/callback")]
    oc_callback_url: String,
    /// Members of the seeded project (alice is the first).
    #[arg(long)]
    members: Option<usize>,
    #[arg(long)]
    files_per_member: Option<usize>,
    /// Generate every file with this many bytes (content made on the fly, never held whole).
    #[arg(long)]
    file_size: Option<u64>,
    /// Skip computing an md5 for each seeded file's metadata (saves a pass over large files).
    #[arg(long)]
    no_md5: bool,
    /// Delay every answer by this many milliseconds, like a server across the internet.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

/// A provider named by its key, as `datalinks status --json` spells it.
fn provider_arg(key: &str) -> std::result::Result<Provider, String> {
    Provider::from_key(key).ok_or_else(|| {
        let keys: Vec<&str> = Provider::ALL.iter().map(|p| p.key()).collect();
        format!("not a provider; one of {}", keys.join(", "))
    })
}

/// Project credentials for scripted use; when given they replace the stored settings. Each
/// flag may come from the provider's environment instead: `DATALINKS_OH_BASE_URL`,
/// `DATALINKS_OH_CLIENT_ID`, `DATALINKS_OH_CLIENT_SECRET` for Open Humans, `DATALINKS_OC_…` for
/// Open Collective (also `DATALINKS_OC_API_URL` and `DATALINKS_OC_LOOPBACK_PORT`).
#[derive(clap::Args)]
struct Credentials {
    #[arg(long)]
    base_url: Option<String>,
    #[arg(long)]
    client_id: Option<String>,
    /// Prefer the environment variable: command lines are visible to other users.
    #[arg(long)]
    client_secret: Option<String>,
    /// Open Collective: the API host (token endpoint and GraphQL), when not the default.
    #[arg(long)]
    api_url: Option<String>,
    /// Open Collective: the port of the loopback callback registered with the app.
    #[arg(long)]
    loopback_port: Option<u16>,
}

impl Credentials {
    /// Fills what no flag gave from `lookup` of the provider's variables.
    fn or_env(self, provider: Provider, lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let prefix = ProviderDefaults::of(provider).env_prefix;
        let env = |name: &str| lookup(&format!("{prefix}_{name}")).filter(|v| !v.is_empty());
        let loopback_port = match (self.loopback_port, env("LOOPBACK_PORT")) {
            (Some(port), _) => Some(port),
            (None, Some(text)) => Some(text.parse().map_err(|_| {
                Error::invalid_input(format!(
                    "{prefix}_LOOPBACK_PORT is not a port number (1–65535): {text:?}"
                ))
            })?),
            (None, None) => None,
        };
        Ok(Credentials {
            base_url: self.base_url.or_else(|| env("BASE_URL")),
            client_id: self.client_id.or_else(|| env("CLIENT_ID")),
            client_secret: self.client_secret.or_else(|| env("CLIENT_SECRET")),
            api_url: self.api_url.or_else(|| env("API_URL")),
            loopback_port,
        })
    }

    fn is_empty(&self) -> bool {
        self.base_url.is_none()
            && self.client_id.is_none()
            && self.client_secret.is_none()
            && self.api_url.is_none()
            && self.loopback_port.is_none()
    }
}

/// Prints what happens and forwards how sign-ins end to the waiting command.
struct TerminalHost {
    sign_ins: mpsc::UnboundedSender<(RegistrationId, Result<ConnectionId>)>,
}

impl Host for TerminalHost {
    fn open_in_browser(&self, url: &str) -> Result<()> {
        eprintln!("Opening your browser. If nothing opens, visit:\n  {url}");
        open::that_detached(url)
            .map_err(|e| Error::internal(format!("Could not open the system browser ({e}).")))
    }

    fn emit(&self, event: ServiceEvent) {
        match event {
            ServiceEvent::SignInEnded {
                registration,
                outcome,
            } => {
                let _ = self.sign_ins.send((registration, outcome));
            }
            ServiceEvent::ConnectionsChanged(_) | ServiceEvent::DeparturesChanged => {}
            ServiceEvent::Notice(error) => eprintln!("notice: {error}"),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The folder given, else the desktop app's data folder.
fn data_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    given
        .or_else(|| dirs::data_dir().map(|d| d.join(APP_IDENTIFIER)))
        .ok_or_else(|| Error::internal("No data folder: set DATALINKS_DATA_DIR."))
}

async fn run(cli: Cli) -> Result<()> {
    let command = match cli.command {
        Command::Sandbox(args) => return run_sandbox(args).await,
        Command::Oh(command) => return oh::run(command, data_dir(cli.data_dir)).await,
        other => other,
    };
    let data_dir = data_dir(cli.data_dir)?;
    let (sign_ins, mut ended) = mpsc::unbounded_channel();
    let service = Datalinks::open(
        &data_dir,
        Arc::new(KeyringStore::new()),
        Arc::new(TerminalHost { sign_ins }),
    )?;
    match command {
        Command::Status { json } => print_status(&service.list_connections().await?, json),
        Command::Connect {
            provider,
            credentials,
            sandbox,
        } => {
            if sandbox {
                service.start_sandbox().await?;
            } else {
                let credentials = credentials.or_env(provider, |name| std::env::var(name).ok())?;
                apply_credentials(&service, provider, credentials).await?;
            }
            let registration = service.sign_in_registration(provider, sandbox)?;
            service
                .connect(
                    SignInTarget::NewAccount { registration },
                    Some(Transport::Loopback),
                )
                .await?;
            wait_for_outcome(&service, registration, &mut ended).await
        }
        Command::Oc {
            command: OcCommand::Me { json },
            account,
        } => {
            let connection = select(&service, Provider::OpenCollective, &account).await?;
            print_oc_me(&service, connection, json).await
        }
        Command::Hapi {
            command: HapiCommand::Sources { json },
            account,
        } => {
            let connection = select(&service, Provider::HumanApi, &account).await?;
            print_hapi_sources(&service, connection, json).await
        }
        Command::Audit(args) => audit::print_audit(&service, args).await,
        Command::Sandbox(_) | Command::Oh(_) => unreachable!("handled above"),
    }
}

async fn apply_credentials(
    service: &Arc<Datalinks>,
    provider: Provider,
    given: Credentials,
) -> Result<()> {
    if given.is_empty() {
        return Ok(());
    }
    let stored = service.provider_settings(provider).await?.own;
    let mut options = stored
        .as_ref()
        .map(|s| s.options.clone())
        .unwrap_or_else(|| ProviderOptions::default_for(provider));
    options.set_addresses(given.api_url, given.loopback_port)?;
    let input = ProviderSettingsInput {
        client_id: given
            .client_id
            .or_else(|| stored.as_ref().map(|s| s.client_id.clone()))
            .unwrap_or_default(),
        client_secret: given.client_secret,
        base_url: given
            .base_url
            .or_else(|| stored.as_ref().map(|s| s.base_url.clone()))
            .unwrap_or_else(|| ProviderDefaults::of(provider).base_url.to_owned()),
        transport: Transport::Loopback,
        personal_token: None,
        options,
    };
    service
        .save_provider_settings(provider, input)
        .await
        .map(|_| ())
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`datalinks status | head -1`) would
/// panic; like other command-line tools, end quietly instead.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: signal(2) only sets the process's disposition for SIGPIPE, and SIG_DFL runs no
    // handler code of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Waits until the sign-in through `registration` ends, and prints the connection it made.
async fn wait_for_outcome(
    service: &Datalinks,
    registration: RegistrationId,
    ended: &mut mpsc::UnboundedReceiver<(RegistrationId, Result<ConnectionId>)>,
) -> Result<()> {
    eprintln!("Waiting for you in your browser… (Ctrl-C cancels)");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                service.cancel_connect(registration).await?;
                return Err(Error::new(ErrorCode::Cancelled, "Cancelled."));
            }
            event = ended.recv() => {
                let Some((from, outcome)) = event else {
                    return Err(Error::internal("the service stopped"));
                };
                if from != registration {
                    continue;
                }
                let connection = outcome?;
                let overview = service.list_connections().await?;
                print_connections(&overview, |c| c.id == connection);
                return Ok(());
            }
        }
    }
}

/// The connection of `provider` a command uses: the only one, or the one `--account` names.
async fn select(
    service: &Datalinks,
    provider: Provider,
    account: &AccountArg,
) -> Result<ConnectionId> {
    let overview = service.list_connections().await?;
    let candidates: Vec<_> = overview
        .connections()
        .filter(|c| c.provider == provider)
        .collect();
    let describe = |c: &&datalinks_core::ConnectionView| {
        let name = c
            .account
            .username
            .as_deref()
            .unwrap_or(&c.account.account_id);
        let sandbox = if c.registration.sandbox {
            ", sandbox"
        } else {
            ""
        };
        format!("{name} (connection {}{sandbox})", c.id)
    };
    let listed = || {
        candidates
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &account.account {
        Some(wanted) => candidates
            .iter()
            .find(|c| {
                c.account.account_id == *wanted
                    || c.account.username.as_deref() == Some(wanted.as_str())
                    || c.id.to_string() == *wanted
            })
            .map(|c| c.id)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::NotFound,
                    format!(
                        "No {provider} connection is {wanted:?}. Connected: {}.",
                        listed()
                    ),
                )
            }),
        None => match candidates.as_slice() {
            [only] => Ok(only.id),
            [] => Err(Error::new(
                ErrorCode::NotConfigured,
                format!("No {provider} account is connected: run `datalinks connect` first."),
            )),
            _ => Err(Error::invalid_input(format!(
                "{} {provider} accounts are connected; choose one with --account: {}.",
                candidates.len(),
                listed()
            ))),
        },
    }
}

async fn print_oc_me(service: &Arc<Datalinks>, connection: ConnectionId, json: bool) -> Result<()> {
    let overview = service.oc_overview(connection).await?;
    if json {
        let text =
            serde_json::to_string_pretty(&overview).map_err(|e| Error::internal(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    let account = &overview.account;
    println!(
        "{} (@{})",
        account.name.as_deref().unwrap_or(&account.slug),
        account.slug
    );
    if let Some(email) = &account.email {
        println!("  email: {email}");
    }
    let credential = if account.personal_token {
        "personal token"
    } else {
        "OAuth"
    };
    println!("  connected with: {credential}");
    if let Some(memberships) = print_section("memberships", &overview.memberships) {
        for membership in &memberships.nodes {
            println!("    {} of {}", membership.role, membership.collective.slug);
        }
    }
    print_section("transactions", &overview.transactions);
    print_section("expenses", &overview.expenses);
    Ok(())
}

/// A collection's count, or why it could not be loaded; the page when it was.
fn print_section<'a, T>(name: &str, section: &'a OcSection<T>) -> Option<&'a OcPage<T>> {
    match section {
        OcSection::Loaded { page } => {
            println!("  {name}: {}", page.total_count);
            Some(page)
        }
        OcSection::Failed { error } => {
            println!("  {name}: could not be loaded: {}", error.message);
            None
        }
    }
}

async fn print_hapi_sources(
    service: &Arc<Datalinks>,
    connection: ConnectionId,
    json: bool,
) -> Result<()> {
    let sources = service.hapi_sources(connection).await?;
    if json {
        let text =
            serde_json::to_string_pretty(&sources).map_err(|e| Error::internal(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    if sources.is_empty() {
        println!("No source is connected in Human API.");
    }
    for source in &sources {
        let synched = source
            .synched_at
            .as_deref()
            .map(|at| format!(", last synced {at}"))
            .unwrap_or_default();
        println!(
            "{} ({}): connected since {}, sync {}{synched}",
            source.name, source.id, source.connected_since, source.sync_status
        );
    }
    Ok(())
}

fn print_status(overview: &ConnectionsOverview, json: bool) -> Result<()> {
    if json {
        let text =
            serde_json::to_string_pretty(overview).map_err(|e| Error::internal(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    for provider in &overview.providers {
        if provider.sign_ins.is_empty() && provider.connections.is_empty() {
            println!("{}: not set up", provider.provider);
        }
        for sign_in in &provider.sign_ins {
            if let SignInState::Waiting { .. } | SignInState::ConnectWindowOpen { .. } =
                sign_in.state
            {
                let sandbox = if sign_in.registration.sandbox {
                    " [sandbox]"
                } else {
                    ""
                };
                println!("{}{sandbox}: signing in", provider.provider);
            }
            if let Some(error) = &sign_in.last_error {
                println!("{}: last sign-in problem: {error}", provider.provider);
            }
        }
    }
    print_connections(overview, |_| true);
    println!("secrets: {}", overview.secret_location);
    Ok(())
}

/// One block per connection that `shown` picks.
fn print_connections(
    overview: &ConnectionsOverview,
    shown: impl Fn(&datalinks_core::ConnectionView) -> bool,
) {
    for view in overview.connections().filter(|c| shown(c)) {
        let state = serde_json::to_value(&view.state).ok();
        let kind = state
            .as_ref()
            .and_then(|s| s["kind"].as_str())
            .unwrap_or("unknown");
        let sandbox = if view.registration.sandbox {
            " [sandbox]"
        } else {
            ""
        };
        let earlier = if view.registration.retired {
            " [earlier setup]"
        } else {
            ""
        };
        println!(
            "{}{sandbox}{earlier}: {kind} (connection {})",
            view.provider, view.id
        );
        let username = view
            .account
            .username
            .as_deref()
            .map(|u| format!(" ({u})"))
            .unwrap_or_default();
        println!("  account: {}{username}", view.account.account_id);
        println!("  server: {}", view.registration.server);
        if let Some(expires_at) = view.token_expires_at {
            println!("  access token expires: {} (unix seconds)", expires_at);
        }
        if let Some(error) = &view.last_error {
            println!("  last error: {error}");
        }
    }
}

/// The three provider sandboxes, each on its own port like a separate host.
struct StandaloneSandboxes {
    open_humans: datalinks_sandbox::RunningSandbox,
    open_collective: datalinks_sandbox::opencollective::RunningOpenCollective,
    human_api: datalinks_sandbox::humanapi::RunningHumanApi,
}

impl StandaloneSandboxes {
    async fn start(args: SandboxArgs) -> Result<Self> {
        // Port 0 picks free ports for all three.
        let next = |offset: u16| {
            if args.port == 0 {
                0
            } else {
                args.port.saturating_add(offset)
            }
        };
        let at = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let failed = |name: &'static str, port: u16| {
            move |e: std::io::Error| {
                Error::internal(format!(
                    "The {name} sandbox could not start on port {port}: {e}"
                ))
            }
        };
        let defaults = datalinks_sandbox::SandboxConfig::default();
        let config = datalinks_sandbox::SandboxConfig {
            member_count: args.members.unwrap_or(defaults.member_count),
            files_per_member: args.files_per_member.unwrap_or(defaults.files_per_member),
            file_size_bytes: args.file_size,
            seeded_md5: !args.no_md5,
            faults: datalinks_sandbox::Faults {
                latency: std::time::Duration::from_millis(args.latency_ms),
                ..Default::default()
            },
            ..defaults
        };
        let open_humans = datalinks_sandbox::start(config, at(args.port))
            .await
            .map_err(failed("Open Humans", args.port))?;
        let oc_port = args.oc_port.unwrap_or_else(|| next(1));
        let open_collective = datalinks_sandbox::opencollective::start(
            datalinks_sandbox::opencollective::OpenCollectiveConfig {
                callback_url: args.oc_callback_url,
                ..Default::default()
            },
            at(oc_port),
        )
        .await
        .map_err(failed("Open Collective", oc_port))?;
        let hapi_port = args.hapi_port.unwrap_or_else(|| next(2));
        let human_api = datalinks_sandbox::humanapi::start(Default::default(), at(hapi_port))
            .await
            .map_err(failed("Human API", hapi_port))?;
        Ok(Self {
            open_humans,
            open_collective,
            human_api,
        })
    }

    /// What a developer needs to point Datalinks (or anything else) at them. These are the
    /// sandboxes' own test credentials, not a real provider's.
    fn describe(&self) -> String {
        let (oh, oc, hapi) = (&self.open_humans, &self.open_collective, &self.human_api);
        let admin = datalinks_sandbox::ADMIN_KEY_HEADER;
        format!(
            "Open Humans sandbox at {}\n  client id:     {}\n  client secret: {}\n  master token:  {}\n  admin key:     {} (header {admin} on /_sandbox/…)\n  sign in as:    {} / {}\n\
             Open Collective sandbox at {} (website and API)\n  client id:     {}\n  client secret: {}\n  callback URL:  {}\n  personal token: {}\n  admin key:     {} (header {admin} on /_sandbox/…)\n  sign in as:    {} / {}\n\
             Human API sandbox at {} (auth), data API {}\n  client id:     {}\n  client secret: {}\n  admin key:     {} (header {admin} on /_sandbox/…)",
            oh.base_url(),
            oh.client_id(),
            oh.client_secret(),
            oh.master_access_token(),
            oh.admin_key(),
            datalinks_sandbox::SEEDED_USERNAME,
            datalinks_sandbox::SEEDED_PASSWORD,
            oc.base_url(),
            oc.client_id(),
            oc.client_secret(),
            oc.registered_callback_url(),
            oc.personal_token(),
            oc.admin_key(),
            datalinks_sandbox::opencollective::SEEDED_SLUG,
            datalinks_sandbox::opencollective::SEEDED_PASSWORD,
            hapi.base_url(),
            hapi.data_api_url(),
            hapi.client_id(),
            hapi.client_secret(),
            hapi.admin_key(),
        )
    }

    async fn shutdown(self) {
        self.open_humans.shutdown().await;
        self.open_collective.shutdown().await;
        self.human_api.shutdown().await;
    }
}

async fn run_sandbox(args: SandboxArgs) -> Result<()> {
    let sandboxes = StandaloneSandboxes::start(args).await?;
    println!("{}", sandboxes.describe());
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Error::internal(e.to_string()))?;
    sandboxes.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(client_id: Option<&str>) -> Credentials {
        Credentials {
            base_url: None,
            client_id: client_id.map(str::to_owned),
            client_secret: None,
            api_url: None,
            loopback_port: None,
        }
    }

    #[test]
    fn credentials_come_from_the_providers_own_environment_after_the_flags() {
        let env = |name: &str| match name {
            "DATALINKS_OH_CLIENT_ID" => Some("oh-id".to_owned()),
            "DATALINKS_OH_CLIENT_SECRET" => Some("oh-secret".to_owned()),
            "DATALINKS_OC_CLIENT_ID" => Some("oc-id".to_owned()),
            "DATALINKS_OC_BASE_URL" => Some(String::new()),
            "DATALINKS_OC_API_URL" => Some("http://127.0.0.1:3060".to_owned()),
            "DATALINKS_OC_LOOPBACK_PORT" => Some("8123".to_owned()),
            _ => None,
        };
        let oc = given(None).or_env(Provider::OpenCollective, env).unwrap();
        assert_eq!(oc.api_url.as_deref(), Some("http://127.0.0.1:3060"));
        assert_eq!(oc.loopback_port, Some(8123));
        assert_eq!(oc.client_id.as_deref(), Some("oc-id"));
        assert_eq!(oc.client_secret, None, "never another provider's secret");
        assert_eq!(oc.base_url, None, "an empty variable counts as unset");
        let oh = given(Some("flag-id"))
            .or_env(Provider::OpenHumans, env)
            .unwrap();
        assert_eq!(oh.client_id.as_deref(), Some("flag-id"));
        assert_eq!(oh.client_secret.as_deref(), Some("oh-secret"));
        assert_eq!(oh.loopback_port, None, "never another provider's port");
    }

    #[test]
    fn a_loopback_port_variable_that_is_no_port_is_refused() {
        for text in ["0x50", "65536", "-1", "80 "] {
            let env = |name: &str| (name == "DATALINKS_OC_LOOPBACK_PORT").then(|| text.to_owned());
            let Err(err) = given(None).or_env(Provider::OpenCollective, env) else {
                panic!("{text:?} was taken as a port")
            };
            assert!(
                err.message.contains("DATALINKS_OC_LOOPBACK_PORT"),
                "{}",
                err.message
            );
        }
    }
}
