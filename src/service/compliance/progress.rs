//! Starting an assignment and recording completions. A completion satisfies the open assignment
//! of its course; a partner's `externalId` makes a retry return the first completion instead of
//! recording a second one.

use entity::assignment::sql::{COMPLETED, IN_PROGRESS};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::clock::MICROS_PER_DAY;
use crate::error::{AppError, AppResult, UniqueIndex};
use crate::service::audit::{Action, Subject, SubjectType};
use crate::service::authz::{self, Named, Permission};
use crate::service::engine::OPEN_STATUSES;
use crate::service::events::{self, EventKind};
use crate::service::rows;
use crate::service::sql::{self};
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::vals;
use entity::assignment::Status;
use entity::{assignment as assignment_entity, completion};

/// The database's backstop for a name check that raced another change.
const EXTERNAL_ID_TAKEN: UniqueIndex = UniqueIndex {
    name: "ux_completions_external",
    columns: "completions.org_id, completions.external_id",
    message: "a completion with this externalId is already recorded",
};

/// Marks an assignment started (`STARTED` event). The assignee or OWNER/ADMIN/HR may.
pub async fn start(env: &Env, viewer: &Viewer, id: Uuid) -> AppResult<assignment_entity::Model> {
    let (value, _) = unit::run(env, viewer, Authority::PerObject, async |w| {
 let (tx, org_id, now) = (w, w.org_id, w.now);

    let a = rows::require::<entity::assignment::Entity>(tx, org_id, id).await?;
    if !authz::can_see_user(tx, viewer, a.user_id).await? {
        return Err(AppError::not_found("assignment"));
    }
    if a.user_id != viewer.user_id && !authz::allows_viewer(viewer, Permission::RecordCompletions) {
        return Err(AppError::forbidden(
            "only the assignee or OWNER, ADMIN or HR may start an assignment",
        ));
    }
    match a.status {
        Status::InProgress => return Ok(a),
        Status::Assigned => {}
        Status::Locked => {
            return Err(AppError::validation(
                "id",
                "the assignment is locked until its unlock date and until its prerequisites are completed",
            ));
        }
        other => {
            return Err(AppError::validation(
                "id",
                format!("a {} assignment cannot be started", other.as_str()),
            ));
        }
    }
    sql::exec(
        tx,
        &format!("UPDATE assignments SET status = {IN_PROGRESS}, started_at = $1, changed_seq = $2 WHERE id = $3"),
        vals![now, w.seq, id],
    )
    .await?;
    events::append(w, EventKind::Started, &a).await?;
    w.audit(
Action::AssignmentStarted,
Subject::new(SubjectType::User, a.user_id),
Some(json!({ "assignmentId": a.id, "status": a.status.as_str() })),
Some(json!({ "assignmentId": a.id, "status": "IN_PROGRESS" })),
)
    .await?;
    let after = rows::require::<entity::assignment::Entity>(tx, org_id, id).await?;
    Ok(after)

}).await?;
    Ok(value)
}

/// What to complete: an assignment, or a user and a course.
#[derive(Debug, Clone, Default)]
pub struct NewCompletion {
    pub assignment_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub course_id: Option<Uuid>,
    pub completed_at: Option<i64>,
    pub score: Option<f64>,
    pub external_id: Option<String>,
}

/// The outcome of `record`.
pub struct Recorded {
    pub completion: completion::Model,
    /// The assignment it satisfied; None when it was recorded as history only.
    pub assignment: Option<assignment_entity::Model>,
    /// True when `externalId` named a completion recorded earlier (nothing was written).
    pub duplicate: bool,
}

