//! Rules on ADL's extension values: enumerations (`timeLimitAction`, `isvisible`, `masteryscore`, resource `type`…)
//! and the CTS's "smallest permitted maximum" (SPM) lengths, the sizes every LMS must store. Longer values are
//! legal XML but an LMS may truncate them, hence warnings.

use super::{Context, Rule, Sink};
use crate::finding::Severity;
use crate::manifest::{Item, Loc};

const TIME_LIMIT_ACTIONS: [&str; 4] = ["exit,message", "exit,no message", "continue,message", "continue,no message"];

fn is_decimal_in(v: &str, lo: f64, hi: f64) -> bool {
    v.parse::<f64>().is_ok_and(|x| x.is_finite() && (lo..=hi).contains(&x))
}

/// SCORM 1.2 CMITimespan: `HHHH:MM:SS` with optional `.S` or `.SS`.
fn is_cmi_timespan(v: &str) -> bool {
    let mut parts = v.split(':');
    let (Some(h), Some(m), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |x: &str, lo: usize, hi: usize| (lo..=hi).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit());
    let (sec, frac) = s.split_once('.').unwrap_or((s, "0"));
    digits(h, 2, 4) && digits(m, 2, 2) && digits(sec, 2, 2) && digits(frac, 1, 2)
}

fn check_item(ctx: &Context<'_>, item: &Item, sink: &mut Sink<'_>) {
    let v2004 = ctx.is_2004();
    if let Some(v) = item.isvisible.as_deref() {
        if v != "true" && v != "false" {
            sink.at(&item.loc, format!("isvisible {v:?} is neither \"true\" nor \"false\""), None);
        }
    }
    for a in &item.adlcp {
        let lower = a.name.to_ascii_lowercase();
        let bad =
            |sink: &mut Sink<'_>, what: String| sink.at(&a.loc, format!("adlcp:{} {:?} {what}", a.name, a.value), None);
        match lower.as_str() {
            "timelimitaction" if !TIME_LIMIT_ACTIONS.contains(&a.value.as_str()) => {
                bad(sink, format!("is not one of {}", TIME_LIMIT_ACTIONS.join(" | ")))
            }
            "masteryscore" if !is_decimal_in(&a.value, 0.0, 100.0) => bad(sink, "is not a number from 0 to 100".into()),
            "maxtimeallowed" if !v2004 && !is_cmi_timespan(&a.value) => {
                bad(sink, "is not a CMITimespan (HHHH:MM:SS.SS)".into())
            }
            "completionthreshold" => {
                if !a.value.is_empty() && !is_decimal_in(&a.value, 0.0, 1.0) {
                    bad(sink, "is not a number from 0 to 1".into());
                }
                for (k, v) in &a.attrs {
                    let ok = match k.as_str() {
                        "minProgressMeasure" | "progressWeight" => is_decimal_in(v, 0.0, 1.0),
                        "completedByMeasure" => v == "true" || v == "false",
                        _ => true,
                    };
                    if !ok {
                        sink.at(&a.loc, format!("adlcp:completionThreshold {k}={v:?} is out of range"), None);
                    }
                }
            }
            "prerequisites" => {
                if let Some((_, t)) = a.attrs.iter().find(|(k, _)| k == "type") {
                    if t != "aicc_script" {
                        sink.at(&a.loc, format!("adlcp:prerequisites type {t:?} is not \"aicc_script\""), None);
                    }
                }
            }
            _ => {}
        }
        let expected = match lower.as_str() {
            "datafromlms" => Some(if v2004 { "dataFromLMS" } else { "datafromlms" }),
            "timelimitaction" => Some(if v2004 { "timeLimitAction" } else { "timelimitaction" }),
            "maxtimeallowed" if !v2004 => Some("maxtimeallowed"),
            "masteryscore" if !v2004 => Some("masteryscore"),
            _ => None,
        };
        if let Some(expected) = expected.filter(|e| *e != a.name) {
            sink.at(
                &a.loc,
                format!("adlcp:{} is spelled adlcp:{expected} in this SCORM version; LMSs may ignore it", a.name),
                None,
            );
        }
    }
}

