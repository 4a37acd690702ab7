//! Benchmarks P5a, P5b and P8 of PERFORMANCE.md: role matches for one user against 1,000 roles,
//! the match of 100,000 users against one role, and the CSV import of 10,000 roles × 8 skills.
//! Each is measured against a hand-written SQL reference in the same run, over 3 alternating
//! rounds; the table shows the median ratio.
//!
//!     cargo bench --bench roles
//!     SKILLGRAPH_BENCH_SCALE=0.1 cargo bench --bench roles        # a tenth of the data
//!     SKILLGRAPH_BENCH_DATABASE_URL=postgres://…/postgres cargo bench --bench roles
//!     SKILLGRAPH_BENCH_ONLY=P8 cargo bench --bench roles          # some scenarios only
//!     SKILLGRAPH_BENCH_SQLITE=false …                              # PostgreSQL only
//!
//! Data is seeded with bulk SQL (multi-row inserts), not through the API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait, Value};
use skillgraph::clock::SystemClock;
use skillgraph::jwt::JwtKeys;
use skillgraph::service::matching::{self, MatchFilter};
use skillgraph::service::page::PageRequest;
use skillgraph::service::role_import::{self, Silent};
use skillgraph::service::viewer::OrgRole;
use skillgraph::service::viewer::Viewer;
use skillgraph::state::{AppState, Settings};
use uuid::Uuid;

/// A small deterministic generator (no dependency needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Sizes {
    users: usize,
    skills_per_user: usize,
    roles: usize,
    skills: usize,
    skills_per_role: usize,
    import_roles: usize,
}

impl Sizes {
    fn from_env() -> Sizes {
        let scale: f64 = std::env::var("SKILLGRAPH_BENCH_SCALE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1.0);
        let n = |full: usize| ((full as f64 * scale).round() as usize).max(10);
        Sizes {
            users: n(100_000),
            skills_per_user: 10,
            roles: n(1_000),
            skills: n(2_000).max(20),
            skills_per_role: 8,
            import_roles: n(10_000),
        }
    }
}

async fn exec(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}: {}", &sql[..sql.len().min(200)]));
}

/// Multi-row inserts of `rows` into `table (columns)`, 500 rows a statement.
async fn bulk(db: &impl ConnectionTrait, table: &str, columns: &[&str], rows: Vec<Vec<Value>>) {
    for chunk in rows.chunks(500) {
        let mut values = Vec::with_capacity(chunk.len() * columns.len());
        let mut tuples = Vec::with_capacity(chunk.len());
        for row in chunk {
            let start = values.len();
            values.extend(row.iter().cloned());
            let marks: Vec<String> = (start + 1..=values.len())
                .map(|i| format!("${i}"))
                .collect();
            tuples.push(format!("({})", marks.join(", ")));
        }
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(", "),
            tuples.join(", ")
        );
        exec(db, &sql, values).await;
    }
}

struct World {
    state: AppState,
    org: Uuid,
    viewer: Viewer,
    user: Uuid,
    role: Uuid,
}

