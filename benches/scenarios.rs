//! The performance scenarios of `PERFORMANCE.md`, one harness: `cargo bench --bench scenarios`
//! runs them all, `cargo bench --bench scenarios -- P6 P10` selects by id. Each scenario prints
//! its progress, then the harness prints one table row per figure: the figure, the reference
//! measured in the same run, their ratio, the target and whether it is met.
//!
//! Method:
//!
//! * **Data.** The standard big org is seeded into a fresh SQLite file in a temporary directory:
//!   the real migrations run through `skillgraph::build_state`, the organization and its owner
//!   come from `service::org::create`, and everything else is bulk-inserted with multi-row SQL
//!   `INSERT`s (literal values, 1,000 rows a statement) in one transaction, not through the API.
//!   `SKILLGRAPH_BENCH_USERS` shrinks it for a quick run (default 100,000 users).
//! * **Rounds.** Subject and reference alternate (reference first in odd rounds, subject first in
//!   even ones) over `SKILLGRAPH_BENCH_ROUNDS` rounds (default 3); the table shows the medians and
//!   the median of the per-round ratios.
//! * **Placement.** Server and load generator run in this process on two tokio runtimes whose
//!   threads are pinned (`sched_setaffinity`) to disjoint cores: the last allowed core for the
//!   load generator, the others for the server (and the SQLite worker threads it starts, which
//!   inherit the affinity of the runtime thread that opens them). `SKILLGRAPH_BENCH_PIN=0` turns
//!   pinning off. Child processes (P10) are started from the unpinned main thread.
//! * **HTTP load.** One tool for both sides of a ratio: `SKILLGRAPH_BENCH_CONNECTIONS`
//!   (default 32) keep-alive HTTP/1.1 connections (hyper's client connection, one request in
//!   flight each) for `SKILLGRAPH_BENCH_SECS` seconds (default 3) per side per round. A response
//!   counts only if it is `200` with exactly the expected bytes; GraphQL errors in bodies and
//!   other failures are counted and fail the row.
//! * **SQL statements.** sqlx logs every statement it executes as a `tracing` event with target
//!   `sqlx::query` (DEBUG unless slow; the SQLite pools of `skillgraph::db` keep sqlx's default
//!   logging on). The bench installs a global subscriber that counts exactly those events while a
//!   flag is set, and is otherwise disabled at the call site (no formatting, no other events), so
//!   throughput runs pay one atomic load per statement. Counting is done with sequential requests
//!   on an otherwise idle server.
//!
//! Scenarios are plain functions `fn(&mut Env) -> Vec<Row>` listed in `SCENARIOS`; the shared
//! big org is seeded on first use (`Env::big_org`), so later scenarios (P1–P5, P7–P9) reuse it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use skillgraph::state::AppState;
use uuid::Uuid;

/// Signs the tokens of the in-process servers and of the P10 child processes.
const JWT_SECRET: &str = "skillgraph-bench-secret-0123456789abcdef0123456789abcdef";

/// A scenario: an id to select it by, a title for the log, and the function that measures it.
struct Scenario {
    id: &'static str,
    title: &'static str,
    run: fn(&mut Env) -> Vec<Row>,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        id: "P1",
        title: "one addMembership into a group whose rule assigns 10 courses",
        run: engine_bench::join_group,
    },
    Scenario {
        id: "P2",
        title: "updateRule adds a course for the whole organization; preview (P3) and re-run",
        run: engine_bench::policy_change,
    },
    Scenario {
        id: "P6",
        title: "GraphQL over HTTP on loopback vs a bare axum handler",
        run: p6::run,
    },
    Scenario {
        id: "P4",
        title: "complianceReport for the root group: now, as of a past date, first page",
        run: compliance_bench::report,
    },
    Scenario {
        id: "P10",
        title: "cold start to ready, memory at idle",
        run: p10::run,
    },
];

fn main() {
    stmt_count::install();
    // `cargo bench` passes `--bench`; every other argument is a scenario id.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.to_ascii_uppercase())
        .collect();
    let selected: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| wanted.is_empty() || wanted.iter().any(|w| w == s.id))
        .collect();
    if selected.is_empty() {
        let known: Vec<&str> = SCENARIOS.iter().map(|s| s.id).collect();
        eprintln!(
            "no scenario matches {wanted:?}; known: {}",
            known.join(", ")
        );
        std::process::exit(2);
    }
    let mut env = Env::new(Config::from_env());
    let mut rows = Vec::new();
    for scenario in selected {
        println!(
            "\n== {} — {} (load average {})",
            scenario.id,
            scenario.title,
            load_average()
        );
        rows.extend((scenario.run)(&mut env));
    }
    println!();
    table::print(&rows);
}

/// Knobs, from `SKILLGRAPH_BENCH_*` variables.
struct Config {
    users: usize,
    seconds: Duration,
    connections: usize,
    rounds: usize,
    pin: bool,
}

impl Config {
    fn from_env() -> Config {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={v} is not a valid value")),
                Err(_) => default,
            }
        }
        Config {
            users: var("SKILLGRAPH_BENCH_USERS", 100_000usize).max(1),
            seconds: Duration::from_secs_f64(var("SKILLGRAPH_BENCH_SECS", 3.0f64)),
            connections: var("SKILLGRAPH_BENCH_CONNECTIONS", 32usize).max(1),
            rounds: var("SKILLGRAPH_BENCH_ROUNDS", 3usize).max(1),
            pin: var("SKILLGRAPH_BENCH_PIN", 1u8) != 0,
        }
    }
}

/// What scenarios share: the configuration, a temporary directory for databases, the server and
/// load-generator runtimes, and the big org once seeded.
struct Env {
    cfg: Config,
    dir: tempfile::TempDir,
    server_rt: tokio::runtime::Runtime,
    client_rt: tokio::runtime::Runtime,
    big: Option<seed::Org>,
    /// Whether the big org has its learning history (`seed::learning`) yet.
    learning: bool,
}

impl Env {
    fn new(cfg: Config) -> Env {
        let allowed = affinity::allowed();
        let pinned = cfg.pin && allowed.len() >= 2;
        let (server_cpus, client_cpus) = if pinned {
            let (server, client) = allowed.split_at(allowed.len() - 1);
            (server.to_vec(), client.to_vec())
        } else {
            (allowed.clone(), allowed.clone())
        };
        println!(
            "placement: {} (server cores {:?}, load generator cores {:?}); {} connections, {:.1} s per side per round, {} rounds; \
             load average {}",
            if pinned { "pinned" } else { "not pinned" },
            server_cpus,
            client_cpus,
            cfg.connections,
            cfg.seconds.as_secs_f64(),
            cfg.rounds,
            load_average()
        );
        Env {
            server_rt: runtime("bench-server", &server_cpus, pinned),
            client_rt: runtime("bench-client", &client_cpus, pinned),
            dir: {
                let mut dir = tempfile::Builder::new()
                    .prefix("skillgraph-bench-")
                    .tempdir()
                    .expect("cannot create a temporary directory");
                // SKILLGRAPH_BENCH_KEEP=1 leaves the databases behind for inspection.
                if std::env::var_os("SKILLGRAPH_BENCH_KEEP").is_some() {
                    dir.disable_cleanup(true);
                    println!("keeping the bench databases in {}", dir.path().display());
                }
                dir
            },
            cfg,
            big: None,
            learning: false,
        }
    }

    /// Runs `f` as a task of the server runtime (on its pinned threads) and waits for it.
    fn on_server<F>(&self, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.server_rt
            .block_on(self.server_rt.spawn(f))
            .expect("a server-side task panicked")
    }

    /// Runs `f` as a task of the load-generator runtime and waits for it.
    fn on_client<F>(&self, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.client_rt
            .block_on(self.client_rt.spawn(f))
            .expect("a load-generator task panicked")
    }

    /// The standard big org (seeded on first use, then shared by every scenario).
    fn big_org(&mut self) -> seed::Org {
        if self.big.is_none() {
            let org = self.seed_org("big", self.cfg.users);
            self.big = Some(org);
        }
        self.big.clone().expect("seeded above")
    }

    /// The big org with its learning history: about ten assignments per user, completions and
    /// compliance summaries (the engine and compliance scenarios run on it).
    fn learning_org(&mut self) -> seed::Org {
        let org = self.big_org();
        if !self.learning {
            let seeded = org.clone();
            self.on_server(async move { seed::learning(&seeded).await });
            self.learning = true;
        }
        org
    }

    /// A fresh database with an org of `users` users, in the shape of the big org.
    fn seed_org(&self, label: &str, users: usize) -> seed::Org {
        let path = self.dir.path().join(format!("{label}.db"));
        let label = label.to_string();
        self.on_server(async move { seed::org(&path, &label, users).await })
    }
}

fn runtime(name: &str, cpus: &[usize], pin: bool) -> tokio::runtime::Runtime {
    let cpus: Arc<Vec<usize>> = Arc::new(cpus.to_vec());
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(cpus.len().max(1))
        .thread_name(name)
        .enable_all();
    if pin {
        builder.on_thread_start(move || affinity::pin_current_thread(&cpus));
    }
    builder.build().expect("cannot build a tokio runtime")
}

/// The 1-minute load average (a shared machine's noise shows here), if the system tells.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "median of nothing");
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// `12345.6` → `"12,346"`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seeding the big org with bulk SQL.
mod seed {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;

    use chrono::NaiveDate;
    use sea_orm::{ConnectionTrait, TransactionTrait};
    use skillgraph::clock::SystemClock;
    use skillgraph::jwt::JwtKeys;
    use skillgraph::service::viewer::OrgRole;
    use skillgraph::state::Settings;

    use super::*;

    /// Groups in the tree, and its depth (levels, the root included).
    pub const GROUPS: usize = 1_000;
    pub const GROUP_DEPTH: usize = 5;
    /// Rows per `INSERT` statement.
    const BATCH: usize = 1_000;

    const ROLES: [&str; 8] = [
        "Sales Representative",
        "Warehouse Associate",
        "Warehouse Supervisor",
        "Accountant",
        "Customer Success Manager",
        "Software Engineer",
        "Store Associate",
        "Store Manager",
    ];
    const LEVELS: [&str; GROUP_DEPTH] = ["Company", "Division", "Department", "Team", "Squad"];
    const DEPARTMENTS: [&str; 6] = [
        "Sales",
        "Warehouse",
        "Finance",
        "Customer Success",
        "Engineering",
        "Stores",
    ];
    const LOCATIONS: [&str; 5] = ["New York", "Austin", "Chicago", "Gary", "Remote"];
    const FIRST: [&str; 20] = [
        "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "Lucas", "Mia", "Mateo",
        "Amelia", "Levi", "Harper", "Ezra", "Evelyn", "Luca", "Abigail", "Asher", "Priya", "Kenji",
    ];
    const LAST: [&str; 20] = [
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Garcia",
        "Miller",
        "Davis",
        "Martinez",
        "Hernandez",
        "Lopez",
        "Gonzalez",
        "Wilson",
        "Anderson",
        "Thomas",
        "Taylor",
        "Moore",
        "Jackson",
        "Nguyen",
        "Patel",
    ];

