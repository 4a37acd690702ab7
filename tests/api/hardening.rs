//! Findings of the hostile tester (issue "Hardening"), each as a test that failed before its fix.

use serde_json::json;

use crate::helpers::{TestApp, id};

/// A rule whose audience mixes a member who already holds a completion of a course without
/// validity and a member who does not used to fail INTERNAL (a NULL best expiry in the per-user
/// compliance summary). Both `createRule` and `updateRule`.
#[tokio::test]
async fn a_rule_over_a_completed_and_an_uncompleted_member_commits() {
    let app = TestApp::spawn().await;
    let group = app.group("Two", None).await;
    let (done, fresh) = (app.user().await, app.user().await);
    app.add_member(done, group).await;
    app.add_member(fresh, group).await;
    let course = |title: &'static str| {
        let app = &app;
        async move {
            let d = app
                .ok(
                    "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
                    json!({ "i": { "title": title } }),
                    &app.admin,
                )
                .await;
            id(&d["createCourse"]["course"]["id"])
        }
    };
    let (first, second) = (course("Ethics").await, course("Safety").await);
    for c in [first, second] {
        app.ok(
            "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { completion { id } } }",
            json!({ "i": { "userId": done.to_string(), "courseId": c.to_string() } }),
            &app.admin,
        )
        .await;
    }
    let created = app
        .ok(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } assignmentsCreated { status user { id } } } }",
            json!({ "i": { "name": "Ethics for Two", "audience": { "groupId": group.to_string() },
                           "courses": [{ "courseId": first.to_string() }] } }),
            &app.admin,
        )
        .await;
    let mut statuses: Vec<(String, String)> = created["createRule"]["assignmentsCreated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["user"]["id"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    statuses.sort();
    let mut expected = vec![
        (done.to_string(), "COMPLETED".to_string()),
        (fresh.to_string(), "ASSIGNED".to_string()),
    ];
    expected.sort();
    assert_eq!(statuses, expected);
    // The member who never took the course is ASSIGNED (not a renewal); the other is credited.
    let mut kinds: Vec<(String, uuid::Uuid)> = crate::engine::events(&app)
        .await
        .into_iter()
        .map(|(kind, user, _)| (kind, user))
        .collect();
    kinds.sort();
    let mut expected_kinds = vec![
        ("ASSIGNED".to_string(), fresh),
        ("COMPLETED".to_string(), done),
    ];
    expected_kinds.sort();
    assert_eq!(kinds, expected_kinds);
    let rule = id(&created["createRule"]["rule"]["id"]);
    let updated = app
        .ok(
            "mutation($i: UpdateRuleInput!) { updateRule(input: $i) { assignmentsCreated { status } } }",
            json!({ "i": { "id": rule.to_string(),
                           "courses": [{ "courseId": first.to_string() }, { "courseId": second.to_string() }] } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        updated["updateRule"]["assignmentsCreated"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let report = app
        .ok(
            "query($g: ID!) { complianceReport(filter: { groupId: $g }) { total compliant pending } }",
            json!({ "g": group.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(report["complianceReport"]["total"], 2);
    assert_eq!(report["complianceReport"]["compliant"], 1);
    assert_eq!(report["complianceReport"]["pending"], 1);
}

// ---- WebSocket authority, limits and the same controls as HTTP ------------------------------

use crate::live::{Ws, connect, recv, send};
use skillgraph::service::viewer::OrgRole;
use skillgraph::state::Settings;

const EVENTS: &str = "subscription { assignmentEvents { cursor kind } }";

/// A graphql-transport-ws connection, acknowledged, of the holder of `token`.
async fn socket(base: &str, token: &str) -> Ws {
    let mut ws = connect(base, "graphql-transport-ws", None).await;
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
    )
    .await;
    assert_eq!(recv(&mut ws).await["type"], "connection_ack");
    ws
}

async fn start(ws: &mut Ws, id: &str, query: &str) {
    send(
        ws,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
}

/// The next message about operation `id` (or the close frame).
async fn about(ws: &mut Ws, id: &str) -> serde_json::Value {
    loop {
        let m = recv(ws).await;
        if m["id"] == id || m.get("close").is_some() || m.get("closed").is_some() {
            return m;
        }
    }
}

/// The first error code of a `next` message (or an `error` one).
fn ws_code(m: &serde_json::Value) -> String {
    let errors = if m["type"] == "error" {
        &m["payload"]
    } else {
        &m["payload"]["errors"]
    };
    errors[0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The subscription `live` ended: UNAUTHENTICATED, with the cursor to resume after.
async fn live_ended_with_resume_after(ws: &mut Ws) {
    let ended = about(ws, "live").await;
    assert_eq!(ws_code(&ended), "UNAUTHENTICATED", "{ended:#}");
    assert!(
        ended["payload"]["errors"][0]["extensions"]["resumeAfter"].is_string(),
        "{ended:#}"
    );
}

/// A deactivated user's open socket used to run queries and mutations, and its subscription
/// kept streaming. Now the subscription ends at once with `resumeAfter`, and every later
/// operation is UNAUTHENTICATED and writes nothing.
#[tokio::test]
async fn a_deactivated_users_socket_stops_at_once() {
    let app = TestApp::spawn().await;
    let server = crate::http::serve(&app).await;
    let hr = app.user().await;
    let token = app.token(hr, OrgRole::Hr);
    let mut ws = socket(&server.base, &token).await;
    start(&mut ws, "live", EVENTS).await;
    start(&mut ws, "q", "{ viewer { id } }").await;
    assert!(about(&mut ws, "q").await["payload"]["data"]["viewer"]["id"].is_string());
    app.ok(
        "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { id } } }",
        json!({ "i": { "id": hr.to_string() } }),
        &app.admin,
    )
    .await;
    live_ended_with_resume_after(&mut ws).await;
    assert_eq!(about(&mut ws, "live").await["type"], "complete");
    let before = app.counts().await;
    start(
        &mut ws,
        "m",
        "mutation { createGroup(input: { name: \"Ghost\" }) { group { id } } }",
    )
    .await;
    let m = about(&mut ws, "m").await;
    assert_eq!(ws_code(&m), "UNAUTHENTICATED", "{m:#}");
    start(&mut ws, "q2", "{ viewer { id } }").await;
    assert_eq!(ws_code(&about(&mut ws, "q2").await), "UNAUTHENTICATED");
    assert_eq!(app.counts().await, before);
}

/// A revoked API client's open socket stops like a deactivated user's: its subscription ends
/// with `resumeAfter`, and every later operation is UNAUTHENTICATED.
#[tokio::test]
async fn a_revoked_api_clients_socket_stops_at_once() {
    let app = TestApp::spawn().await;
    let server = crate::http::serve(&app).await;
    let (client, secret) = app.api_client(&["EVENTS_READ", "REPORTS_READ"]).await;
    let mut ws = socket(&server.base, &secret).await;
    start(&mut ws, "live", EVENTS).await;
    start(&mut ws, "q", "{ users(first: 1) { totalCount } }").await;
    assert!(about(&mut ws, "q").await["payload"]["data"]["users"]["totalCount"].is_number());
    app.ok(
        "mutation($i: RevokeApiClientInput!) { revokeApiClient(input: $i) { apiClient { id } } }",
        json!({ "i": { "id": client.to_string() } }),
        &app.admin,
    )
    .await;
    live_ended_with_resume_after(&mut ws).await;
    start(&mut ws, "q2", "{ users(first: 1) { totalCount } }").await;
    assert_eq!(ws_code(&about(&mut ws, "q2").await), "UNAUTHENTICATED");
}

/// An expired OWNER token's socket used to read `auditLog` and create groups. Now, once the
/// token has expired, every operation is UNAUTHENTICATED.
#[tokio::test]
async fn an_expired_tokens_socket_may_no_longer_act() {
    let app = TestApp::spawn().await;
    let server = crate::http::serve(&app).await;
    // Expiring in 2 s.
    let token = app
        .state
        .jwt
        .mint(
            app.org_id,
            app.owner_id,
            OrgRole::Owner,
            chrono::Duration::seconds(2),
        )
        .unwrap();
    let mut ws = socket(&server.base, &token).await;
    let mut n = 0;
    let refused = loop {
        n += 1;
        let id = format!("read{n}");
        start(&mut ws, &id, "{ auditLog(first: 1) { totalCount } }").await;
        let m = about(&mut ws, &id).await;
        if m["payload"]["errors"].is_array() {
            break m;
        }
        assert!(n < 200, "still served after 20 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(ws_code(&refused), "UNAUTHENTICATED", "{refused:#}");
    let before = app.counts().await;
    start(
        &mut ws,
        "m",
        "mutation { createGroup(input: { name: \"Late\" }) { group { id } } }",
    )
    .await;
    assert_eq!(ws_code(&about(&mut ws, "m").await), "UNAUTHENTICATED");
    assert_eq!(app.counts().await, before);
}

/// Operations over a socket used to bypass the rate limiter and the `AUTHZ_DENIED` audit.
#[tokio::test]
async fn socket_operations_pass_the_rate_limiter_and_the_denial_audit() {
    let app = TestApp::spawn_with(Settings {
        rate_limit_per_second: 1,
        rate_limit_burst: 1,
        ..Settings::default()
    })
    .await;
    let server = crate::http::serve(&app).await;
    let learner = app.user().await;
    let mut ws = socket(&server.base, &app.token(learner, OrgRole::Learner)).await;
    let before = app.counts().await;
    start(
        &mut ws,
        "m",
        "mutation { createGroup(input: { name: \"Not mine\" }) { group { id } } }",
    )
    .await;
    assert_eq!(ws_code(&about(&mut ws, "m").await), "FORBIDDEN");
    let denied = app
        .scalar("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'AUTHZ_DENIED'")
        .await;
    assert_eq!(denied, 1);
    assert_eq!(app.counts().await, before);
    start(&mut ws, "q", "{ viewer { id } }").await;
    assert_eq!(ws_code(&about(&mut ws, "q").await), "RATE_LIMITED");
}

/// One socket used to hold 50,000 subscriptions and accept duplicate ids. Now a connection
/// runs at most `max_subscriptions_per_connection` operations, a user at most
/// `max_subscriptions_per_user` over all their sockets, and a duplicate id closes with 4409.
#[tokio::test]
async fn subscriptions_are_limited_per_connection_and_per_user_and_ids_are_unique() {
    let app = TestApp::spawn_with(Settings {
        max_subscriptions_per_connection: 3,
        max_subscriptions_per_user: 4,
        ..Settings::default()
    })
    .await;
    let server = crate::http::serve(&app).await;
    let learner = app.user().await;
    let token = app.token(learner, OrgRole::Learner);
    let mut ws = socket(&server.base, &token).await;
    for id in ["1", "2", "3"] {
        start(&mut ws, id, EVENTS).await;
    }
    start(&mut ws, "4", EVENTS).await;
    let m = about(&mut ws, "4").await;
    assert_eq!(ws_code(&m), "RATE_LIMITED", "{m:#}");
    assert_eq!(about(&mut ws, "4").await["type"], "complete");
    // Completing one frees its place.
    send(&mut ws, json!({ "id": "1", "type": "complete" })).await;
    let mut freed = false;
    for n in 0..100 {
        let id = format!("again{n}");
        start(&mut ws, &id, EVENTS).await;
        let m =
            tokio::time::timeout(std::time::Duration::from_millis(300), about(&mut ws, &id)).await;
        match m {
            Err(_) => {
                freed = true; // running: no error came
                break;
            }
            Ok(m) => assert_eq!(ws_code(&m), "RATE_LIMITED"),
        }
    }
    assert!(freed);
    // The user's second socket gets the one place left of the user's four.
    let mut other = socket(&server.base, &token).await;
    start(&mut other, "a", EVENTS).await;
    start(&mut other, "b", EVENTS).await;
    let m = about(&mut other, "b").await;
    assert_eq!(ws_code(&m), "RATE_LIMITED", "{m:#}");
    // A duplicate id of a running subscription closes the connection with 4409.
    start(&mut other, "a", EVENTS).await;
    assert_eq!(about(&mut other, "a").await, json!({ "close": 4409 }));
}

/// A socket that never sends `connection_init` used to stay open for ever.
#[tokio::test]
async fn a_socket_without_connection_init_is_closed_with_4408() {
    let app = TestApp::spawn_with(Settings {
        ws_init_timeout_secs: 1,
        ..Settings::default()
    })
    .await;
    let server = crate::http::serve(&app).await;
    let mut ws = connect(&server.base, "graphql-transport-ws", None).await;
    assert_eq!(recv(&mut ws).await, json!({ "close": 4408 }));
}

// ---- cost limits that hold ---------------------------------------------------------------

/// The first error's extensions.
fn ext(r: &serde_json::Value) -> &serde_json::Value {
    &r["errors"][0]["extensions"]
}

/// A 30,000-item `status`/`kinds` list used to cost seconds of server time; now every input
/// list has a maximum (VALIDATION naming the argument).
#[tokio::test]
async fn huge_input_lists_are_refused() {
    let app = TestApp::spawn().await;
    let statuses: Vec<&str> = std::iter::repeat_n("ASSIGNED", 30_000).collect();
    let r = app
        .execute(
            "query($f: AssignmentFilter) { assignments(filter: $f) { totalCount } }",
            json!({ "f": { "status": statuses } }),
            &app.admin,
        )
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert_eq!(ext(&r)["field"], "f.status");
    let kinds = vec!["ASSIGNED"; 30_000].join(", ");
    let r = app
        .execute(
            &format!("{{ assignmentEvents(filter: {{ kinds: [{kinds}] }}) {{ totalCount }} }}"),
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    // 1,000 criteria (INTERNAL before): VALIDATION, and no rule written.
    let before = app.counts().await;
    let criteria: Vec<_> = (0..1000)
        .map(|i| json!({ "attribute": "department", "op": "EQ", "values": [format!("d{i}")] }))
        .collect();
    let r = app
        .execute(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
            json!({ "i": { "name": "Many", "audience": { "criteria": criteria }, "courses": [] } }),
            &app.admin,
        )
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert_eq!(app.counts().await, before);
}

/// 3,000 aliases of `roleMatches` fit under the complexity limit and `__typename` was free;
/// now a match connection has a base cost, `__typename` and list items count, and the refusal
/// says the cost and the limit (issue 14: "Limits say what they are").
#[tokio::test]
async fn aliases_typenames_and_list_items_count_towards_the_cost() {
    let app = TestApp::spawn().await;
    let aliases: String = (0..1000)
        .map(|i| format!("m{i}: roleMatches(first: 1) {{ __typename }} "))
        .collect();
    let r = app
        .execute(&format!("{{ {aliases} }}"), json!({}), &app.admin)
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert_eq!(ext(&r)["limit"], 10_000);
    assert!(ext(&r)["cost"].as_u64().unwrap() > 10_000, "{r:#}");
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("cost"));

    let small = TestApp::spawn_with(Settings {
        max_complexity: 100,
        ..Settings::default()
    })
    .await;
    let typenames: String = (0..200).map(|i| format!("t{i}: __typename ")).collect();
    let r = small
        .execute(&format!("{{ {typenames} }}"), json!({}), &small.admin)
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert_eq!(ext(&r)["limit"], 100);
    assert!(ext(&r)["cost"].as_u64().unwrap() >= 200);
    let kinds = vec!["ASSIGNED"; 200];
    let r = small
        .execute(
            "query($k: [AssignmentEventKind!]) { assignmentEvents(filter: { kinds: $k }, first: 1) { totalCount } }",
            json!({ "k": kinds }),
            &small.admin,
        )
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert!(ext(&r)["cost"].as_u64().unwrap() >= 200);
    // An ordinary query still fits.
    small.ok("{ viewer { id } }", json!({}), &small.admin).await;
}

/// Depth errors say the depth and the limit too (issue 14).
#[tokio::test]
async fn a_query_nested_too_deep_says_its_depth_and_the_limit() {
    let app = TestApp::spawn().await;
    let mut q = String::from("id");
    for _ in 0..20 {
        q = format!("manager {{ {q} }}");
    }
    let r = app
        .execute(&format!("{{ viewer {{ {q} }} }}"), json!({}), &app.admin)
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert_eq!(ext(&r)["limit"], 15);
    assert!(ext(&r)["cost"].as_u64().unwrap() > 15);
}

/// A 1.7 MB document of repeated directives got a 12 MB error body. Now documents, directives
/// per field and error lists are bounded.
#[tokio::test]
async fn documents_directives_and_error_bodies_are_bounded() {
    let app = TestApp::spawn().await;
    let directives = "@include(if: true) ".repeat(4000);
    let r = app
        .execute(
            &format!("{{ viewer {{ id {directives} }} }}"),
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert!(r["errors"].as_array().unwrap().len() <= 20);
    assert!(
        r.to_string().len() < 10_000,
        "{} bytes",
        r.to_string().len()
    );
    let directives = "@include(if: true) ".repeat(50);
    let r = app
        .execute(
            &format!("{{ viewer {{ id {directives} }} }}"),
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert!(
        r.to_string().len() < 10_000,
        "{} bytes",
        r.to_string().len()
    );
    let huge = "viewer { id } ".repeat(100_000);
    let r = app
        .execute(&format!("{{ {huge} }}"), json!({}), &app.admin)
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert_eq!(ext(&r)["limit"], 100_000);
    // Many mistakes: the first few are answered, and how many more there were.
    let unknown: String = (0..3000).map(|i| format!("nope{i} ")).collect();
    let r = app
        .execute(&format!("{{ {unknown} }}"), json!({}), &app.admin)
        .await;
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 20, "{r:#}");
    assert!(
        errors[19]["message"]
            .as_str()
            .unwrap()
            .contains("more errors")
    );
}

// ---- bad input is VALIDATION ------------------------------------------------------------

/// A NUL byte (INTERNAL on PostgreSQL) and a 1 MB search string used to reach the database.
#[tokio::test]
async fn nul_bytes_and_huge_texts_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let before = app.counts().await;
    let r = app
        .execute(
            "mutation($i: CreateGroupInput!) { createGroup(input: $i) { group { id } } }",
            json!({ "i": { "name": "Nul\u{0}Group" } }),
            &app.admin,
        )
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert_eq!(ext(&r)["field"], "i.name");
    let r = app
        .execute(
            "mutation { createGroup(input: { name: \"Nul\\u0000Inline\" }) { group { id } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    let r = app
        .execute(
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
            json!({ "i": { "email": "x@example.com", "name": "x".repeat(20_000) } }),
            &app.admin,
        )
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert_eq!(app.counts().await, before);
    let r = app
        .execute(
            "query($s: String) { skills(search: $s) { id } }",
            json!({ "s": "a".repeat(1 << 20) }),
            &app.admin,
        )
        .await;
    assert_eq!(ext(&r)["code"], "VALIDATION", "{r:#}");
    assert_eq!(ext(&r)["field"], "s");
}

/// Other organizations' cursors were accepted silently by the connections (the README says
/// VALIDATION); malformed ones are VALIDATION everywhere.
#[tokio::test]
async fn foreign_and_malformed_cursors_are_refused_by_every_connection() {
    let app = TestApp::spawn().await;
    let (_, other) = app.other_org().await;
    app.user().await;
    let group = app.group("Cursors", None).await;
    let theirs = |q: &'static str, path: &'static [&'static str]| {
        let app = &app;
        let other = other.clone();
        async move {
            let mut d = app.ok(q, json!({}), &other).await;
            for p in path {
                d = d[p].clone();
            }
            d[0]["cursor"].as_str().expect("a cursor").to_string()
        }
    };
    let users = theirs(
        "{ users(first: 1) { edges { cursor } } }",
        &["users", "edges"],
    )
    .await;
    let audit = theirs(
        "{ auditLog(first: 1) { edges { cursor } } }",
        &["auditLog", "edges"],
    )
    .await;
    for (q, cursor) in [
        (
            "query($c: String) { users(first: 1, after: $c) { totalCount } }",
            &users,
        ),
        (
            "query($c: String) { auditLog(first: 1, after: $c) { totalCount } }",
            &audit,
        ),
    ] {
        let r = app.execute(q, json!({ "c": cursor }), &app.admin).await;
        assert_eq!(ext(&r)["code"], "VALIDATION", "{q}: {r:#}");
        assert_eq!(ext(&r)["field"], "after", "{q}: {r:#}");
    }
    let role = app.role("Cursor role", None).await;
    let group_q = format!(
        "query($c: String) {{ group(id: \"{group}\") {{ members(after: $c) {{ totalCount }} }} }}"
    );
    let role_q = format!(
        "query($c: String) {{ role(id: \"{role}\") {{ userMatches(after: $c) {{ totalCount }} }} }}"
    );
    let every = [
        "query($c: String) { users(after: $c) { totalCount } }",
        "query($c: String) { assignments(after: $c) { totalCount } }",
        "query($c: String) { auditLog(after: $c) { totalCount } }",
        "query($c: String) { roleMatches(after: $c) { totalCount } }",
        "query($c: String) { assignmentEvents(after: $c) { totalCount } }",
        "query($c: String) { complianceReport { users(after: $c) { totalCount } } }",
        group_q.as_str(),
        role_q.as_str(),
    ];
    for q in every {
        for cursor in ["garbage", users.as_str()] {
            let r = app.execute(q, json!({ "c": cursor }), &app.admin).await;
            assert_eq!(ext(&r)["code"], "VALIDATION", "{q} with {cursor}: {r:#}");
        }
    }
}

/// 413 and 408 answers had no JSON body or code; a client's `X-Request-Id` of any length and
/// content was stored verbatim in the audit log.
#[tokio::test]
async fn refusals_of_the_http_edge_are_graphql_shaped_and_request_ids_are_screened() {
    let app = TestApp::spawn_with(Settings {
        max_body_bytes: 2_000,
        ..Settings::default()
    })
    .await;
    let server = crate::http::serve(&app).await;
    let res = server
        .client
        .post(format!("{}/graphql", server.base))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body(
            json!({ "query": format!("{{ viewer {{ id }} }} # {}", "x".repeat(5_000)) })
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body:#}"
    );

    let slow = TestApp::spawn_with(Settings {
        request_timeout_secs: 0,
        ..Settings::default()
    })
    .await;
    let server_slow = crate::http::serve(&slow).await;
    let (status, body) = server_slow
        .post(
            Some(&slow.admin),
            json!({ "query": "{ users { totalCount } }" }),
        )
        .await;
    assert_eq!(status, 408);
    assert!(
        body["errors"][0]["extensions"]["code"].is_string(),
        "{body:#}"
    );

    let create = |name: &str| json!({ "query": format!("mutation {{ createGroup(input: {{ name: \"{name}\" }}) {{ group {{ id }} }} }}") });
    for (sent, kept) in [
        ("x".repeat(1000), false),
        ("evil\u{7f}id".into(), false),
        ("req-42.a:b_c".into(), true),
    ] {
        let res = server
            .client
            .post(format!("{}/graphql", server.base))
            .bearer_auth(&app.admin)
            .header("x-request-id", sent.as_str())
            .json(&create(&format!("G {}", sent.len())))
            .send()
            .await;
        let Ok(res) = res else {
            assert!(!kept);
            continue; // the client itself refuses some header values
        };
        let echoed = res.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(res.status(), 200);
        assert_eq!(echoed == sent, kept, "{echoed}");
        assert!(echoed.len() <= 64);
    }
    let too_long = app
        .scalar("SELECT COUNT(*) AS n FROM audit_events WHERE LENGTH(request_id) > 64")
        .await;
    assert_eq!(too_long, 0);
    let kept = app
        .scalar("SELECT COUNT(*) AS n FROM audit_events WHERE request_id = 'req-42.a:b_c'")
        .await;
    assert_eq!(kept, 1);
}

// ---- tokens ---------------------------------------------------------------------------------

fn sign(claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(crate::helpers::SECRET),
    )
    .unwrap()
}

/// `--jwt-issuer`/`--jwt-audience` accepted tokens that lack the claim; token lifetime had no
/// maximum.
#[test]
fn configured_issuer_and_audience_are_required_and_lifetimes_are_bounded() {
    use skillgraph::jwt::JwtKeys;
    let now = chrono::Utc::now().timestamp();
    let base = json!({ "sub": uuid::Uuid::now_v7().to_string(), "org": uuid::Uuid::now_v7().to_string(),
                       "role": "ADMIN", "exp": now + 3600, "iat": now });
    let with = |extra: serde_json::Value| {
        let mut c = base.clone();
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        sign(c)
    };
    let keys = JwtKeys::hs256(crate::helpers::SECRET)
        .with_issuer("https://idp.example")
        .with_audience("skillgraph");
    assert!(
        keys.verify(&with(
            json!({ "iss": "https://idp.example", "aud": "skillgraph" })
        ))
        .is_ok()
    );
    for token in [
        with(json!({})),
        with(json!({ "aud": "skillgraph" })),
        with(json!({ "iss": "https://idp.example" })),
        with(json!({ "iss": "https://other.example", "aud": "skillgraph" })),
    ] {
        let e = keys.verify(&token).unwrap_err();
        assert_eq!(e.code(), "UNAUTHENTICATED");
    }
    let keys = JwtKeys::hs256(crate::helpers::SECRET).with_max_ttl(30 * 86_400);
    assert!(
        keys.verify(&with(json!({ "exp": now + 29 * 86_400 })))
            .is_ok()
    );
    let long = with(json!({ "exp": now + 31 * 86_400 }));
    assert_eq!(keys.verify(&long).unwrap_err().code(), "UNAUTHENTICATED");
    let mut no_iat = base.clone();
    no_iat.as_object_mut().unwrap().remove("iat");
    no_iat["exp"] = json!(now + 40 * 86_400);
    assert!(keys.verify(&sign(no_iat)).is_err());
    assert_eq!(skillgraph::jwt::parse_ttl("30d"), Ok(30 * 86_400));
    assert_eq!(skillgraph::jwt::parse_ttl("90m"), Ok(5400));
    assert!(skillgraph::jwt::parse_ttl("soon").is_err());
}

/// A one-character JWT secret was accepted at start.
#[test]
fn a_short_jwt_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skillgraph"))
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--jwt-secret", "x"])
        .env_remove("SKILLGRAPH_JWT_SECRET")
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 32"), "{stderr}");
    // Nothing was created: the secret is checked before the database is opened.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

// ---- scope ----------------------------------------------------------------------------------

/// A track owned by a LEARNER, used as a rule's bundle, and an organization-wide rubric.
struct Tracked {
    owner: uuid::Uuid,
    track: uuid::Uuid,
    rubric: uuid::Uuid,
    skill: uuid::Uuid,
    learner: uuid::Uuid,
}

async fn tracked(app: &TestApp) -> Tracked {
    use crate::tracks::{assessments::CREATE_RUBRIC, prerequisites::course_with, track::track};
    let owner = app.user().await;
    let basics = course_with(app, "Basics", &[]).await;
    let t = track(app, "Sales", owner, &[(basics, true)]).await;
    let learner = app.user().await;
    let group = app.group("Sales", None).await;
    app.add_member(learner, group).await;
    app.ok(
        "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
        json!({ "i": { "name": "Sales", "audience": { "groupId": group.to_string() }, "trackId": t.to_string() } }),
        &app.admin,
    )
    .await;
    let skill = app.skill("Pitching").await;
    let d = app
        .ok(
            CREATE_RUBRIC,
            json!({ "i": { "name": "Pitch", "passingPercent": 50,
                           "dimensions": [{ "skillId": skill.to_string(), "weight": 1, "maxPoints": 10, "levelOnPass": 3 }] } }),
            &app.admin,
        )
        .await;
    Tracked {
        owner,
        track: t,
        rubric: id(&d["createRubric"]["rubric"]["id"]),
        skill,
        learner,
    }
}

/// A track owner with a LEARNER org role could change a rule's bundle through `updateTrack`
/// (74 assignments withdrawn, no preview). Now that takes what `updateRule` takes.
#[tokio::test]
async fn a_rule_linked_tracks_courses_change_only_with_rule_permission() {
    use crate::tracks::prerequisites::course_with;
    let app = TestApp::spawn().await;
    let w = tracked(&app).await;
    let other = course_with(&app, "Other", &[]).await;
    let change = json!({ "i": { "id": w.track.to_string(), "courses": [{ "courseId": other.to_string() }] } });
    let q = "mutation($i: UpdateTrackInput!) { updateTrack(input: $i) { track { id } } }";
    let before = app.counts().await;
    let r = app
        .execute(q, change.clone(), &app.token(w.owner, OrgRole::Learner))
        .await;
    crate::helpers::assert_code(&r, "FORBIDDEN");
    assert_eq!(app.counts().await, before);
    // The owner may still rename it; an ADMIN may change its courses.
    app.ok(
        q,
        json!({ "i": { "id": w.track.to_string(), "name": "Sales basics" } }),
        &app.token(w.owner, OrgRole::Learner),
    )
    .await;
    app.ok(q, change, &app.admin).await;
}

/// `Assessment.evaluator` returned people (email, hire date, …) outside the viewer's reach;
/// OWNER/ADMIN/HR could assess themselves.
#[tokio::test]
async fn evaluators_obey_the_people_scope_and_nobody_assesses_themself() {
    use crate::tracks::assessments::{RECORD, scores};
    let app = TestApp::spawn().await;
    let w = tracked(&app).await;
    let hr = app.user().await;
    let hr_token = app.token(hr, OrgRole::Hr);
    app.ok(
        RECORD,
        json!({ "i": { "rubricId": w.rubric.to_string(), "userId": w.learner.to_string(),
                       "scores": scores(&[(w.skill, 8)]) } }),
        &hr_token,
    )
    .await;
    let learner = app.token(w.learner, OrgRole::Learner);
    let d = app
        .ok(
            "{ viewer { assessments { user { id } evaluator { id email } } } }",
            json!({}),
            &learner,
        )
        .await;
    let seen = &d["viewer"]["assessments"][0];
    assert_eq!(id(&seen["user"]["id"]), w.learner);
    assert!(seen["evaluator"].is_null(), "{d:#}");
    // HR sees everyone, evaluator included.
    let d = app
        .ok(
            "query($u: ID!) { user(id: $u) { assessments { evaluator { id } } } }",
            json!({ "u": w.learner.to_string() }),
            &hr_token,
        )
        .await;
    assert_eq!(id(&d["user"]["assessments"][0]["evaluator"]["id"]), hr);
    // Assessing oneself: FORBIDDEN for every role, nothing written.
    let before = app.counts().await;
    for (user, token) in [
        (hr, hr_token.clone()),
        (app.admin_id, app.admin.clone()),
        (app.owner_id, app.owner.clone()),
    ] {
        let r = app
            .execute(
                RECORD,
                json!({ "i": { "rubricId": w.rubric.to_string(), "userId": user.to_string(),
                               "scores": scores(&[(w.skill, 10)]) } }),
                &token,
            )
            .await;
        crate::helpers::assert_code(&r, "FORBIDDEN");
    }
    assert_eq!(app.counts().await, before);
}

// ---- connection hygiene ---------------------------------------------------------------------

/// The server as `skillgraph serve` runs it (its own accept loop), on a free port.
async fn served(app: &TestApp) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = app.state.clone();
    tokio::spawn(async move {
        skillgraph::serve(listener, state, std::future::pending())
            .await
            .unwrap();
    });
    addr
}

/// Reads until the server closes the connection (panics after 10 s); returns what it sent.
async fn until_closed(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection");
    String::from_utf8_lossy(&got).into_owned()
}

/// Raw TCP and partial headers were never closed: at ~20,000 the server failed `accept` with
/// "Too many open files".
#[tokio::test]
async fn idle_and_half_sent_connections_are_closed_and_connections_are_capped() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(Settings {
        header_timeout_secs: 1,
        max_connections: 3,
        tick_seconds: 0,
        ..Settings::default()
    })
    .await;
    let addr = served(&app).await;
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut partial = tokio::net::TcpStream::connect(addr).await.unwrap();
    partial
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    // A fourth connection is over the cap of three: answered 503 with a JSON body.
    let mut over = tokio::net::TcpStream::connect(addr).await.unwrap();
    let refused = until_closed(&mut over).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("RATE_LIMITED"), "{refused}");
    // A keep-alive connection that answered one request is closed once idle.
    let body = json!({ "query": "{ viewer { id } }" }).to_string();
    idle.write_all(
        format!(
            "POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            app.admin,
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let answered = until_closed(&mut idle).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    until_closed(&mut silent).await;
    until_closed(&mut partial).await;
    // Their places are free again.
    let mut again = None;
    for _ in 0..100 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let got = until_closed(&mut s).await;
        if got.starts_with("HTTP/1.1 200") {
            again = Some(got);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(again.is_some());
}
