//! Memberships: adding (idempotent, back-filled), removing, transferring, history.

use serde_json::json;

use crate::helpers::{TestApp, assert_code};

const ADD: &str = "mutation($i: AddMembershipInput!) { addMembership(input: $i) { created membership { id since until current group { name } user { id } } } }";
const REMOVE: &str = "mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { membership { id until current } } }";
const TRANSFER: &str = "mutation($i: TransferUserInput!) { transferUser(input: $i) { membership { id since group { name } } endedMembership { id until group { name } } } }";

#[tokio::test]
async fn adding_a_current_membership_again_changes_nothing() {
    let app = TestApp::spawn().await;
    let g = app.group("Finance", None).await;
    let u = app.user().await;
    let input = json!({ "i": { "userId": u.to_string(), "groupId": g.to_string() } });
    let first = app.ok(ADD, input.clone(), &app.admin).await;
    assert_eq!(first["addMembership"]["created"], true);
    assert_eq!(
        first["addMembership"]["membership"]["since"], "2026-03-01T09:00:00Z",
        "since defaults to now"
    );
    let before = app.counts().await;
    let again = app.ok(ADD, input, &app.admin).await;
    assert_eq!(again["addMembership"]["created"], false);
    assert_eq!(
        again["addMembership"]["membership"]["id"],
        first["addMembership"]["membership"]["id"]
    );
    assert_eq!(
        app.counts().await,
        before,
        "no new membership, no audit event"
    );
}

#[tokio::test]
async fn since_back_fills_but_never_in_the_future() {
    let app = TestApp::spawn().await;
    let g = app.group("Finance", None).await;
    let u = app.user().await;
    let before = app.counts().await;
    let r = app.execute(ADD, json!({ "i": { "userId": u.to_string(), "groupId": g.to_string(), "since": "2026-03-02T00:00:00Z" } }), &app.admin).await;
    assert_code(&r, "VALIDATION");
    let r = app.execute(ADD, json!({ "i": { "userId": u.to_string(), "groupId": g.to_string(), "since": "yesterday" } }), &app.admin).await;
    assert!(!r["errors"].as_array().unwrap().is_empty());
    assert_eq!(app.counts().await, before);
    let data = app.ok(ADD, json!({ "i": { "userId": u.to_string(), "groupId": g.to_string(), "since": "2026-01-05T08:30:00Z" } }), &app.admin).await;
    assert_eq!(
        data["addMembership"]["membership"]["since"],
        "2026-01-05T08:30:00Z"
    );
}