    /// A seeded organization and a running `AppState` on its database.
    #[derive(Clone)]
    pub struct Org {
        /// Seeded users, the owner excluded.
        pub users: usize,
        pub state: AppState,
        pub org_id: Uuid,
        pub owner_id: Uuid,
        /// An OWNER token of the owner (sees everyone).
        pub owner_token: String,
    }

    /// Migrates a fresh database at `path`, creates the organization through the service, then
    /// bulk-inserts 8 roles, a 5-deep tree of 1,000 groups with its closure, `users` users (two
    /// attributes each, in `users.attributes` and `user_attributes`, a primary role) and one
    /// current membership per user in a bottom-level group. The owner is a member of the root.
    pub async fn org(path: &Path, label: &str, users: usize) -> Org {
        let started = Instant::now();
        let url = path.to_str().expect("the temporary path is not UTF-8");
        let state = skillgraph::build_state(
            url,
            JwtKeys::hs256(JWT_SECRET.as_bytes()),
            Arc::new(SystemClock),
            Settings::default(),
        )
        .await
        .expect("cannot open and migrate the bench database");
        let created = skillgraph::service::org::create(
            &state,
            &format!("Bench {label}"),
            "owner@bench.example",
            "Olive Owner",
        )
        .await
        .expect("cannot create the bench organization");
        let (org_id, owner_id) = (created.org.id, created.owner.id);
        let now = state.clock.now().timestamp_micros();
        // Build every statement first (plain code), then run them in one transaction.
        let (statements, levels) = statements(org_id, owner_id, users, now);
        let tx = state
            .db
            .write
            .begin()
            .await
            .expect("cannot begin the seeding transaction");
        for sql in &statements {
            tx.execute_unprepared(sql)
                .await
                .unwrap_or_else(|e| panic!("seeding failed: {e}\n{}", &sql[..sql.len().min(300)]));
        }
        tx.commit().await.expect("cannot commit the seed");
        // The server's writer never checkpoints on commit (a background loop does); fold the
        // seed's WAL into the database so readers start from a clean file.
        state
            .db
            .write
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .expect("cannot checkpoint the seed");
        verify(&state, org_id, users).await;

        let owner_token = state
            .jwt
            .mint(
                org_id,
                owner_id,
                OrgRole::Owner,
                chrono::Duration::hours(24),
            )
            .expect("cannot mint the owner token");
        println!(
            "seeded org '{label}': {} users, {GROUPS} groups {GROUP_DEPTH} deep (levels {levels:?}), {} roles in {:.1} s",
            thousands(users as f64),
            ROLES.len(),
            started.elapsed().as_secs_f64()
        );
        Org {
            users,
            state,
            org_id,
            owner_id,
            owner_token,
        }
    }

    /// The learning half of the standard big org. Ten courses (four certificates valid a year
    /// with a 30-day renewal window, six one-off courses) required of everyone by one rule on
    /// the root group: the engine itself writes the ~1,000,000 assignments. History is then
    /// back-dated with bulk SQL as if the rule had stood since each user joined (users, reasons
    /// and assignments from the membership's `since`, due 30–165 days later), and 95% of the
    /// assignments completed — certificates within the last 380 days (so some expired, some
    /// expire soon), one-off courses within 60 days of assignment; the rest are overdue or
    /// pending. Finally the per-user compliance summaries are rebuilt from that history.
    pub async fn learning(org: &Org) {
        use skillgraph::service::viewer::Viewer;
        use skillgraph::service::{compliance, course, rule};
        const DAY: i64 = 86_400_000_000;
        let started = Instant::now();
        let v = Viewer::new(org.org_id, org.owner_id, OrgRole::Owner);
        let db = &org.state.db.write;
        let mut items = Vec::new();
        for i in 0..10 {
            let certificate = i < 4;
            let c = course::create(
                &org.state,
                &v,
                course::NewCourse {
                    title: format!("Core course {i}"),
                    validity_days: certificate.then_some(365),
                    renewal_window_days: certificate.then_some(30),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_else(|e| panic!("create course: {e:?}"));
            items.push(rule::BundleItem {
                course_id: c.id,
                unlock_after_days: None,
                due_after_days: Some(30 + 15 * i),
            });
        }
        let root = db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT id FROM org_groups WHERE org_id = ? AND parent_id IS NULL",
                [org.org_id.into()],
            ))
            .await
            .expect("root")
            .expect("a root")
            .try_get_by_index::<Uuid>(0)
            .expect("uuid");
        let (_, out) = rule::create(
            &org.state,
            &v,
            rule::RuleSpec {
                name: "Core curriculum".into(),
                audience: rule::Audience {
                    group_id: Some(root),
                    include_subgroups: true,
                    ..Default::default()
                },
                courses: items,
                on_exit: rule::ExitPolicy::Withdraw,
                active: true,
                track_id: None,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("create rule: {e:?}"));
        let engine_secs = started.elapsed().as_secs_f64();
        let now = org.state.clock.now().timestamp_micros();
        let org_hex = format!("x'{}'", org.org_id.simple());
        let script = [
            format!(
                "CREATE TEMP TABLE bench_entered AS SELECT a.id AS assignment_id, m.since AS since, a.due_at - a.assigned_at AS due_offset \
                 FROM assignments a JOIN memberships m ON m.user_id = a.user_id AND m.until IS NULL WHERE a.org_id = {org_hex}"
            ),
            "CREATE UNIQUE INDEX temp.ix_bench_entered ON bench_entered (assignment_id)".into(),
            format!(
                "UPDATE assignments SET assigned_at = (SELECT b.since FROM bench_entered b WHERE b.assignment_id = assignments.id), \
                        due_at = (SELECT b.since + b.due_offset FROM bench_entered b WHERE b.assignment_id = assignments.id) \
                 WHERE org_id = {org_hex}"
            ),
            format!(
                "UPDATE assignment_reasons SET since = (SELECT b.since FROM bench_entered b WHERE b.assignment_id = assignment_reasons.assignment_id), \
                        created_at = (SELECT b.since FROM bench_entered b WHERE b.assignment_id = assignment_reasons.assignment_id), \
                        due_at = (SELECT b.since + b.due_offset FROM bench_entered b WHERE b.assignment_id = assignment_reasons.assignment_id) \
                 WHERE org_id = {org_hex}"
            ),
            format!(
                "UPDATE users SET created_at = (SELECT MIN(m.since) FROM memberships m WHERE m.user_id = users.id) WHERE org_id = {org_hex}"
            ),
            "DROP TABLE bench_entered".into(),
            // A completion shares its assignment's id (both tables mint their own; this seed
            // writes both).
            format!(
                "INSERT INTO completions (id, org_id, user_id, course_id, completed_at, expires_at, renew_at, score, external_id, assignment_id, recorded_at, recorded_by) \
                 SELECT x.id, x.org_id, x.user_id, x.course_id, x.done, x.done + x.validity_days * {DAY}, \
                        x.done + (x.validity_days - x.renewal_window_days) * {DAY}, 50 + x.rid % 51, NULL, x.id, {now}, NULL \
                 FROM (SELECT a.id, a.org_id, a.user_id, a.course_id, a.rowid AS rid, c.validity_days, c.renewal_window_days, \
                              CASE WHEN c.validity_days IS NOT NULL THEN {now} - ((a.rowid * 7919) % 380) * {DAY} \
                                   ELSE MIN({now} - {DAY}, a.assigned_at + (a.rowid % 60) * {DAY}) END AS done \
                       FROM assignments a JOIN courses c ON c.id = a.course_id \
                       WHERE a.org_id = {org_hex} AND a.status IN ('ASSIGNED', 'LOCKED') AND (a.rowid * 13) % 20 < 19) x"
            ),
            format!(
                "UPDATE assignments SET status = 'COMPLETED', completion_id = id, \
                        completed_at = (SELECT c.completed_at FROM completions c WHERE c.id = assignments.id), \
                        expires_at = (SELECT c.expires_at FROM completions c WHERE c.id = assignments.id), \
                        renew_at = (SELECT c.renew_at FROM completions c WHERE c.id = assignments.id) \
                 WHERE id IN (SELECT id FROM completions WHERE org_id = {org_hex} AND assignment_id = id)"
            ),
        ];
        let tx = db.begin().await.expect("begin");
        for sql in &script {
            tx.execute_unprepared(sql)
                .await
                .unwrap_or_else(|e| panic!("learning seed failed: {e}\n{sql}"));
        }
        compliance::summary::rebuild_org(&tx, org.org_id)
            .await
            .unwrap_or_else(|e| panic!("rebuild summaries: {e:?}"));
        tx.commit().await.expect("commit");
        // The scheduler catches up as a running server would have: renewals of certificates
        // in their window, expiries, overdue marks.
        compliance::scheduler::tick(&org.state)
            .await
            .unwrap_or_else(|e| panic!("scheduler tick: {e:?}"));
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .expect("checkpoint");
        println!(
            "seeded learning: the engine assigned {} in {engine_secs:.1} s; history, completions and summaries in {:.1} s",
            thousands(out.created.len() as f64),
            started.elapsed().as_secs_f64() - engine_secs
        );
    }

    /// Checks the shape of the seed with plain SQL: every user (the owner included) in exactly
    /// one current group, a root with every other group below it, the deepest group 4 levels down.
    async fn verify(state: &AppState, org_id: Uuid, users: usize) {
        let db = &state.db.read;
        let count = |sql: &'static str| async move {
            let stmt = sea_orm::Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                vec![org_id.into()],
            );
            let row = db
                .query_one_raw(stmt)
                .await
                .expect("a seed check failed")
                .expect("a count returns a row");
            row.try_get_by_index::<i64>(0)
                .expect("a count is an integer")
        };
        let expect = |what: &str, got: i64, want: usize| {
            assert_eq!(
                got, want as i64,
                "the seed has {got} {what}, expected {want}"
            );
        };
        expect(
            "users",
            count("SELECT COUNT(*) FROM users WHERE org_id = $1").await,
            users + 1,
        );
        expect(
            "users with one current membership",
            count(
                "SELECT COUNT(*) FROM (SELECT user_id FROM memberships WHERE org_id = $1 AND until IS NULL \
                 GROUP BY user_id HAVING COUNT(*) = 1)",
            )
            .await,
            users + 1,
        );
        expect(
            "groups below the root",
            count(
                "SELECT COUNT(*) FROM group_closure c JOIN org_groups g ON g.id = c.ancestor_id \
                 WHERE c.org_id = $1 AND g.parent_id IS NULL AND c.depth > 0",
            )
            .await,
            GROUPS - 1,
        );
        expect(
            "levels below the root",
            count("SELECT MAX(depth) FROM group_closure WHERE org_id = $1").await,
            GROUP_DEPTH - 1,
        );
    }

    /// The attributes of the `i`-th user, by key.
    fn attributes(i: usize) -> [(&'static str, &'static str); 2] {
        [
            ("department", DEPARTMENTS[i % DEPARTMENTS.len()]),
            ("location", LOCATIONS[(i / 7) % LOCATIONS.len()]),
        ]
    }

    /// The seed as SQL: multi-row `INSERT`s of up to `BATCH` rows each, parents before children;
    /// and the sizes of the levels of the group tree.
    fn statements(
        org_id: Uuid,
        owner_id: Uuid,
        users: usize,
        now: i64,
    ) -> (Vec<String>, Vec<usize>) {
        const DAY: i64 = 86_400_000_000;
        let org = blob(org_id);
        let mut out = Vec::new();

        let roles: Vec<Uuid> = ROLES.iter().map(|_| Uuid::now_v7()).collect();
        batches(
            &mut out,
            "INSERT INTO roles (id, org_id, name, name_norm, description, created_at, updated_at) VALUES ",
            roles.iter().zip(ROLES).map(|(id, name)| {
                format!(
                    "({}, {org}, {}, {}, NULL, {now}, {now})",
                    blob(*id),
                    text(name),
                    text(&name.to_lowercase())
                )
            }),
        );

        let tree = Tree::new(GROUPS, GROUP_DEPTH);
        batches(
            &mut out,
            "INSERT INTO org_groups (id, org_id, name, parent_id, created_at, updated_at, deleted_at) VALUES ",
            tree.groups.iter().map(|g| {
                let parent = g
                    .parent
                    .map_or_else(|| "NULL".to_string(), |p| blob(tree.groups[p].id));
                format!(
                    "({}, {org}, {}, {parent}, {now}, {now}, NULL)",
                    blob(g.id),
                    text(&g.name)
                )
            }),
        );
        batches(
            &mut out,
            "INSERT INTO group_closure (org_id, ancestor_id, descendant_id, depth) VALUES ",
            tree.closure().map(|(ancestor, descendant, depth)| {
                format!("({org}, {}, {}, {depth})", blob(ancestor), blob(descendant))
            }),
        );

        batches(
            &mut out,
            "INSERT INTO group_parents (org_id, group_id, parent_id, since, until) VALUES ",
            tree.groups.iter().filter_map(|g| {
                g.parent.map(|p| {
                    format!(
                        "({org}, {}, {}, 0, NULL)",
                        blob(g.id),
                        blob(tree.groups[p].id)
                    )
                })
            }),
        );

        let user_ids: Vec<Uuid> = (0..users).map(|_| Uuid::now_v7()).collect();
        batches(
            &mut out,
            "INSERT INTO users (id, org_id, email, email_norm, name, job_title, hire_date, attributes, manager_id, primary_role_id, \
             target_role_id, active, created_at, updated_at, deactivated_at) VALUES ",
            user_ids.iter().enumerate().map(|(i, id)| {
                let email = format!("user{i:06}@bench.example");
                let name = format!(
                    "{} {}",
                    FIRST[i % FIRST.len()],
                    LAST[(i / FIRST.len()) % LAST.len()]
                );
                let hired = NaiveDate::from_ymd_opt(2015, 1, 5).expect("a valid date")
                    + chrono::Duration::days(((i * 97) % 3600) as i64);
                let attrs = serde_json::to_string(&BTreeMap::from(attributes(i)))
                    .expect("attributes serialize");
                format!(
                    "({}, {org}, {}, {}, {}, {}, {}, {}, NULL, {}, NULL, TRUE, {now}, {now}, NULL)",
                    blob(*id),
                    text(&email),
                    text(&email),
                    text(&name),
                    text(ROLES[i % ROLES.len()]),
                    text(&hired.format("%F").to_string()),
                    text(&attrs),
                    blob(roles[i % roles.len()]),
                )
            }),
        );
        batches(
            &mut out,
            "INSERT INTO user_attributes (org_id, user_id, key, value) VALUES ",
            user_ids.iter().enumerate().flat_map(|(i, id)| {
                let (user, org) = (blob(*id), &org);
                attributes(i)
                    .into_iter()
                    .map(move |(k, v)| format!("({org}, {user}, {}, {})", text(k), text(v)))
            }),
        );

        let leaves = tree.level(GROUP_DEPTH - 1);
        let owner = format!(
            "({}, {org}, {}, {}, {now}, NULL, {now})",
            blob(Uuid::now_v7()),
            blob(owner_id),
            blob(tree.groups[0].id)
        );
        batches(
            &mut out,
            "INSERT INTO memberships (id, org_id, user_id, group_id, since, until, created_at) VALUES ",
            std::iter::once(owner).chain(user_ids.iter().enumerate().map(|(i, id)| {
                let group = tree.groups[leaves.start + i % leaves.len()].id;
                let since = now - (i % 3650) as i64 * DAY;
                format!(
                    "({}, {org}, {}, {}, {since}, NULL, {now})",
                    blob(Uuid::now_v7()),
                    blob(*id),
                    blob(group)
                )
            })),
        );
        (out, tree.sizes)
    }

    /// Appends `head` + up to `BATCH` comma-separated rows per statement to `out`.
    fn batches(out: &mut Vec<String>, head: &str, rows: impl Iterator<Item = String>) {
        let mut sql = String::new();
        let mut in_batch = 0;
        for row in rows {
            sql.push_str(if in_batch == 0 { head } else { ", " });
            sql.push_str(&row);
            in_batch += 1;
            if in_batch == BATCH {
                out.push(std::mem::take(&mut sql));
                in_batch = 0;
            }
        }
        if in_batch > 0 {
            out.push(sql);
        }
    }

    /// A UUID as an SQLite blob literal (sqlx binds `Uuid` as its 16 bytes).
    fn blob(id: Uuid) -> String {
        let mut s = String::with_capacity(35);
        let _ = write!(s, "X'{}'", id.simple());
        s
    }

    /// A quoted SQL string literal.
    fn text(s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }

    pub struct Group {
        pub id: Uuid,
        pub parent: Option<usize>,
        pub name: String,
    }

    /// A tree of groups, level by level: level k holds `fanout^k` groups (the smallest fanout
    /// that reaches the total), the last level the rest; parents are assigned round-robin.
    pub struct Tree {
        pub groups: Vec<Group>,
        pub sizes: Vec<usize>,
    }

    impl Tree {
        pub fn new(total: usize, depth: usize) -> Tree {
            let mut fanout = 2usize;
            while (0..depth as u32).map(|k| fanout.pow(k)).sum::<usize>() < total {
                fanout += 1;
            }
            let mut sizes = Vec::with_capacity(depth);
            for k in 0..depth {
                let left = total - sizes.iter().sum::<usize>();
                sizes.push(if k + 1 == depth {
                    left
                } else {
                    fanout.pow(k as u32).min(left)
                });
            }
            let mut groups: Vec<Group> = Vec::with_capacity(total);
            let mut previous = 0..0;
            for (level, &size) in sizes.iter().enumerate() {
                let start = groups.len();
                for j in 0..size {
                    groups.push(Group {
                        id: Uuid::now_v7(),
                        parent: (!previous.is_empty()).then(|| previous.start + j % previous.len()),
                        name: format!("{} {}", LEVELS[level.min(LEVELS.len() - 1)], j + 1),
                    });
                }
                previous = start..groups.len();
            }
            Tree { groups, sizes }
        }

        /// Indexes of the groups of one level.
        pub fn level(&self, level: usize) -> std::ops::Range<usize> {
            let start: usize = self.sizes[..level].iter().sum();
            start..start + self.sizes[level]
        }

        /// (ancestor, descendant, depth) for every group and each of its ancestors, itself at
        /// depth 0 included.
        pub fn closure(&self) -> impl Iterator<Item = (Uuid, Uuid, usize)> + '_ {
            self.groups.iter().flat_map(move |g| {
                std::iter::successors(Some((g, 0usize)), move |(a, d)| {
                    a.parent.map(|p| (&self.groups[p], d + 1))
                })
                .map(move |(a, d)| (a.id, g.id, d))
            })
        }
    }
}

