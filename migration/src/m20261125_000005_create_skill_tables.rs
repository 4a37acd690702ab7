//! Skills on the organization's proficiency scale, role categories, the full role (category,
//! responsibilities, required skills, career links), users' skills with their rating history,
//! and the skills courses develop.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000005_create_skill_tables"
    }
}

const UP: &str = r#"
-- The organization's proficiency scale, levels 1..N; no rows means the default five levels.
CREATE TABLE proficiency_levels (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    level INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (org_id, level)
);
CREATE TABLE skills (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    name_norm TEXT NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_skills_name ON skills(org_id, name_norm);
CREATE TABLE role_categories (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    name_norm TEXT NOT NULL,
    featured BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_role_categories_name ON role_categories(org_id, name_norm);
ALTER TABLE roles ADD COLUMN category_id {uuid} REFERENCES role_categories(id);
-- JSON list of strings, in the order given.
ALTER TABLE roles ADD COLUMN responsibilities TEXT NOT NULL DEFAULT '[]';
CREATE INDEX ix_roles_category ON roles(category_id);
CREATE TABLE role_skills (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    role_id {uuid} NOT NULL REFERENCES roles(id),
    skill_id {uuid} NOT NULL REFERENCES skills(id),
    -- NULL: any rating meets it.
    level INTEGER,
    position INTEGER NOT NULL,
    PRIMARY KEY (role_id, skill_id)
);
CREATE INDEX ix_role_skills_skill ON role_skills(skill_id, role_id);
CREATE INDEX ix_role_skills_org ON role_skills(org_id);
-- "to advances from from": an edge from -> to of the career ladder.
CREATE TABLE role_links (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    from_role_id {uuid} NOT NULL REFERENCES roles(id),
    to_role_id {uuid} NOT NULL REFERENCES roles(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (from_role_id, to_role_id)
);
CREATE INDEX ix_role_links_to ON role_links(to_role_id, from_role_id);
CREATE INDEX ix_role_links_org ON role_links(org_id);
-- A user's current level in a skill; level NULL = on the profile (from a primary role), unrated.
CREATE TABLE user_skills (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    user_id {uuid} NOT NULL REFERENCES users(id),
    skill_id {uuid} NOT NULL REFERENCES skills(id),
    level INTEGER,
    source TEXT NOT NULL,
    rated_by {uuid},
    rated_at BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, skill_id)
);
CREATE INDEX ix_user_skills_skill ON user_skills(skill_id, level, user_id);
-- Every rating ever given, append-only.
CREATE TABLE skill_ratings (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    user_id {uuid} NOT NULL REFERENCES users(id),
    skill_id {uuid} NOT NULL REFERENCES skills(id),
    level INTEGER NOT NULL,
    source TEXT NOT NULL,
    rated_by {uuid},
    rated_at BIGINT NOT NULL
);
CREATE INDEX ix_skill_ratings_user ON skill_ratings(user_id, skill_id, rated_at);
CREATE TABLE course_skills (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    course_id {uuid} NOT NULL REFERENCES courses(id),
    skill_id {uuid} NOT NULL REFERENCES skills(id),
    level INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (course_id, skill_id)
);
CREATE INDEX ix_course_skills_skill ON course_skills(skill_id, level);
CREATE INDEX ix_users_target_role ON users(target_role_id);
"#;

const DOWN: &str = r#"
DROP INDEX ix_users_target_role;
DROP TABLE course_skills;
DROP TABLE skill_ratings;
DROP TABLE user_skills;
DROP TABLE role_links;
DROP TABLE role_skills;
DROP INDEX ix_roles_category;
ALTER TABLE roles DROP COLUMN responsibilities;
ALTER TABLE roles DROP COLUMN category_id;
DROP TABLE role_categories;
DROP TABLE skills;
DROP TABLE proficiency_levels;
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
