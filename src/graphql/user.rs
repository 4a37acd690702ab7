//! Users: the `User` type, the user queries and the user mutations.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};

use super::assignment::{self, Assignment, AssignmentStatus};
use super::group::Membership;
use super::pagination::{Conn, connection};
use super::role::Role;
use super::scalars::{Date, DateTime};
use super::skill::{SkillRating, UserSkill};
use super::{load_opt, loaders, parse_id, parse_opt_id, parts, to_id};
use crate::service::authz;
use crate::service::engine::Outcome;
use crate::service::page::PageRequest;
use crate::service::user::{self as service, NewUser, UserChanges};
use entity::user;

/// A person in the organization.
pub struct User(pub user::Model);

/// A person in the organization.
#[Object]
impl User {
    /// The user's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// As given; unique within the organization regardless of case.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// The user's full name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The job title; null when none is recorded.
    async fn job_title(&self) -> Option<&str> {
        self.0.job_title.as_deref()
    }

    /// The day they were hired; null when unknown.
    async fn hire_date(&self) -> Option<Date> {
        self.0.hire_date.map(Date)
    }

    /// Free-form attributes (location, department, cost centre …): an object of string values.
    /// Rules can select people by them.
    async fn attributes(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.attributes).unwrap_or_else(|_| serde_json::json!({})))
    }

    /// False once deactivated; a deactivated user is in no rule's audience and cannot sign in.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// When the user was created in skillgraph.
    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }

    /// When the user was deactivated (left); null while active.
    async fn deactivated_at(&self) -> Option<DateTime> {
        self.0.deactivated_at.map(DateTime::from_micros)
    }

    /// The user's manager, when the viewer may see them.
    async fn manager(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.manager_id else {
            return Ok(None);
        };
        let (state, viewer) = parts(ctx)?;
        if !authz::can_see_user(&state.db.read, viewer, id).await? {
            return Ok(None);
        }
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User))
    }

    /// What the user does (usually synced from HR); role-based rules follow it.
    async fn primary_role(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Role>> {
        load_opt(&loaders(ctx)?.roles, self.0.primary_role_id, Role).await
    }

    /// The role the user aims for, chosen by themself; it drives recommendations.
    async fn target_role(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Role>> {
        load_opt(&loaders(ctx)?.roles, self.0.target_role_id, Role).await
    }

    /// The user's assessments the viewer may see, newest first (OWNER, ADMIN, HR: all; a
    /// track's owner: those of its track; the user themself and their managers: all of theirs).
    async fn assessments(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::assessment::Assessment>> {
        super::assessment::of_user(ctx, self.0.id).await
    }

    /// The skills on the user's profile, by name: each with its current level (null while
    /// unrated) and where the level came from.
    async fn skills(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<UserSkill>> {
        Ok(loaders(ctx)?
            .user_skills
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(UserSkill)
            .collect())
    }

    /// Every rating the user's skills received, newest first; with `skillId`, of that skill
    /// only.
    async fn skill_ratings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the ratings of this skill.")] skill_id: Option<ID>,
    ) -> async_graphql::Result<Vec<SkillRating>> {
        let only = match &skill_id {
            Some(id) => match parse_id(id, "skill") {
                Ok(id) => Some(id),
                Err(_) => return Ok(vec![]),
            },
            None => None,
        };
        Ok(loaders(ctx)?
            .ratings
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|r| only.is_none_or(|s| r.skill_id == s))
            .map(SkillRating)
            .collect())
    }

    /// Group memberships, oldest first. With `includeHistory`, ended memberships too.
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default_with = "Some(false)",
            desc = "Include memberships that ended (default false: current ones only)."
        )]
        include_history: Option<bool>,
    ) -> async_graphql::Result<Vec<Membership>> {
        let include_history = include_history.unwrap_or(false);
        let l = loaders(ctx)?;
        let loader = if include_history {
            &l.all_memberships
        } else {
            &l.current_memberships
        };
        Ok(loader
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Membership)
            .collect())
    }

    /// The user's assignments, oldest first, optionally only those in `status`. Empty when the
    /// viewer may not see the user's training.
    async fn assignments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Keep only assignments in these states; omitted, all of them.")]
        status: Option<Vec<AssignmentStatus>>,
    ) -> async_graphql::Result<Vec<Assignment>> {
        assignment::of_user(ctx, self.0.id, status).await
    }

    /// Every completion of the user, newest first (history, kept for ever). Empty when the
    /// viewer may not see the user's training.
    async fn completions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::compliance::Completion>> {
        let (state, viewer) = parts(ctx)?;
        if !authz::can_see_user(&state.db.read, viewer, self.0.id).await? {
            return Ok(vec![]);
        }
        let rows =
            crate::service::compliance::progress::of_user(&state.db.read, viewer.org_id, self.0.id)
                .await?;
        Ok(rows
            .into_iter()
            .map(super::compliance::Completion)
            .collect())
    }
}

/// Filters of `users`; all given parts must hold.
#[derive(InputObject, Default)]
pub struct UserFilter {
    /// Current members of this group.
    pub group_id: Option<ID>,
    /// With `groupId`: members of its subgroups too (default false).
    pub include_subgroups: Option<bool>,
    /// Case-insensitive substring of the name or email.
    pub search: Option<String>,
    /// Users whose primary role is this role.
    pub role_id: Option<ID>,
    /// Only active (true) or deactivated (false) users; omitted, both.
    pub active: Option<bool>,
}

