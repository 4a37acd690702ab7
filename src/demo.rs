//! The demo organization: Acme, a 200-person company with sales teams, a Chicago warehouse,
//! finance, customer success, engineering and stores. Seeded once; a restart finds it again.

use chrono::NaiveDate;
use entity::assignment::sql::{ASSIGNED, LOCKED, WITHDRAWN};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::rows;
use crate::service::unit::{Env, Write};
use crate::service::{course, group, membership, org, role, role_import, rule, skill, sql, user};
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

/// The demo's role catalogue: the `roles.csv` at the repository root, which the README imports.
pub const ROLES_CSV: &str = include_str!("../roles.csv");

/// The categories of `roles.csv` that learners may browse.
const FEATURED: &[&str] = &["Sales", "Operations", "Project Management"];

/// The role the demo learner aims for, and their own ratings: (skill, level).
const LEARNER_TARGET: &str = "Senior Sales Representative";
const LEARNER_RATINGS: &[(&str, i32)] = &[
    ("Prospecting", 4),
    ("Negotiation", 2),
    ("CRM", 3),
    ("Product knowledge", 3),
    ("Forecasting", 1),
];

/// Seeds the demo organization unless it exists, and returns who to mint tokens for.
pub async fn ensure(env: &Env) -> AppResult<Demo> {
    if let Some(found) = find(env).await? {
        return Ok(found);
    }
    match org::found(env, ORG_NAME, true, async |w, org| seed(w, org.id).await).await {
        // Another server seeded it at the same moment (the unique demo index refused ours).
        Err(AppError::Conflict(_)) => find(env)
            .await?
            .ok_or_else(|| AppError::internal("demo organization vanished")),
        other => other,
    }
}

