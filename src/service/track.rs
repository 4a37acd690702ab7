//! Tracks: a named learning path owned by a person — an ordered list of courses (foundation
//! courses shared with other tracks marked), usually for a role. The order must respect the
//! course prerequisites. A rule's bundle may name a track; its courses then follow the track.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult, UniqueIndex};
use crate::service::audit::{Action, Subject, SubjectType};
use crate::service::authz::{self, Named, Permission};
use crate::service::engine::policy::{self, BundleItem};
use crate::service::engine::{Outcome, Scope};
use crate::service::rows;
use crate::service::sql::{self, Q};
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::vals;

/// The database's backstop for a name check that raced another change.
const TRACK_NAME_TAKEN: UniqueIndex = UniqueIndex {
    name: "ux_tracks_name",
    columns: "tracks.org_id, tracks.name_norm",
    message: "a track with this name already exists in the organization",
};

/// The most courses a track may hold (reports encode progress as a 62-bit mask).
pub const MAX_COURSES: usize = 60;

/// A track: the `tracks` row.
pub type Track = entity::track::Model;

/// One step of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromQueryResult)]
pub struct TrackCourse {
    pub track_id: Uuid,
    pub course_id: Uuid,
    pub position: i32,
    pub foundation: bool,
}

#[derive(Debug, Clone, Default)]
pub struct NewTrack {
    pub name: String,
    pub description: Option<String>,
    pub role_id: Option<Uuid>,
    pub owner_id: Uuid,
    /// (course, foundation), in order.
    pub courses: Vec<(Uuid, bool)>,
}

#[derive(Debug, Clone, Default)]
pub struct TrackChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub role_id: Option<Option<Uuid>>,
    pub owner_id: Option<Uuid>,
    pub courses: Option<Vec<(Uuid, bool)>>,
}

impl TrackChanges {
    /// The objects the changes name (for `authz::require_track_manager_naming`).
    pub fn named(&self) -> Vec<Named> {
        self.owner_id
            .map(Named::User)
            .into_iter()
            .chain(self.role_id.flatten().map(Named::Role))
            .chain(self.courses.iter().flatten().map(|c| Named::Course(c.0)))
            .collect()
    }
}

impl NewTrack {
    /// The objects the track names (for `authz::require_naming`).
    pub fn named(&self) -> Vec<Named> {
        std::iter::once(Named::User(self.owner_id))
            .chain(self.role_id.map(Named::Role))
            .chain(self.courses.iter().map(|c| Named::Course(c.0)))
            .collect()
    }
}

pub async fn create(env: &Env, viewer: &Viewer, input: NewTrack) -> AppResult<Track> {
    let (value, _) = unit::run(
        env,
        viewer,
        Authority::requires(Permission::ManageRules, input.named()),
        async |w| {
            let track = create_in(w, input).await?;
            Ok(track)
        },
    )
    .await?;
    Ok(value)
}

pub async fn create_in(w: &Write, input: NewTrack) -> AppResult<Track> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    let name = validate::name("name", &input.name)?;
    let description = validate::optional_text("description", input.description.as_deref())?;
    rows::require_as::<entity::user::Entity>(conn, org_id, input.owner_id, "owner").await?;
    if let Some(r) = input.role_id {
        rows::require::<entity::role::Entity>(conn, org_id, r).await?;
    }
    check_courses(conn, org_id, &input.courses).await?;
    let id = Uuid::now_v7();
    sql::exec(
        conn,
        "INSERT INTO tracks (id, org_id, name, name_norm, description, role_id, owner_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        vals![id, org_id, name.clone(), name.to_lowercase(), description, input.role_id, input.owner_id, now],
    )
    .await
        .map_err(|e| e.on_unique(&TRACK_NAME_TAKEN))?;
    write_courses(conn, org_id, id, &input.courses).await?;
    let track = w
        .read_back::<entity::track::Entity>(
            id,
            Action::TrackCreated,
            Subject::new(SubjectType::Track, id),
            None,
            |row| snapshot(row, &input.courses),
        )
        .await?;
    Ok(track)
}

