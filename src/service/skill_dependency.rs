//! Skill dependencies: "skill A requires skill B", a DAG per organization. A link that would
//! close a cycle is refused with the cycle named, the same way course prerequisites are.

use std::collections::{HashMap, HashSet};

use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::audit::{Action, Subject, SubjectType};
use crate::service::authz::{Named, Permission};
use crate::service::rows;
use crate::service::sql;
use crate::service::unit::{self, Authority, Env};
use crate::service::viewer::Viewer;
use crate::vals;
use entity::skill as skill_entity;

/// Adds "`skill_id` requires `requires_id`". Adding a link that exists changes nothing.
/// Returns the dependent skill.
pub async fn add(
    env: &Env,
    viewer: &Viewer,
    skill_id: Uuid,
    requires_id: Uuid,
) -> AppResult<skill_entity::Model> {
    let (value, _) = unit::run(env, viewer, Authority::requires(Permission::EditCatalog, [Named::Skill(skill_id), Named::Skill(requires_id)]), async |w| {
 let (tx, org_id, now) = (w, w.org_id, w.now);

    let dependent = rows::require::<entity::skill::Entity>(tx, org_id, skill_id).await?;
    let required = rows::require::<entity::skill::Entity>(tx, org_id, requires_id).await?;
    if skill_id == requires_id {
        return Err(AppError::validation(
            "requiresSkillId",
            "a skill cannot require itself",
        ));
    }
    let graph = edges(tx, org_id).await?;
    if graph
        .get(&skill_id)
        .is_some_and(|r| r.contains(&requires_id))
    {
        return Ok(dependent);
    }
    if let Some(path) = path(&graph, requires_id, skill_id) {
        let names: HashMap<Uuid, String> = rows::find_many::<entity::skill::Entity>(tx, org_id, &path)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        let mut cycle = vec![dependent.name.clone()];
        cycle.extend(
            path.iter()
                .map(|id| names.get(id).cloned().unwrap_or_default()),
        );
        return Err(AppError::validation(
            "requiresSkillId",
            format!(
                "skill dependencies would form a cycle: {}",
                cycle.join(" → ")
            ),
        ));
    }
    sql::exec(
        tx,
        "INSERT INTO skill_dependencies (org_id, skill_id, requires_skill_id, created_at) VALUES ($1, $2, $3, $4)",
        vals![org_id, skill_id, requires_id, now],
    )
    .await?;
    w.audit(
Action::SkillDependencyAdded,
Subject::new(SubjectType::Skill, skill_id),
None,
Some(json!({ "skillId": skill_id, "requiresSkillId": required.id })),
)
    .await?;
    Ok(dependent)

}).await?;
    Ok(value)
}

/// Removes "`skill_id` requires `requires_id`"; NOT_FOUND when there is no such link.
pub async fn remove(
    env: &Env,
    viewer: &Viewer,
    skill_id: Uuid,
    requires_id: Uuid,
) -> AppResult<skill_entity::Model> {
    let (value, _) = unit::run(env, viewer, Authority::requires(Permission::EditCatalog, [Named::Skill(skill_id), Named::Skill(requires_id)]), async |w| {
 let (tx, org_id) = (w, w.org_id);

    let dependent = rows::require::<entity::skill::Entity>(tx, org_id, skill_id).await?;
    let removed = sql::exec(
        tx,
        "DELETE FROM skill_dependencies WHERE org_id = $1 AND skill_id = $2 AND requires_skill_id = $3",
        vals![org_id, skill_id, requires_id],
    )
    .await?;
    if removed == 0 {
        return Err(AppError::not_found("skill dependency"));
    }
    w.audit(
Action::SkillDependencyRemoved,
Subject::new(SubjectType::Skill, skill_id),
Some(json!({ "skillId": skill_id, "requiresSkillId": requires_id })),
None,
)
    .await?;
    Ok(dependent)

}).await?;
    Ok(value)
}

/// skill → the skills it requires, for the whole organization.
async fn edges(conn: &impl ConnectionTrait, org_id: Uuid) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    let rows = conn
        .query_all_raw(sql::stmt(
            conn,
            "SELECT skill_id, requires_skill_id FROM skill_dependencies WHERE org_id = $1",
            vals![org_id],
        ))
        .await?;
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get_by_index::<Uuid>(0)?)
            .or_default()
            .push(r.try_get_by_index::<Uuid>(1)?);
    }
    Ok(out)
}

/// A path `from` → … → `to` along "requires" links (both ends included).
fn path(graph: &HashMap<Uuid, Vec<Uuid>>, from: Uuid, to: Uuid) -> Option<Vec<Uuid>> {
    let mut parent: HashMap<Uuid, Uuid> = HashMap::new();
    let mut seen = HashSet::from([from]);
    let mut stack = vec![from];
    while let Some(n) = stack.pop() {
        if n == to {
            let mut out = vec![to];
            let mut at = to;
            while let Some(p) = parent.get(&at) {
                out.push(*p);
                at = *p;
            }
            out.reverse();
            return Some(out);
        }
        for m in graph.get(&n).into_iter().flatten() {
            if seen.insert(*m) {
                parent.insert(*m, n);
                stack.push(*m);
            }
        }
    }
    None
}

/// For each of `skill_ids`: the skills it requires (`requires = true`) or that require it.
pub async fn linked(
    conn: &impl ConnectionTrait,
    skill_ids: &[Uuid],
    requires: bool,
) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    if skill_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let (key, other) = if requires {
        ("skill_id", "requires_skill_id")
    } else {
        ("requires_skill_id", "skill_id")
    };
    let mut q = sql::Q::new();
    let list = q.bind_ids(skill_ids);
    q.text = format!(
        "SELECT d.{key}, d.{other} FROM skill_dependencies d JOIN skills s ON s.id = d.{other} \
         WHERE d.{key} IN ({list}) ORDER BY s.name_norm"
    );
    let rows = conn
        .query_all_raw(sql::stmt(conn, &q.text, q.values))
        .await?;
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get_by_index::<Uuid>(0)?)
            .or_default()
            .push(r.try_get_by_index::<Uuid>(1)?);
    }
    Ok(out)
}
