//! `scorm inspect`: what a package contains, for people and scripts: the standard, the organization tree with each
//! item's launch URL, the resources, and the course's first launch. Built from the same model the rules use.

use std::fmt::Write as _;
use std::path::Path;

use crate::archive::{Limits, Package};
use crate::error::ScormError;
use crate::manifest::{Item, Manifest, ResourceIndex};
use crate::standard::{self, Standard};
use crate::validate::locate_manifest;
use crate::xml::XmlLimits;

/// One item of the tree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemView {
    /// `identifier`.
    pub identifier: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// `identifierref`.
    pub identifierref: Option<String>,
    /// Launch URL, when the item launches something.
    pub launch: Option<String>,
    /// Whether it carries imsss sequencing.
    pub sequencing: bool,
    /// Children.
    pub items: Vec<ItemView>,
}

/// One organization.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrganizationView {
    /// `identifier`.
    pub identifier: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// True for the default organization.
    pub default: bool,
    /// Top-level items.
    pub items: Vec<ItemView>,
}

/// One resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceView {
    /// `identifier`.
    pub identifier: Option<String>,
    /// `adlcp:scormtype`.
    pub scorm_type: Option<String>,
    /// `href` after the `xml:base` chain.
    pub href: Option<String>,
    /// Number of `<file>`s.
    pub files: usize,
    /// Dependencies' identifiers.
    pub dependencies: Vec<String>,
}

/// What `inspect` shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Inspection {
    /// The package as named by the caller.
    pub package: String,
    /// The standard.
    pub standard: Standard,
    /// In words, saying when the version was inferred.
    pub standard_label: String,
    /// The manifest used.
    pub manifest_file: Option<String>,
    /// Entries in the package.
    pub entries: usize,
    /// The course's first launch.
    pub launch: Option<String>,
    /// The organizations.
    pub organizations: Vec<OrganizationView>,
    /// The resources.
    pub resources: Vec<ResourceView>,
}

fn item_view(index: &ResourceIndex<'_>, i: &Item) -> ItemView {
    ItemView {
        identifier: i.identifier.clone(),
        title: i.title.as_ref().map(|t| t.value.clone()),
        identifierref: i.identifierref.clone(),
        launch: index.launch_url(i),
        sequencing: i.sequencing.is_some(),
        items: i.items.iter().map(|c| item_view(index, c)).collect(),
    }
}

/// Inspects a zip or folder. Errors when it cannot be read or its manifest cannot be parsed.
pub fn inspect_path(path: &Path, limits: Limits) -> Result<Inspection, ScormError> {
    let mut pkg = Package::open(path, limits)?;
    let name = path.display().to_string();
    let located = locate_manifest(&pkg);
    let other = standard::other_format(&pkg);
    let (Some(file), false) = (located.clone(), located.as_deref().is_some_and(|f| f.contains('/')) && other.is_some())
    else {
        let (standard, label) = other.unwrap_or((Standard::None, "no imsmanifest.xml".into()));
        return Ok(Inspection {
            package: name,
            standard,
            standard_label: label,
            manifest_file: None,
            entries: pkg.entries().len(),
            launch: None,
            organizations: Vec::new(),
            resources: Vec::new(),
        });
    };
    let bytes = pkg.read(&file, limits.max_xml_size)?;
    let m = Manifest::parse(&bytes, &file, XmlLimits::default())?;
    let detection = standard::detect(&m);
    let default_id = m.default_organization().and_then(|o| o.identifier.clone());
    let index = m.resource_index();
    Ok(Inspection {
        package: name,
        standard: detection.standard,
        standard_label: detection.label(),
        manifest_file: Some(file),
        entries: pkg.entries().len(),
        launch: m.course_launch().map(|(_, u)| u),
        organizations: m
            .organizations
            .list
            .iter()
            .map(|o| OrganizationView {
                identifier: o.identifier.clone(),
                title: o.title.as_ref().map(|t| t.value.clone()),
                default: o.identifier.is_some() && o.identifier == default_id,
                items: o.items.iter().map(|i| item_view(&index, i)).collect(),
            })
            .collect(),
        resources: m
            .all_resources()
            .into_iter()
            .map(|(chain, r)| ResourceView {
                identifier: r.identifier.clone(),
                scorm_type: r.scorm_type.as_ref().map(|t| t.value.clone()),
                href: r.href.as_deref().and_then(|h| crate::paths::join_chain(&chain, h)),
                files: r.files.len(),
                dependencies: r.dependencies.iter().filter_map(|d| d.identifierref.clone()).collect(),
            })
            .collect(),
    })
}

/// The inspection as an indented text tree.
pub fn render_text(i: &Inspection) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} ({} entries)", i.package, i.standard_label, i.entries);
    if let Some(l) = &i.launch {
        let _ = writeln!(out, "launch: {l}");
    }
    for o in &i.organizations {
        let default = if o.default { " (default)" } else { "" };
        let _ = writeln!(
            out,
            "organization {}{default}: {}",
            o.identifier.as_deref().unwrap_or("?"),
            o.title.as_deref().unwrap_or("")
        );
        for item in &o.items {
            tree(&mut out, item, 1);
        }
    }
    if !i.resources.is_empty() {
        out.push_str("resources:\n");
    }
    for r in &i.resources {
        let _ = writeln!(
            out,
            "  {} [{}] {} ({} files{})",
            r.identifier.as_deref().unwrap_or("?"),
            r.scorm_type.as_deref().unwrap_or("no scormtype"),
            r.href.as_deref().unwrap_or("(no href)"),
            r.files,
            if r.dependencies.is_empty() {
                String::new()
            } else {
                format!(", depends on {}", r.dependencies.join(", "))
            }
        );
    }
    out
}

fn tree(out: &mut String, item: &ItemView, depth: usize) {
    let launch = item.launch.as_deref().map(|l| format!(" -> {l}")).unwrap_or_default();
    let seq = if item.sequencing { " [sequencing]" } else { "" };
    let _ = writeln!(
        out,
        "{}- {} ({}){launch}{seq}",
        "  ".repeat(depth),
        item.title.as_deref().unwrap_or(""),
        item.identifier.as_deref().unwrap_or("?")
    );
    for c in &item.items {
        tree(out, c, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn tree_and_launch_urls() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zip = dir.path().join("p.zip");
        let m = scorm12(ONE_ORG, r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="a.html"/>"#);
        std::fs::write(&zip, zip_of(&[("imsmanifest.xml", &m), ("a.html", "")])).expect("write");
        let i = inspect_path(&zip, Limits::default()).expect("inspect");
        assert_eq!(i.launch.as_deref(), Some("a.html"));
        assert!(i.organizations[0].default);
        let text = render_text(&i);
        assert!(text.contains("- I (i) -> a.html"), "{text}");
        assert!(text.contains("r [sco] a.html"), "{text}");
    }
}
