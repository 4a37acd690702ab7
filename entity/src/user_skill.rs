use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_skills")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: Uuid,
    pub org_id: Uuid,
    /// `None`: on the profile (added by a primary role) but not rated yet.
    pub level: Option<i32>,
    /// SELF, MANAGER, ASSESSMENT, COURSE, or ROLE for an unrated skill from a primary role.
    pub source: String,
    pub rated_by: Option<Uuid>,
    pub rated_at: Option<i64>,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
