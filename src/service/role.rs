//! Roles (jobs) and their catalogue: categories (featured ones are what learners browse), the
//! skills a role requires, career links ("B advances from A"), and the roles a user holds
//! (primary, set by HR, fires role-based rules) or aims for (target, set by the learner).

use std::collections::{HashMap, HashSet};

use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult, UniqueIndex};
use crate::service::audit::{Action, Subject, SubjectType};
use crate::service::authz::{self, Named, Permission};
use crate::service::course::Change;
use crate::service::engine::{Outcome, Scope};
use crate::service::rows;
use crate::service::skill;
use crate::service::sql::{self, Q};
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::vals;
use entity::{role, role_category, role_link, role_skill, user as user_entity};

/// The database's backstop for a name check that raced another change.
const CATEGORY_NAME_TAKEN: UniqueIndex = UniqueIndex {
    name: "ux_role_categories_name",
    columns: "role_categories.org_id, role_categories.name_norm",
    message: "a role category with this name already exists in the organization",
};

/// The database's backstop for a name check that raced another change.
const ROLE_NAME_TAKEN: UniqueIndex = UniqueIndex {
    name: "ux_roles_name",
    columns: "roles.org_id, roles.name_norm",
    message: "a role with this name already exists in the organization",
};

#[derive(Debug, Clone, Default)]
pub struct NewRole {
    pub name: String,
    pub description: Option<String>,
    pub responsibilities: Vec<String>,
    pub category_id: Option<Uuid>,
}

/// A partial update: `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct RoleChanges {
    pub name: Option<String>,
    pub description: Change<String>,
    pub responsibilities: Option<Vec<String>>,
    pub category_id: Change<Uuid>,
}

/// A required skill: the skill and the level that meets it (`None`: any rating).
pub type Requirement = (Uuid, Option<i32>);

pub async fn create(env: &Env, viewer: &Viewer, input: NewRole) -> AppResult<role::Model> {
    let authority = Authority::requires(
        Permission::EditCatalog,
        input.category_id.map(Named::Category),
    );
    let (role, _) = unit::run(env, viewer, authority, async |w| create_in(w, input).await).await?;
    Ok(role)
}

pub async fn create_in(w: &Write, input: NewRole) -> AppResult<role::Model> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    let name = validate::name("name", &input.name)?;
    let description = validate::optional_text("description", input.description.as_deref())?;
    let responsibilities = validate::responsibilities("responsibilities", &input.responsibilities)?;
    if let Some(c) = input.category_id {
        rows::require::<entity::role_category::Entity>(conn, org_id, c).await?;
    }
    sql::ensure_name_free(conn, "roles", "role", org_id, &name, None).await?;
    let id = Uuid::now_v7();
    sql::exec(
        conn,
        "INSERT INTO roles (id, org_id, name, name_norm, description, category_id, responsibilities, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        vals![
            id,
            org_id,
            name.clone(),
            name.to_lowercase(),
            description,
            input.category_id,
            json!(responsibilities).to_string(),
            now
        ],
    )
    .await
        .map_err(|e| e.on_unique(&ROLE_NAME_TAKEN))?;
    let role = w
        .read_back::<entity::role::Entity>(
            id,
            Action::RoleCreated,
            Subject::new(SubjectType::Role, id),
            None,
            snapshot,
        )
        .await?;
    Ok(role)
}

pub async fn update(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    changes: RoleChanges,
) -> AppResult<role::Model> {
    let named: Vec<Named> = std::iter::once(Named::Role(id))
        .chain(changes.category_id.flatten().map(Named::Category))
        .collect();
    let authority = Authority::requires(Permission::EditCatalog, named);
    let (role, _) = unit::run(env, viewer, authority, async |w| {
        update_in(w, id, changes).await
    })
    .await?;
    Ok(role)
}

