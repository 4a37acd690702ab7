//! Rubrics and assessments: the weighted total decides the pass; a pass raises the skills of
//! the dimensions that scored well (source ASSESSMENT) so match scores move; bad scores and
//! other organizations' users are refused without writing anything.

use serde_json::{Value, json};
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use super::prerequisites::course_with;
use super::track::track;
use crate::helpers::{TestApp, assert_code, id};

pub const CREATE_RUBRIC: &str = "mutation($i: CreateRubricInput!) { createRubric(input: $i) {
    rubric { id name passingPercent dimensions { skill { name } weight maxPoints levelOnPass } } } }";
pub const RECORD: &str = "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) {
    assessment { id percent passed evaluator { id } user { id } scores { skill { name } points } }
    raised { skill { name } level } } }";

pub fn scores(list: &[(Uuid, i32)]) -> Value {
    json!(
        list.iter()
            .map(|(s, p)| json!({ "skillId": s.to_string(), "points": p }))
            .collect::<Vec<_>>()
    )
}

struct World {
    app: TestApp,
    owner: Uuid,
    track: Uuid,
    rubric: Uuid,
    role: Uuid,
    pitch: Uuid,
    listen: Uuid,
    learner: Uuid,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let owner = app.user().await;
    let (pitch, listen) = (app.skill("Pitching").await, app.skill("Listening").await);
    let role = app.role("Sales rep", None).await;
    app.set_role_skills(role, &[(pitch, Some(3)), (listen, Some(3))])
        .await;
    let basics = course_with(&app, "Basics", &[]).await;
    let t = track(&app, "Sales", owner, &[(basics, true)]).await;
    let d = app
        .ok(
            CREATE_RUBRIC,
            json!({ "i": { "name": "Sales call", "trackId": t.to_string(), "roleId": role.to_string(), "passingPercent": 70,
                           "dimensions": [
                               { "skillId": pitch.to_string(), "weight": 3, "maxPoints": 10, "levelOnPass": 3 },
                               { "skillId": listen.to_string(), "weight": 1, "maxPoints": 5, "levelOnPass": 4 } ] } }),
            &app.token(owner, OrgRole::Learner),
        )
        .await;
    let rubric = id(&d["createRubric"]["rubric"]["id"]);
    // The learner is in the track: assigned its course.
    let learner = app.user().await;
    let group = app.group("Sales", None).await;
    app.add_member(learner, group).await;
    app.ok(
        "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
        json!({ "i": { "name": "Sales", "audience": { "groupId": group.to_string() }, "trackId": t.to_string() } }),
        &app.admin,
    )
    .await;
    World {
        app,
        owner,
        track: t,
        rubric,
        role,
        pitch,
        listen,
        learner,
    }
}

async fn match_percent(app: &TestApp, user: Uuid, role: Uuid) -> Value {
    let d = app
        .ok(
            "query($u: ID) { roleMatches(userId: $u) { edges { node { role { id } percent } } } }",
            json!({ "u": user.to_string() }),
            &app.admin,
        )
        .await;
    d["roleMatches"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| id(&e["node"]["role"]["id"]) == role)
        .map(|e| e["node"]["percent"].clone())
        .unwrap()
}

