//! The rule policy the engine works from: audiences (who), bundles (what), exit policies, and a
//! stored rule read back as those. `rule` validates and stores them; the engine evaluates them.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, Value};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::authz::Named;
use crate::service::sql;
use crate::vals;
use entity::{rule, rule_course};

/// What happens to a member's incomplete assignments when they leave the audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExitPolicy {
    Withdraw,
    Keep,
}

impl ExitPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ExitPolicy::Withdraw => "WITHDRAW",
            ExitPolicy::Keep => "KEEP",
        }
    }

    pub fn parse(s: &str) -> ExitPolicy {
        if s == "KEEP" {
            ExitPolicy::Keep
        } else {
            ExitPolicy::Withdraw
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CriterionOp {
    Eq,
    Neq,
    In,
    NotIn,
    Exists,
    NotExists,
}

/// The attribute name that means the user's job title rather than a free-form attribute.
pub const JOB_TITLE: &str = "jobTitle";

/// One condition on a user attribute (or `jobTitle`). Values compare exactly. A user without
/// the attribute satisfies `NEQ`, `NOT_IN` and `NOT_EXISTS` and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub attribute: String,
    pub op: CriterionOp,
    #[serde(default)]
    pub values: Vec<String>,
}

impl Criterion {
    /// Whether a user whose attribute has `value` (None: the user lacks it) satisfies this.
    pub fn holds(&self, value: Option<&str>) -> bool {
        match (self.op, value) {
            (CriterionOp::Eq | CriterionOp::In, Some(v)) => self.values.iter().any(|x| x == v),
            (CriterionOp::Eq | CriterionOp::In, None) => false,
            (CriterionOp::Neq | CriterionOp::NotIn, Some(v)) => !self.values.iter().any(|x| x == v),
            (CriterionOp::Neq | CriterionOp::NotIn, None) => true,
            (CriterionOp::Exists, v) => v.is_some(),
            (CriterionOp::NotExists, v) => v.is_none(),
        }
    }
}

/// Who a rule is for; every given part must hold, and deactivated users never qualify.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience {
    pub group_id: Option<Uuid>,
    pub include_subgroups: bool,
    pub role_id: Option<Uuid>,
    pub criteria: Vec<Criterion>,
}

/// One course of a bundle, with offsets counted from the moment a user entered the audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleItem {
    pub course_id: Uuid,
    pub unlock_after_days: Option<i32>,
    pub due_after_days: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub name: String,
    pub audience: Audience,
    /// Empty when the bundle is a track (`track_id`).
    pub courses: Vec<BundleItem>,
    /// The track whose courses are the bundle.
    pub track_id: Option<Uuid>,
    pub on_exit: ExitPolicy,
    pub active: bool,
}

impl Audience {
    pub fn named(&self) -> impl Iterator<Item = Named> + '_ {
        self.group_id
            .map(Named::Group)
            .into_iter()
            .chain(self.role_id.map(Named::Role))
    }
}

impl RuleSpec {
    /// The objects the spec names (for `authz::require_naming`).
    pub fn named(&self) -> Vec<Named> {
        self.audience
            .named()
            .chain(self.courses.iter().map(|c| Named::Course(c.course_id)))
            .chain(self.track_id.map(Named::Track))
            .collect()
    }
}

/// A stored rule with its parsed audience and bundle (what the engine works from).
#[derive(Debug, Clone)]
pub struct LoadedRule {
    pub id: Uuid,
    pub active: bool,
    pub on_exit: ExitPolicy,
    pub audience: Audience,
    pub courses: Vec<BundleItem>,
}

impl LoadedRule {
    pub fn from_row(row: &rule::Model, courses: Vec<BundleItem>) -> LoadedRule {
        LoadedRule {
            id: row.id,
            active: row.active && row.deleted_at.is_none(),
            on_exit: ExitPolicy::parse(&row.on_exit),
            audience: audience_of(row),
            courses,
        }
    }
}

pub fn audience_of(row: &rule::Model) -> Audience {
    Audience {
        group_id: row.group_id,
        include_subgroups: row.include_subgroups,
        role_id: row.role_id,
        criteria: serde_json::from_str(&row.criteria).unwrap_or_default(),
    }
}

/// The courses whose desired state a rule change can alter: every course of either bundle when
/// the audience changed, otherwise only the courses added, removed or re-timed.
pub fn affected_courses(
    old_audience: &Audience,
    old: &[BundleItem],
    new_audience: &Audience,
    new: &[BundleItem],
) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = Vec::new();
    let mut push = |id: Uuid| {
        if !out.contains(&id) {
            out.push(id);
        }
    };
    if old_audience != new_audience {
        old.iter().chain(new.iter()).for_each(|c| push(c.course_id));
        return out;
    }
    let old_map: HashMap<Uuid, &BundleItem> = old.iter().map(|c| (c.course_id, c)).collect();
    let new_map: HashMap<Uuid, &BundleItem> = new.iter().map(|c| (c.course_id, c)).collect();
    for c in old.iter().chain(new.iter()) {
        let (a, b) = (old_map.get(&c.course_id), new_map.get(&c.course_id));
        let same = matches!((a, b), (Some(a), Some(b)) if a.unlock_after_days == b.unlock_after_days && a.due_after_days == b.due_after_days);
        if !same {
            push(c.course_id);
        }
    }
    out
}

/// The bundles of several rules, each in its order.
pub async fn bundle_of(
    conn: &impl ConnectionTrait,
    rule_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<BundleItem>>> {
    if rule_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let values: Vec<Value> = rule_ids.iter().map(|id| Value::from(*id)).collect();
    let rows: Vec<rule_course::Model> = sql::all(
        conn,
        &format!(
            "SELECT * FROM rule_courses WHERE rule_id IN ({}) ORDER BY rule_id, position",
            sql::placeholders(1, rule_ids.len())
        ),
        values,
    )
    .await?;
    let mut out: HashMap<Uuid, Vec<BundleItem>> = HashMap::new();
    for r in rows {
        out.entry(r.rule_id).or_default().push(BundleItem {
            course_id: r.course_id,
            unlock_after_days: r.unlock_after_days,
            due_after_days: r.due_after_days,
        });
    }
    Ok(out)
}

/// Writes a rule's bundle, in order (the rule's old bundle already deleted).
pub async fn write_bundle(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    rule_id: Uuid,
    items: &[BundleItem],
) -> AppResult<()> {
    for (position, item) in items.iter().enumerate() {
        sql::exec(
            conn,
            "INSERT INTO rule_courses (org_id, rule_id, course_id, position, unlock_after_days, due_after_days) VALUES ($1, $2, $3, $4, $5, $6)",
            vals![org_id, rule_id, item.course_id, position as i32, item.unlock_after_days, item.due_after_days],
        )
        .await?;
    }
    Ok(())
}
