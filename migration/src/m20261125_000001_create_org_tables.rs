//! Organizations, users and their attributes, the group tree (with its closure table),
//! memberships with history, and roles in their minimal form.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_create_org_tables"
    }
}

const UP: &str = r#"
CREATE TABLE organizations (
    id {uuid} PRIMARY KEY,
    name TEXT NOT NULL,
    demo BOOLEAN NOT NULL DEFAULT FALSE,
    write_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
-- At most one demo organization, even when two servers seed at the same moment.
CREATE UNIQUE INDEX ux_organizations_demo ON organizations(demo) WHERE demo;
CREATE TABLE roles (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    name_norm TEXT NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_roles_name ON roles(org_id, name_norm);
CREATE TABLE users (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    email TEXT NOT NULL,
    email_norm TEXT NOT NULL,
    name TEXT NOT NULL,
    job_title TEXT,
    hire_date {date},
    attributes TEXT NOT NULL DEFAULT '{}',
    manager_id {uuid} REFERENCES users(id),
    primary_role_id {uuid} REFERENCES roles(id),
    target_role_id {uuid} REFERENCES roles(id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deactivated_at BIGINT
);
CREATE UNIQUE INDEX ux_users_email ON users(org_id, email_norm);
CREATE INDEX ix_users_org ON users(org_id, id);
CREATE INDEX ix_users_manager ON users(manager_id);
CREATE INDEX ix_users_primary_role ON users(primary_role_id);
CREATE TABLE user_attributes (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    user_id {uuid} NOT NULL REFERENCES users(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX ix_user_attributes_kv ON user_attributes(org_id, key, value);
CREATE TABLE org_groups (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    parent_id {uuid} REFERENCES org_groups(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX ix_org_groups_parent ON org_groups(org_id, parent_id);
CREATE TABLE group_closure (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    ancestor_id {uuid} NOT NULL REFERENCES org_groups(id),
    descendant_id {uuid} NOT NULL REFERENCES org_groups(id),
    depth INTEGER NOT NULL,
    PRIMARY KEY (ancestor_id, descendant_id)
);
CREATE INDEX ix_group_closure_descendant ON group_closure(descendant_id, depth);
CREATE TABLE memberships (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    user_id {uuid} NOT NULL REFERENCES users(id),
    group_id {uuid} NOT NULL REFERENCES org_groups(id),
    since BIGINT NOT NULL,
    until BIGINT,
    created_at BIGINT NOT NULL,
    -- The organization's write_seq of the transaction that recorded it: the engine counts an
    -- audience entry from `since` only for memberships recorded by the change being reconciled.
    recorded_seq BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_memberships_current ON memberships(user_id, group_id) WHERE until IS NULL;
CREATE INDEX ix_memberships_group_current ON memberships(group_id, user_id) WHERE until IS NULL;
CREATE INDEX ix_memberships_user ON memberships(user_id, since);
"#;

const DOWN: &str = r#"
DROP TABLE memberships;
DROP TABLE group_closure;
DROP TABLE org_groups;
DROP TABLE user_attributes;
DROP TABLE users;
DROP TABLE roles;
DROP TABLE organizations;
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