/// Changes a track. OWNER and ADMIN change anything; the track's owner changes its name,
/// description, role and courses, but not who owns it, nor the courses of a track a rule
/// uses as its bundle (that is a rule change: OWNER and ADMIN). Rules naming the track follow its
/// courses at once (reconciled in the same transaction).
pub async fn update(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    changes: TrackChanges,
) -> AppResult<(Track, Outcome)> {
    unit::run(env, viewer, Authority::PerObject, async |w| {
 let (tx, org_id, now) = (w, w.org_id, w.now);

    let before = rows::require::<entity::track::Entity>(tx, org_id, id).await?;
    authz::require_track_manager_naming(tx, viewer, before.owner_id, &changes.named()).await?;
    if changes.owner_id.is_some_and(|o| o != before.owner_id) {
        authz::require(viewer, Permission::ManageRules)?;
    }
    let before_courses = courses_of(tx, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let before_pairs: Vec<(Uuid, bool)> = before_courses
        .iter()
        .map(|c| (c.course_id, c.foundation))
        .collect();
    let name = match &changes.name {
        Some(n) => validate::name("name", n)?,
        None => before.name.clone(),
    };
    let description = match &changes.description {
        Some(d) => validate::optional_text("description", d.as_deref())?,
        None => before.description.clone(),
    };
    let role_id = changes.role_id.unwrap_or(before.role_id);
    if let Some(r) = role_id {
        rows::require::<entity::role::Entity>(tx, org_id, r).await?;
    }
    let owner_id = changes.owner_id.unwrap_or(before.owner_id);
    rows::require_as::<entity::user::Entity>(tx, org_id, owner_id, "owner").await?;
    sql::exec(
        tx,
        "UPDATE tracks SET name = $1, name_norm = $2, description = $3, role_id = $4, owner_id = $5, updated_at = $6 WHERE id = $7",
        vals![name.clone(), name.to_lowercase(), description, role_id, owner_id, now, id],
    )
    .await
        .map_err(|e| e.on_unique(&TRACK_NAME_TAKEN))?;
    let courses = match &changes.courses {
        Some(list) => {
            check_courses(tx, org_id, list).await?;
            sql::exec(
                tx,
                "DELETE FROM track_courses WHERE track_id = $1",
                vals![id],
            )
            .await?;
            write_courses(tx, org_id, id, list).await?;
            let old: HashSet<Uuid> = before_pairs.iter().map(|c| c.0).collect();
            let new: HashSet<Uuid> = list.iter().map(|c| c.0).collect();
            if old != new {
                let rules = sql::ids(
                    tx,
                    "SELECT id FROM rules WHERE org_id = $1 AND track_id = $2 AND deleted_at IS NULL",
                    vals![org_id, id],
                )
                .await?;
                // The track is a rule's bundle: changing it is a rule change, with the
                // permission `updateRule` requires (a track owner with a lesser org role
                // would otherwise withdraw the assignments of a whole audience).
                if !rules.is_empty() {
                    authz::require(viewer, Permission::ManageRules)?;
                }
                let items: Vec<BundleItem> = list
                    .iter()
                    .map(|(c, _)| BundleItem {
                        course_id: *c,
                        unlock_after_days: None,
                        due_after_days: None,
                    })
                    .collect();
                for r in &rules {
                    sql::exec(
                        tx,
                        "DELETE FROM rule_courses WHERE rule_id = $1",
                        vals![*r],
                    )
                    .await?;
                    policy::write_bundle(tx, org_id, *r, &items).await?;
                }
                if !rules.is_empty() {
                    let touched: Vec<Uuid> = old.union(&new).copied().collect();
                    w.reconcile_courses(Scope::All, touched);
                }
            }
            list.clone()
        }
        None => before_pairs.clone(),
    };
    let after = w
        .read_back::<entity::track::Entity>(id, Action::TrackUpdated, Subject::new(SubjectType::Track, id), Some(snapshot(&before, &before_pairs)), |row| snapshot(row, &courses))
        .await?;
    Ok(after)
    })
    .await
}

/// Each course once, of the organization, at most `MAX_COURSES`, and never before one of its
/// prerequisites (direct or not) that the track also lists.
async fn check_courses(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    courses: &[(Uuid, bool)],
) -> AppResult<()> {
    if courses.is_empty() {
        return Err(AppError::validation(
            "courses",
            "a track needs at least one course",
        ));
    }
    if courses.len() > MAX_COURSES {
        return Err(AppError::validation(
            "courses",
            format!("a track holds at most {MAX_COURSES} courses"),
        ));
    }
    let ids: Vec<Uuid> = courses.iter().map(|c| c.0).collect();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    if unique.len() != ids.len() {
        return Err(AppError::validation(
            "courses",
            "a course appears twice in the track",
        ));
    }
    let found = rows::find_many::<entity::course::Entity>(conn, org_id, &ids).await?;
    if found.len() != ids.len() {
        return Err(AppError::not_found("course"));
    }
    let titles: HashMap<Uuid, String> = found.into_iter().map(|c| (c.id, c.title)).collect();
    // Every prerequisite edge of the organization: a track may rely on a chain through
    // courses it does not list.
    let rows = conn
        .query_all_raw(sql::stmt(
            conn,
            "SELECT course_id, prerequisite_id FROM course_prerequisites WHERE org_id = $1",
            vals![org_id],
        ))
        .await?;
    let mut needs: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for r in rows {
        needs
            .entry(r.try_get_by_index::<Uuid>(0)?)
            .or_default()
            .push(r.try_get_by_index::<Uuid>(1)?);
    }
    let position: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    for (i, c) in ids.iter().enumerate() {
        let mut seen = HashSet::new();
        let mut stack = vec![*c];
        while let Some(n) = stack.pop() {
            for p in needs.get(&n).into_iter().flatten() {
                if !seen.insert(*p) {
                    continue;
                }
                if position.get(p).is_some_and(|&j| j > i) {
                    return Err(AppError::validation(
                        "courses",
                        format!(
                            "the order must respect prerequisites: {} comes before its prerequisite {}",
                            titles[c], titles[p]
                        ),
                    ));
                }
                stack.push(*p);
            }
        }
    }
    Ok(())
}

async fn write_courses(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    track_id: Uuid,
    courses: &[(Uuid, bool)],
) -> AppResult<()> {
    for (i, (c, foundation)) in courses.iter().enumerate() {
        sql::exec(
            conn,
            "INSERT INTO track_courses (org_id, track_id, course_id, position, foundation) VALUES ($1, $2, $3, $4, $5)",
            vals![org_id, track_id, *c, i as i32, *foundation],
        )
        .await?;
    }
    Ok(())
}

fn snapshot(t: &Track, courses: &[(Uuid, bool)]) -> serde_json::Value {
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "roleId": t.role_id,
        "ownerId": t.owner_id,
        "courses": courses.iter().map(|(c, f)| json!({ "courseId": c, "foundation": f })).collect::<Vec<_>>(),
    })
}

