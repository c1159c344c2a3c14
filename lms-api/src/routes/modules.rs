//! Modules, items, pages and learner progress:
//! `GET|POST /api/v1/courses/{id}/modules`, `GET|PUT …/modules/{module_id}`,
//! `GET|POST …/modules/{module_id}/items`, `GET …/items/{item_id}`, `PUT|DELETE …/items/{item_id}/done`,
//! `POST …/items/{item_id}/mark_read`, `POST …/items/{item_id}/progress` (a video player's watched ranges),
//! `POST /api/v1/courses/{id}/pages`, `GET /api/v1/courses/{id}/pages/{url}`.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use lms_db::{MediaObjectId, ModuleId, ModuleItemId, Scope, Tx, UserId};
use serde::Deserialize;

use crate::accounts::store::now_ms;
use crate::auth::Principal;
use crate::canvas::{Origin, Pagination, Params, lenient};
use crate::catalog::courses::Course;
use crate::catalog::enrollments::EnrollmentType;
use crate::catalog::media;
use crate::catalog::modules::{self, ActivityChange, ItemKind, Module, ModuleFields, ModuleItem, NewItem};
use crate::catalog::progress::{self, CourseProgress, ItemFacts, ModuleFacts, Requirement};
use crate::error::{echo, forbidden, not_found, unprocessable};
use crate::policy::{Action, CourseAccess, may};
use crate::routes::courses::readable_course;
use crate::views::media::MediaObjectView;
use crate::views::modules::{ModuleItemView, ModuleView, PageView};
use crate::views::{parse_time, sanitize_html};
use crate::{ApiError, AppState};

/// What a course's structure looks like to one caller, loaded in a fixed number of queries.
pub(crate) struct CourseTree {
    modules: Vec<Module>,
    items: BTreeMap<ModuleId, Vec<ModuleItem>>,
    /// The learner whose progress is shown, and that progress.
    progress: Option<(UserId, CourseProgress)>,
    /// Views of the course's media objects, by id, once `with_media` loaded them.
    media: HashMap<i64, MediaObjectView>,
}

impl CourseTree {
    pub(crate) async fn load(
        tx: &mut Tx,
        principal: &Principal,
        course: &Course,
        access: &CourseAccess,
        student: Option<UserId>,
    ) -> Result<CourseTree, ApiError> {
        let account = principal.account_id;
        let sees_drafts = may(principal, Action::ManageContent(access));
        let mut modules = modules::modules(tx, account, course.id).await?;
        let mut items: BTreeMap<ModuleId, Vec<ModuleItem>> = BTreeMap::new();
        for item in modules::items_of_course(tx, account, course.id).await? {
            items.entry(item.module_id).or_default().push(item);
        }
        if !sees_drafts {
            modules.retain(|module| module.published);
            for list in items.values_mut() {
                list.retain(|item| item.published);
            }
        }
        // Whose progress: a learner's own, or (for staff) the student named by `student_id`.
        let learner = if access.roles.contains(&EnrollmentType::Student) && !sees_drafts {
            Some(principal.user_id)
        } else if may(principal, Action::ReadRoster(access)) {
            student
        } else {
            None
        };
        let progress = match learner {
            Some(user) => {
                let activity = modules::activity(tx, account, course.id, user).await?;
                let facts: Vec<ModuleFacts> = modules
                    .iter()
                    .filter(|module| module.published)
                    .map(|module| ModuleFacts {
                        id: module.id,
                        unlock_at_ms: module.unlock_at_ms,
                        prerequisites: module.prerequisite_module_ids.clone(),
                        sequential: module.require_sequential_progress,
                        items: items
                            .get(&module.id)
                            .into_iter()
                            .flatten()
                            .filter(|item| item.published)
                            .map(|item| ItemFacts {
                                id: item.id,
                                is_video: item.kind == ItemKind::Video,
                                requirement: item.requirement,
                                activity: activity.get(&item.id).cloned(),
                            })
                            .collect(),
                    })
                    .collect();
                Some((user, progress::evaluate(&facts, now_ms())))
            }
            None => None,
        };
        Ok(CourseTree { modules, items, progress, media: HashMap::new() })
    }

    /// Adds the course's media objects, which Video items show; only reads that answer with items need them.
    async fn with_media(
        mut self,
        tx: &mut Tx,
        state: &AppState,
        principal: &Principal,
        course: &Course,
    ) -> Result<CourseTree, ApiError> {
        self.media = media::all_of_course(tx, principal.account_id, course.id)
            .await?
            .iter()
            .map(|object| (object.id.0, MediaObjectView::new(object, &state.config.public_base_url)))
            .collect();
        Ok(self)
    }

