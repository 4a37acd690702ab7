//! Courses, rules (audience + bundle), assignments with their reasons, and the append-only
//! assignment event log that the subscription stream reads. Also `sg_uuid7(ms)` on PostgreSQL,
//! so set-based inserts mint time-ordered ids inside the database (SQLite builds them inline).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000003_create_learning_tables"
    }
}

const TABLES: &str = r#"
CREATE TABLE courses (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    title TEXT NOT NULL,
    description TEXT,
    duration_minutes INTEGER,
    validity_days INTEGER,
    renewal_window_days INTEGER,
    external_ref TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX ix_courses_org ON courses(org_id, title);
CREATE TABLE course_prerequisites (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    course_id {uuid} NOT NULL REFERENCES courses(id),
    prerequisite_id {uuid} NOT NULL REFERENCES courses(id),
    PRIMARY KEY (course_id, prerequisite_id)
);
CREATE INDEX ix_course_prerequisites_prereq ON course_prerequisites(prerequisite_id);
CREATE TABLE rules (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    on_exit TEXT NOT NULL,
    group_id {uuid} REFERENCES org_groups(id),
    include_subgroups BOOLEAN NOT NULL DEFAULT TRUE,
    role_id {uuid} REFERENCES roles(id),
    -- [{"attribute": "...", "op": "EQ", "values": ["..."]}], validated on the way in.
    criteria TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX ix_rules_org ON rules(org_id, created_at);
CREATE INDEX ix_rules_group ON rules(group_id);
CREATE INDEX ix_rules_role ON rules(role_id);
CREATE TABLE rule_courses (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    rule_id {uuid} NOT NULL REFERENCES rules(id),
    course_id {uuid} NOT NULL REFERENCES courses(id),
    position INTEGER NOT NULL,
    unlock_after_days INTEGER,
    due_after_days INTEGER,
    PRIMARY KEY (rule_id, course_id)
);
CREATE INDEX ix_rule_courses_course ON rule_courses(course_id);
CREATE TABLE assignments (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    user_id {uuid} NOT NULL REFERENCES users(id),
    course_id {uuid} NOT NULL REFERENCES courses(id),
    status TEXT NOT NULL,
    -- TRUE once every rule that required it is gone and one of them said KEEP.
    kept BOOLEAN NOT NULL DEFAULT FALSE,
    assigned_at BIGINT NOT NULL,
    unlock_at BIGINT,
    due_at BIGINT,
    started_at BIGINT,
    completed_at BIGINT,
    expires_at BIGINT,
    -- When the renewal window of a completed cycle opens (expiry minus the window).
    renew_at BIGINT,
    withdrawn_at BIGINT,
    expired_at BIGINT,
    -- The completion that satisfied (or, for a requirement met at once, credited) this cycle.
    completion_id {uuid},
    -- When the OVERDUE event went out (once per cycle).
    overdue_at BIGINT,
    -- TRUE once the scheduler reconciled this completed cycle at its renewal window.
    renewal_done BOOLEAN NOT NULL DEFAULT FALSE,
    -- The organization's write_seq of the last transaction that changed the row.
    changed_seq BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_assignments_open ON assignments(user_id, course_id)
    WHERE status IN ('LOCKED', 'ASSIGNED', 'IN_PROGRESS');
CREATE INDEX ix_assignments_user ON assignments(user_id, course_id, status);
CREATE INDEX ix_assignments_course ON assignments(course_id, status);
CREATE INDEX ix_assignments_org ON assignments(org_id, assigned_at, id);
CREATE INDEX ix_assignments_changed ON assignments(org_id, changed_seq);
-- The scheduler's work lists.
CREATE INDEX ix_assignments_unlock ON assignments(unlock_at) WHERE status = 'LOCKED';
CREATE INDEX ix_assignments_due ON assignments(due_at) WHERE overdue_at IS NULL AND status IN ('LOCKED', 'ASSIGNED', 'IN_PROGRESS');
CREATE INDEX ix_assignments_expiry ON assignments(expires_at) WHERE status = 'COMPLETED';
CREATE INDEX ix_assignments_renewal ON assignments(renew_at) WHERE status = 'COMPLETED' AND NOT renewal_done;
CREATE TABLE assignment_reasons (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    assignment_id {uuid} NOT NULL REFERENCES assignments(id),
    rule_id {uuid} NOT NULL REFERENCES rules(id),
    -- When the user entered the rule's audience; unlock and due dates count from here.
    since BIGINT NOT NULL,
    unlock_at BIGINT,
    due_at BIGINT,
    until BIGINT,
    -- When the engine recorded the reason (compliance as of a past date reads this, not `since`,
    -- which may be back-filled).
    created_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_assignment_reasons_current ON assignment_reasons(assignment_id, rule_id)
    WHERE until IS NULL;
CREATE INDEX ix_assignment_reasons_assignment ON assignment_reasons(assignment_id, since);
CREATE INDEX ix_assignment_reasons_rule ON assignment_reasons(rule_id, until);
CREATE TABLE assignment_events (
    seq {seq},
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    tx_seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    assignment_id {uuid} NOT NULL REFERENCES assignments(id),
    user_id {uuid} NOT NULL,
    course_id {uuid} NOT NULL
);
CREATE INDEX ix_assignment_events_org ON assignment_events(org_id, seq);
CREATE INDEX ix_assignment_events_tx ON assignment_events(org_id, tx_seq);
CREATE INDEX ix_assignment_events_assignment ON assignment_events(assignment_id);
"#;

const SQLITE_EXTRA: &str = r#"
CREATE TRIGGER assignment_events_no_update BEFORE UPDATE ON assignment_events BEGIN
    SELECT RAISE(ABORT, 'assignment events are append-only');
END;
CREATE TRIGGER assignment_events_no_delete BEFORE DELETE ON assignment_events BEGIN
    SELECT RAISE(ABORT, 'assignment events are append-only');
END;
"#;

const POSTGRES_EXTRA: &str = r#"
CREATE OR REPLACE FUNCTION sg_uuid7(ms BIGINT) RETURNS UUID AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send(ms) FROM 3) FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$ LANGUAGE sql VOLATILE;
CREATE TRIGGER assignment_events_no_change BEFORE UPDATE OR DELETE ON assignment_events
    FOR EACH ROW EXECUTE FUNCTION sg_refuse_change();
CREATE TRIGGER assignment_events_no_truncate BEFORE TRUNCATE ON assignment_events
    FOR EACH STATEMENT EXECUTE FUNCTION sg_refuse_change();
"#;

const DOWN: &str = r#"
DROP TABLE assignment_events;
DROP TABLE assignment_reasons;
DROP TABLE assignments;
DROP TABLE rule_courses;
DROP TABLE rules;
DROP TABLE course_prerequisites;
DROP TABLE courses;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, TABLES).await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::run_script(manager, POSTGRES_EXTRA).await,
            _ => crate::run_script(manager, SQLITE_EXTRA).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, DOWN).await
    }
}
