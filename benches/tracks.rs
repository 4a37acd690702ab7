//! `trackReport` at scale: a track of five courses with 20,000 enrolled learners (a completion
//! funnel thinning out step by step) and 50,000 assessments by four evaluators, seeded by bulk
//! SQL; the report through the GraphQL API against one hand-written SQL aggregate of the same
//! numbers. SQLite by default; `SKILLGRAPH_BENCH_DATABASE_URL=postgres://…` for PostgreSQL.
//!
//!     cargo bench --bench tracks

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use serde_json::json;
use skillgraph::clock::{Clock, MICROS_PER_DAY, ManualClock};
use skillgraph::jwt::JwtKeys;
use skillgraph::service::viewer::OrgRole;
use skillgraph::service::viewer::Viewer;
use skillgraph::service::{course, org, track};
use skillgraph::state::{AppState, Settings};
use uuid::Uuid;

const LEARNERS: i64 = 20_000;
const ASSESSMENTS: i64 = 50_000;
const COURSES: usize = 5;
const RUNS: usize = 15;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn exec(state: &AppState, sql: &str, values: Vec<Value>) -> u64 {
    let db = &state.db.write;
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}\n{sql}"))
    .rows_affected()
}

async fn run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("SKILLGRAPH_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let clock = ManualClock::new(Utc::now());
    let settings = Settings::default();
    let state = skillgraph::build_state(
        &url,
        JwtKeys::hs256(b"bench-secret-bench-secret-bench-secret"),
        Arc::new(clock.clone()),
        settings.clone(),
    )
    .await
    .unwrap_or_else(|e| panic!("state: {}", e.message()));
    let backend = state.db.write.get_database_backend();
    let created = org::create(&state, "Bench", "owner@bench.example", "Bench Owner")
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()));
    let org_id = created.org.id;
    let admin = Viewer::new(org_id, created.owner.id, OrgRole::Owner);
    let now = clock.now().timestamp_micros();

    // Courses in a prerequisite chain, the track, its rubric: through the services.
    let started = Instant::now();
    let mut courses = Vec::new();
    for i in 0..COURSES {
        let c = course::create(
            &state,
            &admin,
            course::NewCourse {
                title: format!("Step {}", i + 1),
                prerequisite_ids: courses.last().copied().into_iter().collect(),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()));
        courses.push(c.id);
    }
    let t = track::create(
        &state,
        &admin,
        track::NewTrack {
            name: "Bench track".into(),
            owner_id: created.owner.id,
            courses: courses.iter().map(|c| (*c, false)).collect(),
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.message()));

    // Bulk: learners, their assignments, a thinning completion funnel, assessments.
    let (new_id, rnd100) = match backend {
        DbBackend::Postgres => (
            "gen_random_uuid()",
            "CAST(floor(random() * 100) AS INTEGER)",
        ),
        _ => ("randomblob(16)", "(abs(random()) % 100)"),
    };
    exec(
        &state,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {LEARNERS}) \
             INSERT INTO users (id, org_id, email, email_norm, name, created_at, updated_at) \
             SELECT {new_id}, $1, 'b' || i || '@bench.example', 'b' || i || '@bench.example', 'Learner ' || i, $2, $2 FROM n"
        ),
        vec![org_id.into(), now.into()],
    )
    .await;
    let evaluators: Vec<Uuid> = {
        let db = &state.db.read;
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT id FROM users WHERE org_id = $1 AND email_norm LIKE 'b%@bench.example' ORDER BY email_norm LIMIT 4",
                vec![org_id.into()],
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.try_get_by_index::<Uuid>(0).unwrap())
            .collect()
    };
    let day = MICROS_PER_DAY;
    exec(
        &state,
        &format!(
            "INSERT INTO assignments (id, org_id, user_id, course_id, status, kept, assigned_at, changed_seq) \
             SELECT {new_id}, $1, u.id, tc.course_id, 'ASSIGNED', FALSE, $2, 1 FROM users u \
             JOIN track_courses tc ON tc.track_id = $3 WHERE u.org_id = $1 AND u.email_norm LIKE 'b%@bench.example'"
        ),
        vec![org_id.into(), (now - 60 * day).into(), t.id.into()],
    )
    .await;
    exec(
        &state,
        &format!(
            "INSERT INTO completions (id, org_id, user_id, course_id, completed_at, recorded_at) \
             SELECT {new_id}, a.org_id, a.user_id, a.course_id, $2 + tc.position * 5 * $3 + {rnd100} * 3600000000, $2 \
             FROM assignments a JOIN track_courses tc ON tc.course_id = a.course_id AND tc.track_id = $4 \
             WHERE a.org_id = $1 AND {rnd100} < 92 - 17 * tc.position"
        ),
        vec![
            org_id.into(),
            (now - 55 * day).into(),
            day.into(),
            t.id.into(),
        ],
    )
    .await;
    let rubric = exec(
        &state,
        "INSERT INTO rubrics (id, org_id, name, track_id, passing_percent, created_at, updated_at) VALUES ($1, $2, 'Bench rubric', $3, 70, $4, $4)",
        vec![Uuid::now_v7().into(), org_id.into(), t.id.into(), now.into()],
    )
    .await;
    assert_eq!(rubric, 1);
    let rubric_id: Uuid = {
        let db = &state.db.read;
        db.query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT id FROM rubrics WHERE org_id = $1",
            vec![org_id.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap()
    };
    // Two assessments per learner and a third for about half of them (≈ 50,000); evaluator 0
    // grades about ten points higher than the others.
    exec(
        &state,
        &format!(
            "INSERT INTO assessments (id, org_id, rubric_id, track_id, user_id, evaluator_id, percent, passed, assessed_at) \
             SELECT {new_id}, $1, $2, $3, user_id, \
                    CASE WHEN ek = 0 THEN $4 WHEN ek = 1 THEN $5 WHEN ek = 2 THEN $6 ELSE $7 END, \
                    30 + p * 0.6 + CASE WHEN ek = 0 THEN 10 ELSE 0 END, 30 + p * 0.6 + CASE WHEN ek = 0 THEN 10 ELSE 0 END >= 70, \
                    $8 - rk * $9 \
             FROM ( SELECT u.id AS user_id, r.k AS rk, {rnd100} % 4 AS ek, CAST({rnd100} AS DOUBLE PRECISION) AS p, {rnd100} AS third \
                    FROM users u CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) r \
                    WHERE u.org_id = $1 AND u.email_norm LIKE 'b%@bench.example' ) x \
             WHERE rk < 2 OR third < 50"
        ),
        vec![
            org_id.into(),
            rubric_id.into(),
            t.id.into(),
            evaluators[0].into(),
            evaluators[1].into(),
            evaluators[2].into(),
            evaluators[3].into(),
            (now - day).into(),
            day.into(),
        ],
    )
    .await;
    let assessments = scalar(
        &state,
        "SELECT COUNT(*) FROM assessments WHERE org_id = $1",
        org_id,
    )
    .await;
    let enrolled_rows = scalar(
        &state,
        "SELECT COUNT(DISTINCT user_id) FROM assignments WHERE org_id = $1",
        org_id,
    )
    .await;
    exec(&state, "ANALYZE", vec![]).await;
    let seeded = started.elapsed();
    assert!(
        (ASSESSMENTS - 2_000..=ASSESSMENTS + 2_000).contains(&assessments),
        "{assessments} assessments"
    );

    // The API: the whole report, as its owner would ask for it.
    let schema = skillgraph::graphql::build_schema(&settings);
    let query = "query($t: ID!) { trackReport(trackId: $t) { enrolled completed completionRate \
                 steps { position reached completed dropOff } scores { count mean median histogram { from count } } \
                 medianDaysToComplete evaluators { count mean difference } } }";
    let api = || async {
        let request = async_graphql::Request::new(query).variables(
            async_graphql::Variables::from_json(json!({ "t": t.id.to_string() })),
        );
        let response =
            skillgraph::graphql::execute_as(&schema, &state, admin.clone(), request).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        response.data.into_json().unwrap()
    };
    let first = api().await;
    let api_times = time(RUNS, api).await;

    // The hand-written aggregate: one statement, the same numbers.
    let full: i64 = (0..COURSES).map(|i| 1i64 << i).sum();
    let bucket = (1..10)
        .map(|b| format!("WHEN percent < {} THEN {}", b * 10, b - 1))
        .collect::<Vec<_>>()
        .join(" ");
    let aggregate = format!(
        "WITH steps AS (SELECT course_id, position, (CAST(1 AS BIGINT) << position) AS bit FROM track_courses WHERE track_id = $2), \
         enrolled AS (SELECT a.user_id, MIN(a.assigned_at) AS first_at FROM assignments a JOIN steps s ON s.course_id = a.course_id \
                      WHERE a.org_id = $1 AND a.assigned_at <= $3 AND (a.withdrawn_at IS NULL OR a.withdrawn_at > $3) GROUP BY a.user_id), \
         done AS (SELECT c.user_id, s.bit, MIN(c.completed_at) AS done_at FROM completions c JOIN steps s ON s.course_id = c.course_id \
                  WHERE c.org_id = $1 AND c.completed_at <= $3 GROUP BY c.user_id, s.bit), \
         progress AS (SELECT e.user_id, CAST(COALESCE(SUM(d.bit), 0) AS BIGINT) AS mask, \
                             (MAX(d.done_at) - MIN(e.first_at)) / $5 AS days FROM enrolled e LEFT JOIN done d ON d.user_id = e.user_id GROUP BY e.user_id), \
         scores AS (SELECT percent, evaluator_id FROM assessments WHERE org_id = $1 AND track_id = $2 AND assessed_at <= $3) \
         SELECT 'step' AS kind, s.position AS k, SUM(CASE WHEN p.mask & (s.bit - 1) = s.bit - 1 THEN 1 ELSE 0 END) AS n, \
                CAST(SUM(CASE WHEN p.mask & (s.bit - 1) = s.bit - 1 AND p.mask & s.bit <> 0 THEN 1 ELSE 0 END) AS DOUBLE PRECISION) AS x \
           FROM progress p CROSS JOIN steps s GROUP BY s.position \
         UNION ALL SELECT 'enrolled', 0, COUNT(*), CAST(SUM(CASE WHEN mask = $4 THEN 1 ELSE 0 END) AS DOUBLE PRECISION) FROM progress \
         UNION ALL SELECT 'bucket', CASE {bucket} ELSE 9 END, COUNT(*), CAST(SUM(percent) AS DOUBLE PRECISION) FROM scores GROUP BY CASE {bucket} ELSE 9 END \
         UNION ALL SELECT 'evaluator', 0, COUNT(*), CAST(SUM(percent) AS DOUBLE PRECISION) FROM scores GROUP BY evaluator_id \
         UNION ALL SELECT 'median', 0, 0, (SELECT percent FROM scores ORDER BY percent LIMIT 1 OFFSET (SELECT (COUNT(*) - 1) / 2 FROM scores)) \
         UNION ALL SELECT 'days', 0, 0, CAST((SELECT days FROM progress WHERE mask = $4 ORDER BY days LIMIT 1 OFFSET (SELECT (COUNT(*) - 1) / 2 FROM progress WHERE mask = $4)) AS DOUBLE PRECISION)"
    );
    let at = clock.now().timestamp_micros();
    let sql = || async {
        let db = &state.db.read;
        db.query_all_raw(Statement::from_sql_and_values(
            backend,
            &aggregate,
            vec![
                org_id.into(),
                t.id.into(),
                at.into(),
                full.into(),
                day.into(),
            ],
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .len()
    };
    let rows = sql().await;
    let sql_times = time(RUNS, sql).await;

    let (api_ms, sql_ms) = (median_ms(&api_times), median_ms(&sql_times));
    let (api_min, sql_min) = (min_ms(&api_times), min_ms(&sql_times));
    let ratio = api_ms / sql_ms;
    let seconds = seeded.as_secs_f64();
    let report = &first["trackReport"];
    let (enrolled, completed) = (&report["enrolled"], &report["completed"]);
    println!();
    println!("trackReport benchmark ({backend:?}, seeded in {seconds:.1} s)");
    println!(
        "  enrolled {enrolled_rows} (report: {enrolled}), completed {completed}, assessments {assessments}"
    );
    println!();
    println!("| what                                | median ms | min ms | ratio |");
    println!("|-------------------------------------|-----------|--------|-------|");
    println!(
        "| trackReport through the GraphQL API | {api_ms:>9.1} | {api_min:>6.1} | {ratio:>5.2} |"
    );
    println!("| one hand-written SQL aggregate      | {sql_ms:>9.1} | {sql_min:>6.1} |  1.00 |");
    println!();
    println!(
        "({RUNS} runs each after a warm-up; the aggregate returned {rows} rows; target ratio <= 1.5)"
    );
    drop(dir);
}

async fn scalar(state: &AppState, sql: &str, org: Uuid) -> i64 {
    let db = &state.db.read;
    db.query_one_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        vec![org.into()],
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index::<i64>(0)
    .unwrap()
}

async fn time<F, Fut, T>(runs: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f().await);
        out.push(t.elapsed());
    }
    out
}

fn median_ms(times: &[Duration]) -> f64 {
    let mut v: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn min_ms(times: &[Duration]) -> f64 {
    times
        .iter()
        .map(|d| d.as_secs_f64() * 1000.0)
        .fold(f64::INFINITY, f64::min)
}
