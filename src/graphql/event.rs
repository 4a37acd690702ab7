//! Assignment events: the `AssignmentEvent` type, the polling query `assignmentEvents` (a
//! connection) and the `assignmentEvents` subscription (replay after a cursor, then live).

use std::sync::Arc;

use async_graphql::{Context, Enum, ErrorExtensions, ID, InputObject, Object, Subscription};
use futures_util::{Stream, StreamExt};

use super::assignment::Assignment;
use super::pagination::{Conn, connection};
use super::scalars::DateTime;
use super::{parse_opt_id, parts};
use crate::error::AppError;
use crate::service::events::{self as service, Event, EventFilter, live};
use crate::service::page::PageRequest;
use crate::service::session::Session;

/// What happened to an assignment.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AssignmentEventKind {
    /// A rule (or a person) required the course of the user: a new assignment.
    Assigned,
    /// The unlock date passed (or a prerequisite was completed): the course is available.
    Unlocked,
    /// The user started the course.
    Started,
    /// The user completed the course.
    Completed,
    /// No rule requires the course any more and it was not completed: the assignment ended.
    Withdrawn,
    /// The due date passed before completion.
    Overdue,
    /// A completion's validity ended.
    Expired,
    /// The renewal window of a completion opened: a new cycle of the assignment starts.
    RenewalOpened,
}

