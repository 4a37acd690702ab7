use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub active: bool,
    /// `WITHDRAW` or `KEEP`.
    pub on_exit: String,
    pub group_id: Option<Uuid>,
    pub include_subgroups: bool,
    pub role_id: Option<Uuid>,
    /// JSON list of criteria.
    pub criteria: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    /// The track whose courses are the bundle, when the rule names one.
    pub track_id: Option<Uuid>,
}

impl ActiveModelBehavior for ActiveModel {}
