//! The demo organization of `serve --demo`: Acme's tree, about 200 people with the data the
//! README's queries show, a few roles, seeded once however often the server restarts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use skillgraph::clock::ManualClock;
use skillgraph::demo::{self, Demo};
use skillgraph::graphql::{AppSchema, build_schema, with_request_data};
use skillgraph::http::auth;
use skillgraph::jwt::JwtKeys;
use skillgraph::service::viewer::OrgRole;
use skillgraph::state::{AppState, Settings};
use uuid::Uuid;

use crate::helpers::{SECRET, assert_code, fresh_database, id};

/// A server state on a fresh database holding only the demo organization, with the two tokens
/// `serve --demo` prints.
pub struct DemoApp {
    pub state: AppState,
    pub schema: AppSchema,
    pub demo: Demo,
    pub clock: ManualClock,
    /// What `serve --demo` prints as `admin token:`.
    pub admin: String,
    /// What `serve --demo` prints as `learner token:`.
    pub learner: String,
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
}

impl DemoApp {
    pub async fn spawn() -> DemoApp {
        let (url, dir) = fresh_database().await;
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap());
        let state = state_on(&url, &clock).await;
        let demo = demo::ensure(&state)
            .await
            .unwrap_or_else(|e| panic!("demo::ensure: {}", e.message()));
        let mint = |user, role| {
            state
                .jwt
                .mint(demo.org_id, user, role, chrono::Duration::days(7))
                .unwrap()
        };
        DemoApp {
            admin: mint(demo.admin_id, OrgRole::Admin),
            learner: mint(demo.learner_id, OrgRole::Learner),
            schema: build_schema(&Settings::default()),
            state,
            demo,
            clock,
            database_url: url,
            _dir: dir,
        }
    }

    /// Runs a document as the holder of `token`, the way the HTTP edge does.
    pub async fn execute(&self, query: &str, vars: Value, token: &str) -> Value {
        let viewer = match auth::authenticate(&self.state, token).await {
            Ok(v) => v,
            Err(e) => {
                return json!({ "data": null, "errors": [{ "message": e.message(), "extensions": { "code": e.code() } }] });
            }
        };
        let request =
            async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(vars));
        let response = skillgraph::graphql::execute(
            &self.schema,
            with_request_data(request, &self.state, viewer),
        )
        .await;
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

    /// The id of the demo group named exactly `name`.
    pub async fn group_id(&self, name: &str) -> Uuid {
        let data = self
            .ok(
                "query($s: String) { groups(search: $s) { id name } }",
                json!({ "s": name }),
                &self.admin,
            )
            .await;
        let found: Vec<&Value> = data["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["name"] == name)
            .collect();
        assert_eq!(found.len(), 1, "one group named {name:?}: {data}");
        id(&found[0]["id"])
    }
}

async fn state_on(url: &str, clock: &ManualClock) -> AppState {
    skillgraph::build_state(
        url,
        JwtKeys::hs256(SECRET),
        Arc::new(clock.clone()),
        Settings::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("build state: {}", e.message()))
}

