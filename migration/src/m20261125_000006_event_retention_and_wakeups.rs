//! The live event stream's needs of the `assignment_events` table: retention (events older than
//! the configured period may be pruned — only by the pruner, which holds a permit row inside its
//! own transaction, so the table stays append-only for everyone else), a per-organization record
//! of how far pruning went (a cursor before it can no longer be resumed), and, on PostgreSQL, a
//! `NOTIFY` on commit of every transaction that appends events, so every server instance wakes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000006_event_retention_and_wakeups"
    }
}

const TABLES: &str = r#"
CREATE TABLE assignment_event_horizons (
    org_id {uuid} PRIMARY KEY REFERENCES organizations(id),
    -- Every event of the organization with seq <= this was pruned.
    pruned_through BIGINT NOT NULL,
    pruned_at BIGINT NOT NULL
);
-- A row here, visible only inside the pruner's own transaction, permits deleting events.
CREATE TABLE assignment_event_prune_permits (
    id INTEGER PRIMARY KEY
);
"#;

const SQLITE: &str = r#"
DROP TRIGGER assignment_events_no_delete;
CREATE TRIGGER assignment_events_no_delete BEFORE DELETE ON assignment_events WHEN NOT EXISTS (SELECT 1 FROM assignment_event_prune_permits) BEGIN
    SELECT RAISE(ABORT, 'assignment events are append-only');
END;
"#;

const POSTGRES: &str = r#"
DROP TRIGGER assignment_events_no_change ON assignment_events;
CREATE OR REPLACE FUNCTION sg_assignment_events_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM assignment_event_prune_permits) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assignment_events_no_change BEFORE UPDATE OR DELETE ON assignment_events
    FOR EACH ROW EXECUTE FUNCTION sg_assignment_events_guard();
CREATE OR REPLACE FUNCTION sg_assignment_events_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('skillgraph_assignment_events', o.org_id::text)
        FROM (SELECT DISTINCT org_id FROM appended) o;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assignment_events_notify AFTER INSERT ON assignment_events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION sg_assignment_events_notify();
"#;

const SQLITE_DOWN: &str = r#"
DROP TRIGGER assignment_events_no_delete;
CREATE TRIGGER assignment_events_no_delete BEFORE DELETE ON assignment_events BEGIN
    SELECT RAISE(ABORT, 'assignment events are append-only');
END;
DROP TABLE assignment_event_prune_permits;
DROP TABLE assignment_event_horizons;
"#;

const POSTGRES_DOWN: &str = r#"
DROP TRIGGER assignment_events_notify ON assignment_events;
DROP FUNCTION sg_assignment_events_notify();
DROP TRIGGER assignment_events_no_change ON assignment_events;
CREATE TRIGGER assignment_events_no_change BEFORE UPDATE OR DELETE ON assignment_events
    FOR EACH ROW EXECUTE FUNCTION sg_refuse_change();
DROP FUNCTION sg_assignment_events_guard();
DROP TABLE assignment_event_prune_permits;
DROP TABLE assignment_event_horizons;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, TABLES).await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::run_script(manager, POSTGRES).await,
            _ => crate::run_script(manager, SQLITE).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::run_script(manager, POSTGRES_DOWN).await,
            _ => crate::run_script(manager, SQLITE_DOWN).await,
        }
    }
}
