//! Users: creation, profile changes, deactivation, listing and visibility.

use serde_json::json;
use skillgraph::service::viewer::OrgRole;

use crate::helpers::{TestApp, assert_code, id};

const CREATE: &str = "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id email name jobTitle hireDate attributes active manager { id } } } }";
const UPDATE: &str = "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id name jobTitle hireDate attributes manager { id } } } }";

#[tokio::test]
async fn create_user_returns_the_profile() {
    let app = TestApp::spawn().await;
    let data = app
        .ok(
            CREATE,
            json!({ "i": { "email": "Grace.Hopper@Example.com", "name": "Grace Hopper", "jobTitle": "Rear Admiral",
                "hireDate": "2026-01-15", "attributes": { "location": "Chicago", "department": "Warehouse" },
                "managerId": app.admin_id.to_string() } }),
            &app.admin,
        )
        .await;
    let user = &data["createUser"]["user"];
    assert_eq!(user["email"], "Grace.Hopper@Example.com");
    assert_eq!(user["name"], "Grace Hopper");
    assert_eq!(user["jobTitle"], "Rear Admiral");
    assert_eq!(user["hireDate"], "2026-01-15");
    assert_eq!(
        user["attributes"],
        json!({ "location": "Chicago", "department": "Warehouse" })
    );
    assert_eq!(user["active"], true);
    assert_eq!(user["manager"]["id"], app.admin_id.to_string());
    let uid = id(&user["id"]);
    assert_eq!(uid.get_version_num(), 7, "ids are UUIDv7");

    let read = app
        .ok(
            "query($id: ID!) { user(id: $id) { email name } }",
            json!({ "id": uid.to_string() }),
            &app.owner,
        )
        .await;
    assert_eq!(read["user"]["name"], "Grace Hopper");
}

#[tokio::test]
async fn bad_user_input_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    app.create_user("taken@test.example", "Taken").await;
    let before = app.counts().await;
    let cases = [
        (
            json!({ "email": "not-an-email", "name": "X" }),
            "VALIDATION",
            Some("email"),
        ),
        (
            json!({ "email": "a@b", "name": "X" }),
            "VALIDATION",
            Some("email"),
        ),
        (
            json!({ "email": "x@test.example", "name": "" }),
            "VALIDATION",
            Some("name"),
        ),
        (
            json!({ "email": "x@test.example", "name": "   " }),
            "VALIDATION",
            Some("name"),
        ),
        (
            json!({ "email": "x@test.example", "name": "n".repeat(201) }),
            "VALIDATION",
            Some("name"),
        ),
        (
            json!({ "email": "x@test.example", "name": "X", "attributes": ["a"] }),
            "VALIDATION",
            Some("attributes"),
        ),
        (
            json!({ "email": "x@test.example", "name": "X", "attributes": { "n": 1 } }),
            "VALIDATION",
            Some("attributes"),
        ),
        (
            json!({ "email": "x@test.example", "name": "X", "attributes": { "n": { "deep": "x" } } }),
            "VALIDATION",
            Some("attributes"),
        ),
        (
            json!({ "email": "x@test.example", "name": "X", "attributes": "loc=1" }),
            "VALIDATION",
            Some("attributes"),
        ),
        (
            json!({ "email": "TAKEN@Test.Example", "name": "X" }),
            "CONFLICT",
            None,
        ),
        (
            json!({ "email": "x@test.example", "name": "X", "managerId": uuid::Uuid::now_v7().to_string() }),
            "NOT_FOUND",
            None,
        ),
        (
            json!({ "email": "x@test.example", "name": "X", "managerId": "nope" }),
            "NOT_FOUND",
            None,
        ),
    ];
    for (input, expected, field) in cases {
        let response = app.execute(CREATE, json!({ "i": input }), &app.admin).await;
        assert_code(&response, expected);
        if let Some(field) = field {
            assert_eq!(
                response["errors"][0]["extensions"]["field"], field,
                "{response:#}"
            );
        }
        assert!(response["data"].is_null(), "{response:#}");
    }
    assert_eq!(
        app.counts().await,
        before,
        "a refused createUser wrote nothing"
    );
}

