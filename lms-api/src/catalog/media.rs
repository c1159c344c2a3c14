//! Media objects: a course's lecture videos, each a series of versions whose transcode jobs the pipeline
//! runs. What a media object shows is its newest version whose job is published, read together with the
//! job in one query: the flip to a new ladder is the job's own atomic change to `published`.

use lms_db::{AccountId, CourseId, MediaObjectId, Tx, UserId, query_error};
use lms_packager::playlist::LadderSummary;
use lms_pipeline::JobState;

use crate::accounts::store::now_ms;

/// A media object with what its versions' jobs say.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaObject {
    /// Its id.
    pub id: MediaObjectId,
    /// Its course.
    pub course_id: CourseId,
    /// Its title.
    pub title: String,
    /// Creation time.
    pub created_at_ms: i64,
    /// The newest version's job.
    pub latest_job_id: String,
    /// That job's state.
    pub latest_state: JobState,
    /// The ladder shown: the storage prefix of the newest published version, if any.
    pub ladder_prefix: Option<String>,
    /// Subtitle languages of the version shown (or of the newest, while none is published).
    pub subtitle_languages: Vec<String>,
    /// The shown ladder's length and rungs, as its worker read them back (none for ladders published before
    /// workers recorded them).
    pub ladder: Option<LadderSummary>,
}

#[derive(sqlx::FromRow)]
struct MediaRow {
    id: i64,
    course_id: i64,
    title: String,
    created_at: i64,
    latest_job_id: String,
    latest_state: String,
    latest_subtitles: String,
    published_prefix: Option<String>,
    published_subtitles: Option<String>,
    published_summary: Option<String>,
}

fn languages(subtitles: &str) -> Vec<String> {
    serde_json::from_str::<Vec<lms_pipeline::job::SubtitleRef>>(subtitles)
        .map(|refs| refs.into_iter().map(|subtitle| subtitle.language).collect())
        .unwrap_or_default()
}

impl From<MediaRow> for MediaObject {
    fn from(row: MediaRow) -> MediaObject {
        let subtitles = row.published_subtitles.as_deref().unwrap_or(&row.latest_subtitles);
        MediaObject {
            id: MediaObjectId(row.id),
            course_id: CourseId(row.course_id),
            title: row.title,
            created_at_ms: row.created_at,
            latest_job_id: row.latest_job_id,
            latest_state: JobState::ALL
                .into_iter()
                .find(|state| state.as_str() == row.latest_state)
                .unwrap_or(JobState::Queued),
            ladder_prefix: row.published_prefix,
            subtitle_languages: languages(subtitles),
            // A summary that does not read (a format from a newer worker) is shown as none, not as an error.
            ladder: row.published_summary.and_then(|json| serde_json::from_str(&json).ok()),
        }
    }
}

/// One query for any number of media objects: the newest version and the newest published one are
/// correlated subqueries on the versions index.
const MEDIA_SELECT: &str = "SELECT m.id, m.course_id, m.title, m.created_at, \
     latest.id AS latest_job_id, latest.state AS latest_state, latest.subtitles AS latest_subtitles, \
     shown.ladder_prefix AS published_prefix, shown.subtitles AS published_subtitles, \
     shown.ladder_summary AS published_summary \
     FROM media_objects m \
     JOIN jobs latest ON latest.id = (SELECT v.job_id FROM media_versions v WHERE v.media_object_id = m.id \
        ORDER BY v.id DESC LIMIT 1) \
     LEFT JOIN jobs shown ON shown.id = (SELECT v.job_id FROM media_versions v JOIN jobs j ON j.id = v.job_id \
        WHERE v.media_object_id = m.id AND j.state = 'published' ORDER BY v.id DESC LIMIT 1)";

/// Creates a media object in `course` whose first version is `job_id` (a job created in the same
/// transaction).
pub async fn create(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    title: &str,
    creator: UserId,
    job_id: &str,
) -> Result<MediaObject, lms_db::DbError> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO media_objects (account_id, course_id, title, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(account.0)
    .bind(course.0)
    .bind(title)
    .bind(creator.0)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(query_error("insert media object"))?;
    add_version(tx, account, MediaObjectId(id), job_id).await?;
    find(tx, account, course, MediaObjectId(id))
        .await?
        .ok_or_else(|| lms_db::DbError::Corrupt { what: "a new media object vanished".into() })
}

