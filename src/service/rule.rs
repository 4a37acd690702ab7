//! Rules: the auto-assignment policy. A rule names an audience (group, primary role, attribute
//! criteria — all given parts must hold) and a bundle of courses with unlock/due offsets. Every
//! rule change reconciles the assignments it can affect inside the same transaction.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::audit::{Action, Subject};
use crate::service::authz::{self, Named, Permission};
use crate::service::course::MAX_DAYS;
pub use crate::service::engine::policy::{
    Audience, BundleItem, Criterion, CriterionOp, ExitPolicy, JOB_TITLE, LoadedRule, RuleSpec,
    affected_courses, audience_of, bundle_of, write_bundle,
};
use crate::service::engine::{self, Outcome, Scope};
use crate::service::rows;
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::viewer::Viewer;
use crate::service::{group, sql, validate};
use crate::vals;
use entity::rule;

/// Criteria one audience may hold (each becomes a condition of the audience's statement).
pub const MAX_CRITERIA: usize = 50;

#[derive(Debug, Clone, Default)]
pub struct RuleChanges {
    pub name: Option<String>,
    pub audience: Option<Audience>,
    /// Replaces the bundle (and lets go of a track the rule named).
    pub courses: Option<Vec<BundleItem>>,
    /// `Some(Some(t))`: the bundle becomes track `t`; `Some(None)`: the rule names no track.
    pub track_id: Option<Option<Uuid>>,
    pub on_exit: Option<ExitPolicy>,
}

impl RuleChanges {
    /// The objects the changes name (for `authz::require_naming`).
    pub fn named(&self) -> Vec<Named> {
        self.audience
            .iter()
            .flat_map(Audience::named)
            .chain(
                self.courses
                    .iter()
                    .flatten()
                    .map(|c| Named::Course(c.course_id)),
            )
            .chain(self.track_id.flatten().map(Named::Track))
            .collect()
    }
}

/// Checks a rule's shape and that everything it names exists in the organization.
pub async fn validate_spec(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    spec: &RuleSpec,
) -> AppResult<RuleSpec> {
    let name = validate::name("name", &spec.name)?;
    let audience = validate_audience(conn, org_id, &spec.audience).await?;
    let courses = match spec.track_id {
        Some(track) => {
            if !spec.courses.is_empty() {
                return Err(AppError::validation(
                    "courses",
                    "a bundle is either a list of courses or a track, not both",
                ));
            }
            let items = crate::service::track::bundle(conn, org_id, track).await?;
            validate_bundle(conn, org_id, &items).await?
        }
        None => validate_bundle(conn, org_id, &spec.courses).await?,
    };
    Ok(RuleSpec {
        name,
        audience,
        courses,
        track_id: spec.track_id,
        on_exit: spec.on_exit,
        active: spec.active,
    })
}

async fn validate_audience(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    a: &Audience,
) -> AppResult<Audience> {
    if a.group_id.is_none() && a.role_id.is_none() && a.criteria.is_empty() {
        return Err(AppError::validation(
            "audience",
            "an audience needs a group, a role or at least one criterion",
        ));
    }
    if let Some(g) = a.group_id {
        group::require_live(conn, org_id, g, "group").await?;
    }
    if let Some(r) = a.role_id {
        rows::require::<entity::role::Entity>(conn, org_id, r).await?;
    }
    if a.criteria.len() > MAX_CRITERIA {
        return Err(AppError::validation(
            "audience.criteria",
            format!("an audience has at most {MAX_CRITERIA} criteria"),
        ));
    }
    let mut criteria = Vec::with_capacity(a.criteria.len());
    for c in &a.criteria {
        let attribute = c.attribute.trim().to_string();
        if attribute.is_empty() || attribute.chars().count() > validate::MAX_NAME_CHARS {
            return Err(AppError::validation(
                "audience.criteria.attribute",
                "a criterion needs an attribute name (1–200 characters)",
            ));
        }
        let n = c.values.len();
        let ok = match c.op {
            CriterionOp::Eq | CriterionOp::Neq => n == 1,
            CriterionOp::In | CriterionOp::NotIn => n >= 1,
            CriterionOp::Exists | CriterionOp::NotExists => n == 0,
        };
        if !ok {
            let why = match c.op {
                CriterionOp::Eq | CriterionOp::Neq => "EQ and NEQ take exactly one value",
                CriterionOp::In | CriterionOp::NotIn => "IN and NOT_IN take at least one value",
                CriterionOp::Exists | CriterionOp::NotExists => {
                    "EXISTS and NOT_EXISTS take no values"
                }
            };
            return Err(AppError::validation("audience.criteria.values", why));
        }
        criteria.push(Criterion {
            attribute,
            op: c.op,
            values: c.values.clone(),
        });
    }
    Ok(Audience {
        group_id: a.group_id,
        include_subgroups: a.include_subgroups,
        role_id: a.role_id,
        criteria,
    })
}

