//! Compliance over time with a controlled clock: completions (idempotent by externalId),
//! renewal and expiry, unlock and overdue, the scheduler's idempotent catch-up, status and
//! reports as of a past date that later changes do not move.

use chrono::Duration;
use serde_json::{Value, json};
use skillgraph::service::compliance::scheduler;
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use crate::engine::rule;
use crate::helpers::{TestApp, assert_code, code, id};

const RECORD: &str = "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) {
    completion { id completedAt expiresAt score externalId } assignment { id status completedAt expiresAt } duplicate } }";
const STATUS: &str = "query($u: ID, $at: DateTime, $w: Int) { complianceStatus(userId: $u, asOf: $at, warningDays: $w) {
    status items { course { title } status dueAt completedAt expiresAt } } }";

async fn course(app: &TestApp, title: &str, validity: Option<i32>, window: Option<i32>) -> Uuid {
    let data = app
        .ok(
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
            json!({ "i": { "title": title, "validityDays": validity, "renewalWindowDays": window } }),
            &app.admin,
        )
        .await;
    id(&data["createCourse"]["course"]["id"])
}

async fn events_of(app: &TestApp, user: Uuid) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db.read;
    let p = if crate::helpers::is_postgres() {
        "$1"
    } else {
        "?"
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            format!("SELECT kind FROM assignment_events WHERE user_id = {p} ORDER BY seq"),
            [user.into()],
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

async fn tick(app: &TestApp) {
    scheduler::tick(&app.state)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
}

async fn status(app: &TestApp, user: Uuid) -> Value {
    app.ok(STATUS, json!({ "u": user.to_string() }), &app.admin)
        .await["complianceStatus"]
        .clone()
}

/// A member of a fresh group whose rule requires `courses` (course, unlock days, due days).
async fn member_with_rule(
    app: &TestApp,
    courses: &[(Uuid, Option<i32>, Option<i32>)],
) -> (Uuid, Uuid) {
    let g = app
        .group(&format!("G {}", Uuid::new_v4().simple()), None)
        .await;
    let items: Vec<Value> = courses
        .iter()
        .map(|(c, u, d)| json!({ "courseId": c.to_string(), "unlockAfterDays": u, "dueAfterDays": d }))
        .collect();
    rule(app, json!({ "name": format!("R {}", Uuid::new_v4().simple()), "audience": { "groupId": g.to_string() }, "courses": items })).await;
    let u = app.user().await;
    app.add_member(u, g).await;
    (u, g)
}

async fn open_assignment(app: &TestApp, user: Uuid, course: Uuid) -> Value {
    let data = app
        .ok(
            "query($u: ID!, $c: ID!) { assignments(filter: { userId: $u, courseId: $c, status: [LOCKED, ASSIGNED, IN_PROGRESS] }) { nodes { id status dueAt } } }",
            json!({ "u": user.to_string(), "c": course.to_string() }),
            &app.admin,
        )
        .await;
    data["assignments"]["nodes"][0].clone()
}

#[tokio::test]
async fn a_completion_satisfies_the_open_assignment_and_an_external_id_makes_it_idempotent() {
    let app = TestApp::spawn().await;
    let c = course(&app, "Site safety", Some(365), Some(30)).await;
    let (u, _) = member_with_rule(&app, &[(c, None, Some(14))]).await;
    let a = open_assignment(&app, u, c).await;
    app.clock.advance(Duration::days(2));
    let input = json!({ "assignmentId": a["id"], "score": 88.5, "externalId": "vendor-42" });
    let first = app.ok(RECORD, json!({ "i": input }), &app.admin).await["recordCompletion"].clone();
    assert_eq!(first["assignment"]["status"], "COMPLETED");
    assert_eq!(first["assignment"]["id"], a["id"]);
    assert_eq!(first["completion"]["completedAt"], "2026-03-03T09:00:00Z");
    assert_eq!(
        first["completion"]["expiresAt"], "2027-03-03T09:00:00Z",
        "completedAt + 365 days"
    );
    assert_eq!(first["completion"]["score"], 88.5);
    assert_eq!(first["duplicate"], false);
    assert_eq!(events_of(&app, u).await, ["ASSIGNED", "COMPLETED"]);

    let before = app.counts().await;
    let completions = app.rows("completions").await;
    let again = app.ok(RECORD, json!({ "i": { "userId": u.to_string(), "courseId": c.to_string(), "externalId": "vendor-42" } }), &app.admin).await;
    assert_eq!(
        again["recordCompletion"]["completion"]["id"], first["completion"]["id"],
        "the first completion comes back"
    );
    assert_eq!(again["recordCompletion"]["duplicate"], true);
    assert_eq!(app.counts().await, before);
    assert_eq!(app.rows("completions").await, completions);
    assert_eq!(status(&app, u).await["status"], "COMPLIANT");
}

#[tokio::test]
async fn bad_completions_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let c = course(&app, "Payments", None, None).await;
    let (u, _) = member_with_rule(&app, &[(c, None, None)]).await;
    let a = open_assignment(&app, u, c).await;
    let other = skillgraph::service::org::create(&app.state, "Other", "o@other.example", "O")
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()));
    let stranger = app
        .state
        .jwt
        .mint(
            other.org.id,
            other.owner.id,
            OrgRole::Owner,
            Duration::hours(1),
        )
        .unwrap();
    let before = (
        app.counts().await,
        app.rows("completions").await,
        app.rows("assignment_events").await,
    );
    let cases = [
        (
            json!({ "assignmentId": a["id"], "completedAt": "2026-03-02T09:00:00Z" }),
            "VALIDATION",
            &app.admin,
        ),
        (
            json!({ "assignmentId": a["id"], "score": 101 }),
            "VALIDATION",
            &app.admin,
        ),
        (
            json!({ "assignmentId": a["id"], "score": -0.5 }),
            "VALIDATION",
            &app.admin,
        ),
        (
            json!({ "assignmentId": Uuid::now_v7().to_string() }),
            "NOT_FOUND",
            &app.admin,
        ),
        (
            json!({ "userId": u.to_string(), "courseId": Uuid::now_v7().to_string() }),
            "NOT_FOUND",
            &app.admin,
        ),
        (json!({ "userId": u.to_string() }), "VALIDATION", &app.admin),
        (json!({ "assignmentId": a["id"] }), "NOT_FOUND", &stranger),
    ];
    for (input, expected, token) in cases {
        let r = app
            .execute(RECORD, json!({ "i": input.clone() }), token)
            .await;
        assert_eq!(code(&r), expected, "{input}: {r}");
    }
    let learner = app.token(u, OrgRole::Learner);
    assert_code(
        &app.execute(
            RECORD,
            json!({ "i": { "assignmentId": a["id"] } }),
            &learner,
        )
        .await,
        "FORBIDDEN",
    );
    assert_code(
        &app.execute(STATUS, json!({ "u": u.to_string(), "w": -1 }), &app.admin)
            .await,
        "VALIDATION",
    );
    assert_code(
        &app.execute(STATUS, json!({ "u": u.to_string() }), &stranger)
            .await,
        "NOT_FOUND",
    );
    assert_eq!(
        before,
        (
            app.counts().await,
            app.rows("completions").await,
            app.rows("assignment_events").await
        )
    );
}

