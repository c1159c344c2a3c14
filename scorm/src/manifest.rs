//! The manifest model: what `imsmanifest.xml` says, for SCORM 1.2 and 2004 alike, built leniently from the XML tree
//! so the rules can report everything that is missing instead of stopping at the first problem. Organizations with
//! nested items, resources with files and dependencies, metadata (inline and `adlcp:location`), `xml:base` at every
//! level, sub-manifests, and `imsss` sequencing kept as XML. Also the launch URL of each item.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ScormError;
use crate::paths::join_chain;
use crate::xml::{self, Element, XmlLimits};

/// IMS CP namespace used by SCORM 1.2.
pub const NS_CP_12: &str = "http://www.imsproject.org/xsd/imscp_rootv1p1p2";
/// IMS CP namespace used by SCORM 2004.
pub const NS_CP_2004: &str = "http://www.imsglobal.org/xsd/imscp_v1p1";
/// ADL content packaging extensions, SCORM 1.2.
pub const NS_ADLCP_12: &str = "http://www.adlnet.org/xsd/adlcp_rootv1p2";
/// ADL content packaging extensions, SCORM 2004.
pub const NS_ADLCP_2004: &str = "http://www.adlnet.org/xsd/adlcp_v1p3";
/// ADL sequencing extensions (2004).
pub const NS_ADLSEQ: &str = "http://www.adlnet.org/xsd/adlseq_v1p3";
/// ADL navigation extensions (2004).
pub const NS_ADLNAV: &str = "http://www.adlnet.org/xsd/adlnav_v1p3";
/// IMS Simple Sequencing (2004).
pub const NS_IMSSS: &str = "http://www.imsglobal.org/xsd/imsss";

/// Where something sits in the manifest: line, column and element path. The path is kept in two parts, so the
/// many `<file>`s of a resource share its path (one `Arc`) and each keeps only its own step (`file[37]`): a full
/// path string per file was ~100 bytes, 10 MB of a manifest listing 100,000 files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loc {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The path of an ancestor, shared.
    parent: Option<Arc<str>>,
    /// The rest of the path below `parent` (or the whole path).
    step: Box<str>,
}

impl Loc {
    fn of(e: &Element) -> Self {
        Self { line: e.line, column: e.column, parent: None, step: e.path.as_str().into() }
    }

    /// The location of `e`, an element under the one whose path is `parent`.
    fn under(parent: &Arc<str>, e: &Element) -> Self {
        match e.path.strip_prefix(&**parent).and_then(|rest| rest.strip_prefix('/')) {
            Some(step) => Self { line: e.line, column: e.column, parent: Some(parent.clone()), step: step.into() },
            None => Self::of(e),
        }
    }

    /// The element path, e.g. `/manifest/resources/resource[@identifier='r1']/file[3]` (empty when unknown).
    pub fn path(&self) -> String {
        match &self.parent {
            Some(parent) => format!("{parent}/{}", self.step),
            None => self.step.to_string(),
        }
    }
}

impl serde::Serialize for Loc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Loc", 3)?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("column", &self.column)?;
        st.serialize_field("path", &self.path())?;
        st.end()
    }
}

/// A text value with its location.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Text {
    /// Trimmed text.
    pub value: String,
    /// Where it was.
    pub loc: Loc,
}

/// An attribute or element of the `adlcp` namespace (or the undeclared `adlcp:` prefix).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Adlcp {
    /// Local name as written (`scormtype`, `scormType`, `datafromlms`…).
    pub name: String,
    /// The namespace it was in, if declared.
    pub ns: Option<String>,
    /// Trimmed value.
    pub value: String,
    /// Attributes of the element (for `completionThreshold`, `prerequisites type`).
    pub attrs: Vec<(String, String)>,
    /// Where it was.
    pub loc: Loc,
}

