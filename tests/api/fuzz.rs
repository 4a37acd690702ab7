//! Hostile input over real HTTP: random GraphQL documents (real and made-up fields, deep
//! nesting, huge strings, unicode, SQL and JSON metacharacters), random variables of the wrong
//! types, and random CSV files for `importRolesCsv`. A short, time-bounded run: the server never
//! panics, never answers 5xx, and a health check and an ordinary query still work at the end.
//! `FUZZ_SECONDS` lengthens the run.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Strings that have broken parsers, SQL builders and JSON encoders before.
const NASTY: &[&str] = &[
    "",
    " ",
    "'",
    "\"",
    "\\",
    "'; DROP TABLE users; --",
    "\" OR 1=1 --",
    "%",
    "_",
    "\\%",
    "$1",
    "?",
    "{\"a\":",
    "]}",
    "\u{0}",
    "\u{202e}evil",
    "😀🏳️‍🌈",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\r\n",
    "null",
    "NaN",
    "-0",
    "1e309",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "not-a-uuid",
    "9999-12-31T23:59:59Z",
    "0000-00-00",
    "2026-02-30",
    "Bearer x",
];

/// Real top-level fields (so the fuzz reaches resolvers and services) and some that do not
/// exist.
const FIELDS: &[&str] = &[
    "viewer",
    "user",
    "users",
    "group",
    "groups",
    "role",
    "roles",
    "skill",
    "skills",
    "course",
    "courses",
    "rule",
    "rules",
    "previewRule",
    "assignment",
    "assignments",
    "complianceStatus",
    "complianceReport",
    "expiringCompletions",
    "assignmentEvents",
    "auditLog",
    "roleMatches",
    "careerPaths",
    "recommendations",
    "proficiencyScale",
    "__schema",
    "__type",
    "nope",
];

const MUTATIONS: &[&str] = &[
    "createUser",
    "updateUser",
    "deactivateUser",
    "createGroup",
    "moveGroup",
    "deleteGroup",
    "addMembership",
    "transferUser",
    "createRole",
    "setRoleSkills",
    "linkRoles",
    "createSkill",
    "rateSkill",
    "setProficiencyScale",
    "importRolesCsv",
    "createCourse",
    "createRule",
    "updateRule",
    "recordCompletion",
    "startAssignment",
    "setTargetRole",
];

const SUBFIELDS: &[&str] = &[
    "id",
    "name",
    "email",
    "manager",
    "nodes",
    "edges",
    "node",
    "members",
    "assignments",
    "user",
    "course",
    "skills",
    "totalCount",
    "pageInfo",
    "endCursor",
    "__typename",
    "children",
    "parent",
    "reasons",
    "rule",
    "items",
    "status",
];

fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(NASTY).prop_map(str::to_string),
        3 => "\\PC{0,40}",
        1 => (proptest::sample::select(NASTY), 1usize..20_000).prop_map(|(s, n)| s.repeat(n.min(200_000 / s.len().max(1)))),
        1 => (1usize..300_000).prop_map(|n| "x".repeat(n)),
    ]
}

/// An arbitrary JSON value, nested up to a few levels, or very deeply.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        nasty_string().prop_map(Value::from),
    ];
    let nested = leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(
                        &[
                            "id",
                            "name",
                            "email",
                            "userId",
                            "groupId",
                            "courseId",
                            "roleId",
                            "skillId",
                            "level",
                            "csv",
                            "audience",
                            "courses",
                            "input",
                            "filter",
                            "after",
                            "first",
                            "levels",
                            "attributes",
                        ][..]
                    )
                    .prop_map(str::to_string),
                    "\\PC{0,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        8 => nested,
        1 => (1usize..3000).prop_map(|depth| {
            let mut v = json!(1);
            for _ in 0..depth {
                v = json!([v]);
            }
            v
        }),
    ]
}

/// A GraphQL literal: sometimes the right shape, mostly the wrong one.
fn literal() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        nasty_string().prop_map(|s| serde_json::to_string(&s).unwrap()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("ACTIVE".to_string()),
        Just("$v".to_string()),
        Just("99999999999999999999999999".to_string()),
    ];
    leaf.prop_recursive(3, 20, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            proptest::collection::vec(
                (
                    proptest::sample::select(
                        &[
                            "id", "name", "email", "userId", "groupId", "courseId", "levels",
                            "csv", "first", "audience", "courses", "search",
                        ][..]
                    ),
                    inner
                ),
                0..4
            )
            .prop_map(|fields| format!(
                "{{ {} }}",
                fields
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ]
    })
}

