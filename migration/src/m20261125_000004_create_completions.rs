//! Completions: the history of who completed what, when, with which score, kept for ever. A
//! partner's `external_id` is an idempotency key: one completion per key and organization.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000004_create_completions"
    }
}

const UP: &str = r#"
CREATE TABLE completions (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    user_id {uuid} NOT NULL REFERENCES users(id),
    course_id {uuid} NOT NULL REFERENCES courses(id),
    completed_at BIGINT NOT NULL,
    -- completed_at + the course's validity; NULL when it never expires.
    expires_at BIGINT,
    -- When a renewal opens: expiry minus the course's renewal window.
    renew_at BIGINT,
    score DOUBLE PRECISION,
    external_id TEXT,
    -- The assignment it satisfied when it was recorded (NULL: recorded as history only).
    assignment_id {uuid} REFERENCES assignments(id),
    recorded_at BIGINT NOT NULL,
    recorded_by {uuid}
);
CREATE UNIQUE INDEX ux_completions_external ON completions(org_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX ix_completions_user_course ON completions(user_id, course_id, completed_at);
CREATE INDEX ix_completions_expiry ON completions(org_id, expires_at);
"#;

const DOWN: &str = "DROP TABLE completions;";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, DOWN).await
    }
}
