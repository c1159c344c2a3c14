//! Row-level security on PostgreSQL: a query that forgets its tenant condition, run through the server's own
//! connection path, still sees and writes only the current tenant's rows.

use lms_db::Scope;
use sqlx::Row;

use crate::app::TestApp;

async fn ids(app: &TestApp, scope: Scope<'_>, sql: &str) -> Vec<i64> {
    let mut tx = app.db.begin(scope).await.unwrap();
    let rows = sqlx::query(sql).fetch_all(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    rows.iter().map(|row| row.try_get::<i64, _>(0).unwrap()).collect()
}

#[tokio::test]
async fn an_unscoped_select_sees_only_the_current_tenant() {
    let app = TestApp::postgres().await;
    let north = app.school.account_id;
    let south = app.another_account("South High", "admin@south.example").await;
    let north_key = north.tenant_key();
    let south_key = south.account_id.tenant_key();

    // The server works as a role that owns nothing, so forced row-level security binds it.
    let mut tx = app.db.begin(Scope::Tenant(&north_key)).await.unwrap();
    let role: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(role, lms_db::APP_ROLE);

    // Deliberately no WHERE clause.
    assert_eq!(ids(&app, Scope::Tenant(&north_key), "SELECT account_id FROM users").await, vec![north.0]);
    assert_eq!(ids(&app, Scope::Tenant(&south_key), "SELECT account_id FROM users").await, vec![south.account_id.0]);
    assert_eq!(ids(&app, Scope::Tenant(&north_key), "SELECT id FROM accounts").await, vec![north.0]);
    assert_eq!(ids(&app, Scope::Tenant(&north_key), "SELECT user_id FROM access_tokens").await.len(), 1);
    // The system (workers, token look-up) sees both; a tenant that is not an account sees nothing.
    assert_eq!(ids(&app, Scope::System, "SELECT id FROM accounts ORDER BY id").await.len(), 2);
    assert!(ids(&app, Scope::Tenant("nobody"), "SELECT id FROM users").await.is_empty());
    assert!(ids(&app, Scope::Tenant(""), "SELECT id FROM users").await.is_empty());

    // The setting lasts one transaction: the pooled connection does not carry it to the next.
    for _ in 0..20 {
        assert_eq!(ids(&app, Scope::Tenant(&south_key), "SELECT id FROM accounts").await, vec![south.account_id.0]);
        assert_eq!(ids(&app, Scope::Tenant(&north_key), "SELECT id FROM accounts").await, vec![north.0]);
    }

    // Writing a row for another tenant is refused, and so is moving a row to it.
    let mut tx = app.db.begin(Scope::Tenant(&north_key)).await.unwrap();
    let refused = sqlx::query(
        "INSERT INTO users (account_id, name, sortable_name, short_name, login_id, account_admin, created_at) \
         VALUES ($1, 'Mallory', 'Mallory', 'Mallory', 'mallory@south.example', TRUE, 0)",
    )
    .bind(south.account_id.0)
    .execute(&mut *tx)
    .await;
    assert!(refused.is_err(), "a row of another tenant was written");
    drop(tx);
    let mut tx = app.db.begin(Scope::Tenant(&north_key)).await.unwrap();
    let moved = sqlx::query("UPDATE users SET account_id = $1").bind(south.account_id.0).execute(&mut *tx).await;
    assert!(moved.is_err(), "a row was moved to another tenant");
    drop(tx);
    // And a tenant's blanket UPDATE or DELETE touches only its own rows.
    let mut tx = app.db.begin(Scope::Tenant(&north_key)).await.unwrap();
    let deleted = sqlx::query("DELETE FROM access_tokens").execute(&mut *tx).await.unwrap();
    assert_eq!(deleted.rows_affected(), 1);
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn jobs_and_their_outbox_rows_are_tenant_rows_too() {
    let app = TestApp::postgres().await;
    let store = lms_pipeline::jobs::JobStore::new(app.db.clone(), Default::default());
    for (id, tenant) in [("job-n", "1"), ("job-s", "2")] {
        let job = lms_pipeline::jobs::NewJob {
            id: id.into(),
            tenant_id: tenant.into(),
            source_key: format!("sources/{tenant}/{id}/lecture.mp4"),
            source_name: "lecture.mp4".into(),
            subtitles: Vec::new(),
        };
        store.create(&job).await.unwrap();
    }
    let mut tx = app.db.begin(Scope::Tenant("1")).await.unwrap();
    let jobs: Vec<String> = sqlx::query_scalar("SELECT id FROM jobs").fetch_all(&mut *tx).await.unwrap();
    let outbox: Vec<String> = sqlx::query_scalar("SELECT job_id FROM outbox").fetch_all(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((jobs, outbox), (vec!["job-n".to_owned()], vec!["job-n".to_owned()]));
    // The relay, a system task, sees both messages.
    assert_eq!(store.due_outbox(10).await.unwrap().len(), 2);
}
