use sea_orm::entity::prelude::*;

/// One rating of a user's skill; the history behind `user_skills`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "skill_ratings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub skill_id: Uuid,
    pub level: i32,
    pub source: String,
    pub rated_by: Option<Uuid>,
    pub rated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
