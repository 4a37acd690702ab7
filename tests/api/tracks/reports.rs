//! Track reports (funnel, drop-off, score statistics, calibration, as of a date) and the skills
//! matrix of roles.

use serde_json::json;
use skillgraph::service::viewer::OrgRole;

use super::assessments::{CREATE_RUBRIC, RECORD, scores};
use super::prerequisites::course_with;
use super::track::track;
use crate::helpers::{TestApp, assert_code, id};

const REPORT: &str = "query($t: ID!, $at: DateTime) { trackReport(trackId: $t, asOf: $at) {
    enrolled completed completionRate
    steps { position foundation course { title } reached completed dropOff }
    scores { count mean median histogram { from count } }
    medianDaysToComplete
    evaluators { evaluator { id } count mean difference } } }";

#[tokio::test]
async fn a_track_report_shows_the_funnel_scores_and_calibration() {
    let app = TestApp::spawn().await;
    let owner = app.user().await;
    let a = course_with(&app, "A", &[]).await;
    let b = course_with(&app, "B", &[a]).await;
    let t = track(&app, "Track", owner, &[(a, true), (b, false)]).await;
    let group = app.group("G", None).await;
    let users = [
        app.user().await,
        app.user().await,
        app.user().await,
        app.user().await,
    ];
    for u in users {
        app.add_member(u, group).await;
    }
    app.ok(
        "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
        json!({ "i": { "name": "R", "audience": { "groupId": group.to_string() }, "trackId": t.to_string() } }),
        &app.admin,
    )
    .await;
    let start = skillgraph::clock::Clock::now(&app.clock);
    let complete = |u: uuid::Uuid, c: uuid::Uuid| json!({ "i": { "userId": u.to_string(), "courseId": c.to_string() } });
    let rc = "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { completion { id } } }";
    // Day 2: three finish A; day 6: two of them finish B.
    app.clock.advance(chrono::Duration::days(2));
    for u in &users[..3] {
        app.ok(rc, complete(*u, a), &app.admin).await;
    }
    app.clock.advance(chrono::Duration::days(4));
    for u in &users[..2] {
        app.ok(rc, complete(*u, b), &app.admin).await;
    }
    // Assessments: a generous evaluator (90, 100) and a strict one (50, 60).
    let skill = app.skill("Skill").await;
    let d = app
        .ok(
            CREATE_RUBRIC,
            json!({ "i": { "name": "Check", "trackId": t.to_string(), "passingPercent": 70,
                           "dimensions": [{ "skillId": skill.to_string(), "maxPoints": 10 }] } }),
            &app.admin,
        )
        .await;
    let rubric = id(&d["createRubric"]["rubric"]["id"]);
    let (soft, strict) = (app.user().await, app.user().await);
    for (evaluator, points) in [(soft, 9), (soft, 10), (strict, 5), (strict, 6)] {
        app.ok(
            RECORD,
            json!({ "i": { "rubricId": rubric.to_string(), "userId": users[0].to_string(), "scores": scores(&[(skill, points)]) } }),
            &app.token(evaluator, OrgRole::Hr),
        )
        .await;
    }
    let d = app
        .ok(
            REPORT,
            json!({ "t": t.to_string() }),
            &app.token(owner, OrgRole::Learner),
        )
        .await;
    let r = &d["trackReport"];
    assert_eq!(r["enrolled"], 4);
    assert_eq!(r["completed"], 2);
    assert_eq!(r["completionRate"], json!(0.5));
    assert_eq!(
        r["steps"],
        json!([
            { "position": 0, "foundation": true, "course": { "title": "A" }, "reached": 4, "completed": 3, "dropOff": 1 },
            { "position": 1, "foundation": false, "course": { "title": "B" }, "reached": 3, "completed": 2, "dropOff": 1 },
        ])
    );
    assert_eq!(r["medianDaysToComplete"], json!(6.0));
    assert_eq!(r["scores"]["count"], 4);
    assert_eq!(r["scores"]["mean"], json!(75.0));
    assert_eq!(r["scores"]["median"], json!(75.0));
    let hist: Vec<i64> = r["scores"]["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_i64().unwrap())
        .collect();
    assert_eq!(hist, vec![0, 0, 0, 0, 0, 1, 1, 0, 0, 2]);
    // Equal deviations: the earlier evaluator first. The evaluators are HR people outside the
    // track owner's reach: the owner sees their figures, not who they are.
    assert_eq!(
        r["evaluators"],
        json!([
            { "evaluator": null, "count": 2, "mean": 95.0, "difference": 20.0 },
            { "evaluator": null, "count": 2, "mean": 55.0, "difference": -20.0 },
        ])
    );
    let d = app
        .ok(REPORT, json!({ "t": t.to_string() }), &app.admin)
        .await;
    assert_eq!(
        d["trackReport"]["evaluators"],
        json!([
            { "evaluator": { "id": soft.to_string() }, "count": 2, "mean": 95.0, "difference": 20.0 },
            { "evaluator": { "id": strict.to_string() }, "count": 2, "mean": 55.0, "difference": -20.0 },
        ])
    );
    // As of day 3: everyone enrolled, three through A, nobody finished, no assessments yet.
    let at = (start + chrono::Duration::days(3)).to_rfc3339();
    let d = app
        .ok(REPORT, json!({ "t": t.to_string(), "at": at }), &app.admin)
        .await;
    let r = &d["trackReport"];
    assert_eq!(r["enrolled"], 4);
    assert_eq!(r["completed"], 0);
    assert_eq!(r["steps"][0]["completed"], 3);
    assert_eq!(r["steps"][1]["completed"], 0);
    assert_eq!(r["scores"]["count"], 0);
    assert_eq!(r["scores"]["mean"], json!(null));
    assert_eq!(r["medianDaysToComplete"], json!(null));
    // A learner who owns no track may not read it.
    let r = app
        .execute(
            REPORT,
            json!({ "t": t.to_string() }),
            &app.token(users[0], OrgRole::Learner),
        )
        .await;
    assert_code(&r, "FORBIDDEN");
}

#[tokio::test]
async fn the_skills_matrix_flags_roles_that_could_share_a_foundation() {
    let app = TestApp::spawn().await;
    let skills: Vec<uuid::Uuid> = {
        let mut v = Vec::new();
        for n in ["S1", "S2", "S3", "S4", "S5"] {
            v.push(app.skill(n).await);
        }
        v
    };
    let (a, b, c) = (
        app.role("A", None).await,
        app.role("B", None).await,
        app.role("C", None).await,
    );
    let lvl = |s: &[uuid::Uuid]| s.iter().map(|x| (*x, Some(2))).collect::<Vec<_>>();
    app.set_role_skills(a, &lvl(&skills[0..4])).await;
    app.set_role_skills(b, &lvl(&skills[0..3])).await; // 3 of 4 shared with A: 75%
    app.set_role_skills(c, &lvl(&skills[3..5])).await; // 1 of 5 with A: 20%
    let d = app
        .ok(
            "query($r: [ID!]!) { skillsMatrix(roleIds: $r) { roleA { name } roleB { name } sharedSkills { name } overlapPercent foundationCandidate } }",
            json!({ "r": [a.to_string(), b.to_string(), c.to_string()] }),
            &app.admin,
        )
        .await;
    assert_eq!(
        d["skillsMatrix"],
        json!([
            { "roleA": { "name": "A" }, "roleB": { "name": "B" }, "sharedSkills": [{ "name": "S1" }, { "name": "S2" }, { "name": "S3" }], "overlapPercent": 75, "foundationCandidate": true },
            { "roleA": { "name": "A" }, "roleB": { "name": "C" }, "sharedSkills": [{ "name": "S4" }], "overlapPercent": 20, "foundationCandidate": false },
            { "roleA": { "name": "B" }, "roleB": { "name": "C" }, "sharedSkills": [], "overlapPercent": 0, "foundationCandidate": false },
        ])
    );
    let r = app
        .execute(
            "query($r: [ID!]!) { skillsMatrix(roleIds: $r) { overlapPercent } }",
            json!({ "r": [a.to_string()] }),
            &app.admin,
        )
        .await;
    assert_code(&r, "VALIDATION");
    let (_, other) = app.other_org().await;
    let r = app
        .execute(
            "query($r: [ID!]!) { skillsMatrix(roleIds: $r) { overlapPercent } }",
            json!({ "r": [a.to_string(), b.to_string()] }),
            &other,
        )
        .await;
    assert_code(&r, "NOT_FOUND");
}
