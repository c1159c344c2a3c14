//! Learner progress, as pure logic: which modules and items are locked, started or completed for one
//! learner, from the course's structure and what the learner did. No I/O: the handlers load the facts, this
//! decides, and tests can state the rules directly.
//!
//! The rules, as Canvas applies them:
//! - A module is locked before its `unlock_at`, or while any of its prerequisite modules is not completed.
//! - An item's requirement is met by: `must_view` (a page or link opened; a video watched to 90 %, counted
//!   from the ranges the player reported, so seeking to the end does not count), `must_mark_done`,
//!   `must_submit`, `min_score` (a score at or above the minimum).
//! - In a module with `require_sequential_progress`, an item is locked while an earlier item's requirement
//!   is unmet.
//! - A module is completed when every requirement in it is met (a module without requirements, once
//!   unlocked); started when some are; unlocked otherwise.
//! - The course's progress is the share of all requirements met.

use lms_db::{ModuleId, ModuleItemId};

/// The share of a video that must have been watched for `must_view`.
pub const WATCHED_TO_VIEW: f64 = 0.9;

/// What completes an item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Requirement {
    /// Open it (watch 90 % of a video).
    MustView,
    /// Mark it done.
    MustMarkDone,
    /// Submit it (a quiz or a SCORM package).
    MustSubmit,
    /// Score at least this much.
    MinScore(f64),
}

impl Requirement {
    /// Canvas's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::MustView => "must_view",
            Requirement::MustMarkDone => "must_mark_done",
            Requirement::MustSubmit => "must_submit",
            Requirement::MinScore(_) => "min_score",
        }
    }
}

/// What one learner did with one item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemActivity {
    /// Opened (a page, a link).
    pub viewed: bool,
    /// Share of the video watched, from merged ranges.
    pub watched_fraction: f64,
    /// Marked done.
    pub marked_done: bool,
    /// Submitted.
    pub submitted: bool,
    /// Best score kept.
    pub score: Option<f64>,
}

/// An item, as progress sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFacts {
    /// Its id.
    pub id: ModuleItemId,
    /// Whether it is a video (whose `must_view` needs watching, not opening).
    pub is_video: bool,
    /// What completes it, if anything.
    pub requirement: Option<Requirement>,
    /// What the learner did, if anything.
    pub activity: Option<ItemActivity>,
}

/// A module, as progress sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleFacts {
    /// Its id.
    pub id: ModuleId,
    /// When it unlocks (Unix milliseconds).
    pub unlock_at_ms: Option<i64>,
    /// Modules that must be completed first.
    pub prerequisites: Vec<ModuleId>,
    /// Items in order.
    pub sequential: bool,
    /// Its items, by position.
    pub items: Vec<ItemFacts>,
}

/// A module's state for a learner, with Canvas's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleState {
    /// Not yet open.
    Locked,
    /// Open, nothing done.
    Unlocked,
    /// Open, some requirements met.
    Started,
    /// Every requirement met.
    Completed,
}

impl ModuleState {
    /// Canvas's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleState::Locked => "locked",
            ModuleState::Unlocked => "unlocked",
            ModuleState::Started => "started",
            ModuleState::Completed => "completed",
        }
    }
}

/// An item's state for a learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemStatus {
    /// Its id.
    pub id: ModuleItemId,
    /// Its requirement is met.
    pub completed: bool,
    /// It may not be opened yet.
    pub locked: bool,
}

/// A module's state for a learner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleStatus {
    /// Its id.
    pub id: ModuleId,
    /// Its state.
    pub state: ModuleState,
    /// Its items' states, in order.
    pub items: Vec<ItemStatus>,
}

/// A whole course's progress for a learner.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseProgress {
    /// Each module, in the order given.
    pub modules: Vec<ModuleStatus>,
    /// Requirements in the course.
    pub requirement_count: usize,
    /// Requirements met.
    pub requirement_completed_count: usize,
}

impl CourseProgress {
    /// Percent of requirements met (100 with none).
    pub fn percent(&self) -> f64 {
        if self.requirement_count == 0 {
            100.0
        } else {
            100.0 * self.requirement_completed_count as f64 / self.requirement_count as f64
        }
    }

