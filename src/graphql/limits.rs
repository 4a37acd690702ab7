//! Cost limits that hold for every request, over HTTP and over WebSocket: the size of the
//! document, the inputs it carries (every list bounded, every text bounded and free of NUL
//! bytes), its depth and its cost. async-graphql computes depth and complexity; this extension
//! adds what its complexity leaves out (`__typename` selections and the items of list-valued
//! arguments) and refuses with `extensions.cost` and `extensions.limit`, so a client learns
//! by how much it went over.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{
    ErrorExtensions, Name, Pos, Positioned, ServerError, ServerResult, ValidationResult, Value,
    Variables,
};

use crate::error::AppError;
use crate::state::Settings;

/// Input fields whose text may be as long as the request body allows (a whole CSV file).
const LONG_TEXT_FIELDS: &[&str] = &["csv"];

/// The bounds one request must stay within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_document_bytes: usize,
    pub max_list_items: usize,
    pub max_text_chars: usize,
}

impl Limits {
    pub fn of(settings: &Settings) -> Limits {
        Limits {
            max_depth: settings.max_depth,
            max_complexity: settings.max_complexity,
            max_document_bytes: settings.max_document_bytes,
            max_list_items: settings.max_list_items,
            max_text_chars: settings.max_text_chars,
        }
    }
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension {
            limits: *self,
            extra: AtomicUsize::new(0),
        })
    }
}

struct LimitsExtension {
    limits: Limits,
    /// What the document costs beyond async-graphql's complexity (set while parsing).
    extra: AtomicUsize,
}

/// A VALIDATION error about `field`, as a server error.
fn refuse(field: &str, message: String, pos: Option<Pos>) -> ServerError {
    let mut e = AppError::validation(field, message)
        .extend()
        .into_server_error(pos.unwrap_or_default());
    if pos.is_none() {
        e.locations.clear();
    }
    e
}

/// A refusal that says what the request cost and what the limit is.
fn over_limit(what: &str, cost: usize, limit: usize, message: String) -> ServerError {
    let mut e = async_graphql::Error::new(message)
        .extend_with(|_, ext| {
            ext.set("code", "VALIDATION");
            ext.set("field", what);
            ext.set("cost", cost as u64);
            ext.set("limit", limit as u64);
        })
        .into_server_error(Pos::default());
    e.locations.clear();
    e
}

#[async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let limits = &self.limits;
        if query.len() > limits.max_document_bytes {
            return Err(over_limit(
                "query",
                query.len(),
                limits.max_document_bytes,
                format!(
                    "the document is {} bytes, more than the {} allowed",
                    query.len(),
                    limits.max_document_bytes
                ),
            ));
        }
        // Variables are checked here (naming the variable), and again, substituted, in each
        // argument that uses them, where their lists count towards the cost.
        for (name, value) in variables.iter() {
            check_value(limits, name.as_str(), name.as_str(), value, &mut 0, None)?;
        }
        let doc = next.run(ctx, query, variables).await?;
        let mut walk = Walk {
            limits,
            doc: &doc,
            variables,
            fragments: HashMap::new(),
            visiting: Vec::new(),
        };
        let mut extra = 0usize;
        for (_, op) in doc.operations.iter() {
            extra = extra.saturating_add(walk.selection_set(&op.node.selection_set)?);
        }
        self.extra.store(extra, Ordering::Relaxed);
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let limits = &self.limits;
        if result.depth > limits.max_depth {
            return Err(vec![over_limit(
                "depth",
                result.depth,
                limits.max_depth,
                format!(
                    "Query is nested too deep: depth {}, at most {}.",
                    result.depth, limits.max_depth
                ),
            )]);
        }
        let cost = result
            .complexity
            .saturating_add(self.extra.load(Ordering::Relaxed));
        if cost > limits.max_complexity {
            return Err(vec![over_limit(
                "complexity",
                cost,
                limits.max_complexity,
                format!(
                    "Query is too complex: cost {cost}, at most {}. Ask for fewer items \
                     (`first`), fewer fields or fewer aliases.",
                    limits.max_complexity
                ),
            )]);
        }
        Ok(ValidationResult {
            complexity: cost,
            ..result
        })
    }
}

/// Walks a document once per fragment: checks every literal argument and counts what the
/// complexity leaves out (each `__typename` selection, each item of a list argument).
struct Walk<'a> {
    limits: &'a Limits,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    /// The extra cost of each fragment already walked.
    fragments: HashMap<Name, usize>,
    /// Fragments being walked (a cycle is left to validation, which refuses it).
    visiting: Vec<Name>,
}