impl NewCompletion {
    fn named(&self) -> Vec<Named> {
        [
            self.assignment_id.map(Named::Assignment),
            self.user_id.map(Named::User),
            self.course_id.map(Named::Course),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Records a completion. OWNER, ADMIN and HR, and API clients with COMPLETIONS_WRITE.
pub async fn record(env: &Env, viewer: &Viewer, input: NewCompletion) -> AppResult<Recorded> {
    let (value, _) = unit::run(
        env,
        viewer,
        // Ids of another organization answer NOT_FOUND before any refusal, whatever the role.
        Authority::requires(Permission::RecordCompletions, input.named()),
        async |w| record_in(w, input).await,
    )
    .await?;
    Ok(value)
}

/// `record` inside the caller's transaction (the demo seeds its history with it).
pub async fn record_in(w: &Write, input: NewCompletion) -> AppResult<Recorded> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    let completed_at = input.completed_at.unwrap_or(now);
    if completed_at > now {
        return Err(AppError::validation(
            "completedAt",
            "completedAt must not be in the future",
        ));
    }
    if let Some(score) = input.score
        && !(0.0..=100.0).contains(&score)
    {
        return Err(AppError::validation(
            "score",
            "score must be between 0 and 100",
        ));
    }
    let external_id = validate::optional_name("externalId", input.external_id.as_deref())?;
    let tx = conn;
    if let Some(ext) = &external_id
        && let Some(first) = sql::one::<completion::Model>(
            tx,
            "SELECT * FROM completions WHERE org_id = $1 AND external_id = $2",
            vals![org_id, ext.clone()],
        )
        .await?
    {
        let assignment = match first.assignment_id {
            Some(a) => rows::find::<entity::assignment::Entity>(tx, org_id, a).await?,
            None => None,
        };
        return Ok(Recorded {
            completion: first,
            assignment,
            duplicate: true,
        });
    }
    // Which user and course.
    let given = match input.assignment_id {
        Some(id) => Some(rows::require::<entity::assignment::Entity>(tx, org_id, id).await?),
        None => None,
    };
    let (user_id, course_id) = match (&given, input.user_id, input.course_id) {
        (Some(a), u, c) => {
            if u.is_some_and(|u| u != a.user_id) || c.is_some_and(|c| c != a.course_id) {
                return Err(AppError::validation(
                    "assignmentId",
                    "userId and courseId do not match the assignment",
                ));
            }
            (a.user_id, a.course_id)
        }
        (None, Some(u), Some(c)) => (u, c),
        _ => {
            return Err(AppError::validation(
                "assignmentId",
                "give an assignmentId, or a userId and a courseId",
            ));
        }
    };
    rows::require::<entity::user::Entity>(tx, org_id, user_id).await?;
    let course = rows::require::<entity::course::Entity>(tx, org_id, course_id).await?;
    let expires_at = course
        .validity_days
        .map(|d| completed_at + i64::from(d) * MICROS_PER_DAY);
    let renew_at =
        expires_at.map(|e| e - i64::from(course.renewal_window_days.unwrap_or(0)) * MICROS_PER_DAY);
    // The open cycle of the course, if any, is the one it satisfies.
    let open: Option<assignment_entity::Model> = sql::one(
        tx,
        &format!("SELECT * FROM assignments WHERE user_id = $1 AND course_id = $2 AND status IN {OPEN_STATUSES}"),
        vals![user_id, course_id],
    )
    .await?;
    let id = Uuid::now_v7();
    sql::exec(
        tx,
        "INSERT INTO completions (id, org_id, user_id, course_id, completed_at, expires_at, renew_at, score, external_id, assignment_id, recorded_at, recorded_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        vals![
            id,
            org_id,
            user_id,
            course_id,
            completed_at,
            expires_at,
            renew_at,
            input.score,
            external_id.clone(),
            open.as_ref().map(|a| a.id),
            now,
            w.actor.user_id()
        ],
    )
    .await
        .map_err(|e| e.on_unique(&EXTERNAL_ID_TAKEN))?;
    if let Some(a) = &open {
        sql::exec(
            tx,
            &format!("UPDATE assignments SET status = {COMPLETED}, completed_at = $1, expires_at = $2, renew_at = $3, completion_id = $4, \
             kept = FALSE, changed_seq = $5 WHERE id = $6"),
            vals![completed_at, expires_at, renew_at, id, w.seq, a.id],
        )
        .await?;
        events::append(w, EventKind::Completed, a).await?;
    }
    w.audit(
        Action::CompletionRecorded,
        Subject::new(SubjectType::User, user_id),
        None,
        Some(json!({
            "completionId": id,
            "courseId": course_id,
            "completedAt": completed_at,
            "expiresAt": expires_at,
            "score": input.score,
            "externalId": external_id,
            "assignmentId": open.as_ref().map(|a| a.id),
        })),
    )
    .await?;
    // A back-dated completion may already be inside its renewal window or expired.
    super::scheduler::advance_in(w, Some(user_id)).await?;
    super::summary::refresh_users(tx, org_id, &[user_id]).await?;
    let completion: completion::Model =
        sql::one(tx, "SELECT * FROM completions WHERE id = $1", vals![id])
            .await?
            .ok_or_else(|| AppError::internal("recorded completion vanished"))?;
    let assignment = match &open {
        Some(a) => rows::find::<entity::assignment::Entity>(tx, org_id, a.id).await?,
        None => None,
    };
    Ok(Recorded {
        completion,
        assignment,
        duplicate: false,
    })
}

/// Completions of several users and courses (history, newest first).
pub async fn of_user(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    user_id: Uuid,
) -> AppResult<Vec<completion::Model>> {
    // By user only, the organization checked here (see `rows`).
    let rows: Vec<completion::Model> = sql::all(
        conn,
        "SELECT * FROM completions WHERE user_id = $1 ORDER BY completed_at DESC, id DESC",
        vals![user_id],
    )
    .await?;
    Ok(rows.into_iter().filter(|c| c.org_id == org_id).collect())
}