/// Counting the SQL statements sqlx executes (see the module documentation).
mod stmt_count {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use tracing::span::{Attributes, Id, Record};
    use tracing::subscriber::Interest;
    use tracing::{Event, Metadata, Subscriber};

    /// The target of sqlx's per-statement log event (`sqlx_core::logger::QueryLogger`).
    const TARGET: &str = "sqlx::query";

    static COUNTING: AtomicBool = AtomicBool::new(false);
    static STATEMENTS: AtomicU64 = AtomicU64::new(0);

    /// A subscriber interested only in sqlx's statement events, and only while counting.
    struct StatementCounter;

    impl Subscriber for StatementCounter {
        fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
            // `sometimes`: ask `enabled` each time, so the flag can change at run time. (sqlx
            // first asks `tracing::enabled!`, whose call site is a hint, not an event.)
            if metadata.target() == TARGET {
                Interest::sometimes()
            } else {
                Interest::never()
            }
        }

        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.target() == TARGET && COUNTING.load(Ordering::Relaxed)
        }

        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }

        fn record(&self, _: &Id, _: &Record<'_>) {}

        fn record_follows_from(&self, _: &Id, _: &Id) {}

        fn event(&self, event: &Event<'_>) {
            if event.metadata().target() == TARGET {
                STATEMENTS.fetch_add(1, Ordering::Relaxed);
            }
        }

        fn enter(&self, _: &Id) {}

        fn exit(&self, _: &Id) {}
    }

    /// Installs the counter as the global subscriber (before any runtime starts).
    pub fn install() {
        tracing::subscriber::set_global_default(StatementCounter)
            .expect("a global tracing subscriber is already set");
    }

    /// Starts counting from zero.
    pub fn start() {
        STATEMENTS.store(0, Ordering::SeqCst);
        COUNTING.store(true, Ordering::SeqCst);
    }

    /// Stops counting; the statements executed since `start`.
    pub fn stop() -> u64 {
        COUNTING.store(false, Ordering::SeqCst);
        STATEMENTS.load(Ordering::SeqCst)
    }
}

/// In-process servers and the HTTP load generator.
mod net {
    use axum::Router;
    use axum::body::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::client::conn::http1::SendRequest;
    use hyper::header::{self, HeaderValue};
    use hyper::{Request, StatusCode};
    use hyper_util::rt::TokioIo;

    use super::*;

    pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

    /// An axum app served on a free loopback port by a task of the current runtime.
    pub struct Server {
        pub addr: SocketAddr,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    impl Server {
        /// Must run on the server runtime (see `Env::on_server`).
        pub async fn start(router: Router) -> Server {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("cannot bind a loopback port");
            let addr = listener
                .local_addr()
                .expect("a bound listener has an address");
            let task = tokio::spawn(async move { axum::serve(listener, router).await });
            Server { addr, task }
        }

        pub fn stop(self) {
            self.task.abort();
        }
    }

    /// One request, sent identically (method, headers, body) to either side; only the path differs.
    pub struct RequestSpec {
        pub path: String,
        pub authorization: HeaderValue,
        pub body: Bytes,
    }