async fn seed(url: &str, sizes: &Sizes) -> World {
    let state = skillgraph::build_state(
        url,
        JwtKeys::hs256(b"bench-secret-bench-secret-bench-secret"),
        Arc::new(SystemClock),
        Settings::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("build state: {}", e.message()));
    let created = skillgraph::service::org::create(
        &state,
        "Bench",
        &format!("owner-{}@bench.example", Uuid::now_v7().simple()),
        "Owner",
    )
    .await
    .unwrap_or_else(|e| panic!("org: {}", e.message()));
    let org = created.org.id;
    let now = chrono::Utc::now().timestamp_micros();
    let started = Instant::now();
    let mut rng = Lcg(42);
    let tx = state.db.write.begin().await.unwrap();
    let skills: Vec<Uuid> = (0..sizes.skills).map(|_| Uuid::now_v7()).collect();
    bulk(
        &tx,
        "skills",
        &[
            "id",
            "org_id",
            "name",
            "name_norm",
            "created_at",
            "updated_at",
        ],
        skills
            .iter()
            .enumerate()
            .map(|(i, id)| {
                vec![
                    (*id).into(),
                    org.into(),
                    format!("Skill {i:05}").into(),
                    format!("skill {i:05}").into(),
                    now.into(),
                    now.into(),
                ]
            })
            .collect(),
    )
    .await;
    let categories: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    bulk(
        &tx,
        "role_categories",
        &[
            "id",
            "org_id",
            "name",
            "name_norm",
            "featured",
            "created_at",
            "updated_at",
        ],
        categories
            .iter()
            .enumerate()
            .map(|(i, id)| {
                vec![
                    (*id).into(),
                    org.into(),
                    format!("Category {i}").into(),
                    format!("category {i}").into(),
                    true.into(),
                    now.into(),
                    now.into(),
                ]
            })
            .collect(),
    )
    .await;
    let roles: Vec<Uuid> = (0..sizes.roles).map(|_| Uuid::now_v7()).collect();
    bulk(
        &tx,
        "roles",
        &[
            "id",
            "org_id",
            "name",
            "name_norm",
            "category_id",
            "responsibilities",
            "created_at",
            "updated_at",
        ],
        roles
            .iter()
            .enumerate()
            .map(|(i, id)| {
                vec![
                    (*id).into(),
                    org.into(),
                    format!("Role {i:05}").into(),
                    format!("role {i:05}").into(),
                    categories[i % categories.len()].into(),
                    "[]".into(),
                    now.into(),
                    now.into(),
                ]
            })
            .collect(),
    )
    .await;
    let mut role_skills = Vec::new();
    for role in &roles {
        let mut picked = std::collections::HashSet::new();
        while picked.len() < sizes.skills_per_role {
            picked.insert(rng.below(skills.len()));
        }
        for (pos, s) in picked.into_iter().enumerate() {
            let level: Option<i32> = match rng.below(6) {
                0 => None,
                l => Some(l as i32),
            };
            role_skills.push(vec![
                org.into(),
                (*role).into(),
                skills[s].into(),
                level.into(),
                (pos as i32).into(),
            ]);
        }
    }
    bulk(
        &tx,
        "role_skills",
        &["org_id", "role_id", "skill_id", "level", "position"],
        role_skills,
    )
    .await;
    let users: Vec<Uuid> = (0..sizes.users).map(|_| Uuid::now_v7()).collect();
    for chunk in users.chunks(10_000) {
        bulk(
            &tx,
            "users",
            &[
                "id",
                "org_id",
                "email",
                "email_norm",
                "name",
                "attributes",
                "active",
                "created_at",
                "updated_at",
            ],
            chunk
                .iter()
                .map(|id| {
                    let email = format!("{}@bench.example", id.simple());
                    vec![
                        (*id).into(),
                        org.into(),
                        email.clone().into(),
                        email.into(),
                        "Bench User".into(),
                        "{}".into(),
                        true.into(),
                        now.into(),
                        now.into(),
                    ]
                })
                .collect(),
        )
        .await;
        let mut rated = Vec::with_capacity(chunk.len() * sizes.skills_per_user);
        for user in chunk {
            let mut picked = std::collections::HashSet::new();
            while picked.len() < sizes.skills_per_user {
                picked.insert(rng.below(skills.len()));
            }
            for s in picked {
                rated.push(vec![
                    org.into(),
                    (*user).into(),
                    skills[s].into(),
                    Some(1 + rng.below(5) as i32).into(),
                    "MANAGER".into(),
                    now.into(),
                    now.into(),
                ]);
            }
        }
        bulk(
            &tx,
            "user_skills",
            &[
                "org_id",
                "user_id",
                "skill_id",
                "level",
                "source",
                "rated_at",
                "created_at",
            ],
            rated,
        )
        .await;
    }
    tx.commit().await.unwrap();
    exec(&state.db.write, "ANALYZE", vec![]).await;
    eprintln!(
        "seeded {} users × {} skills, {} roles × {} skills of {} in {:.1} s",
        sizes.users,
        sizes.skills_per_user,
        sizes.roles,
        sizes.skills_per_role,
        sizes.skills,
        started.elapsed().as_secs_f64()
    );
    World {
        viewer: Viewer::new(org, created.owner.id, OrgRole::Admin),
        user: users[users.len() / 2],
        role: roles[roles.len() / 2],
        state,
        org,
    }
}

