//! CSV import of roles, through `importRolesCsv` and `skillgraph import-roles`: creates what is
//! missing, updates by name, changes nothing the second time, and rejects a bad file whole with
//! every problem listed by line and column.

use std::process::Command;

use serde_json::{Value, json};
use skillgraph::service::viewer::OrgRole;

use crate::helpers::{TestApp, assert_code};

const IMPORT: &str = "mutation($i: ImportRolesCsvInput!) { importRolesCsv(input: $i) {
  dryRun rolesCreated rolesUpdated rolesUnchanged skillsCreated categoriesCreated linksAdded linksRemoved
  roles { name }
} }";

const HEADER: &str = "name,description,category,responsibilities,skills,advances_from\n";

fn sample() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("roles.csv"))
        .expect("roles.csv at the repository root")
}

async fn import(app: &TestApp, csv: &str, dry_run: bool) -> Value {
    app.execute(
        IMPORT,
        json!({ "i": { "csv": csv, "dryRun": dry_run } }),
        &app.admin,
    )
    .await
}

/// The `{row, column}` pairs of a rejected import.
fn problems(response: &Value) -> Vec<(i64, String)> {
    assert_code(response, "VALIDATION");
    response["errors"][0]["extensions"]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("extensions.errors: {response:#}"))
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
            (
                e["row"].as_i64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_sample_file_imports_and_importing_it_again_changes_nothing() {
    let app = TestApp::spawn().await;
    let csv = sample();
    let before = app.counts().await;
    // A dry run reports and writes nothing.
    let dry = import(&app, &csv, true).await;
    let r = &dry["data"]["importRolesCsv"];
    assert_eq!(r["dryRun"], true, "{dry:#}");
    assert_eq!(r["rolesCreated"].as_array().unwrap().len(), 20);
    assert_eq!(r["roles"], json!([]));
    assert_eq!(r["categoriesCreated"].as_array().unwrap().len(), 5);
    assert_eq!(app.counts().await, before);

    let first = import(&app, &csv, false).await;
    let r = &first["data"]["importRolesCsv"];
    assert_eq!(r["dryRun"], false, "{first:#}");
    assert_eq!(
        r["rolesCreated"],
        dry["data"]["importRolesCsv"]["rolesCreated"]
    );
    assert_eq!(
        r["skillsCreated"],
        dry["data"]["importRolesCsv"]["skillsCreated"]
    );
    assert_eq!(r["roles"].as_array().unwrap().len(), 20);
    assert_eq!(r["roles"][0]["name"], "Sales Representative");
    assert_eq!(app.rows("roles").await, 20);
    assert_eq!(app.rows("role_categories").await, 5);
    let after_first = app.counts().await;

    let again = import(&app, &csv, false).await;
    let r = &again["data"]["importRolesCsv"];
    assert_eq!(r["rolesCreated"], json!([]), "{again:#}");
    assert_eq!(r["rolesUpdated"], json!([]));
    assert_eq!(r["rolesUnchanged"].as_array().unwrap().len(), 20);
    assert_eq!(r["skillsCreated"], json!([]));
    assert_eq!(
        (r["linksAdded"].clone(), r["linksRemoved"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(
        app.counts().await,
        after_first,
        "the second import wrote nothing"
    );

    // What the file says is what the API shows.
    let data = app
        .ok(
            "{ roles(filter: { search: \"warehouse supervisor\" }) { name description responsibilities
                 category { name featured } skills { skill { name } level }
                 advancesFrom { name } advancesTo { name } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["roles"][0],
        json!({
            "name": "Warehouse Supervisor",
            "description": "Runs a warehouse shift and its safety.",
            "responsibilities": ["Plan the shift", "Run safety briefings", "Track pick rates"],
            "category": { "name": "Operations", "featured": false },
            "skills": [
                { "skill": { "name": "Workplace safety" }, "level": 4 },
                { "skill": { "name": "Inventory control" }, "level": 3 },
                { "skill": { "name": "Scheduling" }, "level": 3 },
                { "skill": { "name": "Coaching" }, "level": 2 },
                { "skill": { "name": "Forklift operation" }, "level": null }
            ],
            "advancesFrom": [{ "name": "Forklift Operator" }, { "name": "Warehouse Associate" }],
            "advancesTo": [{ "name": "Site Manager" }]
        })
    );
    let log = app
        .ok(
            "{ auditLog(filter: { actions: [\"ROLES_IMPORTED\"] }) { totalCount nodes { after } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(log["auditLog"]["totalCount"], 1);
    assert_eq!(log["auditLog"]["nodes"][0]["after"]["rolesCreated"], 20);
}

#[tokio::test]
async fn existing_roles_are_updated_by_name_and_the_file_states_them_completely() {
    let app = TestApp::spawn().await;
    let existing = app.role("Picker", None).await;
    let lifting = app.skill("Lifting").await;
    app.set_role_skills(existing, &[(lifting, Some(2))]).await;
    let old_from = app.role("Trainee", None).await;
    app.link(old_from, existing).await;
    let csv = format!(
        "{HEADER}PICKER,Picks orders,Warehouse,Pick;Pack,lifting:3;Scanning,Loader\n\
         Loader,,Warehouse,,Lifting:1,\n"
    );
    let data = import(&app, &csv, false).await;
    let r = &data["data"]["importRolesCsv"];
    assert_eq!(r["rolesCreated"], json!(["Loader"]), "{data:#}");
    assert_eq!(r["rolesUpdated"], json!(["PICKER"]));
    assert_eq!(r["skillsCreated"], json!(["Scanning"]));
    assert_eq!(r["categoriesCreated"], json!(["Warehouse"]));
    assert_eq!(
        (r["linksAdded"].clone(), r["linksRemoved"].clone()),
        (json!(1), json!(1))
    );
    let data = app
        .ok(
            "query($id: ID!) { role(id: $id) { name description responsibilities skills { skill { name } level } advancesFrom { name } } }",
            json!({ "id": existing.to_string() }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["role"],
        json!({
            "name": "PICKER", "description": "Picks orders", "responsibilities": ["Pick", "Pack"],
            "skills": [{ "skill": { "name": "Lifting" }, "level": 3 }, { "skill": { "name": "Scanning" }, "level": null }],
            "advancesFrom": [{ "name": "Loader" }]
        })
    );
    assert_eq!(app.rows("skills").await, 2, "Lifting matched in any case");
}

#[tokio::test]
async fn every_problem_of_a_bad_file_is_listed_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    app.role("Existing", None).await;
    let before = app.counts().await;
    let cases: Vec<(String, Vec<(i64, &str)>)> = vec![
        // Empty file, whitespace only, header only.
        (String::new(), vec![(1, "")]),
        (" \n\n".into(), vec![(1, "")]),
        (HEADER.into(), vec![(1, "")]),
        // Missing and unknown headers.
        (
            "name,description,category,skills,advances_from,team\nA,,,,,\n".into(),
            vec![(1, "team"), (1, "responsibilities")],
        ),
        // Bad levels, duplicate names, unknown advances_from, self-advancing, field count.
        (
            format!(
                "{HEADER}A,,,,Skill X:9,\n\
                 B,,,,Skill Y:two;Skill Z:0,\n\
                 a,,,,,\n\
                 C,,,,,Nowhere\n\
                 D,,,,,D\n\
                 E,,,\n\
                 F,,,,Skill Q:3;skill q:2,Existing\n"
            ),
            vec![
                (2, "skills"),
                (3, "skills"),
                (3, "skills"),
                (4, "name"),
                (5, "advances_from"),
                (6, "advances_from"),
                (7, ""),
                (8, "skills"),
            ],
        ),
        // Only the unknown advances_from (found once the file parses).
        (
            format!("{HEADER}A,,,,,Nowhere;Existing\n"),
            vec![(2, "advances_from")],
        ),
        // A name too long, a quoted field spanning lines counts from its first line.
        (
            format!(
                "{HEADER}Multi,\"two\nlines\",,,,\n{},,,,,\n",
                "x".repeat(201)
            ),
            vec![(4, "name")],
        ),
        // Text that was decoded from something other than UTF-8.
        (format!("{HEADER}Caf\u{FFFD},,,,,\n"), vec![(2, "name")]),
    ];
    for (csv, expected) in cases {
        for dry_run in [false, true] {
            let response = import(&app, &csv, dry_run).await;
            let mut got = problems(&response);
            got.sort();
            let mut want: Vec<(i64, String)> =
                expected.iter().map(|(r, c)| (*r, c.to_string())).collect();
            want.sort();
            assert_eq!(got, want, "{csv:?}: {response:#}");
        }
    }
    // Over the size limit.
    let big = format!("{HEADER}{}", "Role,,,,,\n".repeat(600_000));
    assert_eq!(
        problems(&import(&app, &big, false).await),
        vec![(0, String::new())]
    );
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn only_catalogue_editors_import() {
    let app = TestApp::spawn().await;
    let csv = format!("{HEADER}A,,,,,\n");
    let before = app.counts().await;
    for role in [OrgRole::Learner, OrgRole::Manager] {
        let token = app.token(app.user().await, role);
        let before = app.counts().await;
        assert_code(
            &app.execute(IMPORT, json!({ "i": { "csv": csv } }), &token)
                .await,
            "FORBIDDEN",
        );
        assert_eq!(app.counts().await, before);
    }
    let hr = app.token(app.user().await, OrgRole::Hr);
    let data = app.ok(IMPORT, json!({ "i": { "csv": csv } }), &hr).await;
    assert_eq!(data["importRolesCsv"]["rolesCreated"], json!(["A"]));
    assert_ne!(app.counts().await, before);
    // Another organization's import never touches ours.
    let (_, other) = app.other_org().await;
    let data = app.ok(IMPORT, json!({ "i": { "csv": csv } }), &other).await;
    assert_eq!(data["importRolesCsv"]["rolesCreated"], json!(["A"]));
}

fn skillgraph(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_skillgraph"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run skillgraph");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn import_roles_on_the_command_line() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roles.csv");
    std::fs::write(&file, sample()).unwrap();
    let org = app.org_id.to_string();
    let path = file.display().to_string();
    let db = app.database_url.clone();
    let base = [
        "import-roles",
        path.as_str(),
        "--org",
        org.as_str(),
        "--database",
        db.as_str(),
    ];

    let before = app.counts().await;
    let mut dry: Vec<&str> = base.to_vec();
    dry.push("--dry-run");
    let (ok, out, err) = skillgraph(&dry);
    assert!(ok, "{err}");
    assert!(out.contains("roles would be created: 20"), "{out}");
    assert!(out.contains("dry run: nothing was written"), "{out}");
    assert_eq!(app.counts().await, before);

    let (ok, out, err) = skillgraph(&base);
    assert!(ok, "{err}");
    assert!(out.contains("roles created: 20"), "{out}");
    assert_eq!(app.rows("roles").await, 20);
    let after = app.counts().await;
    let (ok, out, _) = skillgraph(&base);
    assert!(ok);
    assert!(out.contains("roles unchanged: 20"), "{out}");
    assert_eq!(app.counts().await, after);

    // A file that is not UTF-8 (Latin-1 "Café"): rejected with its line and column.
    std::fs::write(
        &file,
        [HEADER.as_bytes(), b"Caf\xe9,,,,,\nOk,,,,,\nx,,Caf\xe9,,,\n"].concat(),
    )
    .unwrap();
    let (ok, _, err) = skillgraph(&base);
    assert!(!ok);
    assert!(err.contains("line 2, column name"), "{err}");
    assert!(err.contains("line 4, column category"), "{err}");
    assert!(err.contains("UTF-8"), "{err}");
    // An unknown organization.
    let ghost = uuid::Uuid::now_v7().to_string();
    let (ok, _, err) = skillgraph(&[
        "import-roles",
        path.as_str(),
        "--org",
        ghost.as_str(),
        "--database",
        db.as_str(),
    ]);
    assert!(!ok);
    assert!(err.contains("organization not found"), "{err}");
    assert_eq!(app.counts().await, after);
}
