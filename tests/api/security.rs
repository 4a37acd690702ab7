//! Security at the edge: tokens from an identity provider (RS256, EdDSA) with the algorithm
//! pinned and issuer/audience checks, the per-user rate limit, introspection switched off, and
//! refused mutations audited.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use skillgraph::jwt::JwtKeys;
use skillgraph::service::viewer::OrgRole;
use skillgraph::state::Settings;

use crate::helpers::{TestApp, assert_code, code};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[tokio::test]
async fn identity_provider_tokens_verify_with_the_pinned_algorithm_issuer_and_audience() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, aud: &str| json!({ "sub": app.admin_id.to_string(), "org": app.org_id.to_string(), "role": "ADMIN", "exp": now + 600, "iss": iss, "aud": aud });
    for (alg, private, public, algorithm) in [
        (
            "RS256",
            "rsa_private.pem",
            "rsa_public.pem",
            Algorithm::RS256,
        ),
        (
            "EdDSA",
            "ed25519_private.pem",
            "ed25519_public.pem",
            Algorithm::EdDSA,
        ),
    ] {
        let keys = JwtKeys::public_key(alg, &fixture(public))
            .unwrap()
            .with_issuer("https://id.acme.example")
            .with_audience("skillgraph");
        assert!(!keys.can_sign(), "a public key cannot mint");
        let signing = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&fixture(private)).unwrap(),
            _ => EncodingKey::from_ed_pem(&fixture(private)).unwrap(),
        };
        let sign = |c: serde_json::Value| {
            jsonwebtoken::encode(&Header::new(algorithm), &c, &signing).unwrap()
        };
        let good = sign(claims("https://id.acme.example", "skillgraph"));
        let verified = keys
            .verify(&good)
            .unwrap_or_else(|e| panic!("{alg}: {}", e.message()));
        assert_eq!(verified.sub, app.admin_id.to_string());
        for (what, token) in [
            (
                "wrong issuer",
                sign(claims("https://evil.example", "skillgraph")),
            ),
            (
                "wrong audience",
                sign(claims("https://id.acme.example", "other-app")),
            ),
            (
                "HS256 signed with the public key (algorithm confusion)",
                jsonwebtoken::encode(
                    &Header::new(Algorithm::HS256),
                    &claims("https://id.acme.example", "skillgraph"),
                    &EncodingKey::from_secret(&fixture(public)),
                )
                .unwrap(),
            ),
            ("unsigned", {
                use base64::Engine;
                let b64 = |v: serde_json::Value| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
                };
                format!(
                    "{}.{}.",
                    b64(json!({ "alg": "none" })),
                    b64(claims("https://id.acme.example", "skillgraph"))
                )
            }),
        ] {
            let err = keys
                .verify(&token)
                .err()
                .unwrap_or_else(|| panic!("{alg}: {what} was accepted"));
            assert_eq!(err.code(), "UNAUTHENTICATED", "{alg}: {what}");
        }
    }
    assert!(JwtKeys::public_key("RS256", b"not a key").is_err());
    assert!(JwtKeys::public_key("HS512", &fixture("rsa_public.pem")).is_err());
}

#[tokio::test]
async fn the_rate_limit_answers_429_rate_limited_and_writes_nothing() {
    let app = TestApp::spawn_with(Settings {
        rate_limit_per_second: 1,
        rate_limit_burst: 2,
        ..Settings::default()
    })
    .await;
    let server = crate::http::serve(&app).await;
    let before = app.counts().await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let (status, body) = server
            .post(Some(&app.admin), json!({ "query": format!("mutation {{ createGroup(input: {{ name: \"G{i}\" }}) {{ group {{ id }} }} }}") }))
            .await;
        statuses.push(status);
        if status == 429 {
            assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        }
    }
    assert_eq!(&statuses[..2], &[200, 200], "the burst passes");
    assert!(statuses[2..].iter().all(|s| *s == 429), "{statuses:?}");
    let after = app.counts().await;
    assert_eq!(
        after.iter().find(|(t, _)| *t == "org_groups").unwrap().1,
        before.iter().find(|(t, _)| *t == "org_groups").unwrap().1 + 2,
        "only the two admitted requests wrote"
    );
    // Another user has their own allowance.
    let (status, _) = server
        .post(Some(&app.owner), json!({ "query": "{ viewer { id } }" }))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let on = TestApp::spawn().await;
    let q = "{ __schema { queryType { name } } }";
    assert_eq!(
        on.ok(q, json!({}), &on.admin).await["__schema"]["queryType"]["name"],
        "Query"
    );
    let off = TestApp::spawn_with(Settings {
        introspection: false,
        ..Settings::default()
    })
    .await;
    let r = off.execute(q, json!({}), &off.admin).await;
    assert!(
        r["data"].is_null() || r["data"]["__schema"].is_null(),
        "no schema is served: {r}"
    );
    let r = off
        .execute("{ __type(name: \"User\") { name } }", json!({}), &off.admin)
        .await;
    assert!(r["data"].is_null() || r["data"]["__type"].is_null(), "{r}");
    assert!(
        code(
            &off.execute("{ viewer { id } }", json!({}), &off.admin)
                .await
        )
        .is_empty(),
        "ordinary queries still work"
    );
}

