//! People: creation, profile updates (attributes replace the old set), manager links without
//! cycles, deactivation, and the reads a viewer is allowed.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult, UniqueIndex};
use crate::service::audit::{Action, Subject};
use crate::service::authz::{self, Named, Permission};
use crate::service::engine::{Outcome, Scope};
use crate::service::page::{Page, PageRequest};
use crate::service::rows;
use crate::service::sql;
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::validate::{self, Attributes, Email};
use crate::service::viewer::Viewer;
use crate::vals;
use entity::user;

/// The database's backstop for a name check that raced another change.
const EMAIL_TAKEN: UniqueIndex = UniqueIndex {
    name: "ux_users_email",
    columns: "users.org_id, users.email_norm",
    message: "a user with this email already exists in the organization",
};

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub job_title: Option<String>,
    pub hire_date: Option<NaiveDate>,
    pub attributes: Option<serde_json::Value>,
    pub manager_id: Option<Uuid>,
}

/// A partial update: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub job_title: Option<Option<String>>,
    pub hire_date: Option<Option<NaiveDate>>,
    /// Replaces the whole set; JSON null clears it.
    pub attributes: Option<serde_json::Value>,
    pub manager_id: Option<Option<Uuid>>,
}

pub async fn create(
    env: &Env,
    viewer: &Viewer,
    input: NewUser,
) -> AppResult<(user::Model, Outcome)> {
    let named = input.manager_id.map(Named::User);
    unit::run(
        env,
        viewer,
        Authority::requires(Permission::ManageOrg, named),
        async |w| create_in(w, input).await,
    )
    .await
}

/// A hire: the new user, audited, and reconciled before the change commits.
pub async fn create_in(w: &Write, input: NewUser) -> AppResult<user::Model> {
    let org_id = w.org_id;
    let email = Email::parse("email", &input.email)?;
    let name = validate::name("name", &input.name)?;
    let job_title = validate::optional_name("jobTitle", input.job_title.as_deref())?;
    let attributes = match &input.attributes {
        Some(v) => Attributes::parse("attributes", v)?,
        None => Attributes::default(),
    };
    if let Some(manager) = input.manager_id {
        rows::require_as::<entity::user::Entity>(w, org_id, manager, "manager").await?;
    }
    ensure_email_free(w, org_id, &email, None).await?;
    let id = Uuid::now_v7();
    sql::exec(
        w,
        "INSERT INTO users (id, org_id, email, email_norm, name, job_title, hire_date, attributes, manager_id, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $10, $10)",
        vals![
            id,
            org_id,
            email.display.clone(),
            email.normalized.clone(),
            name,
            job_title,
            input.hire_date,
            attributes.to_json(),
            input.manager_id,
            w.now
        ],
    )
    .await
        .map_err(|e| e.on_unique(&EMAIL_TAKEN))?;
    write_attributes(w, org_id, id, &attributes).await?;
    let user = w
        .read_back::<entity::user::Entity>(
            id,
            Action::UserCreated,
            Subject::user(id),
            None,
            snapshot,
        )
        .await?;
    w.reconcile(Scope::Users(vec![id]));
    Ok(user)
}

pub async fn update(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    changes: UserChanges,
) -> AppResult<(user::Model, Outcome)> {
    let named =
        std::iter::once(Named::User(id)).chain(changes.manager_id.flatten().map(Named::User));
    unit::run(
        env,
        viewer,
        Authority::requires(Permission::ManageOrg, named),
        async |w| update_in(w, id, changes).await,
    )
    .await
}

