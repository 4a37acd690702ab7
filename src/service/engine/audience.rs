//! Audiences, evaluated two ways that must agree: as SQL (`select`), for bulk work over many
//! users, and in Rust over loaded `Facts`, for the few users a profile or membership change
//! touches. The property tests hold both to one naive model.
//!
//! "Entered" — the instant unlock and due offsets count from — is the `since` of a qualifying
//! membership recorded by the change being reconciled (so HR back-fills land on the right
//! dates), and the time of the change otherwise.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use uuid::Uuid;

use super::Scope;
use super::policy::{Audience, Criterion, CriterionOp, JOB_TITLE};
use crate::error::AppResult;
use crate::service::sql::{self, Q};

/// `SELECT user_id, entered` of everyone in `audience` (within `scope`) at `now`.
pub fn select(
    q: &mut Q,
    org_id: Uuid,
    audience: &Audience,
    now: i64,
    seq: i64,
    scope: &Scope,
) -> String {
    let mut conditions = vec!["u.active".to_string()];
    if let Some(r) = audience.role_id {
        conditions.push(format!("u.primary_role_id = {}", q.bind(r)));
    }
    for c in &audience.criteria {
        conditions.push(criterion_sql(q, c));
    }
    conditions.push(scope_sql(q, scope, "u.id"));
    let now_p = q.bind(now);
    match audience.group_id {
        Some(g) => {
            let g = q.bind(g);
            let depth = if audience.include_subgroups {
                ""
            } else {
                " AND gc.depth = 0"
            };
            let seq_p = q.bind(seq);
            format!(
                "SELECT u.id AS user_id, COALESCE(MIN(CASE WHEN m.recorded_seq = {seq_p} THEN m.since END), {now_p}) AS entered \
                 FROM group_closure gc \
                 JOIN memberships m ON m.group_id = gc.descendant_id AND m.until IS NULL \
                 JOIN users u ON u.id = m.user_id \
                 WHERE gc.ancestor_id = {g}{depth} AND {} GROUP BY u.id",
                conditions.join(" AND ")
            )
        }
        None => {
            let org = q.bind(org_id);
            format!(
                "SELECT u.id AS user_id, {now_p} AS entered FROM users u WHERE u.org_id = {org} AND {}",
                conditions.join(" AND ")
            )
        }
    }
}

/// A SQL condition on `col` (a user id column) for `scope`.
pub fn scope_sql(q: &mut Q, scope: &Scope, col: &str) -> String {
    match scope {
        Scope::All => "1 = 1".into(),
        Scope::Users(ids) => format!("{col} IN ({})", q.bind_ids(ids)),
        Scope::Members(g) => format!(
            "{col} IN (SELECT sm.user_id FROM memberships sm JOIN group_closure sgc ON sgc.descendant_id = sm.group_id \
             WHERE sgc.ancestor_id = {} AND sm.until IS NULL)",
            q.bind(*g)
        ),
    }
}

fn criterion_sql(q: &mut Q, c: &Criterion) -> String {
    let value = if c.attribute == JOB_TITLE {
        "u.job_title".to_string()
    } else {
        format!(
            "(SELECT ua.value FROM user_attributes ua WHERE ua.user_id = u.id AND ua.key = {})",
            q.bind(c.attribute.clone())
        )
    };
    match c.op {
        CriterionOp::Eq | CriterionOp::In => format!("{value} IN ({})", q.bind_strs(&c.values)),
        CriterionOp::Neq | CriterionOp::NotIn => {
            // The value expression appears twice; bind its parameters again for the second use.
            let again = if c.attribute == JOB_TITLE {
                "u.job_title".to_string()
            } else {
                format!(
                    "(SELECT ua.value FROM user_attributes ua WHERE ua.user_id = u.id AND ua.key = {})",
                    q.bind(c.attribute.clone())
                )
            };
            format!(
                "({value} IS NULL OR {again} NOT IN ({}))",
                q.bind_strs(&c.values)
            )
        }
        CriterionOp::Exists => format!("{value} IS NOT NULL"),
        CriterionOp::NotExists => format!("{value} IS NULL"),
    }
}

