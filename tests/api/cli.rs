//! The `skillgraph` binary itself: `schema`, `token`, `create-org` and `migrate`, run as a user
//! would run them, with a clean environment and an empty working directory.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::json;
use skillgraph::clock::SystemClock;
use skillgraph::graphql::{build_schema, with_request_data};
use skillgraph::jwt::JwtKeys;
use skillgraph::service::viewer::OrgRole;
use skillgraph::state::Settings;
use uuid::Uuid;

use crate::helpers::{fresh_database, is_postgres};

const SECRET: &str = "cli-test-secret-cli-test-secret-0123";

/// What a run of the binary left behind.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `skillgraph args…` in `dir` with none of the variables the CLI reads, except `env`.
fn skillgraph(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skillgraph"));
    cmd.current_dir(dir).args(args).env("RUST_LOG", "warn");
    for var in [
        "DATABASE_URL",
        "SKILLGRAPH_JWT_SECRET",
        "SKILLGRAPH_LISTEN",
        "SKILLGRAPH_DEMO",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the skillgraph binary");
    let run = Run {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "skillgraph {args:?} panicked:\n{}",
        run.stderr
    );
    run
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// A `--database` argument naming a fresh database: a plain SQLite file path in a temp dir, or
/// a new PostgreSQL database when `SKILLGRAPH_TEST_DATABASE_URL` is set.
async fn database_arg() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    if is_postgres() {
        let (url, _) = fresh_database().await;
        (url, dir)
    } else {
        let file = dir.path().join("cli.db");
        (file.display().to_string(), dir)
    }
}

#[test]
fn schema_prints_the_sdl_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    // A database that cannot be reached: `schema` must not even try.
    let run = skillgraph(
        dir.path(),
        &["schema"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing")],
    );
    assert!(run.success, "schema failed: {}", run.stderr);
    assert_eq!(run.stdout, format!("{}\n", skillgraph::sdl()));
    assert_eq!(
        entries(dir.path()),
        Vec::<PathBuf>::new(),
        "no file created"
    );
}

#[test]
fn token_prints_a_jwt_with_the_claims_asked_for_and_touches_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let (org, user) = (Uuid::now_v7(), Uuid::now_v7());
    let db = dir.path().join("never.db").display().to_string();
    let run = skillgraph(
        dir.path(),
        &[
            "token",
            "--org",
            &org.to_string(),
            "--user",
            &user.to_string(),
            "--role",
            "ADMIN",
            "--ttl-hours",
            "2",
        ],
        &[("SKILLGRAPH_JWT_SECRET", SECRET), ("DATABASE_URL", &db)],
    );
    assert!(run.success, "token failed: {}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line, the token: {:?}", run.stdout);
    let token = lines[0];

    let claims = jsonwebtoken::decode::<serde_json::Value>(
        token,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &Validation::new(Algorithm::HS256),
    )
    .expect("a valid HS256 token signed with SKILLGRAPH_JWT_SECRET")
    .claims;
    assert_eq!(claims["sub"], json!(user.to_string()));
    assert_eq!(claims["org"], json!(org.to_string()));
    assert_eq!(claims["role"], "ADMIN");
    let exp = claims["exp"].as_i64().expect("numeric exp");
    let expected = chrono::Utc::now().timestamp() + 2 * 3600;
    assert!(
        (exp - expected).abs() <= 60,
        "exp {exp} is not about now + 2 h ({expected})"
    );
    // The server's own verification accepts it too.
    let verified = JwtKeys::hs256(SECRET.as_bytes()).verify(token).unwrap();
    assert_eq!(verified.role, OrgRole::Admin);

    // Another secret does not verify it.
    assert!(
        jsonwebtoken::decode::<serde_json::Value>(
            token,
            &DecodingKey::from_secret(b"some-other-secret"),
            &Validation::new(Algorithm::HS256),
        )
        .is_err()
    );
    assert_eq!(
        entries(dir.path()),
        Vec::<PathBuf>::new(),
        "token touched no database"
    );
}