pub async fn update_in(w: &Write, id: Uuid, changes: RoleChanges) -> AppResult<role::Model> {
    let (tx, org_id, now) = (w, w.org_id, w.now);
    let before = rows::require::<entity::role::Entity>(tx, org_id, id).await?;
    let mut after = before.clone();
    if let Some(name) = &changes.name {
        after.name = validate::name("name", name)?;
        after.name_norm = after.name.to_lowercase();
        sql::ensure_name_free(tx, "roles", "role", org_id, &after.name, Some(id)).await?;
    }
    if let Some(d) = &changes.description {
        after.description = validate::optional_text("description", d.as_deref())?;
    }
    if let Some(list) = &changes.responsibilities {
        after.responsibilities =
            json!(validate::responsibilities("responsibilities", list)?).to_string();
    }
    if let Some(c) = changes.category_id {
        if let Some(c) = c {
            rows::require::<entity::role_category::Entity>(tx, org_id, c).await?;
        }
        after.category_id = c;
    }
    if after == before {
        return Ok(before);
    }
    sql::exec(
        tx,
        "UPDATE roles SET name = $1, name_norm = $2, description = $3, responsibilities = $4, category_id = $5, updated_at = $6 \
         WHERE id = $7 AND org_id = $8",
        vals![
            after.name.clone(),
            after.name_norm.clone(),
            after.description.clone(),
            after.responsibilities.clone(),
            after.category_id,
            now,
            id,
            org_id
        ],
    )
    .await
        .map_err(|e| e.on_unique(&ROLE_NAME_TAKEN))?;
    let after = w
        .read_back::<entity::role::Entity>(
            id,
            Action::RoleUpdated,
            Subject::new(SubjectType::Role, id),
            Some(snapshot(&before)),
            snapshot,
        )
        .await?;
    Ok(after)
}

/// Deletes a role with its skills and career links; users holding it as primary or target
/// role lose it. Refused (CONFLICT) while an active rule's audience names the role. OWNER, ADMIN.
pub async fn delete(env: &Env, viewer: &Viewer, id: Uuid) -> AppResult<role::Model> {
    let authority = Authority::requires(Permission::DeleteRoles, [Named::Role(id)]);
    let (role, _) = unit::run(env, viewer, authority, async |w| delete_in(w, id).await).await?;
    Ok(role)
}

pub async fn delete_in(w: &Write, id: Uuid) -> AppResult<role::Model> {
    let (tx, org_id, now) = (w, w.org_id, w.now);
    let role = rows::require::<entity::role::Entity>(tx, org_id, id).await?;
    let rules = sql::scalar_i64(
        tx,
        "SELECT COUNT(*) FROM rules WHERE org_id = $1 AND role_id = $2 AND deleted_at IS NULL",
        vals![org_id, id],
    )
    .await?;
    if rules > 0 {
        return Err(AppError::conflict(format!(
            "{rules} rule(s) assign training to this role; change or delete them first"
        )));
    }
    let skills = skills_of(tx, &[id]).await?.remove(&id).unwrap_or_default();
    let (from, to) = (
        links_of(tx, &[id], Direction::From)
            .await?
            .remove(&id)
            .unwrap_or_default(),
        links_of(tx, &[id], Direction::To)
            .await?
            .remove(&id)
            .unwrap_or_default(),
    );
    let holders = sql::ids(
        tx,
        "SELECT id FROM users WHERE org_id = $1 AND (primary_role_id = $2 OR target_role_id = $2)",
        vals![org_id, id],
    )
    .await?;
    // Deleted rules keep their row for history; they no longer name the role.
    sql::exec(
        tx,
        "UPDATE rules SET role_id = NULL WHERE org_id = $1 AND role_id = $2 AND deleted_at IS NOT NULL",
        vals![org_id, id],
    )
    .await?;
    for column in ["primary_role_id", "target_role_id"] {
        sql::exec(
            tx,
            &format!(
                "UPDATE users SET {column} = NULL, updated_at = $1 WHERE org_id = $2 AND {column} = $3"
            ),
            vals![now, org_id, id],
        )
        .await?;
    }
    sql::exec(
        tx,
        "DELETE FROM role_links WHERE org_id = $1 AND (from_role_id = $2 OR to_role_id = $2)",
        vals![org_id, id],
    )
    .await?;
    sql::exec(tx, "DELETE FROM role_skills WHERE role_id = $1", vals![id]).await?;
    sql::exec(
        tx,
        "DELETE FROM roles WHERE id = $1 AND org_id = $2",
        vals![id, org_id],
    )
    .await?;
    let mut before = snapshot(&role);
    before["skills"] = requirements_json(&skills);
    before["advancesFrom"] = json!(from);
    before["advancesTo"] = json!(to);
    before["holders"] = json!(holders);
    w.audit(
        Action::RoleDeleted,
        Subject::new(SubjectType::Role, id),
        Some(before),
        None,
    )
    .await?;
    Ok(role)
}

