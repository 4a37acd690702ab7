//! `importRolesCsv`: a whole role catalogue from one CSV file, all or nothing.

use async_graphql::{Context, InputObject, Object, SimpleObject};

use super::parts;
use super::role::{Role, load_roles};
use crate::service::role_import::{self as service, ImportReport};

/// A CSV file of roles.
#[derive(InputObject)]
pub struct ImportRolesCsvInput {
    /// The file's text (UTF-8, at most 5 MiB). Header (any order): `name, description,
    /// category, responsibilities, skills, advances_from`; responsibilities separated by `;`;
    /// skills as `Skill name:level;Other skill:2` (a skill without `:level` is met by any
    /// rating); `advances_from` names roles of the file or of the organization, separated by
    /// `;`.
    pub csv: String,
    /// Report what would be created and updated, and write nothing (default false).
    #[graphql(default = false)]
    pub dry_run: bool,
}

/// What the import did, or with `dryRun` would do.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ImportRolesCsvPayload {
    /// True when nothing was written.
    pub dry_run: bool,
    /// Names of the roles created (or that would be).
    pub roles_created: Vec<String>,
    /// Names of the existing roles changed (or that would be).
    pub roles_updated: Vec<String>,
    /// Names of the roles already exactly as the file states them.
    pub roles_unchanged: Vec<String>,
    /// Names of the skills created.
    pub skills_created: Vec<String>,
    /// Names of the categories created (not featured).
    pub categories_created: Vec<String>,
    /// Career links added.
    pub links_added: i32,
    /// Career links removed (an existing role's `advances_from` replaces its earlier rungs).
    pub links_removed: i32,
    #[graphql(skip)]
    pub role_ids: Vec<uuid::Uuid>,
}

#[async_graphql::ComplexObject]
impl ImportRolesCsvPayload {
    /// The roles of the file, in file order; empty on a dry run.
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Role>> {
        load_roles(ctx, &self.role_ids).await
    }
}

impl From<ImportReport> for ImportRolesCsvPayload {
    fn from(r: ImportReport) -> Self {
        ImportRolesCsvPayload {
            dry_run: r.dry_run,
            roles_created: r.roles_created,
            roles_updated: r.roles_updated,
            roles_unchanged: r.roles_unchanged,
            skills_created: r.skills_created,
            categories_created: r.categories_created,
            links_added: r.links_added as i32,
            links_removed: r.links_removed as i32,
            role_ids: if r.dry_run { vec![] } else { r.role_ids },
        }
    }
}

#[derive(Default)]
pub struct RoleImportMutation;

#[Object]
impl RoleImportMutation {
    /// Imports roles from a CSV file: creates missing skills and categories, creates roles and
    /// updates existing ones by name (case-insensitively), so importing the same file twice
    /// changes nothing. Any bad row rejects the whole file with one VALIDATION error whose
    /// `extensions.errors` lists every problem as `{row, column, message}` (row = line number,
    /// the header being line 1; row 0 = the file as a whole). OWNER, ADMIN, HR.
    async fn import_roles_csv(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `importRolesCsv` does: see `ImportRolesCsvInput`.")]
        input: ImportRolesCsvInput,
    ) -> async_graphql::Result<ImportRolesCsvPayload> {
        let (state, viewer) = parts(ctx)?;
        let report = service::import(state, viewer, input.csv.as_bytes(), input.dry_run).await?;
        Ok(report.into())
    }
}
