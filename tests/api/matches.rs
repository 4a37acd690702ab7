//! Match scores: met ÷ required with gaps, roles without skills scoring null and sorting last,
//! filters and pages of `roleMatches`, `role.match`, `role.userMatches`, and who may see whose.

use serde_json::{Value, json};
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use crate::helpers::{TestApp, assert_code};

const MATCHES: &str = "query($u: ID, $f: RoleMatchFilter, $first: Int, $after: String) {
  roleMatches(userId: $u, filter: $f, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { role { name } percent met required }
  }
}";

/// The DESIGN.md example: a role requiring five skills, a user meeting three of them.
struct Example {
    app: TestApp,
    user: Uuid,
    role: Uuid,
    skills: Vec<Uuid>,
}

async fn example() -> Example {
    let app = TestApp::spawn().await;
    let mut skills = Vec::new();
    for name in ["A", "B", "C", "D", "E"] {
        skills.push(app.skill(&format!("Skill {name}")).await);
    }
    let role = app.role("Analyst", None).await;
    app.set_role_skills(
        role,
        &[
            (skills[0], Some(3)),
            (skills[1], Some(2)),
            (skills[2], None),
            (skills[3], Some(4)),
            (skills[4], Some(1)),
        ],
    )
    .await;
    let user = app.user().await;
    // Met: A (3 ≥ 3), B (5 ≥ 2), C (any rating). Not met: D (2 < 4), E (unrated).
    app.rate(user, skills[0], 3).await;
    app.rate(user, skills[1], 5).await;
    app.rate(user, skills[2], 1).await;
    app.rate(user, skills[3], 2).await;
    Example {
        app,
        user,
        role,
        skills,
    }
}

#[tokio::test]
async fn five_required_three_met_is_sixty_percent_with_two_gaps() {
    let Example {
        app,
        user,
        role,
        skills,
    } = example().await;
    let data = app
        .ok(
            "query($r: ID!, $u: ID) { role(id: $r) { match(userId: $u) {
                 percent met required role { name } user { id }
                 gaps { skill { id name } requiredLevel currentLevel } } } }",
            json!({ "r": role.to_string(), "u": user.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["role"]["match"],
        json!({
            "percent": 60, "met": 3, "required": 5,
            "role": { "name": "Analyst" }, "user": { "id": user.to_string() },
            "gaps": [
                { "skill": { "id": skills[3].to_string(), "name": "Skill D" }, "requiredLevel": 4, "currentLevel": 2 },
                { "skill": { "id": skills[4].to_string(), "name": "Skill E" }, "requiredLevel": 1, "currentLevel": null }
            ]
        })
    );
    // The same through roleMatches, as the user themself.
    let token = app.token(user, OrgRole::Learner);
    let featured = app.category("Open", true).await;
    app.ok(
        "mutation($i: UpdateRoleInput!) { updateRole(input: $i) { role { id } } }",
        json!({ "i": { "id": role.to_string(), "categoryId": featured.to_string() } }),
        &app.admin,
    )
    .await;
    let data = app.ok(MATCHES, json!({}), &token).await;
    assert_eq!(
        data["roleMatches"]["nodes"],
        json!([{ "role": { "name": "Analyst" }, "percent": 60, "met": 3, "required": 5 }])
    );
    // Raising D to 4 and rating E closes the gaps.
    app.rate(user, skills[3], 4).await;
    app.rate(user, skills[4], 1).await;
    let data = app.ok(MATCHES, json!({}), &token).await;
    assert_eq!(data["roleMatches"]["nodes"][0]["percent"], 100);
}

