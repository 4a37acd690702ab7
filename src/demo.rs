//! The demo organization: Acme, a 200-person company with sales teams, a Chicago warehouse,
//! finance, customer success, engineering and stores. Seeded once; a restart finds it again.

use chrono::NaiveDate;
use sea_orm::TransactionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::audit::Actor;
use crate::service::{course, group, membership, org, role, rule, sql, user};
use crate::state::AppState;
use crate::vals;

pub const ORG_NAME: &str = "Acme";
pub const ADMIN_EMAIL: &str = "morgan.blake@acme.example";
pub const LEARNER_EMAIL: &str = "jordan.rivera@acme.example";

pub struct Demo {
    pub org_id: Uuid,
    pub org_name: String,
    pub admin_id: Uuid,
    pub learner_id: Uuid,
}

const FIRST: [&str; 40] = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "Lucas", "Mia", "Mateo", "Amelia",
    "Levi", "Harper", "Ezra", "Evelyn", "Luca", "Abigail", "Asher", "Emily", "Leo", "Ella", "Owen",
    "Aria", "Hudson", "Scarlett", "Caleb", "Chloe", "Isaac", "Layla", "Wyatt", "Nora", "Julian",
    "Zoe", "Miles", "Lily", "Aaron", "Hannah", "Ethan", "Priya", "Kenji",
];
const LAST: [&str; 40] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Patel",
];

/// One department of the seed: its group, where its people sit, and what they do.
struct Dept {
    group: &'static str,
    parent: Option<&'static str>,
    department: &'static str,
    location: &'static str,
    head_title: &'static str,
    staff_title: &'static str,
    staff_role: &'static str,
    staff: usize,
}

const DEPTS: &[Dept] = &[
    Dept {
        group: "Sales",
        parent: Some("Acme"),
        department: "Sales",
        location: "New York",
        head_title: "VP of Sales",
        staff_title: "Sales Operations Analyst",
        staff_role: "Sales Representative",
        staff: 2,
    },
    Dept {
        group: "Sales — SMB",
        parent: Some("Sales"),
        department: "Sales",
        location: "Austin",
        head_title: "SMB Sales Manager",
        staff_title: "Sales Representative",
        staff_role: "Sales Representative",
        staff: 24,
    },
    Dept {
        group: "Sales — Enterprise",
        parent: Some("Sales"),
        department: "Sales",
        location: "New York",
        head_title: "Enterprise Sales Manager",
        staff_title: "Account Executive",
        staff_role: "Sales Representative",
        staff: 18,
    },
    Dept {
        group: "Warehouse",
        parent: Some("Acme"),
        department: "Warehouse",
        location: "Gary",
        head_title: "Director of Logistics",
        staff_title: "Warehouse Associate",
        staff_role: "Warehouse Associate",
        staff: 14,
    },
    Dept {
        group: "Warehouse — Chicago",
        parent: Some("Warehouse"),
        department: "Warehouse",
        location: "Chicago",
        head_title: "Warehouse Supervisor",
        staff_title: "Warehouse Associate",
        staff_role: "Warehouse Associate",
        staff: 38,
    },
    Dept {
        group: "Finance",
        parent: Some("Acme"),
        department: "Finance",
        location: "New York",
        head_title: "Controller",
        staff_title: "Accountant",
        staff_role: "Accountant",
        staff: 14,
    },
    Dept {
        group: "Customer Success",
        parent: Some("Acme"),
        department: "Customer Success",
        location: "Austin",
        head_title: "Head of Customer Success",
        staff_title: "Customer Success Manager",
        staff_role: "Customer Success Manager",
        staff: 24,
    },
    Dept {
        group: "Engineering",
        parent: Some("Acme"),
        department: "Engineering",
        location: "Remote",
        head_title: "VP of Engineering",
        staff_title: "Software Engineer",
        staff_role: "Software Engineer",
        staff: 29,
    },
    Dept {
        group: "Store Operations",
        parent: Some("Acme"),
        department: "Store Operations",
        location: "Chicago",
        head_title: "Store Manager",
        staff_title: "Store Associate",
        staff_role: "Store Associate",
        staff: 24,
    },
];