#[tokio::test]
async fn refused_mutations_are_audited_with_the_actor_and_the_operation() {
    let app = TestApp::spawn().await;
    let u = app.user().await;
    let learner = app.token(u, OrgRole::Learner);
    let groups = app.rows("org_groups").await;
    assert_code(
        &app.execute(
            "mutation { createGroup(input: { name: \"Sneaky\" }) { group { id } } }",
            json!({}),
            &learner,
        )
        .await,
        "FORBIDDEN",
    );
    assert_eq!(app.rows("org_groups").await, groups);
    let data = app.ok("{ auditLog(filter: { actions: [\"AUTHZ_DENIED\"] }) { nodes { actorId subjectId after } } }", json!({}), &app.admin).await;
    let nodes = data["auditLog"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["actorId"], u.to_string());
    assert_eq!(nodes[0]["after"]["operation"], json!(["createGroup"]));
    assert_eq!(nodes[0]["after"]["role"], "LEARNER");
    // A refused read is not a change attempt: not audited.
    app.execute("{ auditLog { totalCount } }", json!({}), &learner)
        .await;
    let data = app
        .ok(
            "{ auditLog(filter: { actions: [\"AUTHZ_DENIED\"] }) { totalCount } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(data["auditLog"]["totalCount"], 1);
}

#[tokio::test]
async fn websocket_connections_per_user_are_limited_over_a_real_socket() {
    use crate::live::{connect, recv, send};
    let app = TestApp::spawn_with(Settings {
        max_ws_connections: 2,
        ..Settings::default()
    })
    .await;
    let server = crate::http::serve(&app).await;
    let init = |token: &str| json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    let mut first = connect(&server.base, "graphql-transport-ws", None).await;
    send(&mut first, init(&app.admin)).await;
    assert_eq!(recv(&mut first).await["type"], "connection_ack");
    let mut second = connect(&server.base, "graphql-transport-ws", Some(&app.admin)).await;
    send(&mut second, json!({ "type": "connection_init" })).await;
    assert_eq!(recv(&mut second).await["type"], "connection_ack");
    // A third connection of the same user is closed with 4429, in both protocols.
    let mut third = connect(&server.base, "graphql-transport-ws", None).await;
    send(&mut third, init(&app.admin)).await;
    assert_eq!(recv(&mut third).await, json!({ "close": 4429 }));
    let mut legacy = connect(&server.base, "graphql-ws", None).await;
    send(&mut legacy, init(&app.admin)).await;
    let m = recv(&mut legacy).await;
    assert_eq!(m["type"], "connection_error", "{m}");
    assert_eq!(recv(&mut legacy).await, json!({ "close": 4429 }));
    // Another user has their own allowance.
    let mut owner = connect(&server.base, "graphql-transport-ws", None).await;
    send(&mut owner, init(&app.owner)).await;
    assert_eq!(recv(&mut owner).await["type"], "connection_ack");
    // Closing a connection frees its slot.
    first.close(None).await.unwrap();
    drop(first);
    let key = (app.org_id, app.admin_id);
    for _ in 0..100 {
        if app.state.ws_connections.open(key) < 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.state.ws_connections.open(key), 1);
    let mut again = connect(&server.base, "graphql-transport-ws", None).await;
    send(&mut again, init(&app.admin)).await;
    assert_eq!(recv(&mut again).await["type"], "connection_ack");
    // The connections still work.
    send(
        &mut second,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { assignmentEvents { cursor } }" } }),
    )
    .await;
    send(&mut second, json!({ "id": "1", "type": "complete" })).await;
}
