//! Property test of the engine's invariants: random sequences of membership, attribute, role,
//! deactivation, group-move, rule and completion operations and clock steps (with a scheduler
//! tick), each through the GraphQL API; after every step the open assignments (with their reasons
//! and kept flags) must equal a naive in-memory model of desired(state) — prerequisites of
//! required courses included, requirements an unexpired completion meets left out — every met
//! requirement must hold a current `COMPLETED` assignment, the per-user compliance summaries must
//! equal a recount, and reconciling everything again must change nothing.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{Value, json};
use skillgraph::service::compliance::summary;
use skillgraph::service::engine::{Outcome, Scope};
use skillgraph::service::viewer::OrgRole;
use uuid::Uuid;

use crate::helpers::{TestApp, id};

const GROUPS: usize = 4;
/// Users the operations act on (1..=USERS); user 0 is the organization's owner, who acts.
const USERS: usize = 4;
const ROLES: usize = 2;
const COURSES: usize = 4;
/// (course, prerequisite): a diamond (1 and 2 need 0) and a chain (3 needs 2 needs 0). A rule
/// requiring a course also requires its prerequisites, transitively.
const PREREQS: [(usize, usize); 3] = [(1, 0), (2, 0), (3, 2)];
const LOCATIONS: [&str; 2] = ["Chicago", "Gary"];
/// Per course: (validity days, renewal window days). Course 1 renews inside a window before it
/// expires, course 2 at expiry; courses 0 and 3 never expire.
const VALIDITY: [(Option<i64>, Option<i64>); COURSES] = [
    (None, None),
    (Some(30), Some(10)),
    (Some(20), None),
    (None, None),
];

#[derive(Debug, Clone)]
enum Crit {
    Eq(usize),
    Neq(usize),
    In,
    Exists,
    NotExists,
}

#[derive(Debug, Clone)]
struct Spec {
    group: Option<(usize, bool)>,
    role: Option<usize>,
    crit: Option<Crit>,
    courses: Vec<usize>,
    keep: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Add(usize, usize),
    Remove(usize, usize),
    Transfer(usize, usize, usize),
    SetLocation(usize, Option<usize>),
    SetRole(usize, Option<usize>),
    Deactivate(usize),
    Move(usize, Option<usize>),
    CreateRule(Spec),
    UpdateRule(usize, Spec),
    SetActive(usize, bool),
    DeleteRule(usize),
    /// `recordCompletion` by user and course: completes the open cycle when there is one, else
    /// records history that a later requirement is credited with.
    Complete(usize, usize),
    /// The clock moves on this many days, then the scheduler ticks.
    Advance(i64),
    /// `assignCourse` of one course to one (active) user.
    AssignByHand(usize, usize),
    /// `unassignCourse` of that user's assignment of the course.
    UnassignByHand(usize, usize),
}

/// The reason of a manual assignment in the model's reason sets (rules are their indices).
const MANUAL: usize = usize::MAX;

fn spec() -> impl Strategy<Value = Spec> {
    let crit = prop_oneof![
        (0..LOCATIONS.len()).prop_map(Crit::Eq),
        (0..LOCATIONS.len()).prop_map(Crit::Neq),
        Just(Crit::In),
        Just(Crit::Exists),
        Just(Crit::NotExists),
    ];
    (
        proptest::option::of((0..GROUPS, any::<bool>())),
        proptest::option::of(0..ROLES),
        proptest::option::of(crit),
        proptest::sample::subsequence((0..COURSES).collect::<Vec<_>>(), 1..=COURSES),
        any::<bool>(),
    )
        .prop_filter("an audience needs a part", |(g, r, c, _, _)| {
            g.is_some() || r.is_some() || c.is_some()
        })
        .prop_map(|(group, role, crit, courses, keep)| Spec {
            group,
            role,
            crit,
            courses,
            keep,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1..=USERS, 0..GROUPS).prop_map(|(u, g)| Op::Add(u, g)),
        2 => (1..=USERS, 0..GROUPS).prop_map(|(u, g)| Op::Remove(u, g)),
        2 => (1..=USERS, 0..GROUPS, 0..GROUPS).prop_map(|(u, a, b)| Op::Transfer(u, a, b)),
        2 => (1..=USERS, proptest::option::of(0..LOCATIONS.len())).prop_map(|(u, l)| Op::SetLocation(u, l)),
        2 => (1..=USERS, proptest::option::of(0..ROLES)).prop_map(|(u, r)| Op::SetRole(u, r)),
        1 => (1..=USERS).prop_map(Op::Deactivate),
        1 => (0..GROUPS, proptest::option::of(0..GROUPS)).prop_map(|(g, p)| Op::Move(g, p)),
        3 => spec().prop_map(Op::CreateRule),
        2 => (0..4usize, spec()).prop_map(|(i, s)| Op::UpdateRule(i, s)),
        1 => (0..4usize, any::<bool>()).prop_map(|(i, a)| Op::SetActive(i, a)),
        1 => (0..4usize).prop_map(Op::DeleteRule),
        3 => (1..=USERS, 0..COURSES).prop_map(|(u, c)| Op::Complete(u, c)),
        2 => prop_oneof![Just(3i64), Just(12), Just(25)].prop_map(Op::Advance),
        2 => (1..=USERS, 0..COURSES).prop_map(|(u, c)| Op::AssignByHand(u, c)),
        1 => (1..=USERS, 0..COURSES).prop_map(|(u, c)| Op::UnassignByHand(u, c)),
    ]
}