#[tokio::test]
async fn a_completion_without_an_assignment_is_history_and_meets_a_later_requirement_at_once() {
    let app = TestApp::spawn().await;
    let c = course(&app, "Forklift", Some(1095), None).await;
    let u = app.user().await;
    let r = app.ok(RECORD, json!({ "i": { "userId": u.to_string(), "courseId": c.to_string(), "completedAt": "2026-01-10T00:00:00Z" } }), &app.admin).await;
    assert!(
        r["recordCompletion"]["assignment"].is_null(),
        "recorded as history"
    );
    let g = app.group("Warehouse", None).await;
    app.add_member(u, g).await;
    let created = rule(&app, json!({ "name": "Forklift", "audience": { "groupId": g.to_string() }, "courses": [{ "courseId": c.to_string(), "dueAfterDays": 30 }] })).await;
    let a = &created["assignmentsCreated"][0];
    assert_eq!(
        a["status"], "COMPLETED",
        "met at once by the earlier completion"
    );
    let data = app.ok("query($u: ID!) { user(id: $u) { assignments { status completedAt expiresAt } completions { id } } }", json!({ "u": u.to_string() }), &app.admin).await;
    assert_eq!(
        data["user"]["assignments"][0]["completedAt"],
        "2026-01-10T00:00:00Z"
    );
    assert_eq!(data["user"]["completions"].as_array().unwrap().len(), 1);
    assert_eq!(status(&app, u).await["status"], "COMPLIANT");
    assert_eq!(events_of(&app, u).await, ["COMPLETED"]);
}

