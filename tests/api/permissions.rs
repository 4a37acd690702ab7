//! The permission matrix of DESIGN.md ("Who may do what") as ONE table: every mutation of the
//! served schema and every sensitive query, run by every org role against a subject who is, or
//! is not, within the viewer's reach. A mutation added to the schema without a row here fails
//! `the_matrix_covers_every_mutation_and_every_query`.
//!
//! Columns (`COLUMNS`): who asks, and about whom. To add a column, append a `Column` and one
//! letter to every row's `expect`. The last column is a track owner: a LEARNER by org role who
//! owns the fixture's track, asking about a learner of that track. They manage their own
//! track's courses, rubrics and assessments and see its learners and reports; for anything else
//! they are the LEARNER they are.
//!
//! Subscriptions have rows too: the subscriber starts the subscription, then an assignment of
//! the subject is made, and the letter tells what the subscriber receives.
//!
//! The refusal rule (README, "How a refusal looks"): an object the viewer may not see — of
//! another organization, or a person outside their reach — is NOT_FOUND (or null, or left out
//! of a list), never FORBIDDEN; an operation the viewer's role may never take, or one on an
//! object they see but may not change, is FORBIDDEN.
//!
//! Letters of `expect`, one per column:
//!   `Y` allowed: no error, the field is not null;
//!   `S` allowed and sees: like `Y`, and the marker (usually the subject's id) is in the answer;
//!   `H` hidden: NOT_FOUND, or an answer (null, empty list …) without the marker;
//!   `N` NOT_FOUND;
//!   `F` FORBIDDEN, nothing written, and (for a mutation) an AUTHZ_DENIED audit event;
//!   `V` not refused: the input may be invalid, but the error is neither FORBIDDEN nor
//!       UNAUTHENTICATED.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use crate::helpers::{TestApp, id};

/// Who asks (the token) and about whom (`@subject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Owner,
    Admin,
    Hr,
    /// A MANAGER asking about one of their (indirect) reports.
    ManagerOfSubject,
    /// A MANAGER asking about someone outside their reporting line.
    ManagerNotOfSubject,
    /// A LEARNER asking about themself.
    LearnerSelf,
    /// A LEARNER asking about a colleague.
    LearnerOther,
    /// A LEARNER who owns the fixture's track, asking about a learner of that track.
    TrackOwner,
    /// An API client holding only the PEOPLE_WRITE scope (it reaches everyone, as HR does).
    PeopleWrite,
    /// An API client holding only COMPLETIONS_WRITE.
    CompletionsWrite,
    /// An API client holding only EVENTS_READ.
    EventsRead,
    /// An API client holding only REPORTS_READ.
    ReportsRead,
}

const COLUMNS: [Column; 12] = [
    Column::Owner,
    Column::Admin,
    Column::Hr,
    Column::ManagerOfSubject,
    Column::ManagerNotOfSubject,
    Column::LearnerSelf,
    Column::LearnerOther,
    Column::TrackOwner,
    Column::PeopleWrite,
    Column::CompletionsWrite,
    Column::EventsRead,
    Column::ReportsRead,
];

/// One operation: the top-level `field` it exercises, the document, its variables (a template:
/// see `Fixture::resolve`), the marker `S`/`H` look for, and the expected letter per column.
struct Row {
    field: &'static str,
    doc: &'static str,
    vars: fn() -> Value,
    marker: &'static str,
    /// The letters of the eight people columns.
    people: &'static str,
    /// The letters of the four API-client columns (PEOPLE_WRITE, COMPLETIONS_WRITE,
    /// EVENTS_READ, REPORTS_READ).
    clients: &'static str,
}

impl Row {
    fn expect(&self) -> impl Iterator<Item = char> + '_ {
        self.people.chars().chain(self.clients.chars())
    }
}

const fn row(
    field: &'static str,
    doc: &'static str,
    vars: fn() -> Value,
    people: &'static str,
    clients: &'static str,
) -> Row {
    Row {
        field,
        doc,
        vars,
        marker: "@subject",
        people,
        clients,
    }
}

const fn row_marked(
    field: &'static str,
    doc: &'static str,
    vars: fn() -> Value,
    marker: &'static str,
    people: &'static str,
    clients: &'static str,
) -> Row {
    Row {
        field,
        doc,
        vars,
        marker,
        people,
        clients,
    }
}

// People columns:                  OWNER ADMIN HR MGR(subject) MGR(other) LRN(self) LRN(other) TRACK_OWNER
// (then, in a second string, the API-client columns: PEOPLE_WRITE COMPLETIONS_WRITE EVENTS_READ
// REPORTS_READ; a client acts with HR's reach within its scopes, and anything outside them is F)
const ORG_ADMIN: &str = "YYYFFFFF"; //    users, groups, memberships
const CATALOG: &str = "YYYFFFFF"; //      roles, skills, categories
const RULES: &str = "YYFFFFFF"; //        rules, courses, deleting roles, audit log
const EVERYONE: &str = "YYYYYYYY";
const SEES_SUBJECT: &str = "SSSSHSHH"; // lists and objects filtered by the viewer's scope
const ABOUT_SUBJECT: &str = "YYYYNYNN"; // a subject outside the scope is NOT_FOUND
const OWN_TRACK: &str = "YYFFFFFY"; //    the track owner's own track: OWNER, ADMIN and its owner
const OTHER_TRACK: &str = "YYFFFFFF"; //  someone else's track: OWNER, ADMIN only

