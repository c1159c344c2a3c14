//! Rules on the manifest's `<metadata>`: `<schema>` says "ADL SCORM", `<schemaversion>` is present and one of the
//! values SCORM defines, and agrees with the namespaces the manifest uses.

use super::Rule;
use crate::finding::Severity;
use crate::standard::parse_schemaversion;

const SCHEMAVERSIONS: &str = "\"1.2\", \"CAM 1.3\", \"2004 3rd Edition\" or \"2004 4th Edition\"";

/// `<schema>ADL SCORM</schema>`.
pub static SCHEMA_VALUE: Rule = Rule {
    id: "schema-value",
    severity: Severity::Error,
    summary: "the manifest's <metadata><schema> is present and reads \"ADL SCORM\"",
    compat: Some((Severity::Warning, "SCORM Cloud, Moodle and Canvas ignore <schema>")),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        match m.metadata.as_ref().and_then(|md| md.schema.as_ref()) {
            Some(s) if s.value == "ADL SCORM" => {}
            Some(s) => sink.at(&s.loc, format!("<schema> is {:?}; it must be \"ADL SCORM\"", s.value), None),
            None => sink.at(
                m.metadata.as_ref().map_or(&m.loc, |md| &md.loc),
                "the manifest has no <metadata><schema>",
                Some("add <metadata><schema>ADL SCORM</schema><schemaversion>…</schemaversion></metadata>".to_string()),
            ),
        }
    },
};

/// `<schemaversion>` is present.
pub static SCHEMAVERSION_PRESENT: Rule = Rule {
    id: "schemaversion-present",
    severity: Severity::Error,
    summary: "the manifest's <metadata><schemaversion> is present (the version is otherwise only inferred)",
    compat: Some((
        Severity::Warning,
        "Moodle will treat this as SCORM 1.2 (it decides by schemaversion alone); SCORM Cloud goes by the namespaces",
    )),
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        if m.metadata.as_ref().and_then(|md| md.schemaversion.as_ref()).is_none() {
            let guess = ctx.detection.map(|d| d.label()).unwrap_or_default();
            sink.at(
                m.metadata.as_ref().map_or(&m.loc, |md| &md.loc),
                format!("the manifest has no <schemaversion>; read as {guess}"),
                Some(format!("add <schemaversion> with {SCHEMAVERSIONS} inside the manifest's <metadata>")),
            );
        }
    },
};

/// `<schemaversion>` has a defined value.
pub static SCHEMAVERSION_VALUE: Rule = Rule {
    id: "schemaversion-value",
    severity: Severity::Error,
    summary: "<schemaversion> is \"1.2\", \"CAM 1.3\", \"2004 3rd Edition\" or \"2004 4th Edition\"",
    compat: Some((Severity::Warning, "Moodle will treat an unknown schemaversion as SCORM 1.2")),
    check: |ctx, sink| {
        let Some(sv) = ctx.manifest.and_then(|m| m.metadata.as_ref()).and_then(|md| md.schemaversion.as_ref()) else {
            return;
        };
        if sv.value == "1.3" {
            sink.at_with(
                Severity::Warning,
                &sv.loc,
                "<schemaversion> \"1.3\" is not a SCORM value; read as 2004 2nd Edition",
                Some("write \"CAM 1.3\"".to_string()),
            );
        } else if parse_schemaversion(&sv.value).is_none() {
            sink.at(
                &sv.loc,
                format!("<schemaversion> {:?} is not a SCORM version", sv.value),
                Some(format!("use {SCHEMAVERSIONS}")),
            );
        }
    },
};

/// Namespaces and `schemaversion` agree.
pub static VERSION_MISMATCH: Rule = Rule {
    id: "version-mismatch",
    severity: Severity::Warning,
    summary: "the namespaces the manifest uses belong to the version its <schemaversion> names",
    compat: Some((
        Severity::Warning,
        "Moodle follows schemaversion, SCORM Cloud the namespaces: the two will run it differently",
    )),
    check: |ctx, sink| {
        let (Some(m), Some(d)) = (ctx.manifest, ctx.detection) else { return };
        if let Some(ns) = d.namespace_disagrees {
            sink.at(
                &m.loc,
                format!("<schemaversion> says {} but the namespaces are those of {}", d.standard.as_str(), ns.as_str()),
                Some("use the namespaces and schemaversion of one SCORM version".to_string()),
            );
        }
    },
};

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    fn with_metadata(md: &str) -> String {
        scorm12(ONE_ORG, r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="a.html"><file href="a.html"/></resource>"#)
            .replace("<metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>", md)
    }

    #[test]
    fn schema_and_schemaversion() {
        let files = |m: String| vec![("imsmanifest.xml".to_string(), m), ("a.html".to_string(), String::new())];
        let run = |m: String, rule: &str| {
            let f = files(m);
            let refs: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            of_rule(&refs, rule)
        };
        assert!(
            run(
                with_metadata("<metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>"),
                "schema-value"
            )
            .is_empty()
        );
        assert_eq!(
            run(
                with_metadata("<metadata><schema>IMS</schema><schemaversion>1.2</schemaversion></metadata>"),
                "schema-value"
            )
            .len(),
            1
        );
        assert_eq!(run(with_metadata(""), "schemaversion-present").len(), 1);
        assert_eq!(
            run(
                with_metadata("<metadata><schema>ADL SCORM</schema><schemaversion>1.1</schemaversion></metadata>"),
                "schemaversion-value"
            )
            .len(),
            1
        );
        let f = run(
            with_metadata("<metadata><schema>ADL SCORM</schema><schemaversion>CAM 1.3</schemaversion></metadata>"),
            "version-mismatch",
        );
        assert_eq!(f.len(), 1, "1.2 namespaces with a 2004 schemaversion");
    }
}
