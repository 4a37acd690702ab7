//! Tracks: ordered courses that respect prerequisites, foundation courses, a rule's bundle
//! naming a track (and following it), and what a track owner may do.

use serde_json::{Value, json};
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use super::prerequisites::course_with;
use crate::engine::open_courses;
use crate::helpers::{TestApp, assert_code, id};

pub const CREATE_TRACK: &str = "mutation($i: CreateTrackInput!) { createTrack(input: $i) {
    track { id name owner { id } ownerId role { name } courses { position foundation course { title } } } } }";
pub const UPDATE_TRACK: &str = "mutation($i: UpdateTrackInput!) { updateTrack(input: $i) {
    track { id name courses { course { title } } } assignmentsCreated { id } assignmentsWithdrawn { id } } }";

pub fn steps(courses: &[(Uuid, bool)]) -> Value {
    json!(
        courses
            .iter()
            .map(|(c, f)| json!({ "courseId": c.to_string(), "foundation": f }))
            .collect::<Vec<_>>()
    )
}

pub async fn track(app: &TestApp, name: &str, owner: Uuid, courses: &[(Uuid, bool)]) -> Uuid {
    let d = app
        .ok(
            CREATE_TRACK,
            json!({ "i": { "name": name, "ownerId": owner.to_string(), "courses": steps(courses) } }),
            &app.admin,
        )
        .await;
    id(&d["createTrack"]["track"]["id"])
}

