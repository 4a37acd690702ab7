//! `/metrics`: what the server counts and times, in the Prometheus text format. The recorder is
//! one per process and the tests run in parallel, so each check compares a series before and
//! after its own requests (counters only grow).

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use skillgraph::state::Settings;

use crate::helpers::TestApp;
use crate::http::{Server, serve};

async fn scrape(server: &Server, token: Option<&str>) -> (u16, String) {
    let mut req = server.client.get(format!("{}/metrics", server.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The value of the series `name{labels}` (labels in the exporter's order), 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

async fn series(server: &Server, series: &str) -> f64 {
    value(&scrape(server, None).await.1, series)
}

/// Waits (up to ten seconds) until `series` exceeds `floor`.
async fn grows(server: &Server, name: &str, floor: f64) -> f64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = series(server, name).await;
        if now > floor || tokio::time::Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn metrics_count_requests_operations_units_and_reconciles() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let (status, text) = scrape(&server, None).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("skillgraph_db_connections{pool=\"read\",state=\"idle\"}"),
        "the pools are sampled: {text}"
    );

    let users_ok = "skillgraph_graphql_operations_total{operation=\"users\",outcome=\"ok\"}";
    let audit_forbidden =
        "skillgraph_graphql_operations_total{operation=\"auditLog\",outcome=\"FORBIDDEN\"}";
    let http_ok = "skillgraph_http_requests_total{route=\"/graphql\",status=\"200\"}";
    let requests_ok = "skillgraph_graphql_requests_total{outcome=\"ok\"}";
    let committed = "skillgraph_units_total{outcome=\"committed\"}";
    let reconciles = "skillgraph_reconcile_duration_seconds_count{scope=\"all\"}";
    let changes = "skillgraph_reconcile_changes_count{scope=\"all\"}";
    let before = scrape(&server, None).await.1;

    let (status, _) = server
        .post(
            Some(&app.admin),
            json!({ "query": "{ users(first: 1) { totalCount } }" }),
        )
        .await;
    assert_eq!(status, 200);
    let learner = app.token(
        app.user().await,
        skillgraph::service::viewer::OrgRole::Learner,
    );
    let (_, body) = server
        .post(
            Some(&learner),
            json!({ "query": "{ auditLog(first: 1) { totalCount } }" }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // A rule change: one unit of work whose reconcile covers the whole organization.
    let group = app.group("Metrics", None).await;
    app.add_member(app.user().await, group).await;
    let course = app
        .ok(
            "mutation { createCourse(input: { title: \"Measured\" }) { course { id } } }",
            json!({}),
            &app.owner,
        )
        .await["createCourse"]["course"]["id"]
        .clone();
    let (_, body) = server
        .post(
            Some(&app.owner),
            json!({ "query": "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
                    "variables": { "i": { "name": "Measured rule", "audience": { "groupId": group.to_string() },
                                          "courses": [{ "courseId": course }] } } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");

    let after = scrape(&server, None).await.1;
    for name in [
        users_ok,
        audit_forbidden,
        http_ok,
        requests_ok,
        committed,
        reconciles,
        changes,
    ] {
        assert!(
            value(&after, name) > value(&before, name),
            "{name} grew: before {}, after {}",
            value(&before, name),
            value(&after, name)
        );
    }
    // Latencies are histograms with buckets.
    assert!(after.contains(
        "skillgraph_graphql_operation_duration_seconds_bucket{operation=\"users\",le=\"0.005\"}"
    ));
    assert!(after.contains("skillgraph_reconcile_users_bucket{scope=\"users\",le=\"10\"}"));
    // No client text becomes a label: an alias is counted under its field.
    let aliased = "skillgraph_graphql_operations_total{operation=\"users\",outcome=\"ok\"}";
    let n = value(&after, aliased);
    server
        .post(
            Some(&app.admin),
            json!({ "query": "{ sneaky: users(first: 1) { totalCount } }" }),
        )
        .await;
    let text = scrape(&server, None).await.1;
    assert!(value(&text, aliased) > n);
    assert!(!text.contains("sneaky"));
}

#[tokio::test]
async fn metrics_follow_the_scheduler_and_the_event_bus() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let ticks = "skillgraph_scheduler_ticks_total{outcome=\"ok\"}";
    let before = series(&server, ticks).await;
    skillgraph::service::compliance::scheduler::spawn(
        app.state.env.clone(),
        Duration::from_millis(20),
    );
    assert!(
        grows(&server, ticks, before).await > before,
        "the scheduler ticked"
    );

    // A live subscriber: the event bus publishes the events of a change, and says how late.
    let lag = "skillgraph_event_bus_lag_seconds_count";
    let lag_before = series(&server, lag).await;
    use async_graphql::Executor;
    let viewer = skillgraph::http::auth::authenticate(&app.state, &app.owner)
        .await
        .unwrap();
    let request = async_graphql::Request::new("subscription { assignmentEvents { kind } }");
    let mut stream = skillgraph::graphql::CodedSchema(app.schema.clone()).execute_stream(
        skillgraph::graphql::with_request_data(request, &app.state, viewer),
        None,
    );
    let first = tokio::spawn(async move { stream.next().await.map(|r| r.errors.is_empty()) });
    let text = scrape(&server, None).await.1;
    assert!(text.contains("skillgraph_event_bus_feeds"));
    let group = app.group("Live metrics", None).await;
    let course = app
        .ok(
            "mutation { createCourse(input: { title: \"Live\" }) { course { id } } }",
            json!({}),
            &app.owner,
        )
        .await["createCourse"]["course"]["id"]
        .clone();
    app.ok(
        "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
        json!({ "i": { "name": "Live rule", "audience": { "groupId": group.to_string() }, "courses": [{ "courseId": course }] } }),
        &app.owner,
    )
    .await;
    // Someone joins the group: an ASSIGNED event reaches the subscriber.
    app.add_member(app.user().await, group).await;
    let got = tokio::time::timeout(Duration::from_secs(10), first)
        .await
        .expect("an event arrives")
        .unwrap();
    assert_eq!(got, Some(true));
    assert!(grows(&server, lag, lag_before).await > lag_before);
}

#[tokio::test]
async fn a_metrics_token_guards_metrics() {
    let app = TestApp::spawn_with(Settings {
        metrics_token: Some("scrape-me-please".into()),
        ..Settings::default()
    })
    .await;
    let server = serve(&app).await;
    assert_eq!(scrape(&server, None).await.0, 401);
    assert_eq!(scrape(&server, Some("scrape-me")).await.0, 401);
    assert_eq!(scrape(&server, Some(&app.owner)).await.0, 401);
    let (status, text) = scrape(&server, Some("scrape-me-please")).await;
    assert_eq!(status, 200);
    assert!(text.contains("skillgraph_db_connections"));
}
