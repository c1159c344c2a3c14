//! Modules and module items, in Canvas's shapes, with a learner's progress when there is one.

use serde::Serialize;
use utoipa::ToSchema;

use crate::catalog::modules::{ItemKind, Module, ModuleItem, Page};
use crate::catalog::progress::{ItemStatus, ModuleStatus, Requirement};
use crate::views::iso_time;
use crate::views::media::MediaObjectView;

/// Canvas's Module.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModuleView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its place, from 1.
    pub position: i64,
    /// When it unlocks.
    pub unlock_at: Option<String>,
    /// Items in order.
    pub require_sequential_progress: bool,
    /// Modules to complete first.
    pub prerequisite_module_ids: Vec<i64>,
    /// Visible to learners.
    pub published: bool,
    /// How many items it has.
    pub items_count: usize,
    /// Where its items are listed.
    pub items_url: String,
    /// Its items, with `include[]=items`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<ModuleItemView>>,
    /// For a learner: `locked`, `unlocked`, `started` or `completed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
}

impl ModuleView {
    /// The view of `module` with `items_count` items, its learner status if any.
    pub fn new(module: &Module, items_count: usize, base_url: &str, status: Option<&ModuleStatus>) -> Self {
        ModuleView {
            id: module.id.0,
            name: module.name.clone(),
            position: module.position,
            unlock_at: module.unlock_at_ms.and_then(iso_time),
            require_sequential_progress: module.require_sequential_progress,
            prerequisite_module_ids: module.prerequisite_module_ids.iter().map(|id| id.0).collect(),
            published: module.published,
            items_count,
            items_url: format!("{base_url}/api/v1/courses/{}/modules/{}/items", module.course_id, module.id),
            items: None,
            state: status.map(|status| status.state.as_str()),
        }
    }
}

/// Canvas's ModuleItem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModuleItemView {
    /// Its id.
    pub id: i64,
    /// Its module (canvasapi builds follow-up URLs from it).
    pub module_id: i64,
    /// Its place, from 1.
    pub position: i64,
    /// Title.
    pub title: String,
    /// Indentation.
    pub indent: i64,
    /// `SubHeader`, `Page`, `ExternalUrl` or `Video` (ours).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The media object of a video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_id: Option<i64>,
    /// A page's slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    /// A link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    /// Open in a new tab.
    pub new_tab: bool,
    /// The API URL of what it points at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Visible to learners.
    pub published: bool,
    /// What completes it; `completed` for a learner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_requirement: Option<RequirementView>,
    /// With `include[]=content_details`, or for a learner: whether it is locked for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_details: Option<ContentDetails>,
    /// Our addition: a video's media object (its ladder once published).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_object: Option<MediaObjectView>,
}

/// A completion requirement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequirementView {
    /// `must_view`, `must_mark_done`, `must_submit` or `min_score`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// For `min_score`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_score: Option<f64>,
    /// For a learner: whether it is met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
}

/// Canvas's content details.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContentDetails {
    /// Locked for the learner.
    pub locked_for_user: bool,
}

impl ModuleItemView {
    /// The view of `item`, with the learner's status if any.
    pub fn new(
        item: &ModuleItem,
        base_url: &str,
        status: Option<&ItemStatus>,
        media_object: Option<MediaObjectView>,
    ) -> Self {
        let url = match item.kind {
            ItemKind::Page => {
                item.page_url.as_ref().map(|page| format!("{base_url}/api/v1/courses/{}/pages/{page}", item.course_id))
            }
            ItemKind::Video => {
                item.content_id.map(|id| format!("{base_url}/api/v1/courses/{}/media_objects/{id}", item.course_id))
            }
            _ => None,
        };
        ModuleItemView {
            id: item.id.0,
            module_id: item.module_id.0,
            position: item.position,
            title: item.title.clone(),
            indent: item.indent,
            kind: item.kind.as_str(),
            content_id: item.content_id,
            page_url: item.page_url.clone(),
            external_url: item.external_url.clone(),
            new_tab: item.new_tab,
            url,
            published: item.published,
            completion_requirement: item.requirement.map(|requirement| RequirementView {
                kind: requirement.as_str(),
                min_score: match requirement {
                    Requirement::MinScore(score) => Some(score),
                    _ => None,
                },
                completed: status.map(|status| status.completed),
            }),
            content_details: status.map(|status| ContentDetails { locked_for_user: status.locked }),
            media_object,
        }
    }
}

/// Canvas's Page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageView {
    /// Its slug.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Sanitized HTML (empty while locked for the caller).
    pub body: String,
    /// Visible to learners.
    pub published: bool,
    /// Whether the caller may not read it yet (its module is locked for them).
    pub locked_for_user: bool,
    /// Why, when locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_explanation: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
}

impl From<&Page> for PageView {
    fn from(page: &Page) -> Self {
        PageView {
            url: page.url.clone(),
            title: page.title.clone(),
            body: page.body.clone(),
            published: page.published,
            locked_for_user: false,
            lock_explanation: None,
            created_at: iso_time(page.created_at_ms),
            updated_at: iso_time(page.updated_at_ms),
        }
    }
}
