//! Authentication: tokens that are missing, expired, forged, of unknown or deactivated users, and
//! tokens of another organization.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use skillgraph::service::viewer::OrgRole;

use crate::helpers::{SECRET, TestApp, assert_code};

fn sign(claims: serde_json::Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn expired_forged_and_malformed_tokens_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let (org, user) = (app.org_id.to_string(), app.admin_id.to_string());
    let tokens = [
        (
            "expired",
            sign(
                json!({ "sub": user, "org": org, "role": "ADMIN", "exp": now - 3600 }),
                SECRET,
            ),
        ),
        (
            "forged",
            sign(
                json!({ "sub": user, "org": org, "role": "ADMIN", "exp": now + 3600 }),
                b"another-secret",
            ),
        ),
        (
            "no exp",
            sign(json!({ "sub": user, "org": org, "role": "ADMIN" }), SECRET),
        ),
        (
            "not yet valid",
            sign(
                json!({ "sub": user, "org": org, "role": "ADMIN", "exp": now + 7200, "nbf": now + 3600 }),
                SECRET,
            ),
        ),
        (
            "unknown role",
            sign(
                json!({ "sub": user, "org": org, "role": "ROOT", "exp": now + 3600 }),
                SECRET,
            ),
        ),
        (
            "unknown user",
            sign(
                json!({ "sub": uuid::Uuid::now_v7().to_string(), "org": org, "role": "ADMIN", "exp": now + 3600 }),
                SECRET,
            ),
        ),
        (
            "user of another org",
            sign(
                json!({ "sub": user, "org": uuid::Uuid::now_v7().to_string(), "role": "ADMIN", "exp": now + 3600 }),
                SECRET,
            ),
        ),
        ("garbage", "not.a.jwt".to_string()),
        ("alg none", {
            use base64::Engine;
            let b64 = |v: serde_json::Value| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
            };
            format!(
                "{}.{}.",
                b64(json!({ "alg": "none", "typ": "JWT" })),
                b64(json!({ "sub": user, "org": org, "role": "OWNER", "exp": now + 3600 }))
            )
        }),
    ];
    for (what, token) in tokens {
        let r = app.execute("{ viewer { id } }", json!({}), &token).await;
        assert_eq!(crate::helpers::code(&r), "UNAUTHENTICATED", "{what}: {r:#}");
    }
    // A token within the leeway still works.
    let fresh = sign(
        json!({ "sub": user, "org": org, "role": "ADMIN", "exp": now + 60 }),
        SECRET,
    );
    app.ok("{ viewer { id } }", json!({}), &fresh).await;
}

#[tokio::test]
async fn a_token_of_another_organization_never_sees_this_one() {
    let app = TestApp::spawn().await;
    let g = app.group("Secret group", None).await;
    let u = app.user().await;
    app.add_member(u, g).await;
    let other = skillgraph::service::org::create(
        &app.state,
        "Other Org",
        "boss@other.example",
        "Other Owner",
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.message()));
    let token = app
        .state
        .jwt
        .mint(
            other.org.id,
            other.owner.id,
            OrgRole::Owner,
            chrono::Duration::hours(1),
        )
        .unwrap();
    let data = app
        .ok("query($u: ID!, $g: ID!) { user(id: $u) { id } group(id: $g) { id } users { totalCount } groups { id } organization { name } }", json!({ "u": u.to_string(), "g": g.to_string() }), &token)
        .await;
    assert!(data["user"].is_null());
    assert!(data["group"].is_null());
    assert_eq!(data["users"]["totalCount"], 1, "only the other org's owner");
    assert_eq!(data["groups"], json!([]));
    assert_eq!(data["organization"]["name"], "Other Org");

    let before = app.counts().await;
    let mutations = [
        (
            "mutation($u: ID!, $g: ID!) { addMembership(input: { userId: $u, groupId: $g }) { created } }",
            json!({ "u": u.to_string(), "g": g.to_string() }),
        ),
        (
            "mutation($u: ID!) { updateUser(input: { id: $u, name: \"Hacked\" }) { user { id } } }",
            json!({ "u": u.to_string() }),
        ),
        (
            "mutation($u: ID!) { deactivateUser(input: { id: $u }) { user { id } } }",
            json!({ "u": u.to_string() }),
        ),
        (
            "mutation($g: ID!) { updateGroup(input: { id: $g, name: \"Hacked\" }) { group { id } } }",
            json!({ "g": g.to_string() }),
        ),
        (
            "mutation($g: ID!) { deleteGroup(input: { id: $g }) { group { id } } }",
            json!({ "g": g.to_string() }),
        ),
        (
            "mutation($g: ID!) { createGroup(input: { name: \"X\", parentId: $g }) { group { id } } }",
            json!({ "g": g.to_string() }),
        ),
        (
            "mutation($u: ID!, $g: ID!) { removeMembership(input: { userId: $u, groupId: $g }) { membership { id } } }",
            json!({ "u": u.to_string(), "g": g.to_string() }),
        ),
    ];
    for (q, vars) in mutations {
        let r = app.execute(q, vars, &token).await;
        assert_code(&r, "NOT_FOUND");
    }
    assert_eq!(
        app.counts().await,
        before,
        "nothing written in this organization"
    );
}

#[tokio::test]
async fn hr_may_mutate_people_but_a_manager_may_not() {
    let app = TestApp::spawn().await;
    let u = app.user().await;
    let hr = app.token(u, OrgRole::Hr);
    app.ok(
        "mutation { createGroup(input: { name: \"By HR\" }) { group { id } } }",
        json!({}),
        &hr,
    )
    .await;
    let mgr = app.token(u, OrgRole::Manager);
    let r = app
        .execute(
            "mutation { createGroup(input: { name: \"By manager\" }) { group { id } } }",
            json!({}),
            &mgr,
        )
        .await;
    assert_code(&r, "FORBIDDEN");
}
