//! One assignment event as readers see it, and its opaque cursor.

use uuid::Uuid;

use crate::service::page::encode_cursor;
use entity::assignment;

/// One event with the assignment it is about, as the assignment stood when the event was read.
#[derive(Debug, Clone)]
pub struct Event {
    pub seq: i64,
    /// The opaque cursor (`cursor(org, seq)`), made once per event rather than once per
    /// subscriber that receives it.
    pub cursor: String,
    pub at: i64,
    pub kind: String,
    pub assignment: assignment::Model,
}

impl Event {
    pub fn user_id(&self) -> Uuid {
        self.assignment.user_id
    }

    pub fn course_id(&self) -> Uuid {
        self.assignment.course_id
    }
}

/// The opaque cursor of an event: its organization and sequence number.
pub fn cursor(org_id: Uuid, seq: i64) -> String {
    encode_cursor(&(org_id, seq))
}
