//! Manual requirements: a course required of one person by hand (`assignCourse`), not by a
//! rule. The engine stages every live one as a desired row whose reason names it, so it never
//! withdraws what it did not assign; `unassignCourse` ends it (`ended_at`).
//!
//! A reason's `rule_id` now names a rule or a manual requirement, so its foreign key to `rules`
//! goes (SQLite cannot drop a constraint: the table is rebuilt, same columns and indexes).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000012_create_manual_requirements"
    }
}

const UP: &str = r#"
CREATE TABLE manual_requirements (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    user_id {uuid} NOT NULL REFERENCES users(id),
    course_id {uuid} NOT NULL REFERENCES courses(id),
    due_at BIGINT,
    note TEXT,
    created_at BIGINT NOT NULL,
    -- The actor who assigned it: USER, API_CLIENT or SYSTEM, and its id.
    created_by_type TEXT NOT NULL,
    created_by_id {uuid},
    ended_at BIGINT,
    ended_by_type TEXT,
    ended_by_id {uuid}
);
CREATE UNIQUE INDEX ux_manual_requirements_live ON manual_requirements(user_id, course_id) WHERE ended_at IS NULL;
CREATE INDEX ix_manual_requirements_org ON manual_requirements(org_id, course_id);
"#;

const DOWN: &str = "DROP TABLE manual_requirements;";

const POSTGRES_REASONS: &str =
    "ALTER TABLE assignment_reasons DROP CONSTRAINT IF EXISTS assignment_reasons_rule_id_fkey;";

const SQLITE_REASONS: &str = r#"
CREATE TABLE assignment_reasons_new (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    assignment_id {uuid} NOT NULL REFERENCES assignments(id),
    -- A rule, or a manual requirement (manual_requirements.id).
    rule_id {uuid} NOT NULL,
    since BIGINT NOT NULL,
    unlock_at BIGINT,
    due_at BIGINT,
    until BIGINT,
    created_at BIGINT NOT NULL DEFAULT 0,
    via_course_id {uuid} REFERENCES courses(id)
);
INSERT INTO assignment_reasons_new (org_id, assignment_id, rule_id, since, unlock_at, due_at, until, created_at, via_course_id)
    SELECT org_id, assignment_id, rule_id, since, unlock_at, due_at, until, created_at, via_course_id FROM assignment_reasons;
DROP TABLE assignment_reasons;
ALTER TABLE assignment_reasons_new RENAME TO assignment_reasons;
CREATE UNIQUE INDEX ux_assignment_reasons_current ON assignment_reasons(assignment_id, rule_id) WHERE until IS NULL;
CREATE INDEX ix_assignment_reasons_assignment ON assignment_reasons(assignment_id, since);
CREATE INDEX ix_assignment_reasons_rule ON assignment_reasons(rule_id, until);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, UP).await?;
        match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DbBackend::Postgres => {
                crate::run_script(manager, POSTGRES_REASONS).await
            }
            _ => crate::run_script(manager, SQLITE_REASONS).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, DOWN).await
    }
}
