//! CSV import of a role catalogue (`importRolesCsv`, `skillgraph import-roles`). The file states
//! each role it names completely, so importing it twice changes nothing: missing skills and
//! categories are created, roles are matched by name (case-insensitively) and created or
//! updated. All-or-nothing: every problem of the file is collected, each with its line and
//! column, and a single one rejects the whole file before anything is written.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult, RowError, UniqueIndex};
use crate::service::audit::{Action, Subject};
use crate::service::authz::{self, Permission};
use crate::service::skill::{self, Scale};
use crate::service::sql::{self, Q};
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::validate;
use crate::service::viewer::Viewer;
use entity::{role, role_link, role_skill};

/// The database's backstop for a name check that raced another change.
const ROLE_NAME_TAKEN: UniqueIndex = UniqueIndex {
    name: "ux_roles_name",
    columns: "roles.org_id, roles.name_norm",
    message: "a role with this name already exists in the organization",
};

/// The largest file accepted: 5 MiB.
pub const MAX_CSV_BYTES: usize = 5 * 1024 * 1024;

/// The columns of the file, all required, in any order.
pub const COLUMNS: [&str; 6] = [
    "name",
    "description",
    "category",
    "responsibilities",
    "skills",
    "advances_from",
];

/// Most parameters bound in one statement (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_PARAMS: usize = 30_000;
/// Rows per multi-row INSERT: past a few hundred, longer statements only cost more to prepare.
const ROWS_PER_STATEMENT: usize = 500;

/// What an import did, or with `dry_run` would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub dry_run: bool,
    pub roles_created: Vec<String>,
    pub roles_updated: Vec<String>,
    pub roles_unchanged: Vec<String>,
    pub skills_created: Vec<String>,
    pub categories_created: Vec<String>,
    pub links_added: usize,
    pub links_removed: usize,
    /// The roles of the file, in file order (empty on a dry run).
    pub role_ids: Vec<Uuid>,
}

impl ImportReport {
    pub fn changes_anything(&self) -> bool {
        !(self.roles_created.is_empty()
            && self.roles_updated.is_empty()
            && self.skills_created.is_empty()
            && self.categories_created.is_empty()
            && self.links_added == 0
            && self.links_removed == 0)
    }
}

