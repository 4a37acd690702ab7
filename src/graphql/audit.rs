//! The audit log, newest first; OWNER and ADMIN only.

use async_graphql::{Context, ID, InputObject, Json, Object};

use super::pagination::{Conn, connection};
use super::scalars::DateTime;
use super::{parse_opt_id, parts, to_id};
use crate::error::AppError;
use crate::service::audit::{self as service, Action, SubjectType};
use crate::service::page::PageRequest;
use crate::service::viewer::ActorType;
use entity::audit_event;

/// One recorded change: who did what to which object, with before/after snapshots.
pub struct AuditEvent(pub audit_event::Model);

/// One recorded change: who did what to which object, with before/after snapshots.
#[Object]
impl AuditEvent {
    /// The event's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// When the change was committed.
    async fn at(&self) -> DateTime {
        DateTime::from_micros(self.0.at)
    }

    /// Who made the change: the user's id (`actorType` USER) or the API client's (API_CLIENT);
    /// null when the system did (engine, scheduler, command line).
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(to_id)
    }

    /// Who made the change: a person, a partner's API client, or the system.
    async fn actor_type(&self) -> async_graphql::Result<ActorType> {
        parse_word(&self.0.actor_type)
    }

    /// What happened, e.g. `USER_CREATED`, `MEMBERSHIP_ADDED`, `USER_TRANSFERRED`.
    async fn action(&self) -> async_graphql::Result<Action> {
        parse_word(&self.0.action)
    }

    /// The kind of object changed: `USER`, `GROUP`, `ROLE`, `ORGANIZATION` …
    /// Membership and transfer events name the user.
    async fn subject_type(&self) -> async_graphql::Result<SubjectType> {
        parse_word(&self.0.subject_type)
    }

    /// The id of the object the event is about (see `subjectType`).
    async fn subject_id(&self) -> Option<ID> {
        self.0.subject_id.map(to_id)
    }

    /// The object before the change (null for creations).
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .before_json
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .map(Json)
    }

    /// The object after the change (null for deletions).
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .after_json
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .map(Json)
    }

    /// The id of the HTTP request that made the change (also in the server's logs).
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
}

/// A stored word read back as its enum (an unknown one is a server fault, never the client's).
fn parse_word<T: std::str::FromStr>(word: &str) -> async_graphql::Result<T> {
    word.parse()
        .map_err(|_| AppError::internal(format!("unknown audit word {word}")).into())
}

/// Narrows the audit log; every condition given must hold.
#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Only events about this object.
    pub subject_id: Option<ID>,
    /// Only changes made by this user or API client.
    pub actor_id: Option<ID>,
    /// Any of these actions.
    pub actions: Option<Vec<Action>>,
    /// From this instant on (inclusive).
    pub from: Option<DateTime>,
    /// Up to this instant (inclusive).
    pub to: Option<DateTime>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Every change, newest first. OWNER and ADMIN.
    #[graphql(complexity = "super::pagination::cost(first, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted, everything the viewer may see.")]
        filter: Option<AuditFilter>,
        #[graphql(desc = "How many items to return: 50 when omitted, at most 500.")] first: Option<
            i32,
        >,
        #[graphql(
            desc = "Start after this cursor (the `pageInfo.endCursor` of the previous page); omitted, from the beginning."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Conn<AuditEvent>> {
        let (state, viewer) = parts(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = service::AuditFilter {
            subject_id: parse_opt_id(&f.subject_id, "subject")?,
            actor_id: parse_opt_id(&f.actor_id, "actor")?,
            actions: f
                .actions
                .map(|a| a.iter().map(|a| a.as_str().to_string()).collect()),
            from: f.from.map(|t| t.micros()),
            to: f.to.map(|t| t.micros()),
        };
        let page = PageRequest::new(first, after)?.of_org(viewer.org_id);
        let rows = service::list(&state.db.read, viewer, &filter, &page).await?;
        let (db, viewer) = (state.db.read.clone(), viewer.clone());
        Ok(connection(rows, AuditEvent, move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            Box::pin(async move { service::count(&db, &viewer, &filter).await })
        }))
    }
}