/// `<metadata>` of any level.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Metadata {
    /// `<schema>`.
    pub schema: Option<Text>,
    /// `<schemaversion>`.
    pub schemaversion: Option<Text>,
    /// `adlcp:location` references to external metadata files.
    pub locations: Vec<Text>,
    /// True when inline LOM (or other foreign metadata) is present.
    pub inline: bool,
    /// Where it was.
    pub loc: Loc,
}

/// A sub-tree kept as XML (sequencing, presentation), not interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept(pub Element);

impl serde::Serialize for Kept {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.path)
    }
}

/// One `<item>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    /// `identifier`.
    pub identifier: Option<String>,
    /// `identifierref`.
    pub identifierref: Option<String>,
    /// `isvisible`.
    pub isvisible: Option<String>,
    /// `parameters`.
    pub parameters: Option<String>,
    /// `<title>`.
    pub title: Option<Text>,
    /// Child items.
    pub items: Vec<Item>,
    /// `<metadata>`.
    pub metadata: Option<Metadata>,
    /// `<imsss:sequencing>`.
    pub sequencing: Option<Kept>,
    /// adlcp elements (`masteryscore`, `dataFromLMS`, `timeLimitAction`, `completionThreshold`…).
    pub adlcp: Vec<Adlcp>,
    /// Where it was.
    pub loc: Loc,
}

/// One `<organization>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Organization {
    /// `identifier`.
    pub identifier: Option<String>,
    /// `structure`.
    pub structure: Option<String>,
    /// `<title>`.
    pub title: Option<Text>,
    /// Top-level items.
    pub items: Vec<Item>,
    /// `<metadata>`.
    pub metadata: Option<Metadata>,
    /// `<imsss:sequencing>`.
    pub sequencing: Option<Kept>,
    /// Where it was.
    pub loc: Loc,
}

/// `<organizations>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Organizations {
    /// Whether the element exists at all.
    pub present: bool,
    /// `default`.
    pub default: Option<String>,
    /// The organizations.
    pub list: Vec<Organization>,
    /// Where it was.
    pub loc: Loc,
}

/// A `<file>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRef {
    /// `href`.
    pub href: Option<String>,
    /// `xml:base` (files may carry one in 2004).
    pub base: Option<String>,
    /// `<metadata>` (boxed: rare, and a `Metadata` inline would make every `<file>` ~200 bytes larger).
    pub metadata: Option<Box<Metadata>>,
    /// Where it was.
    pub loc: Loc,
}

/// A `<dependency>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dependency {
    /// `identifierref`.
    pub identifierref: Option<String>,
    /// Where it was.
    pub loc: Loc,
}

/// One `<resource>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Resource {
    /// `identifier`.
    pub identifier: Option<String>,
    /// `type`.
    pub kind: Option<String>,
    /// `href`.
    pub href: Option<String>,
    /// `xml:base`.
    pub base: Option<String>,
    /// `adlcp:scormtype` / `adlcp:scormType`, however it was spelled.
    pub scorm_type: Option<Adlcp>,
    /// `<file>`s.
    pub files: Vec<FileRef>,
    /// `<dependency>`s.
    pub dependencies: Vec<Dependency>,
    /// `<metadata>`.
    pub metadata: Option<Metadata>,
    /// Where it was.
    pub loc: Loc,
}

impl Resource {
    /// The scorm type value in lowercase, if any.
    pub fn scorm_type_lower(&self) -> Option<String> {
        self.scorm_type.as_ref().map(|t| t.value.to_ascii_lowercase())
    }
}

/// `<resources>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Resources {
    /// `xml:base`.
    pub base: Option<String>,
    /// The resources.
    pub list: Vec<Resource>,
    /// Where it was.
    pub loc: Loc,
}

