//! The staging tables of a reconcile: per-connection temporary tables, emptied at the start of
//! every reconcile (and on PostgreSQL at every commit), never visible to another connection.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbBackend, Value};
use uuid::Uuid;

use super::Scope;
use super::audience::{self, Facts};
use super::policy::{self, BundleItem, LoadedRule};
use crate::clock::MICROS_PER_DAY;
use crate::error::AppResult;
use crate::service::sql::{self, Q};
use entity::rule as rule_entity;

const SQLITE_TABLES: &str = "
CREATE TEMP TABLE IF NOT EXISTS sg_desired (user_id BLOB NOT NULL, course_id BLOB NOT NULL, rule_id BLOB NOT NULL, since INTEGER NOT NULL, unlock_at INTEGER, due_at INTEGER, via_course_id BLOB);
CREATE INDEX IF NOT EXISTS temp.ix_sg_desired ON sg_desired (user_id, course_id, rule_id);
CREATE TEMP TABLE IF NOT EXISTS sg_new (id BLOB PRIMARY KEY, user_id BLOB NOT NULL, course_id BLOB NOT NULL, unlock_at INTEGER, due_at INTEGER, kind TEXT NOT NULL DEFAULT 'ASSIGNED', completion_id BLOB, completed_at INTEGER, expires_at INTEGER, renew_at INTEGER);
CREATE TEMP TABLE IF NOT EXISTS sg_touched (id BLOB PRIMARY KEY);
CREATE TEMP TABLE IF NOT EXISTS sg_ended (assignment_id BLOB NOT NULL, rule_id BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS temp.ix_sg_ended ON sg_ended (assignment_id);
CREATE TEMP TABLE IF NOT EXISTS sg_exit (id BLOB PRIMARY KEY, keep INTEGER NOT NULL);
DELETE FROM sg_desired; DELETE FROM sg_new; DELETE FROM sg_touched; DELETE FROM sg_ended; DELETE FROM sg_exit;
";

const POSTGRES_TABLES: &str = "
CREATE TEMP TABLE IF NOT EXISTS sg_desired (user_id UUID NOT NULL, course_id UUID NOT NULL, rule_id UUID NOT NULL, since BIGINT NOT NULL, unlock_at BIGINT, due_at BIGINT, via_course_id UUID) ON COMMIT DELETE ROWS;
CREATE INDEX IF NOT EXISTS ix_sg_desired ON sg_desired (user_id, course_id, rule_id);
CREATE TEMP TABLE IF NOT EXISTS sg_new (id UUID PRIMARY KEY, user_id UUID NOT NULL, course_id UUID NOT NULL, unlock_at BIGINT, due_at BIGINT, kind TEXT NOT NULL DEFAULT 'ASSIGNED', completion_id UUID, completed_at BIGINT, expires_at BIGINT, renew_at BIGINT) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS sg_touched (id UUID PRIMARY KEY) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS sg_ended (assignment_id UUID NOT NULL, rule_id UUID NOT NULL) ON COMMIT DELETE ROWS;
CREATE INDEX IF NOT EXISTS ix_sg_ended ON sg_ended (assignment_id);
CREATE TEMP TABLE IF NOT EXISTS sg_exit (id UUID PRIMARY KEY, keep INTEGER NOT NULL) ON COMMIT DELETE ROWS;
DELETE FROM sg_desired; DELETE FROM sg_new; DELETE FROM sg_touched; DELETE FROM sg_ended; DELETE FROM sg_exit;
";

/// Creates the staging tables on this connection if needed and empties them (one round trip).
pub async fn prepare(conn: &impl ConnectionTrait) -> AppResult<()> {
    let script = match conn.get_database_backend() {
        DbBackend::Postgres => {
            format!("SET LOCAL client_min_messages = warning; {POSTGRES_TABLES}")
        }
        _ => SQLITE_TABLES.to_string(),
    };
    conn.execute_unprepared(&script).await?;
    Ok(())
}

/// A SQL expression minting a UUIDv7 for the millisecond in parameter `ms`.
pub fn uuid7_sql(backend: DbBackend, ms: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("sg_uuid7({ms})"),
        _ => format!(
            "unhex(printf('%012X', {ms}) || '7' || substr(hex(randomblob(2)), 2, 3) || \
             substr('89AB', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(8)), 2, 15))"
        ),
    }
}

/// The active rules that could require one of `courses` (all active rules when None).
pub async fn active_rules(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    courses: Option<&[Uuid]>,
) -> AppResult<Vec<LoadedRule>> {
    let mut q = Q::new();
    let org = q.bind(org_id);
    q.push(&format!(
        "SELECT * FROM rules WHERE org_id = {org} AND active AND deleted_at IS NULL"
    ));
    if let Some(c) = courses {
        let list = q.bind_ids(c);
        q.push(&format!(
            " AND id IN (SELECT rule_id FROM rule_courses WHERE course_id IN ({list}))"
        ));
    }
    q.push(" ORDER BY created_at, id");
    let rows: Vec<rule_entity::Model> = q.all(conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut bundles = policy::bundle_of(conn, &ids).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let mut items = bundles.remove(&r.id).unwrap_or_default();
            if let Some(c) = courses {
                items.retain(|i| c.contains(&i.course_id));
            }
            LoadedRule::from_row(r, items)
        })
        .collect())
}

fn offset(entered: i64, days: Option<i32>) -> Option<i64> {
    days.map(|d| entered + i64::from(d) * MICROS_PER_DAY)
}

