//! Live assignment events: the `assignmentEvents` subscription (in process with
//! `execute_stream`, and over real WebSockets in both subprotocols), the polling query, cursors,
//! filters, permissions, slow subscribers, retention, and two server instances on one database.

use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use skillgraph::graphql::{CodedSchema, with_request_data};
use skillgraph::http::auth;
use skillgraph::service::events::{self, EventBus, bus::BusConfig};
use skillgraph::service::viewer::OrgRole;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

use crate::engine::{course, rule};
use crate::helpers::{TestApp, assert_code, id, is_postgres};

pub const SUBSCRIPTION: &str = "subscription($f: AssignmentEventFilter, $after: String) {
    assignmentEvents(filter: $f, after: $after) { cursor kind at assignment { id status user { id } course { id } } } }";

const POLL: &str = "query($f: AssignmentEventFilter, $after: String, $first: Int) {
    assignmentEvents(filter: $f, after: $after, first: $first) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { cursor kind assignment { user { id } course { id } } } } } }";

/// A subscription running in process, as the WebSocket endpoint runs it. A stream starts when
/// it is first polled (as over a socket, when the server reads the `subscribe` message), so
/// this polls it for a moment: "from now on" then means from here.
pub async fn subscribe(app: &TestApp, token: &str, vars: Value) -> BoxStream<'static, Value> {
    use async_graphql::Executor;
    let viewer = auth::authenticate(&app.state, token).await.unwrap();
    let request = async_graphql::Request::new(SUBSCRIPTION)
        .variables(async_graphql::Variables::from_json(vars));
    let mut stream = CodedSchema(app.schema.clone())
        .execute_stream(with_request_data(request, &app.state, viewer), None)
        .map(|r| serde_json::to_value(&r).unwrap())
        .boxed();
    match tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
        Ok(Some(first)) => futures_util::stream::once(async { first })
            .chain(stream)
            .boxed(),
        Ok(None) => futures_util::stream::empty().boxed(),
        Err(_) => stream,
    }
}

/// The next response of a stream (panics after 10 s).
pub async fn next(stream: &mut BoxStream<'static, Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream goes on")
}

/// The next event of a stream, which must not be an error.
async fn next_event(stream: &mut BoxStream<'static, Value>) -> Value {
    let r = next(stream).await;
    assert!(r.get("errors").is_none(), "unexpected errors: {r:#}");
    r["data"]["assignmentEvents"].clone()
}

/// Asserts that nothing arrives for a while.
async fn quiet(stream: &mut BoxStream<'static, Value>) {
    if let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
        panic!("expected nothing, got {r:#}");
    }
}

/// A group whose rule assigns one course: adding a member makes one ASSIGNED event.
struct Training {
    group: Uuid,
    course: Uuid,
    rule: Uuid,
}

async fn training(app: &TestApp, name: &str) -> Training {
    let group = app.group(name, None).await;
    let course = course(app, &format!("{name} basics")).await;
    let created = rule(
        app,
        json!({ "name": format!("{name} rule"), "audience": { "groupId": group.to_string() },
                "courses": [{ "courseId": course.to_string() }] }),
    )
    .await;
    Training {
        group,
        course,
        rule: id(&created["rule"]["id"]),
    }
}

/// A new user who joins the training's group (one ASSIGNED event).
async fn joiner(app: &TestApp, t: &Training) -> Uuid {
    let u = app.user().await;
    app.add_member(u, t.group).await;
    u
}

async fn remove_member(app: &TestApp, user: Uuid, group: Uuid) {
    app.ok(
        "mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { membership { id } } }",
        json!({ "i": { "userId": user.to_string(), "groupId": group.to_string() } }),
        &app.admin,
    )
    .await;
}