/// Everything of the demo, inside the change that founds its organization.
async fn seed(w: &Write, org_id: Uuid) -> AppResult<Demo> {
    let ceo = org::owner_in(w, "dana.whitfield@acme.example", "Dana Whitfield")
        .await?
        .id;
    user::update_in(
        w,
        ceo,
        user::UserChanges {
            job_title: Some(Some("Chief Executive Officer".into())),
            hire_date: Some(Some(date(2012, 3, 1))),
            attributes: Some(json!({"department": "Executive", "location": "New York"})),
            ..Default::default()
        },
    )
    .await?;

    let role_ids = seed_catalogue(w).await?;

    let mut groups = std::collections::HashMap::new();
    let root = group::create_in(w, "Acme", None).await?;
    groups.insert("Acme", root.id);
    for d in DEPTS {
        let parent = d.parent.and_then(|p| groups.get(p).copied());
        let g = group::create_in(w, d.group, parent).await?;
        groups.insert(d.group, g.id);
    }
    membership::add_in(w, ceo, root.id, None).await?;

    let admin = user::create_in(
        w,
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
    membership::add_in(w, admin.id, root.id, None).await?;

    let mut index = 0usize;
    let mut heads = std::collections::HashMap::new();
    let mut learner_id = None;
    for d in DEPTS {
        let group_id = groups[d.group];
        let head_manager = d.parent.and_then(|p| heads.get(p).copied()).unwrap_or(ceo);
        let head = person(w, index, d, d.head_title, head_manager).await?;
        index += 1;
        heads.insert(d.group, head);
        membership::add_in(w, head, group_id, None).await?;
        if d.head_title == "Warehouse Supervisor" {
            role::set_primary_in(w, head, Some(role_ids["Warehouse Supervisor"])).await?;
        } else if d.head_title == "Store Manager" {
            role::set_primary_in(w, head, Some(role_ids["Store Manager"])).await?;
        }
        for n in 0..d.staff {
            let id = if d.group == "Sales — Enterprise" && n == 0 {
                let learner = user::create_in(
                    w,
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
                let id = person(w, index, d, d.staff_title, head).await?;
                index += 1;
                id
            };
            membership::add_in(w, id, group_id, None).await?;
            role::set_primary_in(w, id, Some(role_ids[d.staff_role])).await?;
        }
    }
    backfill_memberships(w).await?;
    let learner_id = learner_id.ok_or_else(|| AppError::internal("demo learner missing"))?;
    seed_ratings(w, learner_id, role_ids[LEARNER_TARGET]).await?;
    seed_training(w, &groups).await?;
    // The history below completes the assignments the rules made.
    crate::service::unit::flush(w).await?;
    seed_history(w).await?;
    seed_tracks(w, &heads, &role_ids, admin.id).await?;
    Ok(Demo {
        org_id,
        org_name: ORG_NAME.into(),
        admin_id: admin.id,
        learner_id,
    })
}

/// Imports `roles.csv`, features some of its categories, and returns the role ids by name.
async fn seed_catalogue(w: &Write) -> AppResult<std::collections::HashMap<String, Uuid>> {
    let (conn, org_id) = (w, w.org_id);
    role_import::import_in(w, ROLES_CSV.as_bytes(), &role_import::Silent).await?;
    let mut q = sql::Q::new();
    let org = q.bind(org_id);
    let names = q.bind_strs(
        &FEATURED
            .iter()
            .map(|f| f.to_lowercase())
            .collect::<Vec<_>>(),
    );
    q.text = format!(
        "UPDATE role_categories SET featured = TRUE WHERE org_id = {org} AND name_norm IN ({names})"
    );
    q.exec(conn).await?;
    #[derive(sea_orm::FromQueryResult)]
    struct Named {
        id: Uuid,
        name: String,
    }
    let roles: Vec<Named> = sql::all(
        conn,
        "SELECT id, name FROM roles WHERE org_id = $1",
        vals![org_id],
    )
    .await?;
    Ok(roles.into_iter().map(|r| (r.name, r.id)).collect())
}

/// Ratings for the people of the demo: managers' ratings of most skills their primary role
/// put on their profile (levels spread deterministically over the scale), the learner's own
/// ratings, and the learner's target role.
async fn seed_ratings(w: &Write, learner_id: Uuid, target: Uuid) -> AppResult<()> {
    let (conn, org_id) = (w, w.org_id);
    #[derive(sea_orm::FromQueryResult)]
    struct Unrated {
        user_id: Uuid,
        skill_id: Uuid,
        skill: String,
    }
    let unrated: Vec<Unrated> = sql::all(
        conn,
        "SELECT us.user_id, us.skill_id, s.name AS skill FROM user_skills us JOIN skills s ON s.id = us.skill_id \
         WHERE us.org_id = $1 ORDER BY us.user_id, s.name_norm",
        vals![org_id],
    )
    .await?;
    for (i, row) in unrated.iter().enumerate() {
        if row.user_id == learner_id {
            continue;
        }
        // Two of three skills rated, levels 1..=5 spread over people and skills.
        if i % 3 == 2 {
            continue;
        }
        let level = 1 + ((i * 7 + row.skill.len()) % 5) as i32;
        skill::record_rating_in(w, row.user_id, row.skill_id, level, "MANAGER", None).await?;
    }
    let skills = skill_ids(conn, org_id).await?;
    for (name, level) in LEARNER_RATINGS {
        if let Some(skill_id) = skills.get(*name) {
            skill::record_rating_in(w, learner_id, *skill_id, *level, "SELF", Some(learner_id))
                .await?;
        }
    }
    let before = rows::require::<entity::user::Entity>(conn, org_id, learner_id).await?;
    role::set_target_in(w, &before, Some(target)).await
}

async fn find(env: &Env) -> AppResult<Option<Demo>> {
    let Some(org_id) = sql::ids(
        &env.db.read,
        "SELECT id FROM organizations WHERE demo = TRUE ORDER BY created_at LIMIT 1",
        vec![],
    )
    .await?
    .into_iter()
    .next() else {
        return Ok(None);
    };
    let by_email = |email: &'static str| {
        let db = env.db.read.clone();
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

/// The `index`-th generated person: a unique name, a hire date spread over ten years.
async fn person(w: &Write, index: usize, d: &Dept, title: &str, manager: Uuid) -> AppResult<Uuid> {
    // (index % 40, (index / 40 + 3 × index) % 40) is distinct for every index below 1,600.
    let first = FIRST[index % 40];
    let last = LAST[(index / 40 + 3 * index) % 40];
    let hired = date(2015, 1, 5) + chrono::Duration::days(((index * 97) % 3600) as i64);
    let u = user::create_in(
        w,
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

async fn skill_ids(
    conn: &impl sea_orm::ConnectionTrait,
    org_id: Uuid,
) -> AppResult<std::collections::HashMap<String, Uuid>> {
    #[derive(sea_orm::FromQueryResult)]
    struct Named {
        id: Uuid,
        name: String,
    }
    let rows: Vec<Named> = sql::all(
        conn,
        "SELECT id, name FROM skills WHERE org_id = $1",
        vals![org_id],
    )
    .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.id)).collect())
}

/// The skills each course develops (by name), for recommendations.
const COURSE_SKILLS: &[(&str, &[(&str, i32)])] = &[
    ("CRM walkthrough", &[("CRM", 3)]),
    (
        "Enterprise pricing",
        &[("Product knowledge", 3), ("Negotiation", 3)],
    ),
    ("Forklift certification", &[("Forklift operation", 3)]),
    ("Site safety", &[("Workplace safety", 3)]),
    ("Payment data handling", &[("Payment data handling", 3)]),
    ("Negotiation masterclass", &[("Negotiation", 4)]),
    ("Sales forecasting", &[("Forecasting", 3)]),
    (
        "Key account management",
        &[("Account management", 3), ("Negotiation", 3)],
    ),
];

/// The demo's courses and the rules that assign them, from the company's life.
async fn seed_training(
    w: &Write,
    groups: &std::collections::HashMap<&'static str, Uuid>,
) -> AppResult<()> {
    let (conn, org_id) = (w, w.org_id);
    let skills = skill_ids(conn, org_id).await?;
    let mut courses = std::collections::HashMap::new();
    for (title, minutes, validity, window, reference) in COURSES {
        let develops = COURSE_SKILLS
            .iter()
            .find(|(t, _)| t == title)
            .map(|(_, list)| {
                list.iter()
                    .filter_map(|(name, level)| skills.get(*name).map(|id| (*id, *level)))
                    .collect()
            })
            .unwrap_or_default();
        let c = course::create_in(
            w,
            course::NewCourse {
                title: (*title).into(),
                duration_minutes: Some(*minutes),
                validity_days: *validity,
                renewal_window_days: *window,
                external_ref: Some((*reference).into()),
                skills: develops,
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
            track_id: None,
            on_exit: rule::ExitPolicy::Withdraw,
            active: true,
        };
        rule::create_in(w, spec).await?;
    }
    Ok(())
}

/// A track of the demo: name, the department whose head owns it, its role (whose holders take
/// it), its own courses
/// after the shared foundation (title, prerequisite title), and its rubric's dimensions
/// (skill, weight, max points, level on pass).
struct TrackSeed {
    name: &'static str,
    group: &'static str,
    role: &'static str,
    courses: &'static [(&'static str, &'static str)],
    dimensions: &'static [(&'static str, f64, i32, i32)],
}

/// The shared foundation: (title, prerequisite title).
const FOUNDATION: &[(&str, &str)] = &[
    ("Acme foundations", ""),
    ("Customer communication", "Acme foundations"),
];

const TRACKS: &[TrackSeed] = &[
    TrackSeed {
        name: "Sales",
        group: "Sales",
        role: "Sales Representative",
        courses: &[
            ("Discovery calls", "Customer communication"),
            ("Negotiation masterclass", ""),
        ],
        dimensions: &[
            ("Prospecting", 2.0, 10, 3),
            ("Negotiation", 2.0, 10, 3),
            ("Product knowledge", 1.0, 5, 2),
        ],
    },
    TrackSeed {
        name: "Warehouse",
        group: "Warehouse",
        role: "Warehouse Associate",
        courses: &[("Site safety", ""), ("Safe lifting", "Site safety")],
        dimensions: &[
            ("Workplace safety", 3.0, 10, 3),
            ("Shipping & receiving", 1.0, 10, 2),
        ],
    },
    TrackSeed {
        name: "Customer Success",
        group: "Customer Success",
        role: "Customer Success Manager",
        courses: &[
            ("Handling escalations", "Customer communication"),
            ("Quarterly business reviews", "Handling escalations"),
        ],
        dimensions: &[
            ("Communication", 2.0, 10, 3),
            ("Account management", 2.0, 10, 3),
        ],
    },
];

/// Three tracks sharing a foundation, each owned by its department's head and assigned to the
/// holders of its role by a rule naming the track; completions thin out step by step (drop-off), and
/// every track has a rubric with assessments — the L&D administrator grades noticeably higher
/// than the department heads, so calibration shows it.
async fn seed_tracks(
    w: &Write,
    heads: &std::collections::HashMap<&'static str, Uuid>,
    role_ids: &std::collections::HashMap<String, Uuid>,
    generous: Uuid,
) -> AppResult<()> {
    use crate::service::{assessment, track};
    let (conn, org_id, now) = (w, w.org_id, w.now);
    let day = crate::clock::MICROS_PER_DAY;
    let mut by_title: std::collections::HashMap<String, Uuid> = sql::all::<Titled>(
        conn,
        "SELECT id, title FROM courses WHERE org_id = $1",
        vals![org_id],
    )
    .await?
    .into_iter()
    .map(|c| (c.title, c.id))
    .collect();
    let all_new = FOUNDATION
        .iter()
        .chain(TRACKS.iter().flat_map(|t| t.courses.iter()));
    for (title, prerequisite) in all_new {
        if by_title.contains_key(*title) {
            continue;
        }
        let prerequisite_ids = match *prerequisite {
            "" => vec![],
            p => vec![by_title[p]],
        };
        let c = course::create_in(
            w,
            course::NewCourse {
                title: (*title).into(),
                duration_minutes: Some(60),
                prerequisite_ids,
                ..Default::default()
            },
        )
        .await?;
        by_title.insert((*title).into(), c.id);
    }
    let skills = skill_ids(conn, org_id).await?;
    for t in TRACKS {
        let owner = heads[t.group];
        let mut steps: Vec<(Uuid, bool)> = FOUNDATION
            .iter()
            .map(|(title, _)| (by_title[*title], true))
            .collect();
        steps.extend(t.courses.iter().map(|(title, _)| (by_title[*title], false)));
        let tr = track::create_in(
            w,
            track::NewTrack {
                name: t.name.into(),
                description: Some(format!(
                    "From the shared foundation to a confident {}.",
                    t.role
                )),
                role_id: role_ids.get(t.role).copied(),
                owner_id: owner,
                courses: steps.clone(),
            },
        )
        .await?;
        rule::create_in(
            w,
            rule::RuleSpec {
                name: format!("{} track", t.name),
                // By primary role: the people who do the job, wherever they sit.
                audience: rule::Audience {
                    role_id: role_ids.get(t.role).copied(),
                    ..Default::default()
                },
                courses: vec![],
                track_id: Some(tr.id),
                on_exit: rule::ExitPolicy::Withdraw,
                active: true,
            },
        )
        .await?;
        crate::service::unit::flush(w).await?;
        // Progress: learner i completes the first k steps, k falling off along the track.
        let learners = sql::ids(
            conn,
            &format!("SELECT DISTINCT a.user_id FROM assignments a JOIN track_courses tc ON tc.course_id = a.course_id \
             JOIN users u ON u.id = a.user_id WHERE tc.track_id = $1 AND a.status <> {WITHDRAWN} ORDER BY a.user_id"),
            vals![tr.id],
        )
        .await?;
        for (i, learner) in learners.iter().enumerate() {
            let reached = match i % 20 {
                0 | 1 => 0,
                2..=4 => 1,
                5..=8 => 2,
                9..=13 => 3,
                _ => steps.len(),
            }
            .min(steps.len());
            for (k, (course_id, _)) in steps.iter().take(reached).enumerate() {
                crate::service::compliance::progress::record_in(
                    w,
                    crate::service::compliance::progress::NewCompletion {
                        user_id: Some(*learner),
                        course_id: Some(*course_id),
                        completed_at: Some(now - (40 - 6 * k as i64 - (i % 5) as i64) * day),
                        ..Default::default()
                    },
                )
                .await?;
            }
        }
        let dims: Vec<assessment::NewDimension> = t
            .dimensions
            .iter()
            .filter_map(|(skill, weight, max, level)| {
                skills.get(*skill).map(|id| assessment::NewDimension {
                    skill_id: *id,
                    description: Some(format!("{skill} in a live role-play")),
                    weight: *weight,
                    max_points: *max,
                    level_on_pass: Some(*level),
                })
            })
            .collect();
        let rubric = assessment::create_rubric_in(
            w,
            assessment::NewRubric {
                name: format!("{} role-play", t.name),
                track_id: Some(tr.id),
                role_id: role_ids.get(t.role).copied(),
                passing_percent: 70,
                dimensions: dims,
            },
        )
        .await?;
        let dims = assessment::dimensions_of(conn, &[rubric.id])
            .await?
            .remove(&rubric.id)
            .unwrap_or_default();
        // Those who reached the last step are assessed: the head grades most, the generous
        // L&D administrator every third learner, two points higher per dimension.
        for (i, learner) in learners.iter().enumerate().filter(|(i, _)| i % 20 >= 9) {
            let (evaluator, bonus) = if i % 3 == 0 {
                (generous, 2)
            } else {
                (owner, 0)
            };
            let scores: Vec<(Uuid, i32)> = dims
                .iter()
                .enumerate()
                .map(|(j, d)| {
                    let base = d.max_points * (45 + ((i * 13 + j * 7) % 45) as i32) / 100;
                    (d.skill_id, (base + bonus).min(d.max_points))
                })
                .collect();
            assessment::record_in(w, &rubric, *learner, evaluator, &scores, None).await?;
        }
    }
    Ok(())
}

#[derive(sea_orm::FromQueryResult)]
struct Titled {
    id: Uuid,
    title: String,
}

/// HR's back-fill: everyone has been in their group since their hire date, so onboarding due
/// dates count from when people really started.
async fn backfill_memberships(w: &Write) -> AppResult<()> {
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        id: Uuid,
        hire_date: Option<NaiveDate>,
    }
    let rows: Vec<Row> = sql::all(
        w,
        "SELECT m.id, u.hire_date FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1",
        vals![w.org_id],
    )
    .await?;
    for r in rows {
        if let Some(hired) = r.hire_date.and_then(|d| d.and_hms_opt(9, 0, 0)) {
            let since = hired.and_utc().timestamp_micros().min(w.now);
            sql::exec(
                w,
                "UPDATE memberships SET since = $1 WHERE id = $2",
                vals![since, r.id],
            )
            .await?;
        }
    }
    Ok(())
}

