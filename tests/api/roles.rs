//! Roles in their minimal form, and a user's primary role.

use serde_json::json;

use crate::helpers::{TestApp, assert_code, id};

const CREATE: &str =
    "mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id name description } } }";
const SET_PRIMARY: &str = "mutation($i: SetPrimaryRoleInput!) { setPrimaryRole(input: $i) { user { id primaryRole { name } } } }";

#[tokio::test]
async fn roles_are_created_listed_and_set_as_primary() {
    let app = TestApp::spawn().await;
    let data = app
        .ok(
            CREATE,
            json!({ "i": { "name": "Forklift Operator", "description": "Moves pallets" } }),
            &app.admin,
        )
        .await;
    let role = id(&data["createRole"]["role"]["id"]);
    app.ok(
        CREATE,
        json!({ "i": { "name": "Account Executive" } }),
        &app.admin,
    )
    .await;
    let data = app.ok("{ roles { name } }", json!({}), &app.admin).await;
    assert_eq!(
        data["roles"],
        json!([{ "name": "Account Executive" }, { "name": "Forklift Operator" }])
    );
    let data = app
        .ok(
            "query($id: ID!) { role(id: $id) { description } }",
            json!({ "id": role.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(data["role"]["description"], "Moves pallets");

    let u = app.user().await;
    let data = app
        .ok(
            SET_PRIMARY,
            json!({ "i": { "userId": u.to_string(), "roleId": role.to_string() } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["setPrimaryRole"]["user"]["primaryRole"]["name"],
        "Forklift Operator"
    );
    let data = app
        .ok(
            "query($r: ID!) { users(filter: { roleId: $r }) { nodes { id } } }",
            json!({ "r": role.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(data["users"]["nodes"], json!([{ "id": u.to_string() }]));
    let data = app
        .ok(
            SET_PRIMARY,
            json!({ "i": { "userId": u.to_string(), "roleId": null } }),
            &app.admin,
        )
        .await;
    assert!(
        data["setPrimaryRole"]["user"]["primaryRole"].is_null(),
        "null clears"
    );
}

#[tokio::test]
async fn bad_role_input_is_refused() {
    let app = TestApp::spawn().await;
    app.ok(CREATE, json!({ "i": { "name": "Picker" } }), &app.admin)
        .await;
    let u = app.user().await;
    let before = app.counts().await;
    assert_code(
        &app.execute(CREATE, json!({ "i": { "name": "PICKER" } }), &app.admin)
            .await,
        "CONFLICT",
    );
    assert_code(
        &app.execute(CREATE, json!({ "i": { "name": "" } }), &app.admin)
            .await,
        "VALIDATION",
    );
    let ghost = uuid::Uuid::now_v7().to_string();
    assert_code(
        &app.execute(
            SET_PRIMARY,
            json!({ "i": { "userId": u.to_string(), "roleId": ghost } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            SET_PRIMARY,
            json!({ "i": { "userId": ghost, "roleId": null } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_eq!(app.counts().await, before);
}