/// Replaces the skills a role requires (in the order given).
pub async fn set_skills(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    skills: &[Requirement],
) -> AppResult<role::Model> {
    let named: Vec<Named> = std::iter::once(Named::Role(id))
        .chain(skills.iter().map(|s| Named::Skill(s.0)))
        .collect();
    let authority = Authority::requires(Permission::EditCatalog, named);
    let (role, _) = unit::run(env, viewer, authority, async |w| {
        set_skills_in(w, id, skills).await
    })
    .await?;
    Ok(role)
}

pub async fn set_skills_in(w: &Write, id: Uuid, skills: &[Requirement]) -> AppResult<role::Model> {
    let (tx, org_id, now) = (w, w.org_id, w.now);
    let role = rows::require::<entity::role::Entity>(tx, org_id, id).await?;
    let scale = skill::scale(tx, org_id).await?;
    let mut seen = HashSet::new();
    for (skill_id, level) in skills {
        if !seen.insert(*skill_id) {
            return Err(AppError::validation(
                "skills",
                "a skill is listed twice; list each skill once",
            ));
        }
        if let Some(l) = level {
            scale.check("skills.level", *l)?;
        }
    }
    let ids: Vec<Uuid> = skills.iter().map(|(s, _)| *s).collect();
    rows::require_all::<entity::skill::Entity>(tx, org_id, &ids).await?;
    let before = skills_of(tx, &[id]).await?.remove(&id).unwrap_or_default();
    let unchanged = before.len() == skills.len()
        && before
            .iter()
            .zip(skills)
            .all(|(b, (s, l))| b.skill_id == *s && b.level == *l);
    if unchanged {
        return Ok(role);
    }
    write_skills_in(tx, org_id, id, skills).await?;
    sql::exec(
        tx,
        "UPDATE roles SET updated_at = $1 WHERE id = $2",
        vals![now, id],
    )
    .await?;
    let after = skills_of(tx, &[id]).await?.remove(&id).unwrap_or_default();
    w.audit(
        Action::RoleSkillsSet,
        Subject::new(SubjectType::Role, id),
        Some(json!({ "skills": requirements_json(&before) })),
        Some(json!({ "skills": requirements_json(&after) })),
    )
    .await?;
    let role = rows::require::<entity::role::Entity>(tx, org_id, id).await?;
    Ok(role)
}

/// Replaces a role's requirements without checks (callers validate).
pub async fn write_skills_in(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    role_id: Uuid,
    skills: &[Requirement],
) -> AppResult<()> {
    sql::exec(
        conn,
        "DELETE FROM role_skills WHERE role_id = $1",
        vals![role_id],
    )
    .await?;
    if skills.is_empty() {
        return Ok(());
    }
    let mut q = Q::new();
    let rows: Vec<String> = skills
        .iter()
        .enumerate()
        .map(|(i, (s, l))| {
            format!(
                "({}, {}, {}, {}, {})",
                q.bind(org_id),
                q.bind(role_id),
                q.bind(*s),
                q.bind(*l),
                q.bind(i as i32)
            )
        })
        .collect();
    q.text = format!(
        "INSERT INTO role_skills (org_id, role_id, skill_id, level, position) VALUES {}",
        rows.join(", ")
    );
    q.exec(conn).await?;
    Ok(())
}

fn requirements_json(skills: &[role_skill::Model]) -> serde_json::Value {
    json!(
        skills
            .iter()
            .map(|s| json!({ "skillId": s.skill_id, "level": s.level }))
            .collect::<Vec<_>>()
    )
}

/// Records that `to` advances from `from`. Linking a role to itself is VALIDATION, an existing
/// link CONFLICT; cycles in the ladder are allowed.
pub async fn link(
    env: &Env,
    viewer: &Viewer,
    from: Uuid,
    to: Uuid,
) -> AppResult<(role::Model, role::Model)> {
    let authority = Authority::requires(
        Permission::EditCatalog,
        [Named::Role(from), Named::Role(to)],
    );
    let (roles, _) =
        unit::run(env, viewer, authority, async |w| link_in(w, from, to).await).await?;
    Ok(roles)
}

pub async fn link_in(w: &Write, from: Uuid, to: Uuid) -> AppResult<(role::Model, role::Model)> {
    let (tx, org_id, now) = (w, w.org_id, w.now);
    let from_role = rows::require::<entity::role::Entity>(tx, org_id, from).await?;
    let to_role = rows::require::<entity::role::Entity>(tx, org_id, to).await?;
    if from == to {
        return Err(AppError::validation(
            "toRoleId",
            "a role cannot advance from itself",
        ));
    }
    if link_exists(tx, from, to).await? {
        return Err(AppError::conflict(format!(
            "'{}' already advances from '{}'",
            to_role.name, from_role.name
        )));
    }
    sql::exec(
        tx,
        "INSERT INTO role_links (org_id, from_role_id, to_role_id, created_at) VALUES ($1, $2, $3, $4)",
        vals![org_id, from, to, now],
    )
    .await?;
    w.audit(
        Action::RolesLinked,
        Subject::new(SubjectType::Role, to),
        None,
        Some(json!({ "fromRoleId": from, "toRoleId": to })),
    )
    .await?;
    Ok((from_role, to_role))
}

