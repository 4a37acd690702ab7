use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub name_norm: String,
    pub description: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub category_id: Option<Uuid>,
    /// JSON list of strings, in the order given.
    pub responsibilities: String,
}

impl ActiveModelBehavior for ActiveModel {}