#[test]
fn token_takes_the_secret_as_a_flag_and_the_role_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let (org, user) = (Uuid::now_v7(), Uuid::now_v7());
    let run = skillgraph(
        dir.path(),
        &[
            "token",
            "--org",
            &org.to_string(),
            "--user",
            &user.to_string(),
            "--role",
            "learner",
            "--jwt-secret",
            SECRET,
        ],
        &[],
    );
    assert!(run.success, "token failed: {}", run.stderr);
    let claims = JwtKeys::hs256(SECRET.as_bytes())
        .verify(run.stdout.trim())
        .unwrap();
    assert_eq!(claims.role, OrgRole::Learner);
    // The default lifetime is 24 hours.
    let expected = chrono::Utc::now().timestamp() + 24 * 3600;
    assert!((claims.exp - expected).abs() <= 60, "exp {}", claims.exp);
}

#[test]
fn token_refuses_bad_input_with_a_readable_message() {
    let dir = tempfile::tempdir().unwrap();
    let (org, user) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
    let secret = [("SKILLGRAPH_JWT_SECRET", SECRET)];
    // (what, arguments, environment, what stderr must mention)
    type Case<'a> = (&'a str, Vec<&'a str>, &'a [(&'a str, &'a str)], &'a str);
    let cases: Vec<Case> = vec![
        (
            "unknown role",
            vec!["token", "--org", &org, "--user", &user, "--role", "ROOT"],
            &secret,
            "role must be OWNER, ADMIN, HR, MANAGER or LEARNER",
        ),
        (
            "org not a uuid",
            vec![
                "token",
                "--org",
                "not-a-uuid",
                "--user",
                &user,
                "--role",
                "ADMIN",
            ],
            &secret,
            "--org",
        ),
        (
            "user not a uuid",
            vec!["token", "--org", &org, "--user", "42", "--role", "ADMIN"],
            &secret,
            "--user",
        ),
        (
            "no secret",
            vec!["token", "--org", &org, "--user", &user, "--role", "ADMIN"],
            &[],
            "SKILLGRAPH_JWT_SECRET",
        ),
        (
            "role missing",
            vec!["token", "--org", &org, "--user", &user],
            &secret,
            "--role",
        ),
    ];
    for (what, args, env, message) in cases {
        let run = skillgraph(dir.path(), &args, env);
        assert!(!run.success, "{what}: succeeded with {:?}", run.stdout);
        assert_eq!(run.stdout, "", "{what}: printed no token");
        assert!(
            run.stderr.contains(message),
            "{what}: stderr should mention {message:?}: {}",
            run.stderr
        );
    }
    assert_eq!(entries(dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn create_org_prints_ids_and_a_working_owner_token() {
    let (database, dir) = database_arg().await;
    let run = skillgraph(
        dir.path(),
        &[
            "create-org",
            "--name",
            "Acme Test",
            "--database",
            &database,
            "--owner-email",
            "Boss@Acme-Test.example",
            "--owner-name",
            "Bea Boss",
        ],
        &[("SKILLGRAPH_JWT_SECRET", SECRET)],
    );
    assert!(run.success, "create-org failed: {}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "three lines: {:?}", run.stdout);
    let field = |line: &str, label: &str| -> String {
        line.strip_prefix(label)
            .unwrap_or_else(|| panic!("{line:?} should start with {label:?}"))
            .to_string()
    };
    let org_id = Uuid::parse_str(&field(lines[0], "org: ")).expect("org id is a uuid");
    let owner_id = Uuid::parse_str(&field(lines[1], "owner: ")).expect("owner id is a uuid");
    let token = field(lines[2], "owner token: ");
    if !is_postgres() {
        assert!(
            Path::new(&database).is_file(),
            "a plain path is a SQLite file"
        );
    }

    // A server on the same database with the same secret accepts the token as the OWNER.
    let state = skillgraph::build_state(
        &database,
        JwtKeys::hs256(SECRET.as_bytes()),
        Arc::new(SystemClock),
        Settings::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("build state: {}", e.message()));
    let viewer = skillgraph::http::auth::authenticate(&state, &token)
        .await
        .unwrap_or_else(|e| panic!("the owner token is refused: {}", e.message()));
    assert_eq!(
        (viewer.org_id, viewer.user_id, viewer.role),
        (org_id, owner_id, OrgRole::Owner)
    );

    let schema = build_schema(&Settings::default());
    let request = async_graphql::Request::new(
        "{ viewer { id email name } viewerRole organization { id name demo } \
           auditLog { nodes { action } } }",
    );
    let response =
        skillgraph::graphql::execute(&schema, with_request_data(request, &state, viewer)).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    assert_eq!(data["viewer"]["id"], json!(owner_id.to_string()));
    assert_eq!(data["viewer"]["email"], "Boss@Acme-Test.example");
    assert_eq!(data["viewer"]["name"], "Bea Boss");
    assert_eq!(data["viewerRole"], "OWNER");
    assert_eq!(
        data["organization"],
        json!({ "id": org_id.to_string(), "name": "Acme Test", "demo": false })
    );
    let actions: Vec<&str> = data["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"ORGANIZATION_CREATED") && actions.contains(&"USER_CREATED"),
        "the creation is audited: {actions:?}"
    );

    // A second organization on the same database is a different tenant.
    let again = skillgraph(
        dir.path(),
        &["create-org", "--name", "Second", "--database", &database],
        &[("SKILLGRAPH_JWT_SECRET", SECRET)],
    );
    assert!(again.success, "second create-org failed: {}", again.stderr);
    assert!(!again.stdout.contains(&org_id.to_string()));
}

#[tokio::test]
async fn create_org_refuses_bad_input_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("refused.db").display().to_string();

    let run = skillgraph(
        dir.path(),
        &["create-org", "--name", "No Secret", "--database", &file],
        &[],
    );
    assert!(!run.success);
    assert!(
        run.stderr.contains("SKILLGRAPH_JWT_SECRET"),
        "{}",
        run.stderr
    );
    assert!(
        !Path::new(&file).exists(),
        "no database made without a secret"
    );

    let run = skillgraph(
        dir.path(),
        &["create-org", "--name", "   ", "--database", &file],
        &[("SKILLGRAPH_JWT_SECRET", SECRET)],
    );
    assert!(!run.success);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("name must not be empty"),
        "{}",
        run.stderr
    );

    let run = skillgraph(
        dir.path(),
        &[
            "create-org",
            "--name",
            "Bad Owner",
            "--database",
            &file,
            "--owner-email",
            "not an email",
        ],
        &[("SKILLGRAPH_JWT_SECRET", SECRET)],
    );
    assert!(!run.success);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("email"), "{}", run.stderr);

    // Neither attempt left an organization behind.
    let db = skillgraph::db::connect(&file).await.unwrap();
    assert_eq!(count(&db, "organizations").await, 0);
    assert_eq!(count(&db, "users").await, 0);
}

#[tokio::test]
async fn migrate_creates_the_tables_and_may_run_twice() {
    let (database, dir) = database_arg().await;
    for round in 1..=2 {
        let run = skillgraph(dir.path(), &["migrate", "--database", &database], &[]);
        assert!(run.success, "migrate #{round} failed: {}", run.stderr);
        assert_eq!(run.stdout, "migrations applied\n");
    }
    if !is_postgres() {
        assert!(Path::new(&database).is_file());
    }
    let db = skillgraph::db::connect(&database).await.unwrap();
    for table in [
        "organizations",
        "users",
        "user_attributes",
        "org_groups",
        "group_closure",
        "memberships",
        "roles",
        "audit_events",
    ] {
        assert_eq!(count(&db, table).await, 0, "{table} exists and is empty");
    }
}

#[tokio::test]
async fn migrate_reads_database_url_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("from-env.db").display());
    let run = skillgraph(dir.path(), &["migrate"], &[("DATABASE_URL", &url)]);
    assert!(run.success, "migrate failed: {}", run.stderr);
    assert!(dir.path().join("from-env.db").is_file());
    assert!(
        !dir.path().join("skillgraph.db").exists(),
        "the default file is not used when DATABASE_URL is set"
    );
}

