//! README.md stays true: every ```graphql block runs, in order, against the demo organization
//! (with the ```json block that follows it as its variables), and the configuration and command
//! sections name every flag the binary has.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::{Value, json};

use crate::demo::DemoApp;
use crate::helpers::id;

fn readme() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(path).expect("README.md at the repository root")
}

/// One ```graphql block and the ```json block right after it, if any.
#[derive(Debug)]
struct Example {
    line: usize,
    query: String,
    variables: Option<Value>,
}

/// The fenced blocks of a Markdown text: (line of the opening fence, info string, body).
fn fenced_blocks(text: &str) -> Vec<(usize, String, String, usize)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let mut body = String::new();
        let mut end = n;
        for (m, inner) in lines.by_ref() {
            end = m;
            if inner.trim_start().starts_with("```") {
                break;
            }
            body.push_str(inner);
            body.push('\n');
        }
        blocks.push((n + 1, info.trim().to_string(), body, end + 1));
    }
    blocks
}

fn examples(text: &str) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let blocks = fenced_blocks(text);
    let mut out = Vec::new();
    for (i, (line, info, body, end)) in blocks.iter().enumerate() {
        if info.split_whitespace().next() != Some("graphql") {
            continue;
        }
        // Variables: a ```json block separated from the query by blank lines only.
        let variables = blocks.get(i + 1).and_then(|(next, info, body, _)| {
            let between = &lines[*end..next - 1];
            (info == "json" && between.iter().all(|l| l.trim().is_empty())).then(|| {
                serde_json::from_str(body).unwrap_or_else(|e| {
                    panic!("README.md line {next}: the variables are not JSON: {e}")
                })
            })
        });
        out.push(Example {
            line: *line,
            query: body.clone(),
            variables,
        });
    }
    out
}

