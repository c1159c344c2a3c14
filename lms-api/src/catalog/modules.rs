//! Modules, module items, pages, and what learners did with items: model and SQL.

use std::collections::HashMap;

use lms_db::{AccountId, CourseId, Flag, ModuleId, ModuleItemId, Tx, UserId, query_error};

use crate::ApiError;
use crate::accounts::store::now_ms;
use crate::catalog::progress::{ItemActivity, Requirement};

/// A module of a course.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    /// Its id.
    pub id: ModuleId,
    /// Its course.
    pub course_id: CourseId,
    /// Its name.
    pub name: String,
    /// Its place in the course, from 1.
    pub position: i64,
    /// When it unlocks.
    pub unlock_at_ms: Option<i64>,
    /// Items must be completed in order.
    pub require_sequential_progress: bool,
    /// Modules to complete first.
    pub prerequisite_module_ids: Vec<ModuleId>,
    /// Visible to learners.
    pub published: bool,
}

/// What a module item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A heading between items.
    SubHeader,
    /// A page of the course (`page_url`).
    Page,
    /// A link (`external_url`).
    ExternalUrl,
    /// Our addition: a lecture video, a media object (`content_id`).
    Video,
}

impl ItemKind {
    /// Canvas's name (ours for `Video`).
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::SubHeader => "SubHeader",
            ItemKind::Page => "Page",
            ItemKind::ExternalUrl => "ExternalUrl",
            ItemKind::Video => "Video",
        }
    }

    /// From its name.
    pub fn parse(text: &str) -> Option<ItemKind> {
        [ItemKind::SubHeader, ItemKind::Page, ItemKind::ExternalUrl, ItemKind::Video]
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(text))
    }
}

/// An item of a module.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleItem {
    /// Its id.
    pub id: ModuleItemId,
    /// Its module.
    pub module_id: ModuleId,
    /// Its course.
    pub course_id: CourseId,
    /// Its place in the module, from 1.
    pub position: i64,
    /// Its title.
    pub title: String,
    /// What it is.
    pub kind: ItemKind,
    /// Indentation level.
    pub indent: i64,
    /// The media object of a `Video`.
    pub content_id: Option<i64>,
    /// The page of a `Page`.
    pub page_url: Option<String>,
    /// The link of an `ExternalUrl`.
    pub external_url: Option<String>,
    /// Open the link in a new tab.
    pub new_tab: bool,
    /// What completes it.
    pub requirement: Option<Requirement>,
    /// Visible to learners.
    pub published: bool,
}

/// A page of a course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Its course.
    pub course_id: CourseId,
    /// Its slug, unique in the course.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Sanitized HTML.
    pub body: String,
    /// Visible to learners.
    pub published: bool,
    /// Creation time.
    pub created_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct ModuleRow {
    id: i64,
    course_id: i64,
    name: String,
    position: i64,
    unlock_at: Option<i64>,
    require_sequential_progress: Flag,
    prerequisite_module_ids: String,
    published: Flag,
}

impl From<ModuleRow> for Module {
    fn from(row: ModuleRow) -> Module {
        Module {
            id: ModuleId(row.id),
            course_id: CourseId(row.course_id),
            name: row.name,
            position: row.position,
            unlock_at_ms: row.unlock_at,
            require_sequential_progress: row.require_sequential_progress.into(),
            prerequisite_module_ids: serde_json::from_str::<Vec<i64>>(&row.prerequisite_module_ids)
                .unwrap_or_default()
                .into_iter()
                .map(ModuleId)
                .collect(),
            published: row.published.into(),
        }
    }
}

const MODULE_COLUMNS: &str =
    "id, course_id, name, position, unlock_at, require_sequential_progress, prerequisite_module_ids, published";

/// A module to create or the settings to change.
#[derive(Debug, Clone, Default)]
pub struct ModuleFields {
    /// Name.
    pub name: Option<String>,
    /// Position.
    pub position: Option<i64>,
    /// Unlock time (`Some(None)` clears it).
    pub unlock_at_ms: Option<Option<i64>>,
    /// Sequential progress.
    pub require_sequential_progress: Option<bool>,
    /// Prerequisites.
    pub prerequisite_module_ids: Option<Vec<ModuleId>>,
    /// Published.
    pub published: Option<bool>,
}

