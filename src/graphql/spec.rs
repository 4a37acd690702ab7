//! Execution as the GraphQL spec words it, where async-graphql 7 differs: a field that fails
//! answers `null` if its type is nullable, and otherwise makes its nearest nullable parent
//! `null` (up to `data` itself), so a client's generated types never meet a missing key. It also
//! tells the HTTP edge whether a request reached execution at all (`Executed`): a request
//! refused before it (parse, validation, variables) answers without `data`.
//!
//! async-graphql leaves a failing field's key out of its object and goes on. The extension's
//! `resolve` hook sees each field's result and its declared type: a failing nullable field
//! answers null (its error kept aside and added back at the end); a failing non-null field
//! leaves a mark at its path, which the enclosing field's hook consumes by nulling the nearest
//! nullable slot between them, or by failing in turn.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{QueryPathNode, QueryPathSegment, Response, ServerError, ServerResult, Value};

/// The schema extension (installed by `build_schema`).
pub struct Spec;

impl ExtensionFactory for Spec {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SpecExtension::default())
    }
}

/// Set when the request it travels with (as request data) reached execution.
#[derive(Clone, Default)]
pub struct Executed(Arc<AtomicBool>);

impl Executed {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The message of the stand-in error a non-null field returns when a child's failure nulls
/// it; the real error is already in the response, so the stand-in is dropped at the end.
const PROPAGATED: &str = "\u{0}skillgraph: null propagated";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Name(String),
    Index(usize),
}

#[derive(Default)]
struct SpecExtension {
    /// Whether `marks` may be non-empty (read on every field, so kept outside the lock).
    marked: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Paths of failed non-null fields whose parent must become null.
    marks: Vec<Vec<Seg>>,
    /// Errors of nullable fields answered with null (async-graphql did not record them).
    errors: Vec<ServerError>,
}

fn path_of(node: &QueryPathNode<'_>) -> Vec<Seg> {
    let mut path = Vec::new();
    let mut at = Some(node);
    while let Some(n) = at {
        path.push(match n.segment {
            QueryPathSegment::Name(name) => Seg::Name(name.to_string()),
            QueryPathSegment::Index(i) => Seg::Index(i),
        });
        at = n.parent;
    }
    path.reverse();
    path
}

/// Whether each slot of a field's type is nullable: the field itself, then each list level's
/// items, `[User!]` → [true, false].
fn nullability(ty: &str) -> Vec<bool> {
    let mut out = Vec::new();
    let mut ty = ty.trim();
    loop {
        let non_null = ty.ends_with('!');
        out.push(!non_null);
        let inner = ty.trim_end_matches('!');
        match inner.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            Some(t) => ty = t,
            None => return out,
        }
    }
}

impl SpecExtension {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark(&self, path: Vec<Seg>) {
        self.lock().marks.push(path);
        self.marked.store(true, Ordering::Release);
    }

    /// Consumes the marks left by direct children of the field at `path` (through its list
    /// levels) and nulls the nearest nullable slot of each. Err when the field itself must
    /// become null.
    fn settle(&self, path: &[Seg], ty: &str, value: &mut Value) -> Result<(), ()> {
        let children: Vec<Vec<Seg>> = {
            let mut state = self.lock();
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut state.marks)
                .into_iter()
                .partition(|m| m.len() > path.len() && m.starts_with(path));
            state.marks = rest;
            // Marks deeper down were settled by the fields between (every field passes here).
            mine.into_iter()
                .filter(|m| {
                    m[path.len()..m.len() - 1]
                        .iter()
                        .all(|s| matches!(s, Seg::Index(_)))
                })
                .collect::<Vec<_>>()
        };
        let slots = nullability(ty);
        let mut whole = false;
        for mark in children {
            let indices: Vec<usize> = mark[path.len()..mark.len() - 1]
                .iter()
                .filter_map(|s| match s {
                    Seg::Index(i) => Some(*i),
                    Seg::Name(_) => None,
                })
                .collect();
            // The slot holding the failed field's object is `indices.len()`; walk outwards.
            let nearest = (0..=indices.len().min(slots.len() - 1))
                .rev()
                .find(|&j| slots[j]);
            match nearest {
                Some(0) | None => whole = true,
                Some(j) => null_at(value, &indices[..j]),
            }
        }
        if whole { Err(()) } else { Ok(()) }
    }
}

/// Sets the item at `indices` (list positions, outermost first) of `value` to null.
fn null_at(value: &mut Value, indices: &[usize]) {
    match (value, indices) {
        (Value::List(items), [last]) => {
            if let Some(slot) = items.get_mut(*last) {
                *slot = Value::Null;
            }
        }
        (Value::List(items), [first, rest @ ..]) => {
            if let Some(item) = items.get_mut(*first) {
                null_at(item, rest);
            }
        }
        _ => {}
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for SpecExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(executed) = ctx.data_opt::<Executed>() {
            executed.0.store(true, Ordering::Relaxed);
        }
        let mut response = next.run(ctx, operation_name).await;
        let mut state = self.lock();
        response.errors.retain(|e| e.message != PROPAGATED);
        response.errors.append(&mut state.errors);
        // A mark left by a top-level field: `data` itself becomes null.
        if !state.marks.is_empty() {
            response.data = Value::Null;
        }
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // A list item: its declared type is not reliable here (async-graphql names `Item!` for
        // `[Item]`), so the list's own field settles its items from the list's type.
        if matches!(info.path_node.segment, QueryPathSegment::Index(_)) {
            return next.run(ctx, info).await;
        }
        let ty = info.return_type.to_string();
        let path_node = info.path_node;
        let result = next.run(ctx, info).await;
        let nullable = !ty.ends_with('!');
        let result = if self.marked.load(Ordering::Acquire) {
            let path = path_of(path_node);
            match result {
                Ok(value) => {
                    let mut v = value.unwrap_or_default();
                    match self.settle(&path, &ty, &mut v) {
                        Ok(()) => Ok(Some(v)),
                        Err(()) => Err(ServerError::new(PROPAGATED, None)),
                    }
                }
                // The field failed itself: what failed beneath it no longer matters.
                Err(e) => {
                    let _ = self.settle(&path, &ty, &mut Value::Null);
                    Err(e)
                }
            }
        } else {
            result
        };
        match result {
            Ok(value) => Ok(value),
            Err(e) if nullable => {
                if e.message != PROPAGATED {
                    self.lock().errors.push(e);
                }
                Ok(Some(Value::Null))
            }
            Err(e) => {
                self.mark(path_of(path_node));
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::nullability;

    #[test]
    fn slots_of_a_type() {
        assert_eq!(nullability("String"), vec![true]);
        assert_eq!(nullability("String!"), vec![false]);
        assert_eq!(nullability("[User!]!"), vec![false, false]);
        assert_eq!(nullability("[User]"), vec![true, true]);
        assert_eq!(nullability("[[Int!]]!"), vec![false, true, false]);
    }
}
