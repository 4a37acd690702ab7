use sea_orm::entity::prelude::*;

/// The name of one level of an organization's proficiency scale.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "proficiency_levels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub level: i32,
    pub name: String,
}

impl ActiveModelBehavior for ActiveModel {}
