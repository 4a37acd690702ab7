//! Findings of the hostile tester (issue "Hardening"), each as a test that failed before its fix.

use serde_json::json;

use crate::helpers::{TestApp, id};

/// A rule whose audience mixes a member who already holds a completion of a course without
/// validity and a member who does not used to fail INTERNAL (a NULL best expiry in the per-user
/// compliance summary). Both `createRule` and `updateRule`.
#[tokio::test]
async fn a_rule_over_a_completed_and_an_uncompleted_member_commits() {
    let app = TestApp::spawn().await;
    let group = app.group("Two", None).await;
    let (done, fresh) = (app.user().await, app.user().await);
    app.add_member(done, group).await;
    app.add_member(fresh, group).await;
    let course = |title: &'static str| {
        let app = &app;
        async move {
            let d = app
                .ok(
                    "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
                    json!({ "i": { "title": title } }),
                    &app.admin,
                )
                .await;
            id(&d["createCourse"]["course"]["id"])
        }
    };
    let (first, second) = (course("Ethics").await, course("Safety").await);
    for c in [first, second] {
        app.ok(
            "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { completion { id } } }",
            json!({ "i": { "userId": done.to_string(), "courseId": c.to_string() } }),
            &app.admin,
        )
        .await;
    }
    let created = app
        .ok(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } assignmentsCreated { status user { id } } } }",
            json!({ "i": { "name": "Ethics for Two", "audience": { "groupId": group.to_string() },
                           "courses": [{ "courseId": first.to_string() }] } }),
            &app.admin,
        )
        .await;
    let mut statuses: Vec<(String, String)> = created["createRule"]["assignmentsCreated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["user"]["id"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    statuses.sort();
    let mut expected = vec![
        (done.to_string(), "COMPLETED".to_string()),
        (fresh.to_string(), "ASSIGNED".to_string()),
    ];
    expected.sort();
    assert_eq!(statuses, expected);
    // The member who never took the course is ASSIGNED (not a renewal); the other is credited.
    let mut kinds: Vec<(String, uuid::Uuid)> = crate::engine::events(&app)
        .await
        .into_iter()
        .map(|(kind, user, _)| (kind, user))
        .collect();
    kinds.sort();
    let mut expected_kinds = vec![
        ("ASSIGNED".to_string(), fresh),
        ("COMPLETED".to_string(), done),
    ];
    expected_kinds.sort();
    assert_eq!(kinds, expected_kinds);
    let rule = id(&created["createRule"]["rule"]["id"]);
    let updated = app
        .ok(
            "mutation($i: UpdateRuleInput!) { updateRule(input: $i) { assignmentsCreated { status } } }",
            json!({ "i": { "id": rule.to_string(),
                           "courses": [{ "courseId": first.to_string() }, { "courseId": second.to_string() }] } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        updated["updateRule"]["assignmentsCreated"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let report = app
        .ok(
            "query($g: ID!) { complianceReport(filter: { groupId: $g }) { total compliant pending } }",
            json!({ "g": group.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(report["complianceReport"]["total"], 2);
    assert_eq!(report["complianceReport"]["compliant"], 1);
    assert_eq!(report["complianceReport"]["pending"], 1);
}
