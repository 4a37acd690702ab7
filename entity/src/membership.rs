use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub group_id: Uuid,
    pub since: i64,
    /// `None` while the membership is current.
    pub until: Option<i64>,
    pub created_at: i64,
    /// The organization's write_seq of the transaction that recorded it.
    pub recorded_seq: i64,
}

impl ActiveModelBehavior for ActiveModel {}