/// Completions with a realistic mix, so every compliance state shows: onboarding mostly done
/// (a few people overdue), certificates valid, expiring within 30 days (renewal open), expired
/// or never taken.
async fn seed_history(w: &Write) -> AppResult<()> {
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        user_id: Uuid,
        course_id: Uuid,
        title: String,
        hire_date: Option<NaiveDate>,
    }
    let rows: Vec<Row> = sql::all(
        w,
        &format!(
            "SELECT a.user_id, a.course_id, c.title, u.hire_date FROM assignments a \
         JOIN courses c ON c.id = a.course_id JOIN users u ON u.id = a.user_id \
         WHERE a.org_id = $1 AND a.status IN ({LOCKED}, {ASSIGNED}) ORDER BY u.email_norm, c.title"
        ),
        vals![w.org_id],
    )
    .await?;
    let day = crate::clock::MICROS_PER_DAY;
    for (i, r) in rows.iter().enumerate() {
        let hired = r
            .hire_date
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .map_or(w.now - 400 * day, |t| t.and_utc().timestamp_micros());
        let completed_at = match r.title.as_str() {
            "Site safety" | "Payment data handling" => match i % 4 {
                0 => Some(w.now - 100 * day),
                1 => Some(w.now - 350 * day),
                2 => Some(w.now - 400 * day),
                _ => None,
            },
            "Forklift certification" => (i % 5 != 4).then_some(w.now - 500 * day),
            _ => (i % 10 != 3).then_some((hired + 3 * day).min(w.now)),
        };
        let Some(completed_at) = completed_at else {
            continue;
        };
        crate::service::compliance::progress::record_in(
            w,
            crate::service::compliance::progress::NewCompletion {
                user_id: Some(r.user_id),
                course_id: Some(r.course_id),
                completed_at: Some(completed_at),
                score: Some(70.0 + (i % 31) as f64),
                ..Default::default()
            },
        )
        .await?;
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
    (
        "Negotiation masterclass",
        180,
        None,
        None,
        "https://learn.acme.example/negotiation",
    ),
    (
        "Sales forecasting",
        90,
        None,
        None,
        "https://learn.acme.example/forecasting",
    ),
    (
        "Key account management",
        240,
        None,
        None,
        "scorm:key-accounts",
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