/// The modules of `course`, in order.
pub async fn modules(tx: &mut Tx, account: AccountId, course: CourseId) -> Result<Vec<Module>, lms_db::DbError> {
    let rows: Vec<ModuleRow> = sqlx::query_as(&format!(
        "SELECT {MODULE_COLUMNS} FROM modules WHERE account_id = $1 AND course_id = $2 ORDER BY position, id"
    ))
    .bind(account.0)
    .bind(course.0)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("list modules"))?;
    Ok(rows.into_iter().map(Module::from).collect())
}

/// Creates a module at `position` (the end when not given), moving later modules down.
pub async fn create_module(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    fields: &ModuleFields,
) -> Result<Module, ApiError> {
    let position = make_room(tx, account, Siblings::ModulesOf(course), fields.position).await?;
    let prerequisites: Vec<i64> =
        fields.prerequisite_module_ids.clone().unwrap_or_default().iter().map(|id| id.0).collect();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO modules (account_id, course_id, name, position, unlock_at, require_sequential_progress, \
         prerequisite_module_ids, published, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(account.0)
    .bind(course.0)
    .bind(fields.name.clone().unwrap_or_default())
    .bind(position)
    .bind(fields.unlock_at_ms.flatten())
    .bind(fields.require_sequential_progress.unwrap_or(false))
    .bind(serde_json::to_string(&prerequisites).unwrap_or_else(|_| "[]".into()))
    .bind(fields.published.unwrap_or(true))
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await
    .map_err(query_error("insert module"))?;
    module(tx, account, course, ModuleId(id))
        .await?
        .ok_or_else(|| lms_db::DbError::Corrupt { what: "a new module vanished".into() }.into())
}

/// The module `id` of `course`.
pub async fn module(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    id: ModuleId,
) -> Result<Option<Module>, lms_db::DbError> {
    let row: Option<ModuleRow> = sqlx::query_as(&format!(
        "SELECT {MODULE_COLUMNS} FROM modules WHERE account_id = $1 AND course_id = $2 AND id = $3"
    ))
    .bind(account.0)
    .bind(course.0)
    .bind(id.0)
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_error("select module"))?;
    Ok(row.map(Module::from))
}

/// Changes a module's settings (its position is kept).
pub async fn update_module(
    tx: &mut Tx,
    account: AccountId,
    module: &Module,
    fields: &ModuleFields,
) -> Result<Module, ApiError> {
    let prerequisites: Vec<i64> = fields
        .prerequisite_module_ids
        .clone()
        .unwrap_or_else(|| module.prerequisite_module_ids.clone())
        .iter()
        .map(|id| id.0)
        .collect();
    sqlx::query(
        "UPDATE modules SET name = $1, unlock_at = $2, require_sequential_progress = $3, prerequisite_module_ids = $4, \
         published = $5 WHERE account_id = $6 AND id = $7",
    )
    .bind(fields.name.as_ref().unwrap_or(&module.name))
    .bind(fields.unlock_at_ms.unwrap_or(module.unlock_at_ms))
    .bind(fields.require_sequential_progress.unwrap_or(module.require_sequential_progress))
    .bind(serde_json::to_string(&prerequisites).unwrap_or_else(|_| "[]".into()))
    .bind(fields.published.unwrap_or(module.published))
    .bind(account.0)
    .bind(module.id.0)
    .execute(&mut **tx)
    .await
    .map_err(query_error("update module"))?;
    Ok(self::module(tx, account, module.course_id, module.id)
        .await?
        .ok_or_else(|| lms_db::DbError::Corrupt { what: "a module vanished".into() })?)
}

