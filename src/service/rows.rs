//! Plain row access over sea-orm entities: one generic `find` / `require` / `find_many` for every
//! table whose rows belong to an organization and are named by a UUID. Set-based engine,
//! compliance, matching and event SQL stays hand-written in its modules.
//!
//! Rows are looked up by key alone and their organization checked here, in Rust: with
//! `org_id = ? AND id IN (…)` SQLite walks the organization's index (a million assignments)
//! instead of the key, and a key names one row of one organization anyway.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// An entity whose rows belong to one organization and have a UUID primary key.
pub trait OrgRow: EntityTrait {
    /// The word NOT_FOUND names ("user", "group" …).
    const WHAT: &'static str;
    /// The primary-key column.
    fn id_column() -> Self::Column;
    fn org_of(row: &Self::Model) -> Uuid;
}

/// Rows are looked up at most this many keys at a time (under every database's parameter limit).
const CHUNK: usize = 10_000;

/// The row `id` of organization `org_id`, if there is one.
pub async fn find<E: OrgRow>(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<Option<E::Model>> {
    let rows = E::find().filter(E::id_column().eq(id)).all(conn).await?;
    Ok(rows.into_iter().find(|r| E::org_of(r) == org_id))
}

/// The row `id` of organization `org_id`; NOT_FOUND with the concept's name otherwise.
pub async fn require<E: OrgRow>(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<E::Model> {
    require_as::<E>(conn, org_id, id, E::WHAT).await
}

/// `require`, naming the row by its part in the request ("manager", "parent group" …).
pub async fn require_as<E: OrgRow>(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
    what: &str,
) -> AppResult<E::Model> {
    find::<E>(conn, org_id, id)
        .await?
        .ok_or_else(|| AppError::not_found(what))
}

/// The rows of these ids that belong to the organization, in no particular order (for loaders
/// and batch checks).
pub async fn find_many<E: OrgRow>(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    ids: &[Uuid],
) -> AppResult<Vec<E::Model>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows = E::find()
            .filter(E::id_column().is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        out.extend(rows.into_iter().filter(|r| E::org_of(r) == org_id));
    }
    Ok(out)
}

/// NOT_FOUND unless every id names a row of the organization.
pub async fn require_all<E: OrgRow>(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    ids: &[Uuid],
) -> AppResult<()> {
    let unique: std::collections::HashSet<Uuid> = ids.iter().copied().collect();
    if find_many::<E>(conn, org_id, ids).await?.len() != unique.len() {
        return Err(AppError::not_found(E::WHAT));
    }
    Ok(())
}

macro_rules! org_rows {
    ($($module:ident => $what:literal),* $(,)?) => {
        $(
            impl OrgRow for entity::$module::Entity {
                const WHAT: &'static str = $what;
                fn id_column() -> Self::Column {
                    entity::$module::Column::Id
                }
                fn org_of(row: &Self::Model) -> Uuid {
                    row.org_id
                }
            }
        )*
    };
}

org_rows! {
    user => "user",
    group => "group",
    membership => "membership",
    course => "course",
    rule => "rule",
    role => "role",
    role_category => "role category",
    skill => "skill",
    track => "track",
    rubric => "rubric",
    assessment => "assessment",
    assignment => "assignment",
    completion => "completion",
    audit_event => "audit event",
    api_client => "API client",
    manual_requirement => "manual assignment",
}
