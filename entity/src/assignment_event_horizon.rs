use sea_orm::entity::prelude::*;

/// How far an organization's assignment events were pruned.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment_event_horizons")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// Every event of the organization with `seq` up to this was pruned.
    pub pruned_through: i64,
    pub pruned_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