#[tokio::test]
async fn a_track_lists_courses_in_an_order_that_respects_prerequisites() {
    let app = TestApp::spawn().await;
    let owner = app.user().await;
    let role = app.role("Sales rep", None).await;
    let basics = course_with(&app, "Basics", &[]).await;
    let pitch = course_with(&app, "Pitch", &[basics]).await;
    let close = course_with(&app, "Closing", &[pitch]).await;
    let d = app
        .ok(
            CREATE_TRACK,
            json!({ "i": { "name": "Sales", "ownerId": owner.to_string(), "roleId": role.to_string(),
                           "courses": steps(&[(basics, true), (pitch, false), (close, false)]) } }),
            &app.admin,
        )
        .await;
    let t = &d["createTrack"]["track"];
    assert_eq!(t["owner"]["id"], owner.to_string());
    assert_eq!(t["role"]["name"], "Sales rep");
    assert_eq!(
        t["courses"],
        json!([
            { "position": 0, "foundation": true, "course": { "title": "Basics" } },
            { "position": 1, "foundation": false, "course": { "title": "Pitch" } },
            { "position": 2, "foundation": false, "course": { "title": "Closing" } },
        ])
    );
    let hr = app.token(app.user().await, OrgRole::Hr);
    let learner = app.token(app.user().await, OrgRole::Learner);
    // Closing before Basics breaks the (transitive) prerequisite order.
    let before = app.counts().await;
    let r = app
        .execute(
            CREATE_TRACK,
            json!({ "i": { "name": "Wrong", "ownerId": owner.to_string(),
                           "courses": steps(&[(close, false), (basics, false)]) } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "VALIDATION");
    assert_eq!(r["errors"][0]["extensions"]["field"], "courses");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Closing comes before its prerequisite Basics"),
        "{r}"
    );
    // Same name (any case) → CONFLICT; a course twice, no course → VALIDATION; unknown owner.
    let same = app
        .execute(
            CREATE_TRACK,
            json!({ "i": { "name": "SALES", "ownerId": owner.to_string(), "courses": steps(&[(basics, false)]) } }),
            &app.admin,
        )
        .await;
    assert_code(&same, "CONFLICT");
    for courses in [json!([]), steps(&[(basics, false), (basics, false)])] {
        let r = app
            .execute(
                CREATE_TRACK,
                json!({ "i": { "name": "X", "ownerId": owner.to_string(), "courses": courses } }),
                &app.admin,
            )
            .await;
        assert_code(&r, "VALIDATION");
    }
    let r = app
        .execute(
            CREATE_TRACK,
            json!({ "i": { "name": "X", "ownerId": Uuid::now_v7().to_string(), "courses": steps(&[(basics, false)]) } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "NOT_FOUND");
    // Only OWNER and ADMIN create tracks.
    let r = app
        .execute(
            CREATE_TRACK,
            json!({ "i": { "name": "X", "ownerId": owner.to_string(), "courses": steps(&[(basics, false)]) } }),
            &hr,
        )
        .await;
    assert_code(&r, "FORBIDDEN");
    assert_eq!(app.counts().await, before, "refused tracks write nothing");

    let d = app
        .ok(
            "query($r: ID) { tracks(roleId: $r) { name courses { course { title } } } }",
            json!({ "r": role.to_string() }),
            &learner,
        )
        .await;
    assert_eq!(d["tracks"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_rule_bundle_naming_a_track_follows_the_track() {
    let app = TestApp::spawn().await;
    let owner = app.user().await;
    let basics = course_with(&app, "Basics", &[]).await;
    let pitch = course_with(&app, "Pitch", &[basics]).await;
    let extra = course_with(&app, "Extra", &[]).await;
    let t = track(&app, "Sales", owner, &[(basics, true), (pitch, false)]).await;
    let group = app.group("Sales", None).await;
    let user = app.user().await;
    app.add_member(user, group).await;
    let d = app
        .ok(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id track { name } courses { course { title } } } assignmentsCreated { id } } }",
            json!({ "i": { "name": "Sales track", "audience": { "groupId": group.to_string() }, "trackId": t.to_string() } }),
            &app.admin,
        )
        .await;
    let rule = &d["createRule"]["rule"];
    assert_eq!(rule["track"]["name"], "Sales");
    assert_eq!(
        rule["courses"],
        json!([{ "course": { "title": "Basics" } }, { "course": { "title": "Pitch" } }])
    );
    assert_eq!(open_courses(&app, user).await.len(), 2);

    // Courses and a track at once → VALIDATION, nothing written.
    let before = app.counts().await;
    let r = app
        .execute(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
            json!({ "i": { "name": "Both", "audience": { "groupId": group.to_string() }, "trackId": t.to_string(),
                           "courses": [{ "courseId": extra.to_string() }] } }),
            &app.admin,
        )
        .await;
    assert_code(&r, "VALIDATION");
    assert_eq!(app.counts().await, before);

    // A course added to the track is a change of the rule's bundle: the track owner (a
    // LEARNER) may not make it, an ADMIN may, and the rule's members get the course at once.
    let owner_token = app.token(owner, OrgRole::Learner);
    let change = json!({ "i": { "id": t.to_string(), "courses": steps(&[(basics, true), (pitch, false), (extra, false)]) } });
    let r = app
        .execute(UPDATE_TRACK, change.clone(), &owner_token)
        .await;
    assert_code(&r, "FORBIDDEN");
    let d = app.ok(UPDATE_TRACK, change, &app.admin).await;
    assert_eq!(
        d["updateTrack"]["assignmentsCreated"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut expected = vec![basics, pitch, extra];
    expected.sort();
    assert_eq!(open_courses(&app, user).await, expected);
}

#[tokio::test]
async fn a_track_owner_manages_only_its_own_track() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.user().await, app.user().await);
    let basics = course_with(&app, "Basics", &[]).await;
    let mine = track(&app, "Mine", ann, &[(basics, false)]).await;
    let theirs = track(&app, "Theirs", bob, &[(basics, false)]).await;
    let ann_token = app.token(ann, OrgRole::Learner);
    let skill = app.skill("Listening").await;
    app.ok(
        UPDATE_TRACK,
        json!({ "i": { "id": mine.to_string(), "name": "Mine, renamed" } }),
        &ann_token,
    )
    .await;
    let before = app.counts().await;
    let r = app
        .execute(
            UPDATE_TRACK,
            json!({ "i": { "id": theirs.to_string(), "name": "Stolen" } }),
            &ann_token,
        )
        .await;
    assert_code(&r, "FORBIDDEN");
    // A track owner may not hand the track to someone else.
    let r = app
        .execute(
            UPDATE_TRACK,
            json!({ "i": { "id": mine.to_string(), "ownerId": bob.to_string() } }),
            &ann_token,
        )
        .await;
    assert_code(&r, "FORBIDDEN");
    // Another track's rubric and report are forbidden too.
    let r = app
        .execute(
            "mutation($i: CreateRubricInput!) { createRubric(input: $i) { rubric { id } } }",
            json!({ "i": { "name": "R", "trackId": theirs.to_string(), "passingPercent": 60,
                           "dimensions": [{ "skillId": skill.to_string(), "maxPoints": 5 }] } }),
            &ann_token,
        )
        .await;
    assert_code(&r, "FORBIDDEN");
    let r = app
        .execute(
            "query($t: ID!) { trackReport(trackId: $t) { enrolled } }",
            json!({ "t": theirs.to_string() }),
            &ann_token,
        )
        .await;
    assert_code(&r, "FORBIDDEN");
    assert_eq!(app.counts().await, before);
    app.ok(
        "query($t: ID!) { trackReport(trackId: $t) { enrolled } }",
        json!({ "t": mine.to_string() }),
        &ann_token,
    )
    .await;
    // Another organization's track is not found.
    let (_, other) = app.other_org().await;
    let r = app
        .execute(
            UPDATE_TRACK,
            json!({ "i": { "id": mine.to_string(), "name": "X" } }),
            &other,
        )
        .await;
    assert_code(&r, "NOT_FOUND");
    let d = app
        .ok(
            "query($t: ID!) { track(id: $t) { id } }",
            json!({ "t": mine.to_string() }),
            &other,
        )
        .await;
    assert_eq!(d["track"], Value::Null);
}