const ROLES: &[(&str, &str)] = &[
    ("Sales Representative", "Finds and closes new business."),
    (
        "Warehouse Associate",
        "Receives, stores and ships goods safely.",
    ),
    (
        "Warehouse Supervisor",
        "Runs a warehouse shift and its safety.",
    ),
    ("Accountant", "Keeps the books and handles payment data."),
    (
        "Customer Success Manager",
        "Keeps customers successful after the sale.",
    ),
    ("Software Engineer", "Builds and runs Acme's software."),
    ("Store Associate", "Serves customers in Acme's stores."),
    ("Store Manager", "Runs a store."),
];

/// Seeds the demo organization unless it exists, and returns who to mint tokens for.
pub async fn ensure(state: &AppState) -> AppResult<Demo> {
    if let Some(found) = find(state).await? {
        return Ok(found);
    }
    let now = state.clock.now().timestamp_micros();
    let tx = state.db.write.begin().await?;
    let created = match org::create_in(
        &tx,
        now,
        ORG_NAME,
        "dana.whitfield@acme.example",
        "Dana Whitfield",
        true,
    )
    .await
    {
        Ok(created) => created,
        // Another server seeded it at the same moment (the unique demo index refused ours).
        Err(AppError::Conflict(_)) => {
            drop(tx);
            return find(state)
                .await?
                .ok_or_else(|| AppError::internal("demo organization vanished"));
        }
        Err(e) => return Err(e),
    };
    let org_id = created.org.id;
    let actor = Actor::system();
    let ceo = created.owner.id;
    user::update_in(
        &tx,
        org_id,
        &actor,
        now,
        ceo,
        user::UserChanges {
            job_title: Some(Some("Chief Executive Officer".into())),
            hire_date: Some(Some(date(2012, 3, 1))),
            attributes: Some(json!({"department": "Executive", "location": "New York"})),
            ..Default::default()
        },
    )
    .await?;

    let mut role_ids = std::collections::HashMap::new();
    for (name, description) in ROLES {
        let r = role::create_in(
            &tx,
            org_id,
            &actor,
            now,
            role::NewRole {
                name: (*name).into(),
                description: Some((*description).into()),
                ..Default::default()
            },
        )
        .await?;
        role_ids.insert(*name, r.id);
    }

    let mut groups = std::collections::HashMap::new();
    let root = group::create_in(&tx, org_id, &actor, now, "Acme", None).await?;
    groups.insert("Acme", root.id);
    for d in DEPTS {
        let parent = d.parent.and_then(|p| groups.get(p).copied());
        let g = group::create_in(&tx, org_id, &actor, now, d.group, parent).await?;
        groups.insert(d.group, g.id);
    }
    membership::add_in(&tx, org_id, &actor, now, ceo, root.id, None).await?;

    let admin = user::create_in(
        &tx,
        org_id,
        &actor,
        now,
        user::NewUser {
            email: ADMIN_EMAIL.into(),
            name: "Morgan Blake".into(),
            job_title: Some("Learning & Development Administrator".into()),
            hire_date: Some(date(2019, 6, 3)),
            attributes: Some(json!({"department": "People", "location": "New York"})),
            manager_id: Some(ceo),
        },
    )
    .await?;
    membership::add_in(&tx, org_id, &actor, now, admin.id, root.id, None).await?;

    let seed = Seed {
        conn: &tx,
        org_id,
        actor: &actor,
        now,
    };
    let mut index = 0usize;
    let mut heads = std::collections::HashMap::new();
    let mut learner_id = None;
    for d in DEPTS {
        let group_id = groups[d.group];
        let head_manager = d.parent.and_then(|p| heads.get(p).copied()).unwrap_or(ceo);
        let head = person(&seed, index, d, d.head_title, head_manager).await?;
        index += 1;
        heads.insert(d.group, head);
        membership::add_in(&tx, org_id, &actor, now, head, group_id, None).await?;
        if d.head_title == "Warehouse Supervisor" {
            role::set_primary_in(
                &tx,
                org_id,
                &actor,
                now,
                head,
                Some(role_ids["Warehouse Supervisor"]),
            )
            .await?;
        } else if d.head_title == "Store Manager" {
            role::set_primary_in(
                &tx,
                org_id,
                &actor,
                now,
                head,
                Some(role_ids["Store Manager"]),
            )
            .await?;
        }
        for n in 0..d.staff {
            let id = if d.group == "Sales — Enterprise" && n == 0 {
                let learner = user::create_in(
                    &tx,
                    org_id,
                    &actor,
                    now,
                    user::NewUser {
                        email: LEARNER_EMAIL.into(),
                        name: "Jordan Rivera".into(),
                        job_title: Some(d.staff_title.into()),
                        hire_date: Some(date(2024, 9, 16)),
                        attributes: Some(
                            json!({"department": d.department, "location": d.location}),
                        ),
                        manager_id: Some(head),
                    },
                )
                .await?;
                learner_id = Some(learner.id);
                learner.id
            } else {
                let id = person(&seed, index, d, d.staff_title, head).await?;
                index += 1;
                id
            };
            membership::add_in(&tx, org_id, &actor, now, id, group_id, None).await?;
            role::set_primary_in(&tx, org_id, &actor, now, id, Some(role_ids[d.staff_role]))
                .await?;
        }
    }
    seed_training(&seed, &groups).await?;
    tx.commit().await?;
    Ok(Demo {
        org_id,
        org_name: ORG_NAME.into(),
        admin_id: admin.id,
        learner_id: learner_id.ok_or_else(|| AppError::internal("demo learner missing"))?,
    })
}

