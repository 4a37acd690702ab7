use sea_orm::entity::prelude::*;

/// One dimension of a rubric: a skill, its weight and points, the level a pass brings.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "rubric_dimensions")]
pub struct Model {
    pub org_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub rubric_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: Uuid,
    pub description: Option<String>,
    pub weight: f64,
    pub max_points: i32,
    pub level_on_pass: Option<i32>,
    pub position: i32,
}

impl ActiveModelBehavior for ActiveModel {}