#[derive(Debug, Clone)]
struct RuleM {
    id: Uuid,
    spec: Spec,
    active: bool,
    deleted: bool,
}

/// `courses` and, transitively, every prerequisite of them.
fn with_prerequisites(mut courses: Vec<usize>) -> Vec<usize> {
    let mut i = 0;
    while i < courses.len() {
        for &(c, p) in &PREREQS {
            if c == courses[i] && !courses.contains(&p) {
                courses.push(p);
            }
        }
        i += 1;
    }
    courses
}

/// The naive model.
#[derive(Debug, Default)]
struct Model {
    parent: Vec<Option<usize>>,
    members: BTreeSet<(usize, usize)>,
    location: Vec<Option<usize>>,
    role: Vec<Option<usize>>,
    active: Vec<bool>,
    rules: Vec<RuleM>,
    /// Open assignments: (user, course) → (kept, rules requiring it).
    open: BTreeMap<(usize, usize), (bool, BTreeSet<usize>)>,
    /// Days since the case began.
    today: i64,
    /// (user, course) → the day the latest completion's renewal opens (None: never).
    completed: BTreeMap<(usize, usize), Option<i64>>,
    /// Live manual requirements (user, course).
    manual: BTreeSet<(usize, usize)>,
}

impl Model {
    fn within(&self, g: usize, ancestor: usize) -> bool {
        let mut at = Some(g);
        while let Some(x) = at {
            if x == ancestor {
                return true;
            }
            at = self.parent[x];
        }
        false
    }

    fn in_audience(&self, u: usize, s: &Spec) -> bool {
        if !self.active[u] {
            return false;
        }
        if let Some((g, sub)) = s.group {
            let ok = self
                .members
                .iter()
                .any(|&(mu, mg)| mu == u && (mg == g || (sub && self.within(mg, g))));
            if !ok {
                return false;
            }
        }
        if let Some(r) = s.role
            && self.role[u] != Some(r)
        {
            return false;
        }
        let loc = self.location[u];
        match &s.crit {
            None => true,
            Some(Crit::Eq(l)) => loc == Some(*l),
            Some(Crit::Neq(l)) => loc != Some(*l),
            Some(Crit::In) => loc.is_some(),
            Some(Crit::Exists) => loc.is_some(),
            Some(Crit::NotExists) => loc.is_none(),
        }
    }

    fn desired(&self) -> BTreeMap<(usize, usize), BTreeSet<usize>> {
        let mut out: BTreeMap<(usize, usize), BTreeSet<usize>> = BTreeMap::new();
        for (ri, r) in self.rules.iter().enumerate() {
            if !r.active || r.deleted {
                continue;
            }
            for u in 0..=USERS {
                if self.in_audience(u, &r.spec) {
                    for c in with_prerequisites(r.spec.courses.clone()) {
                        out.entry((u, c)).or_default().insert(ri);
                    }
                }
            }
        }
        // A manual requirement of an active person, and the prerequisites of its course.
        for &(u, c) in &self.manual {
            if !self.active[u] {
                continue;
            }
            for c in with_prerequisites(vec![c]) {
                out.entry((u, c)).or_default().insert(MANUAL);
            }
        }
        out
    }

    /// Whether an earlier completion meets the requirement today (valid, renewal not open).
    fn met(&self, key: (usize, usize)) -> bool {
        match self.completed.get(&key) {
            None => false,
            Some(None) => true,
            Some(Some(renew)) => *renew > self.today,
        }
    }

