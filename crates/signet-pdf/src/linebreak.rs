//! Where a line of text may break: the Unicode line breaking algorithm (UAX #14) with a
//! dictionary for the scripts written without spaces between words (Thai, Lao, Khmer, Burmese),
//! from ICU4X's segmenter.
//!
//! ICU4X 1.5 is the version the workspace already builds (the browser-test client uses it), so
//! this costs no new crate; its compiled data is baked in, nothing is loaded at run time. The
//! strict rules are used: no line starts with closing punctuation, the prolonged sound mark or
//! small kana (Japanese kinsoku), and Korean breaks between syllables as well as at spaces.

use icu_segmenter::{LineBreakOptions, LineBreakStrictness, LineBreakWordOption, LineSegmenter};

/// A piece of a paragraph that is never broken unless it is longer than a line: a word, one
/// Chinese or Japanese character with the punctuation that may not be parted from it, a Thai
/// word, a Korean syllable.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BreakUnit<'a> {
    /// The unit, without the white space after it.
    pub text: &'a str,
    /// Whether white space separated it from the unit before.
    pub space_before: bool,
}

thread_local! {
    // Per thread: ICU4X 1.5's segmenter is not `Sync`. Made from baked data, it is cheap.
    static SEGMENTER: LineSegmenter = {
        let mut options = LineBreakOptions::default();
        options.strictness = LineBreakStrictness::Strict;
        options.word_option = LineBreakWordOption::Normal;
        LineSegmenter::new_dictionary_with_options(options)
    };
}

/// Splits one paragraph (no newlines) into the units between its break opportunities. White
/// space between units is dropped and recorded as [`BreakUnit::space_before`]; white space at
/// the start of the paragraph is dropped.
pub(crate) fn break_units(para: &str) -> Vec<BreakUnit<'_>> {
    let mut units = Vec::new();
    let mut space_before = false;
    let mut start = 0;
    let breaks: Vec<usize> = SEGMENTER.with(|s| s.segment_str(para).collect());
    for end in breaks {
        if end <= start {
            continue;
        }
        let segment = &para[start..end];
        start = end;
        let text = segment.trim_end();
        if !text.is_empty() {
            // White space inside a segment (before its text) also separates it from the unit
            // before: UAX #14 never breaks before a space, only after.
            let lead = text.trim_start();
            let inner_space = lead.len() < text.len();
            units.push(BreakUnit {
                text: lead,
                space_before: (space_before || inner_space) && !units.is_empty(),
            });
        }
        space_before = text.len() < segment.len();
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(para: &str) -> Vec<&str> {
        break_units(para).into_iter().map(|u| u.text).collect()
    }

    #[test]
    fn latin_breaks_at_spaces_and_after_hyphens() {
        let units = break_units("  Hello wide-world  again ");
        assert_eq!(
            units,
            vec![
                BreakUnit {
                    text: "Hello",
                    space_before: false
                },
                BreakUnit {
                    text: "wide-",
                    space_before: true
                },
                BreakUnit {
                    text: "world",
                    space_before: false
                },
                BreakUnit {
                    text: "again",
                    space_before: true
                },
            ]
        );
    }

    #[test]
    fn chinese_and_japanese_break_between_characters_but_not_before_closing_marks() {
        assert_eq!(texts("合同生效。"), vec!["合", "同", "生", "效。"]);
        // Small kana and the prolonged sound mark stay with the character before (strict).
        assert_eq!(texts("チョコレート"), vec!["チョ", "コ", "レー", "ト"]);
        // An opening bracket stays with what follows it.
        assert_eq!(texts("「本」"), vec!["「本」"]);
        assert_eq!(
            texts("「サイン」ください"),
            vec!["「サ", "イ", "ン」", "く", "だ", "さ", "い"]
        );
        // Latin next to CJK: a break between them, none inside the Latin word.
        let units = break_units("PDF文書 v2");
        assert_eq!(
            units.iter().map(|u| u.text).collect::<Vec<_>>(),
            vec!["PDF", "文", "書", "v2"]
        );
        assert!(units[3].space_before && !units[1].space_before);
    }

    #[test]
    fn thai_breaks_between_words() {
        // "Hello, how are you" — no spaces between the words.
        let units = texts("สวัสดีครับคุณสบายดีไหม");
        assert!(units.len() >= 3, "{units:?}");
        assert_eq!(units.concat(), "สวัสดีครับคุณสบายดีไหม");
        assert_eq!(units[0], "สวัสดี");
    }

    #[test]
    fn white_space_opening_a_segment_separates_it_from_the_unit_before() {
        // A break is allowed after a hyphen and before a no-break space (UAX #14 LB12a only
        // glues it to what is not a space, break-after or hyphen): the next segment starts
        // with white space, and the previous one does not end with any.
        let units = break_units("well-\u{a0}known");
        assert_eq!(
            units.iter().map(|u| u.text).collect::<Vec<_>>(),
            vec!["well-", "known"]
        );
        assert!(units[1].space_before && !units[0].space_before);
    }

    #[test]
    fn korean_breaks_between_syllables_and_at_spaces() {
        let units = break_units("계약서 서명");
        assert_eq!(
            units.iter().map(|u| u.text).collect::<Vec<_>>(),
            vec!["계", "약", "서", "서", "명"]
        );
        assert!(units[3].space_before);
        assert!(!units[1].space_before);
    }
}
