//! The `skillgraph` command: serve, migrate, mint tokens, create organizations, print the schema.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use skillgraph::clock::SystemClock;
use skillgraph::db::DEFAULT_DATABASE_URL;
use skillgraph::jwt::JwtKeys;
use skillgraph::service::viewer::OrgRole;
use skillgraph::state::Settings;
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "skillgraph",
    version,
    about = "GraphQL API that keeps a company's training in step with its org chart"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrations are applied first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArg),
    /// Print a signed token (JWT) for a user; touches no database.
    Token(TokenArgs),
    /// Create an organization with one OWNER user and print its token.
    CreateOrg(CreateOrgArgs),
    /// Import a role catalogue from a CSV file into an organization (all or nothing).
    ImportRoles(ImportRolesArgs),
    /// Print the GraphQL schema (SDL); needs no database.
    Schema,
}

#[derive(Args)]
struct DatabaseArg {
    /// `sqlite://FILE`, a plain file path, or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database: String,
}

#[derive(Args)]
struct SecretArg {
    /// HS256 secret that signs and verifies tokens.
    #[arg(
        long = "jwt-secret",
        env = "SKILLGRAPH_JWT_SECRET",
        hide_env_values = true
    )]
    jwt_secret: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SKILLGRAPH_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    database: DatabaseArg,
    /// Seed (once) and serve a demo organization; prints an admin and a learner token.
    #[arg(long, env = "SKILLGRAPH_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    demo: bool,
    #[command(flatten)]
    secret: SecretArg,
    /// Maximum query depth.
    #[arg(long, env = "SKILLGRAPH_MAX_DEPTH", default_value_t = 15)]
    max_depth: usize,
    /// Maximum query complexity: each field counts 1; a paged list (`users`, `assignments`,
    /// `members`, `auditLog`) multiplies its selection by `first` (default 50).
    #[arg(long, env = "SKILLGRAPH_MAX_COMPLEXITY", default_value_t = 10_000)]
    max_complexity: usize,
    /// Seconds before a request is abandoned.
    #[arg(long, env = "SKILLGRAPH_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// Seconds between scheduler ticks (unlocks, overdue, renewals, expiry); 0 turns it off.
    #[arg(long, env = "SKILLGRAPH_TICK_SECONDS", default_value_t = 60)]
    tick_seconds: u64,
    /// Verify tokens with this PEM public key of an identity provider (RS256 or EdDSA) instead
    /// of the shared HS256 secret.
    #[arg(long = "jwt-public-key", env = "SKILLGRAPH_JWT_PUBLIC_KEY")]
    jwt_public_key: Option<std::path::PathBuf>,
    /// The algorithm of --jwt-public-key: RS256 or EdDSA.
    #[arg(
        long = "jwt-algorithm",
        env = "SKILLGRAPH_JWT_ALGORITHM",
        default_value = "RS256"
    )]
    jwt_algorithm: String,
    /// Require this `iss` claim.
    #[arg(long = "jwt-issuer", env = "SKILLGRAPH_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// Require this `aud` claim.
    #[arg(long = "jwt-audience", env = "SKILLGRAPH_JWT_AUDIENCE")]
    jwt_audience: Option<String>,
    /// Refuse tokens that claim a longer lifetime (`exp` − `iat`): 30d, 12h, 90m, 3600s.
    #[arg(long = "max-token-ttl", env = "SKILLGRAPH_MAX_TOKEN_TTL", default_value = "30d", value_parser = skillgraph::jwt::parse_ttl)]
    max_token_ttl: i64,
    /// Sustained requests per second per user (the identity behind a token); 0 turns it off.
    #[arg(
        long = "rate-limit",
        env = "SKILLGRAPH_RATE_LIMIT",
        default_value_t = 100
    )]
    rate_limit: u32,
    /// Requests a user may send at once before the sustained rate applies.
    #[arg(
        long = "rate-limit-burst",
        env = "SKILLGRAPH_RATE_LIMIT_BURST",
        default_value_t = 200
    )]
    rate_limit_burst: u32,
    /// Turn off schema introspection (`__schema`, `__type`).
    #[arg(long = "no-introspection", env = "SKILLGRAPH_NO_INTROSPECTION", value_parser = clap::builder::BoolishValueParser::new())]
    no_introspection: bool,
    /// WebSocket connections one user may hold open at once; 0 turns the limit off.
    #[arg(
        long = "max-ws-connections",
        env = "SKILLGRAPH_MAX_WS_CONNECTIONS",
        default_value_t = 20
    )]
    max_ws_connections: usize,
    /// Operations (subscriptions) one WebSocket connection may run at once; 0 turns it off.
    #[arg(
        long = "max-subscriptions-per-connection",
        env = "SKILLGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        default_value_t = 50
    )]
    max_subscriptions_per_connection: usize,
    /// Operations one user may run at once over all their WebSocket connections; 0 turns it off.
    #[arg(
        long = "max-subscriptions-per-user",
        env = "SKILLGRAPH_MAX_SUBSCRIPTIONS_PER_USER",
        default_value_t = 200
    )]
    max_subscriptions_per_user: usize,
    /// Seconds a WebSocket may stay open before its `connection_init` (then closed with 4408).
    #[arg(
        long = "ws-init-timeout",
        env = "SKILLGRAPH_WS_INIT_TIMEOUT",
        default_value_t = 5
    )]
    ws_init_timeout: u64,
    /// Open HTTP connections the server holds at once (one more is answered 503); 0: no limit.
    #[arg(
        long = "max-connections",
        env = "SKILLGRAPH_MAX_CONNECTIONS",
        default_value_t = 10_000
    )]
    max_connections: usize,
    /// Open HTTP connections one client address holds at once; 0: no limit.
    #[arg(
        long = "max-connections-per-ip",
        env = "SKILLGRAPH_MAX_CONNECTIONS_PER_IP",
        default_value_t = 0
    )]
    max_connections_per_ip: usize,
    /// Seconds a connection may take to send its request headers, or stay idle between
    /// keep-alive requests.
    #[arg(
        long = "header-timeout",
        env = "SKILLGRAPH_HEADER_TIMEOUT",
        default_value_t = 10
    )]
    header_timeout: u64,
    /// Largest request body, in bytes (larger: 413).
    #[arg(long = "max-body-bytes", env = "SKILLGRAPH_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Largest GraphQL document (the `query` text), in bytes.
    #[arg(
        long = "max-document-bytes",
        env = "SKILLGRAPH_MAX_DOCUMENT_BYTES",
        default_value_t = 100_000
    )]
    max_document_bytes: usize,
    /// Most items in any one input list (arguments and variables).
    #[arg(
        long = "max-list-items",
        env = "SKILLGRAPH_MAX_LIST_ITEMS",
        default_value_t = 500
    )]
    max_list_items: usize,
    /// Most characters in any one text input (a CSV file excepted).
    #[arg(
        long = "max-text-chars",
        env = "SKILLGRAPH_MAX_TEXT_CHARS",
        default_value_t = 10_000
    )]
    max_text_chars: usize,
    /// Days assignment events are kept for `assignmentEvents` replays; older ones are pruned
    /// hourly (0 keeps them for ever).
    #[arg(long, env = "SKILLGRAPH_EVENT_RETENTION_DAYS", default_value_t = 90)]
    event_retention_days: u32,
    /// A bearer token `/metrics` requires; without it `/metrics` is open (for a scraper on a
    /// private network).
    #[arg(long, env = "SKILLGRAPH_METRICS_TOKEN")]
    metrics_token: Option<String>,
    /// Let a browser app on this origin call the API (CORS), e.g. `https://app.example.com`;
    /// repeat it for several, or `*` for any. Off by default.
    #[arg(
        long = "cors-origin",
        env = "SKILLGRAPH_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origin: Vec<String>,
    /// Operations one batched request (a JSON array of requests) may carry.
    #[arg(long = "max-batch", env = "SKILLGRAPH_MAX_BATCH", default_value_t = 10)]
    max_batch: usize,
    /// Documents kept for automatic persisted queries (sent once, then by their SHA-256 hash).
    #[arg(
        long = "persisted-queries",
        env = "SKILLGRAPH_PERSISTED_QUERIES",
        default_value_t = 1000
    )]
    persisted_queries: usize,
}