    /// What reconcile must do after a change.
    fn settle(&mut self) {
        let desired = self.desired();
        let mut open = BTreeMap::new();
        for (key, (kept, reasons)) in std::mem::take(&mut self.open) {
            if let Some(now) = desired.get(&key) {
                open.insert(key, (false, now.clone()));
            } else if kept
                || reasons
                    .iter()
                    .any(|r| *r != MANUAL && self.rules[*r].spec.keep)
            {
                // Already kept, or a rule letting go of it now says KEEP.
                open.insert(key, (true, BTreeSet::new()));
            }
        }
        for (key, reasons) in desired {
            if !self.met(key) {
                open.entry(key).or_insert((false, reasons));
            }
        }
        self.open = open;
    }
}

struct World<'a> {
    app: &'a TestApp,
    token: String,
    org: Uuid,
    groups: Vec<Uuid>,
    users: Vec<Uuid>,
    roles: Vec<Uuid>,
    courses: Vec<Uuid>,
}

impl World<'_> {
    async fn call(&self, q: &str, vars: Value) -> Result<Value, TestCaseError> {
        let r = self.app.execute(q, vars, &self.token).await;
        if r.get("errors")
            .is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty()))
        {
            return Err(TestCaseError::fail(format!("{q}: {r}")));
        }
        Ok(r["data"].clone())
    }

    fn rule_input(&self, s: &Spec) -> Value {
        let mut audience = json!({});
        if let Some((g, sub)) = s.group {
            audience["groupId"] = json!(self.groups[g].to_string());
            audience["includeSubgroups"] = json!(sub);
        }
        if let Some(r) = s.role {
            audience["roleId"] = json!(self.roles[r].to_string());
        }
        if let Some(c) = &s.crit {
            let (op, values) = match c {
                Crit::Eq(l) => ("EQ", vec![LOCATIONS[*l]]),
                Crit::Neq(l) => ("NEQ", vec![LOCATIONS[*l]]),
                Crit::In => ("IN", LOCATIONS.to_vec()),
                Crit::Exists => ("EXISTS", vec![]),
                Crit::NotExists => ("NOT_EXISTS", vec![]),
            };
            audience["criteria"] = json!([{ "attribute": "location", "op": op, "values": values }]);
        }
        json!({ "audience": audience, "courses": s.courses.iter().map(|c| json!({ "courseId": self.courses[*c].to_string() })).collect::<Vec<_>>(),
                "onExit": if s.keep { "KEEP" } else { "WITHDRAW" } })
    }

    /// (user, course) → (kept, rule ids) of the open assignments in the database.
    async fn open(&self, m: &Model) -> BTreeMap<(usize, usize), (bool, BTreeSet<usize>)> {
        let db = &self.app.state.db.read;
        let p = if crate::helpers::is_postgres() {
            "$1"
        } else {
            "?"
        };
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                format!(
                    "SELECT a.user_id, a.course_id, a.kept, ar.rule_id FROM assignments a \
                     LEFT JOIN assignment_reasons ar ON ar.assignment_id = a.id AND ar.until IS NULL \
                     WHERE a.org_id = {p} AND a.status IN ('LOCKED', 'ASSIGNED', 'IN_PROGRESS')"
                ),
                [self.org.into()],
            ))
            .await
            .unwrap();
        let mut out: BTreeMap<(usize, usize), (bool, BTreeSet<usize>)> = BTreeMap::new();
        for r in rows {
            let u = r.try_get_by_index::<Uuid>(0).unwrap();
            let c = r.try_get_by_index::<Uuid>(1).unwrap();
            let kept = r.try_get_by_index::<bool>(2).unwrap();
            let rule = r.try_get_by_index::<Option<Uuid>>(3).unwrap();
            let key = (
                self.users.iter().position(|x| *x == u).unwrap(),
                self.courses.iter().position(|x| *x == c).unwrap(),
            );
            let entry = out.entry(key).or_insert((kept, BTreeSet::new()));
            if let Some(rule) = rule {
                // A reason names a rule, or else a manual requirement.
                entry
                    .1
                    .insert(m.rules.iter().position(|x| x.id == rule).unwrap_or(MANUAL));
            }
        }
        out
    }

    /// (user, course) pairs holding more than one incomplete open assignment.
    async fn doubly_open(&self) -> i64 {
        let db = &self.app.state.db.read;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT COUNT(*) FROM (SELECT user_id, course_id FROM assignments WHERE org_id = $1 \
                 AND status IN ('LOCKED', 'ASSIGNED', 'IN_PROGRESS') GROUP BY user_id, course_id HAVING COUNT(*) > 1) x",
                [self.org.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }

    /// (user, course) pairs with a current `COMPLETED` assignment (its renewal not yet open).
    async fn current_completed(&self) -> BTreeSet<(usize, usize)> {
        let db = &self.app.state.db.read;
        let now = skillgraph::service::now_micros(&self.app.state);
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT user_id, course_id FROM assignments WHERE org_id = $1 AND status = 'COMPLETED' \
                 AND (renew_at IS NULL OR renew_at > $2)",
                [self.org.into(), now.into()],
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                let u = r.try_get_by_index::<Uuid>(0).unwrap();
                let c = r.try_get_by_index::<Uuid>(1).unwrap();
                (
                    self.users.iter().position(|x| *x == u).unwrap(),
                    self.courses.iter().position(|x| *x == c).unwrap(),
                )
            })
            .collect()
    }
}

