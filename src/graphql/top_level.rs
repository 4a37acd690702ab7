//! What happens around every request and every top-level field, over HTTP and WebSocket alike:
//! - API clients act only within their scopes: every top-level field a client asks for is
//!   checked against `authz::require_operation` before it resolves, so an operation outside the
//!   client's scopes is FORBIDDEN (and audited as a refusal) whatever it would have done;
//! - requests (by outcome) and top-level operations (by field and outcome) are counted and timed
//!   for `/metrics` (`crate::measure`). An outcome is `ok` or the first error's
//!   `extensions.code`.
//!
//! One extension for both, because an extension's `resolve` hook wraps every field of every
//! answer, not only the top-level ones.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{ErrorExtensions, Response, ServerError, ServerResult, Value};

use crate::service::authz;
use crate::service::viewer::Viewer;

/// The schema extension (installed by `build_schema`).
pub struct TopLevel;

impl ExtensionFactory for TopLevel {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(TopLevelExtension)
    }
}

struct TopLevelExtension;

fn code_of(error: &ServerError) -> String {
    match error.extensions.as_ref().and_then(|x| x.get("code")) {
        Some(Value::String(code)) => code.clone(),
        _ => "VALIDATION".to_string(),
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for TopLevelExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        let outcome = response
            .errors
            .first()
            .map_or_else(|| "ok".to_string(), code_of);
        crate::measure::graphql_request(outcome, started.elapsed());
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() {
            return next.run(ctx, info).await;
        }
        // A top-level field: its name is one of the schema's, never a client's alias.
        let operation = info.name.to_string();
        let started = Instant::now();
        let result = match ctx.data::<Viewer>() {
            Ok(viewer) if viewer.client.is_some() => {
                match authz::require_operation(viewer, info.name) {
                    Ok(()) => next.run(ctx, info).await,
                    Err(e) => {
                        let mut error = e.extend().into_server_error(info.field.name.pos);
                        let key = info.alias.unwrap_or(info.name).to_string();
                        error.path = vec![async_graphql::PathSegment::Field(key)];
                        Err(error)
                    }
                }
            }
            _ => next.run(ctx, info).await,
        };
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => code_of(e),
        };
        crate::measure::graphql_operation(operation, outcome, started.elapsed());
        result
    }
}