#[tokio::test]
async fn role_matches_sort_best_first_with_unscored_roles_last_and_filter() {
    let Example {
        app,
        user,
        role: _,
        skills,
    } = example().await;
    let cat = app.category("Finance", false).await;
    // Lead: 1 of 3 met → 33. Clerk: 2 of 2 → 100. Intern, Courier: no skills → null.
    let lead = app.role("Lead Analyst", Some(cat)).await;
    app.set_role_skills(
        lead,
        &[
            (skills[0], Some(5)),
            (skills[1], None),
            (skills[3], Some(5)),
        ],
    )
    .await;
    let clerk = app.role("Clerk", Some(cat)).await;
    app.set_role_skills(clerk, &[(skills[0], Some(1)), (skills[2], Some(1))])
        .await;
    app.role("Intern", None).await;
    app.role("Courier", None).await;
    let u = user.to_string();
    let all = app.ok(MATCHES, json!({ "u": u }), &app.admin).await;
    let rows: Vec<(String, Value)> = all["roleMatches"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["role"]["name"].as_str().unwrap().to_string(),
                n["percent"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("Clerk".to_string(), json!(100)),
            ("Analyst".to_string(), json!(60)),
            ("Lead Analyst".to_string(), json!(33)),
            ("Courier".to_string(), Value::Null),
            ("Intern".to_string(), Value::Null),
        ]
    );
    assert_eq!(all["roleMatches"]["totalCount"], 5);

    // Pages of two, following cursors, give the same order.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .ok(
                MATCHES,
                json!({ "u": u, "first": 2, "after": after }),
                &app.admin,
            )
            .await;
        for n in page["roleMatches"]["nodes"].as_array().unwrap() {
            seen.push(n["role"]["name"].as_str().unwrap().to_string());
        }
        if page["roleMatches"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["roleMatches"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_string);
    }
    assert_eq!(
        seen,
        rows.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    );

    let names = |data: &Value| -> Vec<String> {
        data["roleMatches"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["role"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let filtered = |f: Value| {
        let app = &app;
        let u = u.clone();
        async move { app.ok(MATCHES, json!({ "u": u, "f": f }), &app.admin).await }
    };
    assert_eq!(
        names(&filtered(json!({ "categoryId": cat.to_string() })).await),
        vec!["Clerk", "Lead Analyst"]
    );
    assert_eq!(
        names(&filtered(json!({ "skillId": skills[3].to_string() })).await),
        vec!["Analyst", "Lead Analyst"]
    );
    let min = filtered(json!({ "minPercent": 50 })).await;
    assert_eq!(names(&min), vec!["Clerk", "Analyst"]);
    assert_eq!(min["roleMatches"]["totalCount"], 2);
    assert_eq!(
        names(&filtered(json!({ "minPercent": 0 })).await),
        vec!["Clerk", "Analyst", "Lead Analyst"],
        "roles without a score have no percent to pass"
    );
    assert_eq!(
        names(&filtered(json!({ "search": "ANALYST" })).await),
        vec!["Analyst", "Lead Analyst"]
    );
    assert_code(
        &app.execute(
            MATCHES,
            json!({ "u": u, "f": { "minPercent": 101 } }),
            &app.admin,
        )
        .await,
        "VALIDATION",
    );
    assert_code(
        &app.execute(MATCHES, json!({ "u": u, "after": "garbage" }), &app.admin)
            .await,
        "VALIDATION",
    );
}

#[tokio::test]
async fn a_role_without_skills_has_no_score_not_zero() {
    let app = TestApp::spawn().await;
    let role = app.role("Greeter", None).await;
    let u = app.user().await;
    let data = app
        .ok(
            "query($r: ID!, $u: ID) { role(id: $r) { match(userId: $u) { percent met required gaps { requiredLevel } } } }",
            json!({ "r": role.to_string(), "u": u.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["role"]["match"],
        json!({ "percent": null, "met": 0, "required": 0, "gaps": [] })
    );
}

#[tokio::test]
async fn user_matches_rank_people_for_one_role() {
    let Example {
        app,
        user,
        role,
        skills,
    } = example().await;
    let strong = app.user().await;
    for s in &skills {
        app.rate(strong, *s, 5).await;
    }
    let weak = app.user().await;
    app.rate(weak, skills[4], 1).await;
    let data = app
        .ok(
            "query($r: ID!) { role(id: $r) {
                 userMatches(first: 3) { totalCount nodes { user { id } percent } }
                 ready: userMatches(minPercent: 50) { totalCount nodes { user { id } } } } }",
            json!({ "r": role.to_string() }),
            &app.admin,
        )
        .await;
    let top: Vec<(String, Value)> = data["role"]["userMatches"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["user"]["id"].as_str().unwrap().to_string(),
                n["percent"].clone(),
            )
        })
        .collect();
    assert_eq!(
        top,
        vec![
            (strong.to_string(), json!(100)),
            (user.to_string(), json!(60)),
            (weak.to_string(), json!(20)),
        ]
    );
    // Everyone active in the organization is ranked: owner, admin and the three.
    assert_eq!(data["role"]["userMatches"]["totalCount"], 5);
    assert_eq!(data["role"]["ready"]["totalCount"], 2);

    // A learner sees only themself in the ranking.
    let featured = app.category("Open", true).await;
    app.ok(
        "mutation($i: UpdateRoleInput!) { updateRole(input: $i) { role { id } } }",
        json!({ "i": { "id": role.to_string(), "categoryId": featured.to_string() } }),
        &app.admin,
    )
    .await;
    let data = app
        .ok(
            "query($r: ID!) { role(id: $r) { userMatches { nodes { user { id } percent } } } }",
            json!({ "r": role.to_string() }),
            &app.token(weak, OrgRole::Learner),
        )
        .await;
    assert_eq!(
        data["role"]["userMatches"]["nodes"],
        json!([{ "user": { "id": weak.to_string() }, "percent": 20 }])
    );
}

