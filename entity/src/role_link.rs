use sea_orm::entity::prelude::*;

/// `to_role_id` advances from `from_role_id`: an edge of the career ladder.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub from_role_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub to_role_id: Uuid,
    pub org_id: Uuid,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
