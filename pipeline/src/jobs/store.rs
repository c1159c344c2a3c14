//! The job store: every change of a job's state, as one SQL statement or one transaction.

use std::time::Duration;

use lms_db::{Db, Scope, Tx, query_error};
use sqlx::Row;

use crate::PipelineError;
use crate::job::{SubtitleRef, TRANSCODE_JOB_KIND, TranscodeJob};
use crate::jobs::record::{JobRecord, JobState, NewJob};

/// How often and how patiently a job is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a job is dead.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled for each later one.
    pub first_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, first_backoff: Duration::from_secs(10), max_backoff: Duration::from_secs(600) }
    }
}

impl RetryPolicy {
    /// The wait after attempt `attempt` failed.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        self.first_backoff.saturating_mul(1 << doublings).min(self.max_backoff)
    }
}

/// The answer to a worker that asks for a delivered job.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The attempt is the worker's until its lease runs out.
    Granted(Box<JobRecord>),
    /// The message is out of date (a duplicate, an older attempt, a finished job): drop it.
    Stale {
        /// Why, for the log.
        reason: String,
    },
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Stable code (`input-rejected`, `encode-crashed`, `worker-lost`, …).
    pub code: String,
    /// In words, with causes.
    pub message: String,
    /// Whether another attempt may succeed. A refused source is not retried.
    pub retryable: bool,
}

/// What became of a job after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Queued again; the message is published after the backoff.
    Retrying {
        /// When the next attempt may start (Unix milliseconds).
        at_ms: i64,
    },
    /// It used its attempts, or its source was refused: kept in a final state.
    Final(JobState),
    /// The caller no longer holds the attempt; nothing was changed.
    Fenced,
}

/// A message waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The outbox row.
    pub id: String,
    /// The job it is about.
    pub job_id: String,
    /// The message body ([`TranscodeJob`] JSON).
    pub payload: Vec<u8>,
}

/// The jobs table and its outbox, in the shared database.
#[derive(Debug, Clone)]
pub struct JobStore {
    db: Db,
    policy: RetryPolicy,
}

pub(crate) use lms_db::now_ms;

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn db_error(operation: &'static str) -> impl FnOnce(sqlx::Error) -> PipelineError {
    move |source| PipelineError::Database(query_error(operation)(source))
}

const JOB_COLUMNS: &str = "id, tenant_id, state, attempt, max_attempts, lease_owner, lease_until, progress, \
     source_key, source_name, subtitles, ladder_prefix, published_attempt, error_code, error_message, created_at, \
     updated_at, ladder_summary";

impl JobStore {
    /// The store on `db`, whose migrations made the tables.
    pub fn new(db: Db, policy: RetryPolicy) -> Self {
        Self { db, policy }
    }

    /// Connects to `url` (`sqlite:///path/lms.db?mode=rwc` or `postgres://…`), applying the migrations that
    /// are missing: for tools and tests that need the job store alone.
    pub async fn connect(url: &str, policy: RetryPolicy) -> Result<Self, PipelineError> {
        Ok(Self::new(Db::connect(url).await?, policy))
    }

    /// The database the store lives in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The retry policy in force.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Checks the database answers, for readiness probes.
    pub async fn ping(&self) -> Result<(), PipelineError> {
        Ok(self.db.ping().await?)
    }

    async fn system(&self) -> Result<Tx, PipelineError> {
        Ok(self.db.begin(Scope::System).await?)
    }

    async fn system_read(&self) -> Result<Tx, PipelineError> {
        Ok(self.db.read(Scope::System).await?)
    }

    /// Creates a queued job and its first message, in one transaction.
    pub async fn create(&self, job: &NewJob) -> Result<JobRecord, PipelineError> {
        let mut transaction = self.db.begin(Scope::Tenant(&job.tenant_id)).await?;
        let record = self.create_in(&mut transaction, job).await?;
        transaction.commit().await.map_err(db_error("commit"))?;
        Ok(record)
    }