/// Where a long import reports how far it got (the CLI draws a progress bar with it).
pub trait Progress: Send + Sync {
    /// A stage begins: `total` units of work.
    fn stage(&self, name: &'static str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
}

/// Reports nowhere.
pub struct Silent;

impl Progress for Silent {
    fn stage(&self, _: &'static str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// Imports a file as the viewer (OWNER, ADMIN, HR).
pub async fn import(
    env: &Env,
    viewer: &Viewer,
    csv: &[u8],
    dry_run: bool,
) -> AppResult<ImportReport> {
    authz::require(viewer, Permission::EditCatalog)?;
    check_size(csv)?;
    if dry_run {
        return preview(env, viewer.org_id, csv, &Silent).await;
    }
    let authority = Authority::requires(Permission::EditCatalog, []);
    let (report, _) = unit::run(env, viewer, authority, async |w| {
        import_in(w, csv, &Silent).await
    })
    .await?;
    Ok(report)
}

/// Imports a file into `org_id` as the system (the command line).
pub async fn import_as_system(
    env: &Env,
    org_id: Uuid,
    csv: &[u8],
    dry_run: bool,
    progress: &dyn Progress,
) -> AppResult<ImportReport> {
    if crate::service::org::find(&env.db.read, org_id)
        .await?
        .is_none()
    {
        return Err(AppError::not_found("organization"));
    }
    check_size(csv)?;
    if dry_run {
        return preview(env, org_id, csv, progress).await;
    }
    let (report, _) =
        unit::system(env, org_id, async |w| import_in(w, csv, progress).await).await?;
    Ok(report)
}

/// What importing the file would change, read only.
async fn preview(
    env: &Env,
    org_id: Uuid,
    csv: &[u8],
    progress: &dyn Progress,
) -> AppResult<ImportReport> {
    let plan = plan(&env.db.read, org_id, csv, progress).await?;
    Ok(plan.report(true))
}

/// Imports inside the caller's transaction (the demo seed uses it too).
pub async fn import_in(w: &Write, csv: &[u8], progress: &dyn Progress) -> AppResult<ImportReport> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    check_size(csv)?;
    let plan = plan(conn, org_id, csv, progress).await?;
    let mut report = plan.report(false);
    if report.changes_anything() {
        apply(conn, org_id, now, &plan, progress).await?;
        w.audit(
            Action::RolesImported,
            Subject::organization(org_id),
            None,
            Some(audit_summary(&report, &plan)),
        )
        .await?;
    }
    report.role_ids = plan.rows.iter().map(|r| r.id).collect();
    Ok(report)
}

fn check_size(csv: &[u8]) -> AppResult<()> {
    if csv.len() > MAX_CSV_BYTES {
        return Err(rejected(vec![RowError {
            row: 0,
            column: String::new(),
            message: format!(
                "the file has {} bytes; at most {MAX_CSV_BYTES} (5 MiB) are accepted",
                csv.len()
            ),
        }]));
    }
    Ok(())
}

fn rejected(errors: Vec<RowError>) -> AppError {
    let n = errors.len();
    AppError::ValidationList {
        message: format!(
            "the file was not imported: {n} problem{} (see extensions.errors)",
            if n == 1 { "" } else { "s" }
        ),
        errors,
    }
}

/// One role as the file states it.
#[derive(Debug, Clone)]
struct Row {
    line: usize,
    name: String,
    description: Option<String>,
    category: Option<String>,
    responsibilities: Vec<String>,
    skills: Vec<(String, Option<i32>)>,
    advances_from: Vec<String>,
}

fn norm(s: &str) -> String {
    s.to_lowercase()
}

/// Parses the file against the organization's scale: the rows that parsed, and every problem.
/// A bad header stops there (the columns cannot be told apart).
fn parse(
    csv: &[u8],
    scale: &Scale,
    progress: &dyn Progress,
) -> Result<(Vec<Row>, Vec<RowError>), Vec<RowError>> {
    let csv = csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv);
    let file_error = |message: &str| {
        vec![RowError {
            row: 1,
            column: String::new(),
            message: message.to_string(),
        }]
    };
    if csv.iter().all(u8::is_ascii_whitespace) {
        return Err(file_error("the file is empty"));
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(csv);
    let mut errors = Vec::new();
    let headers = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(file_error(&format!("the header cannot be read: {e}"))),
    };
    // Column index of each known column.
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, raw) in headers.iter().enumerate() {
        let Ok(text) = std::str::from_utf8(raw) else {
            errors.push(RowError {
                row: 1,
                column: String::from_utf8_lossy(raw).into_owned(),
                message: "the header is not valid UTF-8".into(),
            });
            continue;
        };
        let name = text.trim().to_lowercase();
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) if index.contains_key(c) => errors.push(RowError {
                row: 1,
                column: name.clone(),
                message: format!("column '{name}' appears twice in the header"),
            }),
            Some(c) => {
                index.insert(c, i);
            }
            None => errors.push(RowError {
                row: 1,
                column: text.trim().to_string(),
                message: format!(
                    "unknown column '{}'; the columns are {}",
                    text.trim(),
                    COLUMNS.join(", ")
                ),
            }),
        }
    }
    for c in COLUMNS {
        if !index.contains_key(c) {
            errors.push(RowError {
                row: 1,
                column: c.to_string(),
                message: format!("the header lacks the column '{c}'"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    progress.stage("reading", csv.len() as u64);
    let mut done = 0u64;
    let mut rows = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for record in reader.byte_records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                errors.push(RowError {
                    row: line,
                    column: String::new(),
                    message: format!("the line cannot be read as CSV: {e}"),
                });
                continue;
            }
        };
        let position = record.position().cloned();
        let line = position.as_ref().map(|p| p.line() as usize).unwrap_or(0);
        if let Some(p) = &position {
            progress.advance(p.byte().saturating_sub(done));
            done = p.byte();
        }
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if record.len() != headers.len() {
            errors.push(RowError {
                row: line,
                column: String::new(),
                message: format!("expected {} fields, found {}", headers.len(), record.len()),
            });
            continue;
        }
        let mut field = |column: &'static str| -> Option<&str> {
            let raw = record.get(index[column]).unwrap_or_default();
            match std::str::from_utf8(raw) {
                Ok(text) if text.contains('\u{FFFD}') => {
                    errors.push(RowError {
                        row: line,
                        column: column.into(),
                        message: "the text contains U+FFFD, the mark of a failed decoding: save the file as UTF-8".into(),
                    });
                    None
                }
                Ok(text) => Some(text),
                Err(_) => {
                    errors.push(RowError {
                        row: line,
                        column: column.into(),
                        message: "the text is not valid UTF-8: save the file as UTF-8".into(),
                    });
                    None
                }
            }
        };
        let (name, description, category, responsibilities, skills, advances_from) = (
            field("name"),
            field("description"),
            field("category"),
            field("responsibilities"),
            field("skills"),
            field("advances_from"),
        );
        let mut row = Row {
            line,
            name: String::new(),
            description: None,
            category: None,
            responsibilities: vec![],
            skills: vec![],
            advances_from: vec![],
        };
        let mut push = |column: &str, e: AppError| {
            errors.push(RowError {
                row: line,
                column: column.into(),
                message: e.message(),
            })
        };
        if let Some(name) = name {
            match validate::name("name", name) {
                Ok(n) => {
                    match first_line.get(&norm(&n)) {
                        Some(first) => push(
                            "name",
                            AppError::validation(
                                "name",
                                format!("the role '{n}' is already on line {first}"),
                            ),
                        ),
                        None => {
                            first_line.insert(norm(&n), line);
                        }
                    }
                    row.name = n;
                }
                Err(e) => push("name", e),
            }
        }
        if let Some(d) = description {
            match validate::optional_text("description", Some(d)) {
                Ok(d) => row.description = d,
                Err(e) => push("description", e),
            }
        }
        if let Some(c) = category {
            match validate::optional_name("category", Some(c)) {
                Ok(c) => row.category = c,
                Err(e) => push("category", e),
            }
        }
        if let Some(r) = responsibilities {
            let list: Vec<String> = r.split(';').map(str::to_string).collect();
            match validate::responsibilities("responsibilities", &list) {
                Ok(l) => row.responsibilities = l,
                Err(e) => push("responsibilities", e),
            }
        }
        if let Some(s) = skills {
            let mut seen = HashSet::new();
            for item in s.split(';').map(str::trim).filter(|i| !i.is_empty()) {
                match parse_skill(item, scale) {
                    Ok((skill, level)) => {
                        if seen.insert(norm(&skill)) {
                            row.skills.push((skill, level));
                        } else {
                            push(
                                "skills",
                                AppError::validation(
                                    "skills",
                                    format!("the skill '{skill}' is listed twice"),
                                ),
                            );
                        }
                    }
                    Err(e) => push("skills", e),
                }
            }
        }
        if let Some(a) = advances_from {
            let mut seen = HashSet::new();
            for item in a.split(';').map(str::trim).filter(|i| !i.is_empty()) {
                match validate::name("advances_from", item) {
                    Ok(n) if norm(&n) == norm(&row.name) => push(
                        "advances_from",
                        AppError::validation("advances_from", "a role cannot advance from itself"),
                    ),
                    Ok(n) => {
                        if seen.insert(norm(&n)) {
                            row.advances_from.push(n);
                        }
                    }
                    Err(e) => push("advances_from", e),
                }
            }
        }
        rows.push(row);
    }
    progress.advance((csv.len() as u64).saturating_sub(done));
    if rows.is_empty() && errors.is_empty() {
        return Err(file_error("the file has a header but no roles"));
    }
    Ok((rows, errors))
}