/// Removes `module` with its items and what learners did with them; the modules after it move up, and the
/// modules that named it as a prerequisite no longer wait for it (a prerequisite that no longer exists would
/// lock them forever).
pub async fn delete_module(tx: &mut Tx, account: AccountId, module: &Module) -> Result<(), lms_db::DbError> {
    for other in modules(tx, account, module.course_id).await? {
        if other.prerequisite_module_ids.contains(&module.id) {
            let kept: Vec<i64> =
                other.prerequisite_module_ids.iter().filter(|id| **id != module.id).map(|id| id.0).collect();
            sqlx::query("UPDATE modules SET prerequisite_module_ids = $1 WHERE account_id = $2 AND id = $3")
                .bind(serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into()))
                .bind(account.0)
                .bind(other.id.0)
                .execute(&mut **tx)
                .await
                .map_err(query_error("drop a deleted prerequisite"))?;
        }
    }
    // Items (and their progress) go with the module: the foreign keys cascade.
    sqlx::query("DELETE FROM modules WHERE account_id = $1 AND id = $2")
        .bind(account.0)
        .bind(module.id.0)
        .execute(&mut **tx)
        .await
        .map_err(query_error("delete module"))?;
    close_gap(tx, account, Siblings::ModulesOf(module.course_id), module.position).await
}

/// The list a module or item is in.
#[derive(Debug, Clone, Copy)]
enum Siblings {
    ModulesOf(CourseId),
    ItemsOf(ModuleId),
}

impl Siblings {
    /// The table, the parent column and the parent's id. Table and column names are our own constants,
    /// never input.
    fn table_and_parent(self) -> (&'static str, &'static str, i64) {
        match self {
            Siblings::ModulesOf(course) => ("modules", "course_id", course.0),
            Siblings::ItemsOf(module) => ("module_items", "module_id", module.0),
        }
    }
}

/// Moves the siblings after a removed one at `position` up one place, so positions stay 1, 2, 3…
async fn close_gap(tx: &mut Tx, account: AccountId, siblings: Siblings, position: i64) -> Result<(), lms_db::DbError> {
    let (table, parent, parent_id) = siblings.table_and_parent();
    sqlx::query(&format!(
        "UPDATE {table} SET position = position - 1 WHERE account_id = $1 AND {parent} = $2 AND position > $3"
    ))
    .bind(account.0)
    .bind(parent_id)
    .bind(position)
    .execute(&mut **tx)
    .await
    .map_err(query_error("close the gap of a removed sibling"))?;
    Ok(())
}

/// Frees `wanted` (1-based; the end when `None` or past it) in a list of siblings by moving the later ones
/// down; returns the position taken.
async fn make_room(
    tx: &mut Tx,
    account: AccountId,
    siblings: Siblings,
    wanted: Option<i64>,
) -> Result<i64, lms_db::DbError> {
    let (table, parent, parent_id) = siblings.table_and_parent();
    let count: i64 =
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE account_id = $1 AND {parent} = $2"))
            .bind(account.0)
            .bind(parent_id)
            .fetch_one(&mut **tx)
            .await
            .map_err(query_error("count siblings"))?;
    let position = wanted.unwrap_or(count + 1).clamp(1, count + 1);
    sqlx::query(&format!(
        "UPDATE {table} SET position = position + 1 WHERE account_id = $1 AND {parent} = $2 AND position >= $3"
    ))
    .bind(account.0)
    .bind(parent_id)
    .bind(position)
    .execute(&mut **tx)
    .await
    .map_err(query_error("move siblings"))?;
    Ok(position)
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: i64,
    module_id: i64,
    course_id: i64,
    position: i64,
    title: String,
    #[sqlx(rename = "type")]
    kind: String,
    indent: i64,
    content_id: Option<i64>,
    page_url: Option<String>,
    external_url: Option<String>,
    new_tab: Flag,
    completion_type: Option<String>,
    min_score: Option<f64>,
    published: Flag,
}

impl TryFrom<ItemRow> for ModuleItem {
    type Error = lms_db::DbError;

