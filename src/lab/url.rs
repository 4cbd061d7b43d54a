//! The configuration in the page's URL: the settings that differ from the page's defaults as a
//! query string (`?model.qk_norm=true&train.lr=0.01`), so that a teacher can share an exact
//! experiment.

/// `?key=value&...` with keys and values percent-encoded; "" when there is nothing to say.
pub fn encode(settings: &[(String, String)]) -> String {
    if settings.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = settings
        .iter()
        .map(|(key, value)| format!("{}={}", escape(key), escape(value)))
        .collect();
    format!("?{}", pairs.join("&"))
}

/// The pairs of a query string (with or without its `?`), in order; a pair without `=` has an
/// empty value, so that `set` names it in its error.
pub fn decode(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (unescape(key), unescape(value))
        })
        .collect()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Undoes [`escape`] (and reads `+` as a space, as forms write it); a malformed escape stays
/// as it is.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_json_values() {
        let settings = vec![
            ("model.qk_norm".to_string(), "true".to_string()),
            (
                "model.attention".to_string(),
                r#"{"sliding_window":{"window":2}}"#.to_string(),
            ),
            ("note".to_string(), "a b&c=d%é".to_string()),
        ];
        let query = encode(&settings);
        assert!(query.starts_with("?model.qk_norm=true&model.attention=%7B%22"));
        assert_eq!(decode(&query), settings);
        assert_eq!(encode(&[]), "");
        assert!(decode("").is_empty());
    }

    /// Issue 13: `?train.lr=1e30` started a run labelled "lr 0.003 → 1000000000000000000000000000000".
    #[test]
    fn huge_and_tiny_values_read_in_scientific_notation() {
        use crate::lab::{page_defaults, Lab};
        for (key, value, label) in [
            ("train.lr", "1e30", "lr 0.003 → 1e30"),
            ("train.eps", "0.000000000001", "1e-8 → 1e-12"),
        ] {
            let lab = Lab::new(page_defaults(), &[(key.into(), value.into())], None);
            let run = lab.runs.last().expect("a run starts");
            assert!(run.label.ends_with(label), "{key}: {}", run.label);
            let url = lab.url_settings();
            let written = url.iter().find(|(k, _)| k == key).expect("in the URL");
            // The URL reads back to the same value.
            let again = Lab::new(page_defaults(), std::slice::from_ref(written), None);
            assert_eq!(again.draft.get(key), lab.draft.get(key), "{written:?}");
        }
    }

    /// Issue 14: the language rides in the URL (`lang=zh`), so a shared link opens in it.
    #[test]
    fn language_round_trips() {
        use crate::lab::i18n::Lang;
        use crate::lab::{page_defaults, Lab};
        let lang_in = |lab: &Lab| {
            let settings = lab.url_settings();
            let query = encode(&settings);
            let lang = settings.into_iter().find(|(key, _)| key == "lang");
            (lang.map(|(_, value)| value), query)
        };
        let chinese = Lab::new(page_defaults(), &[("lang".into(), "zh".into())], None);
        assert_eq!(chinese.lang(), Lang::Zh);
        assert!(chinese.rejected.is_empty(), "{:?}", chinese.rejected);
        let (lang, query) = lang_in(&chinese);
        assert_eq!(lang.as_deref(), Some("zh"));
        let again = Lab::new(page_defaults(), &decode(&query), None);
        assert_eq!(again.lang(), Lang::Zh);
        assert_eq!(
            again.draft, chinese.draft,
            "the language changes no setting"
        );

        // An English page for an English browser, never switched, stays out of the URL; the
        // switch names the language, a Chinese browser's page names it, and English chosen
        // over it is kept as `lang=en`.
        let mut page = Lab::new(page_defaults(), &[], None);
        assert_eq!(lang_in(&page).0, None);
        let mut switched = Lab::new(page_defaults(), &[], None);
        switched.set_language(Some(Lang::En), Lang::En);
        assert_eq!(
            lang_in(&switched).0.as_deref(),
            Some("en"),
            "the switch names it"
        );
        page.browser_lang = Lang::Zh;
        assert_eq!(
            (page.lang(), lang_in(&page).0.as_deref()),
            (Lang::Zh, Some("zh"))
        );
        page.lang_chosen = Some(Lang::En);
        let (lang, query) = lang_in(&page);
        assert_eq!(lang.as_deref(), Some("en"));
        let mut reopened = Lab::new(page_defaults(), &decode(&query), None);
        reopened.browser_lang = Lang::Zh;
        assert_eq!(reopened.lang(), Lang::En);

        // A language the page lacks is refused by name and the page stays in the browser's.
        let bad = Lab::new(page_defaults(), &[("lang".into(), "fr".into())], None);
        assert_eq!(bad.lang(), Lang::En);
        let error = bad.error_for("lang").expect("refused");
        assert!(error.contains("en or zh"), "{error}");
    }

    #[test]
    fn lenient_decoding() {
        assert_eq!(
            decode("a=1+2&b&c=%zz"),
            vec![
                ("a".to_string(), "1 2".to_string()),
                ("b".to_string(), String::new()),
                ("c".to_string(), "%zz".to_string()),
            ]
        );
    }
}
