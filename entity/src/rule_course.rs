use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rule_courses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub rule_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub course_id: Uuid,
    pub org_id: Uuid,
    pub position: i32,
    pub unlock_after_days: Option<i32>,
    pub due_after_days: Option<i32>,
}

impl ActiveModelBehavior for ActiveModel {}
