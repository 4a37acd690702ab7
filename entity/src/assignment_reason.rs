use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment_reasons")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub assignment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub rule_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub since: i64,
    pub org_id: Uuid,
    pub unlock_at: Option<i64>,
    pub due_at: Option<i64>,
    pub until: Option<i64>,
    pub created_at: i64,
    /// The bundle course that needs this prerequisite course; None when the rule names it.
    pub via_course_id: Option<Uuid>,
}

impl ActiveModelBehavior for ActiveModel {}
