//! `schema.graphql` must equal the served schema; `UPDATE_SCHEMA=1 cargo test` rewrites it.

#[test]
fn schema_graphql_matches_the_served_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let served = skillgraph::sdl();
    if std::env::var("UPDATE_SCHEMA").is_ok() {
        std::fs::write(&path, &served).expect("write schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == served,
        "schema.graphql differs from the served schema; run `UPDATE_SCHEMA=1 cargo test schema_graphql` and commit it"
    );
}

/// Every element of the served schema that lacks a description, as `Type`, `Type.field`,
/// `Type.field(arg)`, `Input.field` or `Enum.VALUE`.
async fn undocumented() -> Vec<String> {
    let schema = skillgraph::graphql::build_schema(&skillgraph::state::Settings::default());
    let query = r#"{ __schema { types { name kind description specifiedByURL
        fields(includeDeprecated: true) { name description args { name description } }
        inputFields { name description }
        enumValues(includeDeprecated: true) { name description } } } }"#;
    let response = schema.execute(query).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    let blank = |v: &serde_json::Value| v.as_str().is_none_or(|s| s.trim().is_empty());
    let mut missing = Vec::new();
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") {
            continue;
        }
        if blank(&ty["description"]) {
            missing.push(name.to_string());
        }
        if ty["kind"] == "SCALAR"
            && !["String", "Int", "Float", "Boolean", "ID"].contains(&name)
            && blank(&ty["specifiedByURL"])
        {
            missing.push(format!("{name} @specifiedBy"));
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            let f = field["name"].as_str().unwrap();
            if blank(&field["description"]) {
                missing.push(format!("{name}.{f}"));
            }
            for arg in field["args"].as_array().into_iter().flatten() {
                if blank(&arg["description"]) {
                    missing.push(format!("{name}.{f}({})", arg["name"].as_str().unwrap()));
                }
            }
        }
        for field in ty["inputFields"].as_array().into_iter().flatten() {
            if blank(&field["description"]) {
                missing.push(format!("{name}.{}", field["name"].as_str().unwrap()));
            }
        }
        for value in ty["enumValues"].as_array().into_iter().flatten() {
            if blank(&value["description"]) {
                missing.push(format!("{name}.{}", value["name"].as_str().unwrap()));
            }
        }
    }
    missing
}

#[tokio::test]
async fn every_element_of_the_schema_is_documented() {
    // The schema documents itself (STYLE.md 15): every type, field, argument, input field and
    // enum value, and every custom scalar names its specification.
    let missing = undocumented().await;
    assert!(
        missing.is_empty(),
        "{} schema elements have no description:\n{}",
        missing.len(),
        missing.join("\n")
    );
}
