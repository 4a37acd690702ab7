//! API clients (DESIGN.md, "Who acts"): a partner's own credential, with scopes, shown once,
//! stored as a hash, rotated with a 24-hour overlap, revoked at once; its changes are audited as
//! the client's.

use serde_json::{Value, json};
use skillgraph::service::viewer::OrgRole;

use crate::helpers::{TestApp, assert_code, id};
use crate::http::serve;

const CREATE: &str = "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { apiClient { id name scopes createdAt lastUsedAt active } secret } }";
const ROTATE: &str = "mutation($i: RotateApiClientSecretInput!) { rotateApiClientSecret(input: $i) { apiClient { id previousSecretValidUntil } secret } }";
const REVOKE: &str = "mutation($i: RevokeApiClientInput!) { revokeApiClient(input: $i) { apiClient { id active revokedAt } } }";
const USERS: &str = "{ users(first: 5) { totalCount } }";

fn users_ok(response: &Value) -> bool {
    response.get("errors").is_none() && response["data"]["users"]["totalCount"].as_i64() > Some(0)
}

#[tokio::test]
async fn a_client_is_created_with_its_secret_shown_once_and_stored_only_as_a_hash() {
    let app = TestApp::spawn().await;
    let data = app
        .ok(
            CREATE,
            json!({ "i": { "name": "LMS vendor", "scopes": ["COMPLETIONS_WRITE", "REPORTS_READ", "COMPLETIONS_WRITE"] } }),
            &app.admin,
        )
        .await;
    let made = &data["createApiClient"];
    let secret = made["secret"].as_str().unwrap();
    assert!(secret.starts_with("sgk_"), "{secret}");
    assert!(secret.len() > 60, "a long random secret: {secret}");
    assert_eq!(
        made["apiClient"]["scopes"],
        json!(["COMPLETIONS_WRITE", "REPORTS_READ"])
    );
    assert_eq!(made["apiClient"]["lastUsedAt"], Value::Null);
    assert_eq!(made["apiClient"]["active"], true);

    // The list never shows a secret, and the database holds only its hash.
    let list = app
        .ok("{ apiClients { id name scopes } }", json!({}), &app.owner)
        .await;
    assert_eq!(list["apiClients"][0]["id"], made["apiClient"]["id"]);
    assert!(!list.to_string().contains(secret));
    let stored = app
        .scalar(&format!(
            "SELECT COUNT(*) AS n FROM api_clients WHERE org_id = {} AND (secret_hash = '{secret}' OR secret_hash LIKE '%{}%')",
            if crate::helpers::is_postgres() { "$1" } else { "?" },
            &secret[secret.len() - 20..]
        ))
        .await;
    assert_eq!(stored, 0, "the secret itself is stored nowhere");

    // A second client gets another secret.
    let other = app
        .ok(
            CREATE,
            json!({ "i": { "name": "Other", "scopes": ["REPORTS_READ"] } }),
            &app.admin,
        )
        .await;
    assert_ne!(other["createApiClient"]["secret"], made["secret"]);

    // The audit log names the creation (without the secret).
    let audit = app
        .ok(
            "{ auditLog(filter: { actions: [API_CLIENT_CREATED] }) { totalCount nodes { actorType subjectType after } } }",
            json!({}),
            &app.owner,
        )
        .await;
    assert_eq!(audit["auditLog"]["totalCount"], 2);
    assert_eq!(audit["auditLog"]["nodes"][0]["actorType"], "USER");
    assert_eq!(audit["auditLog"]["nodes"][0]["subjectType"], "API_CLIENT");
    assert!(!audit.to_string().contains(secret));
}

#[tokio::test]
async fn a_client_acts_within_its_scopes_and_its_changes_are_audited_as_its_own() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.api_client(&["PEOPLE_WRITE", "REPORTS_READ"]).await;
    assert!(users_ok(&app.execute(USERS, json!({}), &secret).await));
    let data = app
        .ok(
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
            json!({ "i": { "email": "from.hr@test.example", "name": "From HR" } }),
            &secret,
        )
        .await;
    let user = data["createUser"]["user"]["id"].clone();
    let audit = app
        .ok(
            "{ auditLog(filter: { actions: [USER_CREATED] }) { nodes { actorType actorId subjectId } } }",
            json!({}),
            &app.owner,
        )
        .await;
    let entry = audit["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["subjectId"] == user)
        .expect("the creation is audited")
        .clone();
    assert_eq!(entry["actorType"], "API_CLIENT");
    assert_eq!(entry["actorId"], client_id.to_string());
}