impl Walk<'_> {
    fn selection_set(&mut self, set: &Positioned<SelectionSet>) -> ServerResult<usize> {
        let mut cost = 0usize;
        for selection in &set.node.items {
            let add = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let mut c = usize::from(field.name.node == "__typename");
                    let directives = field
                        .directives
                        .iter()
                        .flat_map(|d| d.node.arguments.iter());
                    for (name, value) in field.arguments.iter().chain(directives) {
                        let mut items = 0;
                        let value_pos = value.pos;
                        let value = value
                            .node
                            .clone()
                            .into_const_with(|var| {
                                Ok::<_, std::convert::Infallible>(
                                    self.variables.get(&var).cloned().unwrap_or(Value::Null),
                                )
                            })
                            .unwrap_or(Value::Null);
                        check_value(
                            self.limits,
                            name.node.as_str(),
                            name.node.as_str(),
                            &value,
                            &mut items,
                            Some(value_pos),
                        )?;
                        c = c.saturating_add(items);
                    }
                    c.saturating_add(self.selection_set(&field.selection_set)?)
                }
                Selection::InlineFragment(f) => self.selection_set(&f.node.selection_set)?,
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if let Some(c) = self.fragments.get(name) {
                        *c
                    } else if self.visiting.contains(name) {
                        0
                    } else if let Some(fragment) = self.doc.fragments.get(name) {
                        self.visiting.push(name.clone());
                        let c = self.selection_set(&fragment.node.selection_set)?;
                        self.visiting.pop();
                        self.fragments.insert(name.clone(), c);
                        c
                    } else {
                        0
                    }
                }
            };
            cost = cost.saturating_add(add);
        }
        Ok(cost)
    }
}

/// Checks one input value: lists at most `max_list_items` long, texts at most
/// `max_text_chars` characters (except whole files) and without NUL bytes. Adds the items of
/// every list to `items`.
fn check_value(
    limits: &Limits,
    path: &str,
    key: &str,
    value: &Value,
    items: &mut usize,
    pos: Option<Pos>,
) -> ServerResult<()> {
    match value {
        Value::String(s) => {
            if s.contains('\0') {
                return Err(refuse(
                    path,
                    format!("{path} must not contain NUL characters"),
                    pos,
                ));
            }
            if !LONG_TEXT_FIELDS.contains(&key) {
                let chars = s.chars().count();
                if chars > limits.max_text_chars {
                    return Err(refuse(
                        path,
                        format!(
                            "{path} is {chars} characters long; at most {} are allowed",
                            limits.max_text_chars
                        ),
                        pos,
                    ));
                }
            }
        }
        Value::List(list) => {
            if list.len() > limits.max_list_items {
                return Err(refuse(
                    path,
                    format!(
                        "{path} has {} items; at most {} are allowed",
                        list.len(),
                        limits.max_list_items
                    ),
                    pos,
                ));
            }
            *items = items.saturating_add(list.len());
            for v in list {
                check_value(limits, path, key, v, items, pos)?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let path = format!("{path}.{k}");
                check_value(limits, &path, k.as_str(), v, items, pos)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// At most this many errors are sent back for one request; the rest are summed up in one.
pub const MAX_ERRORS: usize = 20;

/// At most this many characters of one error message are sent back.
pub const MAX_ERROR_MESSAGE: usize = 1_000;

/// Bounds the errors of a response: a document with thousands of mistakes answers with the
/// first few of them, not with a body larger than itself.
pub fn bound_errors(response: &mut async_graphql::Response) {
    for e in &mut response.errors {
        if e.message.len() > MAX_ERROR_MESSAGE {
            let mut end = MAX_ERROR_MESSAGE;
            while !e.message.is_char_boundary(end) {
                end -= 1;
            }
            e.message.truncate(end);
            e.message.push('…');
        }
        e.locations.truncate(5);
    }
    if response.errors.len() > MAX_ERRORS {
        let more = response.errors.len() - (MAX_ERRORS - 1);
        response.errors.truncate(MAX_ERRORS - 1);
        let code = response.errors[0]
            .extensions
            .as_ref()
            .and_then(|x| x.get("code").cloned())
            .unwrap_or_else(|| Value::from("VALIDATION"));
        let mut e = ServerError::new(format!("… and {more} more errors"), None);
        e.extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
        response.errors.push(e);
    }
}
