//! Null propagation as the GraphQL spec says (src/graphql/spec.rs): a failing nullable field
//! answers null, a failing non-null field nulls its nearest nullable parent, up to `data`.
//! A small schema with fields that fail on purpose, run with the server's own extension; then
//! the served schema with a field that fails for real.

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use serde_json::{Value, json};

use crate::helpers::TestApp;

struct Query;
struct Item;

fn boom() -> async_graphql::Error {
    async_graphql::Error::new("boom")
}

#[Object]
impl Query {
    async fn ok(&self) -> i32 {
        1
    }
    async fn nullable_fails(&self) -> async_graphql::Result<Option<i32>> {
        Err(boom())
    }
    async fn non_null_fails(&self) -> async_graphql::Result<i32> {
        Err(boom())
    }
    async fn item(&self) -> Option<Item> {
        Some(Item)
    }
    async fn items(&self) -> Vec<Item> {
        vec![Item, Item]
    }
    async fn maybe_items(&self) -> Vec<Option<Item>> {
        vec![Some(Item), Some(Item)]
    }
}

#[Object]
impl Item {
    async fn fine(&self) -> i32 {
        2
    }
    async fn fails(&self) -> async_graphql::Result<i32> {
        Err(boom())
    }
    async fn maybe(&self) -> async_graphql::Result<Option<i32>> {
        Err(boom())
    }
    async fn inner(&self) -> Item {
        Item
    }
}

async fn run(query: &str) -> Value {
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
        .extension(skillgraph::graphql::spec::Spec)
        .finish();
    serde_json::to_value(schema.execute(query).await).unwrap()
}

fn paths(response: &Value) -> Vec<Value> {
    let mut p: Vec<Value> = response["errors"]
        .as_array()
        .map(|e| e.iter().map(|e| e["path"].clone()).collect())
        .unwrap_or_default();
    p.sort_by_key(|v| v.to_string());
    p
}

#[tokio::test]
async fn a_failing_field_answers_null_or_nulls_its_nearest_nullable_parent() {
    let r = run("{ ok nullableFails }").await;
    assert_eq!(r["data"], json!({ "ok": 1, "nullableFails": null }), "{r}");
    assert_eq!(paths(&r), vec![json!(["nullableFails"])]);

    let r = run("{ ok item { fine maybe } }").await;
    assert_eq!(
        r["data"],
        json!({ "ok": 1, "item": { "fine": 2, "maybe": null } }),
        "{r}"
    );

    let r = run("{ ok item { fine fails } }").await;
    assert_eq!(r["data"], json!({ "ok": 1, "item": null }), "{r}");
    assert_eq!(paths(&r), vec![json!(["item", "fails"])]);

    let r = run("{ ok item { inner { inner { fails } } } }").await;
    assert_eq!(r["data"], json!({ "ok": 1, "item": null }), "{r}");
    assert_eq!(paths(&r), vec![json!(["item", "inner", "inner", "fails"])]);

    let r = run("{ ok maybeItems { fine fails } }").await;
    assert_eq!(
        r["data"],
        json!({ "ok": 1, "maybeItems": [null, null] }),
        "{r}"
    );
    assert_eq!(
        paths(&r),
        vec![
            json!(["maybeItems", 0, "fails"]),
            json!(["maybeItems", 1, "fails"])
        ]
    );

    let r = run("{ ok items { fine fails } }").await;
    assert_eq!(r["data"], Value::Null, "{r}");
    assert_eq!(r["errors"].as_array().unwrap().len(), 2, "{r}");

    let r = run("{ ok nonNullFails }").await;
    assert_eq!(r["data"], Value::Null, "{r}");
    assert_eq!(paths(&r), vec![json!(["nonNullFails"])]);

    // An alias is the key that goes null.
    let r = run("{ a: item { fails } b: item { fine } }").await;
    assert_eq!(r["data"], json!({ "a": null, "b": { "fine": 2 } }), "{r}");
}

#[tokio::test]
async fn the_served_schema_propagates_nulls_too() {
    let app = TestApp::spawn().await;
    // A nullable field that fails (a malformed id) answers null beside the others.
    let r = app
        .execute(
            "{ viewer { email } user(id: \"not-a-uuid\") { id } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(r["data"]["viewer"]["email"], "admin@test.example", "{r}");
    assert!(r["data"].as_object().unwrap().contains_key("user"), "{r}");
    assert!(r["data"]["user"].is_null());
    // A non-null top-level field refused to a learner makes `data` null.
    let learner = app.user().await;
    let token = app.token(learner, skillgraph::service::viewer::OrgRole::Learner);
    let r = app
        .execute("{ viewer { email } apiClients { id } }", json!({}), &token)
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    assert_eq!(r["data"], Value::Null, "{r}");
}
