//! Roles (jobs) and their catalogue: the `Role` and `RoleCategory` types, required skills,
//! career links, and the mutations that edit them, set a user's primary role or the viewer's
//! target role.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use super::career::{RoleMatch, visible_user};
use super::pagination::{Conn, connection};
use super::scalars::DateTime;
use super::skill::{Skill, load_skill};
use super::user::User;
use super::{load_opt, loaders, parse_id, parse_opt_id, parts, to_id};
use crate::error::AppError;
use crate::service::authz;
use crate::service::engine::Outcome;
use crate::service::matching::{self, Match};
use crate::service::page::PageRequest;
use crate::service::role::{self as service, NewRole, RoleChanges};
use entity::{role, role_category, role_skill};

/// A job: what a person does (primary role) or aims for (target role).
pub struct Role(pub role::Model);

/// A job: what a person does (primary role) or aims for (target role). OWNER, ADMIN and HR
/// browse every role; MANAGER and LEARNER those in featured categories plus their own primary
/// and target roles.
#[Object]
impl Role {
    /// The role's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// Unique in the organization, case-insensitively.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the role is about; null when not given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The key responsibilities, in the order given.
    async fn responsibilities(&self) -> Vec<String> {
        serde_json::from_str(&self.0.responsibilities).unwrap_or_default()
    }

    /// The category the role is browsed under; null when uncategorised.
    async fn category(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RoleCategory>> {
        load_opt(&loaders(ctx)?.categories, self.0.category_id, RoleCategory).await
    }

    /// The skills the role requires, each with the level that meets it, in the order set.
    async fn skills(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RoleSkill>> {
        Ok(loaders(ctx)?
            .role_skills
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(RoleSkill)
            .collect())
    }

    /// The roles this one advances from (its previous rungs on the career ladder), by name;
    /// only those the viewer may browse.
    async fn advances_from(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Role>> {
        let ids = loaders(ctx)?
            .advances_from
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        visible_roles(ctx, &ids).await
    }

    /// The roles that advance from this one (its next rungs), by name; only those the viewer
    /// may browse.
    async fn advances_to(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Role>> {
        let ids = loaders(ctx)?
            .advances_to
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        visible_roles(ctx, &ids).await
    }

    /// How well a user fits the role: skills met of skills required, and the gaps. `userId`
    /// defaults to the viewer; a user outside the viewer's view is NOT_FOUND, like an
    /// unknown one.
    #[graphql(name = "match")]
    async fn fit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose match; omitted, the viewer's.")] user_id: Option<ID>,
    ) -> async_graphql::Result<RoleMatch> {
        let user_id = visible_user(ctx, user_id.as_ref()).await?;
        let fit = loaders(ctx)?
            .fits
            .load_one((user_id, self.0.id))
            .await?
            .unwrap_or_default();
        Ok(RoleMatch(Match {
            user_id,
            role_id: self.0.id,
            required: fit.required,
            met: fit.met,
        }))
    }

    /// The active users the viewer may see, by how well they fit the role, best first (then by
    /// id): who is ready for it. `minPercent` keeps those with at least that score. `first`
    /// defaults to 50 (at most 500).
    #[graphql(complexity = "super::pagination::match_cost(first, child_complexity)")]
    async fn user_matches(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Keep only users whose score is at least this percent (0–100).")]
        min_percent: Option<i32>,
        #[graphql(desc = "How many items to return: 50 when omitted, at most 500.")] first: Option<
            i32,
        >,
        #[graphql(
            desc = "Start after this cursor (the `pageInfo.endCursor` of the previous page); omitted, from the beginning."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Conn<RoleMatch>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::new(first, after)?.of_org(viewer.org_id);
        let rows =
            matching::user_matches(&state.db.read, viewer, self.0.id, min_percent, &page).await?;
        let (db, viewer, role_id) = (state.db.read.clone(), viewer.clone(), self.0.id);
        Ok(connection(rows, RoleMatch, move || {
            let (db, viewer) = (db.clone(), viewer.clone());
            Box::pin(async move {
                matching::count_user_matches(&db, &viewer, role_id, min_percent).await
            })
        }))
    }

    /// When the role was created.
    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }

    /// When the role or its skills last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime::from_micros(self.0.updated_at)
    }
}

/// The roles of `ids` the viewer may browse, in the order given.
async fn visible_roles(ctx: &Context<'_>, ids: &[uuid::Uuid]) -> async_graphql::Result<Vec<Role>> {
    let (state, viewer) = parts(ctx)?;
    let scope = authz::role_scope(&state.db.read, viewer).await?;
    let map = loaders(ctx)?.roles.load_many(ids.iter().copied()).await?;
    Ok(ids
        .iter()
        .filter(|id| scope.contains(**id))
        .filter_map(|id| map.get(id).cloned())
        .map(Role)
        .collect())
}

/// Loads roles that must exist, in the order given.
pub(crate) async fn load_roles(
    ctx: &Context<'_>,
    ids: &[uuid::Uuid],
) -> async_graphql::Result<Vec<Role>> {
    let map = loaders(ctx)?.roles.load_many(ids.iter().copied()).await?;
    Ok(ids
        .iter()
        .filter_map(|id| map.get(id).cloned())
        .map(Role)
        .collect())
}

/// A skill a role requires.
pub struct RoleSkill(pub role_skill::Model);

/// A skill a role requires.
#[Object]
impl RoleSkill {
    /// The skill.
    async fn skill(&self, ctx: &Context<'_>) -> async_graphql::Result<Skill> {
        load_skill(ctx, self.0.skill_id).await
    }

