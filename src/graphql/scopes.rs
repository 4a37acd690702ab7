//! API clients act only within their scopes: every top-level field a client asks for is checked
//! against `authz::require_operation` before it resolves, so an operation outside the client's
//! scopes is FORBIDDEN (and audited as a refusal) whatever it would have done.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ErrorExtensions, ServerResult, Value};

use crate::service::authz;
use crate::service::viewer::Viewer;

/// The schema extension (installed by `build_schema`).
pub struct ClientScopes;

impl ExtensionFactory for ClientScopes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ClientScopesExtension)
    }
}

struct ClientScopesExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for ClientScopesExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_none()
            && let Ok(viewer) = ctx.data::<Viewer>()
            && let Err(e) = authz::require_operation(viewer, info.name)
        {
            return Err(e.extend().into_server_error(async_graphql::Pos::default()));
        }
        next.run(ctx, info).await
    }
}
