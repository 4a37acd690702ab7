//! Database rows of skillgraph, one module per table. Nothing here knows about GraphQL: the API
//! layer wraps these rows in its own types. Times are `i64` microseconds since the Unix epoch.

pub mod assessment;
pub mod assessment_score;
pub mod assignment;
pub mod assignment_event;
pub mod assignment_event_horizon;
pub mod assignment_event_prune_permit;
pub mod assignment_reason;
pub mod audit_event;
pub mod completion;
pub mod compliance_summary;
pub mod course;
pub mod course_prerequisite;
pub mod course_skill;
pub mod group;
pub mod group_closure;
pub mod group_parent;
pub mod membership;
pub mod organization;
pub mod proficiency_level;
pub mod role;
pub mod role_category;
pub mod role_link;
pub mod role_skill;
pub mod rubric;
pub mod rubric_dimension;
pub mod rule;
pub mod rule_course;
pub mod skill;
pub mod skill_dependency;
pub mod skill_rating;
pub mod track;
pub mod track_course;
pub mod user;
pub mod user_attribute;
pub mod user_skill;
