//! API clients: a partner's credential of its own (an HR system pushing people, a content vendor
//! pushing completions, a tool taking events out), acting within its scopes. The secret is
//! stored only as a SHA-256 hash; a rotated-out secret keeps working until `previous_until`.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000009_create_api_clients"
    }
}

const UP: &str = r#"
CREATE TABLE api_clients (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    -- JSON array of scope words: PEOPLE_WRITE, COMPLETIONS_WRITE, EVENTS_READ, REPORTS_READ.
    scopes TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    previous_secret_hash TEXT,
    previous_until BIGINT,
    created_at BIGINT NOT NULL,
    created_by {uuid},
    rotated_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX ix_api_clients_org ON api_clients(org_id, created_at);
"#;

const DOWN: &str = "DROP TABLE api_clients;";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, DOWN).await
    }
}
