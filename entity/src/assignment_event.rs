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
    pub kind: Kind,
    pub assignment_id: Uuid,
    pub user_id: Uuid,
    pub course_id: Uuid,
}

impl ActiveModelBehavior for ActiveModel {}

/// What happened to an assignment.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    Assigned,
    Unlocked,
    Started,
    Completed,
    Withdrawn,
    Overdue,
    Expired,
    RenewalOpened,
}

impl Kind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}
