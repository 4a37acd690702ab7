//! Manual assignments (DESIGN.md, "Exceptions, manual assignments and reminders"): a course
//! required of people by hand, not by a rule. OWNER, ADMIN and HR.
//!
//! A manual requirement is a source of desired rows like a rule: the engine stages every live
//! one (`engine::stage::fill_manual`) with a reason that names it, so an assignment it holds is
//! never withdrawn by a reconcile, and its history (since, until) is the reason's. A group names
//! its current members (and its subgroups'), resolved when the course is assigned: someone who
//! joins later is not assigned by hand (that is what rules are for).

use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::audit::{Action, Subject};
use crate::service::authz::{Named, Permission};
use crate::service::engine::{Outcome, Scope};
use crate::service::sql::{self, Q};
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::viewer::Viewer;
use crate::service::{rows, validate};
use crate::vals;
use entity::{assignment, manual_requirement};

pub type ManualRequirement = manual_requirement::Model;

/// People per statement when many are assigned at once.
const CHUNK: usize = 500;

/// At most this many people in one `assignCourse`.
pub const MAX_PEOPLE: usize = 10_000;

/// What `assignCourse` is asked.
#[derive(Debug, Clone, Default)]
pub struct AssignCourse {
    pub user_ids: Vec<Uuid>,
    pub group_id: Option<Uuid>,
    pub course_id: Uuid,
    pub due_at: Option<i64>,
    pub note: Option<String>,
}

/// What `assignCourse` did.
#[derive(Debug, Clone, Default)]
pub struct Assigned {
    /// The requirements made now, one per person who had none.
    pub requirements: Vec<ManualRequirement>,
    /// The people who already had the course assigned by hand (nothing changed for them).
    pub unchanged: Vec<Uuid>,
    /// The current assignment of the course of every person named.
    pub assignments: Vec<assignment::Model>,
    pub outcome: Outcome,
}

/// The live manual requirement of (user, course), if any.
pub async fn live(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    course_id: Uuid,
) -> AppResult<Option<ManualRequirement>> {
    sql::one(
        conn,
        "SELECT * FROM manual_requirements WHERE user_id = $1 AND course_id = $2 AND ended_at IS NULL",
        vals![user_id, course_id],
    )
    .await
}

fn snapshot(m: &ManualRequirement) -> serde_json::Value {
    json!({ "id": m.id, "courseId": m.course_id, "dueAt": m.due_at, "note": m.note, "endedAt": m.ended_at })
}

/// Requires `course_id` of the people named (users, and the current members of a group and its
/// subgroups), each with a MANUAL reason; reconciles them in the same transaction.
pub async fn assign(env: &Env, viewer: &Viewer, input: AssignCourse) -> AppResult<Assigned> {
    let named: Vec<Named> = input
        .user_ids
        .iter()
        .copied()
        .map(Named::User)
        .chain(input.group_id.map(Named::Group))
        .chain([Named::Course(input.course_id)])
        .collect();
    let authority = Authority::requires(Permission::ManageExceptions, named);
    let (assigned, outcome) =
        unit::run(env, viewer, authority, async |w| assign_in(w, input).await).await?;
    Ok(Assigned {
        outcome,
        ..assigned
    })
}

async fn people(w: &Write, input: &AssignCourse) -> AppResult<Vec<Uuid>> {
    if input.user_ids.is_empty() && input.group_id.is_none() {
        return Err(AppError::validation(
            "userIds",
            "name the people: userIds, groupId, or both",
        ));
    }
    if input.user_ids.len() > MAX_PEOPLE {
        return Err(AppError::validation(
            "userIds",
            format!("at most {MAX_PEOPLE} people at once"),
        ));
    }
    let mut people = input.user_ids.clone();
    if let Some(group) = input.group_id {
        crate::service::group::require_live(w, w.org_id, group, "group").await?;
        let mut q = Q::new();
        let g = q.bind(group);
        q.text = format!(
            "SELECT DISTINCT m.user_id FROM memberships m JOIN group_closure gc ON gc.descendant_id = m.group_id \
             JOIN users u ON u.id = m.user_id \
             WHERE gc.ancestor_id = {g} AND m.until IS NULL AND u.active"
        );
        people.extend(q.ids(w).await?);
    }
    people.sort();
    people.dedup();
    if people.len() > MAX_PEOPLE {
        return Err(AppError::validation(
            "groupId",
            format!("at most {MAX_PEOPLE} people at once"),
        ));
    }
    let found = rows::find_many::<entity::user::Entity>(w, w.org_id, &input.user_ids).await?;
    let named: std::collections::HashSet<Uuid> = input.user_ids.iter().copied().collect();
    if found.len() != named.len() {
        return Err(AppError::not_found("user"));
    }
    if let Some(inactive) = found.iter().find(|u| !u.active) {
        return Err(AppError::validation(
            "userIds",
            format!("{} is deactivated", inactive.email),
        ));
    }
    Ok(people)
}