    fn try_from(row: ItemRow) -> Result<ModuleItem, lms_db::DbError> {
        let kind = ItemKind::parse(&row.kind)
            .ok_or_else(|| lms_db::DbError::Corrupt { what: format!("item type {:?}", row.kind) })?;
        let requirement = match row.completion_type.as_deref() {
            None => None,
            Some("must_view") => Some(Requirement::MustView),
            Some("must_mark_done") => Some(Requirement::MustMarkDone),
            Some("must_submit") => Some(Requirement::MustSubmit),
            Some("min_score") => Some(Requirement::MinScore(row.min_score.unwrap_or(0.0))),
            Some(other) => return Err(lms_db::DbError::Corrupt { what: format!("completion type {other:?}") }),
        };
        Ok(ModuleItem {
            id: ModuleItemId(row.id),
            module_id: ModuleId(row.module_id),
            course_id: CourseId(row.course_id),
            position: row.position,
            title: row.title,
            kind,
            indent: row.indent,
            content_id: row.content_id,
            page_url: row.page_url,
            external_url: row.external_url,
            new_tab: row.new_tab.into(),
            requirement,
            published: row.published.into(),
        })
    }
}

const ITEM_COLUMNS: &str = "id, module_id, course_id, position, title, type, indent, content_id, page_url, external_url, \
     new_tab, completion_type, min_score, published";

/// Every item of `course`, by module and position, in one query.
pub async fn items_of_course(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
) -> Result<Vec<ModuleItem>, lms_db::DbError> {
    let rows: Vec<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM module_items WHERE account_id = $1 AND course_id = $2 ORDER BY module_id, position, id"
    ))
    .bind(account.0)
    .bind(course.0)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("list items"))?;
    rows.into_iter().map(ModuleItem::try_from).collect()
}

/// The item `id` of `module`.
pub async fn item(
    tx: &mut Tx,
    account: AccountId,
    module: ModuleId,
    id: ModuleItemId,
) -> Result<Option<ModuleItem>, lms_db::DbError> {
    let row: Option<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM module_items WHERE account_id = $1 AND module_id = $2 AND id = $3"
    ))
    .bind(account.0)
    .bind(module.0)
    .bind(id.0)
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_error("select item"))?;
    row.map(ModuleItem::try_from).transpose()
}

/// An item to create.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: ItemKind,
    /// Position (the end when not given).
    pub position: Option<i64>,
    /// Indent.
    pub indent: i64,
    /// Media object of a video.
    pub content_id: Option<i64>,
    /// Page slug.
    pub page_url: Option<String>,
    /// Link.
    pub external_url: Option<String>,
    /// New tab.
    pub new_tab: bool,
    /// Requirement.
    pub requirement: Option<Requirement>,
}

/// Creates an item in `module` at its position, moving later items down.
pub async fn create_item(
    tx: &mut Tx,
    account: AccountId,
    module: &Module,
    new: &NewItem,
) -> Result<ModuleItem, ApiError> {
    let position = make_room(tx, account, Siblings::ItemsOf(module.id), new.position).await?;
    let (completion, min_score) = match new.requirement {
        None => (None, None),
        Some(Requirement::MinScore(score)) => (Some("min_score"), Some(score)),
        Some(requirement) => (Some(requirement.as_str()), None),
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO module_items (account_id, course_id, module_id, position, title, type, indent, content_id, page_url, \
         external_url, new_tab, completion_type, min_score, published, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(account.0)
    .bind(module.course_id.0)
    .bind(module.id.0)
    .bind(position)
    .bind(&new.title)
    .bind(new.kind.as_str())
    .bind(new.indent)
    .bind(new.content_id)
    .bind(new.page_url.as_deref())
    .bind(new.external_url.as_deref())
    .bind(new.new_tab)
    .bind(completion)
    .bind(min_score)
    .bind(true)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await
    .map_err(query_error("insert item"))?;
    Ok(item(tx, account, module.id, ModuleItemId(id))
        .await?
        .ok_or_else(|| lms_db::DbError::Corrupt { what: "a new item vanished".into() })?)
}

#[derive(sqlx::FromRow)]
struct ActivityRow {
    item_id: i64,
    viewed: Flag,
    watched_fraction: f64,
    marked_done: Flag,
    submitted: Flag,
    score: Option<f64>,
}

/// What `user` did with each item of `course`, in one query.
pub async fn activity(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    user: UserId,
) -> Result<HashMap<ModuleItemId, ItemActivity>, lms_db::DbError> {
    let rows: Vec<ActivityRow> = sqlx::query_as(
        "SELECT item_id, viewed, watched_fraction, marked_done, submitted, score FROM item_progress \
         WHERE account_id = $1 AND course_id = $2 AND user_id = $3",
    )
    .bind(account.0)
    .bind(course.0)
    .bind(user.0)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("select progress"))?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let activity = ItemActivity {
                viewed: row.viewed.into(),
                watched_fraction: row.watched_fraction,
                marked_done: row.marked_done.into(),
                submitted: row.submitted.into(),
                score: row.score,
            };
            (ModuleItemId(row.item_id), activity)
        })
        .collect())
}