    /// Whether the learner whose progress this tree holds may not yet open what the items matching `leads_to`
    /// lead to: it is reached only through items still locked for them. What no item leads to is not locked
    /// by modules; staff (no progress) are never locked out.
    pub(crate) fn locks(&self, leads_to: impl Fn(&ModuleItem) -> bool) -> bool {
        let Some((_, progress)) = &self.progress else { return false };
        let mut reached = false;
        for item in self.items.values().flatten().filter(|item| leads_to(item)) {
            match progress.item(item.id) {
                Some(status) if !status.locked => return false,
                Some(_) => reached = true,
                None => {}
            }
        }
        reached
    }

    fn module_view(&self, module: &Module, origin: &str, with_items: bool) -> ModuleView {
        let items = self.items.get(&module.id).map(Vec::as_slice).unwrap_or_default();
        let status = self.progress.as_ref().and_then(|(_, progress)| progress.module(module.id));
        let mut view = ModuleView::new(module, items.len(), origin, status);
        if with_items {
            view.items = Some(items.iter().map(|item| self.item_view(item, origin)).collect());
        }
        view
    }

    fn item_view(&self, item: &ModuleItem, origin: &str) -> ModuleItemView {
        let status = self.progress.as_ref().and_then(|(_, progress)| progress.item(item.id));
        let media = match item.kind {
            ItemKind::Video => item.content_id.and_then(|id| self.media.get(&id).cloned()),
            _ => None,
        };
        // A locked video does not hand out its ladder.
        let media = if status.is_some_and(|status| status.locked) { None } else { media };
        ModuleItemView::new(item, origin, status, media)
    }

    fn module(&self, id: &str) -> Result<&Module, ApiError> {
        let missing = || not_found(format!("module {}", echo(id)));
        let id: ModuleId = id.parse().map_err(|_| missing())?;
        self.modules.iter().find(|module| module.id == id).ok_or_else(missing)
    }

    fn item(&self, module: &Module, id: &str) -> Result<&ModuleItem, ApiError> {
        let missing = || not_found(format!("module item {}", echo(id)));
        let id: ModuleItemId = id.parse().map_err(|_| missing())?;
        self.items.get(&module.id).into_iter().flatten().find(|item| item.id == id).ok_or_else(missing)
    }
}

/// A learner's progress through `course` (the caller's own, or for staff the student `student`), as
/// `include[]=course_progress` shows it; `None` for a caller without progress (staff without `student`).
pub(crate) async fn course_progress(
    tx: &mut Tx,
    principal: &Principal,
    course: &Course,
    access: &CourseAccess,
    student: Option<UserId>,
) -> Result<Option<CourseProgress>, ApiError> {
    let tree = CourseTree::load(tx, principal, course, access, student).await?;
    Ok(tree.progress.map(|(_, progress)| progress))
}

/// Query of module and item reads.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TreeQuery {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    student_id: Option<i64>,
}

/// `GET /api/v1/courses/{id}/modules` (`include[]=items`, `include[]=content_details`, `student_id`).
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}/modules",
    tag = "modules",
    params(crate::openapi::CoursePath, crate::openapi::PageQuery, ("include[]" = Option<Vec<String>>, Query, description = "`items`, `content_details`"), ("student_id" = Option<i64>, Query, description = "Whose progress staff see")),
    responses((status = 200, description = "The modules", body = Vec<ModuleView>)),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Origin(origin): Origin,
    pagination: Pagination,
    Params(query): Params<TreeQuery>,
) -> Result<Response, ApiError> {
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let tree = CourseTree::load(&mut tx, &principal, &course, &access, query.student_id.map(UserId))
        .await?
        .with_media(&mut tx, &state, &principal, &course)
        .await?;
    lms_db::commit(tx).await?;
    let with_items = query.include.iter().any(|item| item == "items");
    let views: Vec<ModuleView> = tree
        .modules
        .iter()
        .skip(usize::try_from(pagination.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(pagination.fetch_limit()).unwrap_or(0))
        .map(|module| tree.module_view(module, &origin, with_items))
        .collect();
    Ok(pagination.respond(views))
}

/// `GET /api/v1/courses/{id}/modules/{module_id}`.
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}/modules/{module_id}",
    tag = "modules",
    params(crate::openapi::ModulePath, ("include[]" = Option<Vec<String>>, Query, description = "`items`, `content_details`"), ("student_id" = Option<i64>, Query, description = "Whose progress staff see")),
    responses((status = 200, description = "The module", body = ModuleView)),
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id)): Path<(String, String)>,
    Origin(origin): Origin,
    Params(query): Params<TreeQuery>,
) -> Result<Json<ModuleView>, ApiError> {
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let tree = CourseTree::load(&mut tx, &principal, &course, &access, query.student_id.map(UserId))
        .await?
        .with_media(&mut tx, &state, &principal, &course)
        .await?;
    lms_db::commit(tx).await?;
    let module = tree.module(&module_id)?;
    Ok(Json(tree.module_view(module, &origin, query.include.iter().any(|item| item == "items"))))
}