    /// One keep-alive HTTP/1.1 connection.
    pub struct HttpConn {
        sender: SendRequest<Full<Bytes>>,
    }

    impl HttpConn {
        pub async fn connect(addr: SocketAddr) -> Result<HttpConn, BoxError> {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(HttpConn { sender })
        }

        pub async fn send(&mut self, spec: &RequestSpec) -> Result<(StatusCode, Bytes), BoxError> {
            self.sender.ready().await?;
            let request = Request::post(spec.path.as_str())
                .header(header::HOST, "127.0.0.1")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, spec.authorization.clone())
                .body(Full::new(spec.body.clone()))?;
            let response = self.sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok((status, body))
        }
    }

    /// Sends `spec` once on a new connection.
    pub async fn fetch(addr: SocketAddr, spec: &RequestSpec) -> (StatusCode, Bytes) {
        let mut conn = HttpConn::connect(addr)
            .await
            .expect("cannot connect to the bench server");
        conn.send(spec)
            .await
            .expect("the bench server did not answer")
    }

    /// Responses of a load run, by outcome.
    #[derive(Default, Clone, Copy, Debug)]
    pub struct Outcomes {
        /// `200` with exactly the expected bytes.
        pub ok: u64,
        /// A body carrying GraphQL `errors`.
        pub graphql_errors: u64,
        /// Anything else: another status, other bytes, a broken connection.
        pub failed: u64,
    }

    impl Outcomes {
        pub fn errors(&self) -> u64 {
            self.graphql_errors + self.failed
        }

        fn add(&mut self, o: Outcomes) {
            self.ok += o.ok;
            self.graphql_errors += o.graphql_errors;
            self.failed += o.failed;
        }

        fn record(&mut self, status: StatusCode, body: &[u8], expected: &[u8]) {
            if status == StatusCode::OK && body == expected {
                self.ok += 1;
            } else if body.windows(8).any(|w| w == b"\"errors\"") {
                self.graphql_errors += 1;
            } else {
                self.failed += 1;
            }
        }
    }

    /// Requests per second (good responses only) and what came back.
    pub struct Throughput {
        pub rps: f64,
        pub outcomes: Outcomes,
    }

    /// `connections` connections each send `spec` back to back until `duration` has passed.
    pub async fn load(
        addr: SocketAddr,
        spec: Arc<RequestSpec>,
        expected: Bytes,
        connections: usize,
        duration: Duration,
    ) -> Throughput {
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..connections {
            tasks.spawn(drive(addr, spec.clone(), expected.clone(), deadline));
        }
        let mut outcomes = Outcomes::default();
        while let Some(done) = tasks.join_next().await {
            outcomes.add(done.expect("a load connection panicked"));
        }
        Throughput {
            rps: outcomes.ok as f64 / started.elapsed().as_secs_f64(),
            outcomes,
        }
    }

    async fn drive(
        addr: SocketAddr,
        spec: Arc<RequestSpec>,
        expected: Bytes,
        deadline: Instant,
    ) -> Outcomes {
        let mut outcomes = Outcomes::default();
        while Instant::now() < deadline {
            let Ok(mut conn) = HttpConn::connect(addr).await else {
                outcomes.failed += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            };
            while Instant::now() < deadline {
                match conn.send(&spec).await {
                    Ok((status, body)) => outcomes.record(status, &body, &expected),
                    Err(_) => {
                        outcomes.failed += 1;
                        break;
                    }
                }
            }
        }
        outcomes
    }
}

/// P6: GraphQL over HTTP on loopback against a bare axum handler serving the same bytes.
mod p6 {
    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::http::header::{self, HeaderValue};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use sea_orm::{DatabaseConnection, FromQueryResult, Statement, Value};
    use serde::Serialize;

    use super::net::{HttpConn, RequestSpec, Server, Throughput, fetch, load};
    use super::*;

    /// A query of the scenario and the bare route that answers it.
    struct Query {
        label: &'static str,
        text: &'static str,
        bare_path: &'static str,
        /// Minimum requests/s of GraphQL ÷ bare handler.
        target: f64,
    }

    const QUERIES: [Query; 2] = [
        Query {
            label: "small `{ viewer { id } }`",
            text: "{ viewer { id } }",
            bare_path: "/viewer",
            target: 0.45,
        },
        Query {
            label: "nested 20 users × memberships × group",
            text: "{ users(first: 20) { nodes { id name memberships { group { id name } } } } }",
            bare_path: "/users",
            target: 0.6,
        },
    ];

    pub fn run(env: &mut Env) -> Vec<Row> {
        let big = env.big_org();
        // A second, smaller org for "statements per request are constant as users grow".
        let small = env.seed_org("p6-small", 1_000.min(big.users / 2).max(1));
        let big_sides = Sides::start(env, &big);

        let ceiling = big_sides.ceiling(env);
        let mut rows = Vec::new();
        for query in &QUERIES {
            let expected = big_sides.expected(env, query);
            rows.push(compare(env, &big_sides, query, expected, ceiling));
        }

        let small_sides = Sides::start(env, &small);
        for query in &QUERIES {
            let at_small = small_sides.statements(env, query, Side::GraphQl);
            let at_big = big_sides.statements(env, query, Side::GraphQl);
            let bare_small = small_sides.statements(env, query, Side::Bare);
            let bare_big = big_sides.statements(env, query, Side::Bare);
            println!(
                "  {}: SQL statements/request: GraphQL {at_small:.2} @ {} users, {at_big:.2} @ {} users; bare handler {bare_small:.2} / {bare_big:.2}",
                query.label,
                thousands(small.users as f64),
                thousands(big.users as f64),
            );
            rows.push(Row {
                scenario: format!("P6 {}: SQL statements/request", query.label),
                figure: format!("{at_big:.2} @ {} users", thousands(big.users as f64)),
                reference: format!("{at_small:.2} @ {} users", thousands(small.users as f64)),
                ratio: Some(at_big / at_small),
                target: "constant (ratio 1.00)".into(),
                // Zero means nothing was counted (sqlx statement logging off), not a constant.
                pass: Some(at_small > 0.0 && (at_big - at_small).abs() < 0.005),
            });
        }
        small_sides.stop();
        big_sides.stop();
        rows
    }

    /// Requests/s of both sides over the rounds; the row of their median ratio.
    fn compare(env: &Env, sides: &Sides, query: &Query, expected: Bytes, ceiling: f64) -> Row {
        let (connections, seconds) = (env.cfg.connections, env.cfg.seconds);
        let measure = |side: Side, duration: Duration| -> Throughput {
            let (addr, spec, expected) =
                (sides.addr(side), sides.spec(query, side), expected.clone());
            env.on_client(load(addr, spec, expected, connections, duration))
        };
        measure(Side::Bare, Duration::from_millis(500));
        measure(Side::GraphQl, Duration::from_millis(500));
        let (mut graphql, mut bare, mut ratios, mut errors) =
            (Vec::new(), Vec::new(), Vec::new(), 0);
        for round in 0..env.cfg.rounds {
            let order = if round % 2 == 0 {
                [Side::Bare, Side::GraphQl]
            } else {
                [Side::GraphQl, Side::Bare]
            };
            let (mut g, mut b) = (0.0, 0.0);
            for side in order {
                let t = measure(side, seconds);
                errors += t.outcomes.errors();
                if t.outcomes.errors() > 0 {
                    println!("  {} {side:?}: {:?}", query.label, t.outcomes);
                }
                match side {
                    Side::GraphQl => g = t.rps,
                    Side::Bare => b = t.rps,
                }
            }
            println!(
                "  {} round {}: GraphQL {} req/s, bare {} req/s, ratio {:.3}",
                query.label,
                round + 1,
                thousands(g),
                thousands(b),
                g / b
            );
            graphql.push(g);
            bare.push(b);
            ratios.push(g / b);
        }
        let ratio = median(&ratios);
        if median(&bare) > ceiling / 2.0 {
            println!(
                "  warning: the reference is within 2× of the load generator's ceiling ({} req/s); the ratio may be flattered",
                thousands(ceiling)
            );
        }
        let error_note = if errors > 0 {
            format!(" ({errors} errors)")
        } else {
            String::new()
        };
        Row {
            scenario: format!("P6 {}: requests/s", query.label),
            figure: format!("{} req/s GraphQL{error_note}", thousands(median(&graphql))),
            reference: format!("{} req/s bare axum", thousands(median(&bare))),
            ratio: Some(ratio),
            target: format!("≥ {:.2}", query.target),
            pass: Some(ratio >= query.target && errors == 0),
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Side {
        GraphQl,
        Bare,
    }

    /// The real server and the bare handler, both on one org's state and read pool.
    struct Sides {
        graphql: Server,
        bare: Server,
        authorization: HeaderValue,
        /// Users on the nested query's page: 20, or all of a smaller org (owner included).
        first_page: usize,
    }

    impl Sides {
        fn start(env: &Env, org: &seed::Org) -> Sides {
            let bare_state = Bare {
                db: org.state.db.read.clone(),
                org_id: org.org_id,
                viewer_id: org.owner_id,
            };
            let app = skillgraph::app(org.state.clone());
            let (graphql, bare) = env.on_server(async move {
                (
                    Server::start(app).await,
                    Server::start(bare_router(bare_state)).await,
                )
            });
            Sides {
                graphql,
                bare,
                authorization: HeaderValue::from_str(&format!("Bearer {}", org.owner_token))
                    .expect("a token is a valid header"),
                first_page: (org.users + 1).min(20),
            }
        }

        fn stop(self) {
            self.graphql.stop();
            self.bare.stop();
        }

        fn addr(&self, side: Side) -> SocketAddr {
            match side {
                Side::GraphQl => self.graphql.addr,
                Side::Bare => self.bare.addr,
            }
        }

        fn spec(&self, query: &Query, side: Side) -> Arc<RequestSpec> {
            Arc::new(RequestSpec {
                path: match side {
                    Side::GraphQl => "/graphql".into(),
                    Side::Bare => query.bare_path.into(),
                },
                authorization: self.authorization.clone(),
                body: serde_json::to_vec(&serde_json::json!({ "query": query.text }))
                    .expect("a query serializes")
                    .into(),
            })
        }

        /// The GraphQL server's answer, checked: no errors, the bare handler's bytes exactly.
        fn expected(&self, env: &Env, query: &Query) -> Bytes {
            let (graphql, bare) = (
                self.spec(query, Side::GraphQl),
                self.spec(query, Side::Bare),
            );
            let (g_addr, b_addr) = (self.graphql.addr, self.bare.addr);
            let ((g_status, g_body), (b_status, b_body)) = env.on_client(async move {
                (fetch(g_addr, &graphql).await, fetch(b_addr, &bare).await)
            });
            let shown = |b: &Bytes| String::from_utf8_lossy(&b[..b.len().min(2_000)]).into_owned();
            assert_eq!(
                g_status,
                StatusCode::OK,
                "GraphQL answered {g_status}: {}",
                shown(&g_body)
            );
            assert_eq!(
                b_status,
                StatusCode::OK,
                "the bare handler answered {b_status}: {}",
                shown(&b_body)
            );
            assert!(
                g_body == b_body,
                "GraphQL and the bare handler disagree for {}:\nGraphQL: {}\nbare:    {}",
                query.label,
                shown(&g_body),
                shown(&b_body)
            );
            let doc: serde_json::Value =
                serde_json::from_slice(&g_body).expect("GraphQL answered JSON");
            if let Some(nodes) = doc.pointer("/data/users/nodes").and_then(|n| n.as_array()) {
                assert_eq!(
                    nodes.len(),
                    self.first_page,
                    "the nested query returned too few users"
                );
                assert!(
                    nodes
                        .iter()
                        .all(|n| n["memberships"].as_array().is_some_and(|m| !m.is_empty())),
                    "every user of the nested query should have a membership"
                );
            }
            println!(
                "  {}: {} bytes per response, identical on both sides",
                query.label,
                g_body.len()
            );
            g_body
        }

        /// The load generator's ceiling: requests/s against a handler that does no work, to judge
        /// whether a reference figure is bound by the client rather than the server.
        fn ceiling(&self, env: &Env) -> f64 {
            let spec = Arc::new(RequestSpec {
                path: "/constant".into(),
                authorization: self.authorization.clone(),
                body: serde_json::to_vec(&serde_json::json!({ "query": QUERIES[0].text }))
                    .expect("a query serializes")
                    .into(),
            });
            let (addr, connections) = (self.bare.addr, env.cfg.connections);
            let expected = Bytes::from_static(CONSTANT.as_bytes());
            env.on_client(load(
                addr,
                spec.clone(),
                expected.clone(),
                connections,
                Duration::from_millis(500),
            ));
            let t = env.on_client(load(
                addr,
                spec,
                expected,
                connections,
                Duration::from_secs(1),
            ));
            println!(
                "  load generator ceiling (constant handler, same request): {} req/s{}",
                thousands(t.rps),
                if t.outcomes.errors() > 0 {
                    format!(" ({:?})", t.outcomes)
                } else {
                    String::new()
                }
            );
            t.rps
        }

        /// SQL statements per request, counted over 100 sequential requests after a warm-up.
        fn statements(&self, env: &Env, query: &Query, side: Side) -> f64 {
            const REQUESTS: u64 = 100;
            let (addr, spec) = (self.addr(side), self.spec(query, side));
            // A concurrent burst first: it grows the read pool to its working size, so that no
            // connection is opened (and set up with PRAGMAs) while counting.
            env.on_client(load(
                addr,
                spec.clone(),
                Bytes::new(),
                env.cfg.connections,
                Duration::from_millis(300),
            ));
            let statements = env.on_client(async move {
                let mut conn = HttpConn::connect(addr)
                    .await
                    .expect("cannot connect to the bench server");
                for _ in 0..10 {
                    conn.send(&spec).await.expect("warm-up request failed");
                }
                // sqlx logs a statement when it finishes, possibly just after the response
                // went out: let stragglers land outside the counting window.
                tokio::time::sleep(Duration::from_millis(50)).await;
                stmt_count::start();
                for _ in 0..REQUESTS {
                    let (status, _) = conn.send(&spec).await.expect("request failed");
                    assert_eq!(status, StatusCode::OK, "a counted request failed");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                stmt_count::stop()
            });
            statements as f64 / REQUESTS as f64
        }
    }

    /// The body of `/constant`, a handler that does no work (the load generator's ceiling).
    const CONSTANT: &str = r#"{"data":{}}"#;

    /// What the bare handler knows without GraphQL: the database, the org and the viewer.
    #[derive(Clone)]
    struct Bare {
        db: DatabaseConnection,
        org_id: Uuid,
        viewer_id: Uuid,
    }

    fn bare_router(bare: Bare) -> Router {
        Router::new()
            .route("/viewer", post(bare_viewer))
            .route("/users", post(bare_users))
            .route("/constant", post(|| async { CONSTANT }))
            .with_state(bare)
    }

    #[derive(Serialize)]
    struct Data<T> {
        data: T,
    }

    #[derive(Serialize)]
    struct ViewerData {
        viewer: IdOnly,
    }

    #[derive(Serialize)]
    struct IdOnly {
        id: String,
    }

    #[derive(Serialize)]
    struct UsersData<'a> {
        users: Nodes<'a>,
    }

    #[derive(Serialize)]
    struct Nodes<'a> {
        nodes: Vec<UserNode<'a>>,
    }

    #[derive(Serialize)]
    struct UserNode<'a> {
        id: String,
        name: &'a str,
        memberships: Vec<MembershipNode<'a>>,
    }

