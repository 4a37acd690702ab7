use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "completions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub course_id: Uuid,
    pub completed_at: i64,
    pub expires_at: Option<i64>,
    pub renew_at: Option<i64>,
    pub score: Option<f64>,
    pub external_id: Option<String>,
    pub assignment_id: Option<Uuid>,
    pub recorded_at: i64,
    pub recorded_by: Option<Uuid>,
}

impl ActiveModelBehavior for ActiveModel {}
