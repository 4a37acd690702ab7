use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub org_id: Uuid,
    /// The organization's write_seq of the transaction that appended it.
    pub tx_seq: i64,
    pub at: i64,
    pub kind: String,
    pub assignment_id: Uuid,
    pub user_id: Uuid,
    pub course_id: Uuid,
}

impl ActiveModelBehavior for ActiveModel {}
