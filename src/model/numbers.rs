//! How the project writes numbers for people: counts in decimal units ("209.6 k"), bytes in
//! binary units ("2.00 KiB"), and decimals with no more digits than tell values apart (axis
//! ticks). The page, the command line's reports and the charts all use these, so a number
//! reads the same everywhere.

/// A count in decimal units with one decimal, two below 10: "6.74 B", "124.4 M", "209.6 k",
/// "1.54 k"; below a thousand a whole number ("65"). Negative counts keep their sign, and what
/// is not a number says so.
pub fn count(n: f64) -> String {
    if !n.is_finite() {
        return not_a_number(n);
    }
    if n < 0.0 {
        return format!("-{}", count(-n));
    }
    const UNITS: [(f64, &str); 5] = [
        (1.0, ""),
        (1e3, " k"),
        (1e6, " M"),
        (1e9, " B"),
        (1e12, " T"),
    ];
    let written = |(scale, unit): (f64, &str)| {
        let value = n / scale;
        match (scale, value) {
            (1.0, _) => format!("{value:.0}"),
            (_, v) if v >= 9.995 => format!("{value:.1}{unit}"),
            _ => format!("{value:.2}{unit}"),
        }
    };
    // The largest unit the count reaches; the next one up where rounding reaches a thousand
    // (999.95 reads "1.00 k", not "1000").
    let at = UNITS
        .iter()
        .rposition(|&(scale, _)| n >= scale)
        .unwrap_or(0);
    let text = written(UNITS[at]);
    let digits: String = text.chars().take_while(|c| *c != ' ').collect();
    match UNITS.get(at + 1) {
        Some(&next) if digits.parse::<f64>().is_ok_and(|v| v >= 1000.0) => written(next),
        _ => text,
    }
}

/// Bytes in binary units, three significant digits: "960 GiB", "1.50 MiB", "12 B".
pub fn bytes(n: f64) -> String {
    if !n.is_finite() {
        return not_a_number(n);
    }
    if n < 0.0 {
        return format!("-{}", bytes(-n));
    }
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = n;
    let mut unit = 0;
    // Values this large are written whole: move up once the written value would reach 1024
    // (no "1024 KiB").
    while value.round() >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{value:.0} B"),
        _ if value >= 99.95 => format!("{value:.0} {}", UNITS[unit]),
        _ if value >= 9.995 => format!("{value:.1} {}", UNITS[unit]),
        _ => format!("{value:.2} {}", UNITS[unit]),
    }
}

/// `value` with `decimals` digits after the point, never "-0.00".
pub fn fixed(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return not_a_number(value);
    }
    let text = format!("{value:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => text,
    }
}

/// The fewest decimals (at most 8) that write every one of `ticks` differently, so that an
/// axis never shows "0.003, 0.003, 0.002".
pub fn tick_decimals(ticks: &[f64]) -> usize {
    (0..=8)
        .find(|&decimals| {
            let mut labels: Vec<String> = ticks.iter().map(|&t| fixed(t, decimals)).collect();
            labels.sort();
            labels.dedup();
            labels.len() == ticks.len()
        })
        .unwrap_or(8)
}

fn not_a_number(n: f64) -> String {
    match n {
        n if n.is_nan() => "not a number".into(),
        n if n > 0.0 => "∞".into(),
        _ => "-∞".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_in_decimal_units() {
        assert_eq!(count(6_738_415_616.0), "6.74 B");
        assert_eq!(count(124_439_808.0), "124.4 M");
        assert_eq!(count(540_350_000_000.0), "540.4 B");
        assert_eq!(count(209_600.0), "209.6 k");
        assert_eq!(count(1_330_000.0), "1.33 M");
        assert_eq!(count(12_345.0), "12.3 k");
        assert_eq!(count(1_536.0), "1.54 k");
        assert_eq!(count(162.43), "162");
        assert_eq!(count(65.0), "65");
    }

    #[test]
    fn counts_at_the_edges() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(999.4), "999");
        assert_eq!(count(999.95), "1.00 k", "rounds up into the next unit");
        assert_eq!(count(999_950.0), "1.00 M");
        assert_eq!(count(9_999.0), "10.0 k");
        assert_eq!(count(1e-7), "0");
        assert_eq!(count(-12_345.0), "-12.3 k");
        assert_eq!(count(f64::NAN), "not a number");
        assert_eq!(count(f64::INFINITY), "∞");
    }

    #[test]
    fn bytes_read_in_binary_units() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(12.0), "12 B");
        assert_eq!(bytes(1_536.0), "1.50 KiB");
        assert_eq!(bytes(2_048.0), "2.00 KiB");
        assert_eq!(bytes(1.5 * 1024.0 * 1024.0), "1.50 MiB");
        assert_eq!(bytes(960.0 * 1024f64.powi(3)), "960 GiB");
        assert_eq!(bytes(1023.9 * 1024.0), "1.00 MiB", "no 1024 KiB");
        assert_eq!(bytes(-2_048.0), "-2.00 KiB");
        assert_eq!(bytes(f64::NAN), "not a number");
    }

    #[test]
    fn fixed_never_writes_minus_zero() {
        assert_eq!(fixed(-0.0001, 3), "0.000");
        assert_eq!(fixed(-0.0, 0), "0");
        assert_eq!(fixed(-0.25, 2), "-0.25");
        assert_eq!(fixed(1800.0, 0), "1800");
        assert_eq!(fixed(f64::NAN, 2), "not a number");
    }

    #[test]
    fn ticks_get_just_enough_decimals_to_differ() {
        assert_eq!(tick_decimals(&[0.0, 20.0, 40.0]), 0);
        assert_eq!(tick_decimals(&[1800.0, 1900.0]), 0);
        assert_eq!(tick_decimals(&[2.0, 2.5, 3.0]), 1);
        // A learning-rate axis: three decimals repeat labels, four tell them apart.
        let lr = [0.0020, 0.0022, 0.0024, 0.0026, 0.0028, 0.0030];
        assert_eq!(tick_decimals(&lr), 4);
        assert_eq!(tick_decimals(&[-0.0001, 0.0, 0.0001]), 4);
    }
}
