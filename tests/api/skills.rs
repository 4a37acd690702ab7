//! Skills, the proficiency scale, and rating what people can do (with history).

use serde_json::json;
use skillgraph::service::viewer::OrgRole;

use crate::helpers::{TestApp, assert_code, id};

const CREATE: &str =
    "mutation($i: CreateSkillInput!) { createSkill(input: $i) { skill { id name description } } }";
const UPDATE: &str =
    "mutation($i: UpdateSkillInput!) { updateSkill(input: $i) { skill { id name description } } }";
const RATE: &str = "mutation($i: RateSkillInput!) { rateSkill(input: $i) { userSkill { level source ratedAt skill { name } ratedBy { id } } } }";

fn rate_vars(user: uuid::Uuid, skill: uuid::Uuid, level: i32) -> serde_json::Value {
    json!({ "i": { "userId": user.to_string(), "skillId": skill.to_string(), "level": level } })
}

#[tokio::test]
async fn skills_are_created_listed_renamed_and_found() {
    let app = TestApp::spawn().await;
    let data = app
        .ok(
            CREATE,
            json!({ "i": { "name": " Negotiation ", "description": "Reaching agreement" } }),
            &app.admin,
        )
        .await;
    let negotiation = id(&data["createSkill"]["skill"]["id"]);
    assert_eq!(data["createSkill"]["skill"]["name"], "Negotiation");
    app.skill("Forklift operation").await;
    let data = app
        .ok(
            "{ skills { name } some: skills(search: \"FORK\") { name } proficiencyScale { level name } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["skills"],
        json!([{ "name": "Forklift operation" }, { "name": "Negotiation" }])
    );
    assert_eq!(data["some"], json!([{ "name": "Forklift operation" }]));
    assert_eq!(
        data["proficiencyScale"],
        json!([
            { "level": 1, "name": "Novice" }, { "level": 2, "name": "Beginner" },
            { "level": 3, "name": "Competent" }, { "level": 4, "name": "Proficient" },
            { "level": 5, "name": "Expert" }
        ])
    );
    let data = app
        .ok(
            UPDATE,
            json!({ "i": { "id": negotiation.to_string(), "name": "Negotiating", "description": null } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["updateSkill"]["skill"],
        json!({ "id": negotiation.to_string(), "name": "Negotiating", "description": null })
    );
    // A learner reads the catalogue too.
    let learner = app.user().await;
    let token = app.token(learner, OrgRole::Learner);
    let data = app
        .ok(
            "query($id: ID!) { skill(id: $id) { name } }",
            json!({ "id": negotiation.to_string() }),
            &token,
        )
        .await;
    assert_eq!(data["skill"]["name"], "Negotiating");
    let n = app.rows("audit_events").await;
    assert!(n > 0);
}

#[tokio::test]
async fn bad_skill_input_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let skill = app.skill("Welding").await;
    app.skill("Painting").await;
    let hr = app.user().await;
    let hr = app.token(hr, OrgRole::Hr);
    let learner = app.user().await;
    let learner = app.token(learner, OrgRole::Learner);
    let manager = app.user().await;
    let manager = app.token(manager, OrgRole::Manager);
    let before = app.counts().await;
    for (vars, token, code) in [
        (
            json!({ "i": { "name": "WELDING" } }),
            &app.admin,
            "CONFLICT",
        ),
        (json!({ "i": { "name": "  " } }), &app.admin, "VALIDATION"),
        (
            json!({ "i": { "name": "x".repeat(201) } }),
            &app.admin,
            "VALIDATION",
        ),
        (json!({ "i": { "name": "Cooking" } }), &learner, "FORBIDDEN"),
        (json!({ "i": { "name": "Cooking" } }), &manager, "FORBIDDEN"),
    ] {
        assert_code(&app.execute(CREATE, vars, token).await, code);
    }
    assert_code(
        &app.execute(
            UPDATE,
            json!({ "i": { "id": skill.to_string(), "name": "painting" } }),
            &hr,
        )
        .await,
        "CONFLICT",
    );
    assert_code(
        &app.execute(
            UPDATE,
            json!({ "i": { "id": uuid::Uuid::now_v7().to_string(), "name": "X" } }),
            &app.admin,
        )
        .await,
        "NOT_FOUND",
    );
    let scale = "mutation($i: SetProficiencyScaleInput!) { setProficiencyScale(input: $i) { levels { level name } } }";
    assert_code(
        &app.execute(scale, json!({ "i": { "levels": ["Only"] } }), &app.admin)
            .await,
        "VALIDATION",
    );
    assert_code(
        &app.execute(scale, json!({ "i": { "levels": ["A", "a"] } }), &app.admin)
            .await,
        "VALIDATION",
    );
    assert_code(
        &app.execute(scale, json!({ "i": { "levels": ["A", "B"] } }), &learner)
            .await,
        "FORBIDDEN",
    );
    assert_eq!(app.counts().await, before);

    // HR may create and rename.
    app.ok(CREATE, json!({ "i": { "name": "Cooking" } }), &hr)
        .await;
}

#[tokio::test]
async fn the_scale_can_be_replaced_unless_ratings_sit_above_it() {
    let app = TestApp::spawn().await;
    let scale = "mutation($i: SetProficiencyScaleInput!) { setProficiencyScale(input: $i) { levels { level name } } }";
    let data = app
        .ok(
            scale,
            json!({ "i": { "levels": ["Aware", "Practitioner", "Expert"] } }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["setProficiencyScale"]["levels"][2],
        json!({ "level": 3, "name": "Expert" })
    );
    let skill = app.skill("Driving").await;
    let u = app.user().await;
    // Level 4 is now off the scale.
    assert_code(
        &app.execute(RATE, rate_vars(u, skill, 4), &app.admin).await,
        "VALIDATION",
    );
    app.rate(u, skill, 3).await;
    let before = app.counts().await;
    assert_code(
        &app.execute(
            scale,
            json!({ "i": { "levels": ["Low", "High"] } }),
            &app.admin,
        )
        .await,
        "CONFLICT",
    );
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn ratings_record_level_source_and_history() {
    let app = TestApp::spawn().await;
    let skill = app.skill("Negotiation").await;
    let other = app.skill("Forecasting").await;
    let learner = app.user().await;
    let token = app.token(learner, OrgRole::Learner);

    // A learner rates their own skill: SELF.
    let data = app.ok(RATE, rate_vars(learner, skill, 2), &token).await;
    assert_eq!(data["rateSkill"]["userSkill"]["source"], "SELF", "{data}");
    assert_eq!(
        data["rateSkill"]["userSkill"]["ratedBy"]["id"],
        learner.to_string()
    );
    app.clock.advance(chrono::Duration::hours(1));
    // An admin rates them: MANAGER.
    let data = app.ok(RATE, rate_vars(learner, skill, 4), &app.admin).await;
    assert_eq!(data["rateSkill"]["userSkill"]["source"], "MANAGER");
    assert_eq!(data["rateSkill"]["userSkill"]["level"], 4);
    assert_eq!(
        data["rateSkill"]["userSkill"]["ratedBy"]["id"],
        app.admin_id.to_string()
    );
    app.rate(learner, other, 1).await;

    let data = app
        .ok(
            "query($s: ID) { viewer { skills { skill { name } level source ratedBy { id } }
               skillRatings(skillId: $s) { level source }
               all: skillRatings { level } } }",
            json!({ "s": skill.to_string() }),
            &token,
        )
        .await;
    assert_eq!(
        data["viewer"]["skills"],
        json!([
            { "skill": { "name": "Forecasting" }, "level": 1, "source": "MANAGER", "ratedBy": null },
            { "skill": { "name": "Negotiation" }, "level": 4, "source": "MANAGER", "ratedBy": null }
        ])
    );
    assert_eq!(
        data["viewer"]["skillRatings"],
        json!([{ "level": 4, "source": "MANAGER" }, { "level": 2, "source": "SELF" }]),
        "history, newest first"
    );
    assert_eq!(data["viewer"]["all"].as_array().unwrap().len(), 3);
    let log = app
        .ok(
            "{ auditLog(filter: { actions: [\"SKILL_RATED\"] }) { totalCount nodes { subjectId after } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(log["auditLog"]["totalCount"], 3);
    assert_eq!(
        log["auditLog"]["nodes"][0]["subjectId"],
        learner.to_string()
    );
}

#[tokio::test]
async fn managers_rate_their_reports_and_learners_only_themselves() {
    let app = TestApp::spawn().await;
    let skill = app.skill("Safety").await;
    let boss = app.user().await;
    let report = app.user().await;
    let stranger = app.user().await;
    app.ok(
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
        json!({ "i": { "id": report.to_string(), "managerId": boss.to_string() } }),
        &app.admin,
    )
    .await;
    let boss_token = app.token(boss, OrgRole::Manager);
    let data = app.ok(RATE, rate_vars(report, skill, 3), &boss_token).await;
    assert_eq!(data["rateSkill"]["userSkill"]["source"], "MANAGER");
    let hr = app.token(app.user().await, OrgRole::Hr);
    let data = app.ok(RATE, rate_vars(stranger, skill, 1), &hr).await;
    assert_eq!(data["rateSkill"]["userSkill"]["source"], "MANAGER");

    let learner = app.token(report, OrgRole::Learner);
    let before = app.counts().await;
    // A LEARNER rating someone else, a MANAGER rating a non-report: NOT_FOUND,
    // as for anyone out of reach (no existence leak).
    assert_code(
        &app.execute(RATE, rate_vars(stranger, skill, 2), &learner)
            .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(RATE, rate_vars(stranger, skill, 2), &boss_token)
            .await,
        "NOT_FOUND",
    );
    // Outside the scale: VALIDATION.
    for level in [0, 6, -1] {
        assert_code(
            &app.execute(RATE, rate_vars(report, skill, level), &learner)
                .await,
            "VALIDATION",
        );
    }
    // Unknown skill or user: NOT_FOUND.
    let ghost = uuid::Uuid::now_v7();
    assert_code(
        &app.execute(RATE, rate_vars(report, ghost, 2), &learner)
            .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(RATE, rate_vars(ghost, skill, 2), &app.admin)
            .await,
        "NOT_FOUND",
    );
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn another_organizations_skills_and_people_are_invisible() {
    let app = TestApp::spawn().await;
    let skill = app.skill("Welding").await;
    let (_, other) = app.other_org().await;
    let theirs = app
        .ok(CREATE, json!({ "i": { "name": "Welding" } }), &other)
        .await;
    let their_skill = id(&theirs["createSkill"]["skill"]["id"]);
    let u = app.user().await;
    let before = app.counts().await;
    // Rating another organization's skill: NOT_FOUND.
    assert_code(
        &app.execute(RATE, rate_vars(u, their_skill, 2), &app.admin)
            .await,
        "NOT_FOUND",
    );
    // Rating our user from the other organization: NOT_FOUND.
    assert_code(
        &app.execute(RATE, rate_vars(u, skill, 2), &other).await,
        "NOT_FOUND",
    );
    assert_code(
        &app.execute(
            UPDATE,
            json!({ "i": { "id": skill.to_string(), "name": "Mine" } }),
            &other,
        )
        .await,
        "NOT_FOUND",
    );
    assert_eq!(app.counts().await, before);
    let data = app
        .ok(
            "query($id: ID!) { skill(id: $id) { name } skills { name } }",
            json!({ "id": skill.to_string() }),
            &other,
        )
        .await;
    assert!(data["skill"].is_null());
    assert_eq!(data["skills"], json!([{ "name": "Welding" }]));
}
