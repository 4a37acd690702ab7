//! Schema migrations for skillgraph. The same migrations serve SQLite and PostgreSQL: each is
//! written as SQL with a few type placeholders (`{uuid}`, `{date}`, `{seq}`) that `sql()` expands
//! per backend, so partial indexes and triggers stay exact on both.

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

mod m20261125_000001_create_org_tables;
mod m20261125_000002_create_audit_events;
mod m20261125_000003_create_learning_tables;
mod m20261125_000004_create_completions;
mod m20261125_000005_create_skill_tables;
mod m20261125_000006_event_retention_and_wakeups;
mod m20261125_000007_create_track_tables;
mod m20261125_000008_compliance_summaries_and_group_history;
mod m20261203_000009_create_api_clients;
mod m20261203_000012_create_manual_requirements;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_org_tables::Migration),
            Box::new(m20261125_000002_create_audit_events::Migration),
            Box::new(m20261125_000003_create_learning_tables::Migration),
            Box::new(m20261125_000004_create_completions::Migration),
            Box::new(m20261125_000005_create_skill_tables::Migration),
            Box::new(m20261125_000006_event_retention_and_wakeups::Migration),
            Box::new(m20261125_000007_create_track_tables::Migration),
            Box::new(m20261125_000008_compliance_summaries_and_group_history::Migration),
            Box::new(m20261203_000009_create_api_clients::Migration),
            Box::new(m20261203_000012_create_manual_requirements::Migration),
        ]
    }
}

/// Expands the type placeholders of a migration script for `backend`.
///
/// Times are stored as BIGINT microseconds since the Unix epoch on both databases so that
/// set-based SQL (unlock and due dates, as-of queries) does the same arithmetic everywhere.
pub(crate) fn sql(backend: DbBackend, template: &str) -> String {
    let (uuid, date, seq) = match backend {
        DbBackend::Postgres => ("UUID", "DATE", "BIGSERIAL PRIMARY KEY"),
        _ => ("BLOB", "TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"),
    };
    template
        .replace("{uuid}", uuid)
        .replace("{date}", date)
        .replace("{seq}", seq)
}

/// Runs every `;`-terminated statement of `script` (after placeholder expansion).
pub(crate) async fn run_script(manager: &SchemaManager<'_>, script: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let expanded = sql(manager.get_database_backend(), script);
    for statement in split_statements(&expanded) {
        db.execute_unprepared(&statement).await?;
    }
    Ok(())
}

/// Splits a script on `;` at line ends, keeping `$$ … $$` function bodies and
/// `BEGIN … END;` trigger bodies whole.
fn split_statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_dollar = false;
    let mut in_trigger = false;
    for line in script.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.matches("$$").count() % 2 == 1 {
            in_dollar = !in_dollar;
        }
        let upper = trimmed.to_ascii_uppercase();
        if upper.starts_with("CREATE TRIGGER") && upper.contains(" BEGIN") || upper == "BEGIN" {
            in_trigger = true;
        }
        let ends = trimmed.ends_with(';');
        if ends && !in_dollar && (!in_trigger || upper == "END;") {
            in_trigger = false;
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_trigger_and_function_bodies_whole() {
        let script = "CREATE TABLE a (x INT);\nCREATE TRIGGER t BEFORE UPDATE ON a BEGIN\n SELECT RAISE(ABORT, 'no');\nEND;\nCREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN\n RAISE EXCEPTION 'no';\nEND;\n$$ LANGUAGE plpgsql;\n";
        let parts = split_statements(script);
        assert_eq!(parts.len(), 3, "{parts:#?}");
        assert!(parts[1].contains("RAISE(ABORT"));
        assert!(parts[2].contains("LANGUAGE plpgsql"));
    }
}