/// Mean time of `n` calls of `f`.
async fn time<F, Fut>(n: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    for _ in 0..n {
        f().await;
    }
    started.elapsed() / n as u32
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Row {
    id: &'static str,
    scenario: String,
    figure: String,
    reference: String,
    ratio: f64,
    target: &'static str,
}

const ROUNDS: usize = 3;

async fn p5a(w: &World, db_name: &str) -> Row {
    let db = &w.state.db.read;
    let page = PageRequest::new(Some(50), None).unwrap();
    let reference_sql = "SELECT r.id, r.name_norm, COUNT(rs.skill_id) AS required, \
           SUM(CASE WHEN us.level >= COALESCE(rs.level, 1) THEN 1 ELSE 0 END) AS met \
         FROM roles r LEFT JOIN role_skills rs ON rs.role_id = r.id \
         LEFT JOIN user_skills us ON us.user_id = $2 AND us.skill_id = rs.skill_id \
         WHERE r.org_id = $1 GROUP BY r.id, r.name_norm \
         ORDER BY CASE WHEN COUNT(rs.skill_id) = 0 THEN -1 \
                  ELSE SUM(CASE WHEN us.level >= COALESCE(rs.level, 1) THEN 1 ELSE 0 END) * 100 / COUNT(rs.skill_id) END DESC, \
                  r.name_norm, r.id LIMIT 51";
    let subject = || async {
        let p = matching::role_matches(db, &w.viewer, w.user, &MatchFilter::default(), &page)
            .await
            .unwrap_or_else(|e| panic!("{}", e.message()));
        assert!(!p.items.is_empty());
    };
    let reference = || async {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                reference_sql,
                vec![w.org.into(), w.user.into()],
            ))
            .await
            .unwrap();
        assert!(!rows.is_empty());
    };
    // Warm up both, and check they agree on the best role.
    subject().await;
    reference().await;
    let (mut subjects, mut references, mut ratios) = (vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        let (s, r) = if round % 2 == 0 {
            let r = time(30, reference).await;
            (time(30, subject).await, r)
        } else {
            let s = time(30, subject).await;
            (s, time(30, reference).await)
        };
        subjects.push(s.as_secs_f64());
        references.push(r.as_secs_f64());
        ratios.push(s.as_secs_f64() / r.as_secs_f64());
    }
    let roles = sql_count(db, "SELECT COUNT(*) FROM roles WHERE org_id = $1", w.org).await;
    Row {
        id: "P5a",
        scenario: format!("roleMatches, 1 user × {roles} roles, first 50 ({db_name})"),
        figure: format!("{:.2} ms", median(subjects) * 1e3),
        reference: format!("{:.2} ms", median(references) * 1e3),
        ratio: median(ratios),
        target: "≤ 2×",
    }
}

async fn p5b(w: &World, db_name: &str) -> Row {
    let db = &w.state.db.read;
    let page = PageRequest::new(Some(50), None).unwrap();
    let reference_sql = "SELECT u.id, COALESCE(m.met, 0) AS met FROM users u \
         LEFT JOIN (SELECT us.user_id, COUNT(*) AS met FROM role_skills rs \
                    JOIN user_skills us ON us.skill_id = rs.skill_id AND us.level >= COALESCE(rs.level, 1) \
                    WHERE rs.role_id = $2 GROUP BY us.user_id) m ON m.user_id = u.id \
         WHERE u.org_id = $1 AND u.active = TRUE ORDER BY COALESCE(m.met, 0) DESC, u.id LIMIT 51";
    let subject = || async {
        let p = matching::user_matches(db, &w.viewer, w.role, None, &page)
            .await
            .unwrap_or_else(|e| panic!("{}", e.message()));
        assert!(!p.items.is_empty());
    };
    let reference = || async {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                reference_sql,
                vec![w.org.into(), w.role.into()],
            ))
            .await
            .unwrap();
        assert!(!rows.is_empty());
    };
    subject().await;
    reference().await;
    let (mut subjects, mut references, mut ratios) = (vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        let (s, r) = if round % 2 == 0 {
            let r = time(5, reference).await;
            (time(5, subject).await, r)
        } else {
            let s = time(5, subject).await;
            (s, time(5, reference).await)
        };
        subjects.push(s.as_secs_f64());
        references.push(r.as_secs_f64());
        ratios.push(s.as_secs_f64() / r.as_secs_f64());
    }
    let users = sql_count(db, "SELECT COUNT(*) FROM users WHERE org_id = $1", w.org).await;
    Row {
        id: "P5b",
        scenario: format!("role.userMatches, {users} users × 1 role, first 50 ({db_name})"),
        figure: format!("{:.1} ms", median(subjects) * 1e3),
        reference: format!("{:.1} ms", median(references) * 1e3),
        ratio: median(ratios),
        target: "≤ 3×",
    }
}