/// Adds a version (a new upload of the same lecture) whose job was created in the same transaction.
pub async fn add_version(
    tx: &mut Tx,
    account: AccountId,
    media: MediaObjectId,
    job_id: &str,
) -> Result<(), lms_db::DbError> {
    sqlx::query("INSERT INTO media_versions (account_id, media_object_id, job_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(account.0)
        .bind(media.0)
        .bind(job_id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await
        .map_err(query_error("insert media version"))?;
    Ok(())
}

/// The media object `id` of `course`.
pub async fn find(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    id: MediaObjectId,
) -> Result<Option<MediaObject>, lms_db::DbError> {
    let row: Option<MediaRow> =
        sqlx::query_as(&format!("{MEDIA_SELECT} WHERE m.account_id = $1 AND m.course_id = $2 AND m.id = $3"))
            .bind(account.0)
            .bind(course.0)
            .bind(id.0)
            .fetch_optional(&mut **tx)
            .await
            .map_err(query_error("select media object"))?;
    Ok(row.map(MediaObject::from))
}

/// A page of `course`'s media objects, by id.
pub async fn list(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    offset: i64,
    limit: i64,
) -> Result<Vec<MediaObject>, lms_db::DbError> {
    let rows: Vec<MediaRow> = sqlx::query_as(&format!(
        "{MEDIA_SELECT} WHERE m.account_id = $1 AND m.course_id = $2 ORDER BY m.id LIMIT $3 OFFSET $4"
    ))
    .bind(account.0)
    .bind(course.0)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("list media objects"))?;
    Ok(rows.into_iter().map(MediaObject::from).collect())
}

/// Every media object of `course` (for a course page's Video items), in one query.
pub async fn all_of_course(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
) -> Result<Vec<MediaObject>, lms_db::DbError> {
    list(tx, account, course, 0, i64::MAX).await
}

/// The course whose media object has a version made by job `job_id`, if any.
pub async fn course_of_job(tx: &mut Tx, account: AccountId, job_id: &str) -> Result<Option<CourseId>, lms_db::DbError> {
    let course: Option<i64> = sqlx::query_scalar(
        "SELECT m.course_id FROM media_versions v JOIN media_objects m ON m.id = v.media_object_id \
         WHERE v.account_id = $1 AND v.job_id = $2",
    )
    .bind(account.0)
    .bind(job_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_error("select a job's course"))?;
    Ok(course.map(CourseId))
}

/// The ladders that a newer published version of the same media object replaced at least `grace_ms` ago, as
/// (job id, storage prefix): players that loaded the old master before the flip have had that long to
/// finish (system scope: a sweep across accounts).
pub async fn superseded_ladders(tx: &mut Tx, grace_ms: i64) -> Result<Vec<(String, String)>, lms_db::DbError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT j.id, j.ladder_prefix FROM media_versions v JOIN jobs j ON j.id = v.job_id \
         WHERE j.state = 'published' AND j.ladder_prefix IS NOT NULL AND EXISTS ( \
            SELECT 1 FROM media_versions newer JOIN jobs n ON n.id = newer.job_id \
            WHERE newer.media_object_id = v.media_object_id AND newer.id > v.id \
              AND n.state = 'published' AND n.updated_at <= $1) \
         ORDER BY v.id",
    )
    .bind(now_ms().saturating_sub(grace_ms))
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("select superseded ladders"))?;
    Ok(rows)
}

/// Records that job `job_id`'s ladder under `prefix` was removed: the job stays `published`, with no ladder.
pub async fn forget_ladder(tx: &mut Tx, job_id: &str, prefix: &str) -> Result<(), lms_db::DbError> {
    sqlx::query("UPDATE jobs SET ladder_prefix = NULL, updated_at = $1 WHERE id = $2 AND ladder_prefix = $3")
        .bind(now_ms())
        .bind(job_id)
        .bind(prefix)
        .execute(&mut **tx)
        .await
        .map_err(query_error("forget a removed ladder"))?;
    Ok(())
}

/// Removes the ladders that newer versions replaced at least `grace` ago, from storage and then from their
/// jobs (in that order: a failure in between leaves a job pointing at files that are gone, which the next
/// sweep finishes, never files that nothing points at). Returns how many were removed.
pub async fn retire_superseded_ladders(
    db: &lms_db::Db,
    storage: &lms_pipeline::storage::Storage,
    grace: std::time::Duration,
) -> Result<usize, crate::ApiError> {
    let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    let mut tx = db.read(lms_db::Scope::System).await?;
    let superseded = superseded_ladders(&mut tx, grace_ms).await?;
    lms_db::commit(tx).await?;
    for (job_id, prefix) in &superseded {
        let key = lms_pipeline::StorageKey::from_path(prefix)?;
        storage.delete_prefix(&key).await?;
        let mut tx = db.begin(lms_db::Scope::System).await?;
        forget_ladder(&mut tx, job_id, prefix).await?;
        lms_db::commit(tx).await?;
        tracing::info!(job_id = %job_id, prefix = %prefix, "a replaced lecture's old ladder removed");
    }
    Ok(superseded.len())
}