/// `module[...]` fields.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct ModuleBody {
    #[serde(default)]
    #[schema(required = true)]
    module: ModuleParams,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct ModuleParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    unlock_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    require_sequential_progress: Option<bool>,
    #[serde(default)]
    prerequisite_module_ids: Option<Vec<serde_json::Value>>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    published: Option<bool>,
}

/// Reads and checks `module[...]`. Prerequisites must be modules placed before this one (`position`), as in
/// Canvas, so that no module can wait for itself or for a later one.
fn module_fields(
    params: &ModuleParams,
    creating: bool,
    existing: &[Module],
    this: Option<&Module>,
) -> Result<ModuleFields, ApiError> {
    let position = match this {
        Some(module) => module.position,
        None => params.position.unwrap_or(i64::MAX),
    };
    let name = params.name.as_deref().map(str::trim).map(str::to_owned);
    if (creating && name.is_none()) || name.as_deref() == Some("") {
        return Err(unprocessable("module[name]", "a module needs a name"));
    }
    if name.as_ref().is_some_and(|name| name.chars().count() > 255) {
        return Err(unprocessable("module[name]", "at most 255 characters"));
    }
    let unlock_at_ms =
        match params.unlock_at.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(text) => Some(Some(parse_time(text).ok_or_else(|| {
                unprocessable("module[unlock_at]", format!("{:?} is not an ISO 8601 time", echo(text)))
            })?)),
        };
    let prerequisites = match &params.prerequisite_module_ids {
        None => None,
        Some(values) => {
            let mut ids = Vec::new();
            for value in values {
                let text = match value {
                    serde_json::Value::String(text) => text.trim().to_owned(),
                    other => other.to_string(),
                };
                if text.is_empty() {
                    continue;
                }
                let id: ModuleId = text.parse().map_err(|_| {
                    unprocessable("module[prerequisite_module_ids][]", format!("{:?} is not a module id", echo(&text)))
                })?;
                let earlier = existing.iter().any(|module| {
                    module.id == id && module.position < position && this.is_none_or(|this| this.id != module.id)
                });
                if !earlier {
                    return Err(unprocessable(
                        "module[prerequisite_module_ids][]",
                        format!("module {id} is not an earlier module of this course"),
                    ));
                }
                ids.push(id);
            }
            Some(ids)
        }
    };
    Ok(ModuleFields {
        name,
        position: params.position,
        unlock_at_ms,
        require_sequential_progress: params.require_sequential_progress,
        prerequisite_module_ids: prerequisites,
        published: params.published,
    })
}

/// `POST /api/v1/courses/{id}/modules`.
#[utoipa::path(
    post,
    path = "/api/v1/courses/{id}/modules",
    tag = "modules",
    params(crate::openapi::CoursePath),
    request_body(content = ModuleBody, content_type = "application/json"),
    responses((status = 200, description = "The new module", body = ModuleView)),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Origin(origin): Origin,
    Params(body): Params<ModuleBody>,
) -> Result<Json<ModuleView>, ApiError> {
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (course, _) = editable_course(&mut tx, &principal, &id).await?;
    let existing = modules::modules(&mut tx, principal.account_id, course.id).await?;
    let fields = module_fields(&body.module, true, &existing, None)?;
    let module = modules::create_module(&mut tx, principal.account_id, course.id, &fields).await?;
    lms_db::commit(tx).await?;
    Ok(Json(ModuleView::new(&module, 0, &origin, None)))
}