#[tokio::test]
async fn update_user_changes_only_what_is_given_and_attributes_replace_the_set() {
    let app = TestApp::spawn().await;
    let data = app
        .ok(
            CREATE,
            json!({ "i": { "email": "u@test.example", "name": "Una", "jobTitle": "Clerk", "attributes": { "location": "Gary", "shift": "night" } } }),
            &app.admin,
        )
        .await;
    let uid = data["createUser"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let data = app
        .ok(UPDATE, json!({ "i": { "id": uid, "attributes": { "location": "Chicago" }, "managerId": app.admin_id.to_string() } }), &app.admin)
        .await;
    let user = &data["updateUser"]["user"];
    assert_eq!(user["name"], "Una", "omitted fields stay");
    assert_eq!(user["jobTitle"], "Clerk");
    assert_eq!(
        user["attributes"],
        json!({ "location": "Chicago" }),
        "attributes replace the old set"
    );
    assert_eq!(user["manager"]["id"], app.admin_id.to_string());

    let data = app
        .ok(
            UPDATE,
            json!({ "i": { "id": uid, "jobTitle": null, "managerId": null } }),
            &app.admin,
        )
        .await;
    assert!(
        data["updateUser"]["user"]["jobTitle"].is_null(),
        "null clears"
    );
    assert!(data["updateUser"]["user"]["manager"].is_null());

    // Attribute criteria will search the normalised table: it must follow the replacement.
    assert_eq!(app.rows("user_attributes").await, 1);
}

#[tokio::test]
async fn bad_updates_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let a = app.user().await;
    let b = app.user().await;
    // b reports to a; making a report to b would close a cycle.
    app.ok(
        UPDATE,
        json!({ "i": { "id": b.to_string(), "managerId": a.to_string() } }),
        &app.admin,
    )
    .await;
    let before = app.counts().await;
    let cases = [
        (
            json!({ "id": a.to_string(), "managerId": b.to_string() }),
            "VALIDATION",
        ),
        (
            json!({ "id": a.to_string(), "managerId": a.to_string() }),
            "VALIDATION",
        ),
        (json!({ "id": a.to_string(), "name": "" }), "VALIDATION"),
        (
            json!({ "id": a.to_string(), "attributes": [1, 2] }),
            "VALIDATION",
        ),
        (
            json!({ "id": uuid::Uuid::now_v7().to_string(), "name": "Ghost" }),
            "NOT_FOUND",
        ),
    ];
    for (input, expected) in cases {
        let response = app.execute(UPDATE, json!({ "i": input }), &app.admin).await;
        assert_code(&response, expected);
    }
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn deactivated_users_cannot_sign_in_and_are_filtered() {
    let app = TestApp::spawn().await;
    let u = app.user().await;
    let token = app.token(u, OrgRole::Learner);
    app.ok("{ viewer { id } }", json!({}), &token).await;
    let data = app
        .ok("mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { active deactivatedAt } } }", json!({ "i": { "id": u.to_string() } }), &app.admin)
        .await;
    assert_eq!(data["deactivateUser"]["user"]["active"], false);
    assert!(data["deactivateUser"]["user"]["deactivatedAt"].is_string());
    assert_code(
        &app.execute("{ viewer { id } }", json!({}), &token).await,
        "UNAUTHENTICATED",
    );

    let data = app.ok("{ active: users(filter: { active: true }) { totalCount } inactive: users(filter: { active: false }) { totalCount nodes { id } } }", json!({}), &app.admin).await;
    assert_eq!(data["active"]["totalCount"], 2, "owner and admin");
    assert_eq!(data["inactive"]["nodes"][0]["id"], u.to_string());
}

#[tokio::test]
async fn users_paginate_with_cursors_and_filters() {
    let app = TestApp::spawn().await;
    let g = app.group("Warehouse", None).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let u = app
            .create_user(&format!("p{i}@test.example"), &format!("Person {i}"))
            .await;
        if i % 2 == 0 {
            app.add_member(u, g).await;
        }
        ids.push(u);
    }
    let q = "query($after: String) { users(first: 3, after: $after) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let data = app.ok(q, json!({ "after": after }), &app.admin).await;
        assert_eq!(data["users"]["totalCount"], 9);
        for e in data["users"]["edges"].as_array().unwrap() {
            seen.push(id(&e["node"]["id"]));
        }
        if data["users"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = data["users"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 9, "every user exactly once");
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 9);

    let data = app
        .ok("query($g: ID!) { users(filter: { groupId: $g }) { totalCount } s: users(filter: { search: \"PERSON 3\" }) { nodes { id } } }", json!({ "g": g.to_string() }), &app.admin)
        .await;
    assert_eq!(data["users"]["totalCount"], 4);
    assert_eq!(data["s"]["nodes"][0]["id"], ids[3].to_string());

    let r = app
        .execute("{ users(first: -1) { totalCount } }", json!({}), &app.admin)
        .await;
    assert_code(&r, "VALIDATION");
    // Above the cap, `first` is capped rather than refused.
    let data = app
        .ok(
            "{ users(first: 100000) { nodes { id } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(data["users"]["nodes"].as_array().unwrap().len(), 9);
    let r = app
        .execute(
            "{ users(after: \"garbage!\") { totalCount } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_code(&r, "VALIDATION");
}

#[tokio::test]
async fn a_learner_reads_only_itself_and_cannot_mutate() {
    let app = TestApp::spawn().await;
    let me = app.user().await;
    let other = app.user().await;
    let token = app.token(me, OrgRole::Learner);
    let data = app
        .ok("query($o: ID!) { viewer { id } other: user(id: $o) { id } users { totalCount nodes { id } } }", json!({ "o": other.to_string() }), &token)
        .await;
    assert_eq!(data["viewer"]["id"], me.to_string());
    assert!(
        data["other"].is_null(),
        "another user is invisible to a learner"
    );
    assert_eq!(data["users"]["totalCount"], 1);
    assert_eq!(data["users"]["nodes"][0]["id"], me.to_string());

    let before = app.counts().await;
    let r = app
        .execute(
            CREATE,
            json!({ "i": { "email": "z@test.example", "name": "Z" } }),
            &token,
        )
        .await;
    assert_code(&r, "FORBIDDEN");
    let r = app
        .execute(
            UPDATE,
            json!({ "i": { "id": me.to_string(), "name": "Me Myself" } }),
            &token,
        )
        .await;
    assert_code(&r, "FORBIDDEN");
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn a_manager_sees_direct_and_indirect_reports() {
    let app = TestApp::spawn().await;
    let boss = app.user().await;
    let mid = app.user().await;
    let leaf = app.user().await;
    let outsider = app.user().await;
    for (u, m) in [(mid, boss), (leaf, mid)] {
        app.ok(
            UPDATE,
            json!({ "i": { "id": u.to_string(), "managerId": m.to_string() } }),
            &app.admin,
        )
        .await;
    }
    let token = app.token(boss, OrgRole::Manager);
    let data = app
        .ok("query($l: ID!, $o: ID!) { leaf: user(id: $l) { id } out: user(id: $o) { id } users { totalCount } }", json!({ "l": leaf.to_string(), "o": outsider.to_string() }), &token)
        .await;
    assert_eq!(data["leaf"]["id"], leaf.to_string());
    assert!(data["out"].is_null());
    assert_eq!(data["users"]["totalCount"], 3, "self, mid and leaf");
}