/// Evaluates every active rule for a few users in Rust and stages the desired rows.
pub async fn fill_in_rust(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    now: i64,
    seq: i64,
    users: &[Uuid],
    courses: Option<&[Uuid]>,
) -> AppResult<()> {
    let facts: HashMap<Uuid, Facts> = audience::load_facts(conn, org_id, users).await?;
    if facts.values().all(|f| !f.active) {
        return Ok(());
    }
    let rules = active_rules(conn, org_id, courses).await?;
    let mut rows: Vec<[Value; 6]> = Vec::new();
    for user in users {
        let Some(f) = facts.get(user) else { continue };
        for r in &rules {
            let Some(entered) = audience::entered(&r.audience, f, now, seq) else {
                continue;
            };
            for BundleItem {
                course_id,
                unlock_after_days,
                due_after_days,
            } in &r.courses
            {
                rows.push([
                    (*user).into(),
                    (*course_id).into(),
                    r.id.into(),
                    entered.into(),
                    offset(entered, *unlock_after_days).into(),
                    offset(entered, *due_after_days).into(),
                ]);
            }
        }
    }
    for chunk in rows.chunks(500) {
        let mut q = Q::new();
        let tuples: Vec<String> = chunk
            .iter()
            .map(|row| {
                let ps: Vec<String> = row.iter().map(|v| q.bind(v.clone())).collect();
                format!("({})", ps.join(", "))
            })
            .collect();
        q.text = format!(
            "INSERT INTO sg_desired (user_id, course_id, rule_id, since, unlock_at, due_at) VALUES {}",
            tuples.join(", ")
        );
        q.exec(conn).await?;
    }
    Ok(())
}

/// Stages the desired rows of `scope` with one `INSERT … SELECT` per active rule.
pub async fn fill_in_sql(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    now: i64,
    seq: i64,
    scope: &Scope,
    courses: Option<&[Uuid]>,
) -> AppResult<()> {
    let rules = active_rules(conn, org_id, courses).await?;
    for r in &rules {
        if r.courses.is_empty() {
            continue;
        }
        let mut q = Q::new();
        let audience = audience::select(&mut q, org_id, &r.audience, now, seq, scope);
        let rule_p = q.bind(r.id);
        let mut course_filter = String::new();
        if let Some(c) = courses {
            course_filter = format!(" AND rc.course_id IN ({})", q.bind_ids(c));
        }
        let day = MICROS_PER_DAY;
        q.text = format!(
            "INSERT INTO sg_desired (user_id, course_id, rule_id, since, unlock_at, due_at) \
             SELECT au.user_id, rc.course_id, {rule_p}, au.entered, \
                    au.entered + rc.unlock_after_days * {day}, au.entered + rc.due_after_days * {day} \
             FROM ({audience}) au JOIN rule_courses rc ON rc.rule_id = {rule_p}{course_filter}"
        );
        q.exec(conn).await?;
    }
    if conn.get_database_backend() == DbBackend::Postgres {
        // Temporary tables get no autovacuum statistics; without them the planner guesses.
        sql::exec(conn, "ANALYZE sg_desired", vec![]).await?;
    }
    Ok(())
}

/// Stages the live manual requirements (`assignCourse`) of the active people in `scope`: a
/// desired row each, whose reason names the requirement (its id in `rule_id`), so the engine
/// keeps what was assigned by hand as it keeps what a rule requires.
pub async fn fill_manual(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    scope: &Scope,
    courses: Option<&[Uuid]>,
) -> AppResult<()> {
    let mut q = Q::new();
    let org = q.bind(org_id);
    let in_scope = audience::scope_sql(&mut q, scope, "m.user_id");
    let in_courses = match courses {
        Some(c) => format!(" AND m.course_id IN ({})", q.bind_ids(c)),
        None => String::new(),
    };
    q.text = format!(
        "INSERT INTO sg_desired (user_id, course_id, rule_id, since, unlock_at, due_at) \
         SELECT m.user_id, m.course_id, m.id, m.created_at, NULL, m.due_at \
         FROM manual_requirements m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = {org} AND m.ended_at IS NULL AND u.active AND {in_scope}{in_courses}"
    );
    q.exec(conn).await?;
    Ok(())
}

/// Adds the missing prerequisites of every staged course, level by level down the DAG: the
/// rule that requires a course also requires its prerequisites, with a reason naming the course
/// that needs them (`via_course_id`). One row per (user, prerequisite, rule): when several
/// courses of a bundle need the same prerequisite, one of them is named.
pub async fn expand_prerequisites(conn: &impl ConnectionTrait) -> AppResult<()> {
    let via = match conn.get_database_backend() {
        // PostgreSQL has no MIN(uuid).
        DbBackend::Postgres => "CAST(MIN(CAST(d.course_id AS TEXT)) AS UUID)",
        _ => "MIN(d.course_id)",
    };
    let text = format!(
        "INSERT INTO sg_desired (user_id, course_id, rule_id, since, unlock_at, due_at, via_course_id) \
         SELECT d.user_id, cp.prerequisite_id, d.rule_id, MIN(d.since), NULL, MIN(d.due_at), {via} \
         FROM sg_desired d JOIN course_prerequisites cp ON cp.course_id = d.course_id \
         WHERE NOT EXISTS (SELECT 1 FROM sg_desired x WHERE x.user_id = d.user_id \
                           AND x.course_id = cp.prerequisite_id AND x.rule_id = d.rule_id) \
         GROUP BY d.user_id, cp.prerequisite_id, d.rule_id"
    );
    // The DAG has no cycle, so each round reaches one level deeper and the rounds end; the
    // bound only guards against a corrupted graph.
    for _ in 0..256 {
        if sql::exec(conn, &text, vec![]).await? == 0 {
            break;
        }
    }
    Ok(())
}
