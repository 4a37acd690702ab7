//! README.md stays true: every ```graphql block runs, in order, against the demo organization
//! (with the ```json block that follows it as its variables, whose `"<id of …>"` placeholders
//! are looked up at that point of the walk-through), the walk-through does what the README says
//! (checked on the answers of its named operations), and the configuration and command sections
//! name every flag the binary has.

use std::collections::{BTreeSet, HashMap};
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

/// Replaces a placeholder with what it names, as the demo holds it at this point of the
/// walk-through: `"<id of course TITLE>"` a course, `"<id of rule NAME>"` a rule, `"<id of
/// track NAME>"` a track, `"<id of rubric NAME>"` a rubric, `"<id of api client NAME>"` an API
/// client,
/// `"<id of NAME>"` the group, person, role or skill of that name (people the README created
/// earlier included), and `"<contents of FILE>"` the text of a file of the repository.
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
        .unwrap_or_else(|| {
            panic!(
                "unknown placeholder {placeholder:?}; write \"<id of NAME>\", \"<id of course TITLE>\" or \"<id of rule NAME>\""
            )
        });
    let exact = |list: &Value, key: &str, wanted: &str| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|x| x[key] == wanted)
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect()
    };
    if let Some(title) = name.strip_prefix("course ") {
        let data = app
            .ok(
                "query($s: String) { courses(search: $s) { id title } }",
                json!({ "s": title }),
                &app.admin,
            )
            .await;
        let found = exact(&data["courses"], "title", title);
        assert_eq!(
            found.len(),
            1,
            "{placeholder:?} names no single course: {data}"
        );
        return json!(found[0]);
    }
    if let Some(track) = name.strip_prefix("track ") {
        let data = app
            .ok("{ tracks { id name } }", json!({}), &app.admin)
            .await;
        let found = exact(&data["tracks"], "name", track);
        assert_eq!(
            found.len(),
            1,
            "{placeholder:?} names no single track: {data}"
        );
        return json!(found[0]);
    }
    if let Some(rubric) = name.strip_prefix("rubric ") {
        let data = app
            .ok("{ rubrics { id name } }", json!({}), &app.admin)
            .await;
        let found = exact(&data["rubrics"], "name", rubric);
        assert_eq!(
            found.len(),
            1,
            "{placeholder:?} names no single rubric: {data}"
        );
        return json!(found[0]);
    }
    if let Some(client) = name.strip_prefix("api client ") {
        let data = app
            .ok("{ apiClients { id name } }", json!({}), &app.admin)
            .await;
        let found = exact(&data["apiClients"], "name", client);
        assert_eq!(
            found.len(),
            1,
            "{placeholder:?} names no single API client: {data}"
        );
        return json!(found[0]);
    }
    if let Some(rule) = name.strip_prefix("rule ") {
        let data = app.ok("{ rules { id name } }", json!({}), &app.admin).await;
        let found = exact(&data["rules"], "name", rule);
        assert_eq!(
            found.len(),
            1,
            "{placeholder:?} names no single rule: {data}"
        );
        return json!(found[0]);
    }
    let data = app
        .ok(
            "query($s: String) { groups(search: $s) { id name } users(filter: { search: $s }) { nodes { id name } }
               roles(filter: { search: $s }) { id name } skills(search: $s) { id name } }",
            json!({ "s": name }),
            &app.admin,
        )
        .await;
    let found: Vec<String> = [
        exact(&data["groups"], "name", name),
        exact(&data["users"]["nodes"], "name", name),
        exact(&data["roles"], "name", name),
        exact(&data["skills"], "name", name),
    ]
    .concat();
    match found.as_slice() {
        [one] => json!(one),
        _ => panic!("{placeholder:?} names no single group, person, role or skill: {data}"),
    }
}