async fn setup(app: &TestApp) -> (World<'_>, Model) {
    let tag = Uuid::new_v4().simple().to_string();
    let created = skillgraph::service::org::create(
        &app.state,
        &format!("Org {tag}"),
        &format!("o{}@x.example", &tag[..8]),
        "Owner",
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.message()));
    let token = app
        .state
        .jwt
        .mint(
            created.org.id,
            created.owner.id,
            OrgRole::Owner,
            chrono::Duration::hours(1),
        )
        .unwrap();
    let mut w = World {
        app,
        token,
        org: created.org.id,
        groups: vec![],
        users: vec![created.owner.id],
        roles: vec![],
        courses: vec![],
    };
    let parents = [None, Some(0), Some(1), None];
    for (i, p) in parents.iter().enumerate() {
        let parent = p.map(|p: usize| w.groups[p].to_string());
        let d = w
            .call(
                "mutation($i: CreateGroupInput!) { createGroup(input: $i) { group { id } } }",
                json!({ "i": { "name": format!("G{i}"), "parentId": parent } }),
            )
            .await
            .unwrap();
        w.groups.push(id(&d["createGroup"]["group"]["id"]));
    }
    for i in 0..USERS {
        let d = w
            .call(
                "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
                json!({ "i": { "email": format!("u{i}@x.example"), "name": format!("U{i}") } }),
            )
            .await
            .unwrap();
        w.users.push(id(&d["createUser"]["user"]["id"]));
    }
    for i in 0..ROLES {
        let d = w
            .call(
                "mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id } } }",
                json!({ "i": { "name": format!("R{i}") } }),
            )
            .await
            .unwrap();
        w.roles.push(id(&d["createRole"]["role"]["id"]));
    }
    for (i, (validity, window)) in VALIDITY.iter().enumerate() {
        let d = w
            .call(
                "mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }",
                json!({ "i": { "title": format!("C{i}"), "validityDays": validity,
                               "renewalWindowDays": window, "prerequisiteIds": PREREQS
                    .iter()
                    .filter(|(c, _)| *c == i)
                    .map(|(_, p)| w.courses[*p].to_string())
                    .collect::<Vec<_>>() } }),
            )
            .await
            .unwrap();
        w.courses.push(id(&d["createCourse"]["course"]["id"]));
    }
    let model = Model {
        parent: parents.to_vec(),
        location: vec![None; USERS + 1],
        role: vec![None; USERS + 1],
        active: vec![true; USERS + 1],
        ..Default::default()
    };
    (w, model)
}