/// A `<manifest>` (the root, or a sub-manifest).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Manifest {
    /// Namespace of the `<manifest>` element.
    pub ns: Option<String>,
    /// Local name of the root element (normally `manifest`).
    pub root_name: String,
    /// `identifier`.
    pub identifier: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `xml:base`.
    pub base: Option<String>,
    /// `<metadata>`.
    pub metadata: Option<Metadata>,
    /// `<organizations>`.
    pub organizations: Organizations,
    /// `<resources>`.
    pub resources: Resources,
    /// Nested `<manifest>`s.
    pub sub_manifests: Vec<Manifest>,
    /// `<imsss:sequencingCollection>`.
    pub sequencing_collection: Option<Kept>,
    /// Every namespace URI used by an element or attribute of the document.
    pub namespaces: Vec<String>,
    /// Where it was.
    pub loc: Loc,
}

/// True for the adlcp namespaces of any SCORM version, or the `adlcp` prefix when it was never declared.
pub fn is_adlcp(ns: Option<&str>, prefix: Option<&str>) -> bool {
    match ns {
        Some(ns) => ns.starts_with("http://www.adlnet.org/xsd/adlcp"),
        None => prefix == Some("adlcp"),
    }
}

fn is_cp(e: &Element, cp_ns: Option<&str>) -> bool {
    e.ns.is_none() || e.ns.as_deref() == cp_ns || matches!(e.ns.as_deref(), Some(NS_CP_12 | NS_CP_2004))
}

fn text_of(e: &Element) -> Text {
    Text { value: e.trimmed_text().to_string(), loc: Loc::of(e) }
}

fn adlcp_of(e: &Element) -> Adlcp {
    Adlcp {
        name: e.local.clone(),
        ns: e.ns.clone(),
        value: e.trimmed_text().to_string(),
        attrs: e.attrs.iter().map(|a| (a.local.clone(), a.value.clone())).collect(),
        loc: Loc::of(e),
    }
}

/// Resources taken out of the tree while parsing ([`Manifest::parse`]), by the line and column of their
/// `<resources>` element.
type Taken = HashMap<(u32, u32), Vec<Resource>>;

impl Manifest {
    /// Parses a manifest straight into the model. Each `<resource>` of a (sub-)manifest's `<resources>` becomes a
    /// [`Resource`] as soon as its end tag is read and its elements are dropped, so the element tree never holds
    /// the files of more than one resource: at 100,000 `<file>`s the tree was 93 MB beside a 42 MB model. The rest
    /// (organizations, metadata, sequencing) is small and built from the tree as [`Manifest::from_element`] does.
    pub fn parse(bytes: &[u8], file: &str, limits: XmlLimits) -> Result<Self, ScormError> {
        let mut taken = Taken::new();
        let doc = xml::parse_with(bytes, file, limits, |open, element| {
            // Exactly the resources `build` would reach: root, then only sub-manifests, then `<resources>`.
            let [root, .., parent] = open else { return Some(element) };
            let cp = root.ns.as_deref();
            let via_manifests = open[1..open.len() - 1].iter().all(|m| is_cp(m, cp) && m.local == "manifest");
            let is_resource = is_cp(&element, cp) && element.local == "resource";
            if via_manifests && is_cp(parent, cp) && parent.local == "resources" && is_resource {
                taken.entry((parent.line, parent.column)).or_default().push(resource_of(&element, cp));
                return None;
            }
            Some(element)
        })?;
        let mut m = Self::build(&doc.root, doc.root.ns.as_deref(), &mut taken);
        m.namespaces = doc.namespaces;
        Ok(m)
    }

    /// Builds the model from the root element of the document.
    pub fn from_element(root: &Element) -> Self {
        let mut namespaces = Vec::new();
        collect_namespaces(root, &mut namespaces);
        let mut m = Self::build(root, root.ns.as_deref(), &mut Taken::new());
        m.namespaces = namespaces;
        m
    }

