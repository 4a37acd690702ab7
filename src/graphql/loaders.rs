//! DataLoaders, created per request (their cache never outlives it) and scoped to the viewer's
//! organization: every relation a resolver follows is batched into one query per level.

use std::collections::HashMap;

use async_graphql::ErrorExtensions;
use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::service::{group, membership, role, user};
use entity::{
    group as group_entity, membership as membership_entity, role as role_entity,
    user as user_entity,
};

/// What every loader needs: the read connection and the organization.
#[derive(Clone)]
pub struct Scope {
    pub db: DatabaseConnection,
    pub org_id: Uuid,
}

macro_rules! by_id_loader {
    ($name:ident, $model:ty, $fetch:path) => {
        pub struct $name(pub Scope);

        impl Loader<Uuid> for $name {
            type Value = $model;
            type Error = async_graphql::Error;

            async fn load(
                &self,
                keys: &[Uuid],
            ) -> Result<HashMap<Uuid, $model>, async_graphql::Error> {
                let rows = $fetch(&self.0.db, self.0.org_id, keys)
                    .await
                    .map_err(|e| e.extend())?;
                Ok(rows.into_iter().map(|r| (r.id, r)).collect())
            }
        }
    };
}

by_id_loader!(UserLoader, user_entity::Model, user::find_many);
by_id_loader!(GroupLoader, group_entity::Model, group::find_many);
by_id_loader!(RoleLoader, role_entity::Model, role::find_many);

/// Memberships per user: current ones only, or with history.
pub struct MembershipLoader {
    scope: Scope,
    include_history: bool,
}

impl Loader<Uuid> for MembershipLoader {
    type Value = Vec<membership_entity::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = membership::of_users(
            &self.scope.db,
            self.scope.org_id,
            keys,
            self.include_history,
        )
        .await
        .map_err(|e| e.extend())?;
        let mut map: HashMap<Uuid, Self::Value> = HashMap::new();
        for m in rows {
            map.entry(m.user_id).or_default().push(m);
        }
        Ok(map)
    }
}

pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub groups: DataLoader<GroupLoader>,
    pub roles: DataLoader<RoleLoader>,
    pub current_memberships: DataLoader<MembershipLoader>,
    pub all_memberships: DataLoader<MembershipLoader>,
}

impl Loaders {
    pub fn new(db: DatabaseConnection, org_id: Uuid) -> Self {
        let scope = Scope { db, org_id };
        Loaders {
            users: DataLoader::new(UserLoader(scope.clone()), tokio::spawn),
            groups: DataLoader::new(GroupLoader(scope.clone()), tokio::spawn),
            roles: DataLoader::new(RoleLoader(scope.clone()), tokio::spawn),
            current_memberships: DataLoader::new(
                MembershipLoader {
                    scope: scope.clone(),
                    include_history: false,
                },
                tokio::spawn,
            ),
            all_memberships: DataLoader::new(
                MembershipLoader {
                    scope,
                    include_history: true,
                },
                tokio::spawn,
            ),
        }
    }
}
