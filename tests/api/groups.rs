//! Groups: the org tree, moving subtrees, deleting empty groups.

use serde_json::json;

use crate::helpers::{TestApp, assert_code, id};

const MOVE: &str = "mutation($i: MoveGroupInput!) { moveGroup(input: $i) { group { id parent { id } ancestors { name } } } }";
const DELETE: &str =
    "mutation($i: DeleteGroupInput!) { deleteGroup(input: $i) { group { id deletedAt } } }";

#[tokio::test]
async fn groups_nest_and_report_their_tree() {
    let app = TestApp::spawn().await;
    let acme = app.group("Acme", None).await;
    let sales = app.group("Sales", Some(acme)).await;
    let smb = app.group("Sales — SMB", Some(sales)).await;
    let ent = app.group("Sales — Enterprise", Some(sales)).await;
    let a = app.user().await;
    let b = app.user().await;
    app.add_member(a, smb).await;
    app.add_member(b, ent).await;
    app.add_member(b, sales).await;
    let data = app
        .ok(
            "query($s: ID!, $e: ID!) { sales: group(id: $s) { name parent { name } children { name } descendants { name }
                direct: members { totalCount } all: members(includeSubgroups: true) { totalCount } }
              ent: group(id: $e) { ancestors { name } } roots: groups(rootsOnly: true) { name } }",
            json!({ "s": sales.to_string(), "e": ent.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(data["sales"]["parent"]["name"], "Acme");
    assert_eq!(
        data["sales"]["children"],
        json!([{ "name": "Sales — Enterprise" }, { "name": "Sales — SMB" }])
    );
    assert_eq!(data["sales"]["descendants"].as_array().unwrap().len(), 2);
    assert_eq!(data["sales"]["direct"]["totalCount"], 1);
    assert_eq!(
        data["sales"]["all"]["totalCount"], 2,
        "b counts once although in two groups of the subtree"
    );
    assert_eq!(
        data["ent"]["ancestors"],
        json!([{ "name": "Sales" }, { "name": "Acme" }]),
        "nearest first"
    );
    assert_eq!(data["roots"], json!([{ "name": "Acme" }]));
}

#[tokio::test]
async fn update_group_renames() {
    let app = TestApp::spawn().await;
    let g = app.group("Old", None).await;
    let data = app
        .ok(
            "mutation($i: UpdateGroupInput!) { updateGroup(input: $i) { group { name } } }",
            json!({ "i": { "id": g.to_string(), "name": "New" } }),
            &app.admin,
        )
        .await;
    assert_eq!(data["updateGroup"]["group"]["name"], "New");
    let before = app.counts().await;
    let r = app
        .execute(
            "mutation($i: UpdateGroupInput!) { updateGroup(input: $i) { group { name } } }",
            json!({ "i": { "id": g.to_string(), "name": "" } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "VALIDATION");
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn move_group_carries_its_subtree() {
    let app = TestApp::spawn().await;
    let acme = app.group("Acme", None).await;
    let ops = app.group("Ops", Some(acme)).await;
    let wh = app.group("Warehouse", None).await;
    let chi = app.group("Chicago", Some(wh)).await;
    let u = app.user().await;
    app.add_member(u, chi).await;
    let data = app
        .ok(
            MOVE,
            json!({ "i": { "id": wh.to_string(), "parentId": ops.to_string() } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["moveGroup"]["group"]["ancestors"],
        json!([{ "name": "Ops" }, { "name": "Acme" }])
    );
    let data = app
        .ok("query($c: ID!, $a: ID!) { c: group(id: $c) { ancestors { name } } a: group(id: $a) { members(includeSubgroups: true) { totalCount } } }", json!({ "c": chi.to_string(), "a": acme.to_string() }), &app.admin)
        .await;
    assert_eq!(
        data["c"]["ancestors"],
        json!([{ "name": "Warehouse" }, { "name": "Ops" }, { "name": "Acme" }])
    );
    assert_eq!(
        data["a"]["members"]["totalCount"], 1,
        "the closure follows the move"
    );

    // Back to the top level.
    let data = app
        .ok(
            MOVE,
            json!({ "i": { "id": wh.to_string(), "parentId": null } }),
            &app.admin,
        )
        .await;
    assert!(data["moveGroup"]["group"]["parent"].is_null());
    let data = app.ok("query($a: ID!) { a: group(id: $a) { members(includeSubgroups: true) { totalCount } } }", json!({ "a": acme.to_string() }), &app.admin).await;
    assert_eq!(data["a"]["members"]["totalCount"], 0);
}

#[tokio::test]
async fn moving_a_group_under_itself_or_a_descendant_is_refused() {
    let app = TestApp::spawn().await;
    let a = app.group("A", None).await;
    let b = app.group("B", Some(a)).await;
    let c = app.group("C", Some(b)).await;
    let before = app.counts().await;
    for target in [a, b, c] {
        let r = app
            .execute(
                MOVE,
                json!({ "i": { "id": a.to_string(), "parentId": target.to_string() } }),
                &app.admin,
            )
            .await;
        assert_code(&r, "VALIDATION");
    }
    let r = app
        .execute(
            MOVE,
            json!({ "i": { "id": a.to_string(), "parentId": uuid::Uuid::now_v7().to_string() } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "NOT_FOUND");
    let r = app
        .execute(
            MOVE,
            json!({ "i": { "id": uuid::Uuid::now_v7().to_string(), "parentId": null } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "NOT_FOUND");
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn deleting_a_group_with_members_or_children_is_refused() {
    let app = TestApp::spawn().await;
    let parent = app.group("Parent", None).await;
    let child = app.group("Child", Some(parent)).await;
    let u = app.user().await;
    app.add_member(u, child).await;
    let before = app.counts().await;
    assert_code(
        &app.execute(
            DELETE,
            json!({ "i": { "id": parent.to_string() } }),
            &app.admin,
        )
        .await,
        "CONFLICT",
    );
    assert_code(
        &app.execute(
            DELETE,
            json!({ "i": { "id": child.to_string() } }),
            &app.admin,
        )
        .await,
        "CONFLICT",
    );
    assert_code(
        &app.execute(
            DELETE,
            json!({ "i": { "id": uuid::Uuid::now_v7().to_string() } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_eq!(app.counts().await, before);

    // Once empty, it goes; history keeps naming it.
    app.ok("mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { membership { until } } }", json!({ "i": { "userId": u.to_string(), "groupId": child.to_string() } }), &app.admin)
        .await;
    let data = app
        .ok(
            DELETE,
            json!({ "i": { "id": child.to_string() } }),
            &app.admin,
        )
        .await;
    assert!(data["deleteGroup"]["group"]["deletedAt"].is_string());
    let data = app
        .ok("query($c: ID!, $u: ID!) { group(id: $c) { id } user(id: $u) { memberships(includeHistory: true) { group { name deletedAt } } } groups { name } }", json!({ "c": child.to_string(), "u": u.to_string() }), &app.admin)
        .await;
    assert!(
        data["group"].is_null(),
        "a deleted group is gone from queries"
    );
    assert_eq!(data["user"]["memberships"][0]["group"]["name"], "Child");
    assert_eq!(data["groups"], json!([{ "name": "Parent" }]));
    let data = app
        .ok(
            DELETE,
            json!({ "i": { "id": parent.to_string() } }),
            &app.admin,
        )
        .await;
    assert_eq!(id(&data["deleteGroup"]["group"]["id"]), parent);
}

#[tokio::test]
async fn bad_group_input_is_refused() {
    let app = TestApp::spawn().await;
    let before = app.counts().await;
    let q = "mutation($i: CreateGroupInput!) { createGroup(input: $i) { group { id } } }";
    assert_code(
        &app.execute(q, json!({ "i": { "name": "" } }), &app.admin)
            .await,
        "VALIDATION",
    );
    assert_code(
        &app.execute(q, json!({ "i": { "name": "x".repeat(201) } }), &app.admin)
            .await,
        "VALIDATION",
    );
    assert_code(
        &app.execute(
            q,
            json!({ "i": { "name": "G", "parentId": uuid::Uuid::now_v7().to_string() } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_eq!(app.counts().await, before);
}