async fn validate_bundle(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    items: &[BundleItem],
) -> AppResult<Vec<BundleItem>> {
    if items.is_empty() {
        return Err(AppError::validation(
            "courses",
            "a rule needs at least one course",
        ));
    }
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert(item.course_id) {
            return Err(AppError::validation(
                "courses",
                "a course appears twice in the bundle",
            ));
        }
        for (field, days) in [
            ("unlockAfterDays", item.unlock_after_days),
            ("dueAfterDays", item.due_after_days),
        ] {
            if let Some(d) = days
                && !(0..=MAX_DAYS).contains(&d)
            {
                return Err(AppError::validation(
                    &format!("courses.{field}"),
                    format!("{field} must be between 0 and {MAX_DAYS}"),
                ));
            }
        }
        if let (Some(u), Some(d)) = (item.unlock_after_days, item.due_after_days)
            && d < u
        {
            return Err(AppError::validation(
                "courses.dueAfterDays",
                "a course cannot be due before it unlocks",
            ));
        }
    }
    let ids: Vec<Uuid> = items.iter().map(|i| i.course_id).collect();
    if rows::find_many::<entity::course::Entity>(conn, org_id, &ids)
        .await?
        .len()
        != ids.len()
    {
        return Err(AppError::not_found("course"));
    }
    Ok(items.to_vec())
}

pub async fn create(
    env: &Env,
    viewer: &Viewer,
    spec: RuleSpec,
) -> AppResult<(rule::Model, Outcome)> {
    let authority = Authority::requires(Permission::ManageRules, spec.named());
    unit::run(env, viewer, authority, async |w| create_in(w, spec).await).await
}

/// A new rule; an active one reconciles its bundle for everyone before the change commits.
pub async fn create_in(w: &Write, spec: RuleSpec) -> AppResult<rule::Model> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    let spec = validate_spec(conn, org_id, &spec).await?;
    let id = Uuid::now_v7();
    sql::exec(
        conn,
        "INSERT INTO rules (id, org_id, name, active, on_exit, group_id, include_subgroups, role_id, criteria, created_at, updated_at, track_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
        vals![
            id,
            org_id,
            spec.name.clone(),
            spec.active,
            spec.on_exit.as_str(),
            spec.audience.group_id,
            spec.audience.include_subgroups,
            spec.audience.role_id,
            criteria_json(&spec.audience.criteria),
            now,
            spec.track_id
        ],
    )
    .await?;
    write_bundle(conn, org_id, id, &spec.courses).await?;
    let row = require(conn, org_id, id).await?;
    w.audit(
        Action::RuleCreated,
        Subject::rule(id),
        None,
        Some(snapshot(&row, &spec.courses)),
    )
    .await?;
    if spec.active {
        let courses: Vec<Uuid> = spec.courses.iter().map(|c| c.course_id).collect();
        w.reconcile_courses(Scope::All, courses);
    }
    Ok(row)
}

pub async fn update(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    changes: RuleChanges,
) -> AppResult<(rule::Model, Outcome)> {
    let named: Vec<Named> = std::iter::once(Named::Rule(id))
        .chain(changes.named())
        .collect();
    let authority = Authority::requires(Permission::ManageRules, named);
    unit::run(env, viewer, authority, async |w| {
        update_in(w, id, changes).await
    })
    .await
}