/// A selection set of random (mostly real) sub-fields, nested `depth` levels.
fn selection(depth: usize, width: &[usize]) -> String {
    if depth == 0 {
        return "id".into();
    }
    let w = width[depth % width.len()] % 4 + 1;
    let fields: Vec<String> = (0..w)
        .map(|i| {
            let name = SUBFIELDS[(width[(depth + i) % width.len()] + i) % SUBFIELDS.len()];
            if i == 0 {
                format!("{name} {{ {} }}", selection(depth - 1, width))
            } else {
                name.to_string()
            }
        })
        .collect();
    fields.join(" ")
}

/// A random document (and its variables).
fn document() -> impl Strategy<Value = (String, Value)> {
    let query_doc = (
        proptest::sample::select(FIELDS),
        proptest::collection::vec(
            (
                proptest::sample::select(
                    &[
                        "id",
                        "first",
                        "after",
                        "filter",
                        "input",
                        "userId",
                        "search",
                        "asOf",
                        "warningDays",
                        "ruleId",
                        "fromRoleId",
                        "toRoleId",
                        "withinDays",
                    ][..],
                ),
                literal(),
            ),
            0..4,
        ),
        0usize..12,
        proptest::collection::vec(0usize..64, 1..6),
        json_value(),
    )
        .prop_map(|(field, args, depth, width, var)| {
            let args = if args.is_empty() {
                String::new()
            } else {
                format!(
                    "({})",
                    args.iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            (
                format!(
                    "query Q($v: String) {{ a: {field}{args} {{ {} }} }}",
                    selection(depth, &width)
                ),
                json!({ "v": var }),
            )
        });
    let mutation_doc = (
        proptest::sample::select(MUTATIONS),
        prop_oneof![literal().prop_map(Some), Just(None)],
        json_value(),
    )
        .prop_map(|(field, inline, var)| {
            let input_type = {
                let mut c = field.chars();
                let first = c.next().unwrap().to_uppercase().collect::<String>();
                format!("{first}{}Input", c.as_str())
            };
            match inline {
                Some(lit) => (
                    format!("mutation {{ {field}(input: {lit}) {{ __typename }} }}"),
                    json!({}),
                ),
                None => (
                    format!(
                        "mutation M($i: {input_type}!) {{ {field}(input: $i) {{ __typename }} }}"
                    ),
                    json!({ "i": var }),
                ),
            }
        });
    let deep = (1usize..5000, any::<bool>()).prop_map(|(n, braces)| {
        let doc = if braces {
            format!(
                "{{ viewer {{ {} id {} }} }}",
                "manager { ".repeat(n),
                " }".repeat(n)
            )
        } else {
            format!("{{ viewer {} }}", "{".repeat(n))
        };
        (doc, json!({}))
    });
    let fragments = (1usize..200).prop_map(|n| {
        let mut doc = String::from("{ viewer { ...F0 } }\n");
        for i in 0..n {
            doc.push_str(&format!(
                "fragment F{i} on User {{ id ...F{} }}\n",
                (i + 1) % n
            ));
        }
        (doc, json!({}))
    });
    let aliases = (1usize..3000).prop_map(|n| {
        let body: String = (0..n)
            .map(|i| format!("a{i}: users {{ totalCount }} "))
            .collect();
        (format!("{{ {body} }}"), json!({}))
    });
    let garbage = ("\\PC{0,400}", json_value()).prop_map(|(s, v)| (s, json!({ "v": v })));
    prop_oneof![
        4 => query_doc,
        4 => mutation_doc,
        1 => deep,
        1 => fragments,
        1 => aliases,
        2 => garbage,
    ]
}

/// A random CSV file of roles: real and made-up headers, quoting, separators, levels, unicode.
fn csv_file() -> impl Strategy<Value = String> {
    let cell = prop_oneof![
        nasty_string(),
        "[A-Za-z ]{0,12}",
        "[A-Za-z]{1,8}:[0-9-]{0,3}(;[A-Za-z]{1,8}:[0-9]{0,2}){0,3}",
        Just("\"quoted, with comma\"".to_string()),
        Just("\"unterminated".to_string()),
        Just("a\"b".to_string()),
        Just(";;;".to_string()),
        Just(":::".to_string()),
    ];
    let header = prop_oneof![
        Just("name,description,category,responsibilities,skills,advances_from".to_string()),
        proptest::sample::subsequence(
            vec![
                "name",
                "description",
                "category",
                "responsibilities",
                "skills",
                "advances_from",
                "extra",
                "NAME"
            ],
            0..8
        )
        .prop_map(|h| h.join(",")),
        "\\PC{0,30}",
    ];
    (
        header,
        proptest::collection::vec(proptest::collection::vec(cell, 0..8), 0..30),
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
    )
        .prop_map(|(header, rows, eol)| {
            let mut out = header;
            for row in rows {
                out.push_str(eol);
                out.push_str(&row.join(","));
            }
            out
        })
}

/// A case for a failure message: its first 300 characters.
fn describe(case: &Case) -> String {
    format!("{case:?}").chars().take(300).collect()
}

#[derive(Debug, Clone)]
enum Case {
    Document(String, Value),
    Csv(String, bool),
    RawBody(Vec<u8>),
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        6 => document().prop_map(|(d, v)| Case::Document(d, v)),
        3 => (csv_file(), any::<bool>()).prop_map(|(c, dry)| Case::Csv(c, dry)),
        1 => proptest::collection::vec(any::<u8>(), 0..2000).prop_map(Case::RawBody),
    ]
}

async fn run(server: &crate::http::Server, token: &str, case: &Case) -> Result<(), TestCaseError> {
    let request = server
        .client
        .post(format!("{}/graphql", server.base))
        .bearer_auth(token);
    let request = match case {
        Case::Document(doc, vars) => request.json(&json!({ "query": doc, "variables": vars })),
        Case::Csv(csv, dry) => request.json(&json!({
            "query": "mutation($i: ImportRolesCsvInput!) { importRolesCsv(input: $i) { rolesCreated } }",
            "variables": { "i": { "csv": csv, "dryRun": dry } },
        })),
        Case::RawBody(bytes) => request
            .header("content-type", "application/json")
            .body(bytes.clone()),
    };
    let response = request
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| TestCaseError::fail(format!("the server did not answer: {e}")))?;
    let status = response.status();
    let shown = describe(case);
    let body = response.text().await.unwrap_or_default();
    prop_assert!(
        !status.is_server_error(),
        "{status} for {shown}: {body:.500}"
    );
    let lower = body.to_lowercase();
    for leak in [
        "panicked",
        "stack backtrace",
        "sqlx",
        "syntax error at or near",
        "no such column",
    ] {
        prop_assert!(
            !lower.contains(leak),
            "the answer leaks {leak:?} for {shown}: {body:.500}"
        );
    }
    if status.is_success() {
        let json: Value = serde_json::from_str(&body)
            .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {body:.300}")))?;
        if let Some(errors) = json["errors"].as_array() {
            for e in errors {
                let code = e["extensions"]["code"].as_str().unwrap_or("");
                prop_assert!(
                    [
                        "UNAUTHENTICATED",
                        "FORBIDDEN",
                        "NOT_FOUND",
                        "VALIDATION",
                        "CONFLICT",
                        "RATE_LIMITED"
                    ]
                    .contains(&code),
                    "an error without a client code ({code:?}) for {shown}: {e}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn hostile_documents_variables_and_csv_files_never_take_the_server_down() {
    // The client side (generating, serializing and dropping very deep values) recurses; give it
    // room. The server's tasks run on the runtime's workers with the default stack, as in
    // production.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(fuzz)
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

fn fuzz() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(TestApp::spawn());
    let server = rt.block_on(crate::http::serve(&app));
    let budget = Duration::from_secs(
        std::env::var("FUZZ_SECONDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(6),
    );
    let started = Instant::now();
    let ran = std::cell::Cell::new(0u64);
    // Batches of random cases until the time budget is spent.
    while started.elapsed() < budget {
        let mut runner = TestRunner::new(Config {
            cases: 32,
            failure_persistence: None,
            max_shrink_iters: 100,
            ..Config::default()
        });
        let result = runner.run(&case(), |case| {
            ran.set(ran.get() + 1);
            rt.block_on(run(&server, &app.admin, &case))
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
    let ran = ran.get();
    assert!(ran > 20, "the fuzz ran only {ran} cases");
    rt.block_on(async {
        let health = server
            .client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .expect("the server is up");
        assert_eq!(health.status(), 200);
        let (status, body) = server
            .post(Some(&app.admin), json!({ "query": "{ viewer { id } }" }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["viewer"]["id"], app.admin_id.to_string());
    });
}
