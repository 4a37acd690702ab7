//! The cost of the authorization layer on P6-style requests (PERFORMANCE.md): GraphQL over HTTP
//! on loopback, `{ viewer { id } }` and 20 users × 5 assignments × course.
//!
//! "Without authz" is the OWNER, whose scope adds no predicate (`visible_users_sql` is
//! `1 = 1`, `can_see_user` answers from `UserScope::All`); "with authz" is a MANAGER of the same
//! 20 users, whose every user list, assignment list and `user.assignments` goes through the
//! reporting-line scope (a recursive query per request, cached for the request, and a SQL
//! predicate on each list). Both get the same rows, so the difference is the authorization
//! work. Rounds alternate between the two so that drift in the machine hits both alike.
//!
//! `cargo bench --bench authz` (AUTHZ_BENCH_SECONDS per measurement, default 2; AUTHZ_BENCH_CONCURRENCY
//! clients, default 4).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillgraph::clock::SystemClock;
use skillgraph::graphql::AppSchema;
use skillgraph::http::auth;
use skillgraph::jwt::JwtKeys;
use skillgraph::service::viewer::OrgRole;
use skillgraph::state::{AppState, Settings};
use uuid::Uuid;

const SMALL: &str = "{ viewer { id } }";
const NESTED: &str = "query($g: ID!) { users(first: 20, filter: { groupId: $g }) { nodes { id name assignments { status course { title } } } } }";
const ASSIGNMENTS: &str =
    "{ assignments(first: 100) { nodes { id status user { name } course { title } } } }";

async fn gql(schema: &AppSchema, state: &AppState, token: &str, query: &str, vars: Value) -> Value {
    let viewer = auth::authenticate(state, token)
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()));
    let request =
        async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(vars));
    let response = skillgraph::graphql::execute_as(schema, state, viewer, request).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    serde_json::to_value(&response.data).unwrap()
}

fn id_at(v: &Value, path: &[&str]) -> Uuid {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    Uuid::parse_str(v.as_str().unwrap()).unwrap()
}

struct Setup {
    base: String,
    owner: String,
    manager: String,
    group: Uuid,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let state = skillgraph::build_state(
        &url,
        JwtKeys::hs256(b"bench-secret-bench-secret-bench-secret"),
        Arc::new(SystemClock),
        Settings::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.message()));
    let created = skillgraph::service::org::create(&state, "Bench", "owner@bench.example", "Owner")
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()));
    let org = created.org.id;
    let hour = chrono::Duration::hours(4);
    let owner = state
        .jwt
        .mint(org, created.owner.id, OrgRole::Owner, hour)
        .unwrap();
    let schema = skillgraph::build_schema(&state.settings);
    let g = |q: &'static str, v: Value| {
        let (schema, state, owner) = (schema.clone(), state.clone(), owner.clone());
        async move { gql(&schema, &state, &owner, q, v).await }
    };
    let manager = id_at(
        &g(
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
            json!({ "i": { "email": "m@bench.example", "name": "Manager" } }),
        )
        .await,
        &["createUser", "user", "id"],
    );
    let group = id_at(
        &g(
            "mutation { createGroup(input: { name: \"Team\" }) { group { id } } }",
            json!({}),
        )
        .await,
        &["createGroup", "group", "id"],
    );
    let mut courses = Vec::new();
    for i in 0..5 {
        courses.push(json!({ "courseId": id_at(
            &g("mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }", json!({ "i": { "title": format!("Course {i}") } })).await,
            &["createCourse", "course", "id"],
        ).to_string() }));
    }
    g(
        "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
        json!({ "i": { "name": "Team training", "audience": { "groupId": group.to_string() }, "courses": courses } }),
    )
    .await;
    for i in 0..20 {
        let u = id_at(
            &g("mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }", json!({ "i": { "email": format!("u{i}@bench.example"), "name": format!("User {i}"), "managerId": manager.to_string() } })).await,
            &["createUser", "user", "id"],
        );
        g(
            "mutation($i: AddMembershipInput!) { addMembership(input: $i) { membership { id } } }",
            json!({ "i": { "userId": u.to_string(), "groupId": group.to_string() } }),
        )
        .await;
    }
    let manager = state
        .jwt
        .mint(org, manager, OrgRole::Manager, hour)
        .unwrap();
    // Both viewers see the same 20 people with 5 assignments each.
    for token in [&owner, &manager] {
        let data = gql(
            &schema,
            &state,
            token,
            NESTED,
            json!({ "g": group.to_string() }),
        )
        .await;
        let nodes = data["users"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 20);
        assert!(
            nodes
                .iter()
                .all(|n| n["assignments"].as_array().unwrap().len() == 5)
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = skillgraph::app(state);
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Setup {
        base,
        owner,
        manager,
        group,
        _dir: dir,
    }
}

/// Requests per second: `clients` keep-alive clients sending `body` for `seconds`.
async fn measure(base: &str, token: &str, body: &Value, clients: usize, seconds: f64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (base, token, body, done) = (
            base.to_string(),
            token.to_string(),
            body.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let url = format!("{base}/graphql");
            while Instant::now() < until {
                let res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                let bytes = res.bytes().await.unwrap();
                assert!(
                    !bytes.windows(8).any(|w| w == b"\"errors\""),
                    "{}",
                    String::from_utf8_lossy(&bytes)
                );
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let seconds: f64 = std::env::var("AUTHZ_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0);
    let clients: usize = std::env::var("AUTHZ_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let rounds = 3;
    rt.block_on(async {
        let s = setup().await;
        let scenarios = [
            ("{ viewer { id } }", json!({ "query": SMALL })),
            ("20 users × 5 assignments × course", json!({ "query": NESTED, "variables": { "g": s.group.to_string() } })),
            ("assignments(first: 100) with user, course", json!({ "query": ASSIGNMENTS })),
        ];
        println!("authz overhead: {clients} keep-alive clients, {rounds} alternating rounds of {seconds} s, best round");
        println!();
        println!("| request | OWNER (no scope) req/s | MANAGER (scoped) req/s | authz cost |");
        println!("|---|---:|---:|---:|");
        for (name, body) in &scenarios {
            // Warm-up: caches, connection pools, the allocator.
            measure(&s.base, &s.owner, body, clients, 0.5).await;
            measure(&s.base, &s.manager, body, clients, 0.5).await;
            let (mut without, mut with) = (0f64, 0f64);
            for _ in 0..rounds {
                without = without.max(measure(&s.base, &s.owner, body, clients, seconds).await);
                with = with.max(measure(&s.base, &s.manager, body, clients, seconds).await);
            }
            let cost = (1.0 - with / without) * 100.0;
            println!("| {name} | {without:.0} | {with:.0} | {cost:.1}% |");
        }
    });
}
