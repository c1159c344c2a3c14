//! Rules on `<resource>` elements: the adlcp scorm type (present, spelled for the version, a defined value), SCOs
//! and launched resources have an href, and dependencies resolve.

use std::collections::HashSet;

use super::{Context, Rule};
use crate::finding::Severity;
use crate::manifest::{NS_ADLCP_12, NS_ADLCP_2004};

/// The attribute as the detected version spells it.
fn expected_spelling(ctx: &Context<'_>) -> (&'static str, &'static str) {
    if ctx.is_2004() { ("scormType", NS_ADLCP_2004) } else { ("scormtype", NS_ADLCP_12) }
}

/// `adlcp:scormtype` is present.
pub static SCORMTYPE_PRESENT: Rule = Rule {
    id: "scormtype-present",
    severity: Severity::Error,
    summary: "every <resource> has adlcp:scormtype (1.2) / adlcp:scormType (2004)",
    compat: Some((
        Severity::Warning,
        "SCORM Cloud and Moodle treat a resource without a scorm type as an asset: it launches, but no tracking is recorded",
    )),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        let (name, ns) = expected_spelling(ctx);
        for (_, r) in m.all_resources() {
            if r.scorm_type.is_none() {
                sink.at(
                    &r.loc,
                    format!("resource {:?} has no adlcp:{name}", r.identifier.as_deref().unwrap_or_default()),
                    Some(format!("add adlcp:{name}=\"sco\" (or \"asset\"), with xmlns:adlcp=\"{ns}\" on <manifest>")),
                );
            }
        }
    },
};

/// The attribute is spelled as the version wants, in the version's namespace.
pub static SCORMTYPE_SPELLING: Rule = Rule {
    id: "scormtype-spelling",
    severity: Severity::Error,
    summary: "the scorm type attribute is spelled for the version: adlcp:scormtype in 1.2, adlcp:scormType in 2004, in that version's adlcp namespace",
    compat: Some((
        Severity::Warning,
        "Moodle folds the case of attribute names and SCORM Cloud accepts both spellings",
    )),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        let (name, ns) = expected_spelling(ctx);
        for (_, r) in m.all_resources() {
            let Some(t) = &r.scorm_type else { continue };
            if t.name != name {
                sink.at(
                    &t.loc,
                    format!("adlcp:{} is spelled for the other SCORM version; here it is adlcp:{name}", t.name),
                    None,
                );
            } else if t.ns.as_deref().is_some_and(|n| n != ns) {
                sink.at(
                    &t.loc,
                    format!("adlcp:{name} is in the namespace {:?}, not {ns:?}", t.ns.as_deref().unwrap_or_default()),
                    Some("declare the adlcp namespace of the package's SCORM version".into()),
                );
            }
        }
    },
};

/// The value is `sco` or `asset`.
pub static SCORMTYPE_VALUE: Rule = Rule {
    id: "scormtype-value",
    severity: Severity::Error,
    summary: "the scorm type is exactly \"sco\" or \"asset\"",
    compat: Some((Severity::Warning, "SCORM Cloud and Moodle compare the value without regard to case")),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        for (_, r) in m.all_resources() {
            let Some(t) = &r.scorm_type else { continue };
            if t.value != "sco" && t.value != "asset" {
                let hint = match t.value.to_ascii_lowercase().as_str() {
                    "sco" | "asset" => format!("write it in lowercase: {:?}", t.value.to_ascii_lowercase()),
                    _ => "use \"sco\" for content that talks to the LMS, \"asset\" otherwise".into(),
                };
                sink.at(&t.loc, format!("scorm type {:?} is neither \"sco\" nor \"asset\"", t.value), Some(hint));
            }
        }
    },
};

/// SCOs and launched resources have an href.
pub static SCO_HREF: Rule = Rule {
    id: "sco-href",
    severity: Severity::Error,
    summary: "every SCO resource, and every resource an item launches, has an href",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        let launched: HashSet<&str> = m.all_items().into_iter().filter_map(|i| i.identifierref.as_deref()).collect();
        for (_, r) in m.all_resources() {
            if r.href.is_some() {
                continue;
            }
            let id = r.identifier.as_deref().unwrap_or_default();
            let is_sco = r.scorm_type_lower().as_deref() == Some("sco");
            if is_sco || launched.contains(&id) {
                let what = if is_sco { "SCO resource" } else { "resource launched by an item" };
                sink.at(
                    &r.loc,
                    format!("{what} {id:?} has no href: there is no page to launch"),
                    Some("add href=\"…\" with the launch page, relative to the package root".into()),
                );
            }
        }
    },
};

/// Dependencies resolve.
pub static DEPENDENCY_RESOLVES: Rule = Rule {
    id: "dependency-resolves",
    severity: Severity::Error,
    summary: "every <dependency identifierref> names a resource",
    compat: Some((Severity::Warning, "LMSs ignore dependencies at run time; only the files go missing")),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        let index = m.resource_index();
        for (_, r) in m.all_resources() {
            for d in &r.dependencies {
                match d.identifierref.as_deref() {
                    None => sink.at(&d.loc, "<dependency> has no identifierref", None),
                    Some(id) if index.get(id).is_none() => {
                        sink.at(&d.loc, format!("dependency {id:?} does not name any resource"), None)
                    }
                    Some(_) => {}
                }
            }
        }
    },
};

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    fn run(manifest: &str, rule: &str) -> Vec<crate::Finding> {
        of_rule(&[("imsmanifest.xml", manifest), ("a.html", "")], rule)
    }

    #[test]
    fn scormtype_presence_spelling_and_value() {
        let res = |attr: &str| {
            format!(
                r#"<resource identifier="r" type="webcontent" {attr} href="a.html"><file href="a.html"/></resource>"#
            )
        };
        assert!(run(&scorm12(ONE_ORG, &res("adlcp:scormtype=\"sco\"")), "scormtype-present").is_empty());
        assert_eq!(run(&scorm12(ONE_ORG, &res("")), "scormtype-present").len(), 1);
        assert_eq!(run(&scorm12(ONE_ORG, &res("adlcp:scormType=\"sco\"")), "scormtype-spelling").len(), 1);
        assert_eq!(run(&scorm2004(ONE_ORG, &res("adlcp:scormtype=\"sco\"")), "scormtype-spelling").len(), 1);
        assert!(run(&scorm2004(ONE_ORG, &res("adlcp:scormType=\"sco\"")), "scormtype-spelling").is_empty());
        let f = run(&scorm12(ONE_ORG, &res("adlcp:scormtype=\"SCO\"")), "scormtype-value");
        assert!(f[0].hint.as_deref().unwrap_or_default().contains("lowercase"));
    }

    #[test]
    fn scos_need_an_href() {
        let res =
            r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco"><file href="a.html"/></resource>"#;
        assert_eq!(run(&scorm12(ONE_ORG, res), "sco-href").len(), 1);
        let asset =
            r#"<resource identifier="r" type="webcontent" adlcp:scormtype="asset"><file href="a.html"/></resource>"#;
        assert_eq!(run(&scorm12(ONE_ORG, asset), "sco-href").len(), 1, "launched by an item");
        assert!(run(&scorm12("", asset), "sco-href").is_empty(), "an asset nobody launches needs no href");
    }

    #[test]
    fn dependencies_resolve() {
        let res = r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="a.html"><file href="a.html"/><dependency identifierref="gone"/></resource>"#;
        assert_eq!(run(&scorm12(ONE_ORG, res), "dependency-resolves").len(), 1);
    }
}