    fn build(e: &Element, cp: Option<&str>, taken: &mut Taken) -> Self {
        let mut m = Manifest {
            ns: e.ns.clone(),
            root_name: e.local.clone(),
            identifier: e.attr("identifier").map(str::to_string),
            version: e.attr("version").map(str::to_string),
            base: e.xml_base().map(str::to_string),
            metadata: None,
            organizations: Organizations::default(),
            resources: Resources::default(),
            sub_manifests: Vec::new(),
            sequencing_collection: None,
            namespaces: Vec::new(),
            loc: Loc::of(e),
        };
        for child in &e.children {
            if child.ns.as_deref() == Some(NS_IMSSS) && child.local == "sequencingCollection" {
                m.sequencing_collection = Some(Kept(child.clone()));
                continue;
            }
            if !is_cp(child, cp) {
                continue;
            }
            match child.local.as_str() {
                "metadata" => m.metadata = Some(metadata_of(child, cp)),
                "organizations" => m.organizations = organizations_of(child, cp),
                "resources" => m.resources = resources_of(child, cp, taken),
                "manifest" => m.sub_manifests.push(Self::build(child, cp, taken)),
                _ => {}
            }
        }
        m
    }

    /// The default organization, or the first when `default` is absent (as CP 1.1 says).
    pub fn default_organization(&self) -> Option<&Organization> {
        let orgs = &self.organizations;
        match &orgs.default {
            Some(id) => orgs.list.iter().find(|o| o.identifier.as_deref() == Some(id.as_str())),
            None => orgs.list.first(),
        }
    }

    /// The resource with this identifier, in this manifest or a sub-manifest.
    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources
            .list
            .iter()
            .find(|r| r.identifier.as_deref() == Some(id))
            .or_else(|| self.sub_manifests.iter().find_map(|s| s.resource(id)))
    }

    /// The sub-manifest with this identifier.
    pub fn sub_manifest(&self, id: &str) -> Option<&Manifest> {
        self.sub_manifests
            .iter()
            .find(|s| s.identifier.as_deref() == Some(id))
            .or_else(|| self.sub_manifests.iter().find_map(|s| s.sub_manifest(id)))
    }

    /// Every resource with the `xml:base` chain that applies to it (outermost first), sub-manifests included.
    pub fn all_resources(&self) -> Vec<(Vec<&str>, &Resource)> {
        let mut out = Vec::new();
        self.collect_resources(&[], &mut out);
        out
    }

    fn collect_resources<'a>(&'a self, outer: &[&'a str], out: &mut Vec<(Vec<&'a str>, &'a Resource)>) {
        let mut chain: Vec<&str> = outer.to_vec();
        chain.extend(self.base.as_deref());
        chain.extend(self.resources.base.as_deref());
        for r in &self.resources.list {
            let mut c = chain.clone();
            c.extend(r.base.as_deref());
            out.push((c, r));
        }
        let mut sub_chain: Vec<&str> = outer.to_vec();
        sub_chain.extend(self.base.as_deref());
        for s in &self.sub_manifests {
            s.collect_resources(&sub_chain, out);
        }
    }

    /// The `xml:base` chain of the resource with this identifier.
    pub fn base_chain(&self, id: &str) -> Vec<&str> {
        self.all_resources()
            .into_iter()
            .find(|(_, r)| r.identifier.as_deref() == Some(id))
            .map(|(chain, _)| chain)
            .unwrap_or_default()
    }

    /// Every item of every organization, depth first, with its depth.
    pub fn all_items(&self) -> Vec<&Item> {
        let mut out = Vec::new();
        for org in &self.organizations.list {
            walk_items(&org.items, &mut out);
        }
        out
    }

    /// The resources by identifier, with their `xml:base` chains, for looking up many: see [`ResourceIndex`].
    pub fn resource_index(&self) -> ResourceIndex<'_> {
        let mut by_id = HashMap::new();
        for (chain, r) in self.all_resources() {
            if let Some(id) = r.identifier.as_deref() {
                by_id.entry(id).or_insert((chain, r));
            }
        }
        ResourceIndex { by_id }
    }

    /// The launch URL of an item: its resource's href after the `xml:base` chain, plus the item's parameters. `None`
    /// also when the chain and href are too long to load ([`join_chain`]). For many items, use
    /// [`ResourceIndex::launch_url`]: this builds the index each time.
    pub fn launch_url(&self, item: &Item) -> Option<String> {
        self.resource_index().launch_url(item)
    }

    /// The URL a player opens first: the first item, in document order of the default organization, that has a
    /// launchable resource.
    pub fn course_launch(&self) -> Option<(&Item, String)> {
        let org = self.default_organization()?;
        let mut items = Vec::new();
        walk_items(&org.items, &mut items);
        let index = self.resource_index();
        items.into_iter().find_map(|i| index.launch_url(i).map(|u| (i, u)))
    }
}