/// A change to what a learner did with an item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ActivityChange {
    /// Opened it.
    Viewed,
    /// Marked it done, or took the mark back.
    MarkedDone(bool),
}

/// Records `change` for `user` on `item`.
pub async fn record(
    tx: &mut Tx,
    account: AccountId,
    item: &ModuleItem,
    user: UserId,
    change: ActivityChange,
) -> Result<(), lms_db::DbError> {
    ensure_progress_row(tx, account, item, user).await?;
    let (sql, value) = match change {
        ActivityChange::Viewed => (
            "UPDATE item_progress SET viewed = $1, updated_at = $2 WHERE account_id = $3 AND user_id = $4 AND item_id = $5",
            true,
        ),
        ActivityChange::MarkedDone(done) => (
            "UPDATE item_progress SET marked_done = $1, updated_at = $2 WHERE account_id = $3 AND user_id = $4 AND item_id = $5",
            done,
        ),
    };
    sqlx::query(sql)
        .bind(value)
        .bind(now_ms())
        .bind(account.0)
        .bind(user.0)
        .bind(item.id.0)
        .execute(&mut **tx)
        .await
        .map_err(query_error("record progress"))?;
    Ok(())
}

/// Adds the ranges a player reported for `user` on a video `item` lasting `duration` seconds; returns the
/// share now watched, or `None` (nothing stored) when the merged ranges would be more than `max_ranges`.
pub async fn record_watching(
    tx: &mut Tx,
    account: AccountId,
    item: &ModuleItem,
    user: UserId,
    ranges: &[(f64, f64)],
    duration: f64,
    max_ranges: usize,
) -> Result<Option<f64>, lms_db::DbError> {
    ensure_progress_row(tx, account, item, user).await?;
    let stored: String = sqlx::query_scalar(
        "SELECT watched_ranges FROM item_progress WHERE account_id = $1 AND user_id = $2 AND item_id = $3",
    )
    .bind(account.0)
    .bind(user.0)
    .bind(item.id.0)
    .fetch_one(&mut **tx)
    .await
    .map_err(query_error("select watched ranges"))?;
    let mut all: Vec<(f64, f64)> = serde_json::from_str(&stored).unwrap_or_default();
    all.extend_from_slice(ranges);
    let merged = crate::catalog::progress::merge_ranges(all);
    if merged.len() > max_ranges {
        return Ok(None);
    }
    let fraction = crate::catalog::progress::watched_fraction(&merged, duration);
    sqlx::query(
        "UPDATE item_progress SET viewed = $1, watched_ranges = $2, watched_fraction = $3, updated_at = $4 \
         WHERE account_id = $5 AND user_id = $6 AND item_id = $7",
    )
    .bind(true)
    .bind(serde_json::to_string(&merged).unwrap_or_else(|_| "[]".into()))
    .bind(fraction)
    .bind(now_ms())
    .bind(account.0)
    .bind(user.0)
    .bind(item.id.0)
    .execute(&mut **tx)
    .await
    .map_err(query_error("record watching"))?;
    Ok(Some(fraction))
}