#[tokio::test]
async fn matches_are_private_to_whoever_may_see_the_person() {
    let Example {
        app, user, role, ..
    } = example().await;
    let featured = app.category("Open", true).await;
    app.ok(
        "mutation($i: UpdateRoleInput!) { updateRole(input: $i) { role { id } } }",
        json!({ "i": { "id": role.to_string(), "categoryId": featured.to_string() } }),
        &app.admin,
    )
    .await;
    let colleague = app.token(app.user().await, OrgRole::Learner);
    let boss = app.user().await;
    app.ok(
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
        json!({ "i": { "id": user.to_string(), "managerId": boss.to_string() } }),
        &app.admin,
    )
    .await;
    let boss = app.token(boss, OrgRole::Manager);
    // A colleague's matches: NOT_FOUND, as for anyone out of reach (no existence leak).
    let u = user.to_string();
    assert_code(
        &app.execute(MATCHES, json!({ "u": u }), &colleague).await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            "query($r: ID!, $u: ID) { role(id: $r) { match(userId: $u) { percent } } }",
            json!({ "r": role.to_string(), "u": u }),
            &colleague,
        )
        .await,
        "NOT_FOUND",
    );
    // The manager sees their report's matches (in featured roles).
    let data = app.ok(MATCHES, json!({ "u": u }), &boss).await;
    assert_eq!(data["roleMatches"]["nodes"][0]["percent"], 60);
    // Unknown or other-organization users: NOT_FOUND.
    let (_, other) = app.other_org().await;
    assert_code(
        &app.execute(MATCHES, json!({ "u": u }), &other).await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            MATCHES,
            json!({ "u": Uuid::now_v7().to_string() }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    // The other organization's roleMatches of its own owner see none of our roles.
    let data = app.ok(MATCHES, json!({}), &other).await;
    assert_eq!(data["roleMatches"]["totalCount"], 0);
}

#[tokio::test]
async fn a_primary_role_puts_its_skills_on_the_profile_unrated() {
    let app = TestApp::spawn().await;
    let lifting = app.skill("Lifting").await;
    let driving = app.skill("Driving").await;
    let role = app.role("Loader", None).await;
    app.set_role_skills(role, &[(lifting, Some(2)), (driving, None)])
        .await;
    let u = app.user().await;
    app.rate(u, driving, 3).await;
    let data = app
        .ok(
            "mutation($i: SetPrimaryRoleInput!) { setPrimaryRole(input: $i) {
                 user { primaryRole { name } skills { skill { name } level source ratedAt } } } }",
            json!({ "i": { "userId": u.to_string(), "roleId": role.to_string() } }),
            &app.admin,
        )
        .await;
    let user = &data["setPrimaryRole"]["user"];
    assert_eq!(user["primaryRole"]["name"], "Loader");
    assert_eq!(user["skills"][0]["skill"]["name"], "Driving");
    assert_eq!(user["skills"][0]["level"], 3, "a rating is kept");
    assert_eq!(
        user["skills"][1],
        json!({ "skill": { "name": "Lifting" }, "level": null, "source": "ROLE", "ratedAt": null })
    );
    let n = app.rows("user_skills").await;
    assert_eq!(n, 2);
}