    /// The level that meets the requirement; null when any rating does.
    async fn level(&self) -> Option<i32> {
        self.0.level
    }
}

/// A group of roles for browsing; learners see only roles in featured categories.
pub struct RoleCategory(pub role_category::Model);

/// A group of roles for browsing; learners see only roles in featured categories.
#[Object]
impl RoleCategory {
    /// The category's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// Unique in the organization, case-insensitively.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether learners and managers may browse its roles.
    async fn featured(&self) -> bool {
        self.0.featured
    }

    /// The category's roles the viewer may browse, by name.
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Role>> {
        let (state, viewer) = parts(ctx)?;
        let filter = service::RoleFilter {
            category_id: Some(self.0.id),
            ..Default::default()
        };
        Ok(service::list(&state.db.read, viewer, &filter)
            .await?
            .into_iter()
            .map(Role)
            .collect())
    }
}

/// Filters of `roles`; all given parts must hold.
#[derive(InputObject, Default)]
pub struct RoleFilter {
    /// Case-insensitive part of the name.
    pub search: Option<String>,
    /// Roles in this category.
    pub category_id: Option<ID>,
    /// Roles that require this skill.
    pub skill_id: Option<ID>,
}

impl RoleFilter {
    pub(crate) fn into_service(self) -> Result<service::RoleFilter, AppError> {
        Ok(service::RoleFilter {
            search: self.search,
            category_id: parse_opt_id(&self.category_id, "role category")?,
            skill_id: parse_opt_id(&self.skill_id, "skill")?,
        })
    }
}

#[derive(Default)]
pub struct RoleQuery;

#[Object]
impl RoleQuery {
    /// A role by id; null when unknown or not browsable by the viewer.
    async fn role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the role; an unknown one answers null.")] id: ID,
    ) -> async_graphql::Result<Option<Role>> {
        let (state, viewer) = parts(ctx)?;
        let Ok(id) = parse_id(&id, "role") else {
            return Ok(None);
        };
        Ok(service::get(&state.db.read, viewer, id).await?.map(Role))
    }

    /// The roles the viewer may browse, by name.
    async fn roles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted, everything the viewer may see.")]
        filter: Option<RoleFilter>,
    ) -> async_graphql::Result<Vec<Role>> {
        let (state, viewer) = parts(ctx)?;
        let filter = match filter.unwrap_or_default().into_service() {
            Ok(f) => f,
            // An id that is no UUID names nothing: no role matches.
            Err(_) => return Ok(vec![]),
        };
        Ok(service::list(&state.db.read, viewer, &filter)
            .await?
            .into_iter()
            .map(Role)
            .collect())
    }

    /// Role categories by name: all of them for OWNER, ADMIN and HR, the featured ones for
    /// everyone else.
    async fn role_categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RoleCategory>> {
        let (state, viewer) = parts(ctx)?;
        Ok(service::categories(&state.db.read, viewer)
            .await?
            .into_iter()
            .map(RoleCategory)
            .collect())
    }
}

/// A new role.
#[derive(InputObject)]
pub struct CreateRoleInput {
    /// Unique in the organization, case-insensitively.
    pub name: String,
    /// What the role is about.
    pub description: Option<String>,
    /// Key responsibilities, in order (at most 50; empty ones are dropped).
    pub responsibilities: Option<Vec<String>>,
    /// The category to browse it under.
    pub category_id: Option<ID>,
}

/// Changes to a role; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateRoleInput {
    /// The role to change.
    pub id: ID,
    /// A new name, unique in the organization regardless of case.
    pub name: Option<String>,
    /// null clears it.
    pub description: MaybeUndefined<String>,
    /// Replaces the whole list.
    pub responsibilities: Option<Vec<String>>,
    /// null leaves the role uncategorised.
    pub category_id: MaybeUndefined<ID>,
}

/// The role to delete.
#[derive(InputObject)]
pub struct DeleteRoleInput {
    /// The role.
    pub id: ID,
}