/// `PUT /api/v1/courses/{id}/modules/{module_id}`.
#[utoipa::path(
    put,
    path = "/api/v1/courses/{id}/modules/{module_id}",
    tag = "modules",
    params(crate::openapi::ModulePath),
    request_body(content = ModuleBody, content_type = "application/json"),
    responses((status = 200, description = "The module as changed", body = ModuleView)),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id)): Path<(String, String)>,
    Origin(origin): Origin,
    Params(body): Params<ModuleBody>,
) -> Result<Json<ModuleView>, ApiError> {
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (course, _) = editable_course(&mut tx, &principal, &id).await?;
    let existing = modules::modules(&mut tx, principal.account_id, course.id).await?;
    let missing = || not_found(format!("module {}", echo(&module_id)));
    let module_id: ModuleId = module_id.parse().map_err(|_| missing())?;
    let module = existing.iter().find(|module| module.id == module_id).ok_or_else(missing)?.clone();
    let fields = module_fields(&body.module, false, &existing, Some(&module))?;
    let changed = modules::update_module(&mut tx, principal.account_id, &module, &fields).await?;
    let count = modules::items_of_course(&mut tx, principal.account_id, course.id)
        .await?
        .iter()
        .filter(|item| item.module_id == changed.id)
        .count();
    lms_db::commit(tx).await?;
    Ok(Json(ModuleView::new(&changed, count, &origin, None)))
}

/// `GET /api/v1/courses/{id}/modules/{module_id}/items`.
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}/modules/{module_id}/items",
    tag = "modules",
    params(crate::openapi::ModulePath, crate::openapi::PageQuery, ("include[]" = Option<Vec<String>>, Query, description = "`content_details`"), ("student_id" = Option<i64>, Query, description = "Whose progress staff see")),
    responses((status = 200, description = "The items", body = Vec<ModuleItemView>)),
)]
pub(crate) async fn items(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id)): Path<(String, String)>,
    Origin(origin): Origin,
    pagination: Pagination,
    Params(query): Params<TreeQuery>,
) -> Result<Response, ApiError> {
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let tree = CourseTree::load(&mut tx, &principal, &course, &access, query.student_id.map(UserId))
        .await?
        .with_media(&mut tx, &state, &principal, &course)
        .await?;
    lms_db::commit(tx).await?;
    let module = tree.module(&module_id)?;
    let views: Vec<ModuleItemView> = tree
        .items
        .get(&module.id)
        .into_iter()
        .flatten()
        .skip(usize::try_from(pagination.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(pagination.fetch_limit()).unwrap_or(0))
        .map(|item| tree.item_view(item, &origin))
        .collect();
    Ok(pagination.respond(views))
}

/// `GET /api/v1/courses/{id}/modules/{module_id}/items/{item_id}`.
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}/modules/{module_id}/items/{item_id}",
    tag = "modules",
    params(crate::openapi::ItemPath, ("include[]" = Option<Vec<String>>, Query, description = "`content_details`"), ("student_id" = Option<i64>, Query, description = "Whose progress staff see")),
    responses((status = 200, description = "The item", body = ModuleItemView)),
)]
pub(crate) async fn item(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id, item_id)): Path<(String, String, String)>,
    Origin(origin): Origin,
    Params(query): Params<TreeQuery>,
) -> Result<Json<ModuleItemView>, ApiError> {
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let tree = CourseTree::load(&mut tx, &principal, &course, &access, query.student_id.map(UserId))
        .await?
        .with_media(&mut tx, &state, &principal, &course)
        .await?;
    lms_db::commit(tx).await?;
    let module = tree.module(&module_id)?;
    Ok(Json(tree.item_view(tree.item(module, &item_id)?, &origin)))
}

/// `DELETE /api/v1/courses/{id}/modules/{module_id}`: the module goes with its items; modules that waited for
/// it no longer do. Canvas answers the deleted module.
#[utoipa::path(
    delete,
    path = "/api/v1/courses/{id}/modules/{module_id}",
    tag = "modules",
    params(crate::openapi::ModulePath),
    responses((status = 200, description = "The deleted module", body = ModuleView)),
)]
pub(crate) async fn delete_module(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id)): Path<(String, String)>,
    Origin(origin): Origin,
) -> Result<Json<ModuleView>, ApiError> {
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (course, _) = editable_course(&mut tx, &principal, &id).await?;
    let missing = || not_found(format!("module {}", echo(&module_id)));
    let module_id: ModuleId = module_id.parse().map_err(|_| missing())?;
    let module = modules::module(&mut tx, principal.account_id, course.id, module_id).await?.ok_or_else(missing)?;
    let items = modules::items_of_course(&mut tx, principal.account_id, course.id)
        .await?
        .into_iter()
        .filter(|item| item.module_id == module.id)
        .count();
    modules::delete_module(&mut tx, principal.account_id, &module).await?;
    lms_db::commit(tx).await?;
    Ok(Json(ModuleView::new(&module, items, &origin, None)))
}

