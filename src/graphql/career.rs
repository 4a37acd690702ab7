//! Match scores, gaps, career pathways and recommendations: `RoleMatch`, `SkillGap`,
//! `CareerPath`, `CourseRecommendation` and the queries `roleMatches`, `careerPaths` and
//! `recommendations`.

use async_graphql::{Context, ID, InputObject, Object};
use uuid::Uuid;

use super::course::Course;
use super::pagination::{Conn, connection};
use super::role::{Role, RoleFilter, load_roles};
use super::skill::{Skill, load_skill};
use super::user::User;
use super::{loaders, parse_id, parts};
use crate::error::AppError;
use crate::service::authz;
use crate::service::matching::{self as service, Gap, Match, MatchFilter};
use crate::service::page::PageRequest;

/// The user an argument names (the viewer when omitted): NOT_FOUND when unknown or outside
/// the viewer's view alike.
pub(crate) async fn visible_user(
    ctx: &Context<'_>,
    user_id: Option<&ID>,
) -> async_graphql::Result<Uuid> {
    let (state, viewer) = parts(ctx)?;
    let Some(id) = user_id else {
        return Ok(viewer.user_id);
    };
    let id = parse_id(id, "user")?;
    authz::require_visible_user(&state.db.read, viewer, id).await?;
    Ok(id)
}

/// How well a user fits a role: skills met of skills required, and what is missing.
pub struct RoleMatch(pub Match);

/// How well a user fits a role: skills met of skills required, and what is missing. A skill is
/// met when the user's level reaches the required level (or 1 where the role sets none).
#[Object]
impl RoleMatch {
    /// The role.
    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Role> {
        load_roles(ctx, &[self.0.role_id])
            .await?
            .pop()
            .ok_or_else(|| AppError::not_found("role").into())
    }

    /// The user.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        loaders(ctx)?
            .users
            .load_one(self.0.user_id)
            .await?
            .map(User)
            .ok_or_else(|| AppError::not_found("user").into())
    }

    /// met ÷ required as a percent from 0 to 100, rounded down (so 100 only when every skill is
    /// met); null for a role that requires no skills.
    async fn percent(&self) -> Option<i32> {
        self.0.percent()
    }

    /// How many required skills the user meets.
    async fn met(&self) -> i64 {
        self.0.met
    }

    /// How many skills the role requires.
    async fn required(&self) -> i64 {
        self.0.required
    }

    /// The required skills not met, in the role's order.
    async fn gaps(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SkillGap>> {
        Ok(loaders(ctx)?
            .fits
            .load_one((self.0.user_id, self.0.role_id))
            .await?
            .unwrap_or_default()
            .gaps
            .into_iter()
            .map(SkillGap)
            .collect())
    }
}

/// A required skill the user does not meet yet.
pub struct SkillGap(pub Gap);

/// A required skill the user does not meet yet.
#[Object]
impl SkillGap {
    /// The skill.
    async fn skill(&self, ctx: &Context<'_>) -> async_graphql::Result<Skill> {
        load_skill(ctx, self.0.skill_id).await
    }

    /// The level the role asks for; null when any rating meets it.
    async fn required_level(&self) -> Option<i32> {
        self.0.required
    }

    /// The user's current level; null when unrated.
    async fn current_level(&self) -> Option<i32> {
        self.0.current
    }
}

/// A route up the career ladder along "advances to" links.
pub struct CareerPath {
    roles: Vec<Uuid>,
    user_id: Option<Uuid>,
}

/// A route up the career ladder along "advances to" links.
#[Object]
impl CareerPath {
    /// The roles from the start to the goal, both included.
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Role>> {
        load_roles(ctx, &self.roles).await
    }

    /// The number of links: A → B → C has 2.
    async fn steps(&self) -> i32 {
        self.roles.len().saturating_sub(1) as i32
    }

    /// With `userId`, the user's match for each role of the route, in the same order; null
    /// without it.
    async fn matches(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<RoleMatch>>> {
        let Some(user_id) = self.user_id else {
            return Ok(None);
        };
        let keys: Vec<(Uuid, Uuid)> = self.roles.iter().map(|r| (user_id, *r)).collect();
        let fits = loaders(ctx)?.fits.load_many(keys.iter().copied()).await?;
        Ok(Some(
            keys.iter()
                .map(|k| {
                    let fit = fits.get(k).cloned().unwrap_or_default();
                    RoleMatch(Match {
                        user_id,
                        role_id: k.1,
                        required: fit.required,
                        met: fit.met,
                    })
                })
                .collect(),
        ))
    }
}

/// A course that closes some of a user's gaps.
pub struct CourseRecommendation(service::Recommendation);

/// A course that closes some of a user's gaps for their target role (or primary role).
#[Object]
impl CourseRecommendation {
    /// The course.
    async fn course(&self) -> Course {
        Course(self.0.course.clone())
    }