#[tokio::test]
async fn an_operation_outside_the_scopes_is_forbidden_audited_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.api_client(&["REPORTS_READ"]).await;
    let before = app.counts().await;
    for (doc, vars) in [
        (
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
            json!({ "i": { "email": "nope@test.example", "name": "Nope" } }),
        ),
        (
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
            json!({ "i": { "title": "Nope" } }),
        ),
        ("{ auditLog(first: 1) { totalCount } }", json!({})),
        ("{ apiClients { id } }", json!({})),
        ("{ courses { id } }", json!({})),
    ] {
        let r = app.execute(doc, vars, &secret).await;
        assert_code(&r, "FORBIDDEN");
        assert!(r["data"].is_null() || r["data"].as_object().unwrap().values().all(Value::is_null));
    }
    assert_eq!(app.counts().await, before, "nothing was written");
    let denials = app
        .ok(
            "{ auditLog(filter: { actions: [AUTHZ_DENIED] }) { totalCount nodes { actorType actorId after } } }",
            json!({}),
            &app.owner,
        )
        .await;
    assert_eq!(denials["auditLog"]["totalCount"], 5);
    for n in denials["auditLog"]["nodes"].as_array().unwrap() {
        assert_eq!(n["actorType"], "API_CLIENT");
        assert_eq!(n["actorId"], client_id.to_string());
        assert!(
            n["after"].to_string().contains(&client_id.to_string()),
            "the denial names the client: {n}"
        );
    }
}

