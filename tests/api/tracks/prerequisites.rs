//! Skill dependencies and course prerequisites: DAGs with cycles refused by name; an assignment
//! stays LOCKED until its prerequisites are completed and unlocks on the completion that frees
//! it; a rule's course brings its missing prerequisites along, with a reason naming both.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::engine::{assignments_of, rule};
use crate::helpers::{TestApp, assert_code, id};

pub async fn course_with(app: &TestApp, title: &str, prerequisites: &[Uuid]) -> Uuid {
    let data = app
        .ok(
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
            json!({ "i": { "title": title, "prerequisiteIds": prerequisites.iter().map(|p| p.to_string()).collect::<Vec<_>>() } }),
            &app.admin,
        )
        .await;
    id(&data["createCourse"]["course"]["id"])
}

const ADD_DEP: &str = "mutation($i: AddSkillDependencyInput!) { addSkillDependency(input: $i) {
    skill { id requires { name } } } }";

fn dep(skill: Uuid, requires: Uuid) -> Value {
    json!({ "i": { "skillId": skill.to_string(), "requiresSkillId": requires.to_string() } })
}

#[tokio::test]
async fn skill_dependencies_form_a_dag_and_a_cycle_is_refused_by_name() {
    let app = TestApp::spawn().await;
    let (a, b, c) = (
        app.skill("Negotiation").await,
        app.skill("Listening").await,
        app.skill("Empathy").await,
    );
    // Negotiation → Listening → Empathy.
    let d = app.ok(ADD_DEP, dep(a, b), &app.admin).await;
    assert_eq!(
        d["addSkillDependency"]["skill"]["requires"],
        json!([{ "name": "Listening" }])
    );
    app.ok(ADD_DEP, dep(b, c), &app.admin).await;
    // Adding it again changes nothing.
    let before = app.counts().await;
    app.ok(ADD_DEP, dep(b, c), &app.admin).await;
    assert_eq!(app.counts().await, before);

    // Empathy → Negotiation would close the cycle.
    let r = app.execute(ADD_DEP, dep(c, a), &app.admin).await;
    assert_code(&r, "VALIDATION");
    let message = r["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("Empathy → Negotiation → Listening → Empathy"),
        "{message}"
    );
    assert_eq!(r["errors"][0]["extensions"]["field"], "requiresSkillId");
    let r = app.execute(ADD_DEP, dep(a, a), &app.admin).await;
    assert_code(&r, "VALIDATION");
    assert_eq!(app.counts().await, before, "a refused link writes nothing");

    let d = app
        .ok(
            "query($id: ID!) { skill(id: $id) { requires { name } requiredBy { name } } }",
            json!({ "id": b.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(d["skill"]["requires"], json!([{ "name": "Empathy" }]));
    assert_eq!(d["skill"]["requiredBy"], json!([{ "name": "Negotiation" }]));

    // A learner may not change the catalogue; another organization's skill is not found.
    let learner = app.token(
        app.user().await,
        skillgraph::service::viewer::OrgRole::Learner,
    );
    assert_code(
        &app.execute(ADD_DEP, dep(c, a), &learner).await,
        "FORBIDDEN",
    );
    let (_, other) = app.other_org().await;
    assert_code(&app.execute(ADD_DEP, dep(c, a), &other).await, "NOT_FOUND");

    let remove = "mutation($i: RemoveSkillDependencyInput!) { removeSkillDependency(input: $i) { skill { requires { name } } } }";
    let d = app.ok(remove, dep(a, b), &app.admin).await;
    assert_eq!(d["removeSkillDependency"]["skill"]["requires"], json!([]));
    assert_code(
        &app.execute(remove, dep(a, b), &app.admin).await,
        "NOT_FOUND",
    );
    // With the link gone, Empathy → Negotiation is fine.
    app.ok(ADD_DEP, dep(c, a), &app.admin).await;
}

#[tokio::test]
async fn course_prerequisite_cycles_are_refused_by_name_and_write_nothing() {
    let app = TestApp::spawn().await;
    let basics = course_with(&app, "Basics", &[]).await;
    let middle = course_with(&app, "Middle", &[basics]).await;
    let before = app.counts().await;
    let r = app
        .execute(
            "mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { course { id } } }",
            json!({ "i": { "id": basics.to_string(), "prerequisiteIds": [middle.to_string()] } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "VALIDATION");
    let message = r["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("Basics → Middle → Basics"), "{message}");
    assert_eq!(app.counts().await, before);
}

const REASONS: &str = "query($u: ID!) { user(id: $u) { assignments {
    status course { title } reasons { rule { name } neededBy { title } } } } }";

#[tokio::test]
async fn a_rule_assigns_missing_prerequisites_and_gates_on_them_until_completed() {
    let app = TestApp::spawn().await;
    let safety = course_with(&app, "Safety", &[]).await;
    let forklift = course_with(&app, "Forklift", &[safety]).await;
    let advanced = course_with(&app, "Advanced forklift", &[forklift]).await;
    let group = app.group("Warehouse", None).await;
    let user = app.user().await;
    app.add_member(user, group).await;
    let created = rule(
        &app,
        json!({ "name": "Drivers", "audience": { "groupId": group.to_string() },
                "courses": [{ "courseId": advanced.to_string() }] }),
    )
    .await;
    assert_eq!(created["assignmentsCreated"].as_array().unwrap().len(), 3);
    let d = app
        .ok(REASONS, json!({ "u": user.to_string() }), &app.admin)
        .await;
    let mut rows: Vec<(String, String, Value)> = d["user"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["course"]["title"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
                a["reasons"].clone(),
            )
        })
        .collect();
    rows.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        rows,
        vec![
            (
                "Advanced forklift".into(),
                "LOCKED".into(),
                json!([{ "rule": { "name": "Drivers" }, "neededBy": null }])
            ),
            (
                "Forklift".into(),
                "LOCKED".into(),
                json!([{ "rule": { "name": "Drivers" }, "neededBy": { "title": "Advanced forklift" } }])
            ),
            (
                "Safety".into(),
                "ASSIGNED".into(),
                json!([{ "rule": { "name": "Drivers" }, "neededBy": { "title": "Forklift" } }])
            ),
        ]
    );

    // A LOCKED assignment cannot be started.
    let d = app
        .ok(
            "query($u: ID!) { user(id: $u) { assignments { id course { id } } } }",
            json!({ "u": user.to_string() }),
            &app.admin,
        )
        .await;
    let locked = d["user"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| id(&a["course"]["id"]) == forklift)
        .unwrap()["id"]
        .clone();
    let before = app.counts().await;
    let r = app
        .execute(
            "mutation($i: StartAssignmentInput!) { startAssignment(input: $i) { assignment { status } } }",
            json!({ "i": { "id": locked } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "VALIDATION");
    assert_eq!(app.counts().await, before);

    // Completing Safety unlocks Forklift (UNLOCKED event), not yet Advanced forklift.
    let complete = "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { assignment { status } } }";
    let events_before = app.rows("assignment_events").await;
    app.ok(
        complete,
        json!({ "i": { "userId": user.to_string(), "courseId": safety.to_string() } }),
        &app.admin,
    )
    .await;
    let statuses = status_by_course(&app, user).await;
    assert_eq!(statuses[&safety], "COMPLETED");
    assert_eq!(statuses[&forklift], "ASSIGNED");
    assert_eq!(statuses[&advanced], "LOCKED");
    assert_eq!(
        app.rows("assignment_events").await - events_before,
        2,
        "COMPLETED and UNLOCKED"
    );
    let unlocked = app
        .ok(
            "query($c: ID!) { assignmentEvents(filter: { kinds: [UNLOCKED], courseId: $c }) { totalCount } }",
            json!({ "c": forklift.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(unlocked["assignmentEvents"]["totalCount"], 1);

    // A second user who already completed Safety gets it credited at once; Forklift is open.
    let veteran = app.user().await;
    app.ok(
        complete,
        json!({ "i": { "userId": veteran.to_string(), "courseId": safety.to_string() } }),
        &app.admin,
    )
    .await;
    app.add_member(veteran, group).await;
    let statuses = status_by_course(&app, veteran).await;
    assert_eq!(statuses[&safety], "COMPLETED");
    assert_eq!(statuses[&forklift], "ASSIGNED");
    assert_eq!(statuses[&advanced], "LOCKED");

    // Leaving the audience withdraws the prerequisites with the course (never the completed).
    app.ok(
        "mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { membership { id } } }",
        json!({ "i": { "userId": user.to_string(), "groupId": group.to_string() } }),
        &app.admin,
    )
    .await;
    let mut left: Vec<String> = assignments_of(&app, user)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    left.sort();
    assert_eq!(left, vec!["COMPLETED", "WITHDRAWN", "WITHDRAWN"]);
}

async fn status_by_course(app: &TestApp, user: Uuid) -> std::collections::HashMap<Uuid, String> {
    assignments_of(app, user)
        .await
        .into_iter()
        .filter(|(s, _)| s != "WITHDRAWN")
        .map(|(s, c)| (c, s))
        .collect()
}

#[tokio::test]
async fn a_course_locked_by_prerequisites_stays_locked_past_its_unlock_date() {
    let app = TestApp::spawn().await;
    let intro = course_with(&app, "Intro", &[]).await;
    let second = course_with(&app, "Second", &[intro]).await;
    let group = app.group("Onboarding", None).await;
    let user = app.user().await;
    app.add_member(user, group).await;
    rule(
        &app,
        json!({ "name": "Onboarding", "audience": { "groupId": group.to_string() },
                "courses": [{ "courseId": intro.to_string() },
                            { "courseId": second.to_string(), "unlockAfterDays": 3 }] }),
    )
    .await;
    app.clock.advance(chrono::Duration::days(5));
    skillgraph::service::compliance::scheduler::tick(&app.state)
        .await
        .unwrap();
    let statuses = status_by_course(&app, user).await;
    assert_eq!(statuses[&second], "LOCKED", "the prerequisite is not done");
    assert_eq!(statuses[&intro], "ASSIGNED");
    app.ok(
        "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { assignment { status } } }",
        json!({ "i": { "userId": user.to_string(), "courseId": intro.to_string() } }),
        &app.admin,
    )
    .await;
    let statuses = status_by_course(&app, user).await;
    assert_eq!(statuses[&second], "ASSIGNED");
    // Dropping a prerequisite unlocks what it alone held.
    let third = course_with(&app, "Third", &[second]).await;
    rule(
        &app,
        json!({ "name": "More", "audience": { "groupId": group.to_string() },
                "courses": [{ "courseId": third.to_string() }] }),
    )
    .await;
    assert_eq!(status_by_course(&app, user).await[&third], "LOCKED");
    app.ok(
        "mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { course { id } } }",
        json!({ "i": { "id": third.to_string(), "prerequisiteIds": [] } }),
        &app.admin,
    )
    .await;
    assert_eq!(status_by_course(&app, user).await[&third], "ASSIGNED");
}