    #[derive(Serialize)]
    struct MembershipNode<'a> {
        group: GroupNode<'a>,
    }

    #[derive(Serialize)]
    struct GroupNode<'a> {
        id: String,
        name: &'a str,
    }

    /// `{ viewer { id } }`: one primary-key lookup (the statement the resolver runs).
    async fn bare_viewer(State(bare): State<Bare>, _body: Bytes) -> Response {
        let user = entity::user::Model::find_by_statement(stmt(
            &bare.db,
            "SELECT * FROM users WHERE id = $1 AND org_id = $2",
            vec![bare.viewer_id.into(), bare.org_id.into()],
        ))
        .one(&bare.db)
        .await;
        match user {
            Ok(Some(user)) => json(&Data {
                data: ViewerData {
                    viewer: IdOnly {
                        id: user.id.to_string(),
                    },
                },
            }),
            Ok(None) => (StatusCode::NOT_FOUND, "no viewer").into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }

    /// The nested query: the first 20 users by id, their current memberships, their groups
    /// (the three statements the resolvers and loaders run).
    async fn bare_users(State(bare): State<Bare>, _body: Bytes) -> Response {
        match nested(&bare).await {
            Ok(response) => response,
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }

    async fn nested(bare: &Bare) -> Result<Response, sea_orm::DbErr> {
        let db = &bare.db;
        let mut users = entity::user::Model::find_by_statement(stmt(
            db,
            "SELECT u.* FROM users u WHERE u.org_id = $1 ORDER BY u.id LIMIT 21",
            vec![bare.org_id.into()],
        ))
        .all(db)
        .await?;
        users.truncate(20);
        let mut values: Vec<Value> = vec![bare.org_id.into()];
        values.extend(users.iter().map(|u| Value::from(u.id)));
        let memberships = entity::membership::Model::find_by_statement(stmt(
            db,
            &format!(
                "SELECT * FROM memberships WHERE org_id = $1 AND user_id IN ({}) AND until IS NULL ORDER BY since, id",
                placeholders(users.len())
            ),
            values,
        ))
        .all(db)
        .await?;
        let mut group_ids: Vec<Uuid> = memberships.iter().map(|m| m.group_id).collect();
        group_ids.sort_unstable();
        group_ids.dedup();
        let mut values: Vec<Value> = vec![bare.org_id.into()];
        values.extend(group_ids.iter().map(|id| Value::from(*id)));
        let groups = if group_ids.is_empty() {
            Vec::new()
        } else {
            entity::group::Model::find_by_statement(stmt(
                db,
                &format!(
                    "SELECT * FROM org_groups WHERE org_id = $1 AND id IN ({})",
                    placeholders(group_ids.len())
                ),
                values,
            ))
            .all(db)
            .await?
        };
        let group = |id: Uuid| groups.iter().find(|g| g.id == id);
        let nodes = users
            .iter()
            .map(|u| UserNode {
                id: u.id.to_string(),
                name: &u.name,
                memberships: memberships
                    .iter()
                    .filter(|m| m.user_id == u.id)
                    .filter_map(|m| group(m.group_id))
                    .map(|g| MembershipNode {
                        group: GroupNode {
                            id: g.id.to_string(),
                            name: &g.name,
                        },
                    })
                    .collect(),
            })
            .collect();
        Ok(json(&Data {
            data: UsersData {
                users: Nodes { nodes },
            },
        }))
    }

    fn stmt(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(db.get_database_backend(), sql, values)
    }

    /// `$2, $3, …` for `n` values after the org id.
    fn placeholders(n: usize) -> String {
        (2..n + 2)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The body and content type async-graphql-axum answers with.
    fn json<T: Serialize>(value: &T) -> Response {
        match serde_json::to_string(value) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/graphql-response+json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
}

/// P10: the release binary from spawn to `/readyz` answering 200, on a fresh database
/// (migrations applied during start-up) and again on the same, already migrated database; then
/// its resident memory at idle.
mod p10 {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::process::{Child, Command, Stdio};

    use super::*;

    const RUNS: usize = 5;
    const POLL: Duration = Duration::from_millis(2);
    const READY_TIMEOUT: Duration = Duration::from_secs(30);
    /// How long the server sits idle before its RSS is read.
    const IDLE: Duration = Duration::from_secs(1);
    const TARGET_MS: f64 = 300.0;
    const TARGET_MIB: f64 = 200.0;

    pub fn run(env: &mut Env) -> Vec<Row> {
        let bin = server_binary();
        println!("  binary: {}", bin.display());
        let (mut cold, mut warm, mut rss) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..RUNS {
            let db = env.dir.path().join(format!("p10-{run}.db"));
            let first = start_once(
                &bin,
                &db,
                &env.dir.path().join(format!("p10-{run}-cold.log")),
            );
            let second = start_once(
                &bin,
                &db,
                &env.dir.path().join(format!("p10-{run}-warm.log")),
            );
            println!(
                "  run {}: fresh database {:.1} ms, migrated database {:.1} ms; idle RSS {:.1} / {:.1} MiB",
                run + 1,
                first.ready_ms,
                second.ready_ms,
                first.rss_mib,
                second.rss_mib
            );
            cold.push(first.ready_ms);
            warm.push(second.ready_ms);
            rss.extend([first.rss_mib, second.rss_mib]);
        }
        let ms_row = |label: &str, values: &[f64]| {
            let m = median(values);
            Row {
                scenario: format!("P10 start to ready, {label} (median of {RUNS})"),
                figure: format!("{m:.1} ms"),
                reference: "—".into(),
                ratio: None,
                target: format!("≤ {TARGET_MS:.0} ms"),
                pass: Some(m <= TARGET_MS),
            }
        };
        let max_rss = rss.iter().copied().fold(0.0, f64::max);
        vec![
            ms_row("fresh database (migrations)", &cold),
            ms_row("database already migrated", &warm),
            Row {
                scenario: format!("P10 RSS at idle after ready (max of {} starts)", rss.len()),
                figure: format!("{max_rss:.1} MiB"),
                reference: "—".into(),
                ratio: None,
                target: format!("≤ {TARGET_MIB:.0} MiB"),
                pass: Some(max_rss <= TARGET_MIB),
            },
        ]
    }

    struct Start {
        ready_ms: f64,
        rss_mib: f64,
    }

    /// `skillgraph serve` on `db`: time to a 200 from `/readyz`, then VmRSS after `IDLE`.
    fn start_once(bin: &Path, db: &Path, log: &Path) -> Start {
        let port = free_port();
        let stderr = File::create(log).expect("cannot create the server log");
        let started = Instant::now();
        let mut child = Command::new(bin)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
            ])
            .arg(db)
            .env("SKILLGRAPH_JWT_SECRET", JWT_SECRET)
            .env_remove("DATABASE_URL")
            .env_remove("SKILLGRAPH_LISTEN")
            .env_remove("SKILLGRAPH_DEMO")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let ready = loop {
            if is_ready(port) {
                break started.elapsed();
            }
            if let Some(status) = child.try_wait().expect("cannot poll the server") {
                panic!(
                    "the server exited ({status}) before it was ready:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if started.elapsed() > READY_TIMEOUT {
                stop(&mut child);
                panic!(
                    "the server was not ready after {READY_TIMEOUT:?}:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            std::thread::sleep(POLL);
        };
        std::thread::sleep(IDLE);
        let rss_mib = vm_rss_mib(child.id());
        stop(&mut child);
        Start {
            ready_ms: ready.as_secs_f64() * 1e3,
            rss_mib,
        }
    }

    /// Whether `GET /readyz` answers 200.
    fn is_ready(port: u16) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut status = [0u8; 12];
        stream.read_exact(&mut status).is_ok() && &status[9..12] == b"200"
    }

    /// SIGTERM (the server drains and exits), SIGKILL if it has not exited within 5 s.
    fn stop(child: &mut Child) {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    fn vm_rss_mib(pid: u32) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .expect("cannot read /proc/<pid>/status");
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("no VmRSS in /proc/<pid>/status");
        kib / 1024.0
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("cannot find a free port")
            .port()
    }

    /// The `skillgraph` binary: the one `cargo bench` built for this bench (with the bench
    /// profile, i.e. release), else `target/release/skillgraph`, built if missing.
    fn server_binary() -> PathBuf {
        if let Some(path) = option_env!("CARGO_BIN_EXE_skillgraph")
            .map(PathBuf::from)
            .filter(|p| p.exists())
        {
            return path;
        }
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| manifest.join("target"), PathBuf::from);
        let path = target.join("release").join("skillgraph");
        if !path.exists() {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--release", "--bin", "skillgraph"])
                .current_dir(manifest)
                .status()
                .expect("cannot run cargo");
            assert!(
                status.success(),
                "cargo build --release --bin skillgraph failed"
            );
        }
        path
    }
}

/// Thread placement (Linux `sched_{get,set}affinity`; elsewhere a no-op).
mod affinity {
    /// The CPUs this process may run on.
    #[cfg(target_os = "linux")]
    pub fn allowed() -> Vec<usize> {
        // SAFETY: `set` is a plain bit set, zero-initialised and sized as the call expects.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Vec::new();
            }
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect()
        }
    }

    /// Restricts the calling thread (and threads it starts later) to `cpus`.
    #[cfg(target_os = "linux")]
    pub fn pin_current_thread(cpus: &[usize]) {
        // SAFETY: as above; pid 0 is the calling thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &c in cpus {
                libc::CPU_SET(c, &mut set);
            }
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                eprintln!("warning: cannot pin a thread to cores {cpus:?}");
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn allowed() -> Vec<usize> {
        Vec::new()
    }

    #[cfg(not(target_os = "linux"))]
    pub fn pin_current_thread(_: &[usize]) {}
}