    /// The status of `module`.
    pub fn module(&self, module: ModuleId) -> Option<&ModuleStatus> {
        self.modules.iter().find(|status| status.id == module)
    }

    /// The status of `item`.
    pub fn item(&self, item: ModuleItemId) -> Option<&ItemStatus> {
        self.modules.iter().flat_map(|module| &module.items).find(|status| status.id == item)
    }
}

/// Whether `activity` meets `requirement`.
pub fn is_met(requirement: Requirement, is_video: bool, activity: &ItemActivity) -> bool {
    match requirement {
        Requirement::MustView if is_video => activity.watched_fraction >= WATCHED_TO_VIEW,
        Requirement::MustView => activity.viewed,
        Requirement::MustMarkDone => activity.marked_done,
        Requirement::MustSubmit => activity.submitted,
        Requirement::MinScore(minimum) => activity.score.is_some_and(|score| score >= minimum),
    }
}

/// Evaluates `modules` (in course order) for one learner at `now_ms`. Prerequisites refer to modules
/// evaluated before them; one that names a later or unknown module counts as unmet.
pub fn evaluate(modules: &[ModuleFacts], now_ms: i64) -> CourseProgress {
    let mut statuses: Vec<ModuleStatus> = Vec::with_capacity(modules.len());
    let (mut requirement_count, mut requirement_completed_count) = (0, 0);
    for module in modules {
        let prerequisites_met = module.prerequisites.iter().all(|prerequisite| {
            statuses.iter().any(|done| done.id == *prerequisite && done.state == ModuleState::Completed)
        });
        let locked = module.unlock_at_ms.is_some_and(|at| now_ms < at) || !prerequisites_met;
        let mut items = Vec::with_capacity(module.items.len());
        let (mut required, mut met, mut touched) = (0, 0, false);
        let mut blocked = false;
        for item in &module.items {
            let activity = item.activity.clone().unwrap_or_default();
            touched |= item.activity.is_some();
            let completed = item.requirement.is_some_and(|requirement| is_met(requirement, item.is_video, &activity));
            items.push(ItemStatus { id: item.id, completed, locked: locked || blocked });
            if item.requirement.is_some() {
                required += 1;
                if completed {
                    met += 1;
                } else if module.sequential {
                    blocked = true;
                }
            }
        }
        requirement_count += required;
        requirement_completed_count += met;
        let state = if locked {
            ModuleState::Locked
        } else if met == required {
            ModuleState::Completed
        } else if met > 0 || touched {
            ModuleState::Started
        } else {
            ModuleState::Unlocked
        };
        statuses.push(ModuleStatus { id: module.id, state, items });
    }
    CourseProgress { modules: statuses, requirement_count, requirement_completed_count }
}

