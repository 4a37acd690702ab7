//! Who acts: the `Viewer` of a request (a user of one organization in one org role, or a partner's
//! API client with its scopes), the org roles of the permission matrix (DESIGN.md, "Who may do
//! what"), and the `Actor` a change is recorded under (a user, an API client or the system).

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The organization-wide role a token grants (DESIGN.md, "Who may do what").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrgRole {
    Owner,
    Admin,
    Hr,
    Manager,
    Learner,
}

impl OrgRole {
    pub fn parse(s: &str) -> Option<OrgRole> {
        match s.to_ascii_uppercase().as_str() {
            "OWNER" => Some(OrgRole::Owner),
            "ADMIN" => Some(OrgRole::Admin),
            "HR" => Some(OrgRole::Hr),
            "MANAGER" => Some(OrgRole::Manager),
            "LEARNER" => Some(OrgRole::Learner),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "OWNER",
            OrgRole::Admin => "ADMIN",
            OrgRole::Hr => "HR",
            OrgRole::Manager => "MANAGER",
            OrgRole::Learner => "LEARNER",
        }
    }
}

/// What an API client may do (DESIGN.md, "Who acts"); anything else is FORBIDDEN to it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::EnumMessage,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ApiScope {
    /// Users, groups, memberships, transfers, primary roles, `syncPeople`, SCIM.
    PeopleWrite,
    /// `startAssignment`, `recordCompletion`, xAPI statements.
    CompletionsWrite,
    /// `assignmentEvents` for the whole organization (and webhooks' deliveries).
    EventsRead,
    /// Read-only queries of people, assignments, compliance and tracks.
    ReportsRead,
}

impl ApiScope {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Who made a change, as the audit log records it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::EnumMessage,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ActorType {
    /// A person, with a token.
    User,
    /// A partner's API client, with its secret.
    ApiClient,
    /// The engine, the scheduler, the CLI, the demo seed.
    System,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The actor of a change: its kind, its id (a user's or an API client's; none for the system)
/// and the request that carried it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: ActorType,
    pub id: Option<Uuid>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn of(viewer: &Viewer) -> Actor {
        Actor {
            kind: if viewer.client.is_some() {
                ActorType::ApiClient
            } else {
                ActorType::User
            },
            id: Some(viewer.user_id),
            request_id: viewer.request_id.clone(),
        }
    }

    pub fn system() -> Actor {
        Actor {
            kind: ActorType::System,
            id: None,
            request_id: None,
        }
    }

    /// The user behind the change, when a person made it.
    pub fn user_id(&self) -> Option<Uuid> {
        match self.kind {
            ActorType::User => self.id,
            _ => None,
        }
    }
}

/// Who is asking. Built once per request (or WebSocket connection) from a verified token or an
/// API client's secret.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub org_id: Uuid,
    /// The user's id; for an API client, the client's id (which names no user).
    pub user_id: Uuid,
    /// The user's org role. An API client holds HR's reach for reading (it sees the whole
    /// organization's people, as partner integrations must) and acts only through its scopes:
    /// `authz` asks the scopes, never this role, whether a client may change something, and
    /// refuses every top-level field outside them.
    pub role: OrgRole,
    /// Set when an API client is asking: its scopes.
    pub client: Option<Arc<[ApiScope]>>,
    pub request_id: Option<String>,
    /// A MANAGER's scope: themself and their direct and indirect reports, read at
    /// authentication (in the same statement) or on first use, then shared by the whole
    /// request. Empty for the other roles, whose scope needs no lookup.
    pub(crate) reports: Arc<tokio::sync::OnceCell<Arc<HashSet<Uuid>>>>,
    /// The roles a LEARNER or MANAGER may browse, computed on first use.
    pub(crate) visible_roles: Arc<tokio::sync::OnceCell<Arc<HashSet<Uuid>>>>,
}

impl Viewer {
    pub fn new(org_id: Uuid, user_id: Uuid, role: OrgRole) -> Self {
        Viewer {
            org_id,
            user_id,
            role,
            client: None,
            request_id: None,
            reports: Arc::default(),
            visible_roles: Arc::default(),
        }
    }

    /// The same identity with nothing cached: for each operation of a long-lived WebSocket
    /// connection, so that a scope never outlives the request that read it.
    pub fn for_operation(&self) -> Self {
        Viewer {
            client: self.client.clone(),
            ..Viewer::new(self.org_id, self.user_id, self.role)
        }
        .with_request_id(self.request_id.clone())
    }

    /// An API client of the organization acting with `scopes`.
    pub fn client(org_id: Uuid, client_id: Uuid, scopes: Vec<ApiScope>) -> Self {
        Viewer {
            client: Some(scopes.into()),
            ..Viewer::new(org_id, client_id, OrgRole::Hr)
        }
    }

    /// Whether an API client holding `scope` is asking.
    pub fn has_scope(&self, scope: ApiScope) -> bool {
        self.client.as_ref().is_some_and(|s| s.contains(&scope))
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// OWNER, ADMIN and HR see every user of the organization.
    pub fn sees_everyone(&self) -> bool {
        matches!(self.role, OrgRole::Owner | OrgRole::Admin | OrgRole::Hr)
    }
}
