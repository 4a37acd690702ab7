//! The audit log: written by every mutation, read newest first by OWNER/ADMIN, unchangeable.

use sea_orm::ConnectionTrait;
use serde_json::json;
use skillgraph::service::viewer::OrgRole;

use crate::helpers::{TestApp, assert_code};

#[tokio::test]
async fn every_mutation_appends_an_audit_event_with_before_and_after() {
    let app = TestApp::spawn().await;
    let g = app.group("Old name", None).await;
    app.ok(
        "mutation($i: UpdateGroupInput!) { updateGroup(input: $i) { group { id } } }",
        json!({ "i": { "id": g.to_string(), "name": "New name" } }),
        &app.admin,
    )
    .await;
    let data = app
        .ok("query($g: ID!) { auditLog(filter: { subjectId: $g }) { totalCount nodes { action subjectType subjectId actorId actorType before after at } } }", json!({ "g": g.to_string() }), &app.admin)
        .await;
    let nodes = data["auditLog"]["nodes"].as_array().unwrap();
    assert_eq!(data["auditLog"]["totalCount"], 2);
    assert_eq!(nodes[0]["action"], "GROUP_UPDATED");
    assert_eq!(nodes[0]["subjectType"], "GROUP");
    assert_eq!(nodes[0]["before"]["name"], "Old name");
    assert_eq!(nodes[0]["after"]["name"], "New name");
    assert_eq!(nodes[0]["actorId"], app.admin_id.to_string());
    assert_eq!(nodes[0]["actorType"], "USER");
    assert_eq!(nodes[0]["at"], "2026-03-01T09:00:00Z");
    assert_eq!(nodes[1]["action"], "GROUP_CREATED");
    assert!(nodes[1]["before"].is_null());
}

#[tokio::test]
async fn audit_log_filters_and_pages() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.group(&format!("G{i}"), None).await;
        app.clock.advance(chrono::Duration::minutes(1));
    }
    let data = app
        .ok("{ auditLog(first: 2, filter: { actions: [\"GROUP_CREATED\"] }) { totalCount pageInfo { hasNextPage endCursor } nodes { after } } }", json!({}), &app.admin)
        .await;
    assert_eq!(data["auditLog"]["totalCount"], 5);
    assert_eq!(
        data["auditLog"]["nodes"][0]["after"]["name"], "G4",
        "newest first"
    );
    let cursor = data["auditLog"]["pageInfo"]["endCursor"].clone();
    let data = app
        .ok("query($a: String) { auditLog(first: 10, after: $a, filter: { actions: [\"GROUP_CREATED\"] }) { nodes { after } } }", json!({ "a": cursor }), &app.admin)
        .await;
    let names: Vec<_> = data["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["after"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["G2", "G1", "G0"]);
    let data = app
        .ok("{ auditLog(filter: { from: \"2026-03-01T09:01:00Z\", to: \"2026-03-01T09:02:00Z\", actions: [\"GROUP_CREATED\"] }) { totalCount } }", json!({}), &app.admin)
        .await;
    assert_eq!(data["auditLog"]["totalCount"], 2);
    let data = app
        .ok(
            "query($a: ID!) { auditLog(filter: { actorId: $a }) { totalCount } }",
            json!({ "a": app.owner_id.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["auditLog"]["totalCount"], 1,
        "the owner created the admin"
    );
}

#[tokio::test]
async fn only_owner_and_admin_read_the_audit_log() {
    let app = TestApp::spawn().await;
    let u = app.user().await;
    for role in [OrgRole::Hr, OrgRole::Manager, OrgRole::Learner] {
        let r = app
            .execute(
                "{ auditLog { totalCount } }",
                json!({}),
                &app.token(u, role),
            )
            .await;
        assert_code(&r, "FORBIDDEN");
    }
    app.ok("{ auditLog { totalCount } }", json!({}), &app.owner)
        .await;
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_audit_events() {
    let app = TestApp::spawn().await;
    let before = app.rows("audit_events").await;
    assert!(before > 0);
    let db = &app.state.db.write;
    assert!(
        db.execute_unprepared("UPDATE audit_events SET action = 'FORGED'")
            .await
            .is_err(),
        "UPDATE refused"
    );
    assert!(
        db.execute_unprepared("DELETE FROM audit_events")
            .await
            .is_err(),
        "DELETE refused"
    );
    if crate::helpers::is_postgres() {
        assert!(
            db.execute_unprepared("TRUNCATE audit_events")
                .await
                .is_err(),
            "TRUNCATE refused"
        );
    }
    assert_eq!(app.rows("audit_events").await, before);
    // Every stored action still reads as one of the schema's AuditAction values: a forged
    // one would fail to serialize.
    let data = app
        .ok(
            "{ auditLog(first: 100) { totalCount nodes { action } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert!(data["auditLog"]["totalCount"].as_i64().unwrap() > 0);
    assert!(
        data["auditLog"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["action"] != "FORGED")
    );
}

#[tokio::test]
async fn a_refused_mutation_leaves_no_audit_event() {
    let app = TestApp::spawn().await;
    let before = app.rows("audit_events").await;
    let r = app
        .execute(
            "mutation { createUser(input: { email: \"bad\", name: \"X\" }) { user { id } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_code(&r, "VALIDATION");
    assert_eq!(app.rows("audit_events").await, before);
}