/// `DELETE /api/v1/courses/{id}/modules/{module_id}/items/{item_id}`: the item goes, with what learners did
/// with it; the items after it move up. Canvas answers the deleted item.
#[utoipa::path(
    delete,
    path = "/api/v1/courses/{id}/modules/{module_id}/items/{item_id}",
    tag = "modules",
    params(crate::openapi::ItemPath),
    responses((status = 200, description = "The deleted item", body = ModuleItemView)),
)]
pub(crate) async fn delete_item(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id, item_id)): Path<(String, String, String)>,
    Origin(origin): Origin,
) -> Result<Json<ModuleItemView>, ApiError> {
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (course, _) = editable_course(&mut tx, &principal, &id).await?;
    let missing_module = || not_found(format!("module {}", echo(&module_id)));
    let module_id: ModuleId = module_id.parse().map_err(|_| missing_module())?;
    let module =
        modules::module(&mut tx, principal.account_id, course.id, module_id).await?.ok_or_else(missing_module)?;
    let missing_item = || not_found(format!("module item {}", echo(&item_id)));
    let item_id: ModuleItemId = item_id.parse().map_err(|_| missing_item())?;
    let item = modules::item(&mut tx, principal.account_id, module.id, item_id).await?.ok_or_else(missing_item)?;
    modules::delete_item(&mut tx, principal.account_id, &item).await?;
    lms_db::commit(tx).await?;
    Ok(Json(ModuleItemView::new(&item, &origin, None, None)))
}

/// `module_item[...]` fields.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct ItemBody {
    #[serde(default)]
    #[schema(required = true)]
    module_item: ItemParams,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct ItemParams {
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    #[schema(required = true, pattern = "^(SubHeader|Page|ExternalUrl|Video)$")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    indent: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    content_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    page_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    external_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    new_tab: Option<bool>,
    #[serde(default)]
    completion_requirement: Option<RequirementParams>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct RequirementParams {
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    min_score: Option<String>,
}

/// `POST /api/v1/courses/{id}/modules/{module_id}/items`: `SubHeader`, `Page` (`page_url`), `ExternalUrl`
/// (`external_url`, http or https) or `Video` (`content_id`: a media object of the course).
#[utoipa::path(
    post,
    path = "/api/v1/courses/{id}/modules/{module_id}/items",
    tag = "modules",
    params(crate::openapi::ModulePath),
    request_body(content = ItemBody, content_type = "application/json"),
    responses((status = 200, description = "The new item", body = ModuleItemView)),
)]
pub(crate) async fn create_item(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id)): Path<(String, String)>,
    Origin(origin): Origin,
    Params(body): Params<ItemBody>,
) -> Result<Json<ModuleItemView>, ApiError> {
    let params = body.module_item;
    let kind_text = params.kind.as_deref().map(str::trim).unwrap_or_default();
    let kind = match ItemKind::parse(kind_text) {
        Some(kind) => kind,
        None if matches!(kind_text, "Quiz" | "Assignment" | "File" | "Discussion" | "ExternalTool") => {
            return Err(unprocessable("module_item[type]", format!("{kind_text} items are not available yet")));
        }
        None => return Err(unprocessable("module_item[type]", "SubHeader, Page, ExternalUrl or Video")),
    };
    let requirement = match &params.completion_requirement {
        None => None,
        Some(requirement) => match requirement.kind.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("must_view") => Some(Requirement::MustView),
            Some("must_mark_done") => Some(Requirement::MustMarkDone),
            Some("must_submit") => Some(Requirement::MustSubmit),
            Some("min_score") => {
                let score = requirement.min_score.as_deref().map(str::trim).and_then(|text| text.parse::<f64>().ok());
                match score {
                    Some(score) if score.is_finite() && score >= 0.0 => Some(Requirement::MinScore(score)),
                    _ => {
                        return Err(unprocessable("module_item[completion_requirement][min_score]", "a number from 0"));
                    }
                }
            }
            Some(other) => {
                return Err(unprocessable(
                    "module_item[completion_requirement][type]",
                    format!("{:?} is not a requirement", echo(other)),
                ));
            }
        },
    };
    if kind == ItemKind::SubHeader && requirement.is_some() {
        return Err(unprocessable("module_item[completion_requirement][type]", "a SubHeader cannot be completed"));
    }
    if matches!(requirement, Some(Requirement::MustSubmit | Requirement::MinScore(_))) {
        return Err(unprocessable(
            "module_item[completion_requirement][type]",
            "only quizzes and SCORM packages are submitted or scored",
        ));
    }
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (course, _) = editable_course(&mut tx, &principal, &id).await?;
    let missing = || not_found(format!("module {}", echo(&module_id)));
    let module_id: ModuleId = module_id.parse().map_err(|_| missing())?;
    let module = modules::module(&mut tx, principal.account_id, course.id, module_id).await?.ok_or_else(missing)?;
    let mut new = NewItem {
        title: params.title.as_deref().map(str::trim).unwrap_or_default().to_owned(),
        kind,
        position: params.position,
        indent: params.indent.unwrap_or(0).clamp(0, 5),
        content_id: None,
        page_url: None,
        external_url: None,
        new_tab: params.new_tab.unwrap_or(false),
        requirement,
    };
    match kind {
        ItemKind::SubHeader => {}
        ItemKind::Page => {
            let url = params.page_url.as_deref().map(str::trim).unwrap_or_default();
            let page = modules::page(&mut tx, principal.account_id, course.id, url).await?.ok_or_else(|| {
                unprocessable("module_item[page_url]", format!("no page {:?} in this course", echo(url)))
            })?;
            if new.title.is_empty() {
                new.title = page.title.clone();
            }
            new.page_url = Some(page.url);
        }
        ItemKind::ExternalUrl => {
            let url = params.external_url.as_deref().map(str::trim).unwrap_or_default();
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            if !scheme_ok || url.len() > 2048 || url.chars().any(char::is_whitespace) {
                return Err(unprocessable("module_item[external_url]", "an http or https URL"));
            }
            new.external_url = Some(url.to_owned());
        }
        ItemKind::Video => {
            let content =
                params.content_id.ok_or_else(|| unprocessable("module_item[content_id]", "the media object's id"))?;
            let object =
                media::find(&mut tx, principal.account_id, course.id, MediaObjectId(content)).await?.ok_or_else(
                    || unprocessable("module_item[content_id]", format!("no media object {content} in this course")),
                )?;
            if new.title.is_empty() {
                new.title = object.title.clone();
            }
            new.content_id = Some(content);
        }
    }
    if new.title.is_empty() || new.title.chars().count() > 255 {
        return Err(unprocessable("module_item[title]", "from 1 to 255 characters"));
    }
    let item = modules::create_item(&mut tx, principal.account_id, &module, &new).await?;
    lms_db::commit(tx).await?;
    Ok(Json(ModuleItemView::new(&item, &origin, None, None)))
}

