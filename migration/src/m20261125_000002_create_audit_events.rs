//! The audit log: append-only. Database triggers refuse UPDATE and DELETE (and TRUNCATE on
//! PostgreSQL), so no code path, ours or an operator's, can rewrite history.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000002_create_audit_events"
    }
}

const TABLE: &str = r#"
CREATE TABLE audit_events (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    at BIGINT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id {uuid},
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id {uuid},
    before_json TEXT,
    after_json TEXT,
    request_id TEXT
);
CREATE INDEX ix_audit_events_org_at ON audit_events(org_id, at, id);
CREATE INDEX ix_audit_events_subject ON audit_events(subject_id);
"#;

const SQLITE_GUARD: &str = r#"
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
"#;

const POSTGRES_GUARD: &str = r#"
CREATE OR REPLACE FUNCTION sg_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION sg_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION sg_refuse_change();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, TABLE).await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::run_script(manager, POSTGRES_GUARD).await,
            _ => crate::run_script(manager, SQLITE_GUARD).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, "DROP TABLE audit_events;").await
    }
}