impl AssignmentEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentEventKind::Assigned => "ASSIGNED",
            AssignmentEventKind::Unlocked => "UNLOCKED",
            AssignmentEventKind::Started => "STARTED",
            AssignmentEventKind::Completed => "COMPLETED",
            AssignmentEventKind::Withdrawn => "WITHDRAWN",
            AssignmentEventKind::Overdue => "OVERDUE",
            AssignmentEventKind::Expired => "EXPIRED",
            AssignmentEventKind::RenewalOpened => "RENEWAL_OPENED",
        }
    }

    pub fn parse(s: &str) -> Option<AssignmentEventKind> {
        use AssignmentEventKind::*;
        [
            Assigned,
            Unlocked,
            Started,
            Completed,
            Withdrawn,
            Overdue,
            Expired,
            RenewalOpened,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One change of an assignment, in the order the organization's changes committed.
pub struct AssignmentEvent {
    event: Arc<Event>,
}

/// One change of an assignment, in the order the organization's changes committed.
#[Object]
impl AssignmentEvent {
    /// Opaque position of this event in the organization's event log: pass it as `after` to
    /// receive only what came later (after a reconnect, or for the next page).
    async fn cursor(&self) -> &str {
        &self.event.cursor
    }

    /// What happened.
    async fn kind(&self) -> async_graphql::Result<AssignmentEventKind> {
        AssignmentEventKind::parse(&self.event.kind).ok_or_else(|| {
            AppError::internal(format!("unknown event kind {}", self.event.kind)).extend()
        })
    }

    /// When the change happened (the time of its transaction).
    async fn at(&self) -> DateTime {
        DateTime::from_micros(self.event.at)
    }

    /// The assignment, as it stood when the event was read from the log (so a replayed
    /// `ASSIGNED` event may show a later status).
    async fn assignment(&self) -> Assignment {
        Assignment(self.event.assignment.clone())
    }
}

/// Which events to receive; all given parts must hold. A LEARNER receives only its own events,
/// a MANAGER those of its reports (and its own), OWNER/ADMIN/HR the whole organization's.
#[derive(InputObject, Default)]
pub struct AssignmentEventFilter {
    /// Events of this user's assignments. Another user's, for a viewer who may not see them:
    /// NOT_FOUND.
    pub user_id: Option<ID>,
    /// Events of users who were members of this group (or of its subgroups, see
    /// `includeSubgroups`) when the event happened.
    pub group_id: Option<ID>,
    /// With `groupId`: members of its subgroups count too (default true).
    pub include_subgroups: Option<bool>,
    /// Events of assignments of this course.
    pub course_id: Option<ID>,
    /// Events of assignments this rule required when the event happened.
    pub rule_id: Option<ID>,
    /// Only these kinds (default: every kind). An empty list is refused.
    pub kinds: Option<Vec<AssignmentEventKind>>,
}

impl AssignmentEventFilter {
    fn into_service(self) -> Result<EventFilter, AppError> {
        Ok(EventFilter {
            user_id: parse_opt_id(&self.user_id, "user")?,
            group_id: parse_opt_id(&self.group_id, "group")?,
            include_subgroups: self.include_subgroups.unwrap_or(true),
            course_id: parse_opt_id(&self.course_id, "course")?,
            rule_id: parse_opt_id(&self.rule_id, "rule")?,
            kinds: self
                .kinds
                .map(|k| k.iter().map(|k| k.as_str().to_string()).collect()),
        })
    }
}

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// Assignment events for clients that poll instead of subscribing, oldest first. Pass the
    /// last `cursor` you received as `after` to get only newer events; `first` defaults to 50 (at
    /// most 500). A cursor from another organization, or malformed: VALIDATION; a cursor older
    /// than the event retention period (whose following events were pruned): VALIDATION, with
    /// a message to resync from the `assignments` query.
    #[graphql(complexity = "super::pagination::cost(first, child_complexity)")]
    async fn assignment_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted, everything the viewer may see.")]
        filter: Option<AssignmentEventFilter>,
        #[graphql(desc = "How many items to return: 50 when omitted, at most 500.")] first: Option<
            i32,
        >,
        #[graphql(
            desc = "Start after this cursor (the `pageInfo.endCursor` of the previous page); omitted, from the beginning."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Conn<AssignmentEvent>> {
        let (state, viewer) = parts(ctx)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let prepared = service::prepare(&state.db.read, viewer, filter).await?;
        let page = PageRequest::new(first, after)?;
        let rows = service::page(&state.db.read, &prepared, &page).await?;
        let db = state.db.read.clone();
        Ok(connection(
            rows,
            |event| AssignmentEvent {
                event: Arc::new(event),
            },
            move || {
                let (db, prepared) = (db.clone(), prepared.clone());
                Box::pin(async move { service::count(&db, &prepared).await })
            },
        ))
    }
}

#[derive(Default)]
pub struct EventSubscription;

#[Subscription]
impl EventSubscription {
    /// Assignment events as they commit, in commit order, each with a `cursor`. With `after`
    /// (the last cursor you received), every later event is replayed first, then live ones
    /// follow, with no gap and no duplicate; without it, the stream starts when the server
    /// receives the subscription (to miss nothing from a known point, pass the `endCursor` of
    /// the `assignmentEvents` query). Bad `after` and filter ids answer as in the query. An event is never sent before its transaction
    /// commits. When the subscription cannot go on (the server shuts down, the token expires,
    /// the events after your position were pruned) it ends with one error whose
    /// `extensions.resumeAfter` is the cursor to subscribe again with.
    async fn assignment_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted, everything the viewer may see.")]
        filter: Option<AssignmentEventFilter>,
        #[graphql(
            desc = "Start after this cursor (the `pageInfo.endCursor` of the previous page); omitted, from the beginning."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<AssignmentEvent>> + use<>>
    {
        let (state, viewer) = parts(ctx)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let prepared = service::prepare(&state.db.read, viewer, filter).await?;
        let start = match &after {
            Some(c) => Some(service::resume_point(&state.db.read, viewer, c).await?),
            None => None,
        };
        let session = ctx.data_opt::<Arc<Session>>().cloned();
        let stream = live::subscribe(state, prepared, start, session).await?;
        Ok(stream.map(move |item| match item {
            Ok(event) => Ok(AssignmentEvent { event }),
            Err(end) => Err(end_error(end)),
        }))
    }
}

/// The error that ends a live subscription. Unless its events are gone (then the client must
/// resync), it names the cursor to resume from.
fn end_error(end: live::LiveError) -> async_graphql::Error {
    let base = end.error.extend();
    let resumable = !matches!(end.error, AppError::Validation { .. });
    let message = if resumable {
        format!(
            "{}; resume with after: \"{}\"",
            end.message, end.resume_after
        )
    } else {
        end.message.clone()
    };
    async_graphql::Error::new(message).extend_with(|_, ext| {
        if let Some(ext0) = &base.extensions {
            for key in ["code", "field"] {
                if let Some(v) = ext0.get(key) {
                    ext.set(key, v.clone());
                }
            }
        }
        if resumable {
            ext.set("resumeAfter", end.resume_after.as_str());
        }
    })
}
