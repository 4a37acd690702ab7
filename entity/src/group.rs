use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "org_groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Groups are deleted softly so that membership history keeps naming them.
    pub deleted_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
