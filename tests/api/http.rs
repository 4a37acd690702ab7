//! The HTTP edge over a real socket: authentication, GET for queries only, health, 404s and
//! error hygiene.

use serde_json::{Value, json};

use crate::helpers::TestApp;

pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
}

pub async fn serve(app: &TestApp) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = skillgraph::app(app.state.clone());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Server {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
    }
}

impl Server {
    pub async fn post(&self, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn post_and_get_answer_queries_with_a_bearer_token() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let (status, body) = server
        .post(Some(&app.admin), json!({ "query": "{ viewer { email } }" }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["viewer"]["email"], "admin@test.example");

    let res = server
        .client
        .get(format!("{}/graphql", server.base))
        .query(&[("query", "{ viewer { email } }")])
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["email"], "admin@test.example");
}

#[tokio::test]
async fn get_refuses_mutations_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let before = app.counts().await;
    let res = server
        .client
        .get(format!("{}/graphql", server.base))
        .query(&[(
            "query",
            "mutation { createGroup(input: { name: \"Via GET\" }) { group { id } } }",
        )])
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn missing_or_bad_tokens_answer_401_unauthenticated() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    for token in [None, Some("nonsense"), Some("")] {
        let (status, body) = server
            .post(token, json!({ "query": "{ viewer { id } }" }))
            .await;
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    let res = server
        .client
        .post(format!("{}/graphql", server.base))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({ "query": "{ viewer { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn health_readiness_explorer_and_unknown_paths() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let get = |path: &str| server.client.get(format!("{}{path}", server.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let explorer = get("/").await.unwrap();
    assert_eq!(explorer.status(), 200);
    assert!(explorer.text().await.unwrap().contains("/graphql"));
    assert_eq!(get("/no/such/page").await.unwrap().status(), 404);
    let res = get("/graphql").await.unwrap();
    assert!(
        res.status().is_client_error(),
        "GET /graphql without a query is a client error"
    );
}

#[tokio::test]
async fn an_internal_error_shows_no_sql() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    app.state
        .db
        .write
        .execute_unprepared("ALTER TABLE roles RENAME TO roles_gone")
        .await
        .unwrap();
    let (status, body) = server
        .post(Some(&app.admin), json!({ "query": "{ roles { name } }" }))
        .await;
    assert_eq!(status, 200);
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "INTERNAL");
    assert_eq!(error["message"], "internal error");
    let text = body.to_string().to_lowercase();
    for leak in [
        "select",
        "roles_gone",
        "no such table",
        "relation",
        "sqlite",
        "postgres",
    ] {
        assert!(!text.contains(leak), "the response leaks {leak:?}: {body}");
    }
}

#[tokio::test]
async fn malformed_bodies_and_invalid_documents_are_client_errors_with_codes() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let res = server
        .client
        .post(format!("{}/graphql", server.base))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body("{ not json")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    let body: Value = res.json().await.expect("a GraphQL-shaped JSON body");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    let (_, body) = server
        .post(Some(&app.admin), json!({ "query": "{ viewer { nope } }" }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    let (_, body) = server
        .post(Some(&app.admin), json!({ "query": "{ viewer { id " }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
}

#[tokio::test]
async fn queries_deeper_than_the_limit_are_refused() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let deep = format!(
        "{{ viewer {{ {} }} }}",
        "manager { ".repeat(20) + "id" + &" }".repeat(20)
    );
    let (_, body) = server
        .post(Some(&app.admin), json!({ "query": deep }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    assert!(body["data"].is_null());
}

#[tokio::test]
async fn the_explorer_is_served_from_this_server_only_and_carries_no_token_outside_demo_mode() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let res = server
        .client
        .get(format!("{}/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_lowercase(),
        "text/html; charset=utf-8"
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("<meta charset=\"utf-8\">"));
    assert!(!page.contains("Bearer ey"), "no token outside demo mode");
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in page.split(attr).skip(1) {
            refs.push(part.split('"').next().unwrap().to_string());
        }
    }
    assert!(!refs.is_empty());
    for r in &refs {
        assert!(
            (r.starts_with('/') && !r.starts_with("//")) || r.starts_with("data:"),
            "{r} points at another host"
        );
    }
    if skillgraph_has_explorer_assets() {
        assert!(page.contains("\"endpoint\":\"/graphql\""));
        assert!(page.contains("\"subscriptionEndpoint\":\"/graphql\""));
        for r in refs.iter().filter(|r| r.starts_with("/explorer/")) {
            let res = server
                .client
                .get(format!("{}{r}", server.base))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{r}");
            assert!(
                res.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .contains("charset=utf-8")
            );
        }
    }
    for path in ["/explorer/nope.js", "/nope", "/index.html"] {
        let res = server
            .client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }

    // In demo mode the page opens with the demo token in its headers.
    let mut settings = (*app.state.settings).clone();
    settings.demo_token = Some("eyJdemo.token".into());
    let mut state = app.state.clone();
    state.settings = std::sync::Arc::new(settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, skillgraph::app(state)).await.unwrap() });
    let page = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    if skillgraph_has_explorer_assets() {
        assert!(page.contains("Bearer eyJdemo.token"));
    }
}

fn skillgraph_has_explorer_assets() -> bool {
    skillgraph::http::explorer_missing().is_empty()
}