/// Merges watched ranges (seconds) into sorted, disjoint ranges; drops empty and non-finite ones.
pub fn merge_ranges(mut ranges: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    ranges.retain(|(start, end)| start.is_finite() && end.is_finite() && end > start);
    ranges.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            // Ranges that touch or overlap (within a tenth of a second of each other) become one.
            Some(last) if start <= last.1 + 0.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// The share of `duration` seconds that `ranges` cover, clamped to the video.
pub fn watched_fraction(ranges: &[(f64, f64)], duration: f64) -> f64 {
    if !(duration.is_finite() && duration > 0.0) {
        return 0.0;
    }
    let covered: f64 = ranges.iter().map(|(start, end)| (end.min(duration) - start.max(0.0)).max(0.0)).sum();
    (covered / duration).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, requirement: Option<Requirement>, activity: Option<ItemActivity>) -> ItemFacts {
        ItemFacts { id: ModuleItemId(id), is_video: false, requirement, activity }
    }

    fn module(id: i64, prerequisites: &[i64], sequential: bool, items: Vec<ItemFacts>) -> ModuleFacts {
        ModuleFacts {
            id: ModuleId(id),
            unlock_at_ms: None,
            prerequisites: prerequisites.iter().map(|id| ModuleId(*id)).collect(),
            sequential,
            items,
        }
    }

    fn done() -> Option<ItemActivity> {
        Some(ItemActivity { marked_done: true, ..ItemActivity::default() })
    }

    #[test]
    fn prerequisites_lock_until_completed() {
        let first = module(1, &[], false, vec![item(10, Some(Requirement::MustMarkDone), None)]);
        let second = module(2, &[1], false, vec![item(20, Some(Requirement::MustMarkDone), None)]);
        let progress = evaluate(&[first.clone(), second.clone()], 0);
        assert_eq!(progress.module(ModuleId(1)).unwrap().state, ModuleState::Unlocked);
        assert_eq!(progress.module(ModuleId(2)).unwrap().state, ModuleState::Locked);
        assert!(progress.item(ModuleItemId(20)).unwrap().locked);
        let mut first_done = first;
        first_done.items[0].activity = done();
        let progress = evaluate(&[first_done, second], 0);
        assert_eq!(progress.module(ModuleId(1)).unwrap().state, ModuleState::Completed);
        assert_eq!(progress.module(ModuleId(2)).unwrap().state, ModuleState::Unlocked);
        assert_eq!(progress.percent(), 50.0);
    }

    #[test]
    fn sequential_modules_lock_items_after_an_unmet_requirement() {
        let lesson = module(
            1,
            &[],
            true,
            vec![
                item(1, None, None),
                item(2, Some(Requirement::MustMarkDone), done()),
                item(3, Some(Requirement::MustMarkDone), None),
                item(4, None, None),
                item(5, Some(Requirement::MustMarkDone), None),
            ],
        );
        let progress = evaluate(&[lesson], 0);
        let locked: Vec<bool> = progress.modules[0].items.iter().map(|item| item.locked).collect();
        assert_eq!(locked, vec![false, false, false, true, true]);
        assert_eq!(progress.modules[0].state, ModuleState::Started);
    }

    #[test]
    fn unlock_dates_and_modules_without_requirements() {
        let mut later = module(1, &[], false, vec![item(1, None, None)]);
        later.unlock_at_ms = Some(1_000);
        assert_eq!(evaluate(&[later.clone()], 999).modules[0].state, ModuleState::Locked);
        assert_eq!(evaluate(&[later], 1_000).modules[0].state, ModuleState::Completed);
        // A prerequisite that names a later or unknown module is unmet.
        let odd = module(1, &[2], false, vec![]);
        assert_eq!(evaluate(&[odd, module(2, &[], false, vec![])], 0).modules[0].state, ModuleState::Locked);
    }

    #[test]
    fn requirements_are_met_honestly() {
        let seek_to_end = ItemActivity { viewed: true, watched_fraction: 0.05, ..ItemActivity::default() };
        assert!(!is_met(Requirement::MustView, true, &seek_to_end), "opening a video is not watching it");
        assert!(is_met(Requirement::MustView, false, &seek_to_end));
        let watched = ItemActivity { watched_fraction: 0.9, ..ItemActivity::default() };
        assert!(is_met(Requirement::MustView, true, &watched));
        let scored = ItemActivity { score: Some(7.0), ..ItemActivity::default() };
        assert!(is_met(Requirement::MinScore(7.0), false, &scored));
        assert!(!is_met(Requirement::MinScore(7.5), false, &scored));
    }

    #[test]
    fn watched_ranges_merge_and_count_once() {
        let merged = merge_ranges(vec![(30.0, 60.0), (0.0, 30.05), (50.0, 70.0), (100.0, 90.0), (f64::NAN, 5.0)]);
        assert_eq!(merged, vec![(0.0, 70.0)]);
        assert!((watched_fraction(&merged, 100.0) - 0.7).abs() < 1e-9);
        // The same minute reported ten times is one minute.
        let repeated = merge_ranges(vec![(0.0, 60.0); 10]);
        assert!((watched_fraction(&repeated, 600.0) - 0.1).abs() < 1e-9);
        assert_eq!(watched_fraction(&[(0.0, 1000.0)], 100.0), 1.0);
        assert_eq!(watched_fraction(&[(0.0, 10.0)], 0.0), 0.0);
    }
}
