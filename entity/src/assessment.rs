use sea_orm::entity::prelude::*;

/// One evaluation of a learner with a rubric.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assessments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub rubric_id: Uuid,
    /// The rubric's track, copied so track reports read one table.
    pub track_id: Option<Uuid>,
    pub user_id: Uuid,
    pub evaluator_id: Uuid,
    /// Weighted total, 0..100.
    pub percent: f64,
    pub passed: bool,
    pub comment: Option<String>,
    pub assessed_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
