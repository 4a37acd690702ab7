//! Manual assignments (`assignCourse`, `unassignCourse`): a requirement made by hand, with a
//! MANUAL reason naming the actor, never withdrawn by the engine.

use serde_json::{Value, json};
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use crate::helpers::{TestApp, assert_code, id};

const ASSIGN: &str = "mutation($i: AssignCourseInput!) { assignCourse(input: $i) {
    manualAssignments { id note dueAt assignedByType assignedById user { id } course { id } }
    assignments { id status dueAt user { id } reasons { kind rule { id } manual { note } } }
    unchanged assignmentsCreated { id } } }";
const UNASSIGN: &str = "mutation($i: UnassignCourseInput!) { unassignCourse(input: $i) {
    assignment { id status reasons(includeEnded: true) { kind until } }
    manualAssignment { endedAt } assignmentsWithdrawn { id } } }";

async fn course(app: &TestApp, title: &str) -> Uuid {
    let data = app
        .ok(
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
            json!({ "i": { "title": title } }),
            &app.owner,
        )
        .await;
    id(&data["createCourse"]["course"]["id"])
}

async fn rule(app: &TestApp, group: Uuid, course: Uuid) -> Uuid {
    let data = app
        .ok(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
            json!({ "i": { "name": format!("Rule {}", Uuid::new_v4().simple()), "audience": { "groupId": group.to_string() },
                           "courses": [{ "courseId": course.to_string(), "dueAfterDays": 30 }] } }),
            &app.owner,
        )
        .await;
    id(&data["createRule"]["rule"]["id"])
}

async fn assignment(app: &TestApp, user: Uuid, course: Uuid) -> Value {
    let data = app
        .ok(
            "query($u: ID!, $c: ID!) { assignments(filter: { userId: $u, courseId: $c }) { nodes { id status dueAt reasons { kind } } } }",
            json!({ "u": user.to_string(), "c": course.to_string() }),
            &app.owner,
        )
        .await;
    data["assignments"]["nodes"][0].clone()
}