/// Removes the link "`to` advances from `from`" (NOT_FOUND when there is none).
pub async fn unlink(
    env: &Env,
    viewer: &Viewer,
    from: Uuid,
    to: Uuid,
) -> AppResult<(role::Model, role::Model)> {
    let authority = Authority::requires(
        Permission::EditCatalog,
        [Named::Role(from), Named::Role(to)],
    );
    let (roles, _) = unit::run(env, viewer, authority, async |w| {
        unlink_in(w, from, to).await
    })
    .await?;
    Ok(roles)
}

pub async fn unlink_in(w: &Write, from: Uuid, to: Uuid) -> AppResult<(role::Model, role::Model)> {
    let (tx, org_id) = (w, w.org_id);
    let from_role = rows::require::<entity::role::Entity>(tx, org_id, from).await?;
    let to_role = rows::require::<entity::role::Entity>(tx, org_id, to).await?;
    let removed = sql::exec(
        tx,
        "DELETE FROM role_links WHERE org_id = $1 AND from_role_id = $2 AND to_role_id = $3",
        vals![org_id, from, to],
    )
    .await?;
    if removed == 0 {
        return Err(AppError::not_found("career link"));
    }
    w.audit(
        Action::RolesUnlinked,
        Subject::new(SubjectType::Role, to),
        Some(json!({ "fromRoleId": from, "toRoleId": to })),
        None,
    )
    .await?;
    Ok((from_role, to_role))
}

async fn link_exists(conn: &impl ConnectionTrait, from: Uuid, to: Uuid) -> AppResult<bool> {
    Ok(sql::scalar_i64(
        conn,
        "SELECT COUNT(*) FROM role_links WHERE from_role_id = $1 AND to_role_id = $2",
        vals![from, to],
    )
    .await?
        > 0)
}

/// Which end of a career link to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The roles a role advances from (its previous rungs).
    From,
    /// The roles that advance from a role (its next rungs).
    To,
}

/// For each role, the roles linked to it in `direction`, by name.
pub async fn links_of(
    conn: &impl ConnectionTrait,
    role_ids: &[Uuid],
    direction: Direction,
) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if role_ids.is_empty() {
        return Ok(out);
    }
    let (key, other) = match direction {
        Direction::From => ("to_role_id", "from_role_id"),
        Direction::To => ("from_role_id", "to_role_id"),
    };
    let mut q = Q::new();
    let list = q.bind_ids(role_ids);
    q.text = format!(
        "SELECT l.* FROM role_links l JOIN roles r ON r.id = l.{other} \
         WHERE l.{key} IN ({list}) ORDER BY r.name_norm, r.id"
    );
    for l in q.all::<role_link::Model>(conn).await? {
        let (k, v) = match direction {
            Direction::From => (l.to_role_id, l.from_role_id),
            Direction::To => (l.from_role_id, l.to_role_id),
        };
        out.entry(k).or_default().push(v);
    }
    Ok(out)
}

