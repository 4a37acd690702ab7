use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub course_id: Uuid,
    /// LOCKED, ASSIGNED, IN_PROGRESS, COMPLETED, WITHDRAWN or EXPIRED.
    pub status: String,
    pub kept: bool,
    pub assigned_at: i64,
    pub unlock_at: Option<i64>,
    pub due_at: Option<i64>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub renew_at: Option<i64>,
    pub withdrawn_at: Option<i64>,
    pub expired_at: Option<i64>,
    pub changed_seq: i64,
    pub completion_id: Option<Uuid>,
    pub overdue_at: Option<i64>,
    pub renewal_done: bool,
}

impl ActiveModelBehavior for ActiveModel {}