/// Replaces a rule's parts; an active rule reconciles the courses whose desired state the
/// change can alter.
pub async fn update_in(w: &Write, id: Uuid, changes: RuleChanges) -> AppResult<rule::Model> {
    let (tx, org_id, now) = (w, w.org_id, w.now);
    let before = require(tx, org_id, id).await?;
    let before_courses = bundle_of(tx, &[id]).await?.remove(&id).unwrap_or_default();
    let track_id = match (changes.track_id, &changes.courses) {
        (Some(t), _) => t,
        (None, Some(_)) => None,
        (None, None) => before.track_id,
    };
    if changes.track_id == Some(None) && changes.courses.is_none() {
        return Err(AppError::validation(
            "courses",
            "a rule that lets go of its track needs a list of courses",
        ));
    }
    let spec = RuleSpec {
        name: changes.name.clone().unwrap_or_else(|| before.name.clone()),
        audience: changes
            .audience
            .clone()
            .unwrap_or_else(|| audience_of(&before)),
        courses: match (&changes.courses, changes.track_id) {
            (Some(c), _) => c.clone(),
            (None, Some(Some(_))) => vec![],
            (None, _) if track_id.is_some() => vec![],
            (None, _) => before_courses.clone(),
        },
        track_id,
        on_exit: changes
            .on_exit
            .unwrap_or(ExitPolicy::parse(&before.on_exit)),
        active: before.active,
    };
    let spec = validate_spec(tx, org_id, &spec).await?;
    sql::exec(
        tx,
        "UPDATE rules SET name = $1, on_exit = $2, group_id = $3, include_subgroups = $4, role_id = $5, criteria = $6, updated_at = $7, track_id = $9 WHERE id = $8",
        vals![
            spec.name.clone(),
            spec.on_exit.as_str(),
            spec.audience.group_id,
            spec.audience.include_subgroups,
            spec.audience.role_id,
            criteria_json(&spec.audience.criteria),
            now,
            id,
            spec.track_id
        ],
    )
    .await?;
    if changes.courses.is_some() || changes.track_id.is_some() {
        sql::exec(tx, "DELETE FROM rule_courses WHERE rule_id = $1", vals![id]).await?;
        write_bundle(tx, org_id, id, &spec.courses).await?;
    }
    let after = require(tx, org_id, id).await?;
    w.audit(
        Action::RuleUpdated,
        Subject::rule(id),
        Some(snapshot(&before, &before_courses)),
        Some(snapshot(&after, &spec.courses)),
    )
    .await?;
    if after.active {
        let courses = affected_courses(
            &audience_of(&before),
            &before_courses,
            &spec.audience,
            &spec.courses,
        );
        if !courses.is_empty() {
            w.reconcile_courses(Scope::All, courses);
        }
    }
    Ok(after)
}

pub async fn set_active(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    active: bool,
) -> AppResult<(rule::Model, Outcome)> {
    let authority = Authority::requires(Permission::ManageRules, [Named::Rule(id)]);
    unit::run(env, viewer, authority, async |w| {
        set_active_in(w, id, active).await
    })
    .await
}

pub async fn set_active_in(w: &Write, id: Uuid, active: bool) -> AppResult<rule::Model> {
    let (tx, org_id, now) = (w, w.org_id, w.now);
    let before = require(tx, org_id, id).await?;
    if before.active == active {
        return Ok(before);
    }
    sql::exec(
        tx,
        "UPDATE rules SET active = $1, updated_at = $2 WHERE id = $3",
        vals![active, now, id],
    )
    .await?;
    let after = require(tx, org_id, id).await?;
    let courses = bundle_of(tx, &[id]).await?.remove(&id).unwrap_or_default();
    w.audit(
        if active {
            Action::RuleActivated
        } else {
            Action::RuleDeactivated
        },
        Subject::rule(id),
        Some(json!({ "active": before.active })),
        Some(json!({ "active": after.active })),
    )
    .await?;
    let ids: Vec<Uuid> = courses.iter().map(|c| c.course_id).collect();
    w.reconcile_courses(Scope::All, ids);
    Ok(after)
}

/// Deletes a rule: every member leaves its audience under its own exit policy. The rule stays
/// readable as the reason of past assignments.
pub async fn delete(env: &Env, viewer: &Viewer, id: Uuid) -> AppResult<(rule::Model, Outcome)> {
    let authority = Authority::requires(Permission::ManageRules, [Named::Rule(id)]);
    unit::run(env, viewer, authority, async |w| delete_in(w, id).await).await
}

