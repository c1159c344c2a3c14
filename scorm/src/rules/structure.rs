//! Rules on the content structure: identifiers present and unique, organizations and their default, titles,
//! items that reference resources, and SCORM 2004's leaf/non-leaf rule (which SCORM 1.2 does not have).

use std::collections::{HashMap, HashSet};

use super::Rule;
use crate::finding::Severity;
use crate::manifest::{Item, Loc, Manifest};

fn walk_items<'a>(items: &'a [Item], f: &mut dyn FnMut(&'a Item)) {
    for i in items {
        f(i);
        walk_items(&i.items, f);
    }
}

fn each_manifest<'a>(m: &'a Manifest, f: &mut dyn FnMut(&'a Manifest)) {
    f(m);
    for s in &m.sub_manifests {
        each_manifest(s, f);
    }
}

/// Every `identifier` of the document with its element's name and location.
fn identifiers(m: &Manifest) -> Vec<(&'static str, Option<&str>, &Loc)> {
    let mut out = Vec::new();
    each_manifest(m, &mut |m| {
        out.push(("manifest", m.identifier.as_deref(), &m.loc));
        for o in &m.organizations.list {
            out.push(("organization", o.identifier.as_deref(), &o.loc));
            walk_items(&o.items, &mut |i| out.push(("item", i.identifier.as_deref(), &i.loc)));
        }
        for r in &m.resources.list {
            out.push(("resource", r.identifier.as_deref(), &r.loc));
        }
    });
    out
}

/// Identifiers are present.
pub static IDENTIFIER_PRESENT: Rule = Rule {
    id: "identifier-present",
    severity: Severity::Error,
    summary: "every manifest, organization, item and resource has a non-empty identifier",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        for (kind, id, loc) in identifiers(m) {
            if id.is_none_or(|id| id.trim().is_empty()) {
                sink.at(
                    loc,
                    format!("<{kind}> has no identifier"),
                    Some(format!("add identifier=\"…\" (unique in the manifest) to the <{kind}>")),
                );
            }
        }
    },
};

/// Identifiers are unique.
pub static IDENTIFIER_UNIQUE: Rule = Rule {
    id: "identifier-unique",
    severity: Severity::Error,
    summary: "identifiers are unique within the manifest (they are xs:ID values)",
    compat: Some((
        Severity::Error,
        "SCORM Cloud and Moodle resolve a duplicated identifier to whichever comes first: the wrong content may launch",
    )),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        let mut seen: HashMap<&str, &Loc> = HashMap::new();
        for (kind, id, loc) in identifiers(m) {
            let Some(id) = id.filter(|id| !id.is_empty()) else { continue };
            if let Some(first) = seen.get(id) {
                sink.at(loc, format!("identifier {id:?} of this <{kind}> is already used (line {})", first.line), None);
            } else {
                seen.insert(id, loc);
            }
        }
    },
};

/// There is an `<organizations>` element, with something in it.
pub static ORGANIZATION_PRESENT: Rule = Rule {
    id: "organization-present",
    severity: Severity::Error,
    summary: "the manifest has <organizations> (required) and at least one <organization> (warning when none)",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        if !m.organizations.present {
            sink.at(
                &m.loc,
                "the manifest has no <organizations> element",
                Some("add <organizations> with one <organization> describing the course".into()),
            );
        } else if m.organizations.list.is_empty() {
            sink.at_with(
                Severity::Warning,
                &m.organizations.loc,
                "<organizations> is empty: an LMS has nothing to launch",
                Some("add an <organization> with items that reference the SCOs".into()),
            );
        }
    },
};

/// `organizations@default` resolves.
pub static DEFAULT_ORGANIZATION: Rule = Rule {
    id: "default-organization",
    severity: Severity::Error,
    summary: "<organizations default> names an <organization> of this manifest (warning when absent)",
    compat: Some((
        Severity::Error,
        "SCORM Cloud and Moodle fall back to the first organization when default is absent, but refuse an unknown one",
    )),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        let orgs = &m.organizations;
        if orgs.list.is_empty() {
            return;
        }
        match orgs.default.as_deref() {
            None => sink.at_with(
                Severity::Warning,
                &orgs.loc,
                "<organizations> has no default attribute; LMSs will take the first organization",
                Some(format!("add default=\"{}\"", orgs.list[0].identifier.as_deref().unwrap_or("…"))),
            ),
            Some(id) if orgs.list.iter().all(|o| o.identifier.as_deref() != Some(id)) => sink.at(
                &orgs.loc,
                format!("default organization {id:?} is not the identifier of any <organization>"),
                Some(format!(
                    "set default to one of: {}",
                    orgs.list.iter().filter_map(|o| o.identifier.as_deref()).collect::<Vec<_>>().join(", ")
                )),
            ),
            Some(_) => {}
        }
    },
};

/// Organizations have a title.
pub static ORGANIZATION_TITLE: Rule = Rule {
    id: "organization-title",
    severity: Severity::Error,
    summary: "every <organization> has a non-empty <title>",
    compat: Some((Severity::Warning, "LMSs show the package file name or \"Untitled\" instead")),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        for o in &m.organizations.list {
            if o.title.as_ref().is_none_or(|t| t.value.is_empty()) {
                sink.at(
                    &o.loc,
                    "<organization> has no <title>",
                    Some("add <title> with the course name as learners should see it".into()),
                );
            }
        }
    },
};

