use sea_orm::entity::prelude::*;

/// A course required of one person by hand (`assignCourse`): the engine keeps it required until
/// `unassignCourse` ends it.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "manual_requirements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub course_id: Uuid,
    pub due_at: Option<i64>,
    pub note: Option<String>,
    pub created_at: i64,
    /// USER, API_CLIENT or SYSTEM.
    pub created_by_type: String,
    pub created_by_id: Option<Uuid>,
    pub ended_at: Option<i64>,
    pub ended_by_type: Option<String>,
    pub ended_by_id: Option<Uuid>,
}

impl ActiveModelBehavior for ActiveModel {}