async fn ensure_progress_row(
    tx: &mut Tx,
    account: AccountId,
    item: &ModuleItem,
    user: UserId,
) -> Result<(), lms_db::DbError> {
    sqlx::query(
        "INSERT INTO item_progress (account_id, user_id, item_id, course_id, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, item_id) DO NOTHING",
    )
    .bind(account.0)
    .bind(user.0)
    .bind(item.id.0)
    .bind(item.course_id.0)
    .bind(now_ms())
    .execute(&mut **tx)
    .await
    .map_err(query_error("insert progress"))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PageRow {
    course_id: i64,
    url: String,
    title: String,
    body: String,
    published: Flag,
    created_at: i64,
    updated_at: i64,
}

impl From<PageRow> for Page {
    fn from(row: PageRow) -> Page {
        Page {
            course_id: CourseId(row.course_id),
            url: row.url,
            title: row.title,
            body: row.body,
            published: row.published.into(),
            created_at_ms: row.created_at,
            updated_at_ms: row.updated_at,
        }
    }
}

/// Canvas's page slug for a title: lower-case words joined by `-` (`Week 1: Cells` → `week-1-cells`).
pub fn slug(title: &str) -> String {
    let mut slug = String::new();
    for word in title.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()) {
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_lowercase());
    }
    if slug.is_empty() { "page".into() } else { slug.chars().take(200).collect() }
}

/// Creates a page with a slug made from its title (`-2`, `-3`… when taken); `body` must be sanitized.
pub async fn create_page(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    title: &str,
    body: &str,
    published: bool,
) -> Result<Page, ApiError> {
    let base = slug(title);
    let mut url = base.clone();
    for attempt in 2.. {
        if page(tx, account, course, &url).await?.is_none() {
            break;
        }
        url = format!("{base}-{attempt}");
    }
    let now = now_ms();
    sqlx::query(
        "INSERT INTO pages (account_id, course_id, url, title, body, published, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(account.0)
    .bind(course.0)
    .bind(&url)
    .bind(title)
    .bind(body)
    .bind(published)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(query_error("insert page"))?;
    Ok(page(tx, account, course, &url)
        .await?
        .ok_or_else(|| lms_db::DbError::Corrupt { what: "a new page vanished".into() })?)
}

/// Changes page `url` of `course`: its title, body or publication, each left as it is when `None`. The slug
/// stays, so links to the page and the items that lead to it keep working. `None` when there is no such page.
pub async fn update_page(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    url: &str,
    change: &PageChange,
) -> Result<Option<Page>, lms_db::DbError> {
    let Some(current) = page(tx, account, course, url).await? else { return Ok(None) };
    sqlx::query(
        "UPDATE pages SET title = $4, body = $5, published = $6, updated_at = $7 \
         WHERE account_id = $1 AND course_id = $2 AND url = $3",
    )
    .bind(account.0)
    .bind(course.0)
    .bind(url)
    .bind(change.title.as_deref().unwrap_or(&current.title))
    .bind(change.body.as_deref().unwrap_or(&current.body))
    .bind(change.published.unwrap_or(current.published))
    .bind(now_ms())
    .execute(&mut **tx)
    .await
    .map_err(query_error("update page"))?;
    page(tx, account, course, url).await
}

/// What a page update changes.
#[derive(Debug, Clone, Default)]
pub struct PageChange {
    /// A new title.
    pub title: Option<String>,
    /// A new (cleaned) body.
    pub body: Option<String>,
    /// Published or not.
    pub published: Option<bool>,
}

/// Removes `item` with what learners did with it; the items after it move up one place.
pub async fn delete_item(tx: &mut Tx, account: AccountId, item: &ModuleItem) -> Result<(), lms_db::DbError> {
    sqlx::query("DELETE FROM module_items WHERE account_id = $1 AND id = $2")
        .bind(account.0)
        .bind(item.id.0)
        .execute(&mut **tx)
        .await
        .map_err(query_error("delete item"))?;
    close_gap(tx, account, Siblings::ItemsOf(item.module_id), item.position).await
}

/// The page `url` of `course`.
pub async fn page(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    url: &str,
) -> Result<Option<Page>, lms_db::DbError> {
    let row: Option<PageRow> = sqlx::query_as(
        "SELECT course_id, url, title, body, published, created_at, updated_at FROM pages \
         WHERE account_id = $1 AND course_id = $2 AND url = $3",
    )
    .bind(account.0)
    .bind(course.0)
    .bind(url)
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_error("select page"))?;
    Ok(row.map(Page::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_canvas_like() {
        assert_eq!(slug("Week 1: Cells & Membranes"), "week-1-cells-membranes");
        assert_eq!(slug("  !!  "), "page");
        assert_eq!(slug("Ünïcode Straße"), "ünïcode-straße");
    }
}
