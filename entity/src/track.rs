use sea_orm::entity::prelude::*;

/// A learning path owned by a person: an ordered set of courses, usually for a role.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tracks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub name_norm: String,
    pub description: Option<String>,
    pub role_id: Option<Uuid>,
    pub owner_id: Uuid,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