#[tokio::test]
async fn unknown_malformed_and_revoked_secrets_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let server = serve(&app).await;
    let (client_id, secret) = app.api_client(&["REPORTS_READ"]).await;
    assert!(users_ok(&app.execute(USERS, json!({}), &secret).await));
    // The right id with a wrong random part, an unknown id, and a malformed one.
    let (head, _) = secret.rsplit_once('_').unwrap();
    let forged = format!("{head}_{}", "A".repeat(43));
    let unknown = format!("sgk_{}_{}", uuid::Uuid::now_v7().simple(), "B".repeat(43));
    for bad in [
        forged.as_str(),
        unknown.as_str(),
        "sgk_",
        "sgk_nothing_here",
    ] {
        assert_code(&app.execute(USERS, json!({}), bad).await, "UNAUTHENTICATED");
        let (status, body) = server.post(Some(bad), json!({ "query": USERS })).await;
        assert_eq!(status, 401, "{bad}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }

    let data = app
        .ok(
            REVOKE,
            json!({ "i": { "id": client_id.to_string() } }),
            &app.admin,
        )
        .await;
    assert_eq!(data["revokeApiClient"]["apiClient"]["active"], false);
    assert_code(
        &app.execute(USERS, json!({}), &secret).await,
        "UNAUTHENTICATED",
    );
    // A revoked client cannot be given a new secret; revoking it again changes nothing.
    let r = app
        .execute(
            ROTATE,
            json!({ "i": { "id": client_id.to_string() } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "VALIDATION");
    let again = app
        .ok(
            REVOKE,
            json!({ "i": { "id": client_id.to_string() } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        again["revokeApiClient"]["apiClient"]["revokedAt"],
        data["revokeApiClient"]["apiClient"]["revokedAt"]
    );
    let revocations = app
        .ok(
            "{ auditLog(filter: { actions: [API_CLIENT_REVOKED] }) { totalCount } }",
            json!({}),
            &app.owner,
        )
        .await;
    assert_eq!(revocations["auditLog"]["totalCount"], 1);
}

#[tokio::test]
async fn a_rotated_out_secret_works_for_24_hours_then_stops() {
    let app = TestApp::spawn().await;
    let (client_id, old) = app.api_client(&["REPORTS_READ"]).await;
    let data = app
        .ok(
            ROTATE,
            json!({ "i": { "id": client_id.to_string() } }),
            &app.admin,
        )
        .await;
    let new = data["rotateApiClientSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    assert!(
        data["rotateApiClientSecret"]["apiClient"]["previousSecretValidUntil"]
            .as_str()
            .is_some()
    );
    assert!(users_ok(&app.execute(USERS, json!({}), &old).await));
    assert!(users_ok(&app.execute(USERS, json!({}), &new).await));

    app.clock.advance(chrono::Duration::hours(23));
    assert!(users_ok(&app.execute(USERS, json!({}), &old).await));
    app.clock
        .advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
    assert_code(
        &app.execute(USERS, json!({}), &old).await,
        "UNAUTHENTICATED",
    );
    assert!(users_ok(&app.execute(USERS, json!({}), &new).await));

    // Rotating twice: only the newest and the one just before it work.
    let second = app
        .ok(
            ROTATE,
            json!({ "i": { "id": client_id.to_string() } }),
            &app.admin,
        )
        .await["rotateApiClientSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(users_ok(&app.execute(USERS, json!({}), &new).await));
    assert!(users_ok(&app.execute(USERS, json!({}), &second).await));
    assert_code(
        &app.execute(USERS, json!({}), &old).await,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn last_used_at_is_kept_at_most_once_a_minute() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.api_client(&["REPORTS_READ"]).await;
    let last_used = || async {
        let data = app
            .ok(
                "query($id: ID!) { apiClient(id: $id) { lastUsedAt } }",
                json!({ "id": client_id.to_string() }),
                &app.admin,
            )
            .await;
        data["apiClient"]["lastUsedAt"].clone()
    };
    assert_eq!(last_used().await, Value::Null);
    app.execute(USERS, json!({}), &secret).await;
    let first = last_used().await;
    assert!(first.is_string());
    app.clock.advance(chrono::Duration::seconds(30));
    app.execute(USERS, json!({}), &secret).await;
    assert_eq!(last_used().await, first, "not rewritten within the minute");
    app.clock.advance(chrono::Duration::seconds(31));
    app.execute(USERS, json!({}), &secret).await;
    let later = last_used().await;
    assert_ne!(later, first);
    assert!(later.as_str() > first.as_str());
}

#[tokio::test]
async fn bad_client_inputs_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let before = app.counts().await;
    // No scopes, an unknown scope, a blank name.
    for (input, code) in [
        (json!({ "name": "Empty", "scopes": [] }), "VALIDATION"),
        (
            json!({ "name": "Odd", "scopes": ["EVERYTHING"] }),
            "VALIDATION",
        ),
        (
            json!({ "name": "  ", "scopes": ["REPORTS_READ"] }),
            "VALIDATION",
        ),
    ] {
        let r = app.execute(CREATE, json!({ "i": input }), &app.admin).await;
        assert_code(&r, code);
    }
    // People without ADMIN or OWNER may not make clients.
    for role in [OrgRole::Hr, OrgRole::Manager, OrgRole::Learner] {
        let u = app.user().await;
        let token = app.token(u, role);
        let r = app
            .execute(
                CREATE,
                json!({ "i": { "name": "Mine", "scopes": ["REPORTS_READ"] } }),
                &token,
            )
            .await;
        assert_code(&r, "FORBIDDEN");
    }
    let after = app.counts().await;
    let clients = |c: &[(&str, i64)]| c.iter().find(|(t, _)| *t == "api_clients").unwrap().1;
    assert_eq!(clients(&after), clients(&before), "no client was made");

    // Another organization's client is not found, for revoking, rotating and reading alike.
    let (_, other_owner) = app.other_org().await;
    let theirs = app
        .ok(
            CREATE,
            json!({ "i": { "name": "Theirs", "scopes": ["REPORTS_READ"] } }),
            &other_owner,
        )
        .await;
    let theirs = id(&theirs["createApiClient"]["apiClient"]["id"]).to_string();
    for doc in [REVOKE, ROTATE] {
        let r = app
            .execute(doc, json!({ "i": { "id": theirs } }), &app.admin)
            .await;
        assert_code(&r, "NOT_FOUND");
    }
    let r = app
        .ok(
            "query($id: ID!) { apiClient(id: $id) { id } }",
            json!({ "id": theirs }),
            &app.admin,
        )
        .await;
    assert_eq!(r["apiClient"], Value::Null);
    let mine = app.ok("{ apiClients { id } }", json!({}), &app.admin).await;
    assert_eq!(mine["apiClients"], json!([]));
}