impl UserFilter {
    pub(crate) fn into_service(self) -> Result<service::UserFilter, crate::error::AppError> {
        Ok(service::UserFilter {
            group_id: parse_opt_id(&self.group_id, "group")?,
            include_subgroups: self.include_subgroups.unwrap_or(false),
            search: self.search,
            role_id: parse_opt_id(&self.role_id, "role")?,
            active: self.active,
        })
    }
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// A user by id; null when unknown or not visible to the viewer (a LEARNER sees only
    /// themself, a MANAGER their reports).
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the user; an unknown one answers null.")] id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let (state, viewer) = parts(ctx)?;
        let Ok(id) = parse_id(&id, "user") else {
            return Ok(None);
        };
        Ok(service::get(&state.db.read, viewer, id).await?.map(User))
    }

    /// Users visible to the viewer, oldest first. `first` defaults to 50 (at most 500).
    #[graphql(complexity = "super::pagination::cost(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted, everything the viewer may see.")]
        filter: Option<UserFilter>,
        #[graphql(desc = "How many items to return: 50 when omitted, at most 500.")] first: Option<
            i32,
        >,
        #[graphql(
            desc = "Start after this cursor (the `pageInfo.endCursor` of the previous page); omitted, from the beginning."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Conn<User>> {
        let (state, viewer) = parts(ctx)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let page = PageRequest::new(first, after)?.of_org(viewer.org_id);
        let rows = service::list(&state.db.read, viewer, &filter, &page).await?;
        let (db, viewer) = (state.db.read.clone(), viewer.clone());
        Ok(connection(rows, User, move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            Box::pin(async move { service::count(&db, &viewer, &filter).await })
        }))
    }
}

/// A new person of the organization.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Unique in the organization, case-insensitively.
    pub email: String,
    /// 1–200 characters.
    pub name: String,
    /// Their job title; omit for none.
    pub job_title: Option<String>,
    /// The day they were hired; omit when unknown.
    pub hire_date: Option<Date>,
    /// An object of string values, e.g. `{"location": "Chicago", "department": "Warehouse"}`.
    pub attributes: Option<Json<serde_json::Value>>,
    /// Their manager, another user of the organization; omit for none.
    pub manager_id: Option<ID>,
}

/// Changes to a user's profile; omitted fields stay as they are, null clears a nullable one.
#[derive(InputObject)]
pub struct UpdateUserInput {
    /// The user to change.
    pub id: ID,
    /// The new name.
    pub name: Option<String>,
    /// null clears it.
    pub job_title: MaybeUndefined<String>,
    /// null clears it.
    pub hire_date: MaybeUndefined<Date>,
    /// Replaces the whole set; null clears it.
    pub attributes: MaybeUndefined<Json<serde_json::Value>>,
    /// null removes the manager; a manager that would close a reporting cycle is refused.
    pub manager_id: MaybeUndefined<ID>,
}

/// A person who left.
#[derive(InputObject)]
pub struct DeactivateUserInput {
    /// The user to deactivate.
    pub id: ID,
}

/// The user `createUser` made.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CreateUserPayload {
    /// The user created.
    pub user: User,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(CreateUserPayload);

/// The user `updateUser` changed, and what it changed.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct UpdateUserPayload {
    /// The user, changed.
    pub user: User,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(UpdateUserPayload);

/// The user `deactivateUser` deactivated, and what it changed.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct DeactivateUserPayload {
    /// The user, now deactivated (`deactivatedAt` set).
    pub user: User,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(DeactivateUserPayload);

fn maybe<T, U>(
    m: MaybeUndefined<T>,
    f: impl FnOnce(T) -> Result<U, crate::error::AppError>,
) -> Result<Option<Option<U>>, crate::error::AppError> {
    Ok(match m {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(f(v)?)),
    })
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Adds a person. OWNER, ADMIN, HR.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `createUser` does: see `CreateUserInput`.")] input: CreateUserInput,
    ) -> async_graphql::Result<CreateUserPayload> {
        let (state, viewer) = parts(ctx)?;
        let new = NewUser {
            email: input.email,
            name: input.name,
            job_title: input.job_title,
            hire_date: input.hire_date.map(|d| d.0),
            attributes: input.attributes.map(|j| j.0),
            manager_id: parse_opt_id(&input.manager_id, "manager")?,
        };
        let (user, outcome) = service::create(state, viewer, new).await?;
        Ok(CreateUserPayload {
            user: User(user),
            outcome,
        })
    }

    /// Changes a person's profile; omitted fields stay as they are. OWNER, ADMIN, HR.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `updateUser` does: see `UpdateUserInput`.")] input: UpdateUserInput,
    ) -> async_graphql::Result<UpdateUserPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "user")?;
        let changes = UserChanges {
            name: input.name,
            job_title: maybe(input.job_title, Ok)?,
            hire_date: maybe(input.hire_date, |d| Ok(d.0))?,
            attributes: match input.attributes {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(serde_json::Value::Null),
                MaybeUndefined::Value(j) => Some(j.0),
            },
            manager_id: maybe(input.manager_id, |id| parse_id(&id, "manager"))?,
        };
        let (user, outcome) = service::update(state, viewer, id, changes).await?;
        Ok(UpdateUserPayload {
            user: User(user),
            outcome,
        })
    }

    /// Deactivates a person: they leave every audience and their tokens stop working.
    /// Deactivating an inactive user changes nothing. OWNER, ADMIN, HR.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `deactivateUser` does: see `DeactivateUserInput`.")]
        input: DeactivateUserInput,
    ) -> async_graphql::Result<DeactivateUserPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "user")?;
        let (user, outcome) = service::deactivate(state, viewer, id).await?;
        Ok(DeactivateUserPayload {
            user: User(user),
            outcome,
        })
    }
}