pub async fn delete_in(w: &Write, id: Uuid) -> AppResult<rule::Model> {
    let (tx, org_id, now) = (w, w.org_id, w.now);
    let before = require(tx, org_id, id).await?;
    let courses = bundle_of(tx, &[id]).await?.remove(&id).unwrap_or_default();
    sql::exec(
        tx,
        "UPDATE rules SET active = FALSE, deleted_at = $1, updated_at = $1 WHERE id = $2",
        vals![now, id],
    )
    .await?;
    let after = find_any(tx, org_id, id)
        .await?
        .ok_or_else(|| AppError::internal("deleted rule vanished"))?;
    w.audit(
        Action::RuleDeleted,
        Subject::rule(id),
        Some(snapshot(&before, &courses)),
        None,
    )
    .await?;
    if before.active {
        let ids: Vec<Uuid> = courses.iter().map(|c| c.course_id).collect();
        w.reconcile_courses(Scope::All, ids);
    }
    Ok(after)
}

fn criteria_json(criteria: &[Criterion]) -> String {
    serde_json::to_string(criteria).unwrap_or_else(|_| "[]".into())
}

#[derive(Debug, Clone, Default)]
pub struct RuleFilter {
    pub active: Option<bool>,
    pub group_id: Option<Uuid>,
    pub role_id: Option<Uuid>,
    pub course_id: Option<Uuid>,
}

/// Live rules, oldest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    filter: &RuleFilter,
) -> AppResult<Vec<rule::Model>> {
    let mut text = String::from("SELECT * FROM rules WHERE org_id = $1 AND deleted_at IS NULL");
    let mut values: Vec<Value> = vals![org_id];
    if let Some(a) = filter.active {
        values.push(a.into());
        text.push_str(&format!(" AND active = ${}", values.len()));
    }
    if let Some(g) = filter.group_id {
        values.push(g.into());
        text.push_str(&format!(" AND group_id = ${}", values.len()));
    }
    if let Some(r) = filter.role_id {
        values.push(r.into());
        text.push_str(&format!(" AND role_id = ${}", values.len()));
    }
    if let Some(c) = filter.course_id {
        values.push(c.into());
        text.push_str(&format!(
            " AND id IN (SELECT rule_id FROM rule_courses WHERE course_id = ${})",
            values.len()
        ));
    }
    text.push_str(" ORDER BY created_at, id");
    sql::all(conn, &text, values).await
}

pub fn snapshot(r: &rule::Model, courses: &[BundleItem]) -> serde_json::Value {
    json!({
        "id": r.id,
        "name": r.name,
        "active": r.active,
        "onExit": r.on_exit,
        "audience": {
            "groupId": r.group_id,
            "includeSubgroups": r.include_subgroups,
            "roleId": r.role_id,
            "criteria": serde_json::from_str::<serde_json::Value>(&r.criteria).unwrap_or(json!([])),
        },
        "trackId": r.track_id,
        "courses": courses.iter().map(|c| json!({
            "courseId": c.course_id,
            "unlockAfterDays": c.unlock_after_days,
            "dueAfterDays": c.due_after_days,
        })).collect::<Vec<_>>(),
    })
}

/// The dry run of creating a rule (or replacing rule `replacing` with `spec`): who would gain
/// and who would lose which course. Reads only.
pub async fn preview(
    env: &Env,
    viewer: &Viewer,
    spec: RuleSpec,
    replacing: Option<Uuid>,
    limit: usize,
) -> AppResult<engine::preview::Impact> {
    authz::require_naming(
        &env.db.read,
        viewer,
        Permission::ManageRules,
        &replacing
            .map(Named::Rule)
            .into_iter()
            .chain(spec.named())
            .collect::<Vec<_>>(),
    )
    .await?;
    let conn = &env.db.read;
    let replaced = match replacing {
        Some(r) => Some(require(conn, viewer.org_id, r).await?),
        None => None,
    };
    let spec = validate_spec(conn, viewer.org_id, &spec).await?;
    engine::preview::preview(
        conn,
        viewer.org_id,
        env.now_micros(),
        &spec,
        replaced.as_ref(),
        limit,
    )
    .await
}

/// A rule that is not deleted.
pub async fn find(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<Option<rule::Model>> {
    Ok(rows::find::<rule::Entity>(conn, org_id, id)
        .await?
        .filter(|r| r.deleted_at.is_none()))
}

/// A rule, deleted or not (the reason of past assignments).
pub async fn find_any(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<Option<rule::Model>> {
    rows::find::<rule::Entity>(conn, org_id, id).await
}

/// A rule that is not deleted; NOT_FOUND otherwise.
pub async fn require(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<rule::Model> {
    find(conn, org_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("rule"))
}