#[test]
fn migrate_reports_an_unreachable_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/x.db").display().to_string();
    let run = skillgraph(dir.path(), &["migrate", "--database", &missing], &[]);
    assert!(!run.success);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
}

/// A `skillgraph serve --demo` process on a free port and what it printed before listening.
struct DemoServer {
    child: Child,
    base: String,
    org_line: String,
    admin: String,
    learner: String,
}

impl DemoServer {
    fn start(dir: &Path, database: &str) -> DemoServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_skillgraph"))
            .current_dir(dir)
            .args([
                "serve",
                "--demo",
                "--listen",
                "127.0.0.1:0",
                "--database",
                database,
            ])
            .env_remove("SKILLGRAPH_JWT_SECRET")
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start skillgraph serve --demo");
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                if send.send(line.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
        let mut printed = Vec::new();
        let mut server = DemoServer {
            child,
            base: String::new(),
            org_line: String::new(),
            admin: String::new(),
            learner: String::new(),
        };
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("serve --demo stopped printing: {printed:?}"));
            if let Some(rest) = line.strip_prefix("skillgraph listening on ") {
                let url = rest.split_whitespace().next().unwrap();
                server.base = url.trim_end_matches('/').to_string();
                break;
            } else if let Some(t) = line.strip_prefix("admin token: ") {
                server.admin = t.to_string();
            } else if let Some(t) = line.strip_prefix("learner token: ") {
                server.learner = t.to_string();
            } else if line.starts_with("demo organization: ") {
                server.org_line = line.clone();
            }
            printed.push(line);
        }
        assert!(
            !server.admin.is_empty() && !server.learner.is_empty() && !server.org_line.is_empty(),
            "serve --demo printed its organization and both tokens: {printed:?}"
        );
        server
    }

    async fn post(&self, token: &str, query: &str) -> (u16, serde_json::Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    /// SIGTERM, then the exit status (a clean shutdown is a success).
    fn stop(&mut self) -> bool {
        // SAFETY: signals the child this test started, by its own pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for DemoServer {
    /// A failed assertion must not leave the server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

#[tokio::test]
async fn serve_demo_prints_working_tokens_and_a_restart_finds_the_same_organization() {
    let (database, dir) = database_arg().await;
    let mut server = DemoServer::start(dir.path(), &database);
    assert!(
        server.org_line.starts_with("demo organization: Acme ("),
        "{}",
        server.org_line
    );

    // GraphiQL is served at `/`, already carrying the admin token.
    let page = reqwest::get(format!("{}/", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.to_lowercase().contains("graphiql"));
    assert!(page.contains(&format!("Bearer {}", server.admin)));

    let query = "{ viewer { name } viewerRole organization { name demo } }";
    let (status, body) = server.post(&server.admin, query).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"],
        json!({ "viewer": { "name": "Morgan Blake" }, "viewerRole": "ADMIN", "organization": { "name": "Acme", "demo": true } })
    );
    let (status, body) = server.post(&server.learner, query).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["viewer"]["name"], "Jordan Rivera");
    assert_eq!(body["data"]["viewerRole"], "LEARNER");
    let (org_line, old_admin) = (server.org_line.clone(), server.admin.clone());
    assert!(server.stop(), "SIGTERM stops the server cleanly");

    // A restart finds the same organization; without SKILLGRAPH_JWT_SECRET the secret is new,
    // so the old tokens stop working and new ones are printed.
    let mut again = DemoServer::start(dir.path(), &database);
    assert_eq!(again.org_line, org_line, "the same demo organization");
    let (status, body) = again.post(&again.admin, "{ users { totalCount } }").await;
    assert_eq!(status, 200);
    let people = body["data"]["users"]["totalCount"].as_i64().unwrap();
    assert!((180..=220).contains(&people), "not duplicated: {people}");
    let (status, body) = again.post(&old_admin, "{ viewer { id } }").await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(again.stop());
}

async fn count(db: &skillgraph::db::Db, table: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .read
        .query_one_raw(Statement::from_string(
            db.backend,
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"))
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}