async fn sql_count(db: &DatabaseConnection, sql: &str, org: Uuid) -> i64 {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            vec![org.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// The P8 file: `n` roles, 8 skills each of 2,000, 20 categories, most advancing from the
/// role before.
fn import_file(n: usize, skills: usize) -> String {
    let mut rng = Lcg(7);
    let mut out = String::from("name,description,category,responsibilities,skills,advances_from\n");
    for i in 0..n {
        let mut picked = std::collections::BTreeSet::new();
        while picked.len() < 8 {
            picked.insert(rng.below(skills));
        }
        let skills: Vec<String> = picked
            .iter()
            .map(|s| format!("Skill {s:05}:{}", 1 + rng.below(5)))
            .collect();
        let from = if i % 10 == 0 {
            String::new()
        } else {
            format!("Role {:05}", i - 1)
        };
        out.push_str(&format!(
            "Role {i:05},The role number {i},Category {},Do the work;Report on it;Improve it,{},{from}\n",
            i % 20,
            skills.join(";")
        ));
    }
    out
}

/// The rows P8 writes, built the same way for the reference: (table, columns, rows).
type Rows = Vec<(&'static str, Vec<&'static str>, Vec<Vec<Value>>)>;

fn reference_rows(org: Uuid, n: usize, skills: usize, now: i64) -> Rows {
    let mut rng = Lcg(7);
    let skill_ids: Vec<Uuid> = (0..skills).map(|_| Uuid::now_v7()).collect();
    let categories: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    let roles: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    let mut role_rows = Vec::with_capacity(n);
    let mut skill_rows = Vec::with_capacity(n * 8);
    let mut links = Vec::with_capacity(n);
    for i in 0..n {
        let mut picked = std::collections::BTreeSet::new();
        while picked.len() < 8 {
            picked.insert(rng.below(skills));
        }
        for (pos, s) in picked.iter().enumerate() {
            skill_rows.push(vec![
                org.into(),
                roles[i].into(),
                skill_ids[*s].into(),
                Some(1 + rng.below(5) as i32).into(),
                (pos as i32).into(),
            ]);
        }
        role_rows.push(vec![
            roles[i].into(),
            org.into(),
            format!("Role {i:05}").into(),
            format!("role {i:05}").into(),
            format!("The role number {i}").into(),
            categories[i % 20].into(),
            "[\"Do the work\",\"Report on it\",\"Improve it\"]".into(),
            now.into(),
            now.into(),
        ]);
        if i % 10 != 0 {
            links.push(vec![
                org.into(),
                roles[i - 1].into(),
                roles[i].into(),
                now.into(),
            ]);
        }
    }
    vec![
        (
            "role_categories",
            vec![
                "id",
                "org_id",
                "name",
                "name_norm",
                "featured",
                "created_at",
                "updated_at",
            ],
            categories
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    vec![
                        (*id).into(),
                        org.into(),
                        format!("Category {i}").into(),
                        format!("category {i}").into(),
                        false.into(),
                        now.into(),
                        now.into(),
                    ]
                })
                .collect(),
        ),
        (
            "skills",
            vec![
                "id",
                "org_id",
                "name",
                "name_norm",
                "created_at",
                "updated_at",
            ],
            skill_ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    vec![
                        (*id).into(),
                        org.into(),
                        format!("Skill {i:05}").into(),
                        format!("skill {i:05}").into(),
                        now.into(),
                        now.into(),
                    ]
                })
                .collect(),
        ),
        (
            "roles",
            vec![
                "id",
                "org_id",
                "name",
                "name_norm",
                "description",
                "category_id",
                "responsibilities",
                "created_at",
                "updated_at",
            ],
            role_rows,
        ),
        (
            "role_skills",
            vec!["org_id", "role_id", "skill_id", "level", "position"],
            skill_rows,
        ),
        (
            "role_links",
            vec!["org_id", "from_role_id", "to_role_id", "created_at"],
            links,
        ),
    ]
}

async fn fresh_org(state: &AppState) -> Uuid {
    skillgraph::service::org::create(
        state,
        "Import",
        &format!("owner-{}@bench.example", Uuid::now_v7().simple()),
        "Owner",
    )
    .await
    .unwrap_or_else(|e| panic!("org: {}", e.message()))
    .org
    .id
}

