use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    /// Lower-cased email: the unique key within the organization.
    pub email_norm: String,
    pub name: String,
    pub job_title: Option<String>,
    pub hire_date: Option<Date>,
    /// JSON object of string values, as given.
    pub attributes: String,
    pub manager_id: Option<Uuid>,
    pub primary_role_id: Option<Uuid>,
    pub target_role_id: Option<Uuid>,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub deactivated_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
