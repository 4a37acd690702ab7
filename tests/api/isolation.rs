//! Tenant isolation as a property: random ids (and cursors) of organization A's objects, asked
//! with a token of organization B of every org role (OWNER, ADMIN, HR, MANAGER, LEARNER), and
//! with the secret of B's API client holding every scope, through every query and mutation
//! taking an id, never answer data of A — only NOT_FOUND, null or an empty list, never
//! FORBIDDEN, whatever the role — and never write anything in A. (The client may also be
//! FORBIDDEN an operation outside every scope: that refusal names nothing of A.)

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use crate::helpers::{TestApp, id};

/// Who holds a credential of B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Person(OrgRole),
    /// B's API client, holding every scope.
    Client,
}

/// The top-level fields an API client holding every scope may use (DESIGN.md, "Who acts").
const CLIENT_FIELDS: &[&str] = &[
    "createUser",
    "updateUser",
    "deactivateUser",
    "createGroup",
    "updateGroup",
    "moveGroup",
    "deleteGroup",
    "addMembership",
    "removeMembership",
    "transferUser",
    "setPrimaryRole",
    "startAssignment",
    "recordCompletion",
    "assignmentEvents",
    "user",
    "users",
    "group",
    "groups",
    "assignment",
    "assignments",
    "complianceStatus",
    "complianceReport",
    "expiringCompletions",
    "track",
    "tracks",
    "trackReport",
];

/// The first top-level field of a one-field document.
fn top_field(doc: &str) -> &str {
    let body = &doc[doc.find('{').unwrap() + 1..];
    let body = body.trim_start();
    let end = body
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(body.len());
    &body[..end]
}

/// Audit events of A (B's own denials of its client are B's).
async fn audit_rows(app: &TestApp) -> i64 {
    let p = if crate::helpers::is_postgres() {
        "$1"
    } else {
        "?"
    };
    app.scalar(&format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE org_id = {p}"
    ))
    .await
}

/// One operation taking ids: its document and variables, whose `@kind` placeholders become a
/// random object of A of that kind and `@b:kind` an object of B. `cursor` operations may also
/// answer VALIDATION (a cursor of another organization is malformed for this one).
struct Op {
    doc: &'static str,
    vars: fn() -> Value,
    cursor: bool,
}

const fn op(doc: &'static str, vars: fn() -> Value) -> Op {
    Op {
        doc,
        vars,
        cursor: false,
    }
}

const fn cursor_op(doc: &'static str, vars: fn() -> Value) -> Op {
    Op {
        doc,
        vars,
        cursor: true,
    }
}