async fn find(state: &AppState) -> AppResult<Option<Demo>> {
    let Some(org_id) = sql::ids(
        &state.db.read,
        "SELECT id FROM organizations WHERE demo = TRUE ORDER BY created_at LIMIT 1",
        vec![],
    )
    .await?
    .into_iter()
    .next() else {
        return Ok(None);
    };
    let by_email = |email: &'static str| {
        let db = state.db.read.clone();
        async move {
            sql::ids(
                &db,
                "SELECT id FROM users WHERE org_id = $1 AND email_norm = $2",
                vals![org_id, email],
            )
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::internal(format!("demo user {email} is missing")))
        }
    };
    Ok(Some(Demo {
        org_id,
        org_name: ORG_NAME.into(),
        admin_id: by_email(ADMIN_EMAIL).await?,
        learner_id: by_email(LEARNER_EMAIL).await?,
    }))
}

/// Where the seed is writing: the transaction, the organization, the actor and the time.
struct Seed<'a, C> {
    conn: &'a C,
    org_id: Uuid,
    actor: &'a Actor,
    now: i64,
}

/// The `index`-th generated person: a unique name, a hire date spread over ten years.
async fn person<C: sea_orm::ConnectionTrait>(
    seed: &Seed<'_, C>,
    index: usize,
    d: &Dept,
    title: &str,
    manager: Uuid,
) -> AppResult<Uuid> {
    let Seed {
        conn,
        org_id,
        actor,
        now,
    } = *seed;
    // (index % 40, (index / 40 + 3 × index) % 40) is distinct for every index below 1,600.
    let first = FIRST[index % 40];
    let last = LAST[(index / 40 + 3 * index) % 40];
    let hired = date(2015, 1, 5) + chrono::Duration::days(((index * 97) % 3600) as i64);
    let u = user::create_in(
        conn,
        org_id,
        actor,
        now,
        user::NewUser {
            email: format!(
                "{}.{}@acme.example",
                first.to_lowercase(),
                last.to_lowercase()
            ),
            name: format!("{first} {last}"),
            job_title: Some(title.into()),
            hire_date: Some(hired),
            attributes: Some(json!({"department": d.department, "location": d.location})),
            manager_id: Some(manager),
        },
    )
    .await?;
    Ok(u.id)
}

