//! The role catalogue: categories (featured ones for learners), full roles with required
//! skills, career links, updates and deletion, and who may browse or edit what.

use serde_json::json;
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use crate::helpers::{TestApp, assert_code, id};

const SET_SKILLS: &str = "mutation($i: SetRoleSkillsInput!) { setRoleSkills(input: $i) { role { skills { skill { name } level } } } }";
const LINK: &str =
    "mutation($i: LinkRolesInput!) { linkRoles(input: $i) { fromRole { name } toRole { name } } }";
const UNLINK: &str = "mutation($i: LinkRolesInput!) { unlinkRoles(input: $i) { fromRole { name } toRole { name } } }";
const DELETE: &str =
    "mutation($i: DeleteRoleInput!) { deleteRole(input: $i) { role { id name } } }";

fn link_vars(from: Uuid, to: Uuid) -> serde_json::Value {
    json!({ "i": { "fromRoleId": from.to_string(), "toRoleId": to.to_string() } })
}

#[tokio::test]
async fn roles_carry_responsibilities_category_skills_and_ladder() {
    let app = TestApp::spawn().await;
    let sales = app.category("Sales", true).await;
    let data = app
        .ok(
            "mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id name responsibilities category { name featured } } } }",
            json!({ "i": {
                "name": "Sales Representative",
                "description": "Finds and closes new business",
                "responsibilities": ["Prospect", " ", "Close deals "],
                "categoryId": sales.to_string()
            } }),
            &app.admin,
        )
        .await;
    let rep = id(&data["createRole"]["role"]["id"]);
    assert_eq!(
        data["createRole"]["role"]["responsibilities"],
        json!(["Prospect", "Close deals"])
    );
    assert_eq!(
        data["createRole"]["role"]["category"],
        json!({ "name": "Sales", "featured": true })
    );
    let senior = app.role("Senior Sales Representative", Some(sales)).await;
    let manager = app.role("Sales Manager", Some(sales)).await;
    let crm = app.skill("CRM").await;
    let negotiation = app.skill("Negotiation").await;
    let data = app
        .ok(
            SET_SKILLS,
            json!({ "i": { "id": rep.to_string(), "skills": [
                { "skillId": negotiation.to_string(), "level": 3 },
                { "skillId": crm.to_string() }
            ] } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["setRoleSkills"]["role"]["skills"],
        json!([{ "skill": { "name": "Negotiation" }, "level": 3 }, { "skill": { "name": "CRM" }, "level": null }])
    );
    let data = app.ok(LINK, link_vars(rep, senior), &app.admin).await;
    assert_eq!(
        data["linkRoles"],
        json!({ "fromRole": { "name": "Sales Representative" }, "toRole": { "name": "Senior Sales Representative" } })
    );
    app.link(senior, manager).await;
    let data = app
        .ok(
            "query($id: ID!) { role(id: $id) { advancesFrom { name } advancesTo { name } } }",
            json!({ "id": senior.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["role"],
        json!({ "advancesFrom": [{ "name": "Sales Representative" }], "advancesTo": [{ "name": "Sales Manager" }] })
    );

    // Update: omitted fields stay, null clears.
    let data = app
        .ok(
            "mutation($i: UpdateRoleInput!) { updateRole(input: $i) { role { name description responsibilities category { name } } } }",
            json!({ "i": { "id": rep.to_string(), "name": "Sales Rep", "categoryId": null, "responsibilities": ["Prospect"] } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["updateRole"]["role"],
        json!({ "name": "Sales Rep", "description": "Finds and closes new business", "responsibilities": ["Prospect"], "category": null })
    );

    // Filters: category, required skill, search; categories list their roles.
    let data = app
        .ok(
            "query($c: ID, $s: ID) { inSales: roles(filter: { categoryId: $c }) { name }
               withCrm: roles(filter: { skillId: $s }) { name }
               found: roles(filter: { search: \"manager\" }) { name }
               roleCategories { name roles { name } } }",
            json!({ "c": sales.to_string(), "s": crm.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["inSales"],
        json!([{ "name": "Sales Manager" }, { "name": "Senior Sales Representative" }])
    );
    assert_eq!(data["withCrm"], json!([{ "name": "Sales Rep" }]));
    assert_eq!(data["found"], json!([{ "name": "Sales Manager" }]));
    assert_eq!(
        data["roleCategories"][0]["roles"].as_array().unwrap().len(),
        2
    );

    // Unlink, then the ladder is shorter.
    app.ok(UNLINK, link_vars(senior, manager), &app.admin).await;
    let data = app
        .ok(
            "query($id: ID!) { role(id: $id) { advancesTo { name } } }",
            json!({ "id": senior.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(data["role"]["advancesTo"], json!([]));
}

#[tokio::test]
async fn bad_catalogue_input_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let a = app.role("Picker", None).await;
    let b = app.role("Packer", None).await;
    let skill = app.skill("Lifting").await;
    app.link(a, b).await;
    app.category("Warehouse", false).await;
    let learner = app.token(app.user().await, OrgRole::Learner);
    let manager = app.token(app.user().await, OrgRole::Manager);
    let before = app.counts().await;
    let skills = |level: serde_json::Value| json!({ "i": { "id": a.to_string(), "skills": [{ "skillId": skill.to_string(), "level": level }] } });
    // A level outside the scale: VALIDATION.
    for level in [json!(0), json!(6)] {
        assert_code(
            &app.execute(SET_SKILLS, skills(level), &app.admin).await,
            "VALIDATION",
        );
    }
    // The same skill twice: VALIDATION; an unknown skill: NOT_FOUND.
    assert_code(
        &app.execute(
            SET_SKILLS,
            json!({ "i": { "id": a.to_string(), "skills": [
                { "skillId": skill.to_string(), "level": 1 }, { "skillId": skill.to_string(), "level": 2 }
            ] } }),
            &app.admin,
        )
        .await,
        "VALIDATION",
    );
    assert_code(
        &app.execute(
            SET_SKILLS,
            json!({ "i": { "id": a.to_string(), "skills": [{ "skillId": Uuid::now_v7().to_string() }] } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    // Linking a role to itself: VALIDATION; a duplicate link: CONFLICT; no link: NOT_FOUND.
    assert_code(
        &app.execute(LINK, link_vars(a, a), &app.admin).await,
        "VALIDATION",
    );
    assert_code(
        &app.execute(LINK, link_vars(a, b), &app.admin).await,
        "CONFLICT",
    );
    assert_code(
        &app.execute(UNLINK, link_vars(b, a), &app.admin).await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(LINK, link_vars(a, Uuid::now_v7()), &app.admin)
            .await,
        "NOT_FOUND",
    );
    // Names: taken (any case), empty; categories likewise.
    assert_code(
        &app.execute(
            "mutation { updateRole(input: { id: \"%\" }) { role { id } } }",
            json!({}),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            "mutation($i: UpdateRoleInput!) { updateRole(input: $i) { role { id } } }",
            json!({ "i": { "id": a.to_string(), "name": "PACKER" } }),
            &app.admin,
        )
        .await,
        "CONFLICT",
    );
    assert_code(
        &app.execute(
            "mutation { createRoleCategory(input: { name: \"warehouse\" }) { roleCategory { id } } }",
            json!({}),
            &app.admin,
        )
        .await,
        "CONFLICT",
    );
    assert_code(
        &app.execute(
            "mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id } } }",
            json!({ "i": { "name": "Loader", "categoryId": Uuid::now_v7().to_string() } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            "mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id } } }",
            json!({ "i": { "name": "Loader", "responsibilities": ["x".repeat(1001)] } }),
            &app.admin,
        )
        .await,
        "VALIDATION",
    );
    // Learners and managers edit nothing.
    for token in [&learner, &manager] {
        assert_code(
            &app.execute(SET_SKILLS, skills(json!(2)), token).await,
            "FORBIDDEN",
        );
        assert_code(
            &app.execute(LINK, link_vars(b, a), token).await,
            "FORBIDDEN",
        );
        assert_code(
            &app.execute(
                "mutation { createRoleCategory(input: { name: \"Mine\" }) { roleCategory { id } } }",
                json!({}),
                token,
            )
            .await,
            "FORBIDDEN",
        );
        assert_code(
            &app.execute(DELETE, json!({ "i": { "id": a.to_string() } }), token)
                .await,
            "FORBIDDEN",
        );
    }
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn deleting_a_role_is_for_admins_and_clears_its_holders() {
    let app = TestApp::spawn().await;
    let a = app.role("Picker", None).await;
    let b = app.role("Packer", None).await;
    let c = app.role("Loader", None).await;
    let skill = app.skill("Lifting").await;
    app.set_role_skills(a, &[(skill, Some(2))]).await;
    app.link(b, a).await;
    app.link(a, c).await;
    let u = app.user().await;
    app.ok(
        "mutation($i: SetPrimaryRoleInput!) { setPrimaryRole(input: $i) { user { id } } }",
        json!({ "i": { "userId": u.to_string(), "roleId": a.to_string() } }),
        &app.admin,
    )
    .await;
    let learner = app.token(u, OrgRole::Learner);
    let hr = app.token(app.user().await, OrgRole::Hr);
    let before = app.counts().await;
    assert_code(
        &app.execute(DELETE, json!({ "i": { "id": a.to_string() } }), &hr)
            .await,
        "FORBIDDEN",
    );
    // A rule that targets the role keeps it alive.
    let course = app
        .ok(
            "mutation { createCourse(input: { title: \"Lifting basics\" }) { course { id } } }",
            json!({}),
            &app.admin,
        )
        .await;
    let course = id(&course["createCourse"]["course"]["id"]);
    let rule = app
        .ok(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
            json!({ "i": { "name": "Pickers", "audience": { "roleId": a.to_string() }, "courses": [{ "courseId": course.to_string() }] } }),
            &app.admin,
        )
        .await;
    let rule = id(&rule["createRule"]["rule"]["id"]);
    let with_rule = app.counts().await;
    assert_code(
        &app.execute(DELETE, json!({ "i": { "id": a.to_string() } }), &app.admin)
            .await,
        "CONFLICT",
    );
    assert_eq!(app.counts().await, with_rule);
    assert_ne!(with_rule, before);
    app.ok(
        "mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { rule { id } } }",
        json!({ "i": { "id": rule.to_string() } }),
        &app.admin,
    )
    .await;

    let data = app
        .ok(DELETE, json!({ "i": { "id": a.to_string() } }), &app.admin)
        .await;
    assert_eq!(data["deleteRole"]["role"]["name"], "Picker");
    let data = app
        .ok(
            "query($a: ID!, $b: ID!) { role(id: $a) { id } b: role(id: $b) { advancesTo { id } } viewer { primaryRole { id } } }",
            json!({ "a": a.to_string(), "b": b.to_string() }),
            &learner,
        )
        .await;
    assert!(data["role"].is_null());
    assert!(data["viewer"]["primaryRole"].is_null());
    let data = app
        .ok(
            "query($b: ID!) { role(id: $b) { advancesTo { id } } }",
            json!({ "b": b.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(data["role"]["advancesTo"], json!([]));
    assert_eq!(app.rows("role_links").await, 0);
    assert_eq!(app.rows("role_skills").await, 0);
    // The person keeps the skill on their profile.
    assert_eq!(app.rows("user_skills").await, 1);
    assert_code(
        &app.execute(DELETE, json!({ "i": { "id": a.to_string() } }), &app.admin)
            .await,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn learners_and_managers_browse_featured_roles_plus_their_own() {
    let app = TestApp::spawn().await;
    let featured = app.category("Careers", true).await;
    let hidden = app.category("Internal", false).await;
    let open = app.role("Analyst", Some(featured)).await;
    let secret = app.role("Auditor", Some(hidden)).await;
    let mine = app.role("Clerk", None).await;
    let other = app.role("Courier", None).await;
    let u = app.user().await;
    app.ok(
        "mutation($i: SetPrimaryRoleInput!) { setPrimaryRole(input: $i) { user { id } } }",
        json!({ "i": { "userId": u.to_string(), "roleId": mine.to_string() } }),
        &app.admin,
    )
    .await;
    let learner = app.token(u, OrgRole::Learner);
    let manager = app.token(app.user().await, OrgRole::Manager);
    let hr = app.token(app.user().await, OrgRole::Hr);
    let names = |data: &serde_json::Value| -> Vec<String> {
        data["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let q = "{ roles { name } roleCategories { name } }";
    let data = app.ok(q, json!({}), &learner).await;
    assert_eq!(names(&data), vec!["Analyst", "Clerk"]);
    assert_eq!(data["roleCategories"], json!([{ "name": "Careers" }]));
    let data = app.ok(q, json!({}), &manager).await;
    assert_eq!(names(&data), vec!["Analyst"]);
    let data = app.ok(q, json!({}), &hr).await;
    assert_eq!(names(&data), vec!["Analyst", "Auditor", "Clerk", "Courier"]);

    let by_id = "query($id: ID!) { role(id: $id) { name } }";
    for (role, visible) in [(open, true), (secret, false), (mine, true), (other, false)] {
        let data = app
            .ok(by_id, json!({ "id": role.to_string() }), &learner)
            .await;
        assert_eq!(!data["role"].is_null(), visible, "{role}: {data}");
    }
    // A target role must be browsable; then it is browsable as one's own.
    let target = "mutation($i: SetTargetRoleInput!) { setTargetRole(input: $i) { user { targetRole { name } } } }";
    let before = app.counts().await;
    assert_code(
        &app.execute(
            target,
            json!({ "i": { "roleId": secret.to_string() } }),
            &learner,
        )
        .await,
        "NOT_FOUND",
    );
    assert_eq!(app.counts().await, before);
    // Featuring the category opens it up.
    app.ok(
        "mutation($i: UpdateRoleCategoryInput!) { updateRoleCategory(input: $i) { roleCategory { featured } } }",
        json!({ "i": { "id": hidden.to_string(), "featured": true } }),
        &app.admin,
    )
    .await;
    let data = app
        .ok(
            target,
            json!({ "i": { "roleId": secret.to_string() } }),
            &learner,
        )
        .await;
    assert_eq!(
        data["setTargetRole"]["user"]["targetRole"]["name"],
        "Auditor"
    );
}

#[tokio::test]
async fn another_organizations_roles_are_invisible() {
    let app = TestApp::spawn().await;
    let a = app.role("Picker", None).await;
    let (_, other) = app.other_org().await;
    let data = app
        .ok(
            "mutation { createRole(input: { name: \"Picker\" }) { role { id } } }",
            json!({}),
            &other,
        )
        .await;
    let theirs = id(&data["createRole"]["role"]["id"]);
    let before = app.counts().await;
    assert_code(
        &app.execute(LINK, link_vars(a, theirs), &app.admin).await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            SET_SKILLS,
            json!({ "i": { "id": theirs.to_string(), "skills": [] } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            DELETE,
            json!({ "i": { "id": theirs.to_string() } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            "mutation($i: SetTargetRoleInput!) { setTargetRole(input: $i) { user { id } } }",
            json!({ "i": { "roleId": theirs.to_string() } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    assert_eq!(app.counts().await, before);
    let data = app
        .ok(
            "query($id: ID!) { role(id: $id) { id } roles { name } }",
            json!({ "id": theirs.to_string() }),
            &app.admin,
        )
        .await;
    assert!(data["role"].is_null());
    assert_eq!(data["roles"], json!([{ "name": "Picker" }]));
}