/// One line of the final table.
struct Row {
    scenario: String,
    figure: String,
    reference: String,
    ratio: Option<f64>,
    target: String,
    /// `None` when the figure has no target.
    pass: Option<bool>,
}

mod table {
    use super::Row;

    pub fn print(rows: &[Row]) {
        let header = [
            "scenario",
            "figure",
            "reference (same run)",
            "ratio",
            "target",
            "pass?",
        ]
        .map(String::from);
        let cells: Vec<[String; 6]> = rows
            .iter()
            .map(|r| {
                [
                    r.scenario.clone(),
                    r.figure.clone(),
                    r.reference.clone(),
                    r.ratio.map_or_else(|| "—".into(), |x| format!("{x:.2}")),
                    r.target.clone(),
                    match r.pass {
                        Some(true) => "yes".into(),
                        Some(false) => "NO".into(),
                        None => "—".into(),
                    },
                ]
            })
            .collect();
        let mut widths = [0usize; 6];
        for row in std::iter::once(&header).chain(&cells) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |row: &[String; 6]| {
            let padded: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        line(&header);
        println!("|{}|", widths.map(|w| "-".repeat(w + 2)).join("|"));
        for row in &cells {
            line(row);
        }
    }
}

/// P1–P3: the engine under a big org. Service calls run on the server runtime; references are
/// raw SQL of the same rows on the same database, in transactions rolled back (P1's reference
/// commits, as the subject does).
mod engine_bench {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    use skillgraph::service::viewer::OrgRole;
    use skillgraph::service::viewer::Viewer;
    use skillgraph::service::{course, engine, membership, rule};

    use super::*;

    fn viewer(org: &seed::Org) -> Viewer {
        Viewer::new(org.org_id, org.owner_id, OrgRole::Owner)
    }

    async fn new_course(org: &seed::Org, title: &str) -> Uuid {
        course::create(
            &org.state,
            &viewer(org),
            course::NewCourse {
                title: title.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("create course: {e:?}"))
        .id
    }

    async fn ids(org: &seed::Org, sql: &str) -> Vec<Uuid> {
        let db = &org.state.db.read;
        let rows = db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                [org.org_id.into()],
            ))
            .await
            .expect("query");
        rows.iter()
            .map(|r| r.try_get_by_index::<Uuid>(0).expect("uuid"))
            .collect()
    }

    fn ms(d: Duration) -> f64 {
        d.as_secs_f64() * 1000.0
    }

    fn pct(values: &mut [f64], p: f64) -> f64 {
        values.sort_by(|a, b| a.total_cmp(b));
        values[((values.len() as f64 - 1.0) * p).round() as usize]
    }

