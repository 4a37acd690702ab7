//! Learning tracks: skill dependencies (a DAG), the course that pulled an auto-assigned
//! prerequisite into an assignment's reason, tracks with their ordered courses (foundation
//! courses marked) and owners, a rule's bundle naming a track, rubrics with weighted dimensions,
//! and recorded assessments with their per-dimension scores.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000007_create_track_tables"
    }
}

const UP: &str = r#"
-- "skill requires requires_skill": an edge of the skill DAG.
CREATE TABLE skill_dependencies (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    skill_id {uuid} NOT NULL REFERENCES skills(id),
    requires_skill_id {uuid} NOT NULL REFERENCES skills(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (skill_id, requires_skill_id)
);
CREATE INDEX ix_skill_dependencies_requires ON skill_dependencies(requires_skill_id);
CREATE INDEX ix_skill_dependencies_org ON skill_dependencies(org_id);
-- The course of the rule's bundle that needs this (prerequisite) course; NULL when the rule
-- names the course itself.
ALTER TABLE assignment_reasons ADD COLUMN via_course_id {uuid} REFERENCES courses(id);
CREATE TABLE tracks (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    name_norm TEXT NOT NULL,
    description TEXT,
    role_id {uuid} REFERENCES roles(id),
    owner_id {uuid} NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_tracks_name ON tracks(org_id, name_norm);
CREATE INDEX ix_tracks_owner ON tracks(owner_id);
CREATE TABLE track_courses (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    track_id {uuid} NOT NULL REFERENCES tracks(id),
    course_id {uuid} NOT NULL REFERENCES courses(id),
    position INTEGER NOT NULL,
    foundation BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (track_id, course_id)
);
CREATE INDEX ix_track_courses_course ON track_courses(course_id);
-- A rule whose bundle is a track: its rule_courses follow the track's courses.
ALTER TABLE rules ADD COLUMN track_id {uuid} REFERENCES tracks(id);
CREATE INDEX ix_rules_track ON rules(track_id);
CREATE TABLE rubrics (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    track_id {uuid} REFERENCES tracks(id),
    role_id {uuid} REFERENCES roles(id),
    passing_percent INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX ix_rubrics_org ON rubrics(org_id, created_at);
CREATE INDEX ix_rubrics_track ON rubrics(track_id);
CREATE TABLE rubric_dimensions (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    rubric_id {uuid} NOT NULL REFERENCES rubrics(id),
    skill_id {uuid} NOT NULL REFERENCES skills(id),
    description TEXT,
    weight DOUBLE PRECISION NOT NULL,
    max_points INTEGER NOT NULL,
    level_on_pass INTEGER,
    position INTEGER NOT NULL,
    PRIMARY KEY (rubric_id, skill_id)
);
CREATE TABLE assessments (
    id {uuid} PRIMARY KEY,
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    rubric_id {uuid} NOT NULL REFERENCES rubrics(id),
    -- The rubric's track, copied so track reports read one table.
    track_id {uuid} REFERENCES tracks(id),
    user_id {uuid} NOT NULL REFERENCES users(id),
    evaluator_id {uuid} NOT NULL REFERENCES users(id),
    -- Weighted total, 0..100.
    percent DOUBLE PRECISION NOT NULL,
    passed BOOLEAN NOT NULL,
    comment TEXT,
    assessed_at BIGINT NOT NULL
);
CREATE INDEX ix_assessments_user ON assessments(user_id, assessed_at);
CREATE INDEX ix_assessments_rubric ON assessments(rubric_id, assessed_at);
CREATE INDEX ix_assessments_track ON assessments(track_id, assessed_at);
CREATE TABLE assessment_scores (
    org_id {uuid} NOT NULL REFERENCES organizations(id),
    assessment_id {uuid} NOT NULL REFERENCES assessments(id),
    skill_id {uuid} NOT NULL REFERENCES skills(id),
    points INTEGER NOT NULL,
    PRIMARY KEY (assessment_id, skill_id)
);
"#;

const DOWN: &str = r#"
DROP TABLE assessment_scores;
DROP TABLE assessments;
DROP TABLE rubric_dimensions;
DROP TABLE rubrics;
DROP INDEX ix_rules_track;
ALTER TABLE rules DROP COLUMN track_id;
DROP TABLE track_courses;
DROP TABLE tracks;
ALTER TABLE assignment_reasons DROP COLUMN via_course_id;
DROP TABLE skill_dependencies;
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
