//! Groups (the org tree) and memberships: types, queries and mutations.

use crate::service::engine::Outcome;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::pagination::{Conn, connection};
use super::scalars::DateTime;
use super::user::User;
use super::{load_opt, loaders, parse_id, parse_opt_id, parts, to_id};
use crate::error::AppError;
use crate::service::page::PageRequest;
use crate::service::{authz, group as service, membership, user as user_service};
use entity::{group, membership as membership_entity};

/// A node in the org tree: a department, team, site or any custom structure.
pub struct Group(pub group::Model);

/// A node in the org tree: a department, team, site or any custom structure.
#[Object]
impl Group {
    /// The group's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The group's name, unique among its siblings.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The enclosing group; null for a top-level group.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Group>> {
        load_opt(&loaders(ctx)?.groups, self.0.parent_id, Group).await
    }

    /// Direct subgroups, by name.
    async fn children(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Group>> {
        let (state, viewer) = parts(ctx)?;
        let filter = service::GroupFilter {
            parent_id: Some(self.0.id),
            ..Default::default()
        };
        Ok(service::list(&state.db.read, viewer.org_id, &filter)
            .await?
            .into_iter()
            .map(Group)
            .collect())
    }

    /// Enclosing groups, nearest first (parent, grandparent, … the top-level group).
    async fn ancestors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Group>> {
        let (state, viewer) = parts(ctx)?;
        Ok(service::ancestors(&state.db.read, viewer.org_id, self.0.id)
            .await?
            .into_iter()
            .map(Group)
            .collect())
    }

    /// Every group below this one, shallowest first.
    async fn descendants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Group>> {
        let (state, viewer) = parts(ctx)?;
        Ok(
            service::descendants(&state.db.read, viewer.org_id, self.0.id)
                .await?
                .into_iter()
                .map(Group)
                .collect(),
        )
    }

    /// Current members visible to the viewer; with `includeSubgroups`, members of the whole
    /// subtree (each person once).
    #[graphql(complexity = "super::pagination::cost(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default_with = "Some(false)",
            desc = "Count members of every subgroup too, each person once (default false: direct members only)."
        )]
        include_subgroups: Option<bool>,
        #[graphql(desc = "How many items to return: 50 when omitted, at most 500.")] first: Option<
            i32,
        >,
        #[graphql(
            desc = "Start after this cursor (the `pageInfo.endCursor` of the previous page); omitted, from the beginning."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Conn<User>> {
        let (state, viewer) = parts(ctx)?;
        let filter = user_service::UserFilter {
            group_id: Some(self.0.id),
            include_subgroups: include_subgroups.unwrap_or(false),
            ..Default::default()
        };
        let page = PageRequest::new(first, after)?.of_org(viewer.org_id);
        let rows = user_service::list(&state.db.read, viewer, &filter, &page).await?;
        let (db, viewer) = (state.db.read.clone(), viewer.clone());
        Ok(connection(rows, User, move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            Box::pin(async move { user_service::count(&db, &viewer, &filter).await })
        }))
    }

    /// When the group was created.
    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }

    /// Set once the group is deleted (deleted groups stay visible in membership history).
    async fn deleted_at(&self) -> Option<DateTime> {
        self.0.deleted_at.map(DateTime::from_micros)
    }
}

/// A user's membership of a group over an interval; `until` is null while it lasts.
pub struct Membership(pub membership_entity::Model);

/// A user's membership of a group over an interval; `until` is null while it lasts.
#[Object]
impl Membership {
    /// The membership's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The member, when the viewer may see them.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let (state, viewer) = parts(ctx)?;
        if !authz::can_see_user(&state.db.read, viewer, self.0.user_id).await? {
            return Ok(None);
        }
        Ok(loaders(ctx)?
            .users
            .load_one(self.0.user_id)
            .await?
            .map(User))
    }

    /// The group.
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<Group> {
        loaders(ctx)?
            .groups
            .load_one(self.0.group_id)
            .await?
            .map(Group)
            .ok_or_else(|| AppError::internal("membership without group").into())
    }

    /// When the membership began (HR may back-fill it).
    async fn since(&self) -> DateTime {
        DateTime::from_micros(self.0.since)
    }

    /// When it ended; null while current.
    async fn until(&self) -> Option<DateTime> {
        self.0.until.map(DateTime::from_micros)
    }

    /// Whether the membership lasts.
    async fn current(&self) -> bool {
        self.0.until.is_none()
    }
}

