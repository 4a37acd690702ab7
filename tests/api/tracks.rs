//! Learning tracks: skill dependencies, course prerequisites gating assignments (and assigned
//! with them), tracks and their owners, rubrics and assessments, track reports.

mod assessments;
mod prerequisites;
mod reports;
mod track;
