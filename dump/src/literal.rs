//! Names and values as the dialect writes them.

use std::fmt::Write as _;

use engine_api::{Date, Error, MICROS_PER_DAY, PropertyValue, Result};

/// A label, edge type, property key or map key: backticked, a backtick inside
/// doubled.
pub(crate) fn name(out: &mut String, n: &str) {
    out.push('`');
    for c in n.chars() {
        if c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out.push('`');
}

/// A float that parses back to the same bits and stays a float: the shortest digits,
/// always with a `.` or an exponent; NaN and the infinities as divisions (Cypher has
/// no literal for them).
pub(crate) fn float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("0.0/0.0");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "1.0/0.0" } else { "-1.0/0.0" });
    } else {
        let a = f.abs();
        // Positional form would spell out hundreds of digits at the extremes.
        if a != 0.0 && !(1e-5..1e16).contains(&a) {
            let _ = write!(out, "{f:e}");
        } else {
            let start = out.len();
            let _ = write!(out, "{f}");
            if !out[start..].contains('.') {
                out.push_str(".0");
            }
        }
    }
}

/// A string in double quotes with the dialect's escapes; other control characters
/// as `\uXXXX`, so no string can end a statement or a line early.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn date_part(out: &mut String, d: Date) {
    let (y, m, day) = d.ymd();
    if (0..=9999).contains(&y) {
        let _ = write!(out, "{y:04}-{m:02}-{day:02}");
    } else {
        let _ = write!(out, "{y:+}-{m:02}-{day:02}");
    }
}

fn time_part(out: &mut String, micros_of_day: i64) {
    let (s, us) = (micros_of_day / 1_000_000, micros_of_day % 1_000_000);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{us:06}",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
}

/// Local date and time of a count of microseconds since the epoch.
fn date_time(out: &mut String, micros: i64) {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let days = i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX });
    date_part(out, Date::from_days_since_epoch(days));
    out.push('T');
    time_part(out, micros.rem_euclid(MICROS_PER_DAY));
}

fn offset(out: &mut String, seconds: i32) {
    let sign = if seconds < 0 { '-' } else { '+' };
    let a = seconds.unsigned_abs();
    let _ = write!(out, "{sign}{:02}:{:02}", a / 3600, a / 60 % 60);
    if !a.is_multiple_of(60) {
        let _ = write!(out, ":{:02}", a % 60);
    }
}

fn duration(out: &mut String, micros: i64) {
    let sign = if micros < 0 { "-" } else { "" };
    let a = micros.unsigned_abs();
    let day = MICROS_PER_DAY.unsigned_abs();
    let (days, rest) = (a / day, a % day);
    let (s, us) = (rest / 1_000_000, rest % 1_000_000);
    let _ = write!(
        out,
        "{sign}P{days}DT{}H{}M{}.{us:06}S",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
}

/// Any property value. Errors: `Unsupported` for a value kind this writer does not
/// know (a newer engine-api), rather than writing something else.
pub(crate) fn value(out: &mut String, v: &PropertyValue) -> Result<()> {
    use PropertyValue as V;
    match v {
        V::Null => out.push_str("null"),
        V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Int(i) => {
            let _ = write!(out, "{i}");
        }
        V::Float(f) => float(out, *f),
        V::String(s) => string(out, s),
        V::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                value(out, item)?;
            }
            out.push(']');
        }
        V::Map(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                name(out, k);
                out.push_str(": ");
                value(out, item)?;
            }
            out.push('}');
        }
        V::Date(d) => {
            out.push_str("DATE(\"");
            date_part(out, *d);
            out.push_str("\")");
        }
        V::LocalTime(t) => {
            out.push_str("LOCALTIME(\"");
            time_part(out, t.micros_since_midnight());
            out.push_str("\")");
        }
        V::LocalDateTime(t) => {
            out.push_str("LOCALDATETIME(\"");
            date_time(out, t.micros_since_epoch());
            out.push_str("\")");
        }
        V::Duration(d) => {
            out.push_str("DURATION(\"");
            duration(out, d.micros());
            out.push_str("\")");
        }
        V::ZonedDateTime(z) => {
            out.push_str("DATETIME(\"");
            let local = z
                .utc_micros()
                .saturating_add(i64::from(z.offset_seconds()) * 1_000_000);
            date_time(out, local);
            offset(out, z.offset_seconds());
            out.push_str("\")");
        }
        V::Point(p) => {
            out.push_str("POINT({x: ");
            float(out, p.x);
            out.push_str(", y: ");
            float(out, p.y);
            if let Some(z) = p.z {
                out.push_str(", z: ");
                float(out, z);
            }
            let _ = write!(out, ", srid: {}}})", p.srid);
        }
        other => {
            return Err(Error::unsupported(&format!(
                "dumping the value {other:?} (a kind this writer does not know)"
            )));
        }
    }
    Ok(())
}

// Reading temporal literals back (the parser's side of the functions above).

pub(crate) fn date_micros(d: Date) -> i64 {
    i64::from(d.days_since_epoch()) * MICROS_PER_DAY
}

pub(crate) fn parse_date(s: &str) -> Option<Date> {
    let (sign, body) = match s.strip_prefix('-') {
        Some(b) => (-1, b),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let mut parts = body.splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    Date::from_ymd(sign * y, m, d)
}

/// `HH:MM[:SS[.ffffff]]` as microseconds since midnight.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let mut parts = s.splitn(3, ':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let (sec, frac) = match parts.next() {
        Some(rest) => match rest.split_once('.') {
            Some((s, f)) => (s.parse::<i64>().ok()?, f),
            None => (rest.parse::<i64>().ok()?, ""),
        },
        None => (0, ""),
    };
    if frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let micros = format!("{frac:0<6}")[..6].parse::<i64>().ok()?;
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1_000_000 + micros)
}