/// A profile change (attributes replace the old set), audited and reconciled when anything
/// changed.
pub async fn update_in(w: &Write, id: Uuid, changes: UserChanges) -> AppResult<user::Model> {
    let org_id = w.org_id;
    let before = rows::require::<entity::user::Entity>(w, org_id, id).await?;
    let mut after = before.clone();
    if let Some(name) = &changes.name {
        after.name = validate::name("name", name)?;
    }
    if let Some(job_title) = &changes.job_title {
        after.job_title = validate::optional_name("jobTitle", job_title.as_deref())?;
    }
    if let Some(hire_date) = changes.hire_date {
        after.hire_date = hire_date;
    }
    let attributes = match &changes.attributes {
        Some(v) => Some(Attributes::parse("attributes", v)?),
        None => None,
    };
    if let Some(attrs) = &attributes {
        after.attributes = attrs.to_json();
    }
    if let Some(manager) = changes.manager_id {
        if let Some(m) = manager {
            if m == id {
                return Err(AppError::validation(
                    "managerId",
                    "a user cannot be their own manager",
                ));
            }
            rows::require_as::<entity::user::Entity>(w, org_id, m, "manager").await?;
            if manages_transitively(w, org_id, id, m).await? {
                return Err(AppError::validation(
                    "managerId",
                    "this manager would create a reporting cycle",
                ));
            }
        }
        after.manager_id = manager;
    }
    if after == before {
        return Ok(before);
    }
    after.updated_at = w.now;
    sql::exec(
        w,
        "UPDATE users SET name = $1, job_title = $2, hire_date = $3, attributes = $4, manager_id = $5, updated_at = $6 WHERE id = $7 AND org_id = $8",
        vals![after.name.clone(), after.job_title.clone(), after.hire_date, after.attributes.clone(), after.manager_id, w.now, id, org_id],
    )
    .await?;
    if let Some(attrs) = &attributes {
        sql::exec(
            w,
            "DELETE FROM user_attributes WHERE user_id = $1",
            vals![id],
        )
        .await?;
        write_attributes(w, org_id, id, attrs).await?;
    }
    w.audit(
        Action::UserUpdated,
        Subject::user(id),
        Some(snapshot(&before)),
        Some(snapshot(&after)),
    )
    .await?;
    w.reconcile(Scope::Users(vec![id]));
    Ok(after)
}

pub async fn deactivate(env: &Env, viewer: &Viewer, id: Uuid) -> AppResult<(user::Model, Outcome)> {
    unit::run(
        env,
        viewer,
        Authority::requires(Permission::ManageOrg, [Named::User(id)]),
        async |w| {
            if id == viewer.user_id && viewer.client.is_none() {
                let before = rows::require::<entity::user::Entity>(w, w.org_id, id).await?;
                if before.active {
                    return Err(AppError::validation("id", "you cannot deactivate yourself"));
                }
            }
            deactivate_in(w, id).await
        },
    )
    .await
}

/// A leaver: deactivated (history kept), audited and reconciled; nothing for someone already
/// deactivated.
pub async fn deactivate_in(w: &Write, id: Uuid) -> AppResult<user::Model> {
    let org_id = w.org_id;
    let before = rows::require::<entity::user::Entity>(w, org_id, id).await?;
    if !before.active {
        return Ok(before);
    }
    sql::exec(
        w,
        "UPDATE users SET active = FALSE, deactivated_at = $1, updated_at = $1 WHERE id = $2 AND org_id = $3",
        vals![w.now, id, org_id],
    )
    .await?;
    w.end_sessions(id);
    let after = w
        .read_back::<entity::user::Entity>(
            id,
            Action::UserDeactivated,
            Subject::user(id),
            Some(snapshot(&before)),
            snapshot,
        )
        .await?;
    w.reconcile(Scope::Users(vec![id]));
    Ok(after)
}