async fn p8(w: &World, sizes: &Sizes, db_name: &str) -> Row {
    let n = sizes.import_roles;
    let skills = sizes.skills;
    let file = import_file(n, skills);
    let (mut subjects, mut references, mut ratios) = (vec![], vec![], vec![]);
    let mut rows_written = 0usize;
    for round in 0..ROUNDS {
        let subject = async {
            let org = fresh_org(&w.state).await;
            let started = Instant::now();
            let report =
                role_import::import_as_system(&w.state, org, file.as_bytes(), false, &Silent)
                    .await
                    .unwrap_or_else(|e| panic!("{}", e.message()));
            let took = started.elapsed();
            assert_eq!(report.roles_created.len(), n);
            (
                took,
                report.roles_created.len()
                    + report.skills_created.len()
                    + report.categories_created.len()
                    + report.links_added
                    + n * 8,
            )
        };
        let reference = async {
            let org = fresh_org(&w.state).await;
            let now = chrono::Utc::now().timestamp_micros();
            let tables = reference_rows(org, n, skills, now);
            let count: usize = tables.iter().map(|(_, _, r)| r.len()).sum();
            let started = Instant::now();
            let tx = w.state.db.write.begin().await.unwrap();
            for (table, columns, rows) in tables {
                bulk(&tx, table, &columns, rows).await;
            }
            tx.commit().await.unwrap();
            (started.elapsed(), count)
        };
        let ((s, s_rows), (r, r_rows)) = if round % 2 == 0 {
            let r = reference.await;
            (subject.await, r)
        } else {
            let s = subject.await;
            (s, reference.await)
        };
        assert_eq!(s_rows, r_rows, "the same rows on both sides");
        rows_written = s_rows;
        let s_rate = s_rows as f64 / s.as_secs_f64();
        let r_rate = r_rows as f64 / r.as_secs_f64();
        subjects.push(s_rate);
        references.push(r_rate);
        ratios.push(s_rate / r_rate);
    }
    Row {
        id: "P8",
        scenario: format!("importRolesCsv, {n} roles × 8 skills ({rows_written} rows, {db_name})"),
        figure: format!("{:.0} rows/s", median(subjects)),
        reference: format!("{:.0} rows/s", median(references)),
        ratio: median(ratios),
        target: "≥ 0.5×",
    }
}

/// Whether `SKILLGRAPH_BENCH_ONLY` (a comma-separated list of ids) selects scenario `id`.
fn selected(id: &str) -> bool {
    match std::env::var("SKILLGRAPH_BENCH_ONLY") {
        Ok(list) if !list.trim().is_empty() => {
            list.split(',').any(|s| s.trim().eq_ignore_ascii_case(id))
        }
        _ => true,
    }
}

async fn run(url: &str, db_name: &str, sizes: &Sizes) -> Vec<Row> {
    let matches = selected("P5a") || selected("P5b");
    // P8 alone needs no people.
    let seeded = if matches {
        seed(url, sizes).await
    } else {
        seed(
            url,
            &Sizes {
                users: 10,
                roles: 10,
                ..Sizes::from_env()
            },
        )
        .await
    };
    let mut rows = Vec::new();
    if selected("P5a") {
        rows.push(p5a(&seeded, db_name).await);
    }
    if selected("P5b") {
        rows.push(p5b(&seeded, db_name).await);
    }
    if selected("P8") {
        rows.push(p8(&seeded, sizes, db_name).await);
    }
    rows
}

async fn postgres_database(base: &str) -> String {
    let name = format!("sg_bench_{}", Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(base).await.expect("connect");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create bench database");
    admin.close().await.ok();
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database");
    format!("{prefix}/{name}")
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("roles: bench");
        return;
    }
    let sizes = Sizes::from_env();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut rows = Vec::new();
    if std::env::var("SKILLGRAPH_BENCH_SQLITE").map_or(true, |v| v != "false" && v != "0") {
        rows.extend(run(&sqlite, "SQLite", &sizes).await);
    }
    if let Ok(base) = std::env::var("SKILLGRAPH_BENCH_DATABASE_URL")
        && !base.is_empty()
    {
        let url = postgres_database(&base).await;
        rows.extend(run(&url, "PostgreSQL", &sizes).await);
    }
    println!();
    println!("| id | scenario | figure | reference | ratio | target |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.2}× | {} |",
            r.id, r.scenario, r.figure, r.reference, r.ratio, r.target
        );
    }
}
