//! Dates and times of day for purchases: which days are busy (growth over the years,
//! seasonal sales, weekends) and when in the day people shop, in Korean time.

use rand::Rng;
use tamsa_model::Day;

use crate::rng::PartRng;

/// Days of purchase history, ending on the last day and including it (three years).
pub(crate) const HISTORY_DAYS: i32 = 3 * 365 + 1;

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// Korea is nine hours ahead of UTC all year.
const KST_OFFSET_HOURS: i64 = 9;

/// Shopping hours (Korean time) for online orders: late mornings, lunch, and evenings.
const ONLINE_HOURS: [(i64, f64); 15] = [
    (9, 3.0),
    (10, 4.0),
    (11, 5.0),
    (12, 6.0),
    (13, 6.0),
    (14, 5.0),
    (15, 5.0),
    (16, 5.0),
    (17, 5.0),
    (18, 6.0),
    (19, 7.0),
    (20, 9.0),
    (21, 10.0),
    (22, 9.0),
    (23, 6.0),
];
/// Shopping hours (Korean time) in stores, which open 10:00 to 22:00.
const STORE_HOURS: [(i64, f64); 12] = [
    (10, 3.0),
    (11, 5.0),
    (12, 7.0),
    (13, 8.0),
    (14, 9.0),
    (15, 9.0),
    (16, 9.0),
    (17, 9.0),
    (18, 9.0),
    (19, 8.0),
    (20, 6.0),
    (21, 4.0),
];

/// Month (1-12) of a day, from the proleptic Gregorian calendar.
pub(crate) fn month_of(day: Day) -> u32 {
    // Days to civil date, after H. Hinnant's algorithm.
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    (if mp < 10 { mp + 3 } else { mp - 9 }) as u32
}

/// Relative busyness of a day: sales grow over the years, peak in the November and
/// December sales and around Family Month in May, and weekends are busier.
fn day_weight(day: Day, first: Day) -> f64 {
    let growth = 1.0 + 0.35 * f64::from(day - first) / f64::from(HISTORY_DAYS);
    let season = match month_of(day) {
        1 | 2 => 0.9,
        5 => 1.1,
        7 | 8 => 0.95,
        11 => 1.3,
        12 => 1.2,
        _ => 1.0,
    };
    // 1970-01-01 was a Thursday; 1 = Friday, 2 = Saturday, 3 = Sunday.
    let weekend = match (day - 1).rem_euclid(7) {
        0..=2 => 1.15,
        _ => 0.95,
    };
    growth * season * weekend
}

/// The purchase calendar of one history: cumulative day weights for drawing days.
pub(crate) struct Calendar {
    first: Day,
    last: Day,
    /// `cumulative[i]` is the weight of all days before `first + i`.
    cumulative: Vec<f64>,
    online_hours: Vec<f64>,
    store_hours: Vec<f64>,
}

fn cumulative_hours(hours: &[(i64, f64)]) -> Vec<f64> {
    let mut total = 0.0;
    hours
        .iter()
        .map(|&(_, w)| {
            total += w;
            total
        })
        .collect()
}

impl Calendar {
    /// The calendar of the history that ends on `last`.
    pub(crate) fn new(last: Day) -> Self {
        let first = last - (HISTORY_DAYS - 1);
        let mut cumulative = Vec::with_capacity(HISTORY_DAYS as usize + 1);
        let mut total = 0.0;
        cumulative.push(total);
        for day in first..=last {
            total += day_weight(day, first);
            cumulative.push(total);
        }
        Self {
            first,
            last,
            cumulative,
            online_hours: cumulative_hours(&ONLINE_HOURS),
            store_hours: cumulative_hours(&STORE_HOURS),
        }
    }

    /// First day of the history.
    pub(crate) fn first(&self) -> Day {
        self.first
    }

    /// Last day of the history.
    pub(crate) fn last(&self) -> Day {
        self.last
    }

    /// Draws a day in `from..=to` (both inside the history) weighted by busyness.
    pub(crate) fn day_between(&self, rng: &mut PartRng, from: Day, to: Day) -> Day {
        let lo = (from - self.first) as usize;
        let hi = (to - self.first) as usize + 1;
        let (a, b) = (self.cumulative[lo], self.cumulative[hi]);
        let u = a + rng.random::<f64>() * (b - a);
        let i = self.cumulative[lo..=hi].partition_point(|&c| c <= u);
        let offset = i.saturating_sub(1).min(hi - lo - 1);
        from + offset as i32
    }

    /// Draws a moment on `day` (whole seconds, microseconds since the epoch, UTC) at which
    /// an order is placed online or in a store. The hours are Korean shopping hours, which
    /// all fall on the same UTC date.
    pub(crate) fn moment(&self, rng: &mut PartRng, day: Day, online: bool) -> i64 {
        let (hours, table): (&[(i64, f64)], &[f64]) =
            if online { (&ONLINE_HOURS, &self.online_hours) } else { (&STORE_HOURS, &self.store_hours) };
        let total = table[table.len() - 1];
        let u = rng.random::<f64>() * total;
        let i = table.partition_point(|&c| c <= u).min(table.len() - 1);
        let hour_utc = hours[i].0 - KST_OFFSET_HOURS;
        let second = rng.random_range(0..3_600);
        (i64::from(day) * SECONDS_PER_DAY + hour_utc * 3_600 + second) * MICROS_PER_SECOND
    }
}

/// The UTC day of a timestamp in microseconds.
#[cfg(test)]
pub(crate) fn day_of_micros(micros: i64) -> Day {
    micros.div_euclid(SECONDS_PER_DAY * MICROS_PER_SECOND) as Day
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use tamsa_model::parse_day;

    #[test]
    fn months_match_the_calendar() {
        assert_eq!(month_of(0), 1);
        assert_eq!(month_of(parse_day("2024-02-29").unwrap()), 2);
        assert_eq!(month_of(parse_day("2026-10-31").unwrap()), 10);
        assert_eq!(month_of(parse_day("2026-11-01").unwrap()), 11);
        assert_eq!(month_of(parse_day("1969-12-31").unwrap()), 12);
    }

    #[test]
    fn days_and_moments_stay_in_range() {
        let last = parse_day("2026-10-31").unwrap();
        let calendar = Calendar::new(last);
        let mut rng = PartRng::new(3, Stream::Purchases, 0);
        for _ in 0..10_000 {
            let from = calendar.first() + rng.random_range(0..HISTORY_DAYS);
            let to = rng.random_range(from..=last);
            let day = calendar.day_between(&mut rng, from, to);
            assert!((from..=to).contains(&day));
            let online = rng.random::<bool>();
            let at = calendar.moment(&mut rng, day, online);
            assert_eq!(day_of_micros(at), day);
        }
        assert_eq!(calendar.day_between(&mut rng, last, last), last);
    }
}