/// The item a learner acts on, when it is open to them: the caller must read the course, and the item
/// must not be locked for it.
async fn open_item(
    tx: &mut Tx,
    principal: &Principal,
    id: &str,
    module_id: &str,
    item_id: &str,
) -> Result<ModuleItem, ApiError> {
    let (course, access) = readable_course(tx, principal, id).await?;
    let tree = CourseTree::load(tx, principal, &course, &access, None).await?;
    let module = tree.module(module_id)?;
    let item = tree.item(module, item_id)?.clone();
    let locked =
        tree.progress.as_ref().and_then(|(_, progress)| progress.item(item.id)).is_some_and(|status| status.locked);
    if locked {
        return Err(forbidden("the item is locked: complete what comes before it"));
    }
    Ok(item)
}

/// `PUT …/items/{item_id}/done`: marks the item done; Canvas answers `{"message": "OK"}`.
#[utoipa::path(
    put,
    path = "/api/v1/courses/{id}/modules/{module_id}/items/{item_id}/done",
    tag = "modules",
    params(crate::openapi::ItemPath),
    responses((status = 200, description = "Canvas's OK answer", body = crate::openapi::Message)),
)]
pub(crate) async fn mark_done(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id, item_id)): Path<(String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    record(&state, &principal, &id, &module_id, &item_id, ActivityChange::MarkedDone(true)).await
}

/// `DELETE …/items/{item_id}/done`: takes the mark back (a JSON answer, never an empty 204).
#[utoipa::path(
    delete,
    path = "/api/v1/courses/{id}/modules/{module_id}/items/{item_id}/done",
    tag = "modules",
    params(crate::openapi::ItemPath),
    responses((status = 200, description = "Canvas's OK answer", body = crate::openapi::Message)),
)]
pub(crate) async fn unmark_done(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id, item_id)): Path<(String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    record(&state, &principal, &id, &module_id, &item_id, ActivityChange::MarkedDone(false)).await
}