fn rows() -> Vec<Row> {
    vec![
        // ---- users, groups, memberships (OWNER, ADMIN, HR)
        row(
            "createUser",
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
            || json!({ "i": { "email": "@new:email", "name": "New Person" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        row(
            "updateUser",
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
            || json!({ "i": { "id": "@subject", "jobTitle": "Renamed" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        row(
            "deactivateUser",
            "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { id } } }",
            || json!({ "i": { "id": "@new:subject" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        row(
            "createGroup",
            "mutation($i: CreateGroupInput!) { createGroup(input: $i) { group { id } } }",
            || json!({ "i": { "name": "@new:name" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        row(
            "updateGroup",
            "mutation($i: UpdateGroupInput!) { updateGroup(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:group", "name": "@new:name" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        row(
            "moveGroup",
            "mutation($i: MoveGroupInput!) { moveGroup(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:group", "parentId": "@group" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        row(
            "deleteGroup",
            "mutation($i: DeleteGroupInput!) { deleteGroup(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:group" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        row(
            "addMembership",
            "mutation($i: AddMembershipInput!) { addMembership(input: $i) { __typename } }",
            || json!({ "i": { "userId": "@subject", "groupId": "@new:group" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        row(
            "removeMembership",
            "mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { __typename } }",
            || json!({ "i": { "userId": "@subject", "groupId": "@new:groupOfSubject" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        row(
            "transferUser",
            "mutation($i: TransferUserInput!) { transferUser(input: $i) { __typename } }",
            || json!({ "i": { "userId": "@subject", "fromGroupId": "@new:groupOfSubject", "toGroupId": "@new:group" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        row(
            "setPrimaryRole",
            "mutation($i: SetPrimaryRoleInput!) { setPrimaryRole(input: $i) { __typename } }",
            || json!({ "i": { "userId": "@subject", "roleId": "@roleFeatured" } }),
            ORG_ADMIN,
            "YFFF",
        ),
        // ---- the role catalogue (OWNER, ADMIN, HR; deleting roles OWNER, ADMIN)
        row(
            "createRole",
            "mutation($i: CreateRoleInput!) { createRole(input: $i) { __typename } }",
            || json!({ "i": { "name": "@new:name" } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "updateRole",
            "mutation($i: UpdateRoleInput!) { updateRole(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:role", "description": "changed" } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "deleteRole",
            "mutation($i: DeleteRoleInput!) { deleteRole(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:role" } }),
            RULES,
            "FFFF",
        ),
        row(
            "setRoleSkills",
            "mutation($i: SetRoleSkillsInput!) { setRoleSkills(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:role", "skills": [{ "skillId": "@skill", "level": 2 }] } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "linkRoles",
            "mutation($i: LinkRolesInput!) { linkRoles(input: $i) { __typename } }",
            || json!({ "i": { "fromRoleId": "@new:role", "toRoleId": "@roleFeatured" } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "unlinkRoles",
            "mutation($i: LinkRolesInput!) { unlinkRoles(input: $i) { __typename } }",
            || json!({ "i": { "fromRoleId": "@new:linkedRole", "toRoleId": "@roleFeatured" } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "createRoleCategory",
            "mutation($i: CreateRoleCategoryInput!) { createRoleCategory(input: $i) { __typename } }",
            || json!({ "i": { "name": "@new:name" } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "updateRoleCategory",
            "mutation($i: UpdateRoleCategoryInput!) { updateRoleCategory(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:category", "name": "@new:name" } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "createSkill",
            "mutation($i: CreateSkillInput!) { createSkill(input: $i) { __typename } }",
            || json!({ "i": { "name": "@new:name" } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "updateSkill",
            "mutation($i: UpdateSkillInput!) { updateSkill(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:skill", "description": "changed" } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "setProficiencyScale",
            "mutation($i: SetProficiencyScaleInput!) { setProficiencyScale(input: $i) { __typename } }",
            || json!({ "i": { "levels": ["Novice", "Beginner", "Competent", "Proficient", "Expert"] } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "importRolesCsv",
            "mutation($i: ImportRolesCsvInput!) { importRolesCsv(input: $i) { __typename } }",
            || json!({ "i": { "csv": "name,description,category,responsibilities,skills,advances_from\n@new:name,imported,,,,\n" } }),
            CATALOG,
            "FFFF",
        ),
        // ---- everyone: their own target role; ratings of themself (and of reports)
        row(
            "setTargetRole",
            "mutation($i: SetTargetRoleInput!) { setTargetRole(input: $i) { user { id } } }",
            || json!({ "i": { "roleId": "@roleFeatured" } }),
            EVERYONE,
            "FFFF",
        ),
        row(
            "rateSkill",
            "mutation($i: RateSkillInput!) { rateSkill(input: $i) { __typename } }",
            || json!({ "i": { "userId": "@subject", "skillId": "@skill", "level": 3 } }),
            "YYYYNYNN",
            "FFFF",
        ),
        // ---- learning tracks
        row(
            "addSkillDependency",
            "mutation($i: AddSkillDependencyInput!) { addSkillDependency(input: $i) { __typename } }",
            || json!({ "i": { "skillId": "@new:skill", "requiresSkillId": "@skill" } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "createTrack",
            "mutation($i: CreateTrackInput!) { createTrack(input: $i) { __typename } }",
            || json!({ "i": { "name": "@new:name", "ownerId": "@subject", "courses": [{ "courseId": "@course" }] } }),
            RULES,
            "FFFF",
        ),
        row(
            "createRubric",
            "mutation($i: CreateRubricInput!) { createRubric(input: $i) { __typename } }",
            || json!({ "i": { "name": "@new:name", "passingPercent": 70, "dimensions": [{ "skillId": "@skill", "maxPoints": 10 }] } }),
            RULES,
            "FFFF",
        ),
        row(
            "removeSkillDependency",
            "mutation($i: RemoveSkillDependencyInput!) { removeSkillDependency(input: $i) { __typename } }",
            || json!({ "i": { "skillId": "@new:dependentSkill", "requiresSkillId": "@skill" } }),
            CATALOG,
            "FFFF",
        ),
        row(
            "updateTrack",
            "mutation($i: UpdateTrackInput!) { updateTrack(input: $i) { track { id } } }",
            || json!({ "i": { "id": "@new:track", "description": "changed" } }),
            OWN_TRACK,
            "FFFF",
        ),
        row(
            "updateTrack",
            "mutation($i: UpdateTrackInput!) { updateTrack(input: $i) { track { id } } }",
            || json!({ "i": { "id": "@new:track", "ownerId": "@subject" } }),
            OTHER_TRACK,
            "FFFF",
        ),
        row(
            "updateTrack",
            "mutation($i: UpdateTrackInput!) { updateTrack(input: $i) { track { id } } }",
            || json!({ "i": { "id": "@new:otherTrack", "description": "changed" } }),
            OTHER_TRACK,
            "FFFF",
        ),
        row(
            "createRubric",
            "mutation($i: CreateRubricInput!) { createRubric(input: $i) { rubric { id } } }",
            || json!({ "i": { "name": "@new:name", "trackId": "@track", "passingPercent": 70, "dimensions": [{ "skillId": "@skill", "maxPoints": 10 }] } }),
            OWN_TRACK,
            "FFFF",
        ),
        row(
            "createRubric",
            "mutation($i: CreateRubricInput!) { createRubric(input: $i) { rubric { id } } }",
            || json!({ "i": { "name": "@new:name", "trackId": "@otherTrack", "passingPercent": 70, "dimensions": [{ "skillId": "@skill", "maxPoints": 10 }] } }),
            OTHER_TRACK,
            "FFFF",
        ),
        // Assessing: OWNER, ADMIN, HR anyone; a manager their reports; the track's owner its
        // learners, with its rubrics. A person out of reach is NOT_FOUND, a role that never
        // assesses FORBIDDEN.
        row(
            "recordAssessment",
            "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { assessment { id } } }",
            || json!({ "i": { "rubricId": "@rubric", "userId": "@subject", "scores": [{ "skillId": "@skill", "points": 8 }] } }),
            "YYYYNFFY",
            "FFFF",
        ),
        row(
            "recordAssessment",
            "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { assessment { id } } }",
            || json!({ "i": { "rubricId": "@rubricOrgWide", "userId": "@subject", "scores": [{ "skillId": "@skill", "points": 8 }] } }),
            "YYYYNFFF",
            "FFFF",
        ),
        row(
            "recordAssessment",
            "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { assessment { id } } }",
            || json!({ "i": { "rubricId": "@rubric", "userId": "@outsider", "scores": [{ "skillId": "@skill", "points": 8 }] } }),
            "YYYNNFFN",
            "FFFF",
        ),
        row(
            "trackReport",
            "query($t: ID!) { trackReport(trackId: $t) { enrolled } }",
            || json!({ "t": "@track" }),
            "YYYFFFFY",
            "FFFY",
        ),
        row(
            "trackReport",
            "query($t: ID!) { trackReport(trackId: $t) { enrolled } }",
            || json!({ "t": "@otherTrack" }),
            "YYYFFFFF",
            "FFFY",
        ),
        row(
            "rubric",
            "query($r: ID!) { rubric(id: $r) { assessments { user { id } } } }",
            || json!({ "r": "@rubric" }),
            "SSSSHSHS",
            "FFFF",
        ),
        row(
            "user",
            "query($u: ID!) { user(id: $u) { id assessments { id } } }",
            || json!({ "u": "@subject" }),
            SEES_SUBJECT,
            "FFFS",
        ),
        // ---- courses and rules (OWNER, ADMIN)
        row(
            "createCourse",
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { __typename } }",
            || json!({ "i": { "title": "@new:name" } }),
            RULES,
            "FFFF",
        ),
        row(
            "updateCourse",
            "mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:course", "description": "changed" } }),
            RULES,
            "FFFF",
        ),
        row(
            "createRule",
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { __typename } }",
            || json!({ "i": { "name": "@new:name", "audience": { "groupId": "@new:group" }, "courses": [{ "courseId": "@course" }] } }),
            RULES,
            "FFFF",
        ),
        row(
            "updateRule",
            "mutation($i: UpdateRuleInput!) { updateRule(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:rule", "name": "@new:name" } }),
            RULES,
            "FFFF",
        ),
        row(
            "setRuleActive",
            "mutation($i: SetRuleActiveInput!) { setRuleActive(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:rule", "active": false } }),
            RULES,
            "FFFF",
        ),
        row(
            "deleteRule",
            "mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { __typename } }",
            || json!({ "i": { "id": "@new:rule" } }),
            RULES,
            "FFFF",
        ),
        // ---- progress: the assignee starts; OWNER, ADMIN, HR start and record for anyone
        row(
            "startAssignment",
            "mutation($i: StartAssignmentInput!) { startAssignment(input: $i) { assignment { id } } }",
            || json!({ "i": { "id": "@new:assignmentOfSubject" } }),
            "YYYFNYNN",
            "FYFF",
        ),
        row(
            "recordCompletion",
            "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { completion { id } } }",
            || json!({ "i": { "userId": "@subject", "courseId": "@new:course" } }),
            ORG_ADMIN,
            "FYFF",
        ),
        // ---- sensitive queries: people and their training
        row(
            "user",
            "query($id: ID!) { user(id: $id) { id email attributes } }",
            || json!({ "id": "@subject" }),
            SEES_SUBJECT,
            "FFFS",
        ),
        row(
            "user",
            "query($id: ID!) { user(id: $id) { id skills { level } skillRatings { level } memberships { group { id } } assignments { id } completions { id } } }",
            || json!({ "id": "@subject" }),
            SEES_SUBJECT,
            "FFFS",
        ),
        row(
            "users",
            "{ users(first: 500) { totalCount nodes { id } } }",
            || json!({}),
            SEES_SUBJECT,
            "FFFS",
        ),
        row(
            "group",
            "query($id: ID!) { group(id: $id) { members(first: 500) { nodes { id } } } }",
            || json!({ "id": "@group" }),
            SEES_SUBJECT,
            "FFFS",
        ),
        row(
            "assignment",
            "query($id: ID!) { assignment(id: $id) { id user { id } } }",
            || json!({ "id": "@assignmentOfSubject" }),
            SEES_SUBJECT,
            "FFFS",
        ),
        row(
            "assignments",
            "{ assignments(first: 500) { nodes { user { id } } } }",
            || json!({}),
            SEES_SUBJECT,
            "FFFS",
        ),
        row(
            "assignments",
            "query($u: ID!) { assignments(filter: { userId: $u }, first: 500) { nodes { user { id } } } }",
            || json!({ "u": "@subject" }),
            SEES_SUBJECT,
            "FFFS",
        ),
        row(
            "complianceStatus",
            "query($u: ID!) { complianceStatus(userId: $u) { user { id } status } }",
            || json!({ "u": "@subject" }),
            "SSSSNSNN",
            "FFFS",
        ),
        row(
            "complianceReport",
            "{ complianceReport { total users(first: 500) { nodes { user { id } } } } }",
            || json!({}),
            SEES_SUBJECT,
            "FFFS",
        ),
        row(
            "expiringCompletions",
            "{ expiringCompletions(withinDays: 1000, first: 500) { nodes { id user { id } } } }",
            || json!({}),
            SEES_SUBJECT,
            "FFFS",
        ),
        row(
            "assignmentEvents",
            "{ assignmentEvents(first: 500) { nodes { assignment { user { id } } } } }",
            || json!({}),
            SEES_SUBJECT,
            "FFSF",
        ),
        row(
            "assignmentEvents",
            "query($u: ID!) { assignmentEvents(filter: { userId: $u }, first: 500) { nodes { assignment { user { id } } } } }",
            || json!({ "u": "@subject" }),
            ABOUT_SUBJECT,
            "FFYF",
        ),
        row(
            "roleMatches",
            "query($u: ID!) { roleMatches(userId: $u, first: 500) { nodes { user { id } } } }",
            || json!({ "u": "@subject" }),
            ABOUT_SUBJECT,
            "FFFF",
        ),
        row(
            "role",
            "query($r: ID!) { role(id: $r) { userMatches(first: 500) { nodes { user { id } } } } }",
            || json!({ "r": "@roleFeatured" }),
            SEES_SUBJECT,
            "FFFF",
        ),
        row(
            "role",
            "query($r: ID!, $u: ID!) { role(id: $r) { match(userId: $u) { user { id } } } }",
            || json!({ "r": "@roleFeatured", "u": "@subject" }),
            ABOUT_SUBJECT,
            "FFFF",
        ),
        row(
            "recommendations",
            "query($u: ID!) { recommendations(userId: $u) { course { id } } }",
            || json!({ "u": "@subject" }),
            ABOUT_SUBJECT,
            "FFFF",
        ),
        row(
            "careerPaths",
            "query($a: ID!, $b: ID!, $u: ID!) { careerPaths(fromRoleId: $a, toRoleId: $b, userId: $u) { steps } }",
            || json!({ "a": "@roleFeatured", "b": "@roleFeatured2", "u": "@subject" }),
            ABOUT_SUBJECT,
            "FFFF",
        ),
        row(
            "auditLog",
            "{ auditLog(first: 5) { totalCount } }",
            || json!({}),
            RULES,
            "FFFF",
        ),
        // ---- manual assignments (OWNER, ADMIN, HR)
        row(
            "assignCourse",
            "mutation($i: AssignCourseInput!) { assignCourse(input: $i) { assignments { id } } }",
            || json!({ "i": { "userIds": ["@subject"], "courseId": "@new:course" } }),
            ORG_ADMIN,
            "FFFF",
        ),
        row(
            "unassignCourse",
            "mutation($i: UnassignCourseInput!) { unassignCourse(input: $i) { assignment { id } } }",
            || json!({ "i": { "assignmentId": "@new:manualAssignmentOfSubject" } }),
            ORG_ADMIN,
            "FFFF",
        ),
        // ---- API clients (OWNER, ADMIN)
        row(
            "createApiClient",
            "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { secret } }",
            || json!({ "i": { "name": "@new:name", "scopes": ["REPORTS_READ"] } }),
            RULES,
            "FFFF",
        ),
        row(
            "rotateApiClientSecret",
            "mutation($i: RotateApiClientSecretInput!) { rotateApiClientSecret(input: $i) { secret } }",
            || json!({ "i": { "id": "@new:apiClient" } }),
            RULES,
            "FFFF",
        ),
        row(
            "revokeApiClient",
            "mutation($i: RevokeApiClientInput!) { revokeApiClient(input: $i) { apiClient { id } } }",
            || json!({ "i": { "id": "@new:apiClient" } }),
            RULES,
            "FFFF",
        ),
        row(
            "apiClients",
            "{ apiClients { id } }",
            || json!({}),
            RULES,
            "FFFF",
        ),
        row(
            "apiClient",
            "query($id: ID!) { apiClient(id: $id) { id } }",
            || json!({ "id": "@new:apiClient" }),
            RULES,
            "FFFF",
        ),
        row(
            "previewRule",
            "query($i: CreateRuleInput!) { previewRule(input: $i) { usersAffected } }",
            || json!({ "i": { "name": "Preview", "audience": { "groupId": "@group" }, "courses": [{ "courseId": "@new:course" }] } }),
            RULES,
            "FFFF",
        ),
        // ---- browsing roles: all for OWNER, ADMIN, HR; featured ones for the others
        row_marked(
            "role",
            "query($r: ID!) { role(id: $r) { id } }",
            || json!({ "r": "@roleUnfeatured" }),
            "@roleUnfeatured",
            "SSSHHHHH",
            "FFFF",
        ),
        row_marked(
            "roles",
            "{ roles { id } }",
            || json!({}),
            "@roleUnfeatured",
            "SSSHHHHH",
            "FFFF",
        ),
        row_marked(
            "roles",
            "{ roles { id } }",
            || json!({}),
            "@roleFeatured",
            "SSSSSSSS",
            "FFFF",
        ),
        row_marked(
            "roleCategories",
            "{ roleCategories { id } }",
            || json!({}),
            "@categoryUnfeatured",
            "SSSHHHHH",
            "FFFF",
        ),
        // ---- live events: what a subscriber receives when the subject is assigned a course
        row(
            "assignmentEvents",
            "subscription { assignmentEvents { kind assignment { user { id } } } }",
            || json!({}),
            SEES_SUBJECT,
            "FFSF",
        ),
        row(
            "assignmentEvents",
            "subscription($u: ID!) { assignmentEvents(filter: { userId: $u }) { kind assignment { user { id } } } }",
            || json!({ "u": "@subject" }),
            "SSSSNSNN",
            "FFSF",
        ),
        // ---- not personal: everyone reads them
        row(
            "viewer",
            "{ viewer { id } }",
            || json!({}),
            EVERYONE,
            "FFFF",
        ),
    ]
}

/// Query fields that hold nothing personal: the organization's own structure and catalogue.
/// Every other query field must have a row.
const NOT_SENSITIVE: &[&str] = &[
    "viewerRole",
    "organization",
    "groups",
    "skill",
    "skills",
    "proficiencyScale",
    "course",
    "courses",
    "rule",
    "rules",
    // The training catalogue: tracks, rubrics, and the role-overlap matrix.
    "track",
    "tracks",
    "rubric",
    "rubrics",
    "skillsMatrix",
];

/// The organization the matrix runs in: a HR user, a manager with one report, a stranger
/// outside the manager's line; both people in a group whose rule assigns them a course, with a
/// completion that expires in a year; featured and unfeatured roles and categories; a track of
/// that course owned by a LEARNER (so both people are its learners), with a rubric both were
/// assessed with, another track owned by the ADMIN, an organization-wide rubric, a skill dependency,
/// and an outsider in no group and no reporting line.
struct Fixture {
    hr: String,
    track_owner: String,
    track_owner_id: Uuid,
    manager: String,
    manager_id: Uuid,
    report: Uuid,
    report_token: String,
    stranger: Uuid,
    shared: HashMap<&'static str, String>,
    assignment: HashMap<Uuid, Uuid>,
    /// The secrets of four API clients, one per scope, in the order of `COLUMNS`.
    clients: Vec<String>,
}

async fn fixture(app: &TestApp) -> Fixture {
    let hr_id = app.user().await;
    let manager_id = app.user().await;
    let report = app.user().await;
    let stranger = app.user().await;
    set_manager(app, report, manager_id).await;
    let group = app.group("Matrix", None).await;
    app.add_member(report, group).await;
    app.add_member(stranger, group).await;
    let featured = app.category("Featured", true).await;
    let unfeatured = app.category("Hidden", false).await;
    let role_f = app.role("Featured role", Some(featured)).await;
    let role_f2 = app.role("Featured next", Some(featured)).await;
    let role_u = app.role("Unfeatured role", Some(unfeatured)).await;
    let skill = app.skill("Matrix skill").await;
    app.set_role_skills(role_f, &[(skill, Some(2))]).await;
    app.set_role_skills(role_f2, &[(skill, Some(3))]).await;
    app.link(role_f, role_f2).await;
    let course = create_course(app, "Matrix course").await;
    let expiring = create_course(app, "Matrix certificate").await;
    create_rule(app, group, course).await;
    let track_owner_id = app.user().await;
    let outsider = app.user().await;
    let skill2 = app.skill("Matrix advanced skill").await;
    app.ok(
        "mutation($i: AddSkillDependencyInput!) { addSkillDependency(input: $i) { skill { id } } }",
        json!({ "i": { "skillId": skill2.to_string(), "requiresSkillId": skill.to_string() } }),
        &app.admin,
    )
    .await;
    let track = create_track(app, track_owner_id, course).await;
    let other_track = create_track(app, app.admin_id, course).await;
    let rubric = create_rubric(app, Some(track), skill).await;
    let rubric_org_wide = create_rubric(app, None, skill).await;
    let mut assignment = HashMap::new();
    for u in [report, stranger] {
        assignment.insert(u, assignment_of(app, u, course).await);
        app.ok(
            "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { completion { id } } }",
            json!({ "i": { "userId": u.to_string(), "courseId": expiring.to_string() } }),
            &app.owner,
        )
        .await;
        app.rate(u, skill, 2).await;
        app.ok(
            "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { assessment { id } } }",
            json!({ "i": { "rubricId": rubric.to_string(), "userId": u.to_string(),
                           "scores": [{ "skillId": skill.to_string(), "points": 6 }] } }),
            &app.admin,
        )
        .await;
    }
    let shared = HashMap::from([
        ("@group", group.to_string()),
        ("@roleFeatured", role_f.to_string()),
        ("@roleFeatured2", role_f2.to_string()),
        ("@roleUnfeatured", role_u.to_string()),
        ("@categoryUnfeatured", unfeatured.to_string()),
        ("@skill", skill.to_string()),
        ("@course", course.to_string()),
        ("@track", track.to_string()),
        ("@otherTrack", other_track.to_string()),
        ("@rubric", rubric.to_string()),
        ("@rubricOrgWide", rubric_org_wide.to_string()),
        ("@outsider", outsider.to_string()),
    ]);
    let mut clients = Vec::new();
    for scope in [
        "PEOPLE_WRITE",
        "COMPLETIONS_WRITE",
        "EVENTS_READ",
        "REPORTS_READ",
    ] {
        clients.push(app.api_client(&[scope]).await.1);
    }
    Fixture {
        clients,
        hr: app.token(hr_id, OrgRole::Hr),
        track_owner: app.token(track_owner_id, OrgRole::Learner),
        track_owner_id,
        manager: app.token(manager_id, OrgRole::Manager),
        manager_id,
        report,
        report_token: app.token(report, OrgRole::Learner),
        stranger,
        shared,
        assignment,
    }
}

async fn set_manager(app: &TestApp, user: Uuid, manager: Uuid) {
    app.ok(
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
        json!({ "i": { "id": user.to_string(), "managerId": manager.to_string() } }),
        &app.owner,
    )
    .await;
}

async fn create_course(app: &TestApp, title: &str) -> Uuid {
    let data = app
        .ok(
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
            json!({ "i": { "title": title, "validityDays": 365 } }),
            &app.owner,
        )
        .await;
    id(&data["createCourse"]["course"]["id"])
}

async fn create_track(app: &TestApp, owner: Uuid, course: Uuid) -> Uuid {
    let data = app
        .ok(
            "mutation($i: CreateTrackInput!) { createTrack(input: $i) { track { id } } }",
            json!({ "i": { "name": format!("Track {}", unique()), "ownerId": owner.to_string(),
                           "courses": [{ "courseId": course.to_string() }] } }),
            &app.owner,
        )
        .await;
    id(&data["createTrack"]["track"]["id"])
}

async fn create_rubric(app: &TestApp, track: Option<Uuid>, skill: Uuid) -> Uuid {
    let data = app
        .ok(
            "mutation($i: CreateRubricInput!) { createRubric(input: $i) { rubric { id } } }",
            json!({ "i": { "name": format!("Rubric {}", unique()), "trackId": track.map(|t| t.to_string()),
                           "passingPercent": 70, "dimensions": [{ "skillId": skill.to_string(), "maxPoints": 10 }] } }),
            &app.owner,
        )
        .await;
    id(&data["createRubric"]["rubric"]["id"])
}

async fn create_rule(app: &TestApp, group: Uuid, course: Uuid) -> Uuid {
    let data = app
        .ok(
            "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
            json!({ "i": { "name": format!("Rule {}", Uuid::new_v4().simple()), "audience": { "groupId": group.to_string() },
                           "courses": [{ "courseId": course.to_string() }] } }),
            &app.owner,
        )
        .await;
    id(&data["createRule"]["rule"]["id"])
}

async fn assignment_of(app: &TestApp, user: Uuid, course: Uuid) -> Uuid {
    let data = app
        .ok(
            "query($u: ID!, $c: ID!) { assignments(filter: { userId: $u, courseId: $c }) { nodes { id } } }",
            json!({ "u": user.to_string(), "c": course.to_string() }),
            &app.owner,
        )
        .await;
    id(&data["assignments"]["nodes"][0]["id"])
}

fn unique() -> String {
    Uuid::new_v4().simple().to_string()[..12].to_string()
}

impl Fixture {
    /// The token and the subject of a column.
    fn who(&self, app: &TestApp, column: Column) -> (String, Uuid) {
        match column {
            Column::Owner => (app.owner.clone(), self.stranger),
            Column::Admin => (app.admin.clone(), self.stranger),
            Column::Hr => (self.hr.clone(), self.stranger),
            Column::ManagerOfSubject => (self.manager.clone(), self.report),
            Column::ManagerNotOfSubject => (self.manager.clone(), self.stranger),
            Column::LearnerSelf => (self.report_token.clone(), self.report),
            Column::LearnerOther => (self.report_token.clone(), self.stranger),
            Column::TrackOwner => (self.track_owner.clone(), self.stranger),
            Column::PeopleWrite => (self.clients[0].clone(), self.stranger),
            Column::CompletionsWrite => (self.clients[1].clone(), self.stranger),
            Column::EventsRead => (self.clients[2].clone(), self.stranger),
            Column::ReportsRead => (self.clients[3].clone(), self.stranger),
        }
    }

    /// Replaces the placeholders of a template: `@subject` (the column's subject), shared
    /// objects (`@group`, `@roleFeatured` …), and `@new:…` objects made afresh for this cell
    /// (so that an allowed change in one cell does not disturb the next).
    async fn resolve(
        &self,
        app: &TestApp,
        column: Column,
        subject: Uuid,
        template: &str,
        made: &mut HashMap<String, String>,
    ) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(at) = rest.find('@') {
            out.push_str(&rest[..at]);
            let tail = &rest[at + 1..];
            let len = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
                .unwrap_or(tail.len());
            let key = format!("@{}", &tail[..len]);
            let value = match made.get(&key) {
                Some(v) => v.clone(),
                None => {
                    let v = self.make(app, column, subject, &key).await;
                    made.insert(key.clone(), v.clone());
                    v
                }
            };
            out.push_str(&value);
            rest = &tail[len..];
        }
        out.push_str(rest);
        out
    }

    async fn make(&self, app: &TestApp, column: Column, subject: Uuid, key: &str) -> String {
        if let Some(v) = self.shared.get(key) {
            return v.clone();
        }
        match key {
            "@subject" => subject.to_string(),
            "@assignmentOfSubject" => self.assignment[&subject].to_string(),
            "@new:email" => format!("p{}@matrix.example", unique()),
            "@new:name" => format!("Matrix {}", unique()),
            "@new:subject" => {
                // Someone new in the subject's place: a report of the manager where the column
                // asks about a report, the learner themself where it asks about self.
                match column {
                    Column::LearnerSelf => subject.to_string(),
                    _ => {
                        let u = app.user().await;
                        if column == Column::ManagerOfSubject {
                            set_manager(app, u, self.manager_id).await;
                        }
                        u.to_string()
                    }
                }
            }
            "@new:group" => app
                .group(&format!("G {}", unique()), None)
                .await
                .to_string(),
            "@new:groupOfSubject" => {
                let g = app.group(&format!("G {}", unique()), None).await;
                app.add_member(subject, g).await;
                g.to_string()
            }
            "@new:role" => app.role(&format!("R {}", unique()), None).await.to_string(),
            "@new:linkedRole" => {
                let r = app.role(&format!("R {}", unique()), None).await;
                app.link(r, id(&json!(self.shared["@roleFeatured"]))).await;
                r.to_string()
            }
            "@new:category" => app
                .category(&format!("C {}", unique()), false)
                .await
                .to_string(),
            "@new:skill" => app.skill(&format!("S {}", unique())).await.to_string(),
            "@new:dependentSkill" => {
                let s = app.skill(&format!("S {}", unique())).await;
                app.ok(
                    "mutation($i: AddSkillDependencyInput!) { addSkillDependency(input: $i) { skill { id } } }",
                    json!({ "i": { "skillId": s.to_string(), "requiresSkillId": self.shared["@skill"] } }),
                    &app.admin,
                )
                .await;
                s.to_string()
            }
            "@new:track" => {
                let c = id(&json!(self.shared["@course"]));
                create_track(app, self.track_owner_id, c).await.to_string()
            }
            "@new:otherTrack" => {
                let c = id(&json!(self.shared["@course"]));
                create_track(app, app.admin_id, c).await.to_string()
            }
            "@new:manualAssignmentOfSubject" => {
                let c = create_course(app, &format!("C {}", unique())).await;
                let data = app
                    .ok(
                        "mutation($i: AssignCourseInput!) { assignCourse(input: $i) { assignments { id } } }",
                        json!({ "i": { "userIds": [subject.to_string()], "courseId": c.to_string() } }),
                        &app.admin,
                    )
                    .await;
                data["assignCourse"]["assignments"][0]["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
            "@new:apiClient" => app.api_client(&["REPORTS_READ"]).await.0.to_string(),
            "@new:course" => create_course(app, &format!("C {}", unique()))
                .await
                .to_string(),
            "@new:rule" => {
                let g = app.group(&format!("G {}", unique()), None).await;
                let c = create_course(app, &format!("C {}", unique())).await;
                create_rule(app, g, c).await.to_string()
            }
            "@new:assignmentOfSubject" => {
                let g = app.group(&format!("G {}", unique()), None).await;
                app.add_member(subject, g).await;
                let c = create_course(app, &format!("C {}", unique())).await;
                create_rule(app, g, c).await;
                assignment_of(app, subject, c).await.to_string()
            }
            other => panic!("the matrix has no placeholder {other}"),
        }
    }
}

fn codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `response` matches `letter`; the explanation when it does not.
fn check(letter: char, response: &Value, field: &str, marker: &str) -> Result<(), String> {
    let codes = codes(response);
    let data = &response["data"][field];
    let has_marker = data.to_string().contains(marker);
    let ok = codes.is_empty() && !data.is_null();
    let pass = match letter {
        'Y' => ok,
        'S' => ok && has_marker,
        'H' => (codes.is_empty() || codes == ["NOT_FOUND"]) && !has_marker,
        'N' => codes == ["NOT_FOUND"] && !has_marker,
        'F' => codes.iter().any(|c| c == "FORBIDDEN") && data.is_null(),
        'V' => !codes
            .iter()
            .any(|c| c == "FORBIDDEN" || c == "UNAUTHENTICATED"),
        other => panic!("unknown letter {other}"),
    };
    if pass {
        Ok(())
    } else {
        Err(format!(
            "expected {letter}, got codes {codes:?}: {response}"
        ))
    }
}

/// Runs a subscription row: subscribes as the column's viewer, then assigns the subject a new
/// course, and answers like a query would: the first error, or `data.<field>` = the events
/// received (until one naming the marker arrives when `expect` says it must, else for a
/// moment).
#[allow(clippy::too_many_arguments)]
async fn live(
    app: &TestApp,
    fx: &Fixture,
    column: Column,
    subject: Uuid,
    r: &Row,
    vars: Value,
    token: &str,
    marker: &str,
    expect: bool,
) -> Value {
    use async_graphql::Executor;
    use futures_util::StreamExt;
    use std::time::Duration;
    let viewer = skillgraph::http::auth::authenticate(&app.state, token)
        .await
        .unwrap();
    let request =
        async_graphql::Request::new(r.doc).variables(async_graphql::Variables::from_json(vars));
    let mut stream = skillgraph::graphql::CodedSchema(app.schema.clone())
        .execute_stream(
            skillgraph::graphql::with_request_data(request, &app.state, viewer),
            None,
        )
        .map(|r| serde_json::to_value(&r).unwrap())
        .boxed();
    let mut received = Vec::new();
    // A stream starts when first polled (as a socket does on `subscribe`); a refusal comes at
    // once.
    match tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
        Ok(Some(first)) if first.get("errors").is_some() => return first,
        Ok(Some(first)) => received.push(first["data"][r.field].clone()),
        Ok(None) => return json!({ "data": null }),
        Err(_) => {}
    }
    fx.make(app, column, subject, "@new:assignmentOfSubject")
        .await;
    let wait = if expect { 10_000 } else { 700 };
    let deadline = tokio::time::Instant::now() + Duration::from_millis(wait);
    while let Ok(Some(next)) = tokio::time::timeout_at(deadline, stream.next()).await {
        if next.get("errors").is_some() {
            return next;
        }
        let event = next["data"][r.field].clone();
        let found = event.to_string().contains(marker);
        received.push(event);
        if found && expect {
            break;
        }
    }
    json!({ "data": { r.field: received } })
}

async fn denials(app: &TestApp) -> i64 {
    let p = if crate::helpers::is_postgres() {
        "$1"
    } else {
        "?"
    };
    app.scalar(&format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE org_id = {p} AND action = 'AUTHZ_DENIED'"
    ))
    .await
}

#[tokio::test]
async fn the_matrix_covers_every_mutation_and_every_query() {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let doc = async_graphql::parser::parse_schema(skillgraph::sdl()).unwrap();
    let fields = |name: &str| -> BTreeSet<String> {
        doc.definitions
            .iter()
            .find_map(|d| match d {
                TypeSystemDefinition::Type(t) if t.node.name.node == name => match &t.node.kind {
                    TypeKind::Object(o) => Some(
                        o.fields
                            .iter()
                            .map(|f| f.node.name.node.to_string())
                            .collect(),
                    ),
                    _ => None,
                },
                _ => None,
            })
            .unwrap_or_else(|| panic!("the schema has no {name}"))
    };
    let covered: BTreeSet<String> = rows().iter().map(|r| r.field.to_string()).collect();
    let subscribed: BTreeSet<String> = rows()
        .iter()
        .filter(|r| r.doc.trim_start().starts_with("subscription"))
        .map(|r| r.field.to_string())
        .collect();
    let missing: Vec<String> = fields("Subscription")
        .difference(&subscribed)
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "subscriptions without a row in the permission matrix: {missing:?}"
    );
    let missing: Vec<String> = fields("Mutation").difference(&covered).cloned().collect();
    assert!(
        missing.is_empty(),
        "mutations without a row in the permission matrix: {missing:?}"
    );
    let missing: Vec<String> = fields("Query")
        .into_iter()
        .filter(|f| !covered.contains(f) && !NOT_SENSITIVE.contains(&f.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "queries neither in the permission matrix nor listed as not sensitive: {missing:?}"
    );
    for r in rows() {
        assert_eq!(
            r.expect().count(),
            COLUMNS.len(),
            "{}: one letter per column",
            r.field
        );
    }
}

#[tokio::test]
async fn the_permission_matrix() {
    let app = TestApp::spawn().await;
    let fx = fixture(&app).await;
    let mut failures = Vec::new();
    for r in rows() {
        let is_mutation = r.doc.trim_start().starts_with("mutation");
        for (column, letter) in COLUMNS.iter().zip(r.expect()) {
            let (token, subject) = fx.who(&app, *column);
            let mut made = HashMap::new();
            let vars = fx
                .resolve(&app, *column, subject, &(r.vars)().to_string(), &mut made)
                .await;
            let marker = fx
                .resolve(&app, *column, subject, r.marker, &mut made)
                .await;
            let vars: Value = serde_json::from_str(&vars).unwrap();
            let forbidden_mutation = is_mutation && letter == 'F';
            let before = if forbidden_mutation {
                Some((app.counts().await, denials(&app).await))
            } else {
                None
            };
            let response = if r.doc.trim_start().starts_with("subscription") {
                live(
                    &app,
                    &fx,
                    *column,
                    subject,
                    &r,
                    vars,
                    &token,
                    &marker,
                    letter == 'S',
                )
                .await
            } else {
                app.execute(r.doc, vars, &token).await
            };
            let mut result = check(letter, &response, r.field, &marker);
            if let (Ok(()), Some((counts, denied))) = (&result, before) {
                if app.counts().await != counts {
                    result = Err("a refused mutation wrote".into());
                } else if denials(&app).await != denied + 1 {
                    result = Err("a refused mutation was not audited as AUTHZ_DENIED".into());
                }
            }
            if let Err(why) = result {
                failures.push(format!("{} as {column:?}: {why}", r.field));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells of the permission matrix disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