/// `Skill name` or `Skill name:level`.
fn parse_skill(item: &str, scale: &Scale) -> AppResult<(String, Option<i32>)> {
    let (name, level) = match item.rsplit_once(':') {
        Some((name, level)) => {
            let level = level.trim();
            let parsed: i32 = level.parse().map_err(|_| {
                AppError::validation(
                    "skills",
                    format!("'{item}': the level '{level}' is not a whole number"),
                )
            })?;
            scale.check("skills", parsed).map_err(|_| {
                AppError::validation(
                    "skills",
                    format!(
                        "'{item}': level {parsed} is outside the proficiency scale 1..{}",
                        scale.max()
                    ),
                )
            })?;
            (name, Some(parsed))
        }
        None => (item, None),
    };
    Ok((validate::name("skills", name)?, level))
}

/// A role of the file, resolved against the organization.
#[derive(Debug)]
struct Planned {
    row: Row,
    id: Uuid,
    existing: Option<role::Model>,
    category_id: Option<Uuid>,
    responsibilities_json: String,
    skills: Vec<(Uuid, Option<i32>)>,
    /// Role fields or skills differ (for an existing role).
    changed: bool,
    skills_changed: bool,
    links_add: Vec<Uuid>,
    links_remove: Vec<Uuid>,
}