fn ops() -> Vec<Op> {
    vec![
        // ---- queries by id
        op(
            "query($x: ID!) { user(id: $x) { id name email } }",
            || json!({ "x": "@user" }),
        ),
        op(
            "query($x: ID!) { group(id: $x) { id name members { nodes { id } } } }",
            || json!({ "x": "@group" }),
        ),
        op(
            "query($x: ID!) { role(id: $x) { id name } }",
            || json!({ "x": "@role" }),
        ),
        op(
            "query($x: ID!) { skill(id: $x) { id name } }",
            || json!({ "x": "@skill" }),
        ),
        op(
            "query($x: ID!) { course(id: $x) { id title } }",
            || json!({ "x": "@course" }),
        ),
        op(
            "query($x: ID!) { rule(id: $x) { id name } }",
            || json!({ "x": "@rule" }),
        ),
        op(
            "query($x: ID!) { assignment(id: $x) { id user { id } } }",
            || json!({ "x": "@assignment" }),
        ),
        // ---- lists filtered by an id
        op(
            "query($x: ID!) { users(filter: { groupId: $x }) { nodes { id } } }",
            || json!({ "x": "@group" }),
        ),
        op(
            "query($x: ID!) { users(filter: { roleId: $x }) { nodes { id } } }",
            || json!({ "x": "@role" }),
        ),
        op(
            "query($x: ID!) { groups(parentId: $x) { id } }",
            || json!({ "x": "@group" }),
        ),
        op(
            "query($x: ID!) { assignments(filter: { userId: $x }) { nodes { id } } }",
            || json!({ "x": "@user" }),
        ),
        op(
            "query($x: ID!) { assignments(filter: { groupId: $x }) { nodes { id } } }",
            || json!({ "x": "@group" }),
        ),
        op(
            "query($x: ID!) { assignments(filter: { courseId: $x }) { nodes { id } } }",
            || json!({ "x": "@course" }),
        ),
        op(
            "query($x: ID!) { assignments(filter: { ruleId: $x }) { nodes { id } } }",
            || json!({ "x": "@rule" }),
        ),
        op(
            "query($x: ID!) { complianceStatus(userId: $x) { status items { course { id } } } }",
            || json!({ "x": "@user" }),
        ),
        op(
            "query($x: ID!) { complianceReport(filter: { groupId: $x }) { total users { nodes { user { id } } } } }",
            || json!({ "x": "@group" }),
        ),
        op(
            "query($x: ID!) { complianceReport(filter: { roleId: $x }) { total } }",
            || json!({ "x": "@role" }),
        ),
        op(
            "query($x: ID!) { complianceReport(filter: { courseId: $x }) { total } }",
            || json!({ "x": "@course" }),
        ),
        op(
            "query($x: ID!) { expiringCompletions(withinDays: 1000, filter: { groupId: $x }) { nodes { id } } }",
            || json!({ "x": "@group" }),
        ),
        op(
            "query($x: ID!) { expiringCompletions(withinDays: 1000, filter: { courseId: $x }) { nodes { id } } }",
            || json!({ "x": "@course" }),
        ),
        op(
            "query($x: ID!) { roleMatches(userId: $x) { nodes { role { id } percent } } }",
            || json!({ "x": "@user" }),
        ),
        op(
            "query($x: ID!) { roleMatches(filter: { categoryId: $x }) { nodes { role { id } } } }",
            || json!({ "x": "@category" }),
        ),
        op(
            "query($x: ID!) { roleMatches(filter: { skillId: $x }) { nodes { role { id } } } }",
            || json!({ "x": "@skill" }),
        ),
        op(
            "query($x: ID!) { recommendations(userId: $x) { course { id } } }",
            || json!({ "x": "@user" }),
        ),
        op(
            "query($a: ID!, $b: ID!) { careerPaths(fromRoleId: $a, toRoleId: $b) { steps roles { id } } }",
            || json!({ "a": "@role", "b": "@role" }),
        ),
        op(
            "query($a: ID!, $b: ID!) { careerPaths(fromRoleId: $a, toRoleId: $b) { steps } }",
            || json!({ "a": "@b:role", "b": "@role" }),
        ),
        op(
            "query($a: ID!, $u: ID!) { careerPaths(fromRoleId: $a, toRoleId: $a, userId: $u) { steps } }",
            || json!({ "a": "@b:role", "u": "@user" }),
        ),
        op(
            "query($r: ID!, $u: ID!) { role(id: $r) { match(userId: $u) { percent } } }",
            || json!({ "r": "@b:role", "u": "@user" }),
        ),
        op(
            "query($u: ID!, $s: ID!) { user(id: $u) { skillRatings(skillId: $s) { level } } }",
            || json!({ "u": "@b:user", "s": "@skill" }),
        ),
        op(
            "query($x: ID!) { rules(filter: { groupId: $x }) { id } }",
            || json!({ "x": "@group" }),
        ),
        op(
            "query($x: ID!) { rules(filter: { courseId: $x }) { id } }",
            || json!({ "x": "@course" }),
        ),
        op(
            "query($x: ID!) { rules(filter: { roleId: $x }) { id } }",
            || json!({ "x": "@role" }),
        ),
        op(
            "query($r: ID!, $c: ID!) { previewRule(ruleId: $r, input: { name: \"P\", audience: { groupId: $c } courses: [] }) { usersAffected } }",
            || json!({ "r": "@rule", "c": "@b:group" }),
        ),
        op(
            "query($g: ID!, $c: ID!) { previewRule(input: { name: \"P\", audience: { groupId: $g } courses: [{ courseId: $c }] }) { usersAffected assign { users { id } } } }",
            || json!({ "g": "@group", "c": "@b:course" }),
        ),
        op(
            "query($g: ID!, $c: ID!) { previewRule(input: { name: \"P\", audience: { groupId: $g } courses: [{ courseId: $c }] }) { usersAffected } }",
            || json!({ "g": "@b:group", "c": "@course" }),
        ),
        op(
            "query($x: ID!) { auditLog(filter: { subjectId: $x }) { nodes { id after } } }",
            || json!({ "x": "@user" }),
        ),
        op(
            "query($x: ID!) { auditLog(filter: { actorId: $x }) { nodes { id after } } }",
            || json!({ "x": "@user" }),
        ),
        op(
            "query($x: ID!) { assignmentEvents(filter: { userId: $x }) { nodes { cursor } } }",
            || json!({ "x": "@user" }),
        ),
        op(
            "query($x: ID!) { assignmentEvents(filter: { groupId: $x }) { nodes { cursor } } }",
            || json!({ "x": "@group" }),
        ),
        op(
            "query($x: ID!) { assignmentEvents(filter: { courseId: $x }) { nodes { cursor } } }",
            || json!({ "x": "@course" }),
        ),
        op(
            "query($x: ID!) { assignmentEvents(filter: { ruleId: $x }) { nodes { cursor } } }",
            || json!({ "x": "@rule" }),
        ),
        // ---- learning tracks
        op(
            "query($x: ID!) { track(id: $x) { id name } }",
            || json!({ "x": "@track" }),
        ),
        op(
            "query($x: ID!) { trackReport(trackId: $x) { enrolled } }",
            || json!({ "x": "@track" }),
        ),
        op(
            "query($x: ID!) { rubric(id: $x) { id name assessments { id } } }",
            || json!({ "x": "@rubric" }),
        ),
        op(
            "query($x: ID!) { rubrics(trackId: $x) { id } }",
            || json!({ "x": "@track" }),
        ),
        op(
            "query($x: ID!) { tracks(ownerId: $x) { id } }",
            || json!({ "x": "@user" }),
        ),
        op(
            "query($u: ID!) { user(id: $u) { assessments { id } } }",
            || json!({ "u": "@user" }),
        ),
        op(
            "mutation($i: UpdateTrackInput!) { updateTrack(input: $i) { track { id } } }",
            || json!({ "i": { "id": "@track", "name": "Mine" } }),
        ),
        op(
            "mutation($i: UpdateTrackInput!) { updateTrack(input: $i) { track { id } } }",
            || json!({ "i": { "id": "@b:track", "roleId": "@role" } }),
        ),
        op(
            "mutation($i: UpdateTrackInput!) { updateTrack(input: $i) { track { id } } }",
            || json!({ "i": { "id": "@b:track", "courses": [{ "courseId": "@course" }] } }),
        ),
        op(
            "mutation($i: CreateTrackInput!) { createTrack(input: $i) { track { id } } }",
            || json!({ "i": { "name": "@new:name", "ownerId": "@user", "courses": [{ "courseId": "@b:course" }] } }),
        ),
        op(
            "mutation($i: CreateTrackInput!) { createTrack(input: $i) { track { id } } }",
            || json!({ "i": { "name": "@new:name", "ownerId": "@b:user", "courses": [{ "courseId": "@course" }] } }),
        ),
        op(
            "mutation($i: CreateRubricInput!) { createRubric(input: $i) { rubric { id } } }",
            || json!({ "i": { "name": "@new:name", "trackId": "@track", "passingPercent": 50, "dimensions": [{ "skillId": "@b:skill", "maxPoints": 5 }] } }),
        ),
        op(
            "mutation($i: CreateRubricInput!) { createRubric(input: $i) { rubric { id } } }",
            || json!({ "i": { "name": "@new:name", "roleId": "@role", "passingPercent": 50, "dimensions": [{ "skillId": "@b:skill", "maxPoints": 5 }] } }),
        ),
        op(
            "mutation($i: CreateRubricInput!) { createRubric(input: $i) { rubric { id } } }",
            || json!({ "i": { "name": "@new:name", "trackId": "@b:track", "passingPercent": 50, "dimensions": [{ "skillId": "@skill", "maxPoints": 5 }] } }),
        ),
        op(
            "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { assessment { id } } }",
            || json!({ "i": { "rubricId": "@rubric", "userId": "@b:user", "scores": [{ "skillId": "@skill", "points": 1 }] } }),
        ),
        op(
            "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { assessment { id } } }",
            || json!({ "i": { "rubricId": "@b:rubric", "userId": "@user", "scores": [{ "skillId": "@b:skill", "points": 1 }] } }),
        ),
        op(
            "mutation($i: AddSkillDependencyInput!) { addSkillDependency(input: $i) { skill { id } } }",
            || json!({ "i": { "skillId": "@b:skill", "requiresSkillId": "@skill" } }),
        ),
        op(
            "mutation($i: AddSkillDependencyInput!) { addSkillDependency(input: $i) { skill { id } } }",
            || json!({ "i": { "skillId": "@skill", "requiresSkillId": "@b:skill" } }),
        ),
        op(
            "mutation($i: RemoveSkillDependencyInput!) { removeSkillDependency(input: $i) { skill { id } } }",
            || json!({ "i": { "skillId": "@skill2", "requiresSkillId": "@skill" } }),
        ),
        // ---- cursors of A
        cursor_op(
            "query($c: String!) { assignmentEvents(after: $c) { nodes { assignment { id } } } }",
            || json!({ "c": "@cursor:events" }),
        ),
        cursor_op(
            "query($c: String!) { users(after: $c) { nodes { id } } }",
            || json!({ "c": "@cursor:users" }),
        ),
        cursor_op(
            "query($c: String!) { assignments(after: $c) { nodes { id } } }",
            || json!({ "c": "@cursor:assignments" }),
        ),
        cursor_op(
            "query($c: String!) { auditLog(after: $c) { nodes { id } } }",
            || json!({ "c": "@cursor:audit" }),
        ),
        // ---- mutations naming an object of A
        op(
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
            || json!({ "i": { "id": "@user", "name": "Taken over" } }),
        ),
        op(
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id manager { id } } } }",
            || json!({ "i": { "id": "@b:user", "managerId": "@user" } }),
        ),
        op(
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
            || json!({ "i": { "email": "@new:email", "name": "Spy", "managerId": "@user" } }),
        ),
        op(
            "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { id } } }",
            || json!({ "i": { "id": "@user" } }),
        ),
        op(
            "mutation($i: CreateGroupInput!) { createGroup(input: $i) { group { id } } }",
            || json!({ "i": { "name": "Inside", "parentId": "@group" } }),
        ),
        op(
            "mutation($i: UpdateGroupInput!) { updateGroup(input: $i) { group { id } } }",
            || json!({ "i": { "id": "@group", "name": "Renamed" } }),
        ),
        op(
            "mutation($i: MoveGroupInput!) { moveGroup(input: $i) { group { id } } }",
            || json!({ "i": { "id": "@group", "parentId": null } }),
        ),
        op(
            "mutation($i: MoveGroupInput!) { moveGroup(input: $i) { group { id } } }",
            || json!({ "i": { "id": "@b:group", "parentId": "@group" } }),
        ),
        op(
            "mutation($i: DeleteGroupInput!) { deleteGroup(input: $i) { group { id } } }",
            || json!({ "i": { "id": "@group" } }),
        ),
        op(
            "mutation($i: AddMembershipInput!) { addMembership(input: $i) { membership { id } } }",
            || json!({ "i": { "userId": "@user", "groupId": "@b:group" } }),
        ),
        op(
            "mutation($i: AddMembershipInput!) { addMembership(input: $i) { membership { id } } }",
            || json!({ "i": { "userId": "@b:user", "groupId": "@group" } }),
        ),
        op(
            "mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { membership { id } } }",
            || json!({ "i": { "userId": "@user", "groupId": "@group" } }),
        ),
        op(
            "mutation($i: TransferUserInput!) { transferUser(input: $i) { membership { id } } }",
            || json!({ "i": { "userId": "@user", "fromGroupId": "@group", "toGroupId": "@b:group" } }),
        ),
        op(
            "mutation($i: SetPrimaryRoleInput!) { setPrimaryRole(input: $i) { user { id } } }",
            || json!({ "i": { "userId": "@user", "roleId": "@b:role" } }),
        ),
        op(
            "mutation($i: SetPrimaryRoleInput!) { setPrimaryRole(input: $i) { user { id } } }",
            || json!({ "i": { "userId": "@b:user", "roleId": "@role" } }),
        ),
        op(
            "mutation($i: SetTargetRoleInput!) { setTargetRole(input: $i) { user { id } } }",
            || json!({ "i": { "roleId": "@role" } }),
        ),
        op(
            "mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id } } }",
            || json!({ "i": { "name": "@new:name", "categoryId": "@category" } }),
        ),
        op(
            "mutation($i: UpdateRoleInput!) { updateRole(input: $i) { role { id } } }",
            || json!({ "i": { "id": "@role", "description": "mine now" } }),
        ),
        op(
            "mutation($i: UpdateRoleInput!) { updateRole(input: $i) { role { id } } }",
            || json!({ "i": { "id": "@b:role", "categoryId": "@category" } }),
        ),
        op(
            "mutation($i: DeleteRoleInput!) { deleteRole(input: $i) { role { id } } }",
            || json!({ "i": { "id": "@role" } }),
        ),
        op(
            "mutation($i: SetRoleSkillsInput!) { setRoleSkills(input: $i) { role { id } } }",
            || json!({ "i": { "id": "@role", "skills": [] } }),
        ),
        op(
            "mutation($i: SetRoleSkillsInput!) { setRoleSkills(input: $i) { role { id } } }",
            || json!({ "i": { "id": "@b:role", "skills": [{ "skillId": "@skill", "level": 1 }] } }),
        ),
        op(
            "mutation($i: LinkRolesInput!) { linkRoles(input: $i) { toRole { id } } }",
            || json!({ "i": { "fromRoleId": "@role", "toRoleId": "@b:role" } }),
        ),
        op(
            "mutation($i: LinkRolesInput!) { unlinkRoles(input: $i) { toRole { id } } }",
            || json!({ "i": { "fromRoleId": "@role", "toRoleId": "@role" } }),
        ),
        op(
            "mutation($i: UpdateRoleCategoryInput!) { updateRoleCategory(input: $i) { roleCategory { id } } }",
            || json!({ "i": { "id": "@category", "name": "Mine" } }),
        ),
        op(
            "mutation($i: UpdateSkillInput!) { updateSkill(input: $i) { skill { id } } }",
            || json!({ "i": { "id": "@skill", "description": "mine" } }),
        ),
        op(
            "mutation($i: RateSkillInput!) { rateSkill(input: $i) { userSkill { level } } }",
            || json!({ "i": { "userId": "@user", "skillId": "@b:skill", "level": 1 } }),
        ),
        op(
            "mutation($i: RateSkillInput!) { rateSkill(input: $i) { userSkill { level } } }",
            || json!({ "i": { "userId": "@b:user", "skillId": "@skill", "level": 1 } }),
        ),
        op(
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
            || json!({ "i": { "title": "Spy course", "prerequisiteIds": ["@course"] } }),
        ),
        op(
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
            || json!({ "i": { "title": "Spy course", "skills": [{ "skillId": "@skill", "level": 1 }] } }),
        ),
        op(
            "mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { course { id } } }",
            || json!({ "i": { "id": "@course", "description": "mine" } }),
        ),
        op(
            "mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { course { id } } }",
            || json!({ "i": { "id": "@b:course", "prerequisiteIds": ["@course"] } }),
        ),
        op(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
            || json!({ "i": { "name": "Spy", "audience": { "groupId": "@group" }, "courses": [{ "courseId": "@b:course" }] } }),
        ),
        op(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
            || json!({ "i": { "name": "Spy", "audience": { "groupId": "@b:group" }, "courses": [{ "courseId": "@course" }] } }),
        ),
        op(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
            || json!({ "i": { "name": "Spy", "audience": { "roleId": "@role" }, "courses": [{ "courseId": "@b:course" }] } }),
        ),
        op(
            "mutation($i: UpdateRuleInput!) { updateRule(input: $i) { rule { id } } }",
            || json!({ "i": { "id": "@rule", "name": "Mine" } }),
        ),
        op(
            "mutation($i: SetRuleActiveInput!) { setRuleActive(input: $i) { rule { id } } }",
            || json!({ "i": { "id": "@rule", "active": false } }),
        ),
        op(
            "mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { rule { id } } }",
            || json!({ "i": { "id": "@rule" } }),
        ),
        op(
            "mutation($i: AssignCourseInput!) { assignCourse(input: $i) { assignments { id } } }",
            || json!({ "i": { "userIds": ["@user"], "courseId": "@b:course" } }),
        ),
        op(
            "mutation($i: AssignCourseInput!) { assignCourse(input: $i) { assignments { id } } }",
            || json!({ "i": { "userIds": ["@b:user"], "courseId": "@course" } }),
        ),
        op(
            "mutation($i: AssignCourseInput!) { assignCourse(input: $i) { assignments { id } } }",
            || json!({ "i": { "groupId": "@group", "courseId": "@b:course" } }),
        ),
        op(
            "mutation($i: UnassignCourseInput!) { unassignCourse(input: $i) { assignment { id } } }",
            || json!({ "i": { "assignmentId": "@assignment" } }),
        ),
        op(
            "query($x: ID!) { apiClient(id: $x) { id name } }",
            || json!({ "x": "@apiClient" }),
        ),
        op(
            "mutation($i: RevokeApiClientInput!) { revokeApiClient(input: $i) { apiClient { id } } }",
            || json!({ "i": { "id": "@apiClient" } }),
        ),
        op(
            "mutation($i: RotateApiClientSecretInput!) { rotateApiClientSecret(input: $i) { secret } }",
            || json!({ "i": { "id": "@apiClient" } }),
        ),
        op(
            "mutation($i: StartAssignmentInput!) { startAssignment(input: $i) { assignment { id } } }",
            || json!({ "i": { "id": "@assignment" } }),
        ),
        op(
            "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { completion { id } } }",
            || json!({ "i": { "assignmentId": "@assignment" } }),
        ),
        op(
            "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { completion { id } } }",
            || json!({ "i": { "userId": "@user", "courseId": "@b:course" } }),
        ),
        op(
            "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { completion { id } } }",
            || json!({ "i": { "userId": "@b:user", "courseId": "@course" } }),
        ),
    ]
}