    /// Creates a queued job and its first message in `transaction`, which the caller commits with its own
    /// rows (a media object that points at the job, say). The transaction must be scoped to the job's tenant.
    pub async fn create_in(&self, transaction: &mut Tx, job: &NewJob) -> Result<JobRecord, PipelineError> {
        let now = now_ms();
        let subtitles = serde_json::to_string(&job.subtitles).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO jobs (id, tenant_id, state, attempt, max_attempts, requeues, progress, source_key, \
             source_name, subtitles, created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, 0, 0, $4, $5, $6, $7, $7)",
        )
        .bind(&job.id)
        .bind(&job.tenant_id)
        .bind(i64::from(self.policy.max_attempts))
        .bind(&job.source_key)
        .bind(&job.source_name)
        .bind(subtitles)
        .bind(now)
        .execute(&mut **transaction)
        .await
        .map_err(db_error("insert job"))?;
        let message = TranscodeJob {
            kind: TRANSCODE_JOB_KIND.into(),
            job_id: job.id.clone(),
            tenant_id: job.tenant_id.clone(),
            attempt: 1,
            source: job.source_key.clone(),
            subtitles: job.subtitles.clone(),
        };
        insert_outbox(transaction, &message, now).await?;
        record_in(transaction, &job.id).await
    }

    /// A job of `tenant`, or `None` when it does not exist or belongs to another tenant.
    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<JobRecord>, PipelineError> {
        let mut transaction = self.db.begin(Scope::Tenant(tenant)).await?;
        let row =
            sqlx::query_as::<_, JobRow>(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2"))
                .bind(id)
                .bind(tenant)
                .fetch_optional(&mut *transaction)
                .await
                .map_err(db_error("select job"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        row.map(JobRecord::try_from).transpose()
    }

    /// A job, whatever its tenant: for workers, which act for every tenant.
    pub async fn find(&self, id: &str) -> Result<Option<JobRecord>, PipelineError> {
        let mut transaction = self.system_read().await?;
        let row = sqlx::query_as::<_, JobRow>(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await
            .map_err(db_error("select job"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        row.map(JobRecord::try_from).transpose()
    }

    /// Starts the attempt `message` announces, for `worker`, with a lease of `lease`.
    pub async fn claim(&self, message: &TranscodeJob, worker: &str, lease: Duration) -> Result<Claim, PipelineError> {
        let now = now_ms();
        let mut transaction = self.system().await?;
        let claimed = sqlx::query(&format!(
            "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = $1, lease_until = {} + $2, \
             progress = 0, updated_at = $3 WHERE id = $4 AND state = 'queued' AND attempt + 1 = $5",
            self.db.dialect().now_ms_sql()
        ))
        .bind(worker)
        .bind(millis(lease))
        .bind(now)
        .bind(&message.job_id)
        .bind(i64::from(message.attempt))
        .execute(&mut *transaction)
        .await
        .map_err(db_error("claim job"))?;
        let record = find_in(&mut transaction, &message.job_id).await?;
        transaction.commit().await.map_err(db_error("commit"))?;
        match record {
            Some(record) if claimed.rows_affected() == 1 => Ok(Claim::Granted(Box::new(record))),
            Some(record) => Ok(Claim::Stale {
                reason: format!(
                    "job {} is {} at attempt {} (message for attempt {})",
                    record.id,
                    record.state.as_str(),
                    record.attempt,
                    message.attempt
                ),
            }),
            None => Ok(Claim::Stale { reason: format!("job {} does not exist", message.job_id) }),
        }
    }

    /// Extends the lease of `worker` on `attempt` and records its progress. False when the worker no longer
    /// holds the attempt: it must stop and publish nothing.
    pub async fn renew(
        &self,
        id: &str,
        attempt: u32,
        worker: &str,
        lease: Duration,
        progress: f64,
    ) -> Result<bool, PipelineError> {
        let now = now_ms();
        let mut transaction = self.system().await?;
        let renewed = sqlx::query(&format!(
            "UPDATE jobs SET lease_until = {} + $1, progress = $2, updated_at = $3 \
             WHERE id = $4 AND attempt = $5 AND lease_owner = $6 AND state = 'running'",
            self.db.dialect().now_ms_sql()
        ))
        .bind(millis(lease))
        .bind(progress.clamp(0.0, 1.0))
        .bind(now)
        .bind(id)
        .bind(i64::from(attempt))
        .bind(worker)
        .execute(&mut *transaction)
        .await
        .map_err(db_error("renew lease"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Points the job at the ladder `attempt` published under `prefix`, with what the ladder offers
    /// (`summary`, JSON the store keeps as it is). False when the worker was fenced out: its prefix must not
    /// be used.
    pub async fn mark_published(
        &self,
        id: &str,
        attempt: u32,
        worker: &str,
        prefix: &str,
        summary: Option<&str>,
    ) -> Result<bool, PipelineError> {
        let mut transaction = self.system().await?;
        let published = sqlx::query(
            "UPDATE jobs SET state = 'published', ladder_prefix = $1, published_attempt = $2, progress = 1, \
             lease_owner = NULL, lease_until = NULL, error_code = NULL, error_message = NULL, updated_at = $3, \
             ladder_summary = $6 \
             WHERE id = $4 AND attempt = $2 AND lease_owner = $5 AND state = 'running'",
        )
        .bind(prefix)
        .bind(i64::from(attempt))
        .bind(now_ms())
        .bind(id)
        .bind(worker)
        .bind(summary)
        .execute(&mut *transaction)
        .await
        .map_err(db_error("publish job"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        Ok(published.rows_affected() == 1)
    }

    /// Records that `attempt` failed: the job is queued again after a backoff, or kept as dead or rejected.
    pub async fn fail(
        &self,
        id: &str,
        attempt: u32,
        worker: &str,
        failure: &Failure,
    ) -> Result<FailureOutcome, PipelineError> {
        let now = now_ms();
        // The write comes first: on SQLite, a transaction that reads before it writes fails at once when
        // another connection commits in between (busy snapshot); one that starts by writing waits its turn.
        let mut transaction = self.system().await?;
        let changed = sqlx::query(
            "UPDATE jobs SET state = CASE WHEN $1 AND attempt < max_attempts THEN 'queued' \
             WHEN $1 THEN 'dead' ELSE 'rejected' END, \
             lease_owner = NULL, lease_until = NULL, error_code = $2, error_message = $3, updated_at = $4 \
             WHERE id = $5 AND attempt = $6 AND lease_owner = $7 AND state = 'running'",
        )
        .bind(failure.retryable)
        .bind(&failure.code)
        .bind(&failure.message)
        .bind(now)
        .bind(id)
        .bind(i64::from(attempt))
        .bind(worker)
        .execute(&mut *transaction)
        .await
        .map_err(db_error("fail job"))?;
        if changed.rows_affected() != 1 {
            return Ok(FailureOutcome::Fenced);
        }
        let record = record_in(&mut transaction, id).await?;
        let outcome = match record.state {
            JobState::Queued => {
                let at_ms = now.saturating_add(millis(self.policy.backoff(record.attempt)));
                insert_outbox(&mut transaction, &next_message(&record), at_ms).await?;
                FailureOutcome::Retrying { at_ms }
            }
            state => FailureOutcome::Final(state),
        };
        transaction.commit().await.map_err(db_error("commit"))?;
        Ok(outcome)
    }

    /// Hands a running attempt back without counting it against the job: the worker is shutting down. The job
    /// is queued again at once. False when the worker no longer held the attempt.
    pub async fn release(&self, id: &str, attempt: u32, worker: &str) -> Result<bool, PipelineError> {
        let now = now_ms();
        // Write first, for the same reason as in `fail`.
        let mut transaction = self.system().await?;
        let changed = sqlx::query(
            "UPDATE jobs SET state = 'queued', max_attempts = max_attempts + 1, lease_owner = NULL, \
             lease_until = NULL, progress = 0, updated_at = $1 \
             WHERE id = $2 AND attempt = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(now)
        .bind(id)
        .bind(i64::from(attempt))
        .bind(worker)
        .execute(&mut *transaction)
        .await
        .map_err(db_error("release job"))?;
        if changed.rows_affected() != 1 {
            return Ok(false);
        }
        let record = record_in(&mut transaction, id).await?;
        insert_outbox(&mut transaction, &next_message(&record), now).await?;
        transaction.commit().await.map_err(db_error("commit"))?;
        Ok(true)
    }

    /// Ends every attempt whose lease ran out (its worker died or lost the database) as a retryable
    /// failure. Returns the jobs it touched.
    pub async fn reap_expired_leases(&self) -> Result<Vec<(String, FailureOutcome)>, PipelineError> {
        let mut transaction = self.system_read().await?;
        let rows = sqlx::query(&format!(
            "SELECT id, attempt, lease_owner FROM jobs WHERE state = 'running' AND lease_until < {} LIMIT 100",
            self.db.dialect().now_ms_sql()
        ))
        .fetch_all(&mut *transaction)
        .await
        .map_err(db_error("select expired leases"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        let failure = Failure {
            code: "worker-lost".into(),
            message: "the worker's lease ran out: it stopped, or lost the database, before finishing".into(),
            retryable: true,
        };
        let mut reaped = Vec::new();
        for row in rows {
            let id: String = row.try_get("id").map_err(db_error("read row"))?;
            let attempt: i64 = row.try_get("attempt").map_err(db_error("read row"))?;
            let owner: Option<String> = row.try_get("lease_owner").map_err(db_error("read row"))?;
            let outcome =
                self.fail(&id, to_u32("attempt", attempt)?, owner.as_deref().unwrap_or_default(), &failure).await?;
            if outcome != FailureOutcome::Fenced {
                reaped.push((id, outcome));
            }
        }
        Ok(reaped)
    }

    /// Publishes again the message of every queued job that has none waiting in the outbox and has not
    /// changed for `older_than`: after a restart with the in-process queue, whose messages died with the
    /// process, or when a message was dead-lettered by the broker. Duplicates are harmless: the claim takes
    /// one and drops the rest.
    pub async fn requeue_stale(&self, older_than: Duration) -> Result<usize, PipelineError> {
        let now = now_ms();
        let mut transaction = self.system_read().await?;
        let rows = sqlx::query_as::<_, JobRow>(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'queued' AND updated_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.job_id = jobs.id) LIMIT 1000"
        ))
        .bind(now.saturating_sub(millis(older_than)))
        .fetch_all(&mut *transaction)
        .await
        .map_err(db_error("select stale jobs"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        let mut requeued = 0;
        for row in rows {
            let record = JobRecord::try_from(row)?;
            let mut transaction = self.system().await?;
            sqlx::query("UPDATE jobs SET requeues = requeues + 1, updated_at = $1 WHERE id = $2 AND state = 'queued'")
                .bind(now)
                .bind(&record.id)
                .execute(&mut *transaction)
                .await
                .map_err(db_error("requeue job"))?;
            insert_outbox(&mut transaction, &next_message(&record), now).await?;
            transaction.commit().await.map_err(db_error("commit"))?;
            requeued += 1;
        }
        Ok(requeued)
    }

    /// Records that the broker gave up on `message` (its consumers kept dying before settling it): the job,
    /// if it is still waiting for that very attempt, is dead with that reason, and can be replayed. False when
    /// the job has moved on (a worker holds it, or another message for it is on its way).
    pub async fn bury(&self, message: &TranscodeJob) -> Result<bool, PipelineError> {
        let mut transaction = self.system().await?;
        let buried = sqlx::query(
            "UPDATE jobs SET state = 'dead', error_code = 'dead-lettered', error_message = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'queued' AND attempt + 1 = $4 \
             AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.job_id = $3)",
        )
        .bind(format!(
            "the queue gave up on attempt {} after repeated deliveries that were never settled (a worker died each time)",
            message.attempt
        ))
        .bind(now_ms())
        .bind(&message.job_id)
        .bind(i64::from(message.attempt))
        .execute(&mut *transaction)
        .await
        .map_err(db_error("bury job"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        Ok(buried.rows_affected() == 1)
    }

    /// Gives a dead or rejected job of `tenant` a fresh set of attempts. `None` when there is no such job;
    /// the record unchanged when it is not in a state to replay.
    pub async fn replay(&self, tenant: &str, id: &str) -> Result<Option<JobRecord>, PipelineError> {
        let now = now_ms();
        // Write first, for the same reason as in `fail`.
        let mut transaction = self.db.begin(Scope::Tenant(tenant)).await?;
        let changed = sqlx::query(
            "UPDATE jobs SET state = 'queued', max_attempts = attempt + $1, progress = 0, updated_at = $2 \
             WHERE id = $3 AND tenant_id = $4 AND state IN ('dead', 'rejected')",
        )
        .bind(i64::from(self.policy.max_attempts))
        .bind(now)
        .bind(id)
        .bind(tenant)
        .execute(&mut *transaction)
        .await
        .map_err(db_error("replay job"))?;
        let record = find_in(&mut transaction, id).await?.filter(|record| record.tenant_id == tenant);
        if let (1, Some(record)) = (changed.rows_affected(), &record) {
            insert_outbox(&mut transaction, &next_message(record), now).await?;
        }
        transaction.commit().await.map_err(db_error("commit"))?;
        Ok(record)
    }

    /// Outbox messages due now, oldest first.
    pub async fn due_outbox(&self, limit: u32) -> Result<Vec<OutboxMessage>, PipelineError> {
        let mut transaction = self.system_read().await?;
        let rows = sqlx::query(
            "SELECT id, job_id, payload FROM outbox WHERE available_at <= $1 ORDER BY available_at, created_at LIMIT $2",
        )
        .bind(now_ms())
        .bind(i64::from(limit))
        .fetch_all(&mut *transaction)
        .await
        .map_err(db_error("select outbox"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get("payload").map_err(db_error("read row"))?;
                Ok(OutboxMessage {
                    id: row.try_get("id").map_err(db_error("read row"))?,
                    job_id: row.try_get("job_id").map_err(db_error("read row"))?,
                    payload: payload.into_bytes(),
                })
            })
            .collect()
    }

    /// Removes an outbox row once its message is confirmed.
    pub async fn delete_outbox(&self, id: &str) -> Result<(), PipelineError> {
        let mut transaction = self.system().await?;
        sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await
            .map_err(db_error("delete outbox"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        Ok(())
    }

    /// How many jobs are in each state, every state listed.
    pub async fn count_by_state(&self) -> Result<Vec<(JobState, u64)>, PipelineError> {
        let mut transaction = self.system_read().await?;
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(&mut *transaction)
            .await
            .map_err(db_error("count jobs"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        let mut counts: Vec<(JobState, u64)> = JobState::ALL.iter().map(|state| (*state, 0)).collect();
        for row in rows {
            let state: String = row.try_get("state").map_err(db_error("read row"))?;
            let count: i64 = row.try_get("n").map_err(db_error("read row"))?;
            if let Some(slot) = counts.iter_mut().find(|(known, _)| known.as_str() == state) {
                slot.1 = u64::try_from(count).unwrap_or(0);
            }
        }
        Ok(counts)
    }

    /// Messages waiting in the outbox (due or not).
    pub async fn outbox_len(&self) -> Result<u64, PipelineError> {
        let mut transaction = self.system_read().await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outbox")
            .fetch_one(&mut *transaction)
            .await
            .and_then(|row| row.try_get("n"))
            .map_err(db_error("count outbox"))?;
        transaction.commit().await.map_err(db_error("commit"))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

/// The message for the attempt after the record's current one.
fn next_message(record: &JobRecord) -> TranscodeJob {
    TranscodeJob {
        kind: TRANSCODE_JOB_KIND.into(),
        job_id: record.id.clone(),
        tenant_id: record.tenant_id.clone(),
        attempt: record.attempt + 1,
        source: record.source_key.clone(),
        subtitles: record.subtitles.clone(),
    }
}

/// The job `id` as `transaction` sees it (after its own writes), if it sees it.
async fn find_in(transaction: &mut Tx, id: &str) -> Result<Option<JobRecord>, PipelineError> {
    let row = sqlx::query_as::<_, JobRow>(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **transaction)
        .await
        .map_err(db_error("select job"))?;
    row.map(JobRecord::try_from).transpose()
}

/// The job `id` as `transaction` sees it, which must exist.
async fn record_in(transaction: &mut Tx, id: &str) -> Result<JobRecord, PipelineError> {
    find_in(transaction, id)
        .await?
        .ok_or_else(|| PipelineError::InvalidJob { reason: format!("job {id} vanished inside its transaction") })
}

async fn insert_outbox(transaction: &mut Tx, message: &TranscodeJob, available_at: i64) -> Result<(), PipelineError> {
    let payload = String::from_utf8(message.to_json()).unwrap_or_default();
    sqlx::query(
        "INSERT INTO outbox (id, tenant_id, job_id, payload, available_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(&message.tenant_id)
    .bind(&message.job_id)
    .bind(payload)
    .bind(available_at)
    .bind(now_ms())
    .execute(&mut **transaction)
    .await
    .map_err(db_error("insert outbox"))?;
    Ok(())
}

fn to_u32(column: &'static str, value: i64) -> Result<u32, PipelineError> {
    u32::try_from(value).map_err(|_| PipelineError::InvalidJob { reason: format!("{column} {value} out of range") })
}

/// A `jobs` row as the database returns it; [`JobRecord`] is what the rest of the code sees.
#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    tenant_id: String,
    state: String,
    attempt: i64,
    max_attempts: i64,
    lease_owner: Option<String>,
    lease_until: Option<i64>,
    progress: f64,
    source_key: String,
    source_name: String,
    subtitles: String,
    ladder_prefix: Option<String>,
    published_attempt: Option<i64>,
    error_code: Option<String>,
    error_message: Option<String>,
    created_at: i64,
    updated_at: i64,
    ladder_summary: Option<String>,
}

impl TryFrom<JobRow> for JobRecord {
    type Error = PipelineError;

    fn try_from(row: JobRow) -> Result<Self, PipelineError> {
        let state = JobState::parse(&row.state)
            .ok_or_else(|| PipelineError::InvalidJob { reason: format!("unknown job state {:?}", row.state) })?;
        let subtitles: Vec<SubtitleRef> = serde_json::from_str(&row.subtitles)
            .map_err(|error| PipelineError::InvalidJob { reason: format!("stored subtitles: {error}") })?;
        Ok(JobRecord {
            id: row.id,
            tenant_id: row.tenant_id,
            state,
            attempt: to_u32("attempt", row.attempt)?,
            max_attempts: to_u32("max_attempts", row.max_attempts)?,
            lease_owner: row.lease_owner,
            lease_until_ms: row.lease_until,
            progress: row.progress,
            source_key: row.source_key,
            source_name: row.source_name,
            subtitles,
            ladder_prefix: row.ladder_prefix,
            published_attempt: row.published_attempt.and_then(|attempt| u32::try_from(attempt).ok()),
            error_code: row.error_code,
            error_message: row.error_message,
            created_at_ms: row.created_at,
            updated_at_ms: row.updated_at,
            ladder_summary: row.ladder_summary,
        })
    }
}