/// Row counts of every table, across all organizations.
async fn counts(state: &AppState) -> Vec<(&'static str, i64)> {
    use sea_orm::{ConnectionTrait, Statement};
    let mut out = Vec::new();
    for table in [
        "organizations",
        "users",
        "user_attributes",
        "org_groups",
        "group_closure",
        "memberships",
        "roles",
        "audit_events",
        "skills",
        "role_categories",
        "role_skills",
        "role_links",
        "user_skills",
        "skill_ratings",
        "course_skills",
    ] {
        let row = state
            .db
            .read
            .query_one_raw(Statement::from_string(
                state.db.backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        out.push((table, row.try_get::<i64>("", "n").unwrap()));
    }
    out
}

/// Every user of the demo, fetched page by page as the admin.
async fn all_users(app: &DemoApp) -> (Vec<Value>, i64) {
    let mut users = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = app
            .ok(
                "query($after: String) {
                   users(first: 60, after: $after) {
                     totalCount
                     pageInfo { hasNextPage endCursor }
                     nodes {
                       id name email jobTitle hireDate attributes active
                       manager { id }
                       primaryRole { name }
                       memberships { current group { name } }
                     }
                   }
                 }",
                json!({ "after": after }),
                &app.admin,
            )
            .await;
        let page = &data["users"];
        users.extend(page["nodes"].as_array().unwrap().iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            return (users, page["totalCount"].as_i64().unwrap());
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
}

#[tokio::test]
async fn the_demo_tree_is_acme_with_its_departments_and_nothing_else() {
    let app = DemoApp::spawn().await;
    let data = app
        .ok(
            "{ organization { name demo }
               roots: groups(rootsOnly: true) { name }
               all: groups { name parent { name } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["organization"],
        json!({ "name": "Acme", "demo": true })
    );
    assert_eq!(data["roots"], json!([{ "name": "Acme" }]));

    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for g in data["all"].as_array().unwrap() {
        let name = g["name"].as_str().unwrap().to_string();
        if let Some(parent) = g["parent"]["name"].as_str() {
            children.entry(parent.to_string()).or_default().insert(name);
        }
    }
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let expected: BTreeMap<String, BTreeSet<String>> = [
        (
            "Acme",
            set(&[
                "Sales",
                "Warehouse",
                "Finance",
                "Customer Success",
                "Engineering",
                "Store Operations",
            ]),
        ),
        ("Sales", set(&["Sales — SMB", "Sales — Enterprise"])),
        ("Warehouse", set(&["Warehouse — Chicago"])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(children, expected);
    assert_eq!(data["all"].as_array().unwrap().len(), 10, "ten groups");

    // Through the tree API: Acme's subtree, shallowest first, and its members.
    let acme = app.group_id("Acme").await;
    let data = app
        .ok(
            "query($g: ID!) { group(id: $g) {
                 children { name }
                 descendants { name }
                 members { totalCount }
                 everyone: members(includeSubgroups: true) { totalCount } }
               users { totalCount } }",
            json!({ "g": acme.to_string() }),
            &app.admin,
        )
        .await;
    let g = &data["group"];
    assert_eq!(g["children"].as_array().unwrap().len(), 6);
    assert_eq!(g["descendants"].as_array().unwrap().len(), 9);
    assert_eq!(
        g["everyone"]["totalCount"], data["users"]["totalCount"],
        "everyone is somewhere under Acme"
    );
    assert!(g["members"]["totalCount"].as_i64().unwrap() >= 2, "{g}");
}

#[tokio::test]
async fn the_demo_has_about_200_people_with_titles_dates_managers_attributes_and_groups() {
    let app = DemoApp::spawn().await;
    let (users, total) = all_users(&app).await;
    assert_eq!(users.len() as i64, total);
    assert!(
        (180..=220).contains(&users.len()),
        "about 200 people, got {}",
        users.len()
    );

    let ids: HashMap<&str, &Value> = users
        .iter()
        .map(|u| (u["id"].as_str().unwrap(), u))
        .collect();
    let mut without_manager = Vec::new();
    let mut titles = BTreeSet::new();
    let mut hire_dates = BTreeSet::new();
    let mut locations = BTreeSet::new();
    let mut departments = BTreeSet::new();
    let mut per_group: BTreeMap<String, usize> = BTreeMap::new();
    let mut with_role = 0;
    for u in &users {
        let who = u["email"].as_str().unwrap();
        assert_eq!(u["active"], true, "{who}");
        let title = u["jobTitle"].as_str().unwrap_or("");
        assert!(!title.is_empty(), "{who} has a job title");
        titles.insert(title.to_string());
        let hired = u["hireDate"]
            .as_str()
            .unwrap_or_else(|| panic!("{who} has a hire date"));
        assert!(
            chrono::NaiveDate::parse_from_str(hired, "%Y-%m-%d").is_ok(),
            "{who}: {hired}"
        );
        hire_dates.insert(hired.to_string());
        let attrs = &u["attributes"];
        for key in ["location", "department"] {
            assert!(
                attrs[key].as_str().is_some_and(|s| !s.is_empty()),
                "{who} has a {key}: {attrs}"
            );
        }
        locations.insert(attrs["location"].as_str().unwrap().to_string());
        departments.insert(attrs["department"].as_str().unwrap().to_string());
        match u["manager"]["id"].as_str() {
            Some(m) => assert!(ids.contains_key(m), "{who}'s manager is in the org"),
            None => without_manager.push(who.to_string()),
        }
        if !u["primaryRole"].is_null() {
            with_role += 1;
        }
        let groups = u["memberships"].as_array().unwrap();
        assert!(!groups.is_empty(), "{who} belongs to a group");
        for m in groups {
            assert_eq!(m["current"], true);
            *per_group
                .entry(m["group"]["name"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    assert_eq!(
        without_manager,
        vec!["dana.whitfield@acme.example".to_string()],
        "only the CEO reports to no one"
    );
    // Every reporting line ends at the CEO, without cycles.
    for u in &users {
        let mut at: &Value = u;
        let mut steps = 0;
        while let Some(m) = at["manager"]["id"].as_str() {
            at = ids[m];
            steps += 1;
            assert!(steps < 10, "reporting cycle above {}", u["email"]);
        }
        assert_eq!(at["email"], "dana.whitfield@acme.example");
    }
    assert!(titles.len() >= 10, "varied job titles: {titles:?}");
    assert!(hire_dates.len() >= 100, "hire dates spread over years");
    for place in ["Chicago", "Gary", "New York", "Austin", "Remote"] {
        assert!(locations.contains(place), "{place} in {locations:?}");
    }
    for dept in ["Sales", "Warehouse", "Finance", "Engineering"] {
        assert!(departments.contains(dept), "{dept} in {departments:?}");
    }
    assert_eq!(
        per_group.len(),
        10,
        "every group has members: {per_group:?}"
    );
    assert!(per_group["Warehouse — Chicago"] >= 30, "{per_group:?}");
    assert!(with_role >= 150, "most people hold a primary role");

    let data = app.ok("{ roles { name } }", json!({}), &app.admin).await;
    let roles: BTreeSet<&str> = data["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        (15..=25).contains(&roles.len()),
        "about 20 roles: {roles:?}"
    );
    for r in ["Sales Representative", "Warehouse Associate", "Accountant"] {
        assert!(roles.contains(r), "{r} in {roles:?}");
    }
}

#[tokio::test]
async fn ensure_twice_or_after_a_restart_duplicates_nothing() {
    let app = DemoApp::spawn().await;
    let before = counts(&app.state).await;
    assert!(before.iter().all(|(_, n)| *n > 0), "{before:?}");

    app.clock.advance(chrono::Duration::hours(1));
    let again = demo::ensure(&app.state).await.unwrap();
    assert_eq!(
        (again.org_id, again.admin_id, again.learner_id),
        (app.demo.org_id, app.demo.admin_id, app.demo.learner_id)
    );
    assert_eq!(again.org_name, "Acme");
    assert_eq!(
        counts(&app.state).await,
        before,
        "a second ensure wrote nothing"
    );

    // A restart: a new server process on the same database.
    let restarted = state_on(&app.database_url, &app.clock).await;
    let third = demo::ensure(&restarted).await.unwrap();
    assert_eq!(
        (third.org_id, third.admin_id, third.learner_id),
        (app.demo.org_id, app.demo.admin_id, app.demo.learner_id)
    );
    assert_eq!(counts(&restarted).await, before, "a restart wrote nothing");
}

#[tokio::test]
async fn the_demo_is_found_beside_other_organizations() {
    let (url, _dir) = fresh_database().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap());
    let state = state_on(&url, &clock).await;
    let other = skillgraph::service::org::create(&state, "Globex", "boss@globex.example", "Boss")
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()));
    let first = demo::ensure(&state).await.unwrap();
    assert_ne!(first.org_id, other.org.id);
    let second = demo::ensure(&state).await.unwrap();
    assert_eq!(second.org_id, first.org_id);

    // Globex keeps exactly its owner.
    let schema = build_schema(&Settings::default());
    let token = state
        .jwt
        .mint(
            other.org.id,
            other.owner.id,
            OrgRole::Owner,
            chrono::Duration::hours(1),
        )
        .unwrap();
    let viewer = auth::authenticate(&state, &token).await.unwrap();
    let request = async_graphql::Request::new(
        "{ organization { name demo } users { totalCount } groups { name } }",
    );
    let response =
        skillgraph::graphql::execute(&schema, with_request_data(request, &state, viewer)).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(
        response.data.into_json().unwrap(),
        json!({ "organization": { "name": "Globex", "demo": false }, "users": { "totalCount": 1 }, "groups": [] })
    );
}

#[tokio::test]
async fn the_demo_admin_manages_and_the_learner_sees_only_themself() {
    let app = DemoApp::spawn().await;

    let data = app
        .ok(
            "{ viewer { id name email } viewerRole users { totalCount }
               auditLog(first: 3) { totalCount nodes { action } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(data["viewer"]["id"], json!(app.demo.admin_id.to_string()));
    assert_eq!(data["viewer"]["email"], demo::ADMIN_EMAIL);
    assert_eq!(data["viewerRole"], "ADMIN");
    assert!(data["users"]["totalCount"].as_i64().unwrap() >= 180);
    assert!(
        data["auditLog"]["totalCount"].as_i64().unwrap() >= 200,
        "the seed is audited"
    );
    let sales = app.group_id("Sales").await;
    app.ok(
        "mutation($p: ID) { createGroup(input: { name: \"Sales — Partnerships\", parentId: $p }) { group { id } } }",
        json!({ "p": sales.to_string() }),
        &app.admin,
    )
    .await;

    let data = app
        .ok(
            "{ viewer { id name email jobTitle manager { jobTitle }
                        memberships { group { name ancestors { name } } } }
               viewerRole users { totalCount nodes { name } } }",
            json!({}),
            &app.learner,
        )
        .await;
    let me = &data["viewer"];
    assert_eq!(me["id"], json!(app.demo.learner_id.to_string()));
    assert_eq!(me["email"], demo::LEARNER_EMAIL);
    assert_eq!(me["name"], "Jordan Rivera");
    assert_eq!(me["jobTitle"], "Account Executive");
    assert!(
        me["manager"].is_null(),
        "a learner sees only themself, not their manager"
    );
    assert_eq!(
        me["memberships"],
        json!([{ "group": { "name": "Sales — Enterprise", "ancestors": [{ "name": "Sales" }, { "name": "Acme" }] } }])
    );
    assert_eq!(data["viewerRole"], "LEARNER");
    assert_eq!(
        data["users"],
        json!({ "totalCount": 1, "nodes": [{ "name": "Jordan Rivera" }] })
    );

    let r = app
        .execute("{ auditLog { totalCount } }", json!({}), &app.learner)
        .await;
    assert_code(&r, "FORBIDDEN");
    let r = app
        .execute(
            "mutation { createGroup(input: { name: \"By a learner\" }) { group { id } } }",
            json!({}),
            &app.learner,
        )
        .await;
    assert_code(&r, "FORBIDDEN");
}

#[tokio::test]
async fn the_demo_rules_assign_each_team_its_bundle() {
    let app = DemoApp::spawn().await;
    let data = app
        .ok(
            "{ viewer { assignments { status unlockAt dueAt course { title } reasons { rule { name } } } } rules { name audienceSize } }",
            json!({}),
            &app.learner,
        )
        .await;
    let mine: BTreeMap<String, String> = data["viewer"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["course"]["title"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let titles: Vec<&String> = mine.keys().collect();
    assert_eq!(
        titles,
        [
            "Acme foundations",
            "CRM walkthrough",
            "Company policies",
            "Customer communication",
            "Discovery calls",
            "Enterprise pricing",
            "Negotiation masterclass",
            "New hire orientation"
        ],
        "Jordan (Sales — Enterprise) gets onboarding, the enterprise bundle and the Sales track"
    );
    assert!(
        mine.values()
            .all(|s| s == "COMPLETED" || s == "ASSIGNED" || s == "LOCKED"),
        "{mine:?}"
    );
    let rules: BTreeMap<String, i64> = data["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["audienceSize"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rules.len(), 8, "five bundles and three tracks");
    assert!(rules["Everyone: onboarding"] >= 190, "{rules:?}");
    let by_group = app
        .ok(
            "{ chicago: assignments(filter: { courseId: null, status: [ASSIGNED, LOCKED] }) { totalCount }
               groups(search: \"Warehouse — Chicago\") { members { totalCount } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert!(
        by_group["chicago"]["totalCount"].as_i64().unwrap() > 20,
        "open assignments remain: {by_group}"
    );
    let chicago_members = by_group["groups"][0]["members"]["totalCount"]
        .as_i64()
        .unwrap();
    assert_eq!(rules["Chicago warehouse: safety"], chicago_members);
    assert!(rules["Finance: payment data"] + rules["Customer Success: payment data"] > 0);

    // The seeded history shows every compliance state a dashboard needs.
    let report = app
        .ok(
            "{ complianceReport { total compliant atRisk nonCompliant byCourse { course { title } compliant expiringSoon expired overdue } } }",
            json!({}),
            &app.admin,
        )
        .await;
    let r = &report["complianceReport"];
    assert!(r["total"].as_i64().unwrap() >= 190, "{r}");
    for k in ["compliant", "atRisk", "nonCompliant"] {
        assert!(r[k].as_i64().unwrap() > 0, "no {k} users: {r}");
    }
    let safety = r["byCourse"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["course"]["title"] == "Site safety")
        .unwrap();
    for k in ["compliant", "expiringSoon", "expired", "overdue"] {
        assert!(
            safety[k].as_i64().unwrap() > 0,
            "no {k} for Site safety: {safety}"
        );
    }
}

#[tokio::test]
async fn the_demo_has_a_role_catalogue_with_ladders_ratings_and_a_target_role() {
    let app = DemoApp::spawn().await;
    let data = app
        .ok(
            "{ roleCategories { name featured roles { name skills { level } } } }",
            json!({}),
            &app.admin,
        )
        .await;
    let categories = data["roleCategories"].as_array().unwrap();
    assert_eq!(categories.len(), 5, "{data}");
    let featured = categories.iter().filter(|c| c["featured"] == true).count();
    assert!((1..5).contains(&featured), "some featured: {data}");
    for c in categories {
        for r in c["roles"].as_array().unwrap() {
            assert!(!r["skills"].as_array().unwrap().is_empty(), "{r}");
        }
    }
    let id_of = |name: &'static str| {
        let app = &app;
        async move {
            let data = app
                .ok(
                    "query($s: String) { roles(filter: { search: $s }) { id name } }",
                    json!({ "s": name }),
                    &app.admin,
                )
                .await;
            let found: Vec<&Value> = data["roles"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["name"] == name)
                .collect();
            id(&found[0]["id"])
        }
    };
    for (from, to, steps) in [
        ("Sales Representative", "Sales Manager", 2),
        ("Warehouse Associate", "Site Manager", 2),
        ("Project Manager", "Program Director", 2),
    ] {
        let data = app
            .ok(
                "query($f: ID!, $t: ID!) { careerPaths(fromRoleId: $f, toRoleId: $t) { steps roles { name } } }",
                json!({ "f": id_of(from).await.to_string(), "t": id_of(to).await.to_string() }),
                &app.admin,
            )
            .await;
        let paths = data["careerPaths"].as_array().unwrap();
        assert!(!paths.is_empty(), "{from} → {to}: {data}");
        assert_eq!(paths[0]["steps"], steps, "{from} → {to}: {data}");
    }

    // The learner: a target role, own ratings, matches and recommendations.
    let data = app
        .ok(
            "{ viewer { primaryRole { name } targetRole { name match { percent gaps { skill { name } } } }
                        skills { skill { name } level source } }
               roleMatches(first: 3) { totalCount nodes { role { name } percent } }
               recommendations { course { title } closes { skill { name } } } }",
            json!({}),
            &app.learner,
        )
        .await;
    let me = &data["viewer"];
    assert_eq!(me["primaryRole"]["name"], "Sales Representative");
    assert_eq!(me["targetRole"]["name"], "Senior Sales Representative");
    let percent = me["targetRole"]["match"]["percent"].as_i64().unwrap();
    assert!((1..100).contains(&percent), "{me}");
    assert!(
        me["skills"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["source"] == "SELF"),
        "{me}"
    );
    assert!(data["roleMatches"]["totalCount"].as_i64().unwrap() >= 5);
    assert!(
        !data["recommendations"].as_array().unwrap().is_empty(),
        "{data}"
    );
    // Managers' ratings for many others.
    let rated = app
        .ok(
            "{ users(first: 200) { nodes { skills { level } } } }",
            json!({}),
            &app.admin,
        )
        .await;
    let with_ratings = rated["users"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| {
            u["skills"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| !s["level"].is_null())
        })
        .count();
    assert!(with_ratings >= 100, "{with_ratings} people rated");
}

#[tokio::test]
async fn the_demo_tracks_share_a_foundation_and_show_drop_off_and_a_generous_evaluator() {
    let app = DemoApp::spawn().await;
    let data = app
        .ok(
            "{ tracks { id name owner { name } courses { foundation course { title } } rubrics { name } } }",
            json!({}),
            &app.admin,
        )
        .await;
    let tracks = data["tracks"].as_array().unwrap();
    let names: Vec<&str> = tracks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Customer Success", "Sales", "Warehouse"]);
    for t in tracks {
        let foundation: Vec<&str> = t["courses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["foundation"] == true)
            .map(|c| c["course"]["title"].as_str().unwrap())
            .collect();
        assert_eq!(foundation, ["Acme foundations", "Customer communication"]);
        assert_eq!(t["rubrics"].as_array().unwrap().len(), 1, "{t}");
    }
    let sales = tracks.iter().find(|t| t["name"] == "Sales").unwrap();
    let report = app
        .ok(
            "query($t: ID!) { trackReport(trackId: $t) { enrolled completed completionRate
                steps { reached completed dropOff } scores { count mean }
                evaluators { evaluator { email } count difference } } }",
            json!({ "t": sales["id"] }),
            &app.admin,
        )
        .await;
    let r = &report["trackReport"];
    assert!(r["enrolled"].as_i64().unwrap() >= 40, "{r}");
    assert!(r["completed"].as_i64().unwrap() > 0, "{r}");
    let drop: Vec<i64> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["dropOff"].as_i64().unwrap())
        .collect();
    assert!(drop.iter().all(|d| *d > 0), "every step loses someone: {r}");
    assert!(r["scores"]["count"].as_i64().unwrap() >= 10, "{r}");
    let generous = r["evaluators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["evaluator"]["email"] == demo::ADMIN_EMAIL)
        .unwrap();
    assert!(generous["difference"].as_f64().unwrap() > 5.0, "{r}");
}

/// Every figure of a "now" report comes from the per-user summaries that commits keep current;
/// a past instant is answered from history. On the demo's history, and as time passes (with and
/// without the scheduler) and people transfer and complete courses, the two must agree for
/// every filter and warning window, user by user.
#[tokio::test]
async fn the_now_report_from_summaries_equals_the_report_from_history() {
    use skillgraph::service::compliance::{scheduler, status};
    use skillgraph::service::page::PageRequest;

    let app = DemoApp::spawn().await;
    let org = app.demo.org_id;
    let db = app.state.db.read.clone();
    let viewer = skillgraph::service::viewer::Viewer::new(org, app.demo.admin_id, OrgRole::Admin);
    let groups: Vec<Uuid> = {
        let v = app.ok("{ groups { id } }", json!({}), &app.admin).await;
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| id(&g["id"]))
            .collect()
    };
    let role: Uuid = {
        let v = app.ok("{ roles { id } }", json!({}), &app.admin).await;
        id(&v["roles"][0]["id"])
    };
    let check = |label: String| {
        let (db, viewer, groups) = (db.clone(), viewer.clone(), groups.clone());
        let now = skillgraph::service::now_micros(&app.state);
        async move {
            let mut filters = vec![status::ReportFilter::default()];
            for g in groups.iter().take(8) {
                for sub in [true, false] {
                    filters.push(status::ReportFilter {
                        group_id: Some(*g),
                        include_subgroups: Some(sub),
                        ..Default::default()
                    });
                }
            }
            filters.push(status::ReportFilter {
                role_id: Some(role),
                ..Default::default()
            });
            let mut nonempty = 0;
            for f in &filters {
                for warning in [0, 30, 90] {
                    let current = status::At::new(None, now, Some(warning)).unwrap();
                    assert!(current.current);
                    let history = status::At {
                        current: false,
                        ..current
                    };
                    let a = status::counts(&db, &viewer, f, current).await.unwrap();
                    let b = status::counts(&db, &viewer, f, history).await.unwrap();
                    assert_eq!(a, b, "{label}: counts for {f:?}, warning {warning}");
                    nonempty += usize::from(a.total > 0);
                    let page = PageRequest::new(Some(500), None).unwrap();
                    let users = |at| {
                        let (db, viewer, page) = (db.clone(), viewer.clone(), page.clone());
                        async move {
                            status::users_page(&db, &viewer, f, at, None, &page)
                                .await
                                .unwrap()
                                .items
                                .into_iter()
                                .map(|(_, u)| (u.user_id, format!("{:?}", u.state), u.items.len()))
                                .collect::<Vec<_>>()
                        }
                    };
                    assert_eq!(
                        users(current).await,
                        users(history).await,
                        "{label}: users for {f:?}, warning {warning}"
                    );
                }
            }
            assert!(nonempty > 10, "{label}: the comparison saw data");
        }
    };
    check("the demo as seeded".into()).await;

    // Time passes without the scheduler: the summaries' absolute dates stay right.
    app.clock.advance(chrono::Duration::days(20));
    check("20 days later, no tick".into()).await;
    app.clock.advance(chrono::Duration::days(200));
    check("220 days later, no tick".into()).await;
    scheduler::tick(&app.state).await.unwrap();
    check("220 days later, after a tick".into()).await;

    // People move and complete courses.
    let open = app
        .ok(
            "{ assignments(first: 40, filter: { status: [ASSIGNED] }) { nodes { id user { id } } } }",
            json!({}),
            &app.admin,
        )
        .await;
    let nodes = open["assignments"]["nodes"].as_array().unwrap().clone();
    assert!(nodes.len() >= 20, "the demo has open assignments");
    for (i, n) in nodes.iter().enumerate() {
        if i % 2 == 0 {
            app.ok(
                "mutation($a: ID!) { recordCompletion(input: { assignmentId: $a }) { completion { id } } }",
                json!({ "a": n["id"] }),
                &app.admin,
            )
            .await;
        } else {
            let g = groups[i % groups.len()];
            app.ok(
                "mutation($u: ID!, $g: ID!) { addMembership(input: { userId: $u, groupId: $g }) { assignmentsCreated { id } } }",
                json!({ "u": n["user"]["id"], "g": g }),
                &app.admin,
            )
            .await;
        }
    }
    check("after completions and transfers".into()).await;
    app.clock.advance(chrono::Duration::days(400));
    scheduler::tick(&app.state).await.unwrap();
    check("a year later, after a tick".into()).await;
}