#[tokio::test]
async fn a_manual_assignment_names_its_assigner_and_the_engine_never_withdraws_it() {
    let app = TestApp::spawn().await;
    let hr_id = app.user().await;
    let hr = app.token(hr_id, OrgRole::Hr);
    let sam = app.user().await;
    let c = course(&app, "Forklift refresher").await;
    let due = "2026-04-01T00:00:00Z";
    let data = app
        .ok(
            ASSIGN,
            json!({ "i": { "userIds": [sam.to_string()], "courseId": c.to_string(), "dueAt": due, "note": "Incident 4711" } }),
            &hr,
        )
        .await;
    let done = &data["assignCourse"];
    let manual = &done["manualAssignments"][0];
    assert_eq!(manual["note"], "Incident 4711");
    assert_eq!(manual["assignedByType"], "USER");
    assert_eq!(manual["assignedById"], hr_id.to_string());
    assert_eq!(manual["dueAt"], due);
    let a = &done["assignments"][0];
    assert_eq!(a["status"], "ASSIGNED");
    assert_eq!(a["dueAt"], due);
    assert_eq!(
        a["reasons"],
        json!([{ "kind": "MANUAL", "rule": null, "manual": { "note": "Incident 4711" } }])
    );
    assert_eq!(done["assignmentsCreated"][0]["id"], a["id"]);

    // Reconciles of every kind leave it alone: a profile change, a rule change for everyone.
    app.ok(
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
        json!({ "i": { "id": sam.to_string(), "jobTitle": "Operator" } }),
        &app.owner,
    )
    .await;
    let group = app.group("Warehouse", None).await;
    let other = course(&app, "Other").await;
    rule(&app, group, other).await;
    let now = assignment(&app, sam, c).await;
    assert_eq!(now["id"], a["id"]);
    assert_eq!(now["status"], "ASSIGNED");

    // The audit log says who did it; the event log says it was assigned.
    let audit = app
        .ok(
            "{ auditLog(filter: { actions: [COURSE_ASSIGNED] }) { nodes { actorId subjectId after } } }",
            json!({}),
            &app.owner,
        )
        .await;
    let entry = &audit["auditLog"]["nodes"][0];
    assert_eq!(entry["actorId"], hr_id.to_string());
    assert_eq!(entry["subjectId"], sam.to_string());
    assert!(entry["after"].to_string().contains("Incident 4711"));
    // Assigning again changes nothing.
    let before = app.counts().await;
    let again = app
        .ok(
            ASSIGN,
            json!({ "i": { "userIds": [sam.to_string()], "courseId": c.to_string() } }),
            &hr,
        )
        .await;
    assert_eq!(again["assignCourse"]["manualAssignments"], json!([]));
    assert_eq!(again["assignCourse"]["unchanged"], json!([sam.to_string()]));
    assert_eq!(again["assignCourse"]["assignments"][0]["id"], a["id"]);
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn unassigning_withdraws_only_what_nothing_else_requires() {
    let app = TestApp::spawn().await;
    let (alone, both) = (app.user().await, app.user().await);
    let group = app.group("Drivers", None).await;
    app.add_member(both, group).await;
    let c = course(&app, "Defensive driving").await;
    rule(&app, group, c).await;
    let data = app
        .ok(
            ASSIGN,
            json!({ "i": { "userIds": [alone.to_string(), both.to_string()], "courseId": c.to_string() } }),
            &app.admin,
        )
        .await;
    let assignments = data["assignCourse"]["assignments"].as_array().unwrap();
    assert_eq!(assignments.len(), 2);
    // The one a rule already required keeps its assignment and gains a manual reason.
    let both_a = assignment(&app, both, c).await;
    let mut kinds: Vec<String> = both_a["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["MANUAL", "RULE"]);

    let alone_a = assignment(&app, alone, c).await;
    let r = app
        .ok(
            UNASSIGN,
            json!({ "i": { "assignmentId": alone_a["id"] } }),
            &app.admin,
        )
        .await;
    let done = &r["unassignCourse"];
    assert_eq!(done["assignment"]["status"], "WITHDRAWN");
    assert_eq!(done["assignmentsWithdrawn"][0]["id"], alone_a["id"]);
    assert!(done["manualAssignment"]["endedAt"].is_string());
    assert_eq!(done["assignment"]["reasons"][0]["kind"], "MANUAL");
    assert!(done["assignment"]["reasons"][0]["until"].is_string());

    let r = app
        .ok(
            UNASSIGN,
            json!({ "i": { "assignmentId": both_a["id"] } }),
            &app.admin,
        )
        .await;
    assert_eq!(r["unassignCourse"]["assignment"]["status"], "ASSIGNED");
    assert_eq!(r["unassignCourse"]["assignmentsWithdrawn"], json!([]));
    // Now only the rule requires it: unassigning again is refused, and writes nothing.
    let before = app.counts().await;
    let r = app
        .execute(
            UNASSIGN,
            json!({ "i": { "assignmentId": both_a["id"] } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "VALIDATION");
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn a_group_assigns_its_current_members_and_subgroups_not_later_joiners() {
    let app = TestApp::spawn().await;
    let root = app.group("Plant", None).await;
    let sub = app.group("Night shift", Some(root)).await;
    let (a, b, later) = (app.user().await, app.user().await, app.user().await);
    app.add_member(a, root).await;
    app.add_member(b, sub).await;
    let c = course(&app, "Lockout tagout").await;
    let data = app
        .ok(
            ASSIGN,
            json!({ "i": { "groupId": root.to_string(), "courseId": c.to_string() } }),
            &app.admin,
        )
        .await;
    let mut people: Vec<String> = data["assignCourse"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["user"]["id"].as_str().unwrap().to_string())
        .collect();
    people.sort();
    let mut expected = vec![a.to_string(), b.to_string()];
    expected.sort();
    assert_eq!(people, expected);
    app.add_member(later, root).await;
    assert!(assignment(&app, later, c).await.is_null());
}

#[tokio::test]
async fn bad_manual_assignments_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let sam = app.user().await;
    let gone = app.user().await;
    app.ok(
        "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { id } } }",
        json!({ "i": { "id": gone.to_string() } }),
        &app.owner,
    )
    .await;
    let c = course(&app, "Ethics").await;
    let manager = app.token(app.user().await, OrgRole::Manager);
    let learner = app.token(app.user().await, OrgRole::Learner);
    let (_, client) = app.api_client(&["PEOPLE_WRITE", "COMPLETIONS_WRITE"]).await;
    let before = app.counts().await;
    for (input, code) in [
        (json!({ "courseId": c.to_string() }), "VALIDATION"),
        (
            json!({ "userIds": [], "courseId": c.to_string() }),
            "VALIDATION",
        ),
        (
            json!({ "userIds": [sam.to_string()], "courseId": Uuid::now_v7().to_string() }),
            "NOT_FOUND",
        ),
        (
            json!({ "userIds": [sam.to_string()], "courseId": c.to_string(), "dueAt": "2020-01-01T00:00:00Z" }),
            "VALIDATION",
        ),
        (
            json!({ "userIds": [gone.to_string()], "courseId": c.to_string() }),
            "VALIDATION",
        ),
        (
            json!({ "userIds": [Uuid::now_v7().to_string()], "courseId": c.to_string() }),
            "NOT_FOUND",
        ),
        (
            json!({ "userIds": [sam.to_string()], "courseId": c.to_string(), "note": "x".repeat(100_000) }),
            "VALIDATION",
        ),
    ] {
        let r = app.execute(ASSIGN, json!({ "i": input }), &app.admin).await;
        assert_code(&r, code);
    }
    for token in [&manager, &learner, &client] {
        let r = app
            .execute(
                ASSIGN,
                json!({ "i": { "userIds": [sam.to_string()], "courseId": c.to_string() } }),
                token,
            )
            .await;
        assert_code(&r, "FORBIDDEN");
    }
    let r = app
        .execute(
            UNASSIGN,
            json!({ "i": { "assignmentId": Uuid::now_v7().to_string() } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "NOT_FOUND");
    assert_eq!(app.counts().await, before, "nothing was written");
    assert_eq!(app.rows("manual_requirements").await, 0);
}