/// The resources of a manifest (sub-manifests included) by identifier, each with its `xml:base` chain: the first of
/// each identifier in document order, as [`Manifest::resource`] and [`Manifest::base_chain`] find it. Built once in
/// linear time, it answers the lookups that rules make for every item and dependency; one search of the list per
/// lookup was quadratic, minutes for a manifest of 250,000 items and as many resources.
#[derive(Debug)]
pub struct ResourceIndex<'a> {
    by_id: HashMap<&'a str, (Vec<&'a str>, &'a Resource)>,
}

impl<'a> ResourceIndex<'a> {
    /// The resource with this identifier.
    pub fn get(&self, id: &str) -> Option<&'a Resource> {
        self.by_id.get(id).map(|&(_, r)| r)
    }

    /// The launch URL of an item, as [`Manifest::launch_url`].
    pub fn launch_url(&self, item: &Item) -> Option<String> {
        let (chain, resource) = self.by_id.get(item.identifierref.as_deref()?)?;
        let url = join_chain(chain, resource.href.as_deref()?)?;
        Some(append_parameters(&url, item.parameters.as_deref()))
    }
}

fn walk_items<'a>(items: &'a [Item], out: &mut Vec<&'a Item>) {
    for item in items {
        out.push(item);
        walk_items(&item.items, out);
    }
}

/// Appends `parameters` to a URL as the SCORM CAM describes: leading `?`/`&` dropped, joined with `?` or `&`, a
/// lone `#fragment` appended as is.
pub fn append_parameters(url: &str, parameters: Option<&str>) -> String {
    let Some(p) = parameters.map(str::trim).filter(|p| !p.is_empty()) else {
        return url.to_string();
    };
    if p.starts_with('#') {
        return if url.contains('#') { url.to_string() } else { format!("{url}{p}") };
    }
    let p = p.trim_start_matches(['?', '&']);
    if url.contains('?') { format!("{url}&{p}") } else { format!("{url}?{p}") }
}

fn collect_namespaces(e: &Element, out: &mut Vec<String>) {
    for ns in e.ns.iter().chain(e.attrs.iter().filter_map(|a| a.ns.as_ref())) {
        if !out.contains(ns) {
            out.push(ns.clone());
        }
    }
    for c in &e.children {
        collect_namespaces(c, out);
    }
}

fn metadata_of(e: &Element, cp: Option<&str>) -> Metadata {
    let mut m = Metadata { loc: Loc::of(e), ..Metadata::default() };
    for c in &e.children {
        if is_adlcp(c.ns.as_deref(), c.prefix.as_deref()) && c.local == "location" {
            m.locations.push(text_of(c));
        } else if is_cp(c, cp) && c.local == "schema" {
            m.schema = Some(text_of(c));
        } else if is_cp(c, cp) && c.local == "schemaversion" {
            m.schemaversion = Some(text_of(c));
        } else {
            m.inline = true;
        }
    }
    m
}

fn organizations_of(e: &Element, cp: Option<&str>) -> Organizations {
    Organizations {
        present: true,
        default: e.attr("default").map(str::to_string),
        list: e
            .children
            .iter()
            .filter(|c| is_cp(c, cp) && c.local == "organization")
            .map(|c| organization_of(c, cp))
            .collect(),
        loc: Loc::of(e),
    }
}

