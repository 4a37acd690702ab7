//! The assignment engine through the API: every trigger reconciles, reasons explain, the exit
//! policy decides what leaving does, offsets count from entering, and a preview matches the change.

use serde_json::{Value, json};
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use crate::helpers::{TestApp, assert_code, id};

pub const CREATE_RULE: &str = "mutation($i: CreateRuleInput!) { createRule(input: $i) {
    rule { id audienceSize } assignmentsCreated { id status user { id } course { id } unlockAt dueAt } assignmentsWithdrawn { id } } }";
pub const UPDATE_RULE: &str = "mutation($i: UpdateRuleInput!) { updateRule(input: $i) {
    rule { id } assignmentsCreated { id user { id } course { id } } assignmentsWithdrawn { id user { id } course { id } status } } }";

pub async fn course(app: &TestApp, title: &str) -> Uuid {
    let data = app
        .ok(
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
            json!({ "i": { "title": title } }),
            &app.admin,
        )
        .await;
    id(&data["createCourse"]["course"]["id"])
}

pub async fn rule(app: &TestApp, input: Value) -> Value {
    app.ok(CREATE_RULE, json!({ "i": input }), &app.admin).await["createRule"].clone()
}

/// (status, course id) of a user's assignments, sorted.
pub async fn assignments_of(app: &TestApp, user: Uuid) -> Vec<(String, Uuid)> {
    let data = app
        .ok(
            "query($u: ID!) { user(id: $u) { assignments { status course { id } } } }",
            json!({ "u": user.to_string() }),
            &app.admin,
        )
        .await;
    let mut out: Vec<(String, Uuid)> = data["user"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["status"].as_str().unwrap().to_string(),
                id(&a["course"]["id"]),
            )
        })
        .collect();
    out.sort();
    out
}

/// Course ids of a user's open (LOCKED, ASSIGNED, IN_PROGRESS) assignments, sorted.
pub async fn open_courses(app: &TestApp, user: Uuid) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = assignments_of(app, user)
        .await
        .into_iter()
        .filter(|(s, _)| ["LOCKED", "ASSIGNED", "IN_PROGRESS"].contains(&s.as_str()))
        .map(|(_, c)| c)
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v
}