/// Replaces every placeholder string (`"<…>"`), however deep in the variables it sits.
async fn fill_placeholders(app: &DemoApp, vars: Value) -> Value {
    match vars {
        Value::String(s) if s.starts_with('<') && s.ends_with('>') => resolve(app, &s).await,
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(Box::pin(fill_placeholders(app, item)).await);
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                out.insert(k, Box::pin(fill_placeholders(app, v)).await);
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// The name of the (first) operation of a document, if it has one.
fn operation_name(query: &str) -> Option<String> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    doc.operations
        .iter()
        .next()
        .and_then(|(name, _)| name.map(|n| n.to_string()))
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
    // The data of every named operation, for the checks after the walk-through.
    let mut answers: HashMap<String, Value> = HashMap::new();
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
            Some(v) => {
                assert!(v.is_object(), "{at}: the variables must be a JSON object");
                fill_placeholders(&app, v.clone()).await
            }
            None => json!({}),
        };
        let token = if example.query.contains("<learner token>") {
            app.learner.clone()
        } else if example.query.contains("<api client secret>") {
            // The secret of the client the README made last.
            answers
                .values()
                .find_map(|a| a["createApiClient"]["secret"].as_str())
                .unwrap_or_else(|| panic!("{at}: no API client was made before"))
                .to_string()
        } else {
            app.admin.clone()
        };
        let token = &token;
        if is_subscription(&example.query) {
            check_subscription(&app, &example.query, vars, token, &at).await;
            continue;
        }
        let response = app.execute(&example.query, vars, token).await;
        let errors = response["errors"].as_array().map_or(0, Vec::len);
        assert_eq!(errors, 0, "{at}: {response:#}");
        let data = response["data"]
            .as_object()
            .unwrap_or_else(|| panic!("{at}: no data: {response:#}"));
        for (field, value) in data {
            assert!(!value.is_null(), "{at}: {field} is null: {response:#}");
        }
        if let Some(name) = operation_name(&example.query) {
            let previous = answers.insert(name.clone(), response["data"].clone());
            assert!(previous.is_none(), "{at}: a second operation named {name}");
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
    // The transfer withdrew what Jordan had not completed of the enterprise onboarding, and
    // nothing else; the company's onboarding stayed.
    let answer = |name: &str| -> &Value {
        answers
            .get(name)
            .unwrap_or_else(|| panic!("README.md has no operation named {name}"))
    };
    let transfer = &answer("Transfer")["transferUser"];
    assert_eq!(transfer["assignmentsCreated"], json!([]));
    let enterprise = ["CRM walkthrough", "Enterprise pricing"];
    let withdrawn = rows(&transfer["assignmentsWithdrawn"], &["status"]);
    assert!(
        withdrawn
            .iter()
            .all(|w| enterprise.iter().any(|c| *w == format!("{c} WITHDRAWN"))),
        "only enterprise courses are withdrawn: {withdrawn:?}"
    );
    let data = app
        .ok(
            "query($u: ID!) { user(id: $u) { assignments { status course { title } } } }",
            json!({ "u": app.demo.learner_id.to_string() }),
            &app.admin,
        )
        .await;
    for line in rows(&data["user"]["assignments"], &["status"]) {
        let (course, status) = line.rsplit_once(' ').unwrap();
        if enterprise.contains(&course) {
            assert!(
                ["WITHDRAWN", "COMPLETED"].contains(&status),
                "Jordan keeps no open enterprise course: {line}"
            );
        }
    }
    for course in ["New hire orientation", "Company policies"] {
        assert!(
            data["user"]["assignments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["course"]["title"] == course && a["status"] != "WITHDRAWN"),
            "Jordan keeps {course}: {data}"
        );
    }

    // Learning tracks: the assessment passed at 84% and Negotiation is now at least 3.
    let assessed = &answer("Assess")["recordAssessment"]["assessment"];
    assert_eq!(assessed["percent"], json!(84.0));
    assert_eq!(assessed["passed"], true);
    let data = app
        .ok(
            "query($u: ID!) { user(id: $u) { skills { skill { name } level } } }",
            json!({ "u": app.demo.learner_id.to_string() }),
            &app.admin,
        )
        .await;
    assert!(
        data["user"]["skills"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["skill"]["name"] == "Negotiation" && s["level"] == 3),
        "{data}"
    );
    let report = &answer("SalesReport")["trackReport"];
    assert!(
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["dropOff"].as_i64().unwrap() > 0),
        "{report}"
    );

    // The seed's Monday. Everything in it happens now, so dates count from now.
    let now = skillgraph::clock::Clock::now(&app.clock);
    let day = |n: i64| {
        (now + chrono::Duration::days(n)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    };
    let rules = answer("Rules")["rules"].as_array().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Everyone: onboarding",
            "Chicago warehouse: safety",
            "Enterprise sales: onboarding",
            "Finance: payment data",
            "Customer Success: payment data",
            "Sales track",
            "Warehouse track",
            "Customer Success track"
        ]
    );
    let chicago_before = rules[1]["audienceSize"].as_i64().unwrap();
    assert!(chicago_before > 0, "the Chicago warehouse has people");

    let hire = answer("Hire");
    assert_eq!(
        hire["rep"]["assignmentsCreated"],
        json!([]),
        "in no group yet"
    );
    assert_eq!(hire["supervisor"]["assignmentsCreated"], json!([]));

    let fields = ["status", "unlockAt", "dueAt"];
    let onboarding = [
        format!("New hire orientation ASSIGNED null {}", day(7)),
        format!("Company policies LOCKED {} {}", day(3), day(14)),
    ];
    let mut rep = onboarding.to_vec();
    rep.extend([
        format!("CRM walkthrough ASSIGNED null {}", day(7)),
        format!("Enterprise pricing LOCKED {} {}", day(7), day(30)),
    ]);
    rep.sort();
    assert_eq!(
        rows(
            &answer("RepJoins")["addMembership"]["assignmentsCreated"],
            &fields
        ),
        rep,
        "the new sales rep's bundle"
    );
    let mut supervisor = onboarding.to_vec();
    supervisor.extend([
        format!("Forklift certification ASSIGNED null {}", day(30)),
        format!("Site safety ASSIGNED null {}", day(14)),
    ]);
    supervisor.sort();
    assert_eq!(
        rows(
            &answer("SupervisorJoins")["addMembership"]["assignmentsCreated"],
            &fields
        ),
        supervisor,
        "the new supervisor's bundle"
    );

    // Why: each of Sam's assignments names its rule and when Sam entered its audience.
    let why = &answer("Why")["user"];
    assert_eq!(why["name"], "Sam Okafor");
    let mut reasons: Vec<String> = why["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(
                a["reasons"].as_array().unwrap().len(),
                1,
                "one rule each: {a}"
            );
            let r = &a["reasons"][0];
            assert_eq!(r["since"], day(0).as_str(), "entered on joining: {a}");
            format!(
                "{} {}",
                a["course"]["title"].as_str().unwrap(),
                r["rule"]["name"].as_str().unwrap()
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "Company policies Everyone: onboarding",
            "Forklift certification Chicago warehouse: safety",
            "New hire orientation Everyone: onboarding",
            "Site safety Chicago warehouse: safety"
        ]
    );

    // The policy change: the preview's count is what the change did, to every current member
    // of the Chicago warehouse (Sam included), and nothing was withdrawn.
    let preview = &answer("Preview")["previewRule"];
    assert_eq!(preview["withdraw"], json!([]));
    let assign = preview["assign"].as_array().unwrap();
    assert_eq!(assign.len(), 1, "one course gained: {preview}");
    assert_eq!(assign[0]["course"]["title"], "Hazardous materials");
    let count = assign[0]["count"].as_i64().unwrap();
    assert_eq!(count, chicago_before + 1, "every member, Sam included");
    assert_eq!(preview["usersAffected"].as_i64().unwrap(), count);
    let change = &answer("PolicyChange")["updateRule"];
    let created = change["assignmentsCreated"].as_array().unwrap();
    assert_eq!(created.len() as i64, count, "the preview's count");
    assert_eq!(change["assignmentsWithdrawn"], json!([]));
    assert_eq!(change["rule"]["audienceSize"].as_i64().unwrap(), count);
    for a in created {
        assert_eq!(a["course"]["title"], "Hazardous materials");
        assert_eq!(a["status"], "ASSIGNED");
        assert_eq!(a["dueAt"], day(30).as_str(), "due 30 days after the change");
    }
    assert!(created.iter().any(|a| a["user"]["name"] == "Sam Okafor"));
    assert!(!created.iter().any(|a| a["user"]["name"] == "Riley Chen"));

    // And afterwards: Sam has five open assignments, Riley still the four of a sales rep.
    let data = app
        .ok(
            "{ sam: users(filter: { search: \"sam.okafor@acme.example\" }) { nodes { assignments { status course { title } } } }
               riley: users(filter: { search: \"riley.chen@acme.example\" }) { nodes { assignments { status course { title } } } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(
        rows(&data["sam"]["nodes"][0]["assignments"], &["status"]),
        [
            "Company policies LOCKED",
            "Forklift certification ASSIGNED",
            "Hazardous materials ASSIGNED",
            "New hire orientation ASSIGNED",
            "Site safety ASSIGNED"
        ]
    );
    assert_eq!(
        rows(&data["riley"]["nodes"][0]["assignments"], &["status"]),
        [
            "CRM walkthrough ASSIGNED",
            "Company policies LOCKED",
            "Enterprise pricing LOCKED",
            "New hire orientation COMPLETED"
        ],
        "the README's completion satisfied Riley's orientation"
    );

    // Compliance: the dashboard shows every state, the past answer is its own, and the
    // completion satisfied Riley's orientation.
    let report = &answer("Dashboard")["complianceReport"];
    for k in ["compliant", "atRisk", "nonCompliant"] {
        assert!(
            report[k].as_i64().unwrap() > 0,
            "no {k} in the dashboard: {report}"
        );
    }
    assert!(!report["byGroup"].as_array().unwrap().is_empty());
    let chicago = &answer("NotCompliant")["complianceReport"];
    assert_eq!(chicago["users"]["totalCount"], chicago["nonCompliant"]);
    assert!(chicago["nonCompliant"].as_i64().unwrap() > 0);
    assert_eq!(
        answer("NotCompliant")["lastNewYear"]["asOf"],
        "2026-01-01T00:00:00Z"
    );
    assert!(
        answer("Expiring")["expiringCompletions"]["totalCount"]
            .as_i64()
            .unwrap()
            > 0
    );
    let done = &answer("Completed")["recordCompletion"];
    assert_eq!(done["assignment"]["status"], "COMPLETED");
    assert_eq!(
        done["assignment"]["course"]["title"],
        "New hire orientation"
    );
    assert_eq!(done["duplicate"], false);
    let riley = &answer("RileyStatus")["complianceStatus"];
    assert_eq!(riley["status"], "PENDING");
    assert!(
        riley["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["course"]["title"] == "New hire orientation" && i["status"] == "COMPLIANT"),
        "{riley}"
    );
}

/// Assignments as sorted lines: the course title, then the given fields (`null` when absent).
fn rows(assignments: &Value, fields: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = assignments
        .as_array()
        .unwrap_or_else(|| panic!("a list of assignments: {assignments}"))
        .iter()
        .map(|a| {
            let mut line = a["course"]["title"].as_str().unwrap().to_string();
            for f in fields {
                line.push(' ');
                match &a[*f] {
                    Value::String(s) => line.push_str(s),
                    other => line.push_str(&other.to_string()),
                }
            }
            line
        })
        .collect();
    out.sort();
    out
}

fn is_subscription(query: &str) -> bool {
    let doc = async_graphql::parser::parse_query(query)
        .unwrap_or_else(|e| panic!("does not parse: {e}\n{query}"));
    doc.operations
        .iter()
        .any(|(_, op)| op.node.ty == async_graphql::parser::types::OperationType::Subscription)
}

/// A subscription example runs over the schema's stream: it must be accepted (filters, ids,
/// permissions and fields are checked when it starts) and, when it replays events, deliver
/// them without errors.
async fn check_subscription(app: &DemoApp, query: &str, vars: Value, token: &str, at: &str) {
    use futures_util::StreamExt;
    let viewer = skillgraph::http::auth::authenticate(&app.state, token)
        .await
        .unwrap();
    let request =
        async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(vars));
    let mut stream = app
        .schema
        .execute_stream(skillgraph::graphql::with_request_data(
            request, &app.state, viewer,
        ));
    if let Ok(first) =
        tokio::time::timeout(std::time::Duration::from_millis(500), stream.next()).await
    {
        let response = serde_json::to_value(first.expect("a subscription response")).unwrap();
        let errors = response["errors"].as_array().map_or(0, Vec::len);
        assert_eq!(errors, 0, "{at}: {response:#}");
    }
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