fn organization_of(e: &Element, cp: Option<&str>) -> Organization {
    let mut o = Organization {
        identifier: e.attr("identifier").map(str::to_string),
        structure: e.attr("structure").map(str::to_string),
        title: None,
        items: Vec::new(),
        metadata: None,
        sequencing: None,
        loc: Loc::of(e),
    };
    for c in &e.children {
        if c.ns.as_deref() == Some(NS_IMSSS) && c.local == "sequencing" {
            o.sequencing = Some(Kept(c.clone()));
        } else if is_cp(c, cp) {
            match c.local.as_str() {
                "title" if o.title.is_none() => o.title = Some(text_of(c)),
                "item" => o.items.push(item_of(c, cp)),
                "metadata" => o.metadata = Some(metadata_of(c, cp)),
                _ => {}
            }
        }
    }
    o
}

fn item_of(e: &Element, cp: Option<&str>) -> Item {
    let mut i = Item {
        identifier: e.attr("identifier").map(str::to_string),
        identifierref: e.attr("identifierref").map(str::to_string),
        isvisible: e.attr("isvisible").map(str::to_string),
        parameters: e.attr("parameters").map(str::to_string),
        title: None,
        items: Vec::new(),
        metadata: None,
        sequencing: None,
        adlcp: Vec::new(),
        loc: Loc::of(e),
    };
    for c in &e.children {
        if c.ns.as_deref() == Some(NS_IMSSS) && c.local == "sequencing" {
            i.sequencing = Some(Kept(c.clone()));
        } else if is_adlcp(c.ns.as_deref(), c.prefix.as_deref()) {
            i.adlcp.push(adlcp_of(c));
        } else if is_cp(c, cp) {
            match c.local.as_str() {
                "title" if i.title.is_none() => i.title = Some(text_of(c)),
                "item" => i.items.push(item_of(c, cp)),
                "metadata" => i.metadata = Some(metadata_of(c, cp)),
                _ => {}
            }
        }
    }
    i
}

fn resources_of(e: &Element, cp: Option<&str>, taken: &mut Taken) -> Resources {
    let list = taken.remove(&(e.line, e.column)).unwrap_or_else(|| {
        e.children.iter().filter(|c| is_cp(c, cp) && c.local == "resource").map(|c| resource_of(c, cp)).collect()
    });
    Resources { base: e.xml_base().map(str::to_string), list, loc: Loc::of(e) }
}