/// The skills a role requires; replaces the role's whole set.
#[derive(InputObject)]
pub struct SetRoleSkillsInput {
    /// The role.
    pub id: ID,
    /// Each skill once, in the order to show them.
    pub skills: Vec<RoleSkillInput>,
}

/// One required skill.
#[derive(InputObject)]
pub struct RoleSkillInput {
    /// The skill.
    pub skill_id: ID,
    /// The level that meets it, on the proficiency scale; null = any rating counts.
    pub level: Option<i32>,
}

/// A career link: `toRole` advances from `fromRole`.
#[derive(InputObject)]
pub struct LinkRolesInput {
    /// The earlier rung.
    pub from_role_id: ID,
    /// The role that advances from it.
    pub to_role_id: ID,
}

/// A new role category.
#[derive(InputObject)]
pub struct CreateRoleCategoryInput {
    /// Unique in the organization, case-insensitively.
    pub name: String,
    /// Whether learners and managers may browse its roles (default false).
    #[graphql(default = false)]
    pub featured: bool,
}

/// Changes to a role category; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateRoleCategoryInput {
    /// The category.
    pub id: ID,
    /// A new name.
    pub name: Option<String>,
    /// Whether learners and managers may browse its roles.
    pub featured: Option<bool>,
}

/// Whose primary role to set.
#[derive(InputObject)]
pub struct SetPrimaryRoleInput {
    /// The user.
    pub user_id: ID,
    /// null clears the primary role.
    pub role_id: Option<ID>,
}

/// The viewer's own target role.
#[derive(InputObject)]
pub struct SetTargetRoleInput {
    /// A role the viewer may browse; null clears the target.
    pub role_id: Option<ID>,
}

/// The role created.
#[derive(SimpleObject)]
pub struct CreateRolePayload {
    /// The new role.
    pub role: Role,
}

/// The role as changed.
#[derive(SimpleObject)]
pub struct UpdateRolePayload {
    /// The role after the change.
    pub role: Role,
}

/// The role deleted.
#[derive(SimpleObject)]
pub struct DeleteRolePayload {
    /// The role as it was (its skills and links are gone with it).
    pub role: Role,
}

/// The role with its new skills.
#[derive(SimpleObject)]
pub struct SetRoleSkillsPayload {
    /// The role; `skills` lists the new set.
    pub role: Role,
}

/// The two roles of a career link.
#[derive(SimpleObject)]
pub struct LinkRolesPayload {
    /// The earlier rung.
    pub from_role: Role,
    /// The role that advances (or no longer advances) from it.
    pub to_role: Role,
}

/// The category created.
#[derive(SimpleObject)]
pub struct CreateRoleCategoryPayload {
    /// The new category.
    pub role_category: RoleCategory,
}

/// The category as changed.
#[derive(SimpleObject)]
pub struct UpdateRoleCategoryPayload {
    /// The category after the change.
    pub role_category: RoleCategory,
}

/// The user with their new primary role.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SetPrimaryRolePayload {
    /// The user; their profile now lists the role's skills (unrated where not yet rated).
    pub user: User,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(SetPrimaryRolePayload);

/// The viewer with their new target role.
#[derive(SimpleObject)]
pub struct SetTargetRolePayload {
    /// The viewer.
    pub user: User,
}

fn requirements(list: &[RoleSkillInput]) -> Result<Vec<service::Requirement>, AppError> {
    list.iter()
        .map(|s| Ok((parse_id(&s.skill_id, "skill")?, s.level)))
        .collect()
}

#[derive(Default)]
pub struct RoleMutation;