/// `Z`, `+HH:MM` or `+HH:MM:SS` as seconds east of UTC.
pub(crate) fn parse_offset(s: &str) -> Option<i32> {
    if s == "Z" {
        return Some(0);
    }
    let sign = match s.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let mut parts = s[1..].split(':');
    let h: i32 = parts.next()?.parse().ok()?;
    let m: i32 = parts.next().unwrap_or("0").parse().ok()?;
    let sec: i32 = parts.next().unwrap_or("0").parse().ok()?;
    Some(sign * (h * 3600 + m * 60 + sec))
}

/// `[-]P[nD][T[nH][nM][n[.f]S]]` as microseconds (days of 24 hours).
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let body = s.strip_prefix('P')?;
    let (date, time) = body.split_once('T').unwrap_or((body, ""));
    let mut total: i64 = 0;
    let mut take = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == '-' {
                num.push(c);
                continue;
            }
            let unit = units.iter().find(|(u, _)| *u == c)?.1;
            let micros = if let Some((whole, frac)) = num.split_once('.') {
                let w: i64 = whole.parse().ok()?;
                let f = format!("{frac:0<6}")[..6].parse::<i64>().ok()?;
                w.checked_mul(unit)?
                    .checked_add(if w < 0 || whole.starts_with('-') {
                        -f
                    } else {
                        f
                    })?
            } else {
                num.parse::<i64>().ok()?.checked_mul(unit)?
            };
            total = total.checked_add(micros)?;
            num.clear();
        }
        num.is_empty().then_some(())
    };
    take(date, &[('D', MICROS_PER_DAY), ('W', 7 * MICROS_PER_DAY)])?;
    take(
        time,
        &[('H', 3_600_000_000), ('M', 60_000_000), ('S', 1_000_000)],
    )?;
    Some(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_api::{Duration, LocalDateTime, LocalTime, Point, ZonedDateTime};

    fn of(v: &PropertyValue) -> String {
        let mut s = String::new();
        value(&mut s, v).expect("a known value kind");
        s
    }

    #[test]
    fn floats_stay_floats_and_round_trip() {
        for f in [
            3.0,
            -0.0,
            0.1,
            1.0 / 3.0,
            1e300,
            -2.5e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            123456789.125,
            1e15,
            1e16,
        ] {
            let s = of(&PropertyValue::Float(f));
            assert!(s.contains('.') || s.contains('e'), "{s}");
            let back: f64 = s.parse().expect("parses");
            assert_eq!(back.to_bits(), f.to_bits(), "{f} written as {s}");
        }
        assert_eq!(of(&PropertyValue::Float(3.0)), "3.0");
        assert_eq!(of(&PropertyValue::Float(-0.0)), "-0.0");
        assert_eq!(of(&PropertyValue::Float(f64::NAN)), "0.0/0.0");
        assert_eq!(of(&PropertyValue::Float(f64::NEG_INFINITY)), "-1.0/0.0");
        assert_eq!(of(&PropertyValue::Int(3)), "3");
    }

    #[test]
    fn strings_and_names_cannot_end_a_statement() {
        let hostile = "a\"b\\c'd;\n\r\t\u{0}\u{1b}*/`e🦀";
        assert_eq!(
            of(&PropertyValue::from(hostile)),
            "\"a\\\"b\\\\c'd;\\n\\r\\t\\u0000\\u001B*/`e🦀\""
        );
        let mut n = String::new();
        name(&mut n, "a`b");
        assert_eq!(n, "`a``b`");
    }

    #[test]
    fn temporal_values_and_points_use_the_dialect_forms() {
        let date = Date::from_ymd(1994, 12, 7).expect("a date");
        assert_eq!(of(&PropertyValue::Date(date)), "DATE(\"1994-12-07\")");
        let t =
            LocalTime::from_micros_since_midnight(((14 * 60 + 10) * 60 + 44) * 1_000_000 + 99_099)
                .expect("a time");
        assert_eq!(
            of(&PropertyValue::LocalTime(t)),
            "LOCALTIME(\"14:10:44.099099\")"
        );
        let day = i64::from(date.days_since_epoch()) * MICROS_PER_DAY;
        let ldt = LocalDateTime::from_micros_since_epoch(day + t.micros_since_midnight());
        assert_eq!(
            of(&PropertyValue::LocalDateTime(ldt)),
            "LOCALDATETIME(\"1994-12-07T14:10:44.099099\")"
        );
        let d = Duration::from_micros(((3 * 24 + 4) * 3600 + 5 * 60 + 6) * 1_000_000 + 10_011);
        assert_eq!(
            of(&PropertyValue::Duration(d)),
            "DURATION(\"P3DT4H5M6.010011S\")"
        );
        let z = ZonedDateTime::new(
            day + t.micros_since_midnight() + 8 * 3_600_000_000,
            -8 * 3600,
        )
        .expect("a zoned time");
        assert_eq!(
            of(&PropertyValue::ZonedDateTime(z)),
            "DATETIME(\"1994-12-07T14:10:44.099099-08:00\")"
        );
        let p = Point {
            srid: 9757,
            x: 1.0,
            y: 2.0,
            z: Some(3.0),
        };
        assert_eq!(
            of(&PropertyValue::Point(p)),
            "POINT({x: 1.0, y: 2.0, z: 3.0, srid: 9757})"
        );
    }
}