fn resource_of(e: &Element, cp: Option<&str>) -> Resource {
    let scorm_type = e
        .attrs
        .iter()
        .find(|a| is_adlcp(a.ns.as_deref(), a.prefix.as_deref()) && a.local.eq_ignore_ascii_case("scormtype"))
        .map(|a| Adlcp {
            name: a.local.clone(),
            ns: a.ns.clone(),
            value: a.value.trim().to_string(),
            attrs: Vec::new(),
            loc: Loc::of(e),
        });
    let mut r = Resource {
        identifier: e.attr("identifier").map(str::to_string),
        kind: e.attr("type").map(str::to_string),
        href: e.attr("href").map(str::to_string),
        base: e.xml_base().map(str::to_string),
        scorm_type,
        files: Vec::new(),
        dependencies: Vec::new(),
        metadata: None,
        loc: Loc::of(e),
    };
    let path: Arc<str> = e.path.as_str().into();
    for c in e.children.iter().filter(|c| is_cp(c, cp)) {
        match c.local.as_str() {
            "file" => r.files.push(FileRef {
                href: c.attr("href").map(str::to_string),
                base: c.xml_base().map(str::to_string),
                metadata: c
                    .children
                    .iter()
                    .find(|m| is_cp(m, cp) && m.local == "metadata")
                    .map(|m| Box::new(metadata_of(m, cp))),
                loc: Loc::under(&path, c),
            }),
            "dependency" => r
                .dependencies
                .push(Dependency { identifierref: c.attr("identifierref").map(str::to_string), loc: Loc::of(c) }),
            "metadata" => r.metadata = Some(metadata_of(c, cp)),
            _ => {}
        }
    }
    r.files.shrink_to_fit();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{XmlLimits, parse};

    const SAMPLE: &str = r#"<manifest identifier="m" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
        xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3" xmlns:imsss="http://www.imsglobal.org/xsd/imsss" xml:base="course/">
      <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion><adlcp:location>md.xml</adlcp:location></metadata>
      <organizations default="o">
        <organization identifier="o"><title> T </title>
          <item identifier="p"><title>P</title>
            <item identifier="i" identifierref="r" parameters="?a=1"><title>I</title>
              <adlcp:dataFromLMS>x</adlcp:dataFromLMS><imsss:sequencing/></item>
          </item>
        </organization>
      </organizations>
      <resources xml:base="res/">
        <resource identifier="r" type="webcontent" adlcp:scormType="sco" href="index.html?x=1" xml:base="sco/">
          <file href="index.html"/><dependency identifierref="d"/>
        </resource>
      </resources>
      <manifest identifier="sub"><resources><resource identifier="d" type="webcontent" adlcp:scormType="asset"/></resources></manifest>
    </manifest>"#;

    #[test]
    fn model_holds_structure_bases_and_launch_urls() {
        let doc = parse(SAMPLE.as_bytes(), "imsmanifest.xml", XmlLimits::default()).expect("parse");
        let m = Manifest::from_element(&doc.root);
        let md = m.metadata.as_ref().expect("metadata");
        assert_eq!(md.schemaversion.as_ref().map(|t| t.value.as_str()), Some("2004 4th Edition"));
        assert_eq!(md.locations[0].value, "md.xml");
        let org = m.default_organization().expect("org");
        assert_eq!(org.title.as_ref().map(|t| t.value.as_str()), Some("T"));
        let leaf = &org.items[0].items[0];
        assert!(leaf.sequencing.is_some());
        assert_eq!(leaf.adlcp[0].name, "dataFromLMS");
        assert_eq!(m.launch_url(leaf).as_deref(), Some("course/res/sco/index.html?x=1&a=1"));
        assert_eq!(m.course_launch().map(|(i, _)| i.identifier.clone()), Some(Some("i".into())));
        assert_eq!(m.resources.list[0].scorm_type.as_ref().map(|t| t.name.as_str()), Some("scormType"));
        assert!(m.resource("d").is_some(), "resources of sub-manifests resolve");
        let index = m.resource_index();
        assert_eq!(index.get("d"), m.resource("d"));
        assert_eq!(index.get("r"), m.resource("r"));
        assert_eq!(index.get("nope"), None);
        assert_eq!(index.launch_url(leaf), m.launch_url(leaf));
        assert_eq!(m.all_resources().len(), 2);
        assert!(m.namespaces.iter().any(|n| n == NS_IMSSS));
    }

    #[test]
    fn parsing_straight_into_the_model_matches_the_tree_path() {
        let doc = parse(SAMPLE.as_bytes(), "imsmanifest.xml", XmlLimits::default()).expect("parse");
        let streamed = Manifest::parse(SAMPLE.as_bytes(), "imsmanifest.xml", XmlLimits::default()).expect("parse");
        assert_eq!(streamed, Manifest::from_element(&doc.root));
        let file = &streamed.resources.list[0].files[0].loc;
        assert_eq!(file.path(), "/manifest[@identifier='m']/resources/resource[@identifier='r']/file");
        assert_eq!(streamed.sub_manifests[0].resources.list.len(), 1);
    }

    #[test]
    fn parameters_join_like_the_cam_says() {
        assert_eq!(append_parameters("a.html", Some("?x=1")), "a.html?x=1");
        assert_eq!(append_parameters("a.html?y=2", Some("&x=1")), "a.html?y=2&x=1");
        assert_eq!(append_parameters("a.html", Some("#p2")), "a.html#p2");
        assert_eq!(append_parameters("a.html#p1", Some("#p2")), "a.html#p1");
        assert_eq!(append_parameters("a.html", None), "a.html");
    }
}