/// `POST …/items/{item_id}/mark_read`: the learner opened the item (a page, a link).
#[utoipa::path(
    post,
    path = "/api/v1/courses/{id}/modules/{module_id}/items/{item_id}/mark_read",
    tag = "modules",
    params(crate::openapi::ItemPath),
    responses((status = 200, description = "Canvas's OK answer", body = crate::openapi::Message)),
)]
pub(crate) async fn mark_read(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id, item_id)): Path<(String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    record(&state, &principal, &id, &module_id, &item_id, ActivityChange::Viewed).await
}

async fn record(
    state: &AppState,
    principal: &Principal,
    id: &str,
    module_id: &str,
    item_id: &str,
    change: ActivityChange,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let item = open_item(&mut tx, principal, id, module_id, item_id).await?;
    if matches!(change, ActivityChange::MarkedDone(_)) && item.requirement != Some(Requirement::MustMarkDone) {
        return Err(ApiError::Conflict {
            code: "not-mark-done",
            message: "the item is not completed by marking it done".into(),
        });
    }
    modules::record(&mut tx, principal.account_id, &item, principal.user_id, change).await?;
    lms_db::commit(tx).await?;
    Ok(Json(serde_json::json!({ "message": "OK" })))
}

/// Body of `POST …/items/{item_id}/progress`: what a video player played since its last report.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct WatchReport {
    /// `[[start, end], …]` in seconds.
    ranges: Vec<(f64, f64)>,
    /// The video's length in seconds.
    #[schema(exclusive_minimum = 0.0, maximum = 86400.0)]
    duration: f64,
}

/// The most ranges one report may carry.
const MAX_RANGES_PER_REPORT: usize = 1_000;
/// The most separate ranges kept for one learner and video (merged ranges; a real viewer has a handful).
const MAX_RANGES_KEPT: usize = 2_000;

/// `POST …/items/{item_id}/progress` (JSON `{"ranges": [[0, 30.5]], "duration": 600}`): records the ranges a
/// player played; `must_view` of a video is met once 90 % is covered. Answers the share watched.
#[utoipa::path(
    post,
    path = "/api/v1/courses/{id}/modules/{module_id}/items/{item_id}/progress",
    tag = "modules",
    params(crate::openapi::ItemPath),
    request_body(content = WatchReport, content_type = "application/json"),
    responses((status = 200, description = "What the learner has watched", body = crate::openapi::WatchAnswer)),
)]
pub(crate) async fn watch(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, module_id, item_id)): Path<(String, String, String)>,
    Params(report): Params<WatchReport>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !(report.duration.is_finite() && report.duration > 0.0 && report.duration < 1e6) {
        return Err(unprocessable("duration", "the video's length in seconds"));
    }
    if report.ranges.len() > MAX_RANGES_PER_REPORT {
        return Err(unprocessable("ranges", format!("at most {MAX_RANGES_PER_REPORT} ranges a report")));
    }
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let item = open_item(&mut tx, &principal, &id, &module_id, &item_id).await?;
    if item.kind != ItemKind::Video {
        return Err(ApiError::Conflict { code: "not-a-video", message: "only video items report watching".into() });
    }
    // Ranges are cut to the video, so a report cannot claim more than its length.
    let ranges: Vec<(f64, f64)> =
        report.ranges.iter().map(|(start, end)| (start.max(0.0), end.min(report.duration))).collect();
    let fraction = modules::record_watching(
        &mut tx,
        principal.account_id,
        &item,
        principal.user_id,
        &ranges,
        report.duration,
        MAX_RANGES_KEPT,
    )
    .await?
    .ok_or_else(|| unprocessable("ranges", format!("more than {MAX_RANGES_KEPT} separate ranges watched")))?;
    lms_db::commit(tx).await?;
    Ok(Json(serde_json::json!({ "watched_fraction": fraction, "completed": fraction >= progress::WATCHED_TO_VIEW })))
}

/// `wiki_page[...]` fields.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct PageBody {
    #[serde(default)]
    #[schema(required = true)]
    wiki_page: PageParams,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct PageParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(required = true, min_length = 1, max_length = 255)]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    body: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    published: Option<bool>,
}

/// The longest page body accepted, before cleaning.
const MAX_PAGE_BYTES: usize = 512 * 1024;

