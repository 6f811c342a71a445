//! The free-text values of the signing domain (keys, names, titles, labels, reasons): trimmed,
//! bounded, with nothing hidden or control.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::values::{InvalidValue, is_hidden_or_control};

/// Checks free text given by a client: trimmed, `min..=max` characters, nothing hidden or
/// control (a line break allowed where `newlines` says so).
fn checked_text(
    field: &'static str,
    text: &str,
    max: usize,
    newlines: bool,
) -> Result<String, InvalidValue> {
    let text = text.trim();
    let count = text.chars().count();
    if count == 0 || count > max {
        return Err(InvalidValue::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| is_hidden_or_control(c) && !(newlines && c == '\n'))
    {
        return Err(InvalidValue::new(
            field,
            "must not contain control, direction-changing or invisible characters",
        ));
    }
    Ok(text.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $label:literal, $max:literal, $newlines:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(text: &str) -> Result<Self, InvalidValue> {
                checked_text($label, text, $max, $newlines).map(Self)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(text: String) -> Result<Self, InvalidValue> {
                text.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// The key a sender gives a participant to refer to it within one request (in `after` edges
    /// and field assignments): 1 to 64 characters. Dialects fill it from their own handles
    /// (a signer index, a session or task id).
    ParticipantKey,
    "participant key",
    64,
    false
);
text_type!(
    /// A person's name as it will be shown and stamped: 1 to 200 characters.
    PersonName,
    "name",
    200,
    false
);
text_type!(
    /// An envelope's title: 1 to 255 characters.
    Title,
    "title",
    255,
    false
);
text_type!(
    /// What a field asks for, shown as its input's label: 1 to 200 characters.
    Label,
    "label",
    200,
    false
);
text_type!(
    /// Why someone declined or voided: 1 to 1000 characters, line breaks allowed.
    Reason,
    "reason",
    1000,
    true
);
