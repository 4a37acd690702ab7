//! P7 of PERFORMANCE.md — subscription fan-out: N WebSocket subscribers of one organization's
//! `assignmentEvents`, 5 events each (5 `addMembership` commits), against a raw axum WebSocket
//! broadcast of same-shaped bytes to the same N sockets. Each server runs in a child process
//! pinned to core 0; this load client is pinned to core 1. Figures: messages/s (N × 5 over the
//! time from the first commit request to the last delivery), delivery latency p50/p99 (from the
//! request that commits to each delivery), and server memory per subscriber (RSS growth from
//! before connecting to all subscribed, divided by N). Reference and subject alternate over 3
//! rounds; the ratio reported is the median of the rounds' ratios.
//!
//! `cargo bench --bench live` (sizes: `P7_SUBSCRIBERS=1000,10000`, rounds: `P7_ROUNDS=3`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const EVENTS: usize = 5;
const SECRET: &[u8] = b"p7-bench-secret-p7-bench-secret-p7";
const SUBSCRIPTION: &str = "subscription($after: String) { assignmentEvents(after: $after) { cursor kind at assignment { id status } } }";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    raise_fd_limit();
    if args.iter().any(|a| a == "--serve-subject") {
        pin(0);
        return runtime().block_on(serve_subject());
    }
    if args.iter().any(|a| a == "--serve-reference") {
        pin(0);
        return runtime().block_on(serve_reference());
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo test --benches` lists; nothing to list.
    }
    pin(1);
    let sizes: Vec<usize> = std::env::var("P7_SUBSCRIBERS")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rounds: usize = std::env::var("P7_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let rt = runtime();
    println!(
        "| id | subscribers | figure | skillgraph | raw axum broadcast (reference) | ratio | target |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        let mut subject = Vec::new();
        let mut reference = Vec::new();
        for _ in 0..rounds {
            reference.push(rt.block_on(run(Side::Reference, n)));
            subject.push(rt.block_on(run(Side::Subject, n)));
        }
        let ratios: Vec<f64> = subject
            .iter()
            .zip(&reference)
            .map(|(s, r)| s.msgs_per_sec / r.msgs_per_sec)
            .collect();
        let s = median_run(&subject);
        let r = median_run(&reference);
        println!(
            "| P7 | {n} | messages/s | {:.0} | {:.0} | {:.2} | ≥ 0.75 |",
            s.msgs_per_sec,
            r.msgs_per_sec,
            median(ratios)
        );
        println!(
            "| P7 | {n} | delivery p50 / p99 after the commit request | {:.1} / {:.1} ms | {:.1} / {:.1} ms | — | p99 ≤ 300 ms |",
            s.p50_ms, s.p99_ms, r.p50_ms, r.p99_ms
        );
        println!(
            "| P7 | {n} | server memory per subscriber | {:.1} KB | {:.1} KB | — | ≤ 20 KB |",
            s.kb_per_sub, r.kb_per_sub
        );
        let errors: usize = subject.iter().chain(&reference).map(|x| x.errors).sum();
        if errors > 0 {
            println!("| P7 | {n} | errors (missing or failed deliveries) | {errors} | | | 0 |");
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Subject,
    Reference,
}

#[derive(Debug, Clone)]
struct RunResult {
    msgs_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    kb_per_sub: f64,
    errors: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn median_run(runs: &[RunResult]) -> RunResult {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.msgs_per_sec.total_cmp(&b.msgs_per_sec));
    sorted[sorted.len() / 2].clone()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Pins this thread (and the threads it starts) to one core, when the machine has two.
fn pin(core: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        return;
    }
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls only read it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core % cores, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// 10,000 sockets need more than the usual 1,024 descriptors.
fn raise_fd_limit() {
    // SAFETY: plain libc calls on a stack value.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max.min(200_000);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn rss_kb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0.0)
}

/// A server child process and what it printed on its first line.
struct Server {
    child: Child,
    info: Value,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_server(side: Side) -> Server {
    let flag = match side {
        Side::Subject => "--serve-subject",
        Side::Reference => "--serve-reference",
    };
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg(flag)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("server line");
    let info = serde_json::from_str(&line).unwrap_or_else(|e| panic!("server said {line:?}: {e}"));
    Server { child, info }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(side: Side, base: &str, token: &str, after: &str) -> Ws {
    let (url, protocol) = match side {
        Side::Subject => (format!("ws://{base}/graphql"), "graphql-transport-ws"),
        Side::Reference => (format!("ws://{base}/ws"), "graphql-transport-ws"),
    };
    let mut req = url.into_client_request().expect("request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    if side == Side::Subject {
        let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
        ws.send(Message::Text(init.to_string().into()))
            .await
            .expect("init");
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains("connection_ack") => break,
                Some(Ok(_)) => continue,
                other => panic!("no ack: {other:?}"),
            }
        }
        let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION, "variables": { "after": after } } });
        ws.send(Message::Text(sub.to_string().into()))
            .await
            .expect("subscribe");
    }
    ws
}

/// One measured run: N subscribers, one warm-up event (every subscriber live), then 5 events.
async fn run(side: Side, n: usize) -> RunResult {
    let server = spawn_server(side);
    let pid = server.child.id();
    let base = server.info["addr"].as_str().expect("addr").to_string();
    let token = server.info["token"].as_str().unwrap_or("").to_string();
    let users: Vec<String> = server.info["users"]
        .as_array()
        .map(|u| {
            u.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let group = server.info["group"].as_str().unwrap_or("").to_string();
    let after = server.info["after"].as_str().unwrap_or("").to_string();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_kb(pid);

    let mut tasks = Vec::with_capacity(n);
    let mut opened = 0;
    while opened < n {
        let batch = (n - opened).min(250);
        let sockets =
            futures_util::future::join_all((0..batch).map(|_| open(side, &base, &token, &after)))
                .await;
        for mut ws in sockets {
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::with_capacity(EVENTS);
                while times.len() < EVENTS {
                    let Ok(Some(Ok(msg))) =
                        tokio::time::timeout(Duration::from_secs(120), ws.next()).await
                    else {
                        break;
                    };
                    if let Message::Text(t) = msg
                        && t.contains("\"next\"")
                    {
                        times.push(Instant::now());
                    }
                }
                let _ = ws.close(None).await;
                times
            }));
        }
        opened += batch;
    }
    // Every subscriber is connected; let the servers take their subscriptions in. (The subject's
    // subscribe with `after` the head, so a subscription taken in late still misses nothing.)
    tokio::time::sleep(Duration::from_millis(1000 + n as u64 / 5)).await;
    let rss_after = rss_kb(pid);
    let http = reqwest::Client::new();
    let start = Instant::now();
    let mut sent = Vec::with_capacity(EVENTS);
    for k in 0..EVENTS {
        let user = users.get(k).map_or("", String::as_str);
        sent.push(Instant::now());
        match side {
            Side::Subject => {
                let q = format!(
                    "mutation {{ addMembership(input: {{ userId: \"{user}\", groupId: \"{group}\" }}) {{ membership {{ id }} }} }}"
                );
                let res = http
                    .post(format!("http://{base}/graphql"))
                    .bearer_auth(&token)
                    .json(&json!({ "query": q }))
                    .send()
                    .await
                    .expect("mutation");
                let body: Value = res.json().await.expect("mutation body");
                assert!(body.get("errors").is_none(), "{body}");
            }
            Side::Reference => {
                http.post(format!("http://{base}/fire"))
                    .body(reference_message(k))
                    .send()
                    .await
                    .expect("fire");
            }
        }
    }
    let mut latencies = Vec::with_capacity(n * EVENTS);
    let mut last = start;
    let mut errors = 0;
    for task in tasks {
        let times = task.await.unwrap_or_default();
        errors += EVENTS - times.len();
        for (t, s) in times.iter().zip(&sent) {
            latencies.push(t.saturating_duration_since(*s).as_secs_f64() * 1000.0);
            last = last.max(*t);
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let elapsed = last.duration_since(start).as_secs_f64().max(1e-6);
    RunResult {
        msgs_per_sec: latencies.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        kb_per_sub: (rss_after - rss_before).max(0.0) / n as f64,
        errors,
    }
}

/// The reference's message k: the shape and size of a subject `next` message.
fn reference_message(k: usize) -> String {
    json!({ "id": "1", "type": "next", "payload": { "data": { "assignmentEvents": {
        "cursor": "WyIwMTlhYmM0ZC0xMjM0LTcwMDAtOGFiYy0xMjM0NTY3ODlhYmMiLDEyMzRd",
        "kind": "ASSIGNED", "at": "2026-11-25T14:00:00.123456Z",
        "assignment": { "id": format!("019abc4d-1234-7000-8abc-{k:012}"), "status": "ASSIGNED" } } } } })
    .to_string()
}

/// The subject: skillgraph on a fresh SQLite database, one organization with a group whose rule
/// assigns one course, and users ready to join it (each join commits one ASSIGNED event).
async fn serve_subject() {
    use skillgraph::jwt::JwtKeys;
    use skillgraph::service::viewer::OrgRole;
    use skillgraph::state::Settings;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("p7.db").display());
    let state = skillgraph::build_state(
        &url,
        JwtKeys::hs256(SECRET),
        Arc::new(skillgraph::clock::SystemClock),
        Settings::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.message()));
    let org = skillgraph::service::org::create(&state, "P7", "owner@p7.example", "Owner")
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()));
    let token = state
        .jwt
        .mint(
            org.org.id,
            org.owner.id,
            OrgRole::Owner,
            chrono::Duration::hours(2),
        )
        .expect("token");
    let schema = skillgraph::build_schema(&state.settings);
    let run = |q: String| {
        let (state, schema) = (state.clone(), schema.clone());
        let token = token.clone();
        async move {
            let viewer = skillgraph::http::auth::authenticate(&state, &token)
                .await
                .expect("viewer");
            let r = skillgraph::graphql::execute(
                &schema,
                skillgraph::graphql::with_request_data(
                    async_graphql::Request::new(q),
                    &state,
                    viewer,
                ),
            )
            .await;
            let v = serde_json::to_value(&r).expect("json");
            assert!(v.get("errors").is_none(), "{v}");
            v["data"].clone()
        }
    };
    let group = run("mutation { createGroup(input: { name: \"P7\" }) { group { id } } }".into())
        .await["createGroup"]["group"]["id"]
        .as_str()
        .expect("group")
        .to_string();
    let course =
        run("mutation { createCourse(input: { title: \"P7 course\" }) { course { id } } }".into())
            .await["createCourse"]["course"]["id"]
            .as_str()
            .expect("course")
            .to_string();
    run(format!(
        "mutation {{ createRule(input: {{ name: \"P7\", audience: {{ groupId: \"{group}\" }}, courses: [{{ courseId: \"{course}\" }}] }}) {{ rule {{ id }} }} }}"
    ))
    .await;
    let mut users = Vec::new();
    for i in 0..EVENTS {
        let u = run(format!(
            "mutation {{ createUser(input: {{ email: \"p7-{i}@p7.example\", name: \"P7 {i}\" }}) {{ user {{ id }} }} }}"
        ))
        .await["createUser"]["user"]["id"]
            .as_str()
            .expect("user")
            .to_string();
        users.push(u);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    println!(
        "{}",
        json!({ "addr": addr.to_string(), "token": token, "group": group, "users": users,
                "after": skillgraph::service::events::cursor(org.org.id, 0) })
    );
    skillgraph::serve(listener, state, std::future::pending())
        .await
        .expect("serve");
    drop(dir);
}

/// The reference: a bare axum WebSocket endpoint (same 4 KiB read buffer) broadcasting each
/// `/fire` body to every socket.
async fn serve_reference() {
    use axum::extract::State;
    use axum::extract::ws::{Message as AxMessage, WebSocketUpgrade};
    use axum::routing::{get, post};
    let (tx, _) = tokio::sync::broadcast::channel::<String>(64);
    let app = axum::Router::new()
        .route(
            "/ws",
            get(
                |State(tx): State<tokio::sync::broadcast::Sender<String>>, ws: WebSocketUpgrade| async move {
                    ws.protocols(["graphql-transport-ws"])
                        .read_buffer_size(4096)
                        .write_buffer_size(0)
                        .on_upgrade(move |mut socket| async move {
                            let mut rx = tx.subscribe();
                            while let Ok(msg) = rx.recv().await {
                                if socket.send(AxMessage::Text(msg.into())).await.is_err() {
                                    break;
                                }
                            }
                        })
                },
            ),
        )
        .route(
            "/fire",
            post(|State(tx): State<tokio::sync::broadcast::Sender<String>>, body: String| async move {
                let _ = tx.send(body);
            }),
        )
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!(
        "{}",
        json!({ "addr": listener.local_addr().expect("addr").to_string() })
    );
    axum::serve(listener, app).await.expect("serve");
}
