//! GraphQL over HTTP as the GraphQL foundation's spec words it (the e2e tests also run the
//! `graphql-http` audit suite): content negotiation, status codes, `data` absent when nothing
//! executed, 415 for bodies that are not JSON, batches, automatic persisted queries, and CORS.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::TestApp;
use crate::http::serve;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `body` (raw) with `content_type` and `accept`; (status, content type, body as JSON).
async fn raw(
    server: &crate::http::Server,
    token: &str,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &str,
) -> (u16, String, Value) {
    let mut req = server
        .client
        .post(format!("{}/graphql", server.base))
        .bearer_auth(token)
        .body(body.to_string());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, res.json().await.unwrap_or(Value::Null))
}

async fn post(
    server: &crate::http::Server,
    token: &str,
    accept: Option<&str>,
    body: Value,
) -> (u16, String, Value) {
    raw(
        server,
        token,
        Some("application/json"),
        accept,
        &body.to_string(),
    )
    .await
}

#[tokio::test]
async fn the_response_media_type_follows_accept() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let q = json!({ "query": "{ viewer { email } }" });
    for (accept, expected) in [
        (None, "application/json"),
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GRAPHQL_RESPONSE,
        ),
        (
            Some("application/graphql-response+json;q=0.5, application/json"),
            "application/json",
        ),
    ] {
        let (status, ct, body) = post(&server, &app.admin, accept, q.clone()).await;
        assert_eq!(status, 200, "{accept:?}: {body}");
        assert!(
            ct.starts_with(expected) && ct.contains("charset=utf-8"),
            "{accept:?} → {ct}"
        );
        assert_eq!(body["data"]["viewer"]["email"], "admin@test.example");
    }
    let (status, _, body) = post(&server, &app.admin, Some("text/html"), q).await;
    assert_eq!(status, 406, "{body}");
}