/// Organization A's objects by kind (every name contains ALPHA), B's by `b:kind`, and every
/// string that would betray A (its ids and cursors).
struct World {
    a: HashMap<&'static str, Vec<String>>,
    b: HashMap<&'static str, String>,
    /// Credentials of B, one per org role and B's API client: (who, token).
    b_tokens: Vec<(Who, String)>,
    secrets: Vec<String>,
}

async fn create(app: &TestApp, token: &str, mutation: &str, payload: &str, input: Value) -> String {
    let doc = format!(
        "mutation($i: {}Input!) {{ {mutation}(input: $i) {{ {payload} {{ id }} }} }}",
        upper_first(mutation)
    );
    let data = app.ok(&doc, json!({ "i": input }), token).await;
    data[mutation][payload]["id"].as_str().unwrap().to_string()
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

async fn world(app: &TestApp) -> World {
    let t = app.owner.clone();
    let mut a: HashMap<&'static str, Vec<String>> = HashMap::new();
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(
            create(app, &t, "createUser", "user", json!({ "email": format!("alpha{i}@alpha.example"), "name": format!("ALPHA person {i}"),
                "managerId": users.first().cloned() }))
            .await,
        );
    }
    let g1 = create(
        app,
        &t,
        "createGroup",
        "group",
        json!({ "name": "ALPHA root" }),
    )
    .await;
    let g2 = create(
        app,
        &t,
        "createGroup",
        "group",
        json!({ "name": "ALPHA team", "parentId": g1 }),
    )
    .await;
    for u in &users {
        app.add_member(id(&json!(u)), id(&json!(g2))).await;
    }
    let cat = create(
        app,
        &t,
        "createRoleCategory",
        "roleCategory",
        json!({ "name": "ALPHA jobs", "featured": true }),
    )
    .await;
    let skill = create(
        app,
        &t,
        "createSkill",
        "skill",
        json!({ "name": "ALPHA skill" }),
    )
    .await;
    let r1 = create(
        app,
        &t,
        "createRole",
        "role",
        json!({ "name": "ALPHA junior", "categoryId": cat }),
    )
    .await;
    let r2 = create(
        app,
        &t,
        "createRole",
        "role",
        json!({ "name": "ALPHA senior", "categoryId": cat }),
    )
    .await;
    app.set_role_skills(id(&json!(r1)), &[(id(&json!(skill)), Some(2))])
        .await;
    app.link(id(&json!(r1)), id(&json!(r2))).await;
    app.rate(id(&json!(users[1])), id(&json!(skill)), 2).await;
    let c1 = create(app, &t, "createCourse", "course", json!({ "title": "ALPHA safety", "validityDays": 365, "skills": [{ "skillId": skill, "level": 3 }] })).await;
    let c2 = create(
        app,
        &t,
        "createCourse",
        "course",
        json!({ "title": "ALPHA ethics", "validityDays": 365 }),
    )
    .await;
    let rule = create(
        app,
        &t,
        "createRule",
        "rule",
        json!({ "name": "ALPHA onboarding", "audience": { "groupId": g1 },
        "courses": [{ "courseId": c1 }, { "courseId": c2 }] }),
    )
    .await;
    app.ok(
        "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { completion { id } } }",
        json!({ "i": { "userId": users[2], "courseId": c2 } }),
        &t,
    )
    .await;
    let skill2 = create(
        app,
        &t,
        "createSkill",
        "skill",
        json!({ "name": "ALPHA advanced skill" }),
    )
    .await;
    app.ok(
        "mutation($i: AddSkillDependencyInput!) { addSkillDependency(input: $i) { skill { id } } }",
        json!({ "i": { "skillId": skill2, "requiresSkillId": skill } }),
        &t,
    )
    .await;
    let track = create(
        app,
        &t,
        "createTrack",
        "track",
        json!({ "name": "ALPHA path", "ownerId": users[3], "roleId": r1, "courses": [{ "courseId": c1 }, { "courseId": c2 }] }),
    )
    .await;
    let rubric = create(
        app,
        &t,
        "createRubric",
        "rubric",
        json!({ "name": "ALPHA review", "trackId": track, "passingPercent": 50,
                "dimensions": [{ "skillId": skill, "maxPoints": 5, "levelOnPass": 3 }] }),
    )
    .await;
    app.ok(
        "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { assessment { id } } }",
        json!({ "i": { "rubricId": rubric, "userId": users[1], "scores": [{ "skillId": skill, "points": 4 }] } }),
        &t,
    )
    .await;
    let data = app
        .ok(
            "{ assignments(first: 500) { nodes { id } } }",
            json!({}),
            &t,
        )
        .await;
    let assignments: Vec<String> = data["assignments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect();
    let cursors = app
        .ok(
            "{ e: assignmentEvents(first: 2) { pageInfo { endCursor } } u: users(first: 2) { pageInfo { endCursor } }
               a: assignments(first: 2) { pageInfo { endCursor } } l: auditLog(first: 2) { pageInfo { endCursor } } }",
            json!({}),
            &t,
        )
        .await;
    let cursor = |k: &str| {
        vec![
            cursors[k]["pageInfo"]["endCursor"]
                .as_str()
                .unwrap()
                .to_string(),
        ]
    };
    a.insert("user", users.clone());
    a.insert("group", vec![g1.clone(), g2.clone()]);
    a.insert("category", vec![cat.clone()]);
    a.insert("skill", vec![skill.clone()]);
    a.insert("skill2", vec![skill2.clone()]);
    a.insert("track", vec![track.clone()]);
    a.insert("rubric", vec![rubric.clone()]);
    a.insert("role", vec![r1.clone(), r2.clone()]);
    a.insert("course", vec![c1.clone(), c2.clone()]);
    a.insert("rule", vec![rule.clone()]);
    let (a_client, a_secret) = app.api_client(&["REPORTS_READ"]).await;
    a.insert("apiClient", vec![a_client.to_string()]);
    a.insert("assignment", assignments.clone());
    a.insert("cursor:events", cursor("e"));
    a.insert("cursor:users", cursor("u"));
    a.insert("cursor:assignments", cursor("a"));
    a.insert("cursor:audit", cursor("l"));
    let mut secrets: Vec<String> = a
        .iter()
        .filter(|(k, _)| !k.starts_with("cursor"))
        .flat_map(|(_, v)| v.clone())
        .collect();
    secrets.push(a_secret);
    secrets.push("ALPHA".into());
    secrets.push("alpha.example".into());
    secrets.push(app.org_id.to_string());

    // Organization B, with one object of each kind to combine with A's ids.
    let (b_org, b_owner) = app.other_org().await;
    let bt = b_owner.clone();
    let b_user = create(
        app,
        &bt,
        "createUser",
        "user",
        json!({ "email": "b@beta.example", "name": "Beta person" }),
    )
    .await;
    let b_group = create(
        app,
        &bt,
        "createGroup",
        "group",
        json!({ "name": "Beta group" }),
    )
    .await;
    app.ok(
        "mutation($i: AddMembershipInput!) { addMembership(input: $i) { membership { id } } }",
        json!({ "i": { "userId": b_user, "groupId": b_group } }),
        &bt,
    )
    .await;
    let b_skill = create(
        app,
        &bt,
        "createSkill",
        "skill",
        json!({ "name": "Beta skill" }),
    )
    .await;
    let b_role = create(
        app,
        &bt,
        "createRole",
        "role",
        json!({ "name": "Beta role" }),
    )
    .await;
    let b_course = create(
        app,
        &bt,
        "createCourse",
        "course",
        json!({ "title": "Beta course" }),
    )
    .await;
    // B's people in every org role; the MANAGER manages b_user, who is the LEARNER.
    let mut b_tokens = vec![(Who::Person(OrgRole::Owner), b_owner.clone())];
    let mint = |user: &str, role: OrgRole| {
        app.state
            .jwt
            .mint(b_org, id(&json!(user)), role, chrono::Duration::hours(1))
            .unwrap()
    };
    for (i, role) in [OrgRole::Admin, OrgRole::Hr, OrgRole::Manager]
        .into_iter()
        .enumerate()
    {
        let u = create(
            app,
            &bt,
            "createUser",
            "user",
            json!({ "email": format!("b{i}@beta.example"), "name": format!("Beta {i}") }),
        )
        .await;
        if role == OrgRole::Manager {
            app.ok(
                "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
                json!({ "i": { "id": b_user, "managerId": u } }),
                &bt,
            )
            .await;
        }
        b_tokens.push((Who::Person(role), mint(&u, role)));
    }
    b_tokens.push((
        Who::Person(OrgRole::Learner),
        mint(&b_user, OrgRole::Learner),
    ));
    let b_client = app
        .ok(
            "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { secret } }",
            json!({ "i": { "name": "Beta partner", "scopes": ["PEOPLE_WRITE", "COMPLETIONS_WRITE", "EVENTS_READ", "REPORTS_READ"] } }),
            &bt,
        )
        .await;
    b_tokens.push((
        Who::Client,
        b_client["createApiClient"]["secret"]
            .as_str()
            .unwrap()
            .to_string(),
    ));
    let b_track = create(
        app,
        &bt,
        "createTrack",
        "track",
        json!({ "name": "Beta path", "ownerId": b_user, "courses": [{ "courseId": b_course }] }),
    )
    .await;
    let b_rubric = create(
        app,
        &bt,
        "createRubric",
        "rubric",
        json!({ "name": "Beta review", "trackId": b_track, "passingPercent": 50,
                "dimensions": [{ "skillId": b_skill, "maxPoints": 5 }] }),
    )
    .await;
    let b = HashMap::from([
        ("b:user", b_user),
        ("b:group", b_group),
        ("b:skill", b_skill),
        ("b:role", b_role),
        ("b:course", b_course),
        ("b:track", b_track),
        ("b:rubric", b_rubric),
    ]);
    World {
        a,
        b,
        b_tokens,
        secrets,
    }
}

