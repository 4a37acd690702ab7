use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_skills")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub role_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: Uuid,
    pub org_id: Uuid,
    /// `None`: any rating meets it.
    pub level: Option<i32>,
    pub position: i32,
}

impl ActiveModelBehavior for ActiveModel {}
