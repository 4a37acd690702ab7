//! `TestApp`: a fresh database per test (a SQLite temp file, or a new PostgreSQL database when
//! `SKILLGRAPH_TEST_DATABASE_URL` is set), real migrations, a clock the test controls, an
//! organization with its owner, and `execute(query, vars, token)` through the real schema.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use skillgraph::clock::ManualClock;
use skillgraph::graphql::{AppSchema, build_schema};
use skillgraph::http::auth;
use skillgraph::jwt::JwtKeys;
use skillgraph::service::viewer::OrgRole;
use skillgraph::state::{AppState, Settings};
use uuid::Uuid;

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret";

pub struct TestApp {
    pub state: AppState,
    pub schema: AppSchema,
    pub clock: ManualClock,
    pub org_id: Uuid,
    pub owner_id: Uuid,
    /// A token of the organization's OWNER.
    pub owner: String,
    /// A token of an ADMIN user created for the test.
    pub admin: String,
    pub admin_id: Uuid,
    #[allow(dead_code)]
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A database URL of a fresh, empty database.
pub async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("SKILLGRAPH_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            use sea_orm::{ConnectionTrait, Database};
            let name = format!("sg_test_{}", Uuid::new_v4().simple());
            let admin = Database::connect(base.as_str())
                .await
                .expect("connect to SKILLGRAPH_TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (prefix, _) = base.rsplit_once('/').expect("database URL with a path");
            let query = base
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            (format!("{prefix}/{name}{query}"), None)
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            (url, Some(dir))
        }
    }
}