#[derive(Default)]
pub struct GroupQuery;

#[Object]
impl GroupQuery {
    /// A group by id; null when unknown or deleted.
    async fn group(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the group; an unknown one answers null.")] id: ID,
    ) -> async_graphql::Result<Option<Group>> {
        let (state, viewer) = parts(ctx)?;
        let Ok(id) = parse_id(&id, "group") else {
            return Ok(None);
        };
        Ok(service::find_live(&state.db.read, viewer.org_id, id)
            .await?
            .map(Group))
    }

    /// Groups by name: all of them, the direct children of `parentId`, or with `rootsOnly`
    /// the top-level ones; `search` matches a case-insensitive part of the name.
    async fn groups(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the direct children of this group.")] parent_id: Option<ID>,
        #[graphql(
            default_with = "Some(false)",
            desc = "Only the top-level groups (default false)."
        )]
        roots_only: Option<bool>,
        #[graphql(desc = "A case-insensitive part of the name.")] search: Option<String>,
    ) -> async_graphql::Result<Vec<Group>> {
        let (state, viewer) = parts(ctx)?;
        let filter = service::GroupFilter {
            parent_id: parse_opt_id(&parent_id, "group")?,
            roots_only: roots_only.unwrap_or(false),
            search,
        };
        Ok(service::list(&state.db.read, viewer.org_id, &filter)
            .await?
            .into_iter()
            .map(Group)
            .collect())
    }
}

/// A new group of the org tree.
#[derive(InputObject)]
pub struct CreateGroupInput {
    /// The group's name (1–200 characters), unique among its siblings.
    pub name: String,
    /// The enclosing group; omit for a top-level group.
    pub parent_id: Option<ID>,
}

/// Changes to a group; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateGroupInput {
    /// The group to change.
    pub id: ID,
    /// The new name, unique among its siblings.
    pub name: Option<String>,
}

/// A group to move, with its subtree, under another parent.
#[derive(InputObject)]
pub struct MoveGroupInput {
    /// The group to move.
    pub id: ID,
    /// The new enclosing group; null makes it a top-level group.
    pub parent_id: Option<ID>,
}

/// An empty group to delete.
#[derive(InputObject)]
pub struct DeleteGroupInput {
    /// The group to delete.
    pub id: ID,
}

/// Puts a user in a group.
#[derive(InputObject)]
pub struct AddMembershipInput {
    /// The user to add.
    pub user_id: ID,
    /// The group to add them to.
    pub group_id: ID,
    /// When the membership began (default now; not in the future). HR back-fills set it so
    /// onboarding dates count from the real start.
    pub since: Option<DateTime>,
}

/// A current membership to end.
#[derive(InputObject)]
pub struct RemoveMembershipInput {
    /// The member.
    pub user_id: ID,
    /// The group they leave.
    pub group_id: ID,
}

/// A move of a user from one group to another at one instant.
#[derive(InputObject)]
pub struct TransferUserInput {
    /// The user who moves.
    pub user_id: ID,
    /// The group they leave (they must be a current member).
    pub from_group_id: ID,
    /// The group they join.
    pub to_group_id: ID,
}

/// The group `createGroup` made.
#[derive(SimpleObject)]
pub struct CreateGroupPayload {
    /// The group created.
    pub group: Group,
}

/// The group `updateGroup` changed.
#[derive(SimpleObject)]
pub struct UpdateGroupPayload {
    /// The group, changed.
    pub group: Group,
}

/// The group `moveGroup` moved, and what it changed.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MoveGroupPayload {
    /// The group, at its new place.
    pub group: Group,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(MoveGroupPayload);

/// The group `deleteGroup` deleted, and what it changed.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct DeleteGroupPayload {
    /// The group as it was deleted (`deletedAt` set).
    pub group: Group,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(DeleteGroupPayload);

/// The membership that `addMembership` made (or found), and what it changed.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AddMembershipPayload {
    /// The current membership.
    pub membership: Membership,
    /// False when the user was already a member (nothing changed).
    pub created: bool,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(AddMembershipPayload);

/// The membership `removeMembership` ended, and what it changed.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RemoveMembershipPayload {
    /// The membership, now ended.
    pub membership: Membership,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(RemoveMembershipPayload);

