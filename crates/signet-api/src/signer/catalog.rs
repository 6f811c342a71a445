//! The signer app's words: one TOML catalog per language under `i18n/signer/`, embedded in the
//! binary. English is the reference and is complete (a test checks that French is too); any
//! other language may be partial, and a key it lacks is taken from English, key by key.
//!
//! Values may name placeholders as `{name}`, filled by [`Texts::fill`]. The catalogs are parsed
//! once per process.

use std::collections::HashMap;
use std::sync::OnceLock;

use signet_core::values::Language;

/// The embedded catalog of each language, as TOML text.
fn source(language: Language) -> &'static str {
    match language {
        Language::Fr => include_str!("../../i18n/signer/fr.toml"),
        Language::Da => include_str!("../../i18n/signer/da.toml"),
        Language::De => include_str!("../../i18n/signer/de.toml"),
        Language::Fi => include_str!("../../i18n/signer/fi.toml"),
        Language::Nb => include_str!("../../i18n/signer/nb.toml"),
        Language::Nn => include_str!("../../i18n/signer/nn.toml"),
        Language::Sv => include_str!("../../i18n/signer/sv.toml"),
        _ => include_str!("../../i18n/signer/en.toml"),
    }
}

/// A catalog's keys and values, or why it does not parse.
fn parse(text: &str) -> Result<HashMap<String, String>, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    table
        .into_iter()
        .map(|(key, value)| match value {
            toml::Value::String(text) => Ok((key, text)),
            other => Err(format!("{key} is a {}, not a string", other.type_str())),
        })
        .collect()
}

/// The words of one language, falling back to English.
#[derive(Debug)]
pub(crate) struct Texts {
    language: Language,
    own: HashMap<String, String>,
    english: &'static HashMap<String, String>,
}

fn english() -> &'static HashMap<String, String> {
    static EN: OnceLock<HashMap<String, String>> = OnceLock::new();
    // A broken embedded catalog is a build defect that `every_catalog_parses` catches; at run
    // time it shows keys instead of words rather than failing every page.
    EN.get_or_init(|| parse(source(Language::En)).unwrap_or_default())
}

/// The texts of a language (English for one without a catalog).
pub(crate) fn texts(language: Language) -> &'static Texts {
    static ALL: OnceLock<Vec<Texts>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        Language::ALL
            .iter()
            .map(|&language| Texts {
                language,
                own: if language == Language::En {
                    HashMap::new()
                } else {
                    parse(source(language)).unwrap_or_default()
                },
                english: english(),
            })
            .collect()
    });
    all.iter()
        .find(|t| t.language == language)
        .or_else(|| all.first())
        .unwrap_or_else(|| unreachable!("Language::ALL is not empty"))
}

impl Texts {
    /// The language's code, for `<html lang>`: that of the catalog the page mostly comes from.
    pub(crate) fn code(&self) -> &'static str {
        self.language.code()
    }

    /// The text of `key`: the language's own, else English's, else the key itself (a missing
    /// English key is caught by the tests).
    pub(crate) fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.own
            .get(key)
            .or_else(|| self.english.get(key))
            .map_or(key, String::as_str)
    }

    /// The text of `key` with each `{name}` replaced by its value.
    pub(crate) fn fill(&self, key: &str, values: &[(&str, &str)]) -> String {
        let mut text = self.get(key).to_owned();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

/// The language a browser prefers among those the app speaks (English by default), for pages
/// shown before an envelope is known.
pub(crate) fn preferred_language(accept_language: Option<&str>) -> Language {
    accept_language
        .unwrap_or_default()
        .split(',')
        .filter_map(|range| range.split(';').next())
        .find_map(|tag| tag.trim().parse::<Language>().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_parses_and_names_only_english_keys() {
        let english = parse(source(Language::En)).expect("en.toml parses");
        assert!(english.len() > 50, "{} keys", english.len());
        for language in Language::ALL {
            let catalog =
                parse(source(language)).unwrap_or_else(|e| panic!("{}.toml: {e}", language.code()));
            for key in catalog.keys() {
                assert!(
                    english.contains_key(key),
                    "{}.toml has {key}, which English lacks",
                    language.code()
                );
            }
        }
    }

    #[test]
    fn english_and_french_are_complete() {
        let english = parse(source(Language::En)).expect("en.toml parses");
        let french = parse(source(Language::Fr)).expect("fr.toml parses");
        let missing: Vec<&String> = english
            .keys()
            .filter(|k| !french.contains_key(*k))
            .collect();
        assert!(missing.is_empty(), "fr.toml lacks {missing:?}");
        for (key, text) in &french {
            // The same placeholders on both sides.
            let names = |t: &str| {
                let mut names: Vec<String> = t
                    .split('{')
                    .skip(1)
                    .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_owned()))
                    .collect();
                names.sort();
                names
            };
            assert_eq!(names(text), names(&english[key]), "{key}");
        }
    }

    #[test]
    fn partial_catalogs_fall_back_to_english_key_by_key() {
        let german = texts(Language::De);
        assert_eq!(german.get("sign"), "Unterschreiben");
        assert_eq!(
            german.get("no_consent"),
            texts(Language::En).get("no_consent")
        );
        assert_eq!(german.code(), "de");
        assert_eq!(
            texts(Language::Fr).fill("page_of", &[("page", "2"), ("pages", "3")]),
            "Page 2 sur 3"
        );
    }

    #[test]
    fn browsers_get_the_first_language_spoken_here() {
        assert_eq!(preferred_language(Some("xx, sv;q=0.9, en")), Language::Sv);
        assert_eq!(preferred_language(Some("fr-CA,fr;q=0.9")), Language::Fr);
        assert_eq!(preferred_language(None), Language::En);
    }
}