async fn step(w: &World<'_>, m: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let s = |u: Uuid| u.to_string();
    match op {
        Op::Add(u, g) => {
            w.call(
                "mutation($i: AddMembershipInput!) { addMembership(input: $i) { created } }",
                json!({ "i": { "userId": s(w.users[*u]), "groupId": s(w.groups[*g]) } }),
            )
            .await?;
            m.members.insert((*u, *g));
        }
        Op::Remove(u, g) => {
            if !m.members.contains(&(*u, *g)) {
                return Ok(());
            }
            w.call("mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { membership { id } } }", json!({ "i": { "userId": s(w.users[*u]), "groupId": s(w.groups[*g]) } })).await?;
            m.members.remove(&(*u, *g));
        }
        Op::Transfer(u, a, b) => {
            if a == b || !m.members.contains(&(*u, *a)) {
                return Ok(());
            }
            w.call("mutation($i: TransferUserInput!) { transferUser(input: $i) { membership { id } } }", json!({ "i": { "userId": s(w.users[*u]), "fromGroupId": s(w.groups[*a]), "toGroupId": s(w.groups[*b]) } })).await?;
            m.members.remove(&(*u, *a));
            m.members.insert((*u, *b));
        }
        Op::SetLocation(u, l) => {
            let attrs = match l {
                Some(l) => json!({ "location": LOCATIONS[*l] }),
                None => json!({}),
            };
            w.call(
                "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
                json!({ "i": { "id": s(w.users[*u]), "attributes": attrs } }),
            )
            .await?;
            m.location[*u] = *l;
        }
        Op::SetRole(u, r) => {
            w.call(
                "mutation($i: SetPrimaryRoleInput!) { setPrimaryRole(input: $i) { user { id } } }",
                json!({ "i": { "userId": s(w.users[*u]), "roleId": r.map(|r| s(w.roles[r])) } }),
            )
            .await?;
            m.role[*u] = *r;
        }
        Op::Deactivate(u) => {
            w.call(
                "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { id } } }",
                json!({ "i": { "id": s(w.users[*u]) } }),
            )
            .await?;
            m.active[*u] = false;
        }
        Op::Move(g, p) => {
            if let Some(p) = p
                && m.within(*p, *g)
            {
                return Ok(());
            }
            w.call(
                "mutation($i: MoveGroupInput!) { moveGroup(input: $i) { group { id } } }",
                json!({ "i": { "id": s(w.groups[*g]), "parentId": p.map(|p| s(w.groups[p])) } }),
            )
            .await?;
            m.parent[*g] = *p;
        }
        Op::CreateRule(spec) => {
            let mut input = w.rule_input(spec);
            input["name"] = json!(format!("Rule {}", m.rules.len()));
            let d = w
                .call(
                    "mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }",
                    json!({ "i": input }),
                )
                .await?;
            m.rules.push(RuleM {
                id: id(&d["createRule"]["rule"]["id"]),
                spec: spec.clone(),
                active: true,
                deleted: false,
            });
        }
        Op::UpdateRule(i, spec) => {
            let Some(r) = m.rules.get(*i).filter(|r| !r.deleted) else {
                return Ok(());
            };
            let mut input = w.rule_input(spec);
            input["id"] = json!(s(r.id));
            w.call(
                "mutation($i: UpdateRuleInput!) { updateRule(input: $i) { rule { id } } }",
                json!({ "i": input }),
            )
            .await?;
            m.rules[*i].spec = spec.clone();
        }
        Op::SetActive(i, a) => {
            let Some(r) = m.rules.get(*i).filter(|r| !r.deleted) else {
                return Ok(());
            };
            w.call(
                "mutation($i: SetRuleActiveInput!) { setRuleActive(input: $i) { rule { id } } }",
                json!({ "i": { "id": s(r.id), "active": a } }),
            )
            .await?;
            m.rules[*i].active = *a;
        }
        Op::DeleteRule(i) => {
            let Some(r) = m.rules.get(*i).filter(|r| !r.deleted) else {
                return Ok(());
            };
            w.call(
                "mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { rule { id } } }",
                json!({ "i": { "id": s(r.id) } }),
            )
            .await?;
            m.rules[*i].deleted = true;
        }
        Op::Complete(u, c) => {
            if !m.active[*u] {
                return Ok(());
            }
            w.call(
                "mutation($i: RecordCompletionInput!) { recordCompletion(input: $i) { completion { id } } }",
                json!({ "i": { "userId": s(w.users[*u]), "courseId": s(w.courses[*c]) } }),
            )
            .await?;
            let (validity, window) = VALIDITY[*c];
            m.completed.insert(
                (*u, *c),
                validity.map(|v| m.today + v - window.unwrap_or(0)),
            );
            m.open.remove(&(*u, *c));
        }
        Op::AssignByHand(u, c) => {
            if !m.active[*u] {
                return Ok(());
            }
            w.call(
                "mutation($i: AssignCourseInput!) { assignCourse(input: $i) { unchanged } }",
                json!({ "i": { "userIds": [s(w.users[*u])], "courseId": s(w.courses[*c]) } }),
            )
            .await?;
            m.manual.insert((*u, *c));
        }
        Op::UnassignByHand(u, c) => {
            if !m.manual.contains(&(*u, *c)) {
                return Ok(());
            }
            let d = w
                .call(
                    "query($u: ID!, $c: ID!) { assignments(filter: { userId: $u, courseId: $c }) { nodes { id } } }",
                    json!({ "u": s(w.users[*u]), "c": s(w.courses[*c]) }),
                )
                .await?;
            let Some(last) = d["assignments"]["nodes"].as_array().and_then(|n| n.last()) else {
                // Never assigned (the person was deactivated first): nothing to name.
                return Ok(());
            };
            w.call(
                "mutation($i: UnassignCourseInput!) { unassignCourse(input: $i) { assignment { id } } }",
                json!({ "i": { "assignmentId": last["id"] } }),
            )
            .await?;
            m.manual.remove(&(*u, *c));
        }
        Op::Advance(days) => {
            w.app.clock.advance(chrono::Duration::days(*days));
            skillgraph::service::compliance::scheduler::tick(&w.app.state)
                .await
                .map_err(|e| TestCaseError::fail(e.message()))?;
            m.today += days;
        }
    }
    m.settle();
    Ok(())
}