/// The demo's courses and the rules that assign them, from the company's life.
async fn seed_training<C: sea_orm::ConnectionTrait>(
    seed: &Seed<'_, C>,
    groups: &std::collections::HashMap<&'static str, Uuid>,
) -> AppResult<()> {
    let Seed {
        conn,
        org_id,
        actor,
        now,
    } = *seed;
    let mut courses = std::collections::HashMap::new();
    for (title, minutes, validity, window, reference) in COURSES {
        let c = course::create_in(
            conn,
            org_id,
            actor,
            now,
            course::NewCourse {
                title: (*title).into(),
                duration_minutes: Some(*minutes),
                validity_days: *validity,
                renewal_window_days: *window,
                external_ref: Some((*reference).into()),
                ..Default::default()
            },
        )
        .await?;
        courses.insert(*title, c.id);
    }
    for (name, group, bundle) in RULES {
        let spec = rule::RuleSpec {
            name: (*name).into(),
            audience: rule::Audience {
                group_id: Some(groups[group]),
                include_subgroups: true,
                ..Default::default()
            },
            courses: bundle
                .iter()
                .map(|(title, unlock, due)| rule::BundleItem {
                    course_id: courses[title],
                    unlock_after_days: *unlock,
                    due_after_days: *due,
                })
                .collect(),
            on_exit: rule::ExitPolicy::Withdraw,
            active: true,
        };
        rule::create_in(conn, org_id, actor, now, spec).await?;
    }
    Ok(())
}

/// Title, minutes, validity days, renewal window days, content reference.
type CourseSeed = (&'static str, i32, Option<i32>, Option<i32>, &'static str);

const COURSES: &[CourseSeed] = &[
    (
        "New hire orientation",
        60,
        None,
        None,
        "scorm:acme-orientation-v3",
    ),
    (
        "Company policies",
        45,
        None,
        None,
        "https://learn.acme.example/policies",
    ),
    (
        "Forklift certification",
        240,
        Some(1095),
        Some(60),
        "xapi:forklift-cert",
    ),
    (
        "Site safety",
        90,
        Some(365),
        Some(30),
        "scorm:site-safety-2026",
    ),
    (
        "CRM walkthrough",
        30,
        None,
        None,
        "https://learn.acme.example/crm",
    ),
    (
        "Enterprise pricing",
        60,
        None,
        None,
        "https://learn.acme.example/enterprise-pricing",
    ),
    (
        "Payment data handling",
        45,
        Some(365),
        Some(30),
        "scorm:pci-basics",
    ),
];

/// Rule name, audience group (with subgroups), bundle: (course, unlock after days, due after days).
type RuleSeed = (
    &'static str,
    &'static str,
    &'static [(&'static str, Option<i32>, Option<i32>)],
);

const RULES: &[RuleSeed] = &[
    (
        "Everyone: onboarding",
        "Acme",
        &[
            ("New hire orientation", None, Some(7)),
            ("Company policies", Some(3), Some(14)),
        ],
    ),
    (
        "Chicago warehouse: safety",
        "Warehouse — Chicago",
        &[
            ("Forklift certification", None, Some(30)),
            ("Site safety", None, Some(14)),
        ],
    ),
    (
        "Enterprise sales: onboarding",
        "Sales — Enterprise",
        &[
            ("CRM walkthrough", None, Some(7)),
            ("Enterprise pricing", Some(7), Some(30)),
        ],
    ),
    (
        "Finance: payment data",
        "Finance",
        &[("Payment data handling", None, Some(30))],
    ),
    (
        "Customer Success: payment data",
        "Customer Success",
        &[("Payment data handling", None, Some(30))],
    ),
];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}
