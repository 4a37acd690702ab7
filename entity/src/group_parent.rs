use sea_orm::entity::prelude::*;

/// A period in which a group hung under a parent (the tree's history, for as-of reports). The
/// table has no key of its own; a group has one period starting at each instant.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "group_parents")]
pub struct Model {
    pub org_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_id: Uuid,
    pub parent_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub since: i64,
    pub until: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