pub async fn assign_in(w: &Write, input: AssignCourse) -> AppResult<Assigned> {
    rows::require::<entity::course::Entity>(w, w.org_id, input.course_id).await?;
    let note = validate::optional_text("note", input.note.as_deref())?;
    if let Some(due) = input.due_at
        && due <= w.now
    {
        return Err(AppError::validation("dueAt", "dueAt must be in the future"));
    }
    let people = people(w, &input).await?;
    let mut out = Assigned::default();
    // Set-based per chunk: who holds the course by hand already, then one insert of the rest;
    // each person's requirement is still audited as theirs.
    for chunk in people.chunks(CHUNK) {
        let mut q = Q::new();
        let (c, list) = (q.bind(input.course_id), q.bind_ids(chunk));
        q.text = format!(
            "SELECT user_id FROM manual_requirements WHERE course_id = {c} AND ended_at IS NULL AND user_id IN ({list})"
        );
        let held: std::collections::HashSet<Uuid> = q.ids(w).await?.into_iter().collect();
        let made: Vec<ManualRequirement> = chunk
            .iter()
            .filter(|u| !held.contains(u))
            .map(|user_id| ManualRequirement {
                id: Uuid::now_v7(),
                org_id: w.org_id,
                user_id: *user_id,
                course_id: input.course_id,
                due_at: input.due_at,
                note: note.clone(),
                created_at: w.now,
                created_by_type: w.actor.kind.as_str().to_string(),
                created_by_id: w.actor.id,
                ended_at: None,
                ended_by_type: None,
                ended_by_id: None,
            })
            .collect();
        out.unchanged
            .extend(chunk.iter().filter(|u| held.contains(u)));
        if made.is_empty() {
            continue;
        }
        let mut q = Q::new();
        let rows: Vec<String> = made
            .iter()
            .map(|m| {
                let values = [
                    q.bind(m.id),
                    q.bind(m.org_id),
                    q.bind(m.user_id),
                    q.bind(m.course_id),
                    q.bind(m.due_at),
                    q.bind(m.note.clone()),
                    q.bind(m.created_at),
                    q.bind(m.created_by_type.clone()),
                    q.bind(m.created_by_id),
                ];
                format!("({})", values.join(", "))
            })
            .collect();
        q.text = format!(
            "INSERT INTO manual_requirements (id, org_id, user_id, course_id, due_at, note, created_at, created_by_type, created_by_id) VALUES {}",
            rows.join(", ")
        );
        q.exec(w).await?;
        for m in &made {
            w.audit(
                Action::CourseAssigned,
                Subject::user(m.user_id),
                None,
                Some(snapshot(m)),
            )
            .await?;
        }
        out.requirements.extend(made);
    }
    w.reconcile_courses(Scope::Users(people.clone()), vec![input.course_id]);
    unit::flush(w).await?;
    out.assignments = current_assignments(w, &people, input.course_id).await?;
    Ok(out)
}

async fn current_assignments(
    w: &Write,
    people: &[Uuid],
    course_id: Uuid,
) -> AppResult<Vec<assignment::Model>> {
    let mut out = Vec::new();
    for chunk in people.chunks(500) {
        let mut q = Q::new();
        let (list, c) = (q.bind_ids(chunk), q.bind(course_id));
        q.text = format!(
            "SELECT * FROM assignments a WHERE a.user_id IN ({list}) AND a.course_id = {c} \
             AND EXISTS (SELECT 1 FROM assignment_reasons ar JOIN manual_requirements m ON m.id = ar.rule_id \
                         WHERE ar.assignment_id = a.id AND ar.until IS NULL AND m.ended_at IS NULL) \
             ORDER BY a.user_id"
        );
        out.extend(q.all::<assignment::Model>(w).await?);
    }
    Ok(out)
}

/// What `unassignCourse` did: the assignment as it now stands (withdrawn when nothing else
/// requires it) and the requirement ended.
#[derive(Debug, Clone)]
pub struct Unassigned {
    pub assignment: assignment::Model,
    pub requirement: ManualRequirement,
    pub outcome: Outcome,
}

/// Ends the manual reason of an assignment; the engine withdraws it when no rule requires it.
pub async fn unassign(env: &Env, viewer: &Viewer, assignment_id: Uuid) -> AppResult<Unassigned> {
    let authority = Authority::requires(
        Permission::ManageExceptions,
        [Named::Assignment(assignment_id)],
    );
    let (done, outcome) = unit::run(env, viewer, authority, async |w| {
        let a = rows::require::<assignment::Entity>(w, w.org_id, assignment_id).await?;
        let Some(before) = live(w, a.user_id, a.course_id).await? else {
            return Err(AppError::validation(
                "assignmentId",
                "this assignment was not made by hand: rules require it, so change the rule (or grant an exemption)",
            ));
        };
        sql::exec(
            w,
            "UPDATE manual_requirements SET ended_at = $1, ended_by_type = $2, ended_by_id = $3 WHERE id = $4",
            vals![w.now, w.actor.kind.as_str(), w.actor.id, before.id],
        )
        .await?;
        let requirement = w
            .read_back::<manual_requirement::Entity>(
                before.id,
                Action::CourseUnassigned,
                Subject::user(a.user_id),
                Some(snapshot(&before)),
                snapshot,
            )
            .await?;
        w.reconcile_courses(Scope::Users(vec![a.user_id]), vec![a.course_id]);
        unit::flush(w).await?;
        let assignment = rows::require::<assignment::Entity>(w, w.org_id, assignment_id).await?;
        Ok(Unassigned {
            assignment,
            requirement,
            outcome: Outcome::default(),
        })
    })
    .await?;
    Ok(Unassigned { outcome, ..done })
}

/// Manual requirements by id (a reason's `rule_id` names one when it is MANUAL).
pub async fn find_many(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    ids: &[Uuid],
) -> AppResult<Vec<ManualRequirement>> {
    rows::find_many::<manual_requirement::Entity>(conn, org_id, ids).await
}