async fn run_case(app: &TestApp, ops: &[Op]) -> Result<(), TestCaseError> {
    let (w, mut m) = setup(app).await;
    for (n, op) in ops.iter().enumerate() {
        step(&w, &mut m, op).await?;
        let got = w.open(&m).await;
        if got != m.open {
            return Err(TestCaseError::fail(format!(
                "after step {n} ({op:?}):\n database {got:?}\n model    {:?}",
                m.open
            )));
        }
        let doubled = w.doubly_open().await;
        if doubled > 0 {
            return Err(TestCaseError::fail(format!(
                "after step {n} ({op:?}) {doubled} (user, course) pairs hold two open assignments"
            )));
        }
        // Every desired requirement that a completion meets holds a current COMPLETED one.
        let completed = w.current_completed().await;
        let missing: Vec<_> = m
            .desired()
            .into_keys()
            .filter(|k| m.met(*k) && !completed.contains(k))
            .collect();
        if !missing.is_empty() {
            return Err(TestCaseError::fail(format!(
                "after step {n} ({op:?}) met requirements without a current COMPLETED assignment: {missing:?}"
            )));
        }
        // The compliance summaries kept by delta equal a recount from history.
        let kept = summaries(app, w.org).await;
        let tx = app.state.db.write.begin().await.unwrap();
        summary::rebuild_org(&tx, w.org)
            .await
            .map_err(|e| TestCaseError::fail(e.message()))?;
        let recounted = summaries_in(&tx, w.org).await;
        tx.rollback().await.unwrap();
        if kept != recounted {
            return Err(TestCaseError::fail(format!(
                "after step {n} ({op:?}) the compliance summaries drifted:\n kept       {kept:?}\n recounted  {recounted:?}"
            )));
        }
        // Reconciling everything again changes nothing and emits nothing.
        let (out, _) = skillgraph::service::unit::rehearse(&app.state, w.org, async |w| {
            skillgraph::service::engine::reconcile(w, Scope::All, None).await
        })
        .await
        .map_err(|e| TestCaseError::fail(e.message()))?;
        if out != Outcome::default() {
            return Err(TestCaseError::fail(format!(
                "after step {n} ({op:?}) a second reconcile changed {out:?}"
            )));
        }
    }
    Ok(())
}

async fn summaries(app: &TestApp, org: Uuid) -> Vec<Vec<i64>> {
    summaries_in(&app.state.db.read, org).await
}

/// Every compliance summary row of the organization: user id hash and the four figures.
async fn summaries_in(conn: &impl ConnectionTrait, org: Uuid) -> Vec<Vec<i64>> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT user_id, n_required, n_incomplete, min_due_incomplete, min_valid_expiry \
             FROM compliance_summaries WHERE org_id = $1 ORDER BY user_id",
            [org.into()],
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let user: Uuid = r.try_get_by_index(0).unwrap();
            let mut v = vec![user.as_u128() as i64];
            for i in 1..5 {
                v.push(r.try_get_by_index::<i64>(i).unwrap());
            }
            v
        })
        .collect()
}

#[test]
fn open_assignments_always_equal_the_model_of_desired_state() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(TestApp::spawn());
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 1..12), |ops| {
        rt.block_on(run_case(&app, &ops))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
