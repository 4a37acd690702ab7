//! Career pathways (every shortest route, cycles included), target roles, course skills and
//! recommendations.

use serde_json::{Value, json};
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use crate::helpers::{TestApp, assert_code, id};

const PATHS: &str = "query($f: ID!, $t: ID!, $u: ID) {
  careerPaths(fromRoleId: $f, toRoleId: $t, userId: $u) {
    steps roles { name } matches { role { name } percent }
  }
}";

fn route_names(data: &Value) -> Vec<Vec<String>> {
    data["careerPaths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn career_paths_are_every_shortest_route_even_with_cycles() {
    let app = TestApp::spawn().await;
    let mut r = std::collections::HashMap::new();
    for name in [
        "Rep",
        "Senior Rep",
        "Team Lead",
        "Sales Manager",
        "Director",
        "Analyst",
        "Island",
    ] {
        r.insert(name, app.role(name, None).await);
    }
    // Rep → Senior Rep → Sales Manager → Director; Rep → Team Lead → Sales Manager;
    // a cycle Sales Manager → Rep; Analyst → Director.
    for (from, to) in [
        ("Rep", "Senior Rep"),
        ("Senior Rep", "Sales Manager"),
        ("Rep", "Team Lead"),
        ("Team Lead", "Sales Manager"),
        ("Sales Manager", "Director"),
        ("Sales Manager", "Rep"),
        ("Analyst", "Director"),
    ] {
        app.link(r[from], r[to]).await;
    }
    let q = |from: &str, to: &str| json!({ "f": r[from].to_string(), "t": r[to].to_string() });
    let data = app.ok(PATHS, q("Rep", "Director"), &app.admin).await;
    assert_eq!(
        route_names(&data),
        vec![
            vec!["Rep", "Senior Rep", "Sales Manager", "Director"],
            vec!["Rep", "Team Lead", "Sales Manager", "Director"],
        ]
    );
    assert_eq!(data["careerPaths"][0]["steps"], 3);
    assert!(data["careerPaths"][0]["matches"].is_null(), "no userId");
    // Around the cycle: Sales Manager → Rep is one step.
    let data = app.ok(PATHS, q("Sales Manager", "Rep"), &app.admin).await;
    assert_eq!(route_names(&data), vec![vec!["Sales Manager", "Rep"]]);
    let data = app
        .ok(PATHS, q("Senior Rep", "Team Lead"), &app.admin)
        .await;
    assert_eq!(
        route_names(&data),
        vec![vec!["Senior Rep", "Sales Manager", "Rep", "Team Lead"]]
    );
    // No route: an empty list. Against the links' direction: none either.
    let data = app.ok(PATHS, q("Rep", "Island"), &app.admin).await;
    assert_eq!(data["careerPaths"], json!([]));
    let data = app.ok(PATHS, q("Director", "Analyst"), &app.admin).await;
    assert_eq!(data["careerPaths"], json!([]));
    // The same role at both ends: one route of no steps.
    let data = app.ok(PATHS, q("Rep", "Rep"), &app.admin).await;
    assert_eq!(data["careerPaths"][0]["steps"], 0);
    assert_eq!(route_names(&data), vec![vec!["Rep"]]);
}

#[tokio::test]
async fn at_most_five_routes_come_back() {
    let app = TestApp::spawn().await;
    let start = app.role("Start", None).await;
    let goal = app.role("Goal", None).await;
    for i in 0..7 {
        let mid = app.role(&format!("Middle {i}"), None).await;
        app.link(start, mid).await;
        app.link(mid, goal).await;
    }
    let data = app
        .ok(
            PATHS,
            json!({ "f": start.to_string(), "t": goal.to_string() }),
            &app.admin,
        )
        .await;
    let routes = route_names(&data);
    assert_eq!(routes.len(), 5);
    assert_eq!(routes[0], vec!["Start", "Middle 0", "Goal"]);
    assert!(routes.iter().all(|r| r.len() == 3));
}

#[tokio::test]
async fn career_paths_carry_the_users_match_for_each_role() {
    let app = TestApp::spawn().await;
    let s = app.skill("Selling").await;
    let a = app.role("Rep", None).await;
    let b = app.role("Senior Rep", None).await;
    app.set_role_skills(a, &[(s, Some(2))]).await;
    app.set_role_skills(b, &[(s, Some(4))]).await;
    app.link(a, b).await;
    let u = app.user().await;
    app.rate(u, s, 3).await;
    let data = app
        .ok(
            PATHS,
            json!({ "f": a.to_string(), "t": b.to_string(), "u": u.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["careerPaths"][0]["matches"],
        json!([{ "role": { "name": "Rep" }, "percent": 100 }, { "role": { "name": "Senior Rep" }, "percent": 0 }])
    );
    // Unknown and foreign ids.
    let ghost = Uuid::now_v7().to_string();
    assert_code(
        &app.execute(PATHS, json!({ "f": ghost, "t": b.to_string() }), &app.admin)
            .await,
        "NOT_FOUND",
    );
    let (_, other) = app.other_org().await;
    assert_code(
        &app.execute(
            PATHS,
            json!({ "f": a.to_string(), "t": b.to_string() }),
            &other,
        )
        .await,
        "NOT_FOUND",
    );
    let learner = app.token(app.user().await, OrgRole::Learner);
    // Roles outside a learner's view are unknown to them.
    assert_code(
        &app.execute(
            PATHS,
            json!({ "f": a.to_string(), "t": b.to_string() }),
            &learner,
        )
        .await,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn a_learner_routes_only_through_roles_they_may_browse() {
    let app = TestApp::spawn().await;
    let open = app.category("Open", true).await;
    let a = app.role("A", Some(open)).await;
    let hidden = app.role("Hidden", None).await;
    let b = app.role("B", Some(open)).await;
    app.link(a, hidden).await;
    app.link(hidden, b).await;
    let learner = app.token(app.user().await, OrgRole::Learner);
    let vars = json!({ "f": a.to_string(), "t": b.to_string() });
    let data = app.ok(PATHS, vars.clone(), &learner).await;
    assert_eq!(data["careerPaths"], json!([]));
    let data = app.ok(PATHS, vars, &app.admin).await;
    assert_eq!(data["careerPaths"][0]["steps"], 2);
    let data = app
        .ok(
            "query($a: ID!) { role(id: $a) { advancesTo { name } } }",
            json!({ "a": a.to_string() }),
            &learner,
        )
        .await;
    assert_eq!(data["role"]["advancesTo"], json!([]), "Hidden stays hidden");
}

#[tokio::test]
async fn the_viewer_sets_and_clears_their_own_target_role() {
    let app = TestApp::spawn().await;
    let open = app.category("Open", true).await;
    let role = app.role("Data Analyst", Some(open)).await;
    let u = app.user().await;
    let learner = app.token(u, OrgRole::Learner);
    let set = "mutation($i: SetTargetRoleInput!) { setTargetRole(input: $i) { user { id targetRole { name } } } }";
    let data = app
        .ok(
            set,
            json!({ "i": { "roleId": role.to_string() } }),
            &learner,
        )
        .await;
    assert_eq!(
        data["setTargetRole"]["user"],
        json!({ "id": u.to_string(), "targetRole": { "name": "Data Analyst" } })
    );
    let data = app
        .ok(
            "query($u: ID!) { user(id: $u) { targetRole { name } } }",
            json!({ "u": u.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(data["user"]["targetRole"]["name"], "Data Analyst");
    let log = app
        .ok(
            "{ auditLog(filter: { actions: [\"TARGET_ROLE_SET\"] }) { nodes { actorId subjectId } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(
        log["auditLog"]["nodes"],
        json!([{ "actorId": u.to_string(), "subjectId": u.to_string() }])
    );
    let data = app
        .ok(set, json!({ "i": { "roleId": null } }), &learner)
        .await;
    assert!(data["setTargetRole"]["user"]["targetRole"].is_null());
    let before = app.counts().await;
    assert_code(
        &app.execute(
            set,
            json!({ "i": { "roleId": Uuid::now_v7().to_string() } }),
            &learner,
        )
        .await,
        "NOT_FOUND",
    );
    assert_eq!(app.counts().await, before);
}

/// Marks a course completed for a user, the way a completion would record it.
async fn complete(app: &TestApp, user: Uuid, course: Uuid) {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db.write;
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO assignments (id, org_id, user_id, course_id, status, assigned_at, completed_at, changed_seq) VALUES ($1, $2, $3, $4, 'COMPLETED', 0, 1, 0)"
        }
        _ => {
            "INSERT INTO assignments (id, org_id, user_id, course_id, status, assigned_at, completed_at, changed_seq) VALUES (?, ?, ?, ?, 'COMPLETED', 0, 1, 0)"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [
            Uuid::now_v7().into(),
            app.org_id.into(),
            user.into(),
            course.into(),
        ],
    ))
    .await
    .unwrap();
}

async fn course(app: &TestApp, title: &str, minutes: i32, skills: &[(Uuid, i32)]) -> Uuid {
    let list: Vec<Value> = skills
        .iter()
        .map(|(s, l)| json!({ "skillId": s.to_string(), "level": l }))
        .collect();
    let data = app
        .ok(
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id skills { skill { id } level } } } }",
            json!({ "i": { "title": title, "durationMinutes": minutes, "skills": list } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["createCourse"]["course"]["skills"]
            .as_array()
            .unwrap()
            .len(),
        skills.len()
    );
    id(&data["createCourse"]["course"]["id"])
}

#[tokio::test]
async fn recommendations_close_the_most_gaps_shortest_first_and_skip_completed_courses() {
    let app = TestApp::spawn().await;
    let [sql, stats, viz, excel] = [
        app.skill("SQL").await,
        app.skill("Statistics").await,
        app.skill("Visualisation").await,
        app.skill("Excel").await,
    ];
    let open = app.category("Open", true).await;
    let target = app.role("Data Analyst", Some(open)).await;
    app.set_role_skills(
        target,
        &[
            (sql, Some(3)),
            (stats, Some(2)),
            (viz, None),
            (excel, Some(2)),
        ],
    )
    .await;
    let primary = app.role("Clerk", Some(open)).await;
    app.set_role_skills(primary, &[(excel, Some(4))]).await;
    let u = app.user().await;
    app.rate(u, excel, 3).await; // meets Excel:2 for the target, not Excel:4 for the clerk role
    course(&app, "SQL and statistics", 120, &[(sql, 3), (stats, 2)]).await;
    course(&app, "Charts", 30, &[(viz, 1)]).await;
    course(&app, "SQL bootcamp", 600, &[(sql, 5)]).await;
    course(&app, "SQL intro", 20, &[(sql, 1)]).await; // too low to close the SQL gap
    course(&app, "Excel pro", 60, &[(excel, 5)]).await;
    let stats_only = course(&app, "Statistics 101", 45, &[(stats, 3)]).await;
    complete(&app, u, stats_only).await;

    let learner = app.token(u, OrgRole::Learner);
    let q = "query($u: ID, $first: Int) { recommendations(userId: $u, first: $first) {
               course { title } closes { skill { name } requiredLevel currentLevel } } }";
    // Without a target, the primary role (Clerk) drives them.
    app.ok(
        "mutation($i: SetPrimaryRoleInput!) { setPrimaryRole(input: $i) { user { id } } }",
        json!({ "i": { "userId": u.to_string(), "roleId": primary.to_string() } }),
        &app.admin,
    )
    .await;
    let data = app.ok(q, json!({}), &learner).await;
    assert_eq!(
        data["recommendations"],
        json!([{ "course": { "title": "Excel pro" }, "closes": [{ "skill": { "name": "Excel" }, "requiredLevel": 4, "currentLevel": 3 }] }])
    );
    app.ok(
        "mutation($i: SetTargetRoleInput!) { setTargetRole(input: $i) { user { id } } }",
        json!({ "i": { "roleId": target.to_string() } }),
        &learner,
    )
    .await;
    let data = app.ok(q, json!({}), &learner).await;
    let titles: Vec<&str> = data["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["course"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["SQL and statistics", "Charts", "SQL bootcamp"]);
    assert_eq!(
        data["recommendations"][0]["closes"],
        json!([
            { "skill": { "name": "SQL" }, "requiredLevel": 3, "currentLevel": null },
            { "skill": { "name": "Statistics" }, "requiredLevel": 2, "currentLevel": null }
        ])
    );
    let data = app
        .ok(q, json!({ "u": u.to_string(), "first": 1 }), &app.admin)
        .await;
    assert_eq!(data["recommendations"].as_array().unwrap().len(), 1);
    // Once the gaps are closed, nothing is left to recommend for them.
    app.rate(u, sql, 3).await;
    app.rate(u, stats, 2).await;
    app.rate(u, viz, 1).await;
    let data = app.ok(q, json!({}), &learner).await;
    assert_eq!(data["recommendations"], json!([]));
    // Someone else's recommendations: NOT_FOUND for a learner (no existence leak).
    let colleague = app.token(app.user().await, OrgRole::Learner);
    assert_code(
        &app.execute(q, json!({ "u": u.to_string() }), &colleague)
            .await,
        "NOT_FOUND",
    );
    // No target and no primary role: nothing to aim at.
    let data = app.ok(q, json!({}), &colleague).await;
    assert_eq!(data["recommendations"], json!([]));
}

#[tokio::test]
async fn course_skills_are_validated_and_replaced() {
    let app = TestApp::spawn().await;
    let sql = app.skill("SQL").await;
    let stats = app.skill("Statistics").await;
    let c = course(&app, "Basics", 10, &[(sql, 2)]).await;
    let create = "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }";
    let before = app.counts().await;
    for (skills, code) in [
        (
            json!([{ "skillId": sql.to_string(), "level": 6 }]),
            "VALIDATION",
        ),
        (
            json!([{ "skillId": sql.to_string(), "level": 0 }]),
            "VALIDATION",
        ),
        (
            json!([{ "skillId": sql.to_string(), "level": 1 }, { "skillId": sql.to_string(), "level": 2 }]),
            "VALIDATION",
        ),
        (
            json!([{ "skillId": Uuid::now_v7().to_string(), "level": 1 }]),
            "NOT_FOUND",
        ),
    ] {
        assert_code(
            &app.execute(
                create,
                json!({ "i": { "title": "X", "skills": skills } }),
                &app.admin,
            )
            .await,
            code,
        );
    }
    assert_eq!(app.counts().await, before);
    let data = app
        .ok(
            "mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { course { skills { skill { name } level } } } }",
            json!({ "i": { "id": c.to_string(), "skills": [{ "skillId": stats.to_string(), "level": 3 }] } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["updateCourse"]["course"]["skills"],
        json!([{ "skill": { "name": "Statistics" }, "level": 3 }])
    );
}