/// `POST /api/v1/courses/{id}/pages`: a page, its HTML cleaned of anything that could run.
#[utoipa::path(
    post,
    path = "/api/v1/courses/{id}/pages",
    tag = "modules",
    params(crate::openapi::CoursePath),
    request_body(content = PageBody, content_type = "application/json"),
    responses((status = 200, description = "The new page", body = PageView)),
)]
pub(crate) async fn create_page(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Params(body): Params<PageBody>,
) -> Result<Json<PageView>, ApiError> {
    let title = body.wiki_page.title.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if title.is_empty() || title.chars().count() > 255 {
        return Err(unprocessable("wiki_page[title]", "from 1 to 255 characters"));
    }
    let html = body.wiki_page.body.unwrap_or_default();
    if html.len() > MAX_PAGE_BYTES {
        return Err(unprocessable("wiki_page[body]", format!("at most {MAX_PAGE_BYTES} bytes")));
    }
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (course, _) = editable_course(&mut tx, &principal, &id).await?;
    let page = modules::create_page(
        &mut tx,
        principal.account_id,
        course.id,
        &title,
        &sanitize_html(&html),
        body.wiki_page.published.unwrap_or(true),
    )
    .await?;
    lms_db::commit(tx).await?;
    Ok(Json(PageView::from(&page)))
}

/// `PUT /api/v1/courses/{id}/pages/{url}`: a new title, body (cleaned as on creation) or publication; the
/// slug stays, so links to the page keep working.
#[utoipa::path(
    put,
    path = "/api/v1/courses/{id}/pages/{url}",
    tag = "modules",
    params(crate::openapi::CoursePath, ("url" = String, Path, description = "The page's url slug")),
    request_body(content = PageBody, content_type = "application/json"),
    responses((status = 200, description = "The page as changed", body = PageView)),
)]
pub(crate) async fn update_page(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, url)): Path<(String, String)>,
    Params(body): Params<PageBody>,
) -> Result<Json<PageView>, ApiError> {
    let title = body.wiki_page.title.as_deref().map(str::trim).map(str::to_owned);
    if title.as_ref().is_some_and(|title| title.is_empty() || title.chars().count() > 255) {
        return Err(unprocessable("wiki_page[title]", "from 1 to 255 characters"));
    }
    if body.wiki_page.body.as_ref().is_some_and(|html| html.len() > MAX_PAGE_BYTES) {
        return Err(unprocessable("wiki_page[body]", format!("at most {MAX_PAGE_BYTES} bytes")));
    }
    let change = modules::PageChange {
        title,
        body: body.wiki_page.body.as_deref().map(sanitize_html),
        published: body.wiki_page.published,
    };
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (course, _) = editable_course(&mut tx, &principal, &id).await?;
    let page = modules::update_page(&mut tx, principal.account_id, course.id, &url, &change)
        .await?
        .ok_or_else(|| not_found(format!("page {}", echo(&url))))?;
    lms_db::commit(tx).await?;
    Ok(Json(PageView::from(&page)))
}

/// `GET /api/v1/courses/{id}/pages/{url}`.
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}/pages/{url}",
    tag = "modules",
    params(crate::openapi::CoursePath, ("url" = String, Path, description = "The page's url slug")),
    responses((status = 200, description = "The page", body = PageView)),
)]
pub(crate) async fn page(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, url)): Path<(String, String)>,
) -> Result<Json<PageView>, ApiError> {
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let page = modules::page(&mut tx, principal.account_id, course.id, &url).await?;
    let page = page
        .filter(|page| page.published || may(&principal, Action::ManageContent(&access)))
        .ok_or_else(|| not_found(format!("page {}", echo(&url))))?;
    let tree = CourseTree::load(&mut tx, &principal, &course, &access, None).await?;
    lms_db::commit(tx).await?;
    let mut view = PageView::from(&page);
    // A page reached only through locked items is not read before its module opens (as Canvas answers it).
    if tree.locks(|item| item.kind == ItemKind::Page && item.page_url.as_deref() == Some(page.url.as_str())) {
        view.body = String::new();
        view.locked_for_user = true;
        view.lock_explanation = Some("This page is part of a module that is still locked.".into());
    }
    Ok(Json(view))
}

/// The course a path names when the caller may build its content; 404 when it may not see it, 403 when it
/// may see but not build.
pub(crate) async fn editable_course(
    tx: &mut Tx,
    principal: &Principal,
    id: &str,
) -> Result<(Course, CourseAccess), ApiError> {
    let (course, access) = readable_course(tx, principal, id).await?;
    if may(principal, Action::ManageContent(&access)) {
        Ok((course, access))
    } else {
        Err(forbidden("only the course's teachers, TAs, designers and the account's admins build its content"))
    }
}
