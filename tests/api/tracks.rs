//! Learning tracks: skill dependencies, course prerequisites gating assignments (and assigned
//! with them), tracks and their owners, rubrics and assessments, track reports.

pub mod assessments;
pub mod prerequisites;
mod reports;
pub mod track;
