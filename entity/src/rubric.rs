use sea_orm::entity::prelude::*;

/// A role-specific evaluation: dimensions (skills) with weights and a passing score.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rubrics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub track_id: Option<Uuid>,
    pub role_id: Option<Uuid>,
    pub passing_percent: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