/// adlcp enumerations and value formats.
pub static ADLCP_ENUMERATION: Rule = Rule {
    id: "adlcp-enumeration",
    severity: Severity::Warning,
    summary: "adlcp and item values use the defined vocabularies and formats (timeLimitAction, isvisible, masteryscore, maxtimeallowed, completionThreshold, resource type)",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        for item in m.all_items() {
            check_item(ctx, item, sink);
        }
        for (_, r) in m.all_resources() {
            match r.kind.as_deref() {
                Some("webcontent") => {}
                Some(t) => sink.at(&r.loc, format!("resource type {t:?} is not \"webcontent\""), None),
                None => sink.at_with(
                    Severity::Error,
                    &r.loc,
                    "resource has no type attribute (it is required)",
                    Some("add type=\"webcontent\"".into()),
                ),
            }
        }
    },
};

/// The CTS's smallest permitted maximum lengths.
pub static SPM_LENGTH: Rule = Rule {
    id: "spm-length",
    severity: Severity::Warning,
    summary: "values fit the smallest permitted maximum (SPM) every LMS must store: titles 200, identifiers 4000 (1.2: 255), href 4000, parameters 1000, dataFromLMS 4000 (1.2: 4096)",
    compat: None,
    check: |ctx, sink| {
        let Some(m) = ctx.manifest else { return };
        let v2004 = ctx.is_2004();
        let mut long = |what: &str, value: &str, max: usize, loc: &Loc| {
            let n = value.chars().count();
            if n > max {
                sink.at(loc, format!("{what} is {n} characters; LMSs need only keep {max}"), Some("shorten it".into()));
            }
        };
        let id_max = if v2004 { 4000 } else { 255 };
        for o in &m.organizations.list {
            if let Some(t) = &o.title {
                long("organization title", &t.value, 200, &t.loc);
            }
        }
        for i in m.all_items() {
            if let Some(t) = &i.title {
                long("item title", &t.value, 200, &t.loc);
            }
            long("item identifier", i.identifier.as_deref().unwrap_or_default(), id_max, &i.loc);
            long("item parameters", i.parameters.as_deref().unwrap_or_default(), 1000, &i.loc);
            for a in i.adlcp.iter().filter(|a| a.name.eq_ignore_ascii_case("datafromlms")) {
                long("adlcp:dataFromLMS", &a.value, if v2004 { 4000 } else { 4096 }, &a.loc);
            }
        }
        for (_, r) in m.all_resources() {
            long("resource href", r.href.as_deref().unwrap_or_default(), 4000, &r.loc);
            long("resource identifier", r.identifier.as_deref().unwrap_or_default(), id_max, &r.loc);
        }
    },
};

#[cfg(test)]
mod tests {
    use super::is_cmi_timespan;
    use crate::rules::testing::*;

    const RES: &str = r#"<resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="a.html"><file href="a.html"/></resource>"#;

    fn item(inner: &str) -> String {
        format!(
            r#"<organization identifier="o"><title>T</title><item identifier="i" identifierref="r"><title>I</title>{inner}</item></organization>"#
        )
    }

    #[test]
    fn enumerations() {
        let run = |inner: &str| {
            of_rule(&[("imsmanifest.xml", &scorm12(&item(inner), RES)), ("a.html", "")], "adlcp-enumeration")
        };
        assert!(
            run(
                "<adlcp:timelimitaction>exit,message</adlcp:timelimitaction><adlcp:masteryscore>80</adlcp:masteryscore>"
            )
            .is_empty()
        );
        assert_eq!(run("<adlcp:timelimitaction>stop</adlcp:timelimitaction>").len(), 1);
        assert_eq!(run("<adlcp:masteryscore>180</adlcp:masteryscore>").len(), 1);
        assert_eq!(run("<adlcp:maxtimeallowed>1 hour</adlcp:maxtimeallowed>").len(), 1);
        assert_eq!(run("<adlcp:dataFromLMS>x</adlcp:dataFromLMS>").len(), 1, "2004 spelling in 1.2");
        assert!(is_cmi_timespan("0002:30:00") && is_cmi_timespan("02:30:00.5") && !is_cmi_timespan("2:30"));
    }

    #[test]
    fn spm_lengths() {
        let long_title = "x".repeat(201);
        let orgs = item("").replace("<title>I</title>", &format!("<title>{long_title}</title>"));
        let f = of_rule(&[("imsmanifest.xml", &scorm12(&orgs, RES)), ("a.html", "")], "spm-length");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, crate::Severity::Warning);
    }
}
