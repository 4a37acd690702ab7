//! What a reconcile is asked to cover, and what it changed.

use uuid::Uuid;

/// Whose assignments to reconcile.
#[derive(Debug, Clone)]
pub enum Scope {
    /// These users (a hire, a membership or profile change).
    Users(Vec<Uuid>),
    /// The current members of a group and its subgroups (a group moved).
    Members(Uuid),
    /// Everyone in the organization (a rule change).
    All,
}

/// What a reconcile changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub created: Vec<Uuid>,
    pub withdrawn: Vec<Uuid>,
}

impl Outcome {
    pub fn merge(&mut self, other: Outcome) {
        self.created.extend(other.created);
        self.withdrawn.extend(other.withdrawn);
    }
}