impl World {
    /// The variables of `op` with each placeholder replaced; `pick` chooses among A's objects.
    fn vars(&self, op: &Op, pick: &[Index]) -> Value {
        let template = (op.vars)().to_string();
        let mut out = String::new();
        let mut rest = template.as_str();
        let mut n = 0;
        while let Some(at) = rest.find('@') {
            out.push_str(&rest[..at]);
            let tail = &rest[at + 1..];
            let len = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
                .unwrap_or(tail.len());
            let key = &tail[..len];
            let value = if let Some(v) = self.b.get(key) {
                v.clone()
            } else if key == "new:email" {
                format!(
                    "spy{}@beta.example",
                    &Uuid::new_v4().simple().to_string()[..10]
                )
            } else if key == "new:name" {
                format!("Spy {}", Uuid::new_v4().simple())
            } else {
                let pool = self
                    .a
                    .get(key)
                    .unwrap_or_else(|| panic!("no objects of kind {key}"));
                n += 1;
                pool[pick[n % pick.len()].index(pool.len())].clone()
            };
            out.push_str(&value);
            rest = &tail[len..];
        }
        out.push_str(rest);
        serde_json::from_str(&out).unwrap()
    }
}

async fn run_case(
    app: &TestApp,
    world: &World,
    before: &[(&'static str, i64)],
    audit_before: i64,
    op: &Op,
    pick: &[Index],
    role: usize,
) -> Result<(), TestCaseError> {
    let vars = world.vars(op, pick);
    let (role, token) = &world.b_tokens[role];
    let response = app.execute(op.doc, vars.clone(), token).await;
    let text = response.to_string();
    let codes: Vec<&str> = response["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or(""))
                .collect()
        })
        .unwrap_or_default();
    let out_of_scope = *role == Who::Client && !CLIENT_FIELDS.contains(&top_field(op.doc));
    let allowed = |c: &&str| {
        *c == "NOT_FOUND"
            || (op.cursor && *c == "VALIDATION")
            || (out_of_scope && *c == "FORBIDDEN")
    };
    prop_assert!(
        codes.iter().all(allowed),
        "{} as {role:?} with {vars}: only NOT_FOUND (or null) may answer, got {response}",
        op.doc
    );
    if op.doc.starts_with("mutation") {
        prop_assert!(
            !codes.is_empty(),
            "{} as {role:?} with {vars}: a mutation naming A's object succeeded: {response}",
            op.doc
        );
    }
    for secret in &world.secrets {
        prop_assert!(
            !text.contains(secret.as_str()),
            "{} as {role:?} with {vars}: the answer shows {secret}: {response}",
            op.doc
        );
    }
    prop_assert_eq!(
        &app.counts().await[..],
        before,
        "{} as {:?} wrote in A",
        op.doc,
        role
    );
    prop_assert_eq!(
        audit_rows(app).await,
        audit_before,
        "{} as {:?} wrote in A's audit log",
        op.doc,
        role
    );
    Ok(())
}

#[test]
fn another_organizations_ids_answer_not_found_or_null_and_write_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(TestApp::spawn());
    let world = rt.block_on(world(&app));
    let before = rt.block_on(app.counts());
    let audit_before = rt.block_on(audit_rows(&app));
    let ops = ops();
    let first: Vec<Index> = vec![
        any::<Index>()
            .new_tree(&mut TestRunner::deterministic())
            .unwrap()
            .current(),
    ];
    // Every operation once per role, in order, then random ones with random objects and roles.
    let mut failures = Vec::new();
    for op in &ops {
        for role in 0..world.b_tokens.len() {
            if let Err(e) = rt.block_on(run_case(
                &app,
                &world,
                &before,
                audit_before,
                op,
                &first,
                role,
            )) {
                failures.push(e.to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases answered more than NOT_FOUND or null:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        0..ops.len(),
        proptest::collection::vec(any::<Index>(), 3),
        0..world.b_tokens.len(),
    );
    let result = runner.run(&strategy, |(i, pick, role)| {
        rt.block_on(run_case(
            &app,
            &world,
            &before,
            audit_before,
            &ops[i],
            &pick,
            role,
        ))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