/// The steps of several tracks, in order.
pub async fn courses_of(
    conn: &impl ConnectionTrait,
    track_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<TrackCourse>>> {
    if track_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = Q::new();
    let list = q.bind_ids(track_ids);
    q.text = format!(
        "SELECT track_id, course_id, position, foundation FROM track_courses WHERE track_id IN ({list}) ORDER BY track_id, position"
    );
    q.grouped(conn, |r: &TrackCourse| r.track_id).await
}

/// The track's courses as a rule bundle (no date offsets).
pub async fn bundle(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<Vec<BundleItem>> {
    rows::require::<entity::track::Entity>(conn, org_id, id).await?;
    Ok(courses_of(conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default()
        .into_iter()
        .map(|c| BundleItem {
            course_id: c.course_id,
            unlock_after_days: None,
            due_after_days: None,
        })
        .collect())
}

/// Tracks by name, optionally only those of a role or of an owner.
pub async fn list(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    role_id: Option<Uuid>,
    owner_id: Option<Uuid>,
) -> AppResult<Vec<Track>> {
    let mut q = Q::new();
    let org = q.bind(org_id);
    q.text = format!("SELECT * FROM tracks WHERE org_id = {org}");
    if let Some(r) = role_id {
        let p = q.bind(r);
        q.push(&format!(" AND role_id = {p}"));
    }
    if let Some(o) = owner_id {
        let p = q.bind(o);
        q.push(&format!(" AND owner_id = {p}"));
    }
    q.push(" ORDER BY name_norm, id");
    q.all(conn).await
}

/// Is `user_id` a learner of the track: assigned (now or once) one of its courses?
pub async fn is_learner(
    conn: &impl ConnectionTrait,
    track_id: Uuid,
    user_id: Uuid,
) -> AppResult<bool> {
    Ok(sql::scalar_i64(
        conn,
        "SELECT COUNT(*) FROM assignments a JOIN track_courses tc ON tc.course_id = a.course_id \
         WHERE tc.track_id = $1 AND a.user_id = $2",
        vals![track_id, user_id],
    )
    .await?
        > 0)
}
