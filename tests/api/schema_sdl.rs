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

#[test]
fn every_type_and_field_is_documented() {
    // The schema documents itself (STYLE.md 15): object and input fields defined by us carry a
    // description. Built-in connection types are exempt.
    let sdl = skillgraph::sdl();
    for needle in [
        "type Query",
        "type Mutation",
        "type User ",
        "type Group ",
        "type Membership ",
        "type AuditEvent ",
    ] {
        let at = sdl
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"));
        let before = &sdl[..at];
        assert!(
            before.trim_end().ends_with("\"\"\""),
            "{needle} has no description"
        );
    }
}