/// What the Rust evaluation needs to know about one user.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub active: bool,
    pub job_title: Option<String>,
    pub primary_role_id: Option<Uuid>,
    pub attributes: HashMap<String, String>,
    /// For each current membership: every enclosing group (itself at depth 0), with the
    /// membership's `since` and the write_seq that recorded it.
    pub groups: Vec<GroupReach>,
}

#[derive(Debug, Clone, Copy, FromQueryResult)]
pub struct GroupReach {
    pub user_id: Uuid,
    pub ancestor_id: Uuid,
    pub depth: i32,
    pub since: i64,
    pub recorded_seq: i64,
}

/// When the user entered `audience` (None: not in it), by the same rules as `select`.
pub fn entered(audience: &Audience, facts: &Facts, now: i64, seq: i64) -> Option<i64> {
    if !facts.active {
        return None;
    }
    if let Some(r) = audience.role_id
        && facts.primary_role_id != Some(r)
    {
        return None;
    }
    for c in &audience.criteria {
        let value = if c.attribute == JOB_TITLE {
            facts.job_title.as_deref()
        } else {
            facts.attributes.get(&c.attribute).map(String::as_str)
        };
        if !c.holds(value) {
            return None;
        }
    }
    match audience.group_id {
        None => Some(now),
        Some(g) => {
            let mut qualifies = false;
            let mut recorded_now: Option<i64> = None;
            for reach in &facts.groups {
                if reach.ancestor_id == g && (audience.include_subgroups || reach.depth == 0) {
                    qualifies = true;
                    if reach.recorded_seq == seq {
                        recorded_now =
                            Some(recorded_now.map_or(reach.since, |s| s.min(reach.since)));
                    }
                }
            }
            qualifies.then(|| recorded_now.unwrap_or(now))
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct UserRow {
    id: Uuid,
    active: bool,
    job_title: Option<String>,
    primary_role_id: Option<Uuid>,
}

#[derive(Debug, FromQueryResult)]
struct AttributeRow {
    user_id: Uuid,
    key: String,
    value: String,
}

/// Loads the facts of `users` in three queries.
pub async fn load_facts(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    users: &[Uuid],
) -> AppResult<HashMap<Uuid, Facts>> {
    let mut out: HashMap<Uuid, Facts> = HashMap::new();
    if users.is_empty() {
        return Ok(out);
    }
    let list = |from: usize| sql::placeholders(from, users.len());
    let ids: Vec<Value> = users.iter().map(|u| Value::from(*u)).collect();
    let mut with_org: Vec<Value> = vec![org_id.into()];
    with_org.extend(ids.iter().cloned());
    let rows: Vec<UserRow> = sql::all(
        conn,
        &format!("SELECT id, active, job_title, primary_role_id FROM users WHERE org_id = $1 AND id IN ({})", list(2)),
        with_org.clone(),
    )
    .await?;
    for r in rows {
        out.insert(
            r.id,
            Facts {
                active: r.active,
                job_title: r.job_title,
                primary_role_id: r.primary_role_id,
                ..Default::default()
            },
        );
    }
    let attrs: Vec<AttributeRow> = sql::all(
        conn,
        &format!(
            "SELECT user_id, key, value FROM user_attributes WHERE org_id = $1 AND user_id IN ({})",
            list(2)
        ),
        with_org.clone(),
    )
    .await?;
    for a in attrs {
        if let Some(f) = out.get_mut(&a.user_id) {
            f.attributes.insert(a.key, a.value);
        }
    }
    let reach: Vec<GroupReach> = sql::all(
        conn,
        &format!(
            "SELECT m.user_id, gc.ancestor_id, gc.depth, m.since, m.recorded_seq FROM memberships m \
             JOIN group_closure gc ON gc.descendant_id = m.group_id \
             WHERE m.org_id = $1 AND m.until IS NULL AND m.user_id IN ({})",
            list(2)
        ),
        with_org,
    )
    .await?;
    for r in reach {
        if let Some(f) = out.get_mut(&r.user_id) {
            f.groups.push(r);
        }
    }
    Ok(out)
}
