use sea_orm::entity::prelude::*;

/// A partner's credential: a name, scopes, and the hash of its secret (and, for 24 hours after
/// a rotation, of the secret before).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// JSON array of scope words.
    pub scopes: String,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    pub previous_secret_hash: Option<String>,
    /// Until when the secret before the last rotation still works.
    pub previous_until: Option<i64>,
    pub created_at: i64,
    pub created_by: Option<Uuid>,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
