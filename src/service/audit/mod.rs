//! The audit log: every mutation appends events inside its own transaction; the table refuses
//! UPDATE and DELETE (database triggers). Read newest first by OWNER and ADMIN.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::authz::{self, Named, Permission};
use crate::service::page::{Page, PageRequest};
use crate::service::sql;
use crate::service::unit::{self, Authority, Env};

pub mod entry;

use crate::service::viewer::Viewer;
use crate::vals;
use entity::audit_event;
pub use entry::{Action, Subject, SubjectType};

/// Audits an operation refused for lack of permission, in a transaction of its own (the refused
/// one wrote nothing): who tried which operation (`fields`) and which parts were refused
/// (`denied` paths).
pub async fn record_denial(
    env: &Env,
    viewer: &Viewer,
    fields: &[String],
    denied: &[String],
) -> AppResult<()> {
    let (subject, who) = match &viewer.client {
        Some(scopes) => (
            Subject::organization(viewer.org_id),
            serde_json::json!({
                "apiClientId": viewer.user_id,
                "scopes": scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            }),
        ),
        None => (
            Subject::user(viewer.user_id),
            serde_json::json!({ "role": viewer.role.as_str() }),
        ),
    };
    let mut after = serde_json::json!({ "operation": fields, "denied": denied });
    if let (Some(after), Some(who)) = (after.as_object_mut(), who.as_object()) {
        after.extend(who.clone());
    }
    unit::run(env, viewer, Authority::PerObject, async |w| {
        w.audit(Action::AuthzDenied, subject, None, Some(after))
            .await
    })
    .await?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub subject_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub actions: Option<Vec<String>>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl AuditFilter {
    /// The objects the filter names (for `authz::require_naming`).
    pub fn named(&self) -> Vec<Named> {
        self.subject_id
            .map(Named::AuditSubject)
            .into_iter()
            .chain(self.actor_id.map(Named::User))
            .collect()
    }
}

/// Newest first; the cursor is `(at, id)`.
pub async fn list(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &AuditFilter,
    page: &PageRequest,
) -> AppResult<Page<audit_event::Model>> {
    let mut named = filter.named();
    if let Some((_, id)) = page.after_key::<(i64, Uuid)>()? {
        named.push(Named::AuditEvent(id));
    }
    authz::require_naming(conn, viewer, Permission::ReadAuditLog, &named).await?;
    let (where_sql, mut values) = filter_sql(viewer.org_id, filter);
    let mut sql_text = format!("SELECT * FROM audit_events WHERE {where_sql}");
    if let Some((at, id)) = page.after_key::<(i64, Uuid)>()? {
        values.push(at.into());
        values.push(id.into());
        let n = values.len();
        sql_text.push_str(&format!(
            " AND (at < ${} OR (at = ${} AND id < ${}))",
            n - 1,
            n - 1,
            n
        ));
    }
    sql_text.push_str(&format!(
        " ORDER BY at DESC, id DESC LIMIT {}",
        page.limit() + 1
    ));
    let rows: Vec<audit_event::Model> = sql::all(conn, &sql_text, values).await?;
    Ok(page.finish(rows, |e| (e.at, e.id)))
}

pub async fn count(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &AuditFilter,
) -> AppResult<i64> {
    authz::require_naming(conn, viewer, Permission::ReadAuditLog, &filter.named()).await?;
    let (where_sql, values) = filter_sql(viewer.org_id, filter);
    sql::scalar_i64(
        conn,
        &format!("SELECT COUNT(*) FROM audit_events WHERE {where_sql}"),
        values,
    )
    .await
}

fn filter_sql(org_id: Uuid, filter: &AuditFilter) -> (String, Vec<sea_orm::Value>) {
    let mut clauses = vec!["org_id = $1".to_string()];
    let mut values: Vec<sea_orm::Value> = vals![org_id];
    let mut push = |clause: &str, value: sea_orm::Value, values: &mut Vec<sea_orm::Value>| {
        values.push(value);
        clauses.push(clause.replace('?', &format!("${}", values.len())));
    };
    if let Some(s) = filter.subject_id {
        push("subject_id = ?", s.into(), &mut values);
    }
    if let Some(a) = filter.actor_id {
        push("actor_id = ?", a.into(), &mut values);
    }
    if let Some(from) = filter.from {
        push("at >= ?", from.into(), &mut values);
    }
    if let Some(to) = filter.to {
        push("at <= ?", to.into(), &mut values);
    }
    if let Some(actions) = &filter.actions {
        if actions.is_empty() {
            clauses.push("1 = 0".into());
        } else {
            let start = values.len() + 1;
            for a in actions {
                values.push(a.clone().into());
            }
            clauses.push(format!(
                "action IN ({})",
                sql::placeholders(start, actions.len())
            ));
        }
    }
    (clauses.join(" AND "), values)
}