#[tokio::test]
async fn a_pass_raises_the_skills_of_dimensions_that_scored_well() {
    let w = world().await;
    let app = &w.app;
    // A rating below the role's level: the row exists and the pass compares against it.
    app.rate(w.learner, w.listen, 2).await;
    assert_eq!(match_percent(app, w.learner, w.role).await, json!(0));
    let owner_token = app.token(w.owner, OrgRole::Learner);
    // A fail: (3·4/10 + 1·5/5) / 4 = 55% < 70%. Nothing rises.
    let d = app
        .ok(
            RECORD,
            json!({ "i": { "rubricId": w.rubric.to_string(), "userId": w.learner.to_string(),
                           "scores": scores(&[(w.pitch, 4), (w.listen, 5)]) } }),
            &owner_token,
        )
        .await;
    let a = &d["recordAssessment"];
    assert_eq!(a["assessment"]["percent"], json!(55.0));
    assert_eq!(a["assessment"]["passed"], json!(false));
    assert_eq!(a["assessment"]["evaluator"]["id"], w.owner.to_string());
    assert_eq!(a["raised"], json!([]));
    // A pass: (3·9/10 + 1·3/5) / 4 = 82.5%; Pitching (90%) rises, Listening (60% < 70%) not.
    let d = app
        .ok(
            RECORD,
            json!({ "i": { "rubricId": w.rubric.to_string(), "userId": w.learner.to_string(),
                           "scores": scores(&[(w.pitch, 9), (w.listen, 3)]), "comment": "Strong close" } }),
            &owner_token,
        )
        .await;
    let a = &d["recordAssessment"];
    assert_eq!(a["assessment"]["percent"], json!(82.5));
    assert_eq!(a["assessment"]["passed"], json!(true));
    assert_eq!(
        a["raised"],
        json!([{ "skill": { "name": "Pitching" }, "level": 3 }])
    );
    let d = app
        .ok(
            "query($u: ID!) { user(id: $u) { skills { skill { name } level source } assessments { percent passed } } }",
            json!({ "u": w.learner.to_string() }),
            &app.admin,
        )
        .await;
    let skills = d["user"]["skills"].as_array().unwrap();
    assert!(
        skills.contains(
            &json!({ "skill": { "name": "Pitching" }, "level": 3, "source": "ASSESSMENT" })
        )
    );
    assert_eq!(
        d["user"]["assessments"],
        json!([{ "percent": 82.5, "passed": true }, { "percent": 55.0, "passed": false }])
    );
    // The match moved: one of two skills met.
    assert_eq!(match_percent(app, w.learner, w.role).await, json!(50));
    // The rubric lists its assessments; the learner sees their own.
    let d = app
        .ok(
            "query($r: ID!) { rubric(id: $r) { assessments { percent } } }",
            json!({ "r": w.rubric.to_string() }),
            &app.token(w.learner, OrgRole::Learner),
        )
        .await;
    assert_eq!(d["rubric"]["assessments"].as_array().unwrap().len(), 2);
    let d = app
        .ok(
            "query($t: ID!) { track(id: $t) { rubrics { name } } }",
            json!({ "t": w.track.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(d["track"]["rubrics"], json!([{ "name": "Sales call" }]));
}

#[tokio::test]
async fn bad_assessments_are_refused_and_write_nothing() {
    let w = world().await;
    let app = &w.app;
    let other_skill = app.skill("Typing").await;
    let bad: Vec<(Value, &str)> = vec![
        // Above the dimension's maximum.
        (scores(&[(w.pitch, 11), (w.listen, 3)]), "VALIDATION"),
        // A skill that is not a dimension of the rubric.
        (scores(&[(w.pitch, 5), (other_skill, 3)]), "VALIDATION"),
        // Negative points; a dimension left out; scored twice.
        (scores(&[(w.pitch, -1), (w.listen, 3)]), "VALIDATION"),
        (scores(&[(w.pitch, 5)]), "VALIDATION"),
        (
            scores(&[(w.pitch, 5), (w.pitch, 5), (w.listen, 1)]),
            "VALIDATION",
        ),
    ];
    let before = app.counts().await;
    for (s, code) in bad {
        let r = app
            .execute(
                RECORD,
                json!({ "i": { "rubricId": w.rubric.to_string(), "userId": w.learner.to_string(), "scores": s } }),
                &app.admin,
            )
            .await;
        assert_code(&r, code);
    }
    // A user of another organization is not found.
    let (_, other_token) = app.other_org().await;
    let other_user =
        app.ok("{ viewer { id } }", json!({}), &other_token).await["viewer"]["id"].clone();
    let r = app
        .execute(
            RECORD,
            json!({ "i": { "rubricId": w.rubric.to_string(), "userId": other_user, "scores": scores(&[(w.pitch, 5), (w.listen, 3)]) } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "NOT_FOUND");
    // Another organization may not use this rubric either.
    let r = app
        .execute(
            RECORD,
            json!({ "i": { "rubricId": w.rubric.to_string(), "userId": other_user, "scores": scores(&[(w.pitch, 5), (w.listen, 3)]) } }),
            &other_token,
        )
        .await;
    assert_code(&r, "NOT_FOUND");
    assert_eq!(app.counts().await, before);
    // The owner of another track may not assess with this track's rubric.
    let basics = course_with(app, "Other basics", &[]).await;
    let stranger_owner = app.user().await;
    track(app, "Warehouse", stranger_owner, &[(basics, false)]).await;
    let before = app.counts().await;
    let r = app
        .execute(
            RECORD,
            json!({ "i": { "rubricId": w.rubric.to_string(), "userId": w.learner.to_string(), "scores": scores(&[(w.pitch, 5), (w.listen, 3)]) } }),
            &app.token(stranger_owner, OrgRole::Learner),
        )
        .await;
    assert_code(&r, "FORBIDDEN");
    assert_eq!(app.counts().await, before);
    // The track's owner may not assess someone outside the track, whom they cannot see:
    // NOT_FOUND, as for anyone out of reach.
    let outsider = app.user().await;
    let before_owner = app.counts().await;
    let r = app
        .execute(
            RECORD,
            json!({ "i": { "rubricId": w.rubric.to_string(), "userId": outsider.to_string(), "scores": scores(&[(w.pitch, 5), (w.listen, 3)]) } }),
            &app.token(w.owner, OrgRole::Learner),
        )
        .await;
    assert_code(&r, "NOT_FOUND");
    assert_eq!(app.counts().await, before_owner);

    // Bad rubrics.
    let before = app.counts().await;
    let bad_rubrics = [
        json!({ "name": "R", "passingPercent": 101, "dimensions": [{ "skillId": w.pitch.to_string(), "maxPoints": 5 }] }),
        json!({ "name": "R", "passingPercent": 50, "dimensions": [] }),
        json!({ "name": "R", "passingPercent": 50, "dimensions": [{ "skillId": w.pitch.to_string(), "maxPoints": 0 }] }),
        json!({ "name": "R", "passingPercent": 50, "dimensions": [{ "skillId": w.pitch.to_string(), "maxPoints": 5, "weight": 0 }] }),
        json!({ "name": "R", "passingPercent": 50, "dimensions": [{ "skillId": w.pitch.to_string(), "maxPoints": 5, "levelOnPass": 9 }] }),
        json!({ "name": "R", "passingPercent": 50, "dimensions": [{ "skillId": w.pitch.to_string(), "maxPoints": 5 }, { "skillId": w.pitch.to_string(), "maxPoints": 5 }] }),
    ];
    for input in bad_rubrics {
        let r = app
            .execute(CREATE_RUBRIC, json!({ "i": input }), &app.admin)
            .await;
        assert_code(&r, "VALIDATION");
    }
    assert_eq!(app.counts().await, before);
}

/// Lists of assessments go through loaders (`user.assessments`, `rubric.assessments`,
/// `assessment.scores`, `assessment.rubric`, `rubric.dimensions`): one nested query over many
/// people answers each with their own rows, and a manager gets only their reports'.
#[tokio::test]
async fn nested_assessment_lists_answer_each_person_with_their_own_rows() {
    let w = world().await;
    let app = &w.app;
    let boss = app.user().await;
    let group = app.group("Assessed", None).await;
    let mut people = Vec::new();
    for i in 0..5 {
        let u = app.user().await;
        app.add_member(u, group).await;
        if i < 3 {
            app.ok(
                "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
                json!({ "i": { "id": u.to_string(), "managerId": boss.to_string() } }),
                &app.admin,
            )
            .await;
        }
        // i + 1 assessments each, with distinct points so rows cannot be mixed up.
        for n in 0..=i {
            app.ok(
                RECORD,
                json!({ "i": { "rubricId": w.rubric.to_string(), "userId": u.to_string(),
                               "scores": scores(&[(w.pitch, n), (w.listen, i)]) } }),
                &app.admin,
            )
            .await;
        }
        people.push(u);
    }
    let q = "query($g: ID!) { users(first: 50, filter: { groupId: $g }) { nodes { id
        assessments { rubric { id dimensions { maxPoints } } scores { skill { id } points } } } } }";
    let check = |data: &Value, visible: &[Uuid]| {
        let nodes = data["users"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), visible.len());
        for node in nodes {
            let i = people.iter().position(|p| *p == id(&node["id"])).unwrap();
            let list = node["assessments"].as_array().unwrap();
            assert_eq!(list.len(), i + 1, "{node}");
            for a in list {
                assert_eq!(id(&a["rubric"]["id"]), w.rubric);
                assert_eq!(
                    a["rubric"]["dimensions"],
                    json!([{ "maxPoints": 10 }, { "maxPoints": 5 }])
                );
                let listen = a["scores"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|s| id(&s["skill"]["id"]) == w.listen)
                    .unwrap();
                assert_eq!(listen["points"], i);
            }
        }
    };
    let data = app
        .ok(q, json!({ "g": group.to_string() }), &app.admin)
        .await;
    check(&data, &people);
    let data = app
        .ok(
            q,
            json!({ "g": group.to_string() }),
            &app.token(boss, OrgRole::Manager),
        )
        .await;
    check(&data, &people[..3]);
    // Per rubric: the manager sees the 1 + 2 + 3 assessments of their reports, the owner of
    // the track all 15.
    let q = "query($r: ID!) { rubric(id: $r) { assessments { user { id } scores { points } } } }";
    let r = json!({ "r": w.rubric.to_string() });
    let mine = app
        .ok(q, r.clone(), &app.token(boss, OrgRole::Manager))
        .await;
    let list = mine["rubric"]["assessments"].as_array().unwrap();
    assert_eq!(list.len(), 6);
    assert!(
        list.iter()
            .all(|a| people[..3].contains(&id(&a["user"]["id"])))
    );
    assert!(
        list.iter()
            .all(|a| a["scores"].as_array().unwrap().len() == 2)
    );
    let all = app.ok(q, r, &app.token(w.owner, OrgRole::Learner)).await;
    assert_eq!(all["rubric"]["assessments"].as_array().unwrap().len(), 15);
}