pub async fn events(app: &TestApp) -> Vec<(String, Uuid, Uuid)> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db.read;
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            if crate::helpers::is_postgres() {
                "SELECT kind, user_id, course_id FROM assignment_events WHERE org_id = $1 ORDER BY seq"
            } else {
                "SELECT kind, user_id, course_id FROM assignment_events WHERE org_id = ? ORDER BY seq"
            },
            [app.org_id.into()],
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).unwrap(),
                r.try_get_by_index::<Uuid>(1).unwrap(),
                r.try_get_by_index::<Uuid>(2).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_new_rule_assigns_its_bundle_to_every_current_member_with_reasons_and_events() {
    let app = TestApp::spawn().await;
    let sales = app.group("Sales", None).await;
    let smb = app.group("Sales — SMB", Some(sales)).await;
    let (a, b, outsider) = (app.user().await, app.user().await, app.user().await);
    app.add_member(a, sales).await;
    app.add_member(b, smb).await;
    let crm = course(&app, "CRM walkthrough").await;
    let pricing = course(&app, "Pricing").await;
    let created = rule(
        &app,
        json!({ "name": "Sales onboarding", "audience": { "groupId": sales.to_string() },
                "courses": [{ "courseId": crm.to_string() }, { "courseId": pricing.to_string(), "dueAfterDays": 14 }] }),
    )
    .await;
    assert_eq!(
        created["rule"]["audienceSize"], 2,
        "subgroups count by default"
    );
    assert_eq!(created["assignmentsCreated"].as_array().unwrap().len(), 4);
    assert_eq!(open_courses(&app, a).await, sorted(vec![crm, pricing]));
    assert_eq!(open_courses(&app, b).await, sorted(vec![crm, pricing]));
    assert!(open_courses(&app, outsider).await.is_empty());
    let rule_id = created["rule"]["id"].as_str().unwrap().to_string();

    let data = app
        .ok(
            "query($u: ID!, $c: ID!) { assignments(filter: { userId: $u, courseId: $c }) { totalCount nodes { status assignedAt dueAt unlockAt reasons { rule { id name } since } } } }",
            json!({ "u": a.to_string(), "c": pricing.to_string() }),
            &app.admin,
        )
        .await;
    let node = &data["assignments"]["nodes"][0];
    assert_eq!(node["status"], "ASSIGNED");
    assert_eq!(node["assignedAt"], "2026-03-01T09:00:00Z");
    assert_eq!(
        node["dueAt"], "2026-03-15T09:00:00Z",
        "due 14 days after entering (the rule's creation)"
    );
    assert!(node["unlockAt"].is_null());
    assert_eq!(
        node["reasons"],
        json!([{ "rule": { "id": rule_id, "name": "Sales onboarding" }, "since": "2026-03-01T09:00:00Z" }])
    );

    let ev = events(&app).await;
    assert_eq!(ev.len(), 4);
    assert!(ev.iter().all(|(k, _, _)| k == "ASSIGNED"));
    let data = app.ok("{ auditLog(filter: { actions: [\"RULE_CREATED\", \"ASSIGNMENTS_RECONCILED\"] }) { nodes { action actorId after } } }", json!({}), &app.admin).await;
    let nodes = data["auditLog"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert!(
        nodes
            .iter()
            .all(|n| n["actorId"] == app.admin_id.to_string())
    );
    let reconciled = nodes
        .iter()
        .find(|n| n["action"] == "ASSIGNMENTS_RECONCILED")
        .unwrap();
    assert_eq!(reconciled["after"]["created"], 4);
}

#[tokio::test]
async fn joining_assigns_with_offsets_from_the_back_filled_since_and_leaving_withdraws() {
    let app = TestApp::spawn().await;
    let acme = app.group("Acme", None).await;
    let orientation = course(&app, "Orientation").await;
    let policies = course(&app, "Company policies").await;
    rule(
        &app,
        json!({ "name": "Everyone", "audience": { "groupId": acme.to_string() },
                "courses": [{ "courseId": orientation.to_string(), "dueAfterDays": 7 },
                            { "courseId": policies.to_string(), "unlockAfterDays": 3, "dueAfterDays": 10 }] }),
    )
    .await;
    let u = app.user().await;
    let data = app
        .ok(
            "mutation($i: AddMembershipInput!) { addMembership(input: $i) { assignmentsCreated { status course { title } unlockAt dueAt reasons { since } } } }",
            json!({ "i": { "userId": u.to_string(), "groupId": acme.to_string(), "since": "2026-02-27T09:00:00Z" } }),
            &app.admin,
        )
        .await;
    let created = data["addMembership"]["assignmentsCreated"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(created.len(), 2);
    let by_title = |t: &str| {
        created
            .iter()
            .find(|a| a["course"]["title"] == t)
            .unwrap()
            .clone()
    };
    let o = by_title("Orientation");
    assert_eq!(o["status"], "ASSIGNED");
    assert_eq!(
        o["dueAt"], "2026-03-06T09:00:00Z",
        "HR back-fill: due counts from since"
    );
    assert_eq!(o["reasons"][0]["since"], "2026-02-27T09:00:00Z");
    let p = by_title("Company policies");
    assert_eq!(p["unlockAt"], "2026-03-02T09:00:00Z");
    assert_eq!(p["status"], "LOCKED", "unlocks on day three, still ahead");

    // A member joining without a back-fill counts from now and is LOCKED until day three.
    let v = app.user().await;
    app.add_member(v, acme).await;
    let data = app
        .ok(
            "query($u: ID!) { user(id: $u) { assignments(status: [LOCKED]) { unlockAt } } }",
            json!({ "u": v.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["user"]["assignments"],
        json!([{ "unlockAt": "2026-03-04T09:00:00Z" }])
    );

    let data = app
        .ok(
            "mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { assignmentsWithdrawn { status withdrawnAt course { title } } } }",
            json!({ "i": { "userId": u.to_string(), "groupId": acme.to_string() } }),
            &app.admin,
        )
        .await;
    let withdrawn = data["removeMembership"]["assignmentsWithdrawn"]
        .as_array()
        .unwrap();
    assert_eq!(withdrawn.len(), 2);
    assert!(
        withdrawn
            .iter()
            .all(|a| a["status"] == "WITHDRAWN" && a["withdrawnAt"] == "2026-03-01T09:00:00Z")
    );
    assert!(open_courses(&app, u).await.is_empty());
    let data = app
        .ok("query($u: ID!) { assignments(filter: { userId: $u }) { nodes { reasons { since } ended: reasons(includeEnded: true) { until } } } }", json!({ "u": u.to_string() }), &app.admin)
        .await;
    for n in data["assignments"]["nodes"].as_array().unwrap() {
        assert_eq!(n["reasons"], json!([]));
        assert_eq!(n["ended"], json!([{ "until": "2026-03-01T09:00:00Z" }]));
    }
}

#[tokio::test]
async fn keep_keeps_and_rejoining_requires_the_same_assignment_again() {
    let app = TestApp::spawn().await;
    let g = app.group("Warehouse", None).await;
    let c = course(&app, "Forklift").await;
    rule(&app, json!({ "name": "Forklift", "audience": { "groupId": g.to_string() }, "courses": [{ "courseId": c.to_string() }], "onExit": "KEEP" })).await;
    let u = app.user().await;
    app.add_member(u, g).await;
    let first = app
        .ok(
            "query($u: ID!) { user(id: $u) { assignments { id kept } } }",
            json!({ "u": u.to_string() }),
            &app.admin,
        )
        .await;
    let data = app
        .ok(
            "mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { assignmentsWithdrawn { id } } }",
            json!({ "i": { "userId": u.to_string(), "groupId": g.to_string() } }),
            &app.admin,
        )
        .await;
    assert_eq!(data["removeMembership"]["assignmentsWithdrawn"], json!([]));
    let kept = app
        .ok(
            "query($u: ID!) { user(id: $u) { assignments { id status kept } } }",
            json!({ "u": u.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(kept["user"]["assignments"][0]["kept"], true);
    assert_eq!(kept["user"]["assignments"][0]["status"], "ASSIGNED");
    app.add_member(u, g).await;
    let again = app
        .ok(
            "query($u: ID!) { user(id: $u) { assignments { id kept reasons { since } } } }",
            json!({ "u": u.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        again["user"]["assignments"].as_array().unwrap().len(),
        1,
        "no second assignment"
    );
    assert_eq!(
        again["user"]["assignments"][0]["id"],
        first["user"]["assignments"][0]["id"]
    );
    assert_eq!(again["user"]["assignments"][0]["kept"], false);
    assert_eq!(
        again["user"]["assignments"][0]["reasons"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn several_rules_make_one_assignment_with_several_reasons_and_the_earliest_due_date() {
    let app = TestApp::spawn().await;
    let g1 = app.group("Finance", None).await;
    let g2 = app.group("Customer Success", None).await;
    let c = course(&app, "Payment data handling").await;
    let u = app.user().await;
    app.add_member(u, g1).await;
    app.add_member(u, g2).await;
    rule(&app, json!({ "name": "Finance", "audience": { "groupId": g1.to_string() }, "courses": [{ "courseId": c.to_string(), "dueAfterDays": 30 }] })).await;
    app.clock.advance(chrono::Duration::days(1));
    let second = rule(&app, json!({ "name": "CS", "audience": { "groupId": g2.to_string() }, "courses": [{ "courseId": c.to_string(), "dueAfterDays": 5 }] })).await;
    assert_eq!(
        second["assignmentsCreated"],
        json!([]),
        "the existing assignment gains a reason"
    );
    let data = app
        .ok(
            "query($u: ID!) { user(id: $u) { assignments { dueAt reasons { rule { name } } } } }",
            json!({ "u": u.to_string() }),
            &app.admin,
        )
        .await;
    let a = &data["user"]["assignments"];
    assert_eq!(a.as_array().unwrap().len(), 1);
    assert_eq!(a[0]["reasons"].as_array().unwrap().len(), 2);
    assert_eq!(
        a[0]["dueAt"], "2026-03-07T09:00:00Z",
        "the earliest due date wins"
    );

    // Leaving one of the two groups keeps the assignment (the other rule still requires it).
    let data = app
        .ok("mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { assignmentsWithdrawn { id } } }", json!({ "i": { "userId": u.to_string(), "groupId": g2.to_string() } }), &app.admin)
        .await;
    assert_eq!(data["removeMembership"]["assignmentsWithdrawn"], json!([]));
    let data = app.ok("query($u: ID!) { user(id: $u) { assignments { status dueAt reasons { rule { name } } } } }", json!({ "u": u.to_string() }), &app.admin).await;
    assert_eq!(data["user"]["assignments"][0]["status"], "ASSIGNED");
    assert_eq!(
        data["user"]["assignments"][0]["reasons"],
        json!([{ "rule": { "name": "Finance" } }])
    );
    assert_eq!(
        data["user"]["assignments"][0]["dueAt"],
        "2026-03-31T09:00:00Z"
    );
}

#[tokio::test]
async fn transfer_swaps_bundles_in_one_step() {
    let app = TestApp::spawn().await;
    let smb = app.group("Sales — SMB", None).await;
    let ent = app.group("Sales — Enterprise", None).await;
    let (c_smb, c_ent) = (
        course(&app, "SMB playbook").await,
        course(&app, "Enterprise pricing").await,
    );
    rule(&app, json!({ "name": "SMB", "audience": { "groupId": smb.to_string() }, "courses": [{ "courseId": c_smb.to_string() }] })).await;
    rule(&app, json!({ "name": "ENT", "audience": { "groupId": ent.to_string() }, "courses": [{ "courseId": c_ent.to_string() }] })).await;
    let u = app.user().await;
    app.add_member(u, smb).await;
    let data = app
        .ok(
            "mutation($i: TransferUserInput!) { transferUser(input: $i) { assignmentsCreated { course { id } } assignmentsWithdrawn { course { id } } } }",
            json!({ "i": { "userId": u.to_string(), "fromGroupId": smb.to_string(), "toGroupId": ent.to_string() } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["transferUser"]["assignmentsCreated"],
        json!([{ "course": { "id": c_ent.to_string() } }])
    );
    assert_eq!(
        data["transferUser"]["assignmentsWithdrawn"],
        json!([{ "course": { "id": c_smb.to_string() } }])
    );
    assert_eq!(open_courses(&app, u).await, vec![c_ent]);
}

#[tokio::test]
async fn attributes_job_titles_roles_and_deactivation_move_people_in_and_out() {
    let app = TestApp::spawn().await;
    let c_safety = course(&app, "Site safety").await;
    let c_lead = course(&app, "Leading shifts").await;
    let c_role = course(&app, "Forklift certification").await;
    rule(
        &app,
        json!({ "name": "Chicago warehouse", "audience": { "criteria": [
            { "attribute": "department", "op": "EQ", "values": ["Warehouse"] },
            { "attribute": "location", "op": "IN", "values": ["Chicago", "Gary"] } ] },
            "courses": [{ "courseId": c_safety.to_string() }] }),
    )
    .await;
    rule(
        &app,
        json!({ "name": "Supervisors", "audience": { "criteria": [{ "attribute": "jobTitle", "op": "EQ", "values": ["Supervisor"] }] },
                "courses": [{ "courseId": c_lead.to_string() }] }),
    )
    .await;
    let role = app
        .ok(
            "mutation { createRole(input: { name: \"Forklift Operator\" }) { role { id } } }",
            json!({}),
            &app.admin,
        )
        .await;
    let role = id(&role["createRole"]["role"]["id"]);
    rule(&app, json!({ "name": "Operators", "audience": { "roleId": role.to_string() }, "courses": [{ "courseId": c_role.to_string() }] })).await;

    let data = app
        .ok(
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } assignmentsCreated { course { id } } } }",
            json!({ "i": { "email": "w@test.example", "name": "Wanda", "jobTitle": "Supervisor", "attributes": { "department": "Warehouse", "location": "Gary" } } }),
            &app.admin,
        )
        .await;
    let u = id(&data["createUser"]["user"]["id"]);
    assert_eq!(
        data["createUser"]["assignmentsCreated"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "a hire gets the bundles at once"
    );
    assert_eq!(open_courses(&app, u).await, sorted(vec![c_safety, c_lead]));

    let data = app
        .ok(
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { assignmentsWithdrawn { course { id } } } }",
            json!({ "i": { "id": u.to_string(), "attributes": { "department": "Warehouse", "location": "Denver" }, "jobTitle": "Picker" } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["updateUser"]["assignmentsWithdrawn"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(open_courses(&app, u).await.is_empty());

    let data = app
        .ok(
            "mutation($i: SetPrimaryRoleInput!) { setPrimaryRole(input: $i) { assignmentsCreated { course { id } } } }",
            json!({ "i": { "userId": u.to_string(), "roleId": role.to_string() } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["setPrimaryRole"]["assignmentsCreated"],
        json!([{ "course": { "id": c_role.to_string() } }])
    );

    let data = app
        .ok("mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { assignmentsWithdrawn { course { id } } } }", json!({ "i": { "id": u.to_string() } }), &app.admin)
        .await;
    assert_eq!(
        data["deactivateUser"]["assignmentsWithdrawn"],
        json!([{ "course": { "id": c_role.to_string() } }])
    );
    assert!(
        open_courses(&app, u).await.is_empty(),
        "deactivated users are never in an audience"
    );
}

#[tokio::test]
async fn criteria_operators_follow_their_definitions() {
    let app = TestApp::spawn().await;
    let mk = |attrs: Value| {
        let app = &app;
        async move {
            let tag = Uuid::new_v4().simple().to_string();
            let data = app
                .ok(
                    "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
                    json!({ "i": { "email": format!("c{}@test.example", &tag[..10]), "name": "C", "attributes": attrs } }),
                    &app.admin,
                )
                .await;
            id(&data["createUser"]["user"]["id"])
        }
    };
    let chicago = mk(json!({ "location": "Chicago" })).await;
    let gary = mk(json!({ "location": "Gary" })).await;
    let none = mk(json!({})).await;
    let cases = [
        (
            json!({ "attribute": "location", "op": "EQ", "values": ["Chicago"] }),
            vec![chicago],
        ),
        (
            json!({ "attribute": "location", "op": "NEQ", "values": ["Chicago"] }),
            vec![gary, none],
        ),
        (
            json!({ "attribute": "location", "op": "IN", "values": ["Chicago", "Gary"] }),
            vec![chicago, gary],
        ),
        (
            json!({ "attribute": "location", "op": "NOT_IN", "values": ["Chicago", "Gary"] }),
            vec![none],
        ),
        (
            json!({ "attribute": "location", "op": "EXISTS" }),
            vec![chicago, gary],
        ),
        (
            json!({ "attribute": "location", "op": "NOT_EXISTS" }),
            vec![none],
        ),
    ];
    for (i, (criterion, expected)) in cases.into_iter().enumerate() {
        let c = course(&app, &format!("Course {i}")).await;
        let created = rule(&app, json!({ "name": format!("R{i}"), "audience": { "criteria": [criterion.clone()] }, "courses": [{ "courseId": c.to_string() }] })).await;
        let mut got: Vec<Uuid> = created["assignmentsCreated"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| id(&a["user"]["id"]))
            .collect();
        // The owner and the admin have no attributes either.
        got.retain(|u| *u != app.owner_id && *u != app.admin_id);
        assert_eq!(sorted(got), sorted(expected), "{criterion}");
    }
}

#[tokio::test]
async fn include_subgroups_false_and_moving_a_group_reconciles_its_subtree() {
    let app = TestApp::spawn().await;
    let acme = app.group("Acme", None).await;
    let ops = app.group("Ops", None).await;
    let team = app.group("Team", Some(ops)).await;
    let u = app.user().await;
    app.add_member(u, team).await;
    let c_direct = course(&app, "Direct only").await;
    let c_tree = course(&app, "Whole tree").await;
    rule(&app, json!({ "name": "Direct", "audience": { "groupId": acme.to_string(), "includeSubgroups": false }, "courses": [{ "courseId": c_direct.to_string() }] })).await;
    rule(&app, json!({ "name": "Tree", "audience": { "groupId": acme.to_string() }, "courses": [{ "courseId": c_tree.to_string() }] })).await;
    assert!(open_courses(&app, u).await.is_empty());
    let data = app
        .ok("mutation($i: MoveGroupInput!) { moveGroup(input: $i) { assignmentsCreated { course { id } } } }", json!({ "i": { "id": ops.to_string(), "parentId": acme.to_string() } }), &app.admin)
        .await;
    assert_eq!(
        data["moveGroup"]["assignmentsCreated"],
        json!([{ "course": { "id": c_tree.to_string() } }])
    );
    let data = app
        .ok("mutation($i: MoveGroupInput!) { moveGroup(input: $i) { assignmentsWithdrawn { course { id } } } }", json!({ "i": { "id": ops.to_string(), "parentId": null } }), &app.admin)
        .await;
    assert_eq!(
        data["moveGroup"]["assignmentsWithdrawn"],
        json!([{ "course": { "id": c_tree.to_string() } }])
    );
}

#[tokio::test]
async fn policy_changes_reach_every_member_at_once() {
    let app = TestApp::spawn().await;
    let g = app.group("Finance", None).await;
    let mut members = Vec::new();
    for _ in 0..5 {
        let u = app.user().await;
        app.add_member(u, g).await;
        members.push(u);
    }
    let (c1, c2) = (course(&app, "One").await, course(&app, "Two").await);
    let created = rule(&app, json!({ "name": "Finance", "audience": { "groupId": g.to_string() }, "courses": [{ "courseId": c1.to_string() }] })).await;
    let rid = created["rule"]["id"].as_str().unwrap().to_string();
    let data = app
        .ok(UPDATE_RULE, json!({ "i": { "id": rid, "courses": [{ "courseId": c1.to_string() }, { "courseId": c2.to_string() }] } }), &app.admin)
        .await;
    assert_eq!(
        data["updateRule"]["assignmentsCreated"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    for m in &members {
        assert_eq!(open_courses(&app, *m).await, sorted(vec![c1, c2]));
    }
    // Dropping a course from the bundle withdraws it.
    let data = app
        .ok(
            UPDATE_RULE,
            json!({ "i": { "id": rid, "courses": [{ "courseId": c2.to_string() }] } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["updateRule"]["assignmentsWithdrawn"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // Renaming changes nothing.
    let data = app
        .ok(
            UPDATE_RULE,
            json!({ "i": { "id": rid, "name": "Finance basics" } }),
            &app.admin,
        )
        .await;
    assert_eq!(data["updateRule"]["assignmentsCreated"], json!([]));
    assert_eq!(data["updateRule"]["assignmentsWithdrawn"], json!([]));

    let q = "mutation($i: SetRuleActiveInput!) { setRuleActive(input: $i) { rule { active } assignmentsCreated { id } assignmentsWithdrawn { id } } }";
    let data = app
        .ok(
            q,
            json!({ "i": { "id": rid, "active": false } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["setRuleActive"]["assignmentsWithdrawn"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let data = app
        .ok(q, json!({ "i": { "id": rid, "active": true } }), &app.admin)
        .await;
    assert_eq!(
        data["setRuleActive"]["assignmentsCreated"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let data = app
        .ok("mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { rule { deletedAt } assignmentsWithdrawn { id } } }", json!({ "i": { "id": rid } }), &app.admin)
        .await;
    assert_eq!(
        data["deleteRule"]["assignmentsWithdrawn"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!(data["deleteRule"]["rule"]["deletedAt"].is_string());
    let data = app
        .ok(
            "query($r: ID!) { rule(id: $r) { id } rules { id } }",
            json!({ "r": rid }),
            &app.admin,
        )
        .await;
    assert!(data["rule"].is_null());
    assert_eq!(data["rules"], json!([]));
    // The withdrawn assignments still name the deleted rule.
    let data = app.ok("query($r: ID!) { assignments(filter: { ruleId: $r }) { totalCount nodes { reasons(includeEnded: true) { rule { name deletedAt } } } } }", json!({ "r": rid }), &app.admin).await;
    assert_eq!(
        data["assignments"]["totalCount"], 15,
        "c1 ×5, c2 ×5 before deactivation, c2 ×5 after"
    );
    assert_eq!(
        data["assignments"]["nodes"][0]["reasons"][0]["rule"]["name"],
        "Finance basics"
    );
}

#[tokio::test]
async fn preview_tells_the_change_before_it_is_made_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let g = app.group("Ops", None).await;
    let h = app.group("Help desk", None).await;
    let (a, b, c) = (app.user().await, app.user().await, app.user().await);
    app.add_member(a, g).await;
    app.add_member(b, g).await;
    app.add_member(c, h).await;
    let (c1, c2) = (course(&app, "One").await, course(&app, "Two").await);
    let created = rule(&app, json!({ "name": "Ops", "audience": { "groupId": g.to_string() }, "courses": [{ "courseId": c1.to_string() }] })).await;
    let rid = created["rule"]["id"].as_str().unwrap().to_string();
    let input = json!({ "name": "Help desk", "audience": { "groupId": h.to_string() }, "courses": [{ "courseId": c2.to_string() }] });
    let before = app.counts().await;
    let q = "query($i: CreateRuleInput!, $r: ID) { previewRule(input: $i, ruleId: $r) { usersAffected
        assign { course { id } count users { id } } withdraw { course { id } count users(first: 1) { id } } } }";
    let data = app.ok(q, json!({ "i": input, "r": rid }), &app.admin).await;
    let p = &data["previewRule"];
    assert_eq!(p["usersAffected"], 3);
    assert_eq!(
        p["assign"],
        json!([{ "course": { "id": c2.to_string() }, "count": 1, "users": [{ "id": c.to_string() }] }])
    );
    assert_eq!(p["withdraw"][0]["course"]["id"], c1.to_string());
    assert_eq!(p["withdraw"][0]["count"], 2);
    assert_eq!(p["withdraw"][0]["users"].as_array().unwrap().len(), 1);
    assert_eq!(app.counts().await, before, "a preview writes nothing");
    assert_eq!(app.rows("assignments").await, 2);

    // The change itself does exactly what the preview said.
    let data = app
        .ok(UPDATE_RULE, json!({ "i": { "id": rid, "audience": { "groupId": h.to_string() }, "courses": [{ "courseId": c2.to_string() }] } }), &app.admin)
        .await;
    assert_eq!(
        data["updateRule"]["assignmentsCreated"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        data["updateRule"]["assignmentsWithdrawn"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A new rule's preview: who would gain.
    let data = app.ok(q, json!({ "i": { "name": "All ops", "audience": { "groupId": g.to_string() }, "courses": [{ "courseId": c1.to_string() }] }, "r": null }), &app.admin).await;
    assert_eq!(data["previewRule"]["usersAffected"], 2);
    assert_eq!(data["previewRule"]["withdraw"], json!([]));
}

#[tokio::test]
async fn bad_rules_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let g = app.group("G", None).await;
    let c = course(&app, "C").await;
    let ghost = Uuid::now_v7().to_string();
    let ok_audience = json!({ "groupId": g.to_string() });
    let one = json!([{ "courseId": c.to_string() }]);
    let cases = [
        (
            json!({ "name": "R", "audience": {}, "courses": one }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": { "criteria": [] }, "courses": one }),
            "VALIDATION",
        ),
        (
            json!({ "name": "", "audience": ok_audience, "courses": one }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": { "groupId": ghost }, "courses": one }),
            "NOT_FOUND",
        ),
        (
            json!({ "name": "R", "audience": { "roleId": ghost }, "courses": one }),
            "NOT_FOUND",
        ),
        (
            json!({ "name": "R", "audience": ok_audience, "courses": [{ "courseId": ghost }] }),
            "NOT_FOUND",
        ),
        (
            json!({ "name": "R", "audience": ok_audience, "courses": [] }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": ok_audience, "courses": [{ "courseId": c.to_string(), "unlockAfterDays": -1 }] }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": ok_audience, "courses": [{ "courseId": c.to_string(), "dueAfterDays": -3 }] }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": ok_audience, "courses": [{ "courseId": c.to_string(), "unlockAfterDays": 5, "dueAfterDays": 2 }] }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": ok_audience, "courses": [{ "courseId": c.to_string() }, { "courseId": c.to_string() }] }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": { "criteria": [{ "attribute": "a", "op": "IN" }] }, "courses": one }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": { "criteria": [{ "attribute": "a", "op": "NOT_IN", "values": [] }] }, "courses": one }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": { "criteria": [{ "attribute": "a", "op": "EQ", "values": ["x", "y"] }] }, "courses": one }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": { "criteria": [{ "attribute": "a", "op": "NEQ" }] }, "courses": one }),
            "VALIDATION",
        ),
        (
            json!({ "name": "R", "audience": { "criteria": [{ "attribute": "", "op": "EXISTS" }] }, "courses": one }),
            "VALIDATION",
        ),
    ];
    let u = app.user().await;
    app.add_member(u, g).await;
    let before = app.counts().await;
    let before_rules = app.rows("rules").await;
    for (input, expected) in cases {
        let r = app
            .execute(CREATE_RULE, json!({ "i": input.clone() }), &app.admin)
            .await;
        assert_eq!(crate::helpers::code(&r), expected, "{input}: {r}");
        let r = app
            .execute(
                "query($i: CreateRuleInput!) { previewRule(input: $i) { usersAffected } }",
                json!({ "i": input.clone() }),
                &app.admin,
            )
            .await;
        assert_eq!(crate::helpers::code(&r), expected, "preview {input}: {r}");
    }
    assert_eq!(app.counts().await, before);
    assert_eq!(app.rows("rules").await, before_rules);
    assert_eq!(app.rows("assignments").await, 0);

    // Updates are checked the same way, and a rule of another organization is not found.
    let created = rule(
        &app,
        json!({ "name": "R", "audience": ok_audience, "courses": one }),
    )
    .await;
    let rid = created["rule"]["id"].as_str().unwrap().to_string();
    let r = app.execute(UPDATE_RULE, json!({ "i": { "id": rid, "courses": [{ "courseId": c.to_string(), "unlockAfterDays": 9, "dueAfterDays": 1 }] } }), &app.admin).await;
    assert_code(&r, "VALIDATION");
    let other = skillgraph::service::org::create(&app.state, "Other", "o@other.example", "O")
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
    for q in [
        "mutation($r: ID!) { updateRule(input: { id: $r, name: \"x\" }) { rule { id } } }",
        "mutation($r: ID!) { setRuleActive(input: { id: $r, active: false }) { rule { id } } }",
        "mutation($r: ID!) { deleteRule(input: { id: $r }) { rule { id } } }",
    ] {
        assert_code(
            &app.execute(q, json!({ "r": rid }), &token).await,
            "NOT_FOUND",
        );
    }
    let data = app
        .ok(
            "query($r: ID!) { rule(id: $r) { id } }",
            json!({ "r": rid }),
            &token,
        )
        .await;
    assert!(data["rule"].is_null());
    assert_eq!(app.rows("assignments").await, 1);
    // Only OWNER and ADMIN manage rules.
    let hr = app.token(u, OrgRole::Hr);
    assert_code(
        &app.execute(
            CREATE_RULE,
            json!({ "i": { "name": "R2", "audience": ok_audience, "courses": one } }),
            &hr,
        )
        .await,
        "FORBIDDEN",
    );
}

#[tokio::test]
async fn reconcile_is_idempotent() {
    use skillgraph::service::engine::{self, Scope};
    let app = TestApp::spawn().await;
    let g = app.group("G", None).await;
    let (c1, c2) = (course(&app, "One").await, course(&app, "Two").await);
    rule(&app, json!({ "name": "R", "audience": { "groupId": g.to_string() }, "courses": [{ "courseId": c1.to_string(), "unlockAfterDays": 2 }, { "courseId": c2.to_string(), "dueAfterDays": 3 }] })).await;
    for _ in 0..3 {
        let u = app.user().await;
        app.add_member(u, g).await;
    }
    let before = (
        events(&app).await.len(),
        app.counts().await,
        app.rows("assignments").await,
        app.rows("assignment_reasons").await,
    );
    for scope in [
        Scope::All,
        Scope::Members(g),
        Scope::Users(vec![app.admin_id]),
    ] {
        let (out, _) = skillgraph::service::unit::system(&app.state, app.org_id, async |w| {
            skillgraph::service::engine::reconcile(w, scope, None).await
        })
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()));
        assert_eq!(out, engine::Outcome::default());
    }
    let after = (
        events(&app).await.len(),
        app.counts().await,
        app.rows("assignments").await,
        app.rows("assignment_reasons").await,
    );
    assert_eq!(before, after);
}
