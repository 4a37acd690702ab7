//! DataLoaders, created per request (their cache never outlives it) and scoped to the viewer's
//! organization: every relation a resolver follows is batched into one query per level.

use std::collections::HashMap;

use async_graphql::ErrorExtensions;
use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::service::assessment::{self, AssessmentsOf};
use crate::service::role::Direction;
use crate::service::rows;
use crate::service::viewer::Viewer;
use crate::service::{assignment, course, matching, membership, role, rule, skill, track};
use entity::{
    assignment as assignment_entity, assignment_reason, course as course_entity, course_skill,
    group as group_entity, membership as membership_entity, role as role_entity, role_category,
    role_skill, rule as rule_entity, skill as skill_entity, skill_rating, user as user_entity,
    user_skill,
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

by_id_loader!(
    UserLoader,
    user_entity::Model,
    rows::find_many::<entity::user::Entity>
);
by_id_loader!(
    GroupLoader,
    group_entity::Model,
    rows::find_many::<entity::group::Entity>
);
by_id_loader!(
    RoleLoader,
    role_entity::Model,
    rows::find_many::<entity::role::Entity>
);
by_id_loader!(
    CourseLoader,
    course_entity::Model,
    rows::find_many::<entity::course::Entity>
);
by_id_loader!(
    RuleLoader,
    rule_entity::Model,
    rows::find_many::<entity::rule::Entity>
);
by_id_loader!(
    SkillLoader,
    skill_entity::Model,
    rows::find_many::<entity::skill::Entity>
);
by_id_loader!(
    TrackLoader,
    track::Track,
    rows::find_many::<entity::track::Entity>
);
by_id_loader!(
    CategoryLoader,
    role_category::Model,
    rows::find_many::<entity::role_category::Entity>
);
by_id_loader!(
    RubricLoader,
    assessment::Rubric,
    rows::find_many::<entity::rubric::Entity>
);
by_id_loader!(
    ManualLoader,
    entity::manual_requirement::Model,
    rows::find_many::<entity::manual_requirement::Entity>
);
by_id_loader!(
    AssignmentLoader,
    assignment_entity::Model,
    rows::find_many::<entity::assignment::Entity>
);

/// Reasons per assignment: current ones, or with the ended ones too.
pub struct ReasonLoader {
    scope: Scope,
    include_ended: bool,
}

impl Loader<Uuid> for ReasonLoader {
    type Value = Vec<assignment_reason::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        assignment::reasons_of(&self.scope.db, keys, self.include_ended)
            .await
            .map_err(|e| e.extend())
    }
}

/// Bundles (ordered courses) per rule.
pub struct BundleLoader(Scope);

impl Loader<Uuid> for BundleLoader {
    type Value = Vec<rule::BundleItem>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        rule::bundle_of(&self.0.db, keys)
            .await
            .map_err(|e| e.extend())
    }
}

/// Prerequisites per course.
pub struct PrerequisiteLoader(Scope);

impl Loader<Uuid> for PrerequisiteLoader {
    type Value = Vec<Uuid>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        course::prerequisites_of(&self.0.db, keys)
            .await
            .map_err(|e| e.extend())
    }
}

/// Skill dependencies per skill: what it requires (`requires`) or what requires it.
pub struct SkillLinkLoader {
    scope: Scope,
    requires: bool,
}

impl Loader<Uuid> for SkillLinkLoader {
    type Value = Vec<Uuid>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::service::skill_dependency::linked(&self.scope.db, keys, self.requires)
            .await
            .map_err(|e| e.extend())
    }
}

/// The steps of each track, in order.
pub struct TrackCoursesLoader(Scope);

impl Loader<Uuid> for TrackCoursesLoader {
    type Value = Vec<track::TrackCourse>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        track::courses_of(&self.0.db, keys)
            .await
            .map_err(|e| e.extend())
    }
}

/// Assignments per user.
pub struct UserAssignmentLoader(Scope);

impl Loader<Uuid> for UserAssignmentLoader {
    type Value = Vec<assignment_entity::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        assignment::of_users(&self.0.db, self.0.org_id, keys)
            .await
            .map_err(|e| e.extend())
    }
}

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