/// The requirements of several roles, in their order.
pub async fn skills_of(
    conn: &impl ConnectionTrait,
    role_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<role_skill::Model>>> {
    if role_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = Q::new();
    let list = q.bind_ids(role_ids);
    q.text =
        format!("SELECT * FROM role_skills WHERE role_id IN ({list}) ORDER BY role_id, position");
    q.grouped(conn, |rs: &role_skill::Model| rs.role_id).await
}

/// Sets (or with `None` clears) a user's primary role. The role's skills join the user's
/// profile, unrated, and the engine reconciles the user (role-based rules fire).
pub async fn set_primary(
    env: &Env,
    viewer: &Viewer,
    user_id: Uuid,
    role_id: Option<Uuid>,
) -> AppResult<(user_entity::Model, Outcome)> {
    let named = std::iter::once(Named::User(user_id)).chain(role_id.map(Named::Role));
    let authority = Authority::requires(Permission::ManageOrg, named);
    unit::run(env, viewer, authority, async |w| {
        set_primary_in(w, user_id, role_id).await
    })
    .await
}

/// A promotion or transfer: the user's primary role, the role's skills added to their profile
/// (unrated), and role-based rules reconciled.
pub async fn set_primary_in(
    w: &Write,
    user_id: Uuid,
    role_id: Option<Uuid>,
) -> AppResult<user_entity::Model> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    w.about(Subject::user(user_id));
    w.reconcile(Scope::Users(vec![user_id]));
    let before = rows::require::<entity::user::Entity>(conn, org_id, user_id).await?;
    if let Some(r) = role_id {
        rows::require::<entity::role::Entity>(conn, org_id, r).await?;
    }
    if before.primary_role_id == role_id {
        return Ok(before);
    }
    sql::exec(
        conn,
        "UPDATE users SET primary_role_id = $1, updated_at = $2 WHERE id = $3 AND org_id = $4",
        vals![role_id, now, user_id, org_id],
    )
    .await?;
    if let Some(r) = role_id {
        skill::add_role_skills_in(conn, org_id, now, user_id, r).await?;
    }
    let after = rows::require::<entity::user::Entity>(conn, org_id, user_id).await?;
    w.audit(
        Action::PrimaryRoleSet,
        Subject::new(SubjectType::User, user_id),
        Some(json!({ "primaryRoleId": before.primary_role_id })),
        Some(json!({ "primaryRoleId": after.primary_role_id })),
    )
    .await?;
    Ok(after)
}

/// Sets (or with `None` clears) the viewer's own target role: one they may browse.
pub async fn set_target(
    env: &Env,
    viewer: &Viewer,
    role_id: Option<Uuid>,
) -> AppResult<user_entity::Model> {
    let (after, _) = unit::run(env, viewer, Authority::PerObject, async |w| {
        let org_id = w.org_id;
        if let Some(r) = role_id {
            rows::require::<entity::role::Entity>(w, org_id, r).await?;
            if !authz::can_see_role(w, viewer, r).await? {
                return Err(AppError::not_found("role"));
            }
        }
        let before = rows::require::<entity::user::Entity>(w, org_id, viewer.user_id).await?;
        if before.target_role_id == role_id {
            return Ok(before);
        }
        set_target_in(w, &before, role_id).await?;
        rows::require::<entity::user::Entity>(w, org_id, viewer.user_id).await
    })
    .await?;
    Ok(after)
}

pub async fn set_target_in(
    w: &Write,
    before: &user_entity::Model,
    role_id: Option<Uuid>,
) -> AppResult<()> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    sql::exec(
        conn,
        "UPDATE users SET target_role_id = $1, updated_at = $2 WHERE id = $3 AND org_id = $4",
        vals![role_id, now, before.id, org_id],
    )
    .await?;
    w.audit(
        Action::TargetRoleSet,
        Subject::new(SubjectType::User, before.id),
        Some(json!({ "targetRoleId": before.target_role_id })),
        Some(json!({ "targetRoleId": role_id })),
    )
    .await
}