#[derive(Debug, Default)]
struct Plan {
    rows: Vec<Planned>,
    new_categories: Vec<(Uuid, String)>,
    new_skills: Vec<(Uuid, String)>,
}

impl Plan {
    fn report(&self, dry_run: bool) -> ImportReport {
        let mut r = ImportReport {
            dry_run,
            skills_created: self.new_skills.iter().map(|(_, n)| n.clone()).collect(),
            categories_created: self.new_categories.iter().map(|(_, n)| n.clone()).collect(),
            ..Default::default()
        };
        for p in &self.rows {
            r.links_added += p.links_add.len();
            r.links_removed += p.links_remove.len();
            let name = p.row.name.clone();
            match &p.existing {
                None => r.roles_created.push(name),
                Some(_) if p.changed || !p.links_add.is_empty() || !p.links_remove.is_empty() => {
                    r.roles_updated.push(name)
                }
                Some(_) => r.roles_unchanged.push(name),
            }
        }
        r
    }
}

#[derive(FromQueryResult)]
struct NamedId {
    id: Uuid,
    name_norm: String,
}

/// Validates the file against the organization and works out every row to write.
async fn plan(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    csv: &[u8],
    progress: &dyn Progress,
) -> AppResult<Plan> {
    let scale = skill::scale(conn, org_id).await?;
    let (rows, mut errors) = parse(csv, &scale, progress).map_err(rejected)?;
    let roles: Vec<role::Model> = sql::all(
        conn,
        "SELECT * FROM roles WHERE org_id = $1",
        crate::vals![org_id],
    )
    .await?;
    let roles_by_name: HashMap<String, role::Model> = roles
        .into_iter()
        .map(|r| (r.name_norm.clone(), r))
        .collect();
    // Every advances_from names a role of the file or of the organization.
    let in_file: HashSet<String> = rows.iter().map(|r| norm(&r.name)).collect();
    for row in &rows {
        for from in &row.advances_from {
            let n = norm(from);
            if !in_file.contains(&n) && !roles_by_name.contains_key(&n) {
                errors.push(RowError {
                    row: row.line,
                    column: "advances_from".into(),
                    message: format!(
                        "unknown role '{from}': it is neither in the file nor in the organization"
                    ),
                });
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Err(rejected(errors));
    }

    let categories: Vec<NamedId> = sql::all(
        conn,
        "SELECT id, name_norm FROM role_categories WHERE org_id = $1",
        crate::vals![org_id],
    )
    .await?;
    let mut category_ids: HashMap<String, Uuid> = categories
        .into_iter()
        .map(|c| (c.name_norm, c.id))
        .collect();
    let skills: Vec<NamedId> = sql::all(
        conn,
        "SELECT id, name_norm FROM skills WHERE org_id = $1",
        crate::vals![org_id],
    )
    .await?;
    let mut skill_ids: HashMap<String, Uuid> =
        skills.into_iter().map(|s| (s.name_norm, s.id)).collect();
    let mut plan = Plan::default();
    for row in &rows {
        if let Some(c) = &row.category
            && let Entry::Vacant(slot) = category_ids.entry(norm(c))
        {
            let id = *slot.insert(Uuid::now_v7());
            plan.new_categories.push((id, c.clone()));
        }
        for (s, _) in &row.skills {
            if let Entry::Vacant(slot) = skill_ids.entry(norm(s)) {
                let id = *slot.insert(Uuid::now_v7());
                plan.new_skills.push((id, s.clone()));
            }
        }
    }
    // The ids of the file's roles, new ones minted now.
    let role_ids: HashMap<String, Uuid> = rows
        .iter()
        .map(|r| {
            let n = norm(&r.name);
            let id = roles_by_name.get(&n).map_or_else(Uuid::now_v7, |e| e.id);
            (n, id)
        })
        .collect();
    let existing_ids: Vec<Uuid> = rows
        .iter()
        .filter_map(|r| roles_by_name.get(&norm(&r.name)).map(|e| e.id))
        .collect();
    let current_skills = requirements_of(conn, org_id, &existing_ids).await?;
    let current_links = incoming_links(conn, org_id, &existing_ids).await?;
    for row in rows {
        let n = norm(&row.name);
        let id = role_ids[&n];
        let existing = roles_by_name.get(&n).cloned();
        let category_id = row.category.as_ref().map(|c| category_ids[&norm(c)]);
        let responsibilities_json = json!(row.responsibilities).to_string();
        let skills: Vec<(Uuid, Option<i32>)> = row
            .skills
            .iter()
            .map(|(s, l)| (skill_ids[&norm(s)], *l))
            .collect();
        let advances_from: Vec<Uuid> = row
            .advances_from
            .iter()
            .map(|a| {
                let an = norm(a);
                role_ids
                    .get(&an)
                    .copied()
                    .or_else(|| roles_by_name.get(&an).map(|r| r.id))
                    .unwrap_or_default()
            })
            .collect();
        let (changed, skills_changed, links_add, links_remove) = match &existing {
            None => (true, true, advances_from.clone(), vec![]),
            Some(e) => {
                let fields_changed = e.name != row.name
                    || e.description != row.description
                    || e.category_id != category_id
                    || e.responsibilities != responsibilities_json;
                let skills_changed = current_skills
                    .get(&e.id)
                    .map_or(!skills.is_empty(), |c| *c != skills);
                let current: HashSet<Uuid> = current_links
                    .get(&e.id)
                    .map(|l| l.iter().copied().collect())
                    .unwrap_or_default();
                let wanted: HashSet<Uuid> = advances_from.iter().copied().collect();
                let add = advances_from
                    .iter()
                    .filter(|a| !current.contains(a))
                    .copied()
                    .collect();
                let mut remove: Vec<Uuid> = current.difference(&wanted).copied().collect();
                remove.sort();
                (
                    fields_changed || skills_changed,
                    skills_changed,
                    add,
                    remove,
                )
            }
        };
        plan.rows.push(Planned {
            row,
            id,
            existing,
            category_id,
            responsibilities_json,
            skills,
            changed,
            skills_changed,
            links_add,
            links_remove,
        });
    }
    Ok(plan)
}

async fn requirements_of(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    role_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<(Uuid, Option<i32>)>>> {
    let mut out: HashMap<Uuid, Vec<(Uuid, Option<i32>)>> = HashMap::new();
    if role_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<role_skill::Model> = sql::all(
        conn,
        "SELECT * FROM role_skills WHERE org_id = $1 ORDER BY role_id, position",
        crate::vals![org_id],
    )
    .await?;
    let wanted: HashSet<Uuid> = role_ids.iter().copied().collect();
    for r in rows.into_iter().filter(|r| wanted.contains(&r.role_id)) {
        out.entry(r.role_id)
            .or_default()
            .push((r.skill_id, r.level));
    }
    Ok(out)
}

async fn incoming_links(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    role_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if role_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<role_link::Model> = sql::all(
        conn,
        "SELECT * FROM role_links WHERE org_id = $1",
        crate::vals![org_id],
    )
    .await?;
    let wanted: HashSet<Uuid> = role_ids.iter().copied().collect();
    for l in rows.into_iter().filter(|l| wanted.contains(&l.to_role_id)) {
        out.entry(l.to_role_id).or_default().push(l.from_role_id);
    }
    Ok(out)
}

/// Inserts `rows` into `table (columns)` with multi-row statements.
async fn insert_rows(
    conn: &impl ConnectionTrait,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
    progress: &dyn Progress,
) -> AppResult<()> {
    let per_statement = (MAX_PARAMS / columns.len()).clamp(1, ROWS_PER_STATEMENT);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut q = Q::new();
        let mut tuples = Vec::with_capacity(per_statement);
        for row in rows.by_ref().take(per_statement) {
            let binds: Vec<String> = row.into_iter().map(|v| q.bind(v)).collect();
            tuples.push(format!("({})", binds.join(", ")));
        }
        let n = tuples.len() as u64;
        q.text = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(", "),
            tuples.join(", ")
        );
        q.exec(conn).await?;
        progress.advance(n);
    }
    Ok(())
}

/// Writes the plan: a handful of multi-row statements, whatever the size of the file.
async fn apply(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    now: i64,
    plan: &Plan,
    progress: &dyn Progress,
) -> AppResult<()> {
    let new_roles: Vec<&Planned> = plan.rows.iter().filter(|p| p.existing.is_none()).collect();
    let updated: Vec<&Planned> = plan
        .rows
        .iter()
        .filter(|p| p.existing.is_some() && p.changed)
        .collect();
    let skill_rows: Vec<&Planned> = plan.rows.iter().filter(|p| p.skills_changed).collect();
    let total = plan.new_categories.len()
        + plan.new_skills.len()
        + new_roles.len()
        + updated.len()
        + skill_rows.iter().map(|p| p.skills.len()).sum::<usize>()
        + plan
            .rows
            .iter()
            .map(|p| p.links_add.len() + p.links_remove.len())
            .sum::<usize>();
    progress.stage("writing", total as u64);

    let v = |x: Value| x;
    insert_rows(
        conn,
        "role_categories",
        &[
            "id",
            "org_id",
            "name",
            "name_norm",
            "featured",
            "created_at",
            "updated_at",
        ],
        plan.new_categories
            .iter()
            .map(|(id, name)| {
                vec![
                    v((*id).into()),
                    org_id.into(),
                    name.clone().into(),
                    norm(name).into(),
                    false.into(),
                    now.into(),
                    now.into(),
                ]
            })
            .collect(),
        progress,
    )
    .await?;
    insert_rows(
        conn,
        "skills",
        &[
            "id",
            "org_id",
            "name",
            "name_norm",
            "created_at",
            "updated_at",
        ],
        plan.new_skills
            .iter()
            .map(|(id, name)| {
                vec![
                    v((*id).into()),
                    org_id.into(),
                    name.clone().into(),
                    norm(name).into(),
                    now.into(),
                    now.into(),
                ]
            })
            .collect(),
        progress,
    )
    .await?;
    insert_rows(
        conn,
        "roles",
        &[
            "id",
            "org_id",
            "name",
            "name_norm",
            "description",
            "category_id",
            "responsibilities",
            "created_at",
            "updated_at",
        ],
        new_roles
            .iter()
            .map(|p| {
                vec![
                    v(p.id.into()),
                    org_id.into(),
                    p.row.name.clone().into(),
                    norm(&p.row.name).into(),
                    p.row.description.clone().into(),
                    p.category_id.into(),
                    p.responsibilities_json.clone().into(),
                    now.into(),
                    now.into(),
                ]
            })
            .collect(),
        progress,
    )
    .await?;
    for p in &updated {
        sql::exec(
            conn,
            "UPDATE roles SET name = $1, description = $2, category_id = $3, responsibilities = $4, updated_at = $5 \
             WHERE id = $6 AND org_id = $7",
            crate::vals![
                p.row.name.clone(),
                p.row.description.clone(),
                p.category_id,
                p.responsibilities_json.clone(),
                now,
                p.id,
                org_id
            ],
        )
        .await
        .map_err(|e| e.on_unique(&ROLE_NAME_TAKEN))?;
        progress.advance(1);
    }
    let replaced: Vec<Uuid> = skill_rows
        .iter()
        .filter(|p| p.existing.is_some())
        .map(|p| p.id)
        .collect();
    for chunk in replaced.chunks(1_000) {
        let mut q = Q::new();
        let list = q.bind_ids(chunk);
        q.text = format!("DELETE FROM role_skills WHERE role_id IN ({list})");
        q.exec(conn).await?;
    }
    insert_rows(
        conn,
        "role_skills",
        &["org_id", "role_id", "skill_id", "level", "position"],
        skill_rows
            .iter()
            .flat_map(|p| {
                p.skills.iter().enumerate().map(|(i, (s, l))| {
                    vec![
                        v(org_id.into()),
                        p.id.into(),
                        (*s).into(),
                        (*l).into(),
                        (i as i32).into(),
                    ]
                })
            })
            .collect(),
        progress,
    )
    .await?;
    for p in &plan.rows {
        for from in &p.links_remove {
            sql::exec(
                conn,
                "DELETE FROM role_links WHERE from_role_id = $1 AND to_role_id = $2",
                crate::vals![*from, p.id],
            )
            .await?;
            progress.advance(1);
        }
    }
    insert_rows(
        conn,
        "role_links",
        &["org_id", "from_role_id", "to_role_id", "created_at"],
        plan.rows
            .iter()
            .flat_map(|p| {
                p.links_add
                    .iter()
                    .map(|from| vec![v(org_id.into()), (*from).into(), p.id.into(), now.into()])
            })
            .collect(),
        progress,
    )
    .await?;
    Ok(())
}

/// The audit event of an import: counts, and the first 100 names of each list.
fn audit_summary(report: &ImportReport, plan: &Plan) -> serde_json::Value {
    const LISTED: usize = 100;
    let first = |l: &[String]| l.iter().take(LISTED).cloned().collect::<Vec<_>>();
    json!({
        "rolesCreated": report.roles_created.len(),
        "rolesUpdated": report.roles_updated.len(),
        "rolesUnchanged": report.roles_unchanged.len(),
        "skillsCreated": report.skills_created.len(),
        "categoriesCreated": report.categories_created.len(),
        "linksAdded": report.links_added,
        "linksRemoved": report.links_removed,
        "createdNames": first(&report.roles_created),
        "updatedNames": first(&report.roles_updated),
        "roleIds": plan.rows.iter().filter(|p| p.existing.is_none() || p.changed).take(LISTED).map(|p| p.id).collect::<Vec<_>>(),
    })
}