/// A per-key list loader over a service function `(db, org, keys) -> HashMap<key, Vec<_>>`.
macro_rules! list_loader {
    ($(#[$doc:meta])* $name:ident, $value:ty, |$scope:ident, $keys:ident| $fetch:expr) => {
        $(#[$doc])*
        pub struct $name(Scope);

        impl Loader<Uuid> for $name {
            type Value = Vec<$value>;
            type Error = async_graphql::Error;

            async fn load(&self, $keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let $scope = &self.0;
                $fetch.await.map_err(|e| e.extend())
            }
        }
    };
}

list_loader!(
    /// Required skills per role, in order.
    RoleSkillsLoader,
    role_skill::Model,
    |s, keys| role::skills_of(&s.db, keys)
);
list_loader!(
    /// The roles each role advances from.
    AdvancesFromLoader,
    Uuid,
    |s, keys| role::links_of(&s.db, keys, Direction::From)
);
list_loader!(
    /// The roles that advance from each role.
    AdvancesToLoader,
    Uuid,
    |s, keys| role::links_of(&s.db, keys, Direction::To)
);
list_loader!(
    /// The skills on each user's profile.
    UserSkillsLoader,
    user_skill::Model,
    |s, keys| skill::of_users(&s.db, s.org_id, keys)
);
list_loader!(
    /// Each user's ratings, newest first.
    RatingsLoader,
    skill_rating::Model,
    |s, keys| skill::ratings_of(&s.db, s.org_id, keys)
);
list_loader!(
    /// The skills each course develops.
    CourseSkillsLoader,
    course_skill::Model,
    |s, keys| course::skills_of(&s.db, keys)
);

list_loader!(
    /// The dimensions of each rubric, in order.
    DimensionsLoader,
    assessment::Dimension,
    |s, keys| assessment::dimensions_of(&s.db, keys)
);
list_loader!(
    /// The points of each assessment, per dimension.
    ScoresLoader,
    assessment::Score,
    |s, keys| assessment::scores_of(&s.db, keys)
);

/// The assessments the viewer may see, per user or per rubric, newest first. It holds the
/// request's viewer: what it returns depends on who asks.
pub struct VisibleAssessmentsLoader {
    scope: Scope,
    viewer: Viewer,
    of: AssessmentsOf,
}

impl Loader<Uuid> for VisibleAssessmentsLoader {
    type Value = Vec<assessment::Assessment>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        assessment::list_visible(&self.scope.db, &self.viewer, self.of, keys)
            .await
            .map_err(|e| e.extend())
    }
}

/// The fit (score and gaps) of (user, role) pairs, all pairs of a level in one statement.
pub struct FitLoader(Scope);

impl Loader<(Uuid, Uuid)> for FitLoader {
    type Value = matching::Fit;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        matching::fits(&self.0.db, keys)
            .await
            .map_err(|e| e.extend())
    }
}

pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub groups: DataLoader<GroupLoader>,
    pub roles: DataLoader<RoleLoader>,
    pub current_memberships: DataLoader<MembershipLoader>,
    pub all_memberships: DataLoader<MembershipLoader>,
    pub courses: DataLoader<CourseLoader>,
    pub rules: DataLoader<RuleLoader>,
    pub assignments: DataLoader<AssignmentLoader>,
    pub manual: DataLoader<ManualLoader>,
    pub current_reasons: DataLoader<ReasonLoader>,
    pub all_reasons: DataLoader<ReasonLoader>,
    pub user_assignments: DataLoader<UserAssignmentLoader>,
    pub bundles: DataLoader<BundleLoader>,
    pub prerequisites: DataLoader<PrerequisiteLoader>,
    pub skills: DataLoader<SkillLoader>,
    pub categories: DataLoader<CategoryLoader>,
    pub role_skills: DataLoader<RoleSkillsLoader>,
    pub advances_from: DataLoader<AdvancesFromLoader>,
    pub advances_to: DataLoader<AdvancesToLoader>,
    pub user_skills: DataLoader<UserSkillsLoader>,
    pub ratings: DataLoader<RatingsLoader>,
    pub course_skills: DataLoader<CourseSkillsLoader>,
    pub fits: DataLoader<FitLoader>,
    pub tracks: DataLoader<TrackLoader>,
    pub track_courses: DataLoader<TrackCoursesLoader>,
    pub skill_requires: DataLoader<SkillLinkLoader>,
    pub skill_required_by: DataLoader<SkillLinkLoader>,
    pub rubrics: DataLoader<RubricLoader>,
    pub rubric_dimensions: DataLoader<DimensionsLoader>,
    pub assessment_scores: DataLoader<ScoresLoader>,
    pub user_assessments: DataLoader<VisibleAssessmentsLoader>,
    pub rubric_assessments: DataLoader<VisibleAssessmentsLoader>,
}