/// The user if the viewer may see them; `None` for unknown ids, other organizations' users and
/// users outside the viewer's scope alike (no existence leak).
pub async fn get(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<Option<user::Model>> {
    if !authz::can_see_user(conn, viewer, id).await? {
        return Ok(None);
    }
    rows::find::<entity::user::Entity>(conn, viewer.org_id, id).await
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub group_id: Option<Uuid>,
    pub include_subgroups: bool,
    pub search: Option<String>,
    pub role_id: Option<Uuid>,
    pub active: Option<bool>,
}

pub async fn list(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &UserFilter,
    page: &PageRequest,
) -> AppResult<Page<user::Model>> {
    authz::load_scope(conn, viewer).await?;
    let (where_sql, mut values) = filter_sql(viewer, filter);
    let mut text = format!("SELECT u.* FROM users u WHERE {where_sql}");
    if let Some(after) = page.after_key::<Uuid>()? {
        values.push(after.into());
        text.push_str(&format!(" AND u.id > ${}", values.len()));
    }
    text.push_str(&format!(" ORDER BY u.id LIMIT {}", page.limit() + 1));
    let rows: Vec<user::Model> = sql::all(conn, &text, values).await?;
    Ok(page.finish(rows, |u| u.id))
}

pub async fn count(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &UserFilter,
) -> AppResult<i64> {
    authz::load_scope(conn, viewer).await?;
    let (where_sql, values) = filter_sql(viewer, filter);
    sql::scalar_i64(
        conn,
        &format!("SELECT COUNT(*) FROM users u WHERE {where_sql}"),
        values,
    )
    .await
}

/// The WHERE clause for a user list: organization, the viewer's scope, then the filter.
fn filter_sql(viewer: &Viewer, filter: &UserFilter) -> (String, Vec<Value>) {
    let mut clauses = vec!["u.org_id = $1".to_string()];
    let values: Vec<Value> = vals![viewer.org_id];
    let mut q = sql::Q {
        text: String::new(),
        values,
    };
    clauses.push(authz::visible_users_sql(&mut q, viewer, "u.id"));
    let mut values = q.values;
    if let Some(group) = filter.group_id {
        values.push(group.into());
        let n = values.len();
        if filter.include_subgroups {
            clauses.push(format!(
                "u.id IN (SELECT m.user_id FROM memberships m JOIN group_closure c ON c.descendant_id = m.group_id \
                 WHERE c.ancestor_id = ${n} AND m.until IS NULL)"
            ));
        } else {
            clauses.push(format!("u.id IN (SELECT m.user_id FROM memberships m WHERE m.group_id = ${n} AND m.until IS NULL)"));
        }
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let escaped = search
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        values.push(format!("%{escaped}%").into());
        let n = values.len();
        clauses.push(format!(
            "(lower(u.name) LIKE ${n} ESCAPE '\\' OR u.email_norm LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let Some(role) = filter.role_id {
        values.push(role.into());
        clauses.push(format!("u.primary_role_id = ${}", values.len()));
    }
    if let Some(active) = filter.active {
        clauses.push(if active {
            "u.active = TRUE".into()
        } else {
            "u.active = FALSE".into()
        });
    }
    (clauses.join(" AND "), values)
}

/// The audit snapshot of a user.
pub fn snapshot(u: &user::Model) -> serde_json::Value {
    json!({
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "jobTitle": u.job_title,
        "hireDate": u.hire_date,
        "attributes": serde_json::from_str::<serde_json::Value>(&u.attributes).unwrap_or(json!({})),
        "managerId": u.manager_id,
        "primaryRoleId": u.primary_role_id,
        "active": u.active,
    })
}

async fn ensure_email_free(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    email: &Email,
    except: Option<Uuid>,
) -> AppResult<()> {
    let taken = sql::ids(
        conn,
        "SELECT id FROM users WHERE org_id = $1 AND email_norm = $2",
        vals![org_id, email.normalized.clone()],
    )
    .await?;
    if taken.iter().any(|id| Some(*id) != except) {
        return Err(AppError::conflict(format!(
            "a user with email {} already exists in the organization",
            email.display
        )));
    }
    Ok(())
}

/// Whether `user` is (directly or not) above `candidate` in the reporting line, i.e. making
/// `candidate` the manager of `user` would close a cycle.
async fn manages_transitively(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    user: Uuid,
    candidate: Uuid,
) -> AppResult<bool> {
    Ok(authz::reports_of(conn, org_id, user)
        .await?
        .contains(&candidate))
}

async fn write_attributes(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    user_id: Uuid,
    attrs: &Attributes,
) -> AppResult<()> {
    if attrs.0.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = Vec::with_capacity(attrs.0.len() * 4);
    let rows: Vec<String> = attrs
        .0
        .iter()
        .enumerate()
        .map(|(i, (k, v))| {
            values.extend(vals![org_id, user_id, k.clone(), v.clone()]);
            let b = i * 4;
            format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4)
        })
        .collect();
    sql::exec(
        conn,
        &format!(
            "INSERT INTO user_attributes (org_id, user_id, key, value) VALUES {}",
            rows.join(", ")
        ),
        values,
    )
    .await?;
    Ok(())
}