pub fn is_postgres() -> bool {
    std::env::var("SKILLGRAPH_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Settings::default()).await
    }

    pub async fn spawn_with(settings: Settings) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            let _ = tracing_subscriber_init();
        }
        let (url, dir) = fresh_database().await;
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap());
        let state = skillgraph::build_state(
            &url,
            JwtKeys::hs256(SECRET),
            Arc::new(clock.clone()),
            settings.clone(),
        )
        .await
        .unwrap_or_else(|e| panic!("build state: {}", e.message()));
        let created = skillgraph::service::org::create(
            &state,
            "Test Org",
            "owner@test.example",
            "Olivia Owner",
        )
        .await
        .unwrap_or_else(|e| panic!("create org: {}", e.message()));
        let org_id = created.org.id;
        let owner_id = created.owner.id;
        let schema = build_schema(&settings);
        let mut app = TestApp {
            owner: state
                .jwt
                .mint(org_id, owner_id, OrgRole::Owner, chrono::Duration::hours(1))
                .unwrap(),
            state,
            schema,
            clock,
            org_id,
            owner_id,
            admin: String::new(),
            admin_id: Uuid::nil(),
            database_url: url,
            _dir: dir,
        };
        let admin_id = app.create_user("admin@test.example", "Ada Admin").await;
        app.admin = app.token(admin_id, OrgRole::Admin);
        app.admin_id = admin_id;
        app
    }

    /// A token for `user` acting as `role` in this organization.
    pub fn token(&self, user: Uuid, role: OrgRole) -> String {
        self.state
            .jwt
            .mint(self.org_id, user, role, chrono::Duration::hours(1))
            .unwrap()
    }

    /// Runs a GraphQL document as the holder of `token`, the way the HTTP edge does, and returns
    /// the whole response (`data`, `errors`) as JSON.
    pub async fn execute(&self, query: &str, vars: Value, token: &str) -> Value {
        let viewer = match auth::authenticate(&self.state, token).await {
            Ok(v) => v,
            Err(e) => {
                return json!({ "data": null, "errors": [{ "message": e.message(), "extensions": { "code": e.code() } }] });
            }
        };
        let request =
            async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(vars));
        let response =
            skillgraph::graphql::execute_as(&self.schema, &self.state, viewer, request).await;
        serde_json::to_value(&response).expect("response serializes")
    }

    /// Like `execute`, but panics on any error and returns `data`.
    pub async fn ok(&self, query: &str, vars: Value, token: &str) -> Value {
        let response = self.execute(query, vars, token).await;
        assert!(
            response
                .get("errors")
                .is_none_or(|e| e.as_array().is_none_or(|a| a.is_empty())),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    /// Creates a user through the API and returns its id.
    pub async fn create_user(&self, email: &str, name: &str) -> Uuid {
        let data = self
            .ok(
                "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
                json!({ "i": { "email": email, "name": name } }),
                &self.owner,
            )
            .await;
        id(&data["createUser"]["user"]["id"])
    }

    /// Creates a user with a random unique email.
    pub async fn user(&self) -> Uuid {
        let tag = Uuid::new_v4().simple().to_string();
        self.create_user(
            &format!("u{}@test.example", &tag[..12]),
            &format!("User {}", &tag[..6]),
        )
        .await
    }

    /// An API client of the organization with `scopes`, made by the ADMIN: its id and secret.
    pub async fn api_client(&self, scopes: &[&str]) -> (Uuid, String) {
        let tag = Uuid::new_v4().simple().to_string();
        let data = self
            .ok(
                "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { apiClient { id } secret } }",
                json!({ "i": { "name": format!("Client {}", &tag[..8]), "scopes": scopes } }),
                &self.admin,
            )
            .await;
        let payload = &data["createApiClient"];
        (
            id(&payload["apiClient"]["id"]),
            payload["secret"].as_str().unwrap().to_string(),
        )
    }

    pub async fn group(&self, name: &str, parent: Option<Uuid>) -> Uuid {
        let data = self
            .ok(
                "mutation($i: CreateGroupInput!) { createGroup(input: $i) { group { id } } }",
                json!({ "i": { "name": name, "parentId": parent.map(|p| p.to_string()) } }),
                &self.admin,
            )
            .await;
        id(&data["createGroup"]["group"]["id"])
    }

    pub async fn add_member(&self, user: Uuid, group: Uuid) {
        self.ok(
            "mutation($i: AddMembershipInput!) { addMembership(input: $i) { membership { id } } }",
            json!({ "i": { "userId": user.to_string(), "groupId": group.to_string() } }),
            &self.admin,
        )
        .await;
    }

    /// Rows of `table` belonging to this organization (to prove that a refused mutation wrote
    /// nothing).
    pub async fn rows(&self, table: &str) -> i64 {
        use sea_orm::{ConnectionTrait, Statement};
        let db = &self.state.db.read;
        let sql = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                format!("SELECT COUNT(*) AS n FROM {table} WHERE org_id = $1")
            }
            _ => format!("SELECT COUNT(*) AS n FROM {table} WHERE org_id = ?"),
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                [self.org_id.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    /// A snapshot of the row counts of every organization table. Audit events of refused
    /// attempts (`AUTHZ_DENIED`) are left out: recording the attempt is the point.
    pub async fn counts(&self) -> Vec<(&'static str, i64)> {
        let mut out = Vec::new();
        for t in [
            "users",
            "user_attributes",
            "org_groups",
            "group_closure",
            "memberships",
            "roles",
            "skills",
            "proficiency_levels",
            "role_categories",
            "role_skills",
            "role_links",
            "user_skills",
            "skill_ratings",
            "course_skills",
            "courses",
            "rules",
            "assignments",
            "assignment_reasons",
            "completions",
            "assignment_events",
            "skill_dependencies",
            "tracks",
            "track_courses",
            "rubrics",
            "rubric_dimensions",
            "assessments",
            "assessment_scores",
            "api_clients",
            "manual_requirements",
        ] {
            out.push((t, self.rows(t).await));
        }
        // Refusals are recorded (in the refused viewer's organization); nothing else is.
        let p = if is_postgres() { "$1" } else { "?" };
        let denied = self
            .scalar(&format!(
                "SELECT COUNT(*) AS n FROM audit_events WHERE org_id = {p} AND action = 'AUTHZ_DENIED'"
            ))
            .await;
        out.push(("audit_events", self.rows("audit_events").await - denied));
        out
    }

    /// `sql` (with the organization id as its one parameter) → a count.
    pub async fn scalar(&self, sql: &str) -> i64 {
        use sea_orm::{ConnectionTrait, Statement};
        let db = &self.state.db.read;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                [self.org_id.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

impl TestApp {
    /// A second organization in the same database, and its owner's token.
    pub async fn other_org(&self) -> (Uuid, String) {
        let tag = Uuid::new_v4().simple().to_string();
        let created = skillgraph::service::org::create(
            &self.state,
            &format!("Other {}", &tag[..6]),
            &format!("boss{}@other.example", &tag[..8]),
            "Other Boss",
        )
        .await
        .unwrap_or_else(|e| panic!("create org: {}", e.message()));
        let token = self
            .state
            .jwt
            .mint(
                created.org.id,
                created.owner.id,
                OrgRole::Owner,
                chrono::Duration::hours(1),
            )
            .unwrap();
        (created.org.id, token)
    }

    /// Creates a skill as the admin and returns its id.
    pub async fn skill(&self, name: &str) -> Uuid {
        let data = self
            .ok(
                "mutation($i: CreateSkillInput!) { createSkill(input: $i) { skill { id } } }",
                json!({ "i": { "name": name } }),
                &self.admin,
            )
            .await;
        id(&data["createSkill"]["skill"]["id"])
    }

    /// Creates a role as the admin (optionally in a category) and returns its id.
    pub async fn role(&self, name: &str, category: Option<Uuid>) -> Uuid {
        let data = self
            .ok(
                "mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id } } }",
                json!({ "i": { "name": name, "categoryId": category.map(|c| c.to_string()) } }),
                &self.admin,
            )
            .await;
        id(&data["createRole"]["role"]["id"])
    }

    /// Creates a role category as the admin and returns its id.
    pub async fn category(&self, name: &str, featured: bool) -> Uuid {
        let data = self
            .ok(
                "mutation($i: CreateRoleCategoryInput!) { createRoleCategory(input: $i) { roleCategory { id } } }",
                json!({ "i": { "name": name, "featured": featured } }),
                &self.admin,
            )
            .await;
        id(&data["createRoleCategory"]["roleCategory"]["id"])
    }

    /// Replaces a role's required skills: (skill, level).
    pub async fn set_role_skills(&self, role: Uuid, skills: &[(Uuid, Option<i32>)]) {
        let list: Vec<Value> = skills
            .iter()
            .map(|(s, l)| json!({ "skillId": s.to_string(), "level": l }))
            .collect();
        self.ok(
            "mutation($i: SetRoleSkillsInput!) { setRoleSkills(input: $i) { role { id } } }",
            json!({ "i": { "id": role.to_string(), "skills": list } }),
            &self.admin,
        )
        .await;
    }

    /// Rates a user's skill as the admin.
    pub async fn rate(&self, user: Uuid, skill: Uuid, level: i32) {
        self.ok(
            "mutation($i: RateSkillInput!) { rateSkill(input: $i) { userSkill { level } } }",
            json!({ "i": { "userId": user.to_string(), "skillId": skill.to_string(), "level": level } }),
            &self.admin,
        )
        .await;
    }

    /// Makes `from` → `to` a career link ("to advances from from").
    pub async fn link(&self, from: Uuid, to: Uuid) {
        self.ok(
            "mutation($i: LinkRolesInput!) { linkRoles(input: $i) { toRole { id } } }",
            json!({ "i": { "fromRoleId": from.to_string(), "toRoleId": to.to_string() } }),
            &self.admin,
        )
        .await;
    }
}

fn tracing_subscriber_init() -> Result<(), ()> {
    skillgraph::telemetry::init_for_tests();
    Ok(())
}

pub fn id(v: &Value) -> Uuid {
    Uuid::parse_str(v.as_str().unwrap_or_else(|| panic!("not an id: {v}"))).unwrap()
}

/// The `extensions.code` of the first error, or "" when there is none.
pub fn code(response: &Value) -> String {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Asserts that the response failed with `expected` as its code.
#[track_caller]
pub fn assert_code(response: &Value, expected: &str) {
    assert_eq!(
        code(response),
        expected,
        "expected {expected}: {response:#}"
    );
}
