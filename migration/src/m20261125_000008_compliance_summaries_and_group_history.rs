//! Two things compliance reports need:
//!
//! * `compliance_summaries`: per user, what a "now" report needs (see
//!   `service::compliance::summary`), kept current by the transactions that change it. Filled
//!   here from the existing history.
//! * `group_parents`: the history of the group tree (each period a group hung under a parent),
//!   so a report as of a past date filters by the tree as it was then; `group_closure` is the
//!   tree of now. A group's first parent counts from the beginning of time (memberships are
//!   often back-filled to dates before the group was created in skillgraph); a move closes the
//!   period and opens the next one.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000008_compliance_summaries_and_group_history"
    }
}

const UP: &str = r#"
CREATE TABLE compliance_summaries (
    user_id {uuid} PRIMARY KEY REFERENCES users(id),
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    n_required BIGINT NOT NULL,
    n_incomplete BIGINT NOT NULL,
    -- 4611686018427387903 (i64::MAX / 2) stands for "never".
    min_due_incomplete BIGINT NOT NULL,
    min_valid_expiry BIGINT NOT NULL
);
CREATE INDEX ix_compliance_summaries_org ON compliance_summaries(org_id, user_id);
INSERT INTO compliance_summaries (user_id, org_id, n_required, n_incomplete, min_due_incomplete, min_valid_expiry)
SELECT p.user_id, p.org_id, COUNT(*),
       SUM(CASE WHEN p.completed_at IS NULL THEN 1 ELSE 0 END),
       MIN(CASE WHEN p.completed_at IS NULL THEN COALESCE(p.due_at, 4611686018427387903) ELSE 4611686018427387903 END),
       MIN(CASE WHEN p.completed_at IS NULL THEN 4611686018427387903 ELSE p.best_expiry END)
FROM (SELECT r.user_id, r.org_id, r.course_id,
        (SELECT MAX(c.completed_at) FROM completions c WHERE c.user_id = r.user_id AND c.course_id = r.course_id) AS completed_at,
        (SELECT MAX(COALESCE(c.expires_at, 4611686018427387903)) FROM completions c WHERE c.user_id = r.user_id AND c.course_id = r.course_id) AS best_expiry,
        (SELECT MIN(o.due_at) FROM assignments o WHERE o.user_id = r.user_id AND o.course_id = r.course_id
           AND o.status IN ('LOCKED', 'ASSIGNED', 'IN_PROGRESS')) AS due_at
      FROM (SELECT DISTINCT a.user_id, a.org_id, a.course_id FROM assignments a
            JOIN assignment_reasons ar ON ar.assignment_id = a.id AND ar.until IS NULL) r) p
GROUP BY p.user_id, p.org_id;

CREATE TABLE group_parents (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    group_id {uuid} NOT NULL REFERENCES org_groups(id),
    parent_id {uuid} NOT NULL REFERENCES org_groups(id),
    since BIGINT NOT NULL,
    until BIGINT
);
CREATE INDEX ix_group_parents_parent ON group_parents(parent_id, since);
CREATE INDEX ix_group_parents_group ON group_parents(group_id);
INSERT INTO group_parents (org_id, group_id, parent_id, since, until)
SELECT org_id, id, parent_id, 0, deleted_at FROM org_groups WHERE parent_id IS NOT NULL;
"#;

const DOWN: &str = r#"
DROP TABLE group_parents;
DROP TABLE compliance_summaries;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_script(manager, DOWN).await
    }
}