/// A role the viewer may browse; `None` when unknown or not visible.
pub async fn get(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<Option<role::Model>> {
    if !authz::can_see_role(conn, viewer, id).await? {
        return Ok(None);
    }
    rows::find::<entity::role::Entity>(conn, viewer.org_id, id).await
}

/// A role the viewer may browse, or NOT_FOUND.
pub async fn require_visible(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<role::Model> {
    get(conn, viewer, id)
        .await?
        .ok_or_else(|| AppError::not_found("role"))
}

/// Filters of `roles`; all given parts must hold.
#[derive(Debug, Clone, Default)]
pub struct RoleFilter {
    pub search: Option<String>,
    pub category_id: Option<Uuid>,
    pub skill_id: Option<Uuid>,
}

/// Adds the filter's conditions on the role alias `r` to `clauses`.
pub fn filter_clauses(q: &mut Q, filter: &RoleFilter, clauses: &mut Vec<String>) {
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let p = q.bind(format!(
            "%{}%",
            validate::like_escape(&search.to_lowercase())
        ));
        clauses.push(format!("r.name_norm LIKE {p} ESCAPE '\\'"));
    }
    if let Some(c) = filter.category_id {
        clauses.push(format!("r.category_id = {}", q.bind(c)));
    }
    if let Some(s) = filter.skill_id {
        clauses.push(format!(
            "r.id IN (SELECT fs.role_id FROM role_skills fs WHERE fs.skill_id = {})",
            q.bind(s)
        ));
    }
}

/// The roles the viewer may browse, by name.
pub async fn list(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &RoleFilter,
) -> AppResult<Vec<role::Model>> {
    let mut q = Q::new();
    let mut clauses = vec![format!("r.org_id = {}", q.bind(viewer.org_id))];
    clauses.push(authz::visible_roles_sql(&mut q, viewer, "r.id"));
    filter_clauses(&mut q, filter, &mut clauses);
    q.text = format!(
        "SELECT r.* FROM roles r WHERE {} ORDER BY r.name_norm, r.id",
        clauses.join(" AND ")
    );
    q.all(conn).await
}

pub fn snapshot(r: &role::Model) -> serde_json::Value {
    json!({
        "id": r.id,
        "name": r.name,
        "description": r.description,
        "responsibilities": serde_json::from_str::<serde_json::Value>(&r.responsibilities).unwrap_or(json!([])),
        "categoryId": r.category_id,
    })
}

// ---- categories ----

pub async fn create_category(
    env: &Env,
    viewer: &Viewer,
    name: &str,
    featured: bool,
) -> AppResult<role_category::Model> {
    let (value, _) = unit::run(
        env,
        viewer,
        Authority::requires(Permission::EditCatalog, []),
        async |w| {
            let c = create_category_in(w, name, featured).await?;
            Ok(c)
        },
    )
    .await?;
    Ok(value)
}

pub async fn create_category_in(
    w: &Write,
    name: &str,
    featured: bool,
) -> AppResult<role_category::Model> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    let name = validate::name("name", name)?;
    sql::ensure_name_free(
        conn,
        "role_categories",
        "role category",
        org_id,
        &name,
        None,
    )
    .await?;
    let id = Uuid::now_v7();
    sql::exec(
        conn,
        "INSERT INTO role_categories (id, org_id, name, name_norm, featured, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        vals![id, org_id, name.clone(), name.to_lowercase(), featured, now],
    )
    .await
        .map_err(|e| e.on_unique(&CATEGORY_NAME_TAKEN))?;
    let c = w
        .read_back::<entity::role_category::Entity>(
            id,
            Action::RoleCategoryCreated,
            Subject::new(SubjectType::RoleCategory, id),
            None,
            category_snapshot,
        )
        .await?;
    Ok(c)
}

pub async fn update_category(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    name: Option<&str>,
    featured: Option<bool>,
) -> AppResult<role_category::Model> {
    let (value, _) = unit::run(env, viewer, Authority::requires(Permission::EditCatalog, [Named::Category(id)]), async |w| {
 let (tx, org_id, now) = (w, w.org_id, w.now);

    let before = rows::require::<entity::role_category::Entity>(tx, org_id, id).await?;
    let mut after = before.clone();
    if let Some(n) = name {
        after.name = validate::name("name", n)?;
        after.name_norm = after.name.to_lowercase();
        sql::ensure_name_free(
            tx,
            "role_categories",
            "role category",
            org_id,
            &after.name,
            Some(id),
        )
        .await?;
    }
    if let Some(f) = featured {
        after.featured = f;
    }
    if after == before {
        return Ok(before);
    }
    sql::exec(
        tx,
        "UPDATE role_categories SET name = $1, name_norm = $2, featured = $3, updated_at = $4 WHERE id = $5 AND org_id = $6",
        vals![after.name.clone(), after.name_norm.clone(), after.featured, now, id, org_id],
    )
    .await
        .map_err(|e| e.on_unique(&CATEGORY_NAME_TAKEN))?;
    let after = w
        .read_back::<entity::role_category::Entity>(id, Action::RoleCategoryUpdated, Subject::new(SubjectType::RoleCategory, id), Some(category_snapshot(&before)), category_snapshot)
        .await?;
    Ok(after)

}).await?;
    Ok(value)
}

/// The categories the viewer may browse (all for catalogue editors, featured ones otherwise),
/// by name.
pub async fn categories(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
) -> AppResult<Vec<role_category::Model>> {
    let featured_only = if authz::sees_all_roles(viewer) {
        ""
    } else {
        " AND featured = TRUE"
    };
    sql::all(
        conn,
        &format!(
            "SELECT * FROM role_categories WHERE org_id = $1{featured_only} ORDER BY name_norm, id"
        ),
        vals![viewer.org_id],
    )
    .await
}

pub fn category_snapshot(c: &role_category::Model) -> serde_json::Value {
    json!({ "id": c.id, "name": c.name, "featured": c.featured })
}