/// The variables an operation declares.
fn declared_variables(query: &str) -> BTreeSet<String> {
    let doc = async_graphql::parser::parse_query(query)
        .unwrap_or_else(|e| panic!("does not parse: {e}\n{query}"));
    doc.operations
        .iter()
        .flat_map(|(_, op)| {
            op.node
                .variable_definitions
                .iter()
                .map(|v| v.node.name.node.to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Replaces a placeholder such as `"<id of Sales — Enterprise>"` with the id of the group,
/// person, role or skill of that name, as the demo holds it at this point of the walk-through,
/// and `"<contents of FILE>"` with the text of a file of the repository.
async fn resolve(app: &DemoApp, placeholder: &str) -> Value {
    if let Some(file) = placeholder
        .strip_prefix("<contents of ")
        .and_then(|s| s.strip_suffix('>'))
    {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        return json!(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}")));
    }
    let name = placeholder
        .strip_prefix("<id of ")
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or_else(|| panic!("unknown placeholder {placeholder:?}; write \"<id of NAME>\""));
    let data = app
        .ok(
            "query($s: String) { groups(search: $s) { id name } users(filter: { search: $s }) { nodes { id name } }
               roles(filter: { search: $s }) { id name } skills(search: $s) { id name } }",
            json!({ "s": name }),
            &app.admin,
        )
        .await;
    let exact = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|x| x["name"] == name)
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect()
    };
    let found: Vec<String> = [
        exact(&data["groups"]),
        exact(&data["users"]["nodes"]),
        exact(&data["roles"]),
        exact(&data["skills"]),
    ]
    .concat();
    match found.as_slice() {
        [one] => json!(one),
        _ => panic!("{placeholder:?} names no single group, person, role or skill: {data}"),
    }
}

async fn fill_placeholders(app: &DemoApp, vars: Value) -> Value {
    let Value::Object(map) = vars else {
        panic!("variables must be a JSON object: {vars}");
    };
    let mut out = serde_json::Map::new();
    for (k, v) in map {
        let v = match v.as_str() {
            Some(s) if s.starts_with('<') && s.ends_with('>') => resolve(app, s).await,
            _ => v,
        };
        out.insert(k, v);
    }
    Value::Object(out)
}

#[tokio::test]
async fn every_graphql_example_in_the_readme_runs_against_the_demo() {
    let text = readme();
    let examples = examples(&text);
    assert!(
        examples.len() >= 6,
        "README.md has its walk-through: {examples:#?}"
    );
    assert!(
        examples
            .iter()
            .any(|e| e.query.trim_start().starts_with("mutation")),
        "README.md shows a mutation"
    );

    let app = DemoApp::spawn().await;
    // A day after the seed, as when someone tries the demo.
    app.clock.advance(chrono::Duration::days(1));
    for example in &examples {
        let at = format!("README.md line {}", example.line);
        let declared = declared_variables(&example.query);
        let given: BTreeSet<String> = example
            .variables
            .as_ref()
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(
            declared, given,
            "{at}: the ```json block after the query must give exactly its variables"
        );
        let vars = match &example.variables {
            Some(v) => fill_placeholders(&app, v.clone()).await,
            None => json!({}),
        };
        let token = if example.query.contains("<learner token>") {
            &app.learner
        } else {
            &app.admin
        };
        let response = app.execute(&example.query, vars, token).await;
        let errors = response["errors"].as_array().map_or(0, Vec::len);
        assert_eq!(errors, 0, "{at}: {response:#}");
        let data = response["data"]
            .as_object()
            .unwrap_or_else(|| panic!("{at}: no data: {response:#}"));
        for (field, value) in data {
            assert!(!value.is_null(), "{at}: {field} is null: {response:#}");
        }
    }

    // The walk-through did what the README says: Jordan moved to the new team, and the log
    // shows it, done by the admin.
    let data = app
        .ok(
            "{ users(filter: { search: \"jordan.rivera\" }) { nodes { id memberships { group { name ancestors { name } } } } }
               auditLog(filter: { actions: [\"USER_TRANSFERRED\"] }) { nodes { actorId subjectId } } }",
            json!({}),
            &app.admin,
        )
        .await;
    let jordan = &data["users"]["nodes"][0];
    assert_eq!(id(&jordan["id"]), app.demo.learner_id);
    assert_eq!(
        jordan["memberships"],
        json!([{ "group": { "name": "Sales — Partnerships", "ancestors": [{ "name": "Sales" }, { "name": "Acme" }] } }])
    );
    assert_eq!(
        data["auditLog"]["nodes"],
        json!([{ "actorId": app.demo.admin_id.to_string(), "subjectId": app.demo.learner_id.to_string() }])
    );
}

#[test]
fn the_readme_extractor_pairs_queries_with_their_variables() {
    let text = "intro\n\n```graphql\n{ a }\n```\n\n```json\n{\"x\": 1}\n```\n\ntext\n\n```json\n{}\n```\n\n```graphql\n{ b }\n```\nprose\n```json\n{\"y\": 2}\n```\n";
    let found = examples(text);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].query, "{ a }\n");
    assert_eq!(found[0].line, 3);
    assert_eq!(found[0].variables, Some(json!({ "x": 1 })));
    assert_eq!(found[1].query, "{ b }\n");
    assert_eq!(
        found[1].variables, None,
        "prose in between: not its variables"
    );
}

/// The `--flags` and `[env: VARS]` of `skillgraph <command> --help`.
fn flags_and_env(command: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_skillgraph"))
        .args([command, "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    let mut flags = BTreeSet::new();
    let mut env = BTreeSet::new();
    for word in help.split_whitespace() {
        if let Some(flag) = word.strip_prefix("--") {
            let flag: String = flag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if !flag.is_empty() && flag != "help" {
                flags.insert(format!("--{flag}"));
            }
        }
    }
    for part in help.split("[env: ").skip(1) {
        let var: String = part
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        env.insert(var);
    }
    (flags, env)
}

#[test]
fn the_readme_names_every_flag_and_environment_variable() {
    let text = readme();
    for command in ["serve", "migrate", "token", "create-org", "import-roles"] {
        let (flags, env) = flags_and_env(command);
        assert!(!flags.is_empty(), "{command} --help lists flags");
        for flag in flags {
            assert!(
                text.contains(&format!("`{flag}")) || text.contains(&format!("{flag} ")),
                "README.md does not mention `{command} {flag}`"
            );
        }
        for var in env {
            assert!(
                text.contains(&format!("`{var}`")),
                "README.md does not mention {var} (of {command})"
            );
        }
    }
    for command in [
        "serve",
        "migrate",
        "token",
        "create-org",
        "import-roles",
        "schema",
    ] {
        assert!(
            text.contains(&format!("skillgraph {command}")),
            "README.md does not show `skillgraph {command}`"
        );
    }
    for line in [
        "cargo run --release -- serve --demo",
        "cargo test",
        "admin token: ",
        "learner token: ",
        "SKILLGRAPH_TEST_DATABASE_URL",
    ] {
        assert!(text.contains(line), "README.md does not mention {line:?}");
    }
}

#[test]
fn the_readme_lists_every_error_code() {
    let text = readme();
    for code in [
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "VALIDATION",
        "CONFLICT",
        "INTERNAL",
    ] {
        assert!(
            text.contains(&format!("| `{code}` |")),
            "README.md's error table lacks {code}"
        );
    }
}