#[tokio::test]
async fn requests_that_never_execute_have_no_data_and_are_400_in_the_new_media_type() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let before = app.counts().await;
    let cases = [
        json!({ "query": "{ viewer { id " }),
        json!({ "query": "{ viewer { nope } }" }),
        json!({ "query": "query($id: ID!) { user(id: $id) { id } }", "variables": { "id": null } }),
        json!({ "query": "mutation { createGroup(input: {}) { group { id } } }" }),
    ];
    for case in cases {
        let (status, _, body) =
            post(&server, &app.admin, Some(GRAPHQL_RESPONSE), case.clone()).await;
        assert_eq!(status, 400, "{case}: {body}");
        assert!(body.get("data").is_none(), "{case}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "VALIDATION",
            "{body}"
        );
        let (status, _, body) =
            post(&server, &app.admin, Some("application/json"), case.clone()).await;
        assert_eq!(status, 200, "{case}: {body}");
        assert!(body.get("data").is_none(), "{case}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "VALIDATION",
            "{body}"
        );
    }
    // An error during execution keeps `data` and 200 in both media types.
    let (status, _, body) = post(
        &server,
        &app.admin,
        Some(GRAPHQL_RESPONSE),
        json!({ "query": "query($id: ID!) { user(id: $id) { id } }", "variables": { "id": "not-a-uuid" } }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("data").is_some(), "{body}");
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn malformed_requests_are_400_with_a_readable_message_and_415_when_not_json() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let before = app.counts().await;
    let q = r#"{"query": "{ viewer { email } }"}"#;
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
    ] {
        let (status, _, body) = raw(&server, &app.admin, ct, None, q).await;
        assert_eq!(status, 415, "{ct:?}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");
    }
    let (status, _, _) = raw(
        &server,
        &app.admin,
        Some("application/json; charset=UTF-8"),
        None,
        q,
    )
    .await;
    assert_eq!(status, 200);
    for (body, says) in [
        ("", "empty"),
        ("{ \"not a JSON", "not valid JSON"),
        (r#"{"qeury": "{ viewer { id } }"}"#, "no \"query\""),
        (r#"{"query": 3}"#, "\"query\" must be a string"),
        (
            r#"{"query": "{ viewer { id } }", "variables": "x"}"#,
            "\"variables\" must be a JSON object",
        ),
        (
            r#"{"query": "{ viewer { id } }", "operationName": false}"#,
            "\"operationName\" must be a string",
        ),
        (
            r#"{"query": "{ viewer { id } }", "extensions": []}"#,
            "\"extensions\" must be a JSON object",
        ),
        ("42", "a GraphQL request is a JSON object"),
    ] {
        for accept in [None, Some(GRAPHQL_RESPONSE)] {
            let (status, _, answer) =
                raw(&server, &app.admin, Some("application/json"), accept, body).await;
            assert_eq!(status, 400, "{body}: {answer}");
            assert!(answer.get("data").is_none(), "{answer}");
            let message = answer["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains(says), "{body}: {message}");
            assert_eq!(answer["errors"][0]["extensions"]["code"], "VALIDATION");
        }
    }
    // Null parameters are as good as absent.
    let (status, _, body) = post(
        &server,
        &app.admin,
        None,
        json!({ "query": "{ viewer { email } }", "variables": null, "operationName": null, "extensions": null }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn bodies_up_to_the_configured_limit_are_read_and_larger_ones_are_413() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    // Beyond axum's 2 MiB default, within the server's 8 MiB (as 350 texts of 9,000
    // characters: each within the limits of one input).
    let big = vec!["x".repeat(9_000); 350];
    let (status, _, body) = post(
        &server,
        &app.admin,
        None,
        json!({ "query": "{ viewer { email } }", "variables": { "unused": big } }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["viewer"]["email"], "admin@test.example",
        "{body}"
    );
    let huge = "x".repeat(9 * 1024 * 1024);
    let (status, _, _) = post(
        &server,
        &app.admin,
        None,
        json!({ "query": "{ viewer { email } }", "variables": { "unused": huge } }),
    )
    .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn get_takes_variables_as_url_encoded_json() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let res = server
        .client
        .get(format!("{}/graphql", server.base))
        .query(&[
            (
                "query",
                "query Q($n: String!) { __type(name: $n) { name } }",
            ),
            ("variables", r#"{"n": "User"}"#),
            ("operationName", "Q"),
        ])
        .header("accept", GRAPHQL_RESPONSE)
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["__type"]["name"], "User", "{body}");
    let res = server
        .client
        .get(format!("{}/graphql", server.base))
        .query(&[("query", "{ viewer { id } }"), ("variables", "{nope")])
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_batch_runs_in_order_and_is_bounded() {
    let settings = skillgraph::state::Settings {
        max_batch: 3,
        ..Default::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let server = serve(&app).await;
    let (status, _, body) = post(
        &server,
        &app.admin,
        None,
        json!([
            { "query": "mutation { createGroup(input: { name: \"Batched\" }) { group { name } } }" },
            { "query": "query($s: String) { groups(search: $s) { name } }", "variables": { "s": "Batched" } },
            { "query": "{ viewer { nope } }" },
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answers = body.as_array().expect("an array of answers");
    assert_eq!(answers.len(), 3);
    assert_eq!(
        answers[0]["data"]["createGroup"]["group"]["name"],
        "Batched"
    );
    assert_eq!(answers[1]["data"]["groups"], json!([{ "name": "Batched" }]));
    assert!(answers[2].get("data").is_none(), "{body}");
    assert_eq!(answers[2]["errors"][0]["extensions"]["code"], "VALIDATION");

    let before = app.counts().await;
    let over: Vec<Value> = (0..4)
        .map(|i| json!({ "query": format!("mutation {{ createGroup(input: {{ name: \"Over {i}\" }}) {{ group {{ id }} }} }}") }))
        .collect();
    let (status, _, body) = post(&server, &app.admin, None, Value::Array(over)).await;
    assert_eq!(status, 400, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("at most 3 operations") && message.contains("has 4"),
        "{message}"
    );
    let (status, _, body) = post(&server, &app.admin, None, json!([])).await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = post(
        &server,
        &app.admin,
        None,
        json!([{ "query": "mutation { createGroup(input: { name: \"Half\" }) { group { id } } }" }, { "qeury": "{}" }]),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("operation 1")
    );
    assert_eq!(
        app.counts().await,
        before,
        "a refused batch runs none of its operations"
    );
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[tokio::test]
async fn automatic_persisted_queries_follow_the_apollo_protocol() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let query = "query Me { viewer { email } }";
    let hash = sha256(query);
    // Unknown hash: the protocol's error, no data; 200 in application/json.
    let (status, _, body) = post(
        &server,
        &app.admin,
        None,
        json!({ "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("data").is_none());
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    let (status, _, _) = post(
        &server,
        &app.admin,
        Some(GRAPHQL_RESPONSE),
        json!({ "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(status, 400);
    // A hash that does not match its document is refused and not kept.
    let (_, _, body) = post(
        &server,
        &app.admin,
        None,
        json!({ "query": "{ viewer { id } }", "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not match")
    );
    let (_, _, body) = post(
        &server,
        &app.admin,
        None,
        json!({ "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    // Document and hash once; the hash alone afterwards, over POST and GET.
    let (_, _, body) = post(
        &server,
        &app.admin,
        None,
        json!({ "query": query, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(
        body["data"]["viewer"]["email"], "admin@test.example",
        "{body}"
    );
    let (_, _, body) = post(
        &server,
        &app.admin,
        None,
        json!({ "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(
        body["data"]["viewer"]["email"], "admin@test.example",
        "{body}"
    );
    let res = server
        .client
        .get(format!("{}/graphql", server.base))
        .query(&[("extensions", persisted(&hash).to_string())])
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["data"]["viewer"]["email"], "admin@test.example",
        "{body}"
    );
    // Another organization never sees this organization's documents.
    let (_, other) = app.other_org().await;
    let (_, _, body) = post(
        &server,
        &other,
        None,
        json!({ "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    // Malformed persisted-query extensions.
    for ext in [
        json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
    ] {
        let (_, _, body) = post(&server, &app.admin, None, json!({ "extensions": ext })).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "VALIDATION",
            "{body}"
        );
    }
}

/// Sends `method` with `Origin: origin` (a preflight when method is OPTIONS).
async fn from_origin(
    server: &crate::http::Server,
    method: reqwest::Method,
    origin: &str,
    token: &str,
) -> reqwest::Response {
    let mut req = server
        .client
        .request(method.clone(), format!("{}/graphql", server.base))
        .header("origin", origin);
    if method == reqwest::Method::OPTIONS {
        req = req.header("access-control-request-method", "POST").header(
            "access-control-request-headers",
            "authorization, content-type",
        );
    } else {
        req = req
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(r#"{"query": "{ viewer { email } }"}"#);
    }
    req.send().await.unwrap()
}

fn cors_headers(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .map(|k| k.to_string())
        .collect()
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let res = from_origin(
        &server,
        reqwest::Method::OPTIONS,
        "https://app.example.com",
        &app.admin,
    )
    .await;
    assert!(res.status().is_client_error());
    assert!(cors_headers(&res).is_empty());
    let res = from_origin(
        &server,
        reqwest::Method::POST,
        "https://app.example.com",
        &app.admin,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(cors_headers(&res).is_empty());
}

#[tokio::test]
async fn cors_answers_allowed_origins_and_tells_others_nothing() {
    let settings = skillgraph::state::Settings {
        cors_origins: vec![
            "https://app.example.com".into(),
            "http://localhost:5173".into(),
        ],
        ..Default::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let server = serve(&app).await;
    for origin in ["https://app.example.com", "http://localhost:5173"] {
        let res = from_origin(&server, reqwest::Method::OPTIONS, origin, &app.admin).await;
        assert!(res.status().is_success(), "{}", res.status());
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], origin);
        let methods = h["access-control-allow-methods"].to_str().unwrap();
        assert!(methods.contains("POST"), "{methods}");
        let headers = h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(
            headers.contains("authorization") && headers.contains("content-type"),
            "{headers}"
        );
        assert!(h.get("access-control-allow-credentials").is_none());
        let res = from_origin(&server, reqwest::Method::POST, origin, &app.admin).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["access-control-allow-origin"], origin);
        // Errors carry the header too, so the app can read them.
        let res = from_origin(&server, reqwest::Method::POST, origin, "bad-token").await;
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()["access-control-allow-origin"], origin);
    }
    for origin in [
        "https://evil.example",
        "https://app.example.com.evil.example",
        "null",
    ] {
        let res = from_origin(&server, reqwest::Method::OPTIONS, origin, &app.admin).await;
        assert!(
            cors_headers(&res).is_empty(),
            "{origin}: {:?}",
            cors_headers(&res)
        );
        let res = from_origin(&server, reqwest::Method::POST, origin, &app.admin).await;
        assert!(
            cors_headers(&res).is_empty(),
            "{origin}: {:?}",
            cors_headers(&res)
        );
    }
}

#[tokio::test]
async fn cors_star_allows_any_origin_without_credentials() {
    let settings = skillgraph::state::Settings {
        cors_origins: vec!["*".into()],
        ..Default::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let server = serve(&app).await;
    let res = from_origin(
        &server,
        reqwest::Method::OPTIONS,
        "https://anything.example",
        &app.admin,
    )
    .await;
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(
        res.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
}
