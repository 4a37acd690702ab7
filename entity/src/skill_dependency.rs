use sea_orm::entity::prelude::*;

/// `skill_id` builds on `requires_skill_id` (the skill graph is a DAG).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "skill_dependencies")]
pub struct Model {
    pub org_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub requires_skill_id: Uuid,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