#[derive(Args)]
struct TokenArgs {
    #[arg(long)]
    org: Uuid,
    #[arg(long)]
    user: Uuid,
    /// OWNER, ADMIN, HR, MANAGER or LEARNER.
    #[arg(long)]
    role: String,
    #[arg(long = "ttl-hours", default_value_t = 24)]
    ttl_hours: i64,
    #[command(flatten)]
    secret: SecretArg,
}

#[derive(Args)]
struct CreateOrgArgs {
    #[arg(long)]
    name: String,
    #[command(flatten)]
    database: DatabaseArg,
    /// Email of the owner user.
    #[arg(long = "owner-email", default_value = "owner@example.com")]
    owner_email: String,
    /// Name of the owner user.
    #[arg(long = "owner-name", default_value = "Owner")]
    owner_name: String,
    #[arg(long = "ttl-hours", default_value_t = 24)]
    ttl_hours: i64,
    #[command(flatten)]
    secret: SecretArg,
}

#[derive(Args)]
struct ImportRolesArgs {
    /// The CSV file: columns name, description, category, responsibilities, skills,
    /// advances_from (see README.md).
    file: std::path::PathBuf,
    /// The organization to import into.
    #[arg(long)]
    org: Uuid,
    #[command(flatten)]
    database: DatabaseArg,
    /// Report what would be created and updated, and write nothing.
    #[arg(long = "dry-run")]
    dry_run: bool,
}

