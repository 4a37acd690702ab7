//! Who acts: the `Viewer` of a request (a user of one organization in one org role) and the org
//! roles of the permission matrix (DESIGN.md, "Who may do what").

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

/// Who is asking. Built once per request (or WebSocket connection) from a verified token.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub role: OrgRole,
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
            request_id: None,
            reports: Arc::default(),
            visible_roles: Arc::default(),
        }
    }

    /// The same identity with nothing cached: for each operation of a long-lived WebSocket
    /// connection, so that a scope never outlives the request that read it.
    pub fn for_operation(&self) -> Self {
        Viewer::new(self.org_id, self.user_id, self.role).with_request_id(self.request_id.clone())
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
