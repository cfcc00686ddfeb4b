//! Calendar days as integers (days since 1970-01-01, UTC) and the arithmetic on them.

use chrono::{Datelike, NaiveDate};

/// A calendar day: the number of days since 1970-01-01 (negative before it).
pub type Day = i32;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a valid date")
}

fn to_date(day: Day) -> NaiveDate {
    epoch() + chrono::Duration::days(i64::from(day))
}

/// Parses `YYYY-MM-DD` into a [`Day`].
pub fn parse_day(text: &str) -> Option<Day> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    Day::try_from((date - epoch()).num_days()).ok()
}

/// Formats a [`Day`] as `YYYY-MM-DD`.
pub fn format_day(day: Day) -> String {
    to_date(day).format("%Y-%m-%d").to_string()
}

/// Completed years from `birth` to `on`; `None` when `birth` is after `on`.
///
/// A birthday on 29 February is completed on 1 March in years that have no 29 February.
pub fn age_in_years(birth: Day, on: Day) -> Option<i64> {
    if birth > on {
        return None;
    }
    let (b, d) = (to_date(birth), to_date(on));
    let mut years = i64::from(d.year() - b.year());
    if (d.month(), d.day()) < (b.month(), b.day()) {
        years -= 1;
    }
    Some(years)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        parse_day(text).unwrap()
    }

    #[test]
    fn days_round_trip() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("1969-12-31"), Some(-1));
        assert_eq!(format_day(day("2024-02-29")), "2024-02-29");
        assert_eq!(parse_day("2024-02-30"), None);
        assert_eq!(parse_day("yesterday"), None);
    }

    #[test]
    fn age_counts_completed_years() {
        let check = |birth: &str, on: &str, expect: Option<i64>| {
            assert_eq!(age_in_years(day(birth), day(on)), expect, "{birth} on {on}")
        };
        check("1990-05-10", "2020-05-09", Some(29));
        check("1990-05-10", "2020-05-10", Some(30));
        check("2000-02-29", "2021-02-28", Some(20));
        check("2000-02-29", "2021-03-01", Some(21));
        check("2020-01-01", "2020-01-01", Some(0));
        check("2020-01-02", "2020-01-01", None);
    }
}
