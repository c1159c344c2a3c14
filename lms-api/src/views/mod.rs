//! The JSON the API sends, apart from the handlers: Canvas's shapes for the resources Canvas has (with our
//! additions as extra fields), our own for the rest. Times are ISO 8601 in UTC, as Canvas writes them.

pub mod courses;
pub mod jobs;
pub mod media;
pub mod modules;
pub mod users;

use time::OffsetDateTime;
use time::macros::format_description;

/// `2026-12-01T04:55:00Z` for Unix milliseconds; `None` outside the years 1–9999.
pub fn iso_time(ms: i64) -> Option<String> {
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
    time.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")).ok()
}

/// Reads a time a client sent: RFC 3339 (`2027-01-31T23:59:00Z`, `…+02:00`), a time with no zone (taken as
/// UTC, as `canvasapi` sends naive datetimes), or a bare date (its midnight, UTC). Unix milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::{Date, PrimitiveDateTime};
    let text = text.trim();
    let time = OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .or_else(|| {
            PrimitiveDateTime::parse(text, format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"))
                .ok()
                .or_else(|| {
                    PrimitiveDateTime::parse(
                        text,
                        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
                    )
                    .ok()
                })
                .map(PrimitiveDateTime::assume_utc)
        })
        .or_else(|| {
            Date::parse(text, format_description!("[year]-[month]-[day]")).ok().map(|date| date.midnight().assume_utc())
        })?;
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).ok()
}

/// HTML a user wrote, with everything that could run or reach out removed (scripts, event handlers,
/// `javascript:` links, styles, frames), by ammonia's allowlist: what is shown to learners is safe.
pub fn sanitize_html(html: &str) -> String {
    ammonia::clean(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        assert_eq!(iso_time(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(parse_time("2027-01-31T23:59:00Z"), Some(1_801_439_940_000));
        assert_eq!(parse_time("2027-01-31T23:59:00"), Some(1_801_439_940_000));
        assert_eq!(parse_time("2027-02-01T01:59:00+02:00"), Some(1_801_439_940_000));
        assert_eq!(parse_time("2027-01-31T23:59:00.250"), Some(1_801_439_940_250));
        assert_eq!(parse_time("2027-01-31"), Some(1_801_353_600_000));
        assert_eq!(parse_time("next tuesday"), None);
        assert_eq!(iso_time(i64::MAX), None);
    }
}
