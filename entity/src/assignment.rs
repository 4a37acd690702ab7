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
    pub status: Status,
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

/// Where an assignment stands (DESIGN.md, "Assignment status").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, strum::IntoStaticStr,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Its unlock date is ahead, or a prerequisite is not completed.
    Locked,
    Assigned,
    InProgress,
    Completed,
    Withdrawn,
    Expired,
}

impl Status {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The stored word as a SQL string literal, for hand-written set-based statements.
    pub fn sql(self) -> &'static str {
        match self {
            Status::Locked => sql::LOCKED,
            Status::Assigned => sql::ASSIGNED,
            Status::InProgress => sql::IN_PROGRESS,
            Status::Completed => sql::COMPLETED,
            Status::Withdrawn => sql::WITHDRAWN,
            Status::Expired => sql::EXPIRED,
        }
    }

    /// Incomplete and open: what a requirement holds until it is completed or withdrawn.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Locked | Status::Assigned | Status::InProgress)
    }
}

/// The open statuses as a SQL list, `('LOCKED', 'ASSIGNED', 'IN_PROGRESS')`.
pub const OPEN_SQL: &str = "('LOCKED', 'ASSIGNED', 'IN_PROGRESS')";

/// Each status as a SQL string literal, named for `format!` in set-based statements (a test
/// checks them against the enum).
pub mod sql {
    pub const LOCKED: &str = "'LOCKED'";
    pub const ASSIGNED: &str = "'ASSIGNED'";
    pub const IN_PROGRESS: &str = "'IN_PROGRESS'";
    pub const COMPLETED: &str = "'COMPLETED'";
    pub const WITHDRAWN: &str = "'WITHDRAWN'";
    pub const EXPIRED: &str = "'EXPIRED'";
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn the_sql_literals_are_the_stored_words() {
        for s in Status::iter() {
            assert_eq!(s.sql(), format!("'{}'", s.as_str()));
            assert_eq!(s.as_str(), s.to_value());
        }
        let open: Vec<String> = Status::iter()
            .filter(|s| s.is_open())
            .map(|s| s.sql().to_string())
            .collect();
        assert_eq!(OPEN_SQL, format!("({})", open.join(", ")));
    }
}