/// Draws the import's progress on stderr (hidden when stderr is not a terminal).
struct Bar(indicatif::ProgressBar);

impl skillgraph::service::role_import::Progress for Bar {
    fn stage(&self, name: &'static str, total: u64) {
        self.0.reset();
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_message(name);
    }

    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

async fn import_roles(args: ImportRolesArgs) -> Result<(), String> {
    use skillgraph::service::role_import;
    let bytes = std::fs::read(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let state = skillgraph::build_state(
        &args.database.database,
        // Importing mints no token; the keys are never used.
        JwtKeys::hs256(JwtKeys::random_secret().as_bytes()),
        Arc::new(SystemClock),
        Settings::default(),
    )
    .await
    .map_err(|e| describe(&e))?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>8} [{bar:40}] {percent:>3}% {pos}/{len}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    let bar = Bar(bar);
    let result = role_import::import_as_system(&state, args.org, &bytes, args.dry_run, &bar).await;
    bar.0.finish_and_clear();
    match result {
        Ok(r) => {
            let verb = if r.dry_run { "would be " } else { "" };
            println!("roles {verb}created: {}", r.roles_created.len());
            println!("roles {verb}updated: {}", r.roles_updated.len());
            println!("roles unchanged: {}", r.roles_unchanged.len());
            println!("skills {verb}created: {}", r.skills_created.len());
            println!("categories {verb}created: {}", r.categories_created.len());
            println!(
                "links {verb}added: {}, {verb}removed: {}",
                r.links_added, r.links_removed
            );
            if r.dry_run {
                println!("dry run: nothing was written");
            }
            Ok(())
        }
        Err(skillgraph::error::AppError::ValidationList { message, errors }) => {
            let mut out = message;
            for e in errors {
                let column = if e.column.is_empty() {
                    String::new()
                } else {
                    format!(", column {}", e.column)
                };
                out.push_str(&format!("\n  line {}{column}: {}", e.row, e.message));
            }
            Err(out)
        }
        Err(e) => Err(describe(&e)),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    skillgraph::telemetry::init();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn require_secret(secret: &SecretArg) -> Result<JwtKeys, String> {
    match secret.jwt_secret.as_deref() {
        Some(s) if !s.is_empty() => JwtKeys::hs256_checked(s.as_bytes()).map_err(|e| describe(&e)),
        _ => Err("set SKILLGRAPH_JWT_SECRET (or --jwt-secret) to sign tokens".into()),
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Schema => {
            println!("{}", skillgraph::sdl());
            Ok(())
        }
        Command::Token(args) => {
            let keys = require_secret(&args.secret)?;
            let role = OrgRole::parse(&args.role)
                .ok_or("role must be OWNER, ADMIN, HR, MANAGER or LEARNER")?;
            let token = keys
                .mint(
                    args.org,
                    args.user,
                    role,
                    chrono::Duration::hours(args.ttl_hours),
                )
                .map_err(|e| describe(&e))?;
            println!("{token}");
            Ok(())
        }
        Command::Migrate(args) => {
            let db = skillgraph::db::connect(&args.database)
                .await
                .map_err(|e| describe(&e))?;
            skillgraph::migrate(&db).await.map_err(|e| describe(&e))?;
            println!("migrations applied");
            Ok(())
        }
        Command::CreateOrg(args) => {
            let keys = require_secret(&args.secret)?;
            let state = skillgraph::build_state(
                &args.database.database,
                keys.clone(),
                Arc::new(SystemClock),
                Settings::default(),
            )
            .await
            .map_err(|e| describe(&e))?;
            let created = skillgraph::service::org::create(
                &state,
                &args.name,
                &args.owner_email,
                &args.owner_name,
            )
            .await
            .map_err(|e| describe(&e))?;
            let token = keys
                .mint(
                    created.org.id,
                    created.owner.id,
                    OrgRole::Owner,
                    chrono::Duration::hours(args.ttl_hours),
                )
                .map_err(|e| describe(&e))?;
            println!("org: {}", created.org.id);
            println!("owner: {}", created.owner.id);
            println!("owner token: {token}");
            Ok(())
        }
        Command::Serve(args) => serve(*args).await,
        Command::ImportRoles(args) => import_roles(args).await,
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let mut keys = match (
        &args.jwt_public_key,
        args.secret.jwt_secret.as_deref(),
        args.demo,
    ) {
        (Some(path), _, false) => {
            let pem =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            JwtKeys::public_key(&args.jwt_algorithm, &pem).map_err(|e| describe(&e))?
        }
        (Some(_), _, true) => {
            return Err("--demo mints its own tokens; it cannot use --jwt-public-key".into());
        }
        (None, Some(s), _) if !s.is_empty() => {
            JwtKeys::hs256_checked(s.as_bytes()).map_err(|e| describe(&e))?
        }
        (None, _, true) => JwtKeys::hs256(JwtKeys::random_secret().as_bytes()),
        _ => {
            return Err(
                "set SKILLGRAPH_JWT_SECRET (or --jwt-secret) or SKILLGRAPH_JWT_PUBLIC_KEY, or run with --demo".into(),
            );
        }
    };
    if let Some(iss) = &args.jwt_issuer {
        keys = keys.with_issuer(iss);
    }
    if let Some(aud) = &args.jwt_audience {
        keys = keys.with_audience(aud);
    }
    keys = keys.with_max_ttl(args.max_token_ttl);
    let started = std::time::Instant::now();
    let mut settings = Settings {
        max_depth: args.max_depth,
        max_complexity: args.max_complexity,
        request_timeout_secs: args.request_timeout,
        tick_seconds: args.tick_seconds,
        rate_limit_per_second: args.rate_limit,
        rate_limit_burst: args.rate_limit_burst,
        introspection: !args.no_introspection,
        max_ws_connections: args.max_ws_connections,
        max_subscriptions_per_connection: args.max_subscriptions_per_connection,
        max_subscriptions_per_user: args.max_subscriptions_per_user,
        ws_init_timeout_secs: args.ws_init_timeout,
        max_body_bytes: args.max_body_bytes,
        max_connections: args.max_connections,
        max_connections_per_ip: args.max_connections_per_ip,
        header_timeout_secs: args.header_timeout,
        max_document_bytes: args.max_document_bytes,
        max_list_items: args.max_list_items,
        max_text_chars: args.max_text_chars,
        event_retention_days: args.event_retention_days,
        metrics_token: args.metrics_token.clone(),
        cors_origins: skillgraph::http::cors::parse_origins(&args.cors_origin)?,
        max_batch: args.max_batch,
        persisted_queries: args.persisted_queries,
        ..Settings::default()
    };
    let mut state = skillgraph::build_state(
        &args.database.database,
        keys.clone(),
        Arc::new(SystemClock),
        settings.clone(),
    )
    .await
    .map_err(|e| describe(&e))?;
    if args.demo {
        let demo = skillgraph::demo::ensure(&state)
            .await
            .map_err(|e| describe(&e))?;
        let ttl = chrono::Duration::days(7);
        let admin = keys
            .mint(demo.org_id, demo.admin_id, OrgRole::Admin, ttl)
            .map_err(|e| describe(&e))?;
        let learner = keys
            .mint(demo.org_id, demo.learner_id, OrgRole::Learner, ttl)
            .map_err(|e| describe(&e))?;
        println!("demo organization: {} ({})", demo.org_name, demo.org_id);
        println!("admin token: {admin}");
        println!("learner token: {learner}");
        settings.demo_token = Some(admin);
        state.settings = Arc::new(settings);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, ready_ms = started.elapsed().as_millis() as u64, "skillgraph ready");
    println!(
        "skillgraph listening on http://{addr}/ (GraphiQL), GraphQL at http://{addr}/graphql (subscriptions: ws://{addr}/graphql)"
    );
    skillgraph::serve(listener, state, skillgraph::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

fn describe(err: &skillgraph::error::AppError) -> String {
    match err {
        skillgraph::error::AppError::Internal(cause) => cause.clone(),
        other => other.message(),
    }
}