    /// P2 and P3: a policy change reaching the whole organization, its idempotent re-run, and
    /// its preview.
    pub fn policy_change(env: &mut Env) -> Vec<Row> {
        let org = env.learning_org();
        let rounds = env.cfg.rounds;
        env.on_server(async move {
            let v = viewer(&org);
            let root = ids(&org, "SELECT id FROM org_groups WHERE org_id = ? AND parent_id IS NULL").await[0];
            let first = new_course(&org, "Baseline course").await;
            let started = Instant::now();
            let (r, out) = rule::create(
                &org.state,
                &v,
                rule::RuleSpec {
                    name: "Everyone".into(),
                    audience: rule::Audience {
                        group_id: Some(root),
                        include_subgroups: true,
                        ..Default::default()
                    },
                    courses: vec![rule::BundleItem {
                        course_id: first,
                        unlock_after_days: None,
                        due_after_days: Some(30),
                    }],
                    on_exit: rule::ExitPolicy::Withdraw,
                    active: true,
                    track_id: None,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("create rule: {e:?}"));
            println!(
                "P2 setup: createRule assigned {} in {:.2} s",
                thousands(out.created.len() as f64),
                started.elapsed().as_secs_f64()
            );
            let mut bundle = vec![rule::BundleItem {
                course_id: first,
                unlock_after_days: None,
                due_after_days: Some(30),
            }];
            let (mut subject_rate, mut reference_rate, mut subject_secs, mut rerun_secs, mut preview_ratio) =
                (vec![], vec![], vec![], vec![], vec![]);
            let mut full_secs = vec![];
            for round in 0..rounds {
                let added = new_course(&org, &format!("Policy {round}")).await;
                let mut next = bundle.clone();
                next.push(rule::BundleItem {
                    course_id: added,
                    unlock_after_days: None,
                    due_after_days: Some(30),
                });
                // P3: the preview of the change, before it is made.
                let spec = rule::RuleSpec {
                    name: "Everyone".into(),
                    audience: rule::Audience {
                        group_id: Some(root),
                        include_subgroups: true,
                        ..Default::default()
                    },
                    courses: next.clone(),
                    on_exit: rule::ExitPolicy::Withdraw,
                    active: true,
                    track_id: None,
                };
                let t = Instant::now();
                let impact = rule::preview(&org.state, &v, spec, Some(r.id), 20)
                    .await
                    .unwrap_or_else(|e| panic!("preview: {e:?}"));
                let preview = t.elapsed();
                // The reference: the same rows with raw set-based SQL, rolled back.
                let reference_course = new_course(&org, &format!("Reference {round}")).await;
                let t = Instant::now();
                let tx = org.state.db.write.begin().await.expect("begin");
                let ms_now = chrono::Utc::now().timestamp_millis();
                let now = ms_now * 1000;
                let uuid = format!(
                    "unhex(printf('%012X', {ms_now}) || '7' || substr(hex(randomblob(2)), 2, 3) || substr('89AB', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(8)), 2, 15))"
                );
                let org_hex = hex(org.org_id);
                let course_hex = hex(reference_course);
                let rule_hex = hex(r.id);
                let root_hex = hex(root);
                let n1 = tx.execute_unprepared(&format!(
                    "INSERT INTO assignments (id, org_id, user_id, course_id, status, kept, assigned_at, due_at, changed_seq) \
                     SELECT {uuid}, x'{org_hex}', m.user_id, x'{course_hex}', 'ASSIGNED', 0, {now}, {now} + 2592000000000, 0 \
                     FROM group_closure gc JOIN memberships m ON m.group_id = gc.descendant_id AND m.until IS NULL \
                     WHERE gc.ancestor_id = x'{root_hex}' ON CONFLICT DO NOTHING"
                )).await.expect("reference assignments").rows_affected();
                let n2 = tx.execute_unprepared(&format!(
                    "INSERT INTO assignment_reasons (org_id, assignment_id, rule_id, since, due_at, created_at) \
                     SELECT org_id, id, x'{rule_hex}', {now}, due_at, {now} FROM assignments WHERE course_id = x'{course_hex}'"
                )).await.expect("reference reasons").rows_affected();
                let n3 = tx.execute_unprepared(&format!(
                    "INSERT INTO assignment_events (org_id, tx_seq, at, kind, assignment_id, user_id, course_id) \
                     SELECT org_id, 0, {now}, 'ASSIGNED', id, user_id, course_id FROM assignments WHERE course_id = x'{course_hex}'"
                )).await.expect("reference events").rows_affected();
                tx.rollback().await.expect("rollback");
                let reference = t.elapsed();
                // The subject: updateRule adds the course to everyone.
                let t = Instant::now();
                let (_, out) = rule::update(
                    &org.state,
                    &v,
                    r.id,
                    rule::RuleChanges {
                        courses: Some(next.clone()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_or_else(|e| panic!("update rule: {e:?}"));
                let subject = t.elapsed();
                assert_eq!(out.created.len() as u64, n1, "the engine and the reference write the same assignments");
                assert_eq!(impact.assign.first().map_or(0, |c| c.count) as usize, out.created.len(), "the preview matches the change");
                // The idempotent re-run, as a client makes it: the same updateRule again.
                let t = Instant::now();
                let (_, again) = rule::update(
                    &org.state,
                    &v,
                    r.id,
                    rule::RuleChanges {
                        courses: Some(next.clone()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_or_else(|e| panic!("update rule again: {e:?}"));
                let rerun = t.elapsed();
                assert!(again.created.is_empty() && again.withdrawn.is_empty(), "the re-run changes nothing");
                // The engine's safety pass: reconcile every course of the rule for everyone again.
                let t = Instant::now();
                let courses: Vec<_> = next.iter().map(|b| b.course_id).collect();
                let (again, _) = skillgraph::service::unit::system(&org.state, org.org_id, async |w| {
                    skillgraph::service::engine::reconcile(w, engine::Scope::All, Some(courses)).await
                })
                .await
                .unwrap_or_else(|e| panic!("re-run: {e:?}"));
                let full = t.elapsed();
                assert!(again.created.is_empty() && again.withdrawn.is_empty(), "the full reconcile changes nothing");
                let rows = (out.created.len() * 3) as f64;
                println!(
                    "P2 round {}: updateRule {} rows in {:.2} s; reference {} rows in {:.2} s; re-run {:.3} s; full reconcile {:.2} s; preview {:.3} s",
                    round + 1,
                    thousands(rows),
                    subject.as_secs_f64(),
                    thousands((n1 + n2 + n3) as f64),
                    reference.as_secs_f64(),
                    rerun.as_secs_f64(),
                    full.as_secs_f64(),
                    preview.as_secs_f64()
                );
                full_secs.push(full.as_secs_f64());
                subject_rate.push(rows / subject.as_secs_f64());
                reference_rate.push((n1 + n2 + n3) as f64 / reference.as_secs_f64());
                subject_secs.push(subject.as_secs_f64());
                rerun_secs.push(rerun.as_secs_f64());
                preview_ratio.push(preview.as_secs_f64() / subject.as_secs_f64());
                bundle = next;
            }
            let ratios: Vec<f64> = subject_rate.iter().zip(&reference_rate).map(|(s, r)| s / r).collect();
            let ratio = median(&ratios);
            let secs = median(&subject_secs);
            let rerun = median(&rerun_secs);
            let p3 = median(&preview_ratio);
            vec![
                Row {
                    scenario: "P2 updateRule adds a course to everyone (rows/s, side rows included)".into(),
                    figure: format!("{} rows/s", thousands(median(&subject_rate))),
                    reference: format!("{} rows/s raw INSERT…SELECT", thousands(median(&reference_rate))),
                    ratio: Some(ratio),
                    target: "≥ 0.5×".into(),
                    pass: Some(ratio >= 0.5),
                },
                Row {
                    scenario: "P2 updateRule wall time".into(),
                    figure: format!("{secs:.2} s"),
                    reference: "—".into(),
                    ratio: None,
                    target: "≤ 2 s".into(),
                    pass: Some(secs <= 2.0),
                },
                Row {
                    scenario: "P2 idempotent re-run (the same updateRule again)".into(),
                    figure: format!("{rerun:.3} s"),
                    reference: "—".into(),
                    ratio: None,
                    target: "≤ 0.2 s".into(),
                    pass: Some(rerun <= 0.2),
                },
                Row {
                    scenario: "P2 engine safety pass: reconcile the rule's courses for everyone".into(),
                    figure: format!("{:.2} s", median(&full_secs)),
                    reference: "—".into(),
                    ratio: None,
                    target: "—".into(),
                    pass: None,
                },
                Row {
                    scenario: "P3 previewRule of that change".into(),
                    figure: format!("{:.3} × P2's time", p3),
                    reference: format!("P2 {secs:.2} s"),
                    ratio: Some(p3),
                    target: "≤ 0.1×".into(),
                    pass: Some(p3 <= 0.1),
                },
            ]
        })
    }

    fn hex(id: Uuid) -> String {
        id.simple().to_string()
    }

    /// P1: one addMembership into a group whose rule assigns 10 courses, against a raw
    /// transaction writing the same rows (membership, 10 assignments, reasons, events, audit).
    pub fn join_group(env: &mut Env) -> Vec<Row> {
        let org = env.learning_org();
        let rounds = env.cfg.rounds;
        let state = org.state.clone();
        let token = org.owner_token.clone();
        let (mut rows, target, users, r50) = env.on_server(async move {
            let v = viewer(&org);
            // Two leaf groups: the rule's audience is the target's own members, so everyone joining
            // it from elsewhere enters the audience.
            let groups = ids(
                &org,
                "SELECT g.id FROM org_groups g WHERE g.org_id = ? \
                 AND NOT EXISTS (SELECT 1 FROM org_groups c WHERE c.parent_id = g.id) ORDER BY g.id LIMIT 2",
            )
            .await;
            let (target, reference_group) = (groups[0], groups[1]);
            let mut bundle = Vec::new();
            for i in 0..10 {
                bundle.push(rule::BundleItem {
                    course_id: new_course(&org, &format!("Join course {i}")).await,
                    unlock_after_days: None,
                    due_after_days: Some(14),
                });
            }
            let (r, _) = rule::create(
                &org.state,
                &v,
                rule::RuleSpec {
                    name: "Joiners".into(),
                    audience: rule::Audience {
                        group_id: Some(target),
                        include_subgroups: true,
                        ..Default::default()
                    },
                    courses: bundle.clone(),
                    on_exit: rule::ExitPolicy::Withdraw,
                    active: true,
                    track_id: None,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("create rule: {e:?}"));
            let per_round = 100usize;
            let users = ids(
                &org,
                &format!(
                    "SELECT u.id FROM users u WHERE u.org_id = ? AND u.id NOT IN \
                     (SELECT m.user_id FROM memberships m WHERE m.until IS NULL AND m.group_id IN (x'{}', x'{}')) \
                     ORDER BY u.id LIMIT 100000",
                    hex(target),
                    hex(reference_group)
                ),
            )
            .await;
            let mut subject = Vec::new();
            let mut reference = Vec::new();
            let mut next = 0usize;
            for _ in 0..rounds {
                for _ in 0..per_round {
                    let u = users[next % users.len()];
                    next += 1;
                    // The reference first (rolled back): the same rows, prepared statements, one transaction.
                    let t = Instant::now();
                    let tx = org.state.db.write.begin().await.expect("begin");
                    let now = chrono::Utc::now().timestamp_micros();
                    let b = tx.get_database_backend();
                    let st = |sql: &str, vals: Vec<sea_orm::Value>| sea_orm::Statement::from_sql_and_values(b, sql, vals);
                    tx.execute_raw(st("UPDATE organizations SET write_seq = write_seq + 1 WHERE id = ?", vec![org.org_id.into()])).await.expect("seq");
                    tx.execute_raw(st(
                        "INSERT INTO memberships (id, org_id, user_id, group_id, since, until, created_at, recorded_seq) VALUES (?, ?, ?, ?, ?, NULL, ?, 0)",
                        vec![Uuid::now_v7().into(), org.org_id.into(), u.into(), reference_group.into(), now.into(), now.into()],
                    ))
                    .await
                    .expect("membership");
                    for item in &bundle {
                        let a = Uuid::now_v7();
                        tx.execute_raw(st(
                            "INSERT INTO assignments (id, org_id, user_id, course_id, status, kept, assigned_at, due_at, changed_seq) VALUES (?, ?, ?, ?, 'ASSIGNED', 0, ?, ?, 0)",
                            vec![a.into(), org.org_id.into(), u.into(), item.course_id.into(), now.into(), (now + 14 * 86_400_000_000).into()],
                        ))
                        .await
                        .ok();
                        tx.execute_raw(st(
                            "INSERT INTO assignment_reasons (org_id, assignment_id, rule_id, since, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                            vec![org.org_id.into(), a.into(), r.id.into(), now.into(), now.into(), now.into()],
                        ))
                        .await
                        .ok();
                        tx.execute_raw(st(
                            "INSERT INTO assignment_events (org_id, tx_seq, at, kind, assignment_id, user_id, course_id) VALUES (?, 0, ?, 'ASSIGNED', ?, ?, ?)",
                            vec![org.org_id.into(), now.into(), a.into(), u.into(), item.course_id.into()],
                        ))
                        .await
                        .ok();
                    }
                    tx.execute_raw(st(
                        "INSERT INTO audit_events (id, org_id, at, actor_type, actor_id, action, subject_type, subject_id) VALUES (?, ?, ?, 'USER', ?, 'MEMBERSHIP_ADDED', 'USER', ?)",
                        vec![Uuid::now_v7().into(), org.org_id.into(), now.into(), org.owner_id.into(), u.into()],
                    ))
                    .await
                    .expect("audit");
                    tx.rollback().await.expect("rollback");
                    reference.push(ms(t.elapsed()));
                    let t = Instant::now();
                    let added = membership::add(&org.state, &v, u, target, None).await.unwrap_or_else(|e| panic!("add: {e:?}"));
                    subject.push(ms(t.elapsed()));
                    assert_eq!(added.outcome.created.len(), 10, "ten assignments per join");
                }
            }
            let (p50, p99) = (pct(&mut subject.clone(), 0.5), pct(&mut subject.clone(), 0.99));
            let (r50, r99) = (pct(&mut reference.clone(), 0.5), pct(&mut reference.clone(), 0.99));
            let rest: Vec<Uuid> = (0..per_round * rounds).map(|i| users[(next + i) % users.len()]).collect();
            let rows = vec![
                Row {
                    scenario: "P1 addMembership → 10 assignments (service) p50".into(),
                    figure: format!("{p50:.2} ms"),
                    reference: format!("{r50:.2} ms raw transaction"),
                    ratio: Some(p50 / r50),
                    target: "≤ 5×".into(),
                    pass: Some(p50 / r50 <= 5.0),
                },
                Row {
                    scenario: "P1 addMembership p99".into(),
                    figure: format!("{p99:.2} ms"),
                    reference: format!("{r99:.2} ms raw transaction"),
                    ratio: Some(p99 / r99),
                    target: "≤ 5 ms".into(),
                    pass: Some(p99 <= 5.0),
                },
            ];
            (rows, target, rest, r50)
        });
        // The same through GraphQL over HTTP: one keep-alive connection, one request at a time,
        // from the load generator's core.
        let server =
            env.on_server(async move { net::Server::start(skillgraph::http::router(state)).await });
        let addr = server.addr;
        let mut latencies = env.on_client(async move {
            let mut conn = net::HttpConn::connect(addr).await.expect("connect");
            let authorization = axum::http::HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
            let mut out = Vec::new();
            for u in users {
                let body = serde_json::json!({
                    "query": "mutation($i: AddMembershipInput!) { addMembership(input: $i) { membership { id } assignmentsCreated { id } } }",
                    "variables": { "i": { "userId": u, "groupId": target } }
                });
                let spec = net::RequestSpec {
                    path: "/graphql".into(),
                    authorization: authorization.clone(),
                    body: axum::body::Bytes::from(serde_json::to_vec(&body).expect("json")),
                };
                let t = Instant::now();
                let (status, bytes) = conn.send(&spec).await.expect("the server answers");
                out.push(ms(t.elapsed()));
                let v: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON body");
                assert!(status.is_success() && v.get("errors").is_none(), "addMembership over HTTP failed: {v}");
                assert_eq!(v["data"]["addMembership"]["assignmentsCreated"].as_array().map(Vec::len), Some(10));
            }
            out
        });
        server.stop();
        let (p50, p99) = (pct(&mut latencies, 0.5), pct(&mut latencies, 0.99));
        rows.push(Row {
            scenario: "P1 addMembership over HTTP (GraphQL) p50".into(),
            figure: format!("{p50:.2} ms"),
            reference: format!("{r50:.2} ms raw transaction"),
            ratio: Some(p50 / r50),
            target: "≤ 5×".into(),
            pass: Some(p50 / r50 <= 5.0),
        });
        rows.push(Row {
            scenario: "P1 addMembership over HTTP p99".into(),
            figure: format!("{p99:.2} ms"),
            reference: "—".into(),
            ratio: None,
            target: "≤ 5 ms".into(),
            pass: Some(p99 <= 5.0),
        });
        rows
    }
}

/// P4: `complianceReport` for the root group of the big org with its learning history
/// (`seed::learning`): the summary now (from the per-user summaries the engine and completions
/// keep current), the summary as of a past date (from history), and the first page of 100 users,
/// through the GraphQL schema in process. The reference is one hand-written SQL aggregate of the
/// same numbers over the same rows; the subject's counts must equal it.
mod compliance_bench {
    use sea_orm::ConnectionTrait;
    use skillgraph::service::viewer::OrgRole;
    use skillgraph::service::viewer::Viewer;

    use super::*;

    const DAY: i64 = 86_400_000_000;
    const NEVER: i64 = i64::MAX / 2;
    const WARNING: i64 = 30 * DAY;

    const SUMMARY: &str = "query($g: ID!, $at: DateTime) { complianceReport(filter: { groupId: $g }, asOf: $at) { total compliant atRisk pending nonCompliant } }";
    const PAGE: &str = "query($g: ID!) { complianceReport(filter: { groupId: $g }) { users(first: 100) { edges { cursor node { user { id name } status items { course { title } status dueAt completedAt expiresAt } } } pageInfo { hasNextPage } } } }";

    /// The hand-written aggregate: per user of the root group at `t`, the worst state over the
    /// courses required at `t`, counted by state (total, compliant, at risk, pending, non-compliant).
    fn reference_sql(org: Uuid, root: Uuid, t: i64) -> String {
        let (org, root, soon) = (
            format!("x'{}'", org.simple()),
            format!("x'{}'", root.simple()),
            t + WARNING,
        );
        format!(
            "SELECT COUNT(*), \
                    COALESCE(SUM(CASE WHEN w = 0 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN w = 2 THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN w = 1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN w >= 3 THEN 1 ELSE 0 END), 0) \
             FROM (SELECT p.user_id, MAX(CASE WHEN p.done IS NOT NULL AND p.best > {soon} THEN 0 \
                                              WHEN p.done IS NOT NULL AND p.best > {t} THEN 2 \
                                              WHEN p.done IS NOT NULL THEN 4 \
                                              WHEN p.due IS NOT NULL AND p.due <= {t} THEN 3 ELSE 1 END) AS w \
                   FROM (SELECT r.user_id, r.course_id, \
                                (SELECT MAX(c.completed_at) FROM completions c WHERE c.user_id = r.user_id AND c.course_id = r.course_id AND c.completed_at <= {t}) AS done, \
                                (SELECT MAX(COALESCE(c.expires_at, {NEVER})) FROM completions c WHERE c.user_id = r.user_id AND c.course_id = r.course_id AND c.completed_at <= {t}) AS best, \
                                r.due \
                         FROM (SELECT a.user_id, a.course_id, \
                                      MIN(CASE WHEN a.completed_at IS NULL OR a.completed_at > {t} THEN a.due_at END) AS due \
                               FROM users u JOIN memberships m ON m.user_id = u.id AND m.since <= {t} AND (m.until IS NULL OR m.until > {t}) \
                               JOIN group_closure gc ON gc.descendant_id = m.group_id AND gc.ancestor_id = {root} \
                               JOIN assignments a ON a.user_id = u.id AND a.assigned_at <= {t} AND (a.withdrawn_at IS NULL OR a.withdrawn_at > {t}) \
                               JOIN assignment_reasons ar ON ar.assignment_id = a.id AND ar.created_at <= {t} AND (ar.until IS NULL OR ar.until > {t}) \
                               WHERE u.org_id = {org} AND u.created_at <= {t} AND (u.deactivated_at IS NULL OR u.deactivated_at > {t}) \
                               GROUP BY a.user_id, a.course_id) r) p \
                   GROUP BY p.user_id) x"
        )
    }

    async fn reference(org: &seed::Org, root: Uuid, t: i64) -> [i64; 5] {
        let db = &org.state.db.read;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                reference_sql(org.org_id, root, t),
            ))
            .await
            .expect("reference aggregate")
            .expect("one row");
        [0, 1, 2, 3, 4].map(|i| row.try_get_by_index::<i64>(i).expect("a count"))
    }

    async fn gql(
        schema: &skillgraph::graphql::AppSchema,
        org: &seed::Org,
        query: &str,
        vars: serde_json::Value,
    ) -> serde_json::Value {
        let viewer = Viewer::new(org.org_id, org.owner_id, OrgRole::Owner);
        let request =
            async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(vars));
        let response = skillgraph::graphql::execute_as(schema, &org.state, viewer, request).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        serde_json::to_value(&response.data).expect("json")
    }

    fn counts(v: &serde_json::Value) -> [i64; 5] {
        let r = &v["complianceReport"];
        ["total", "compliant", "atRisk", "pending", "nonCompliant"]
            .map(|k| r[k].as_i64().expect("a count"))
    }

    fn rfc3339(micros: i64) -> String {
        chrono::DateTime::from_timestamp_micros(micros)
            .expect("a valid instant")
            .to_rfc3339()
    }

    pub fn report(env: &mut Env) -> Vec<Row> {
        let org = env.learning_org();
        let rounds = env.cfg.rounds;
        env.on_server(async move {
            let schema = skillgraph::build_schema(&org.state.settings);
            // Earlier scenarios may leave a long WAL behind (P2 writes 300,000 rows); measure
            // reads of the database at rest, as a server's background checkpoints leave it.
            org.state
                .db
                .write
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .expect("checkpoint");
            let db = &org.state.db.read;
            let root = db
                .query_one_raw(sea_orm::Statement::from_sql_and_values(
                    db.get_database_backend(),
                    "SELECT id FROM org_groups WHERE org_id = ? AND parent_id IS NULL",
                    [org.org_id.into()],
                ))
                .await
                .expect("root")
                .expect("a root")
                .try_get_by_index::<Uuid>(0)
                .expect("uuid");
            let now = org.state.clock.now().timestamp_micros();
            let past = now - 90 * DAY;
            let g = root.to_string();
            let (mut now_ratio, mut past_ratio) = (vec![], vec![]);
            let (mut now_ms, mut past_ms, mut now_ref_ms, mut past_ref_ms) =
                (vec![], vec![], vec![], vec![]);
            for round in 0..rounds {
                let subject_first = round % 2 == 1;
                for (at, ratios, ms, ref_ms) in [
                    (None, &mut now_ratio, &mut now_ms, &mut now_ref_ms),
                    (Some(past), &mut past_ratio, &mut past_ms, &mut past_ref_ms),
                ] {
                    let t_ref = at.unwrap_or_else(|| org.state.clock.now().timestamp_micros());
                    let vars = serde_json::json!({ "g": g, "at": at.map(rfc3339) });
                    let (mut subject, mut reference_t) = (Duration::ZERO, Duration::ZERO);
                    let (mut got, mut want) = ([0; 5], [0; 5]);
                    for side in 0..2 {
                        if (side == 0) == subject_first {
                            let t = Instant::now();
                            got = counts(&gql(&schema, &org, SUMMARY, vars.clone()).await);
                            subject = t.elapsed();
                        } else {
                            let t = Instant::now();
                            want = reference(&org, root, t_ref).await;
                            reference_t = t.elapsed();
                        }
                    }
                    assert_eq!(
                        got, want,
                        "complianceReport and the reference aggregate agree (asOf {at:?})"
                    );
                    println!(
                        "P4 round {} {}: report {:.1} ms, reference {:.1} ms; counts {got:?}",
                        round + 1,
                        if at.is_some() {
                            "as of 90 days ago"
                        } else {
                            "now"
                        },
                        subject.as_secs_f64() * 1000.0,
                        reference_t.as_secs_f64() * 1000.0
                    );
                    ratios.push(subject.as_secs_f64() / reference_t.as_secs_f64());
                    ms.push(subject.as_secs_f64() * 1000.0);
                    ref_ms.push(reference_t.as_secs_f64() * 1000.0);
                }
            }
            // The first page: 100 users with their items, many times.
            let mut page_ms = Vec::new();
            let vars = serde_json::json!({ "g": g });
            for i in 0..(50 * rounds) {
                let t = Instant::now();
                let v = gql(&schema, &org, PAGE, vars.clone()).await;
                page_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                if i == 0 {
                    let edges = v["complianceReport"]["users"]["edges"]
                        .as_array()
                        .map_or(0, Vec::len);
                    assert_eq!(edges, 100, "a full first page");
                }
            }
            page_ms.sort_by(|a, b| a.total_cmp(b));
            let p = |q: f64| page_ms[((page_ms.len() as f64 - 1.0) * q).round() as usize];
            let (p50, p99) = (p(0.5), p(0.99));
            let (rn, rp) = (median(&now_ratio), median(&past_ratio));
            vec![
                Row {
                    scenario: "P4 complianceReport summary now (root, 100k users)".into(),
                    figure: format!("{:.1} ms", median(&now_ms)),
                    reference: format!("{:.1} ms SQL aggregate", median(&now_ref_ms)),
                    ratio: Some(rn),
                    target: "≤ 0.25×".into(),
                    pass: Some(rn <= 0.25),
                },
                Row {
                    scenario: "P4 complianceReport summary as of 90 days ago".into(),
                    figure: format!("{:.1} ms", median(&past_ms)),
                    reference: format!("{:.1} ms SQL aggregate", median(&past_ref_ms)),
                    ratio: Some(rp),
                    target: "≤ 1.5×".into(),
                    pass: Some(rp <= 1.5),
                },
                Row {
                    scenario: "P4 first page of 100 users with their items p99".into(),
                    figure: format!("{p99:.1} ms (p50 {p50:.1} ms)"),
                    reference: "—".into(),
                    ratio: None,
                    target: "≤ 20 ms".into(),
                    pass: Some(p99 <= 20.0),
                },
            ]
        })
    }
}
