//! Compliance over time: progress and completions (history, kept for ever), the scheduler that
//! applies every due transition (unlock, overdue, renewal, expiry), and status as of any date.

pub mod progress;
pub mod scheduler;
pub mod status;
pub mod summary;