#[tokio::test]
async fn certificates_renew_in_their_window_and_expire_with_history_kept() {
    let app = TestApp::spawn().await;
    let c = course(&app, "Site safety", Some(365), Some(30)).await;
    let (u, _) = member_with_rule(&app, &[(c, None, Some(14))]).await;
    let a = open_assignment(&app, u, c).await;
    app.ok(
        RECORD,
        json!({ "i": { "assignmentId": a["id"] } }),
        &app.admin,
    )
    .await;
    // Day 330: valid, not yet in the renewal window.
    app.clock.advance(Duration::days(330));
    tick(&app).await;
    assert_eq!(status(&app, u).await["items"][0]["status"], "COMPLIANT");
    // Day 340: inside the window — a renewal cycle opens while the old completion still counts.
    app.clock.advance(Duration::days(10));
    tick(&app).await;
    let s = status(&app, u).await;
    assert_eq!(s["status"], "AT_RISK");
    assert_eq!(s["items"][0]["status"], "EXPIRING_SOON");
    let renewal = open_assignment(&app, u, c).await;
    assert_eq!(renewal["status"], "ASSIGNED");
    assert_eq!(
        renewal["dueAt"], "2027-03-01T09:00:00Z",
        "a renewal is due when the certificate expires"
    );
    assert_eq!(
        events_of(&app, u).await,
        ["ASSIGNED", "COMPLETED", "RENEWAL_OPENED"]
    );
    // Day 366: the old cycle expires; the course is EXPIRED although the renewal is open.
    app.clock.advance(Duration::days(26));
    tick(&app).await;
    let s = status(&app, u).await;
    assert_eq!(s["status"], "NON_COMPLIANT");
    assert_eq!(s["items"][0]["status"], "EXPIRED");
    assert_eq!(
        events_of(&app, u).await,
        [
            "ASSIGNED",
            "COMPLETED",
            "RENEWAL_OPENED",
            "OVERDUE",
            "EXPIRED"
        ]
    );
    let history = app
        .ok(
            "query($u: ID!) { user(id: $u) { assignments { status } } }",
            json!({ "u": u.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        history["user"]["assignments"],
        json!([{ "status": "EXPIRED" }, { "status": "ASSIGNED" }])
    );
    // Completing the renewal makes the user compliant again.
    app.ok(
        RECORD,
        json!({ "i": { "userId": u.to_string(), "courseId": c.to_string() } }),
        &app.admin,
    )
    .await;
    let s = status(&app, u).await;
    assert_eq!(s["status"], "COMPLIANT");
    assert_eq!(s["items"][0]["expiresAt"], "2028-03-01T09:00:00Z");
    // Ticking again changes nothing.
    let n = events_of(&app, u).await.len();
    tick(&app).await;
    assert_eq!(events_of(&app, u).await.len(), n);
}

#[tokio::test]
async fn unlock_and_overdue_happen_on_time_once_and_catch_up_after_downtime() {
    let app = TestApp::spawn().await;
    let intro = course(&app, "Intro", None, None).await;
    let policies = course(&app, "Policies", None, None).await;
    let (u, _) = member_with_rule(
        &app,
        &[(intro, None, Some(2)), (policies, Some(3), Some(5))],
    )
    .await;
    assert_eq!(open_assignment(&app, u, policies).await["status"], "LOCKED");
    app.clock.advance(Duration::days(1));
    tick(&app).await;
    assert_eq!(
        open_assignment(&app, u, policies).await["status"],
        "LOCKED",
        "not yet"
    );
    assert_eq!(status(&app, u).await["status"], "PENDING");
    // The server was down for a week: one tick applies every transition that fell due.
    app.clock.advance(Duration::days(6));
    tick(&app).await;
    assert_eq!(
        open_assignment(&app, u, policies).await["status"],
        "ASSIGNED"
    );
    let mut ev = events_of(&app, u).await;
    ev.sort();
    assert_eq!(
        ev,
        ["ASSIGNED", "ASSIGNED", "OVERDUE", "OVERDUE", "UNLOCKED"]
    );
    let s = status(&app, u).await;
    assert_eq!(s["status"], "NON_COMPLIANT");
    assert!(
        s["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "OVERDUE")
    );
    tick(&app).await;
    assert_eq!(events_of(&app, u).await.len(), 5, "a tick is idempotent");
}

#[tokio::test]
async fn starting_an_assignment() {
    let app = TestApp::spawn().await;
    let (a_course, b_course) = (
        course(&app, "A", None, None).await,
        course(&app, "B", None, None).await,
    );
    let (u, _) = member_with_rule(&app, &[(a_course, None, None), (b_course, Some(3), None)]).await;
    let other = app.user().await;
    let a = open_assignment(&app, u, a_course).await;
    let b = open_assignment(&app, u, b_course).await;
    let q = "mutation($i: StartAssignmentInput!) { startAssignment(input: $i) { assignment { status startedAt } } }";
    let me = app.token(u, OrgRole::Learner);
    let not_me = app.token(other, OrgRole::Learner);
    let before = app.rows("assignment_events").await;
    assert_code(
        &app.execute(q, json!({ "i": { "id": a["id"] } }), &not_me)
            .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(q, json!({ "i": { "id": b["id"] } }), &me).await,
        "VALIDATION",
    );
    assert_eq!(app.rows("assignment_events").await, before);
    let data = app.ok(q, json!({ "i": { "id": a["id"] } }), &me).await;
    assert_eq!(
        data["startAssignment"]["assignment"]["status"],
        "IN_PROGRESS"
    );
    assert_eq!(
        data["startAssignment"]["assignment"]["startedAt"],
        "2026-03-01T09:00:00Z"
    );
    app.ok(q, json!({ "i": { "id": a["id"] } }), &me).await;
    assert_eq!(
        events_of(&app, u)
            .await
            .iter()
            .filter(|k| *k == "STARTED")
            .count(),
        1,
        "starting twice changes nothing"
    );
}

#[tokio::test]
async fn status_as_of_a_past_date_does_not_move_when_the_org_changes() {
    let app = TestApp::spawn().await;
    let safety = course(&app, "Safety", Some(365), Some(30)).await;
    let policies = course(&app, "Policies", None, None).await;
    let acme = app.group("Acme", None).await;
    let wh = app.group("Warehouse", Some(acme)).await;
    let office = app.group("Office", Some(acme)).await;
    let created = rule(&app, json!({ "name": "Warehouse", "audience": { "groupId": wh.to_string() }, "courses": [{ "courseId": safety.to_string(), "dueAfterDays": 10 }] })).await;
    let rid = created["rule"]["id"].as_str().unwrap().to_string();
    rule(&app, json!({ "name": "Everyone", "audience": { "groupId": acme.to_string() }, "courses": [{ "courseId": policies.to_string() }] })).await;
    let (a, b, c) = (app.user().await, app.user().await, app.user().await);
    app.add_member(a, wh).await;
    app.add_member(b, wh).await;
    app.add_member(c, office).await;
    // a completes safety; b will be overdue; c only needs policies (pending).
    app.ok(
        RECORD,
        json!({ "i": { "userId": a.to_string(), "courseId": safety.to_string() } }),
        &app.admin,
    )
    .await;
    app.ok(
        RECORD,
        json!({ "i": { "userId": a.to_string(), "courseId": policies.to_string() } }),
        &app.admin,
    )
    .await;
    app.clock.advance(Duration::days(20));
    tick(&app).await;
    let march21 = "2026-03-21T09:00:00Z";
    let report_q = "query($at: DateTime, $g: ID) { complianceReport(asOf: $at, filter: { groupId: $g }) { asOf total compliant atRisk pending nonCompliant rate
        byCourse { course { title } total compliant overdue pending } byGroup { group { name } counts { total nonCompliant } }
        users(first: 10) { totalCount nodes { user { id } status items { status } } } } }";
    let snapshot = app
        .ok(
            report_q,
            json!({ "at": march21, "g": acme.to_string() }),
            &app.admin,
        )
        .await;
    let r = &snapshot["complianceReport"];
    assert_eq!(
        (
            r["total"].as_i64(),
            r["compliant"].as_i64(),
            r["pending"].as_i64(),
            r["nonCompliant"].as_i64()
        ),
        (Some(3), Some(1), Some(1), Some(1))
    );
    assert!((r["rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(r["users"]["totalCount"], 3);
    let groups: Vec<(String, i64)> = r["byGroup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"]["name"].as_str().unwrap().into(),
                g["counts"]["nonCompliant"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [("Office".to_string(), 0), ("Warehouse".to_string(), 1)]
    );
    let b_status = app
        .ok(
            STATUS,
            json!({ "u": b.to_string(), "at": march21 }),
            &app.admin,
        )
        .await;
    let office_then = app
        .ok(
            report_q,
            json!({ "at": march21, "g": office.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(office_then["complianceReport"]["total"], 1, "c alone");

    // Later the org changes: b is transferred out, the rule is edited, everyone completes.
    app.clock.advance(Duration::days(5));
    app.ok("mutation($i: TransferUserInput!) { transferUser(input: $i) { membership { id } } }", json!({ "i": { "userId": b.to_string(), "fromGroupId": wh.to_string(), "toGroupId": office.to_string() } }), &app.admin).await;
    app.ok(crate::engine::UPDATE_RULE, json!({ "i": { "id": rid, "courses": [{ "courseId": safety.to_string(), "dueAfterDays": 90 }] } }), &app.admin).await;
    for u in [b, c] {
        app.ok(
            RECORD,
            json!({ "i": { "userId": u.to_string(), "courseId": policies.to_string() } }),
            &app.admin,
        )
        .await;
    }
    // And the tree changes: the warehouse now hangs under the office.
    app.ok(
        "mutation($i: MoveGroupInput!) { moveGroup(input: $i) { group { id } } }",
        json!({ "i": { "id": wh.to_string(), "parentId": office.to_string() } }),
        &app.admin,
    )
    .await;
    let again = app
        .ok(
            report_q,
            json!({ "at": march21, "g": acme.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(again, snapshot, "the answer for 21 March is unchanged");
    assert_eq!(
        app.ok(
            report_q,
            json!({ "at": march21, "g": office.to_string() }),
            &app.admin
        )
        .await,
        office_then,
        "the office's answer for 21 March does not take in the warehouse moved under it since"
    );
    let office_now = app
        .ok(
            report_q,
            json!({ "at": null, "g": office.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        office_now["complianceReport"]["total"], 3,
        "today the office's subtree holds a, b and c"
    );
    assert_eq!(
        app.ok(
            STATUS,
            json!({ "u": b.to_string(), "at": march21 }),
            &app.admin
        )
        .await,
        b_status
    );
    // Now everyone is compliant: b left the warehouse, so safety is no longer required of them.
    let now = app
        .ok(
            report_q,
            json!({ "at": null, "g": acme.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(now["complianceReport"]["compliant"], 3);
}

#[tokio::test]
async fn reports_follow_the_viewers_scope_and_expiring_completions_list_what_lapses_soon() {
    let app = TestApp::spawn().await;
    let c = course(&app, "Cert", Some(40), None).await;
    let (u, g) = member_with_rule(&app, &[(c, None, None)]).await;
    let v = app.user().await;
    app.add_member(v, g).await;
    app.ok(
        RECORD,
        json!({ "i": { "userId": u.to_string(), "courseId": c.to_string() } }),
        &app.admin,
    )
    .await;
    app.clock.advance(Duration::days(5));
    app.ok(
        RECORD,
        json!({ "i": { "userId": v.to_string(), "courseId": c.to_string() } }),
        &app.admin,
    )
    .await;
    let q = "query($d: Int) { expiringCompletions(withinDays: $d) { totalCount nodes { user { id } expiresAt } } }";
    let data = app.ok(q, json!({ "d": 36 }), &app.admin).await;
    assert_eq!(data["expiringCompletions"]["totalCount"], 1);
    assert_eq!(
        data["expiringCompletions"]["nodes"][0]["user"]["id"],
        u.to_string()
    );
    let data = app.ok(q, json!({ "d": 60 }), &app.admin).await;
    assert_eq!(data["expiringCompletions"]["totalCount"], 2);
    assert_code(
        &app.execute(q, json!({ "d": -1 }), &app.admin).await,
        "VALIDATION",
    );
    // A learner's report covers the learner alone.
    let learner = app.token(v, OrgRole::Learner);
    let data = app
        .ok(
            "{ complianceReport { total users { nodes { user { id } } } } }",
            json!({}),
            &learner,
        )
        .await;
    assert_eq!(data["complianceReport"]["total"], 1);
    assert_eq!(
        data["complianceReport"]["users"]["nodes"][0]["user"]["id"],
        v.to_string()
    );
    let data = app.ok("{ now: complianceStatus { status } wide: complianceStatus(warningDays: 45) { status } }", json!({}), &learner).await;
    assert_eq!(
        data["now"]["status"], "COMPLIANT",
        "the viewer by default; expires in 40 days"
    );
    assert_eq!(
        data["wide"]["status"], "AT_RISK",
        "within a 45-day warning window"
    );
    assert_code(
        &app.execute(
            "query($u: ID!) { complianceStatus(userId: $u) { status } }",
            json!({ "u": u.to_string() }),
            &learner,
        )
        .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            "query($g: ID!) { complianceReport(filter: { groupId: $g }) { total } }",
            json!({ "g": Uuid::now_v7().to_string() }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn two_schedulers_on_one_database_apply_each_transition_once() {
    let app = TestApp::spawn().await;
    let c = course(&app, "Timed", None, None).await;
    for _ in 0..3 {
        member_with_rule(&app, &[(c, Some(1), Some(2))]).await;
    }
    app.clock.advance(Duration::days(3));
    let second = skillgraph::build_state(
        &app.database_url,
        skillgraph::jwt::JwtKeys::hs256(crate::helpers::SECRET),
        std::sync::Arc::new(app.clock.clone()),
        Default::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.message()));
    let (x, y) = tokio::join!(scheduler::tick(&app.state), scheduler::tick(&second));
    x.unwrap_or_else(|e| panic!("{}", e.message()));
    y.unwrap_or_else(|e| panic!("{}", e.message()));
    let data = app.ok("{ auditLog(filter: { actions: [\"SCHEDULE_APPLIED\"] }) { totalCount nodes { after } } }", json!({}), &app.admin).await;
    assert_eq!(
        data["auditLog"]["totalCount"], 1,
        "one instance applied the tick: {data}"
    );
    assert_eq!(data["auditLog"]["nodes"][0]["after"]["unlocked"], 3);
    assert_eq!(data["auditLog"]["nodes"][0]["after"]["overdue"], 3);
}