/// Every event the polling query returns for `filter` (after `after`), page by page.
async fn poll_all(app: &TestApp, token: &str, filter: Value, after: Option<String>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = after;
    loop {
        let data = app
            .ok(
                POLL,
                json!({ "f": filter, "after": after, "first": 2 }),
                token,
            )
            .await;
        let conn = &data["assignmentEvents"];
        for edge in conn["edges"].as_array().unwrap() {
            assert_eq!(edge["cursor"], edge["node"]["cursor"]);
            out.push(edge["node"].clone());
        }
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return out;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
}

fn users_of(events: &[Value]) -> Vec<Uuid> {
    events
        .iter()
        .map(|e| id(&e["assignment"]["user"]["id"]))
        .collect()
}

#[tokio::test]
async fn a_subscriber_receives_each_committed_event_once_in_commit_order() {
    let app = TestApp::spawn().await;
    let t = training(&app, "Ops").await;
    let mut stream = subscribe(&app, &app.admin, json!({})).await;
    quiet(&mut stream).await;

    let a = joiner(&app, &t).await;
    let first = next_event(&mut stream).await;
    assert_eq!(first["kind"], "ASSIGNED");
    assert_eq!(id(&first["assignment"]["user"]["id"]), a);
    assert_eq!(id(&first["assignment"]["course"]["id"]), t.course);
    assert_eq!(first["assignment"]["status"], "ASSIGNED");

    let b = joiner(&app, &t).await;
    remove_member(&app, a, t.group).await;
    let second = next_event(&mut stream).await;
    let third = next_event(&mut stream).await;
    assert_eq!(
        (
            second["kind"].as_str(),
            id(&second["assignment"]["user"]["id"])
        ),
        (Some("ASSIGNED"), b)
    );
    assert_eq!(
        (
            third["kind"].as_str(),
            id(&third["assignment"]["user"]["id"])
        ),
        (Some("WITHDRAWN"), a)
    );
    assert_eq!(third["assignment"]["status"], "WITHDRAWN");
    quiet(&mut stream).await;

    // The polling query sees the same log, with the same cursors.
    let polled = poll_all(&app, &app.admin, json!({}), None).await;
    let cursors: Vec<&Value> = polled.iter().map(|e| &e["cursor"]).collect();
    assert_eq!(
        cursors,
        vec![&first["cursor"], &second["cursor"], &third["cursor"]]
    );
}

#[tokio::test]
async fn a_refused_mutation_sends_nothing() {
    let app = TestApp::spawn().await;
    let t = training(&app, "Ops").await;
    let mut stream = subscribe(&app, &app.admin, json!({})).await;
    let u = app.user().await;
    // A LEARNER may not add members: nothing commits, nothing is sent.
    let learner = app.token(u, OrgRole::Learner);
    let r = app
        .execute(
            "mutation($i: AddMembershipInput!) { addMembership(input: $i) { membership { id } } }",
            json!({ "i": { "userId": u.to_string(), "groupId": t.group.to_string() } }),
            &learner,
        )
        .await;
    assert_code(&r, "FORBIDDEN");
    quiet(&mut stream).await;
}

#[tokio::test]
async fn after_a_cursor_the_missed_events_replay_then_live_ones_follow_with_no_gap() {
    let app = TestApp::spawn().await;
    let t = training(&app, "Ops").await;
    let mut early = Vec::new();
    for _ in 0..5 {
        early.push(joiner(&app, &t).await);
    }
    let all = poll_all(&app, &app.admin, json!({}), None).await;
    assert_eq!(users_of(&all), early);
    // Resume after the second event: the last three replay, in order.
    let mut stream = subscribe(&app, &app.admin, json!({ "after": all[1]["cursor"] })).await;
    // Writers keep committing while the subscriber replays.
    let writer = {
        let (state, schema, admin, group) = (
            app.state.clone(),
            app.schema.clone(),
            app.admin.clone(),
            t.group,
        );
        tokio::spawn(async move {
            let mut made = Vec::new();
            for i in 0..8 {
                let tag = Uuid::new_v4().simple().to_string();
                let viewer = auth::authenticate(&state, &admin).await.unwrap();
                let r = skillgraph::graphql::execute(
                    &schema,
                    with_request_data(
                        async_graphql::Request::new(format!(
                            "mutation {{ createUser(input: {{ email: \"w{i}{}@test.example\", name: \"W\" }}) {{ user {{ id }} }} }}",
                            &tag[..8]
                        )),
                        &state,
                        viewer.clone(),
                    ),
                )
                .await;
                let u = serde_json::to_value(&r).unwrap()["data"]["createUser"]["user"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                skillgraph::graphql::execute(
                    &schema,
                    with_request_data(
                        async_graphql::Request::new(format!(
                            "mutation {{ addMembership(input: {{ userId: \"{u}\", groupId: \"{group}\" }}) {{ membership {{ id }} }} }}"
                        )),
                        &state,
                        viewer,
                    ),
                )
                .await;
                made.push(Uuid::parse_str(&u).unwrap());
            }
            made
        })
    };
    let mut received = Vec::new();
    for _ in 0..(3 + 8) {
        received.push(next_event(&mut stream).await);
    }
    let made = writer.await.unwrap();
    quiet(&mut stream).await;
    let mut expected: Vec<Uuid> = early[2..].to_vec();
    expected.extend(made);
    assert_eq!(
        users_of(&received),
        expected,
        "replay, then live, exactly once, in order"
    );
    let polled = poll_all(
        &app,
        &app.admin,
        json!({}),
        Some(all[1]["cursor"].as_str().unwrap().into()),
    )
    .await;
    assert_eq!(
        received
            .iter()
            .map(|e| e["cursor"].clone())
            .collect::<Vec<_>>(),
        polled
            .iter()
            .map(|e| e["cursor"].clone())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn filters_by_user_group_with_subgroups_course_rule_and_kind() {
    let app = TestApp::spawn().await;
    let ops = training(&app, "Ops").await;
    let sub = app.group("Ops — Night", Some(ops.group)).await;
    let sales = training(&app, "Sales").await;
    let a = joiner(&app, &ops).await; // ASSIGNED (ops course)
    let b = app.user().await;
    app.add_member(b, sub).await; // ASSIGNED through the subgroup
    let c = joiner(&app, &sales).await; // ASSIGNED (sales course)
    remove_member(&app, a, ops.group).await; // WITHDRAWN: a was a member when it happened

    let by = |f: Value| {
        let app = &app;
        async move { users_of(&poll_all(app, &app.admin, f, None).await) }
    };
    assert_eq!(by(json!({ "userId": a.to_string() })).await, vec![a, a]);
    assert_eq!(
        by(json!({ "groupId": ops.group.to_string() })).await,
        vec![a, b, a]
    );
    assert_eq!(
        by(json!({ "groupId": ops.group.to_string(), "includeSubgroups": false })).await,
        vec![a, a]
    );
    assert_eq!(by(json!({ "groupId": sub.to_string() })).await, vec![b]);
    assert_eq!(
        by(json!({ "courseId": sales.course.to_string() })).await,
        vec![c]
    );
    assert_eq!(
        by(json!({ "ruleId": ops.rule.to_string() })).await,
        vec![a, b, a]
    );
    assert_eq!(by(json!({ "kinds": ["WITHDRAWN"] })).await, vec![a]);
    assert_eq!(
        by(json!({ "kinds": ["ASSIGNED", "COMPLETED"], "groupId": ops.group.to_string() })).await,
        vec![a, b]
    );
    let total = app
        .ok(
            POLL,
            json!({ "f": { "ruleId": ops.rule.to_string() } }),
            &app.admin,
        )
        .await["assignmentEvents"]["totalCount"]
        .clone();
    assert_eq!(total, 3);

    // The same filters, live: a group subscriber (checked against the table) and a kinds
    // subscriber (checked in memory) see only their events.
    let mut group_stream = subscribe(
        &app,
        &app.admin,
        json!({ "f": { "groupId": sub.to_string() } }),
    )
    .await;
    let mut kind_stream =
        subscribe(&app, &app.admin, json!({ "f": { "kinds": ["WITHDRAWN"] } })).await;
    let d = joiner(&app, &sales).await;
    let e = app.user().await;
    app.add_member(e, sub).await;
    remove_member(&app, d, sales.group).await;
    let got = next_event(&mut group_stream).await;
    assert_eq!(id(&got["assignment"]["user"]["id"]), e);
    quiet(&mut group_stream).await;
    let got = next_event(&mut kind_stream).await;
    assert_eq!(
        (got["kind"].as_str(), id(&got["assignment"]["user"]["id"])),
        (Some("WITHDRAWN"), d)
    );
    quiet(&mut kind_stream).await;
}

#[tokio::test]
async fn learners_see_their_own_events_and_managers_those_of_their_reports() {
    let app = TestApp::spawn().await;
    let t = training(&app, "Ops").await;
    let manager = app.user().await;
    let report = app.user().await;
    app.ok(
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
        json!({ "i": { "id": report.to_string(), "managerId": manager.to_string() } }),
        &app.admin,
    )
    .await;
    let learner = app.user().await;
    let learner_token = app.token(learner, OrgRole::Learner);
    let manager_token = app.token(manager, OrgRole::Manager);
    let hr_token = app.token(app.admin_id, OrgRole::Hr);
    let mut mine = subscribe(&app, &learner_token, json!({})).await;
    let mut reports = subscribe(&app, &manager_token, json!({})).await;
    let mut everyone = subscribe(&app, &hr_token, json!({})).await;

    let other = joiner(&app, &t).await;
    app.add_member(report, t.group).await;
    app.add_member(learner, t.group).await;

    let got = next_event(&mut mine).await;
    assert_eq!(id(&got["assignment"]["user"]["id"]), learner);
    quiet(&mut mine).await;
    let got = next_event(&mut reports).await;
    assert_eq!(id(&got["assignment"]["user"]["id"]), report);
    quiet(&mut reports).await;
    let mut all = Vec::new();
    for _ in 0..3 {
        all.push(next_event(&mut everyone).await);
    }
    assert_eq!(users_of(&all), vec![other, report, learner]);
    assert_eq!(
        users_of(&poll_all(&app, &learner_token, json!({}), None).await),
        vec![learner]
    );

    // Asking for someone else's events: NOT_FOUND, live or polled.
    let mut s = subscribe(
        &app,
        &learner_token,
        json!({ "f": { "userId": other.to_string() } }),
    )
    .await;
    assert_code(&next(&mut s).await, "NOT_FOUND");
    let r = app
        .execute(
            POLL,
            json!({ "f": { "userId": report.to_string() } }),
            &learner_token,
        )
        .await;
    assert_code(&r, "NOT_FOUND");
    let r = app
        .execute(
            POLL,
            json!({ "f": { "userId": report.to_string() } }),
            &manager_token,
        )
        .await;
    assert!(r.get("errors").is_none(), "{r:#}");
}

#[tokio::test]
async fn bad_filters_and_cursors_are_refused_with_their_codes() {
    let app = TestApp::spawn().await;
    let t = training(&app, "Ops").await;
    joiner(&app, &t).await;
    let other = TestApp::spawn().await;
    let ot = training(&other, "Elsewhere").await;
    joiner(&other, &ot).await;
    let foreign = poll_all(&other, &other.admin, json!({}), None).await[0]["cursor"].clone();
    let unknown = Uuid::now_v7().to_string();
    let cases = [
        (json!({ "f": { "userId": unknown } }), "NOT_FOUND"),
        (json!({ "f": { "groupId": unknown } }), "NOT_FOUND"),
        (json!({ "f": { "courseId": unknown } }), "NOT_FOUND"),
        (json!({ "f": { "ruleId": unknown } }), "NOT_FOUND"),
        (
            json!({ "f": { "ruleId": ot.rule.to_string() } }),
            "NOT_FOUND",
        ),
        (json!({ "f": { "groupId": "not-an-id" } }), "NOT_FOUND"),
        (json!({ "f": { "kinds": [] } }), "VALIDATION"),
        (json!({ "f": { "kinds": ["EXPLODED"] } }), "VALIDATION"),
        (json!({ "after": "not a cursor" }), "VALIDATION"),
        (json!({ "after": foreign }), "VALIDATION"),
        (
            json!({ "after": events::cursor(app.org_id, 1_000_000_000) }),
            "VALIDATION",
        ),
    ];
    for (vars, expected) in cases {
        let mut s = subscribe(&app, &app.admin, vars.clone()).await;
        let r = next(&mut s).await;
        assert_code(&r, expected);
        assert!(
            tokio::time::timeout(Duration::from_secs(1), s.next())
                .await
                .unwrap()
                .is_none(),
            "a refused subscription ends: {vars}"
        );
        let r = app.execute(POLL, vars.clone(), &app.admin).await;
        assert_code(&r, expected);
    }
    let r = app
        .execute(POLL, json!({ "after": foreign }), &app.admin)
        .await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("organization"),
        "{r:#}"
    );
}

#[tokio::test]
async fn a_cursor_older_than_the_retention_period_must_resync() {
    let app = TestApp::spawn().await;
    let t = training(&app, "Ops").await;
    joiner(&app, &t).await;
    joiner(&app, &t).await;
    let old = poll_all(&app, &app.admin, json!({}), None).await;
    // Within the retention period nothing is pruned.
    assert_eq!(events::retention::prune(&app.state, 90).await.unwrap(), 0);
    app.clock.advance(chrono::Duration::days(91));
    let fresh = joiner(&app, &t).await;
    assert_eq!(events::retention::prune(&app.state, 90).await.unwrap(), 2);
    assert_eq!(
        users_of(&poll_all(&app, &app.admin, json!({}), None).await),
        vec![fresh]
    );

    let stale = old[0]["cursor"].clone();
    let mut s = subscribe(&app, &app.admin, json!({ "after": stale })).await;
    let r = next(&mut s).await;
    assert_code(&r, "VALIDATION");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("resync"),
        "{r:#}"
    );
    let r = app
        .execute(POLL, json!({ "after": stale }), &app.admin)
        .await;
    assert_code(&r, "VALIDATION");
    // The newest pruned event's cursor still resumes: nothing after it is gone.
    let last_pruned = old[1]["cursor"].clone();
    let mut s = subscribe(&app, &app.admin, json!({ "after": last_pruned })).await;
    assert_eq!(
        id(&next_event(&mut s).await["assignment"]["user"]["id"]),
        fresh
    );
    // Events stay append-only for everyone but the pruner.
    use sea_orm::ConnectionTrait;
    let refused = app
        .state
        .db
        .write
        .execute_unprepared("DELETE FROM assignment_events")
        .await;
    assert!(
        refused.is_err(),
        "deleting events outside the pruner is refused"
    );
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_the_ring_catches_up_from_the_table() {
    let mut app = TestApp::spawn().await;
    // A tiny ring and batch, so a subscriber that does not read falls far behind it.
    app.state.env.events = EventBus::new(
        app.state.db.read.clone(),
        BusConfig {
            ring_capacity: 2,
            batch: 3,
            ..BusConfig::default()
        },
    );
    let t = training(&app, "Ops").await;
    let mut stream = subscribe(&app, &app.admin, json!({})).await;
    let mut made = Vec::new();
    for _ in 0..10 {
        made.push(joiner(&app, &t).await);
    }
    // Writers were never held up by the idle subscriber; now it reads everything, in order.
    let mut got = Vec::new();
    for _ in 0..10 {
        got.push(next_event(&mut stream).await);
    }
    assert_eq!(users_of(&got), made);
    quiet(&mut stream).await;
    let late = joiner(&app, &t).await;
    assert_eq!(
        id(&next_event(&mut stream).await["assignment"]["user"]["id"]),
        late
    );
}

#[tokio::test]
async fn shutting_down_ends_subscriptions_with_the_cursor_to_resume_from() {
    let app = TestApp::spawn().await;
    let t = training(&app, "Ops").await;
    let mut stream = subscribe(&app, &app.admin, json!({})).await;
    joiner(&app, &t).await;
    let got = next_event(&mut stream).await;
    app.state.events.close();
    let r = next(&mut stream).await;
    assert_eq!(
        r["errors"][0]["extensions"]["resumeAfter"], got["cursor"],
        "{r:#}"
    );
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("resume"),
        "{r:#}"
    );
    assert!(stream.next().await.is_none());
}

// ---- over real WebSockets -------------------------------------------------------------------

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(base: &str, protocol: &str, header_token: Option<&str>) -> Ws {
    let url = format!("{}/graphql", base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    if let Some(t) = header_token {
        req.headers_mut()
            .insert("Authorization", format!("Bearer {t}").parse().unwrap());
    }
    let (ws, response) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"]
            .to_str()
            .unwrap(),
        protocol
    );
    ws
}

pub async fn send(ws: &mut Ws, msg: Value) {
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
}

/// The next text message (as JSON), or the close frame's code as `{"close": code}`.
pub async fn recv(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s");
        match msg {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Close(frame))) => {
                return json!({ "close": frame.map(|f| u16::from(f.code)) });
            }
            Some(Ok(_)) => continue,
            other => return json!({ "closed": format!("{other:?}") }),
        }
    }
}