/// The memberships `transferUser` ended and began, and what it changed.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TransferUserPayload {
    /// The membership of the destination group.
    pub membership: Membership,
    /// The membership of the group left, ended at the same instant.
    pub ended_membership: Membership,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(TransferUserPayload);

#[derive(Default)]
pub struct GroupMutation;

#[Object]
impl GroupMutation {
    /// OWNER, ADMIN, HR.
    async fn create_group(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `createGroup` does: see `CreateGroupInput`.")]
        input: CreateGroupInput,
    ) -> async_graphql::Result<CreateGroupPayload> {
        let (state, viewer) = parts(ctx)?;
        let parent = parse_opt_id(&input.parent_id, "parent group")?;
        let group = service::create(state, viewer, &input.name, parent).await?;
        Ok(CreateGroupPayload {
            group: Group(group),
        })
    }

    /// Renames a group. OWNER, ADMIN, HR.
    async fn update_group(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `updateGroup` does: see `UpdateGroupInput`.")]
        input: UpdateGroupInput,
    ) -> async_graphql::Result<UpdateGroupPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "group")?;
        let group = service::rename(state, viewer, id, input.name.as_deref()).await?;
        Ok(UpdateGroupPayload {
            group: Group(group),
        })
    }

    /// Moves a group with its subtree; moving it under itself or a descendant is refused.
    /// OWNER, ADMIN, HR.
    async fn move_group(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `moveGroup` does: see `MoveGroupInput`.")] input: MoveGroupInput,
    ) -> async_graphql::Result<MoveGroupPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "group")?;
        let parent = parse_opt_id(&input.parent_id, "parent group")?;
        let (group, outcome) = service::move_group(state, viewer, id, parent).await?;
        Ok(MoveGroupPayload {
            group: Group(group),
            outcome,
        })
    }

    /// Deletes an empty group (no current members, no children); history keeps naming it.
    /// OWNER, ADMIN, HR.
    async fn delete_group(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `deleteGroup` does: see `DeleteGroupInput`.")]
        input: DeleteGroupInput,
    ) -> async_graphql::Result<DeleteGroupPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "group")?;
        let (group, outcome) = service::delete(state, viewer, id).await?;
        Ok(DeleteGroupPayload {
            group: Group(group),
            outcome,
        })
    }

    /// Puts a user in a group; adding a current membership again changes nothing.
    /// OWNER, ADMIN, HR.
    async fn add_membership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `addMembership` does: see `AddMembershipInput`.")]
        input: AddMembershipInput,
    ) -> async_graphql::Result<AddMembershipPayload> {
        let (state, viewer) = parts(ctx)?;
        let user_id = parse_id(&input.user_id, "user")?;
        let group_id = parse_id(&input.group_id, "group")?;
        let added = membership::add(
            state,
            viewer,
            user_id,
            group_id,
            input.since.map(|s| s.micros()),
        )
        .await?;
        Ok(AddMembershipPayload {
            membership: Membership(added.membership),
            created: added.created,
            outcome: added.outcome,
        })
    }

    /// Ends a user's current membership of a group. OWNER, ADMIN, HR.
    async fn remove_membership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `removeMembership` does: see `RemoveMembershipInput`.")]
        input: RemoveMembershipInput,
    ) -> async_graphql::Result<RemoveMembershipPayload> {
        let (state, viewer) = parts(ctx)?;
        let user_id = parse_id(&input.user_id, "user")?;
        let group_id = parse_id(&input.group_id, "group")?;
        let (m, outcome) = membership::remove(state, viewer, user_id, group_id).await?;
        Ok(RemoveMembershipPayload {
            membership: Membership(m),
            outcome,
        })
    }

    /// Moves a user from one group to another atomically: one membership ends and the other
    /// starts at the same instant. OWNER, ADMIN, HR.
    async fn transfer_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `transferUser` does: see `TransferUserInput`.")]
        input: TransferUserInput,
    ) -> async_graphql::Result<TransferUserPayload> {
        let (state, viewer) = parts(ctx)?;
        let user_id = parse_id(&input.user_id, "user")?;
        let from = parse_id(&input.from_group_id, "group")?;
        let to = parse_id(&input.to_group_id, "group")?;
        let t = membership::transfer(state, viewer, user_id, from, to).await?;
        Ok(TransferUserPayload {
            membership: Membership(t.started),
            ended_membership: Membership(t.ended),
            outcome: t.outcome,
        })
    }
}