/// Items have a title.
pub static ITEM_TITLE: Rule = Rule {
    id: "item-title",
    severity: Severity::Error,
    summary: "every <item> has a non-empty <title>",
    compat: Some((Severity::Warning, "LMSs show an empty entry in the table of contents")),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        for i in m.all_items() {
            if i.title.as_ref().is_none_or(|t| t.value.is_empty()) {
                sink.at(
                    &i.loc,
                    "<item> has no <title>",
                    Some("add <title>; it is what the learner sees in the table of contents".into()),
                );
            }
        }
    },
};

/// `item@identifierref` resolves.
pub static IDENTIFIERREF_RESOLVES: Rule = Rule {
    id: "identifierref-resolves",
    severity: Severity::Error,
    summary: "every item's identifierref names a <resource> (or a sub-manifest) of the package",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        // Looked up once each, not searched per item (quadratic: minutes at 250,000 items and resources).
        let (index, mut sub_manifests) = (m.resource_index(), HashSet::new());
        for s in &m.sub_manifests {
            each_manifest(s, &mut |s| sub_manifests.extend(s.identifier.as_deref()));
        }
        for i in m.all_items() {
            let Some(r) = i.identifierref.as_deref() else { continue };
            if index.get(r).is_none() && !sub_manifests.contains(r) {
                sink.at(
                    &i.loc,
                    format!("identifierref {r:?} does not name any resource"),
                    Some("point it at the identifier of a <resource>".into()),
                );
            }
        }
    },
};

/// SCORM 2004: leaves reference a resource, parents do not.
pub static ITEM_LEAF_RULES: Rule = Rule {
    id: "item-leaf-rules",
    severity: Severity::Error,
    summary: "SCORM 2004: a leaf <item> has an identifierref, an item with children has none (both legal in 1.2)",
    compat: Some((
        Severity::Warning,
        "SCORM Cloud and Moodle ignore a parent item's identifierref (its content never launches) and show a leaf without one as an empty entry",
    )),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        if !ctx.is_2004() {
            return;
        }
        for i in m.all_items() {
            match (i.items.is_empty(), i.identifierref.is_some()) {
                (true, false) => sink.at(
                    &i.loc,
                    "leaf <item> has no identifierref: there is nothing to launch",
                    Some("reference a resource, or remove the item".into()),
                ),
                (false, true) => sink.at(
                    &i.loc,
                    "<item> has child items and an identifierref; in SCORM 2004 only leaves reference resources",
                    Some("move the resource to a new child item".into()),
                ),
                _ => {}
            }
        }
    },
};

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RES: &str = r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="a.html"><file href="a.html"/></resource>"#;

    fn run12(orgs: &str, rule: &str) -> Vec<crate::Finding> {
        of_rule(&[("imsmanifest.xml", &scorm12(orgs, RES)), ("a.html", "")], rule)
    }

    #[test]
    fn identifiers_present_and_unique() {
        assert!(run12(ONE_ORG, "identifier-present").is_empty());
        assert_eq!(run12(r#"<organization identifier="o"><title>T</title><item identifierref="r"><title>I</title></item></organization>"#, "identifier-present").len(), 1);
        let dup = r#"<organization identifier="o"><title>T</title><item identifier="r" identifierref="r"><title>I</title></item></organization>"#;
        let f = run12(dup, "identifier-unique");
        assert_eq!(f.len(), 1, "item and resource share \"r\"");
    }

    #[test]
    fn organizations_default_and_titles() {
        assert!(run12(ONE_ORG, "default-organization").is_empty());
        let wrong = ONE_ORG.replace("identifier=\"o\"", "identifier=\"x\"");
        assert_eq!(run12(&wrong, "default-organization").len(), 1);
        assert_eq!(run12("", "organization-present")[0].severity, crate::Severity::Warning);
        assert_eq!(run12(&ONE_ORG.replace("<title>T</title>", ""), "organization-title").len(), 1);
        assert_eq!(run12(&ONE_ORG.replace("<title>I</title>", ""), "item-title").len(), 1);
    }

    #[test]
    fn identifierref_must_resolve() {
        assert_eq!(
            run12(&ONE_ORG.replace("identifierref=\"r\"", "identifierref=\"nope\""), "identifierref-resolves").len(),
            1
        );
    }

    #[test]
    fn leaf_rules_apply_to_2004_only() {
        let nested = r#"<organization identifier="o"><title>T</title><item identifier="p" identifierref="r"><title>P</title><item identifier="c"><title>C</title></item></item></organization>"#;
        assert!(run12(nested, "item-leaf-rules").is_empty(), "legal in 1.2");
        let res = RES.replace("scormtype", "scormType");
        let f = of_rule(&[("imsmanifest.xml", &scorm2004(nested, &res)), ("a.html", "")], "item-leaf-rules");
        assert_eq!(f.len(), 2, "parent with a ref, and leaf without one: {f:?}");
    }
}