#[tokio::test]
async fn graphql_transport_ws_authenticates_streams_and_refuses_with_4401() {
    let app = TestApp::spawn().await;
    let t = training(&app, "Ops").await;
    let server = crate::http::serve(&app).await;

    // Token in connection_init.
    let mut ws = connect(&server.base, "graphql-transport-ws", None).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", app.admin) } })).await;
    assert_eq!(recv(&mut ws).await["type"], "connection_ack");
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION } }),
    )
    .await;
    // Token in the upgrade request's header, with a kinds filter.
    let mut ws2 = connect(&server.base, "graphql-transport-ws", Some(&app.admin)).await;
    send(&mut ws2, json!({ "type": "connection_init" })).await;
    assert_eq!(recv(&mut ws2).await["type"], "connection_ack");
    send(&mut ws2, json!({ "id": "a", "type": "subscribe", "payload": { "query": SUBSCRIPTION, "variables": { "f": { "kinds": ["WITHDRAWN"] } } } })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let u = joiner(&app, &t).await;
    remove_member(&app, u, t.group).await;
    let m = recv(&mut ws).await;
    assert_eq!(m["type"], "next", "{m:#}");
    assert_eq!(m["id"], "1");
    assert_eq!(m["payload"]["data"]["assignmentEvents"]["kind"], "ASSIGNED");
    let m = recv(&mut ws).await;
    assert_eq!(
        m["payload"]["data"]["assignmentEvents"]["kind"],
        "WITHDRAWN"
    );
    let m = recv(&mut ws2).await;
    assert_eq!(
        m["payload"]["data"]["assignmentEvents"]["kind"], "WITHDRAWN",
        "{m:#}"
    );
    send(&mut ws, json!({ "id": "1", "type": "complete" })).await;

    // A refused subscription reports its error on the stream.
    send(&mut ws, json!({ "id": "2", "type": "subscribe", "payload": { "query": SUBSCRIPTION, "variables": { "after": "garbage" } } })).await;
    let m = loop {
        let m = recv(&mut ws).await;
        if m["id"] == "2" {
            break m;
        }
    };
    let errors = if m["type"] == "error" {
        &m["payload"]
    } else {
        &m["payload"]["errors"]
    };
    assert_eq!(errors[0]["extensions"]["code"], "VALIDATION", "{m:#}");

    // No token, a bad token, a subscribe before connection_init: closed with 4401.
    let mut ws = connect(&server.base, "graphql-transport-ws", None).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(recv(&mut ws).await, json!({ "close": 4401 }));
    let mut ws = connect(&server.base, "graphql-transport-ws", None).await;
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "authToken": "not-a-jwt" } }),
    )
    .await;
    assert_eq!(recv(&mut ws).await, json!({ "close": 4401 }));
    let mut ws = connect(&server.base, "graphql-transport-ws", None).await;
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION } }),
    )
    .await;
    assert_eq!(recv(&mut ws).await, json!({ "close": 4401 }));

    // A bad token in the upgrade header is refused before upgrading; so is a missing protocol.
    let res = server
        .client
        .get(format!("{}/graphql", server.base))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Protocol", "graphql-transport-ws")
        .header("Authorization", "Bearer nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = server
        .client
        .get(format!("{}/graphql", server.base))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_works_too() {
    let app = TestApp::spawn().await;
    let t = training(&app, "Ops").await;
    let server = crate::http::serve(&app).await;
    let mut ws = connect(&server.base, "graphql-ws", None).await;
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "authToken": app.admin } }),
    )
    .await;
    assert_eq!(recv(&mut ws).await["type"], "connection_ack");
    send(
        &mut ws,
        json!({ "id": "1", "type": "start", "payload": { "query": SUBSCRIPTION } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let u = joiner(&app, &t).await;
    let m = recv(&mut ws).await;
    assert_eq!(m["type"], "data", "{m:#}");
    assert_eq!(
        id(&m["payload"]["data"]["assignmentEvents"]["assignment"]["user"]["id"]),
        u
    );

    let mut ws = connect(&server.base, "graphql-ws", None).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(recv(&mut ws).await["type"], "connection_error");
    assert_eq!(recv(&mut ws).await, json!({ "close": 4401 }));
}

#[tokio::test]
async fn a_subscriber_on_one_instance_receives_what_another_instance_commits() {
    let a = TestApp::spawn().await;
    let t = training(&a, "Ops").await;
    // Instance B: its own state (pool, bus) on the same database. On PostgreSQL it must learn of
    // A's commits through NOTIFY: its poll is too slow to matter within the test's wait.
    let mut b_state = skillgraph::build_state(
        &a.database_url,
        skillgraph::jwt::JwtKeys::hs256(crate::helpers::SECRET),
        std::sync::Arc::new(a.clock.clone()),
        Default::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.message()));
    let poll = if is_postgres() {
        Duration::from_secs(3600)
    } else {
        // One SQLite file has no cross-process wake-up: the poll is the path.
        Duration::from_millis(100)
    };
    b_state.env.events = EventBus::new(
        b_state.db.read.clone(),
        BusConfig {
            poll_interval: poll,
            ..BusConfig::default()
        },
    );
    let b_app = skillgraph::app(b_state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, b_app).await.unwrap() });

    let mut ws = connect(&b_base, "graphql-transport-ws", Some(&a.admin)).await;
    send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(recv(&mut ws).await["type"], "connection_ack");
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The mutation goes to A (over HTTP).
    let a_server = crate::http::serve(&a).await;
    let u = a.user().await;
    let (status, body) = a_server
        .post(
            Some(&a.admin),
            json!({ "query": format!("mutation {{ addMembership(input: {{ userId: \"{u}\", groupId: \"{}\" }}) {{ membership {{ id }} }} }}", t.group) }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let m = recv(&mut ws).await;
    assert_eq!(m["type"], "next", "{m:#}");
    assert_eq!(
        id(&m["payload"]["data"]["assignmentEvents"]["assignment"]["user"]["id"]),
        u
    );
}

#[tokio::test]
async fn a_subscription_ends_when_its_token_expires_with_the_cursor_to_resume_from() {
    let app = TestApp::spawn().await;
    let t = training(&app, "Ops").await;
    let server = crate::http::serve(&app).await;
    let short = app
        .state
        .jwt
        .mint(
            app.org_id,
            app.admin_id,
            OrgRole::Admin,
            chrono::Duration::seconds(3),
        )
        .unwrap();
    let mut ws = connect(&server.base, "graphql-transport-ws", None).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {short}") } })).await;
    assert_eq!(recv(&mut ws).await["type"], "connection_ack");
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    joiner(&app, &t).await;
    let got = recv(&mut ws).await;
    let cursor = got["payload"]["data"]["assignmentEvents"]["cursor"].clone();
    assert!(cursor.is_string(), "{got:#}");
    // Within a few seconds the token expires: one error naming the cursor, then complete.
    let end = recv(&mut ws).await;
    assert_eq!(end["type"], "next", "{end:#}");
    let error = &end["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED", "{end:#}");
    assert_eq!(error["extensions"]["resumeAfter"], cursor, "{end:#}");
    assert_eq!(recv(&mut ws).await["type"], "complete");
}