#[tokio::test]
async fn unknown_user_or_group_is_not_found() {
    let app = TestApp::spawn().await;
    let g = app.group("Finance", None).await;
    let u = app.user().await;
    let ghost = uuid::Uuid::now_v7().to_string();
    let before = app.counts().await;
    assert_code(
        &app.execute(
            ADD,
            json!({ "i": { "userId": ghost, "groupId": g.to_string() } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            ADD,
            json!({ "i": { "userId": u.to_string(), "groupId": ghost } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            REMOVE,
            json!({ "i": { "userId": u.to_string(), "groupId": g.to_string() } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn remove_ends_the_membership_and_keeps_history() {
    let app = TestApp::spawn().await;
    let g = app.group("Finance", None).await;
    let u = app.user().await;
    app.add_member(u, g).await;
    app.clock.advance(chrono::Duration::days(3));
    let data = app
        .ok(
            REMOVE,
            json!({ "i": { "userId": u.to_string(), "groupId": g.to_string() } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["removeMembership"]["membership"]["until"],
        "2026-03-04T09:00:00Z"
    );
    assert_eq!(data["removeMembership"]["membership"]["current"], false);
    let data = app
        .ok("query($u: ID!) { user(id: $u) { now: memberships { id } all: memberships(includeHistory: true) { since until } } }", json!({ "u": u.to_string() }), &app.admin)
        .await;
    assert_eq!(data["user"]["now"], json!([]));
    assert_eq!(
        data["user"]["all"],
        json!([{ "since": "2026-03-01T09:00:00Z", "until": "2026-03-04T09:00:00Z" }])
    );
    // Re-joining opens a new membership beside the old one.
    app.add_member(u, g).await;
    let data = app
        .ok(
            "query($u: ID!) { user(id: $u) { memberships(includeHistory: true) { current } } }",
            json!({ "u": u.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["user"]["memberships"],
        json!([{ "current": false }, { "current": true }])
    );
}

#[tokio::test]
async fn transfer_ends_one_membership_and_starts_the_other_at_the_same_instant() {
    let app = TestApp::spawn().await;
    let smb = app.group("Sales — SMB", None).await;
    let ent = app.group("Sales — Enterprise", None).await;
    let u = app.user().await;
    app.add_member(u, smb).await;
    app.clock.advance(chrono::Duration::hours(5));
    let data = app.ok(TRANSFER, json!({ "i": { "userId": u.to_string(), "fromGroupId": smb.to_string(), "toGroupId": ent.to_string() } }), &app.admin).await;
    let t = &data["transferUser"];
    assert_eq!(t["membership"]["group"]["name"], "Sales — Enterprise");
    assert_eq!(t["endedMembership"]["group"]["name"], "Sales — SMB");
    assert_eq!(t["membership"]["since"], t["endedMembership"]["until"]);
    assert_eq!(t["membership"]["since"], "2026-03-01T14:00:00Z");

    let audit = app
        .ok("query($u: ID!) { auditLog(filter: { subjectId: $u, actions: [\"USER_TRANSFERRED\"] }) { nodes { subjectType subjectId before after } } }", json!({ "u": u.to_string() }), &app.admin)
        .await;
    let event = &audit["auditLog"]["nodes"][0];
    assert_eq!(
        event["subjectType"], "USER",
        "transfers name the user as their subject"
    );
    assert_eq!(event["subjectId"], u.to_string());
}

#[tokio::test]
async fn transferring_from_a_group_the_user_is_not_in_is_refused() {
    let app = TestApp::spawn().await;
    let a = app.group("A", None).await;
    let b = app.group("B", None).await;
    let c = app.group("C", None).await;
    let u = app.user().await;
    app.add_member(u, c).await;
    let before = app.counts().await;
    let r = app.execute(TRANSFER, json!({ "i": { "userId": u.to_string(), "fromGroupId": a.to_string(), "toGroupId": b.to_string() } }), &app.admin).await;
    assert_code(&r, "VALIDATION");
    let r = app.execute(TRANSFER, json!({ "i": { "userId": u.to_string(), "fromGroupId": c.to_string(), "toGroupId": uuid::Uuid::now_v7().to_string() } }), &app.admin).await;
    assert_code(&r, "NOT_FOUND");
    let r = app.execute(TRANSFER, json!({ "i": { "userId": u.to_string(), "fromGroupId": c.to_string(), "toGroupId": c.to_string() } }), &app.admin).await;
    assert_code(&r, "VALIDATION");
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn membership_audit_events_name_the_user() {
    let app = TestApp::spawn().await;
    let g = app.group("G", None).await;
    let u = app.user().await;
    app.add_member(u, g).await;
    app.ok(
        REMOVE,
        json!({ "i": { "userId": u.to_string(), "groupId": g.to_string() } }),
        &app.admin,
    )
    .await;
    let data = app.ok("query($u: ID!) { auditLog(filter: { subjectId: $u }) { nodes { action subjectType actorId } } }", json!({ "u": u.to_string() }), &app.owner).await;
    let actions: Vec<_> = data["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        ["MEMBERSHIP_REMOVED", "MEMBERSHIP_ADDED", "USER_CREATED"],
        "newest first"
    );
    for n in data["auditLog"]["nodes"].as_array().unwrap() {
        assert_eq!(n["subjectType"], "USER");
    }
    assert_eq!(
        data["auditLog"]["nodes"][0]["actorId"],
        app.admin_id.to_string()
    );
}