    /// The gaps it closes: it develops each of these skills to at least the required level.
    async fn closes(&self) -> Vec<SkillGap> {
        self.0.closes.iter().cloned().map(SkillGap).collect()
    }
}

/// Filters of `roleMatches`; all given parts must hold.
#[derive(InputObject, Default)]
pub struct RoleMatchFilter {
    /// Roles in this category.
    pub category_id: Option<ID>,
    /// Roles that require this skill.
    pub skill_id: Option<ID>,
    /// Only roles with a score of at least this percent (0–100); roles without a score drop out.
    pub min_percent: Option<i32>,
    /// Case-insensitive part of the role's name.
    pub search: Option<String>,
}

#[derive(Default)]
pub struct CareerQuery;

#[Object]
impl CareerQuery {
    /// A user's match for every role the viewer may browse, best first; roles without a score
    /// (no skills) come last, ties by name. `userId` defaults to the viewer (NOT_FOUND for a
    /// user outside the viewer's view). `first` defaults to 50 (at most 500).
    #[graphql(complexity = "super::pagination::match_cost(first, child_complexity)")]
    async fn role_matches(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose matches; omitted, the viewer's.")] user_id: Option<ID>,
        #[graphql(desc = "Narrows the list; omitted, everything the viewer may see.")]
        filter: Option<RoleMatchFilter>,
        #[graphql(desc = "How many items to return: 50 when omitted, at most 500.")] first: Option<
            i32,
        >,
        #[graphql(
            desc = "Start after this cursor (the `pageInfo.endCursor` of the previous page); omitted, from the beginning."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Conn<RoleMatch>> {
        let (state, viewer) = parts(ctx)?;
        let user_id = match &user_id {
            Some(id) => parse_id(id, "user")?,
            None => viewer.user_id,
        };
        let f = filter.unwrap_or_default();
        let filter = MatchFilter {
            roles: RoleFilter {
                search: f.search,
                category_id: f.category_id,
                skill_id: f.skill_id,
            }
            .into_service()?,
            min_percent: f.min_percent,
        };
        let page = PageRequest::new(first, after)?.of_org(viewer.org_id);
        let rows = service::role_matches(&state.db.read, viewer, user_id, &filter, &page).await?;
        let (db, viewer) = (state.db.read.clone(), viewer.clone());
        Ok(connection(rows, RoleMatch, move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            Box::pin(
                async move { service::count_role_matches(&db, &viewer, user_id, &filter).await },
            )
        }))
    }

    /// Every shortest route (at most 5) from one role to another along "advances to" links,
    /// through roles the viewer may browse; an empty list when there is none, one route of no
    /// steps when both ends are the same role. With `userId`, each route carries the user's
    /// match for each of its roles.
    #[graphql(complexity = "super::pagination::MATCH_COST + child_complexity")]
    async fn career_paths(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role the routes start from.")] from_role_id: ID,
        #[graphql(desc = "The role the routes lead to.")] to_role_id: ID,
        #[graphql(
            desc = "Attach this user's match for each role on the routes; omitted, no matches."
        )]
        user_id: Option<ID>,
    ) -> async_graphql::Result<Vec<CareerPath>> {
        let (state, viewer) = parts(ctx)?;
        let from = parse_id(&from_role_id, "role")?;
        let to = parse_id(&to_role_id, "role")?;
        let user_id = match &user_id {
            Some(id) => Some(visible_user(ctx, Some(id)).await?),
            None => None,
        };
        Ok(service::career_paths(&state.db.read, viewer, from, to)
            .await?
            .into_iter()
            .map(|roles| CareerPath { roles, user_id })
            .collect())
    }

    /// Courses that close the user's gaps for their target role (their primary role when no
    /// target is set), most gaps closed first, then shortest; courses already completed are
    /// left out. `userId` defaults to the viewer; `first` defaults to 10 (at most 500).
    #[graphql(complexity = "super::pagination::MATCH_COST + child_complexity")]
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose gaps; omitted, the viewer's.")] user_id: Option<ID>,
        #[graphql(desc = "How many courses to return: 10 when omitted, at most 500.")]
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<CourseRecommendation>> {
        let (state, viewer) = parts(ctx)?;
        let user_id = match &user_id {
            Some(id) => parse_id(id, "user")?,
            None => viewer.user_id,
        };
        let first = match first {
            None => 10,
            Some(n) if n < 0 => {
                return Err(AppError::validation("first", "first must not be negative").into());
            }
            Some(n) => (n as usize).min(500),
        };
        Ok(
            service::recommendations(&state.db.read, viewer, user_id, first)
                .await?
                .into_iter()
                .map(CourseRecommendation)
                .collect(),
        )
    }
}