impl Loaders {
    /// Fresh loaders for one request of `viewer` (some answer depending on who asks).
    pub fn new(db: DatabaseConnection, viewer: &Viewer) -> Self {
        let scope = Scope {
            db,
            org_id: viewer.org_id,
        };
        Loaders {
            rubrics: DataLoader::new(RubricLoader(scope.clone()), tokio::spawn),
            rubric_dimensions: DataLoader::new(DimensionsLoader(scope.clone()), tokio::spawn),
            assessment_scores: DataLoader::new(ScoresLoader(scope.clone()), tokio::spawn),
            user_assessments: DataLoader::new(
                VisibleAssessmentsLoader {
                    scope: scope.clone(),
                    viewer: viewer.clone(),
                    of: AssessmentsOf::Users,
                },
                tokio::spawn,
            ),
            rubric_assessments: DataLoader::new(
                VisibleAssessmentsLoader {
                    scope: scope.clone(),
                    viewer: viewer.clone(),
                    of: AssessmentsOf::Rubrics,
                },
                tokio::spawn,
            ),
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
                    scope: scope.clone(),
                    include_history: true,
                },
                tokio::spawn,
            ),
            courses: DataLoader::new(CourseLoader(scope.clone()), tokio::spawn),
            rules: DataLoader::new(RuleLoader(scope.clone()), tokio::spawn),
            assignments: DataLoader::new(AssignmentLoader(scope.clone()), tokio::spawn),
            manual: DataLoader::new(ManualLoader(scope.clone()), tokio::spawn),
            current_reasons: DataLoader::new(
                ReasonLoader {
                    scope: scope.clone(),
                    include_ended: false,
                },
                tokio::spawn,
            ),
            all_reasons: DataLoader::new(
                ReasonLoader {
                    scope: scope.clone(),
                    include_ended: true,
                },
                tokio::spawn,
            ),
            user_assignments: DataLoader::new(UserAssignmentLoader(scope.clone()), tokio::spawn),
            bundles: DataLoader::new(BundleLoader(scope.clone()), tokio::spawn),
            prerequisites: DataLoader::new(PrerequisiteLoader(scope.clone()), tokio::spawn),
            skills: DataLoader::new(SkillLoader(scope.clone()), tokio::spawn),
            categories: DataLoader::new(CategoryLoader(scope.clone()), tokio::spawn),
            role_skills: DataLoader::new(RoleSkillsLoader(scope.clone()), tokio::spawn),
            advances_from: DataLoader::new(AdvancesFromLoader(scope.clone()), tokio::spawn),
            advances_to: DataLoader::new(AdvancesToLoader(scope.clone()), tokio::spawn),
            user_skills: DataLoader::new(UserSkillsLoader(scope.clone()), tokio::spawn),
            ratings: DataLoader::new(RatingsLoader(scope.clone()), tokio::spawn),
            course_skills: DataLoader::new(CourseSkillsLoader(scope.clone()), tokio::spawn),
            tracks: DataLoader::new(TrackLoader(scope.clone()), tokio::spawn),
            track_courses: DataLoader::new(TrackCoursesLoader(scope.clone()), tokio::spawn),
            skill_requires: DataLoader::new(
                SkillLinkLoader {
                    scope: scope.clone(),
                    requires: true,
                },
                tokio::spawn,
            ),
            skill_required_by: DataLoader::new(
                SkillLinkLoader {
                    scope: scope.clone(),
                    requires: false,
                },
                tokio::spawn,
            ),
            fits: DataLoader::new(FitLoader(scope), tokio::spawn),
        }
    }
}