#[Object]
impl RoleMutation {
    /// Adds a role. OWNER, ADMIN, HR.
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `createRole` does: see `CreateRoleInput`.")] input: CreateRoleInput,
    ) -> async_graphql::Result<CreateRolePayload> {
        let (state, viewer) = parts(ctx)?;
        let new = NewRole {
            name: input.name,
            description: input.description,
            responsibilities: input.responsibilities.unwrap_or_default(),
            category_id: parse_opt_id(&input.category_id, "role category")?,
        };
        let role = service::create(state, viewer, new).await?;
        Ok(CreateRolePayload { role: Role(role) })
    }

    /// Changes a role's name, description, responsibilities or category. OWNER, ADMIN, HR.
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `updateRole` does: see `UpdateRoleInput`.")] input: UpdateRoleInput,
    ) -> async_graphql::Result<UpdateRolePayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "role")?;
        let changes = RoleChanges {
            name: input.name,
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(Some(d)),
            },
            responsibilities: input.responsibilities,
            category_id: match input.category_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(c) => Some(Some(parse_id(&c, "role category")?)),
            },
        };
        let role = service::update(state, viewer, id, changes).await?;
        Ok(UpdateRolePayload { role: Role(role) })
    }

    /// Deletes a role with its required skills and career links; people holding it as their
    /// primary or target role lose it. Refused (CONFLICT) while a rule's audience names the
    /// role. OWNER, ADMIN.
    async fn delete_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `deleteRole` does: see `DeleteRoleInput`.")] input: DeleteRoleInput,
    ) -> async_graphql::Result<DeleteRolePayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "role")?;
        let role = service::delete(state, viewer, id).await?;
        Ok(DeleteRolePayload { role: Role(role) })
    }

    /// Replaces the skills a role requires. A level outside the proficiency scale or a skill
    /// listed twice is VALIDATION; an unknown skill NOT_FOUND. OWNER, ADMIN, HR.
    async fn set_role_skills(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `setRoleSkills` does: see `SetRoleSkillsInput`.")]
        input: SetRoleSkillsInput,
    ) -> async_graphql::Result<SetRoleSkillsPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "role")?;
        let skills = requirements(&input.skills)?;
        let role = service::set_skills(state, viewer, id, &skills).await?;
        Ok(SetRoleSkillsPayload { role: Role(role) })
    }

    /// Records that `toRole` advances from `fromRole` (a rung of the career ladder). A role
    /// linked to itself is VALIDATION, an existing link CONFLICT; cycles are allowed. OWNER,
    /// ADMIN, HR.
    async fn link_roles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `linkRoles` does: see `LinkRolesInput`.")] input: LinkRolesInput,
    ) -> async_graphql::Result<LinkRolesPayload> {
        let (state, viewer) = parts(ctx)?;
        let from = parse_id(&input.from_role_id, "role")?;
        let to = parse_id(&input.to_role_id, "role")?;
        let (from_role, to_role) = service::link(state, viewer, from, to).await?;
        Ok(LinkRolesPayload {
            from_role: Role(from_role),
            to_role: Role(to_role),
        })
    }

    /// Removes a career link (NOT_FOUND when there is none). OWNER, ADMIN, HR.
    async fn unlink_roles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `unlinkRoles` does: see `LinkRolesInput`.")] input: LinkRolesInput,
    ) -> async_graphql::Result<LinkRolesPayload> {
        let (state, viewer) = parts(ctx)?;
        let from = parse_id(&input.from_role_id, "role")?;
        let to = parse_id(&input.to_role_id, "role")?;
        let (from_role, to_role) = service::unlink(state, viewer, from, to).await?;
        Ok(LinkRolesPayload {
            from_role: Role(from_role),
            to_role: Role(to_role),
        })
    }

    /// Adds a role category. OWNER, ADMIN, HR.
    async fn create_role_category(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `createRoleCategory` does: see `CreateRoleCategoryInput`.")]
        input: CreateRoleCategoryInput,
    ) -> async_graphql::Result<CreateRoleCategoryPayload> {
        let (state, viewer) = parts(ctx)?;
        let c = service::create_category(state, viewer, &input.name, input.featured).await?;
        Ok(CreateRoleCategoryPayload {
            role_category: RoleCategory(c),
        })
    }

    /// Renames a role category or changes whether it is featured. OWNER, ADMIN, HR.
    async fn update_role_category(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `updateRoleCategory` does: see `UpdateRoleCategoryInput`.")]
        input: UpdateRoleCategoryInput,
    ) -> async_graphql::Result<UpdateRoleCategoryPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "role category")?;
        let c = service::update_category(state, viewer, id, input.name.as_deref(), input.featured)
            .await?;
        Ok(UpdateRoleCategoryPayload {
            role_category: RoleCategory(c),
        })
    }

    /// Sets what a user does: a promotion or transfer for the rules, and the role's skills
    /// join the user's profile (unrated). OWNER, ADMIN, HR.
    async fn set_primary_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `setPrimaryRole` does: see `SetPrimaryRoleInput`.")]
        input: SetPrimaryRoleInput,
    ) -> async_graphql::Result<SetPrimaryRolePayload> {
        let (state, viewer) = parts(ctx)?;
        let user_id = parse_id(&input.user_id, "user")?;
        let role_id = parse_opt_id(&input.role_id, "role")?;
        let (user, outcome) = service::set_primary(state, viewer, user_id, role_id).await?;
        Ok(SetPrimaryRolePayload {
            user: User(user),
            outcome,
        })
    }

    /// Sets the viewer's own target role (the one they aim for; it drives recommendations),
    /// or clears it with null. Any org role; the role must be one the viewer may browse.
    async fn set_target_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `setTargetRole` does: see `SetTargetRoleInput`.")]
        input: SetTargetRoleInput,
    ) -> async_graphql::Result<SetTargetRolePayload> {
        let (state, viewer) = parts(ctx)?;
        let role_id = parse_opt_id(&input.role_id, "role")?;
        let user = service::set_target(state, viewer, role_id).await?;
        Ok(SetTargetRolePayload { user: User(user) })
    }
}
