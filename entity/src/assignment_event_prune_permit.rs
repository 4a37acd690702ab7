use sea_orm::entity::prelude::*;

/// The one row a pruner holds while it prunes (a second pruner waits on it).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment_event_prune_permits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
}

impl ActiveModelBehavior for ActiveModel {}
