use sea_orm::entity::prelude::*;

/// What a "now" compliance report needs of one user, kept current by the changes that move it.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "compliance_summaries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub n_required: i64,
    pub n_incomplete: i64,
    /// `i64::MAX / 2` stands for "never".
    pub min_due_incomplete: i64,
    pub min_valid_expiry: i64,
}

impl ActiveModelBehavior for ActiveModel {}
