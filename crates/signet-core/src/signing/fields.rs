//! Fields: boxes placed on a page of a document for one participant to fill — where they are
//! (fractions of the page as displayed, origin top-left, after the page's rotation), what they
//! hold, and which values each kind accepts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::ids::{DocumentId, ParticipantId};
use crate::values::{InvalidValue, Sha256Digest, is_hidden_or_control};

/// A field of an envelope: 16 random bytes, shown as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId([u8; 16]);

impl FieldId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(rand::random())
    }
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field:{}", hex::encode(self.0))
    }
}

impl FromStr for FieldId {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let bytes = hex::decode(text).map_err(|_| InvalidValue::new("field", "not a valid id"))?;
        let bytes = bytes
            .try_into()
            .map_err(|_| InvalidValue::new("field", "not a valid id"))?;
        Ok(Self(bytes))
    }
}

impl Serialize for FieldId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for FieldId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A box on a page, in fractions of the page as displayed: `x`, `y` of its top-left corner from
/// the page's left and top edges, `width` and `height`. Built only through [`Rect::new`], so a
/// rectangle always lies inside its page.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRect", into = "RawRect")]
pub struct Rect {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
}

#[derive(Serialize, Deserialize)]
struct RawRect {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
}

impl TryFrom<RawRect> for Rect {
    type Error = FieldError;
    fn try_from(raw: RawRect) -> Result<Self, FieldError> {
        Rect::new(raw.x, raw.y, raw.width, raw.height)
    }
}

impl From<Rect> for RawRect {
    fn from(rect: Rect) -> RawRect {
        RawRect {
            x: rect.x,
            y: rect.y,
            width: rect.width,
            height: rect.height,
        }
    }
}

/// How far a box may overhang the page edge through rounding alone: senders compute `x + width`
/// in decimal, and 0.7 + 0.3 is not exactly 1 in binary.
const EDGE_TOLERANCE: f64 = 1e-9;

impl Rect {
    /// A box with its corner at (`x`, `y`) of the page, `width` × `height` of it. The corner
    /// lies in `[0, 1)`, the sizes in `(0, 1]`, and the box does not leave the page.
    pub fn new(x: f64, y: f64, width: f64, height: f64) -> Result<Self, FieldError> {
        let corner = |name, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(FieldError::Coordinate { name, value: v })
            }
        };
        let size = |name, v: f64| {
            if v > 0.0 && v <= 1.0 {
                Ok(())
            } else {
                Err(FieldError::Coordinate { name, value: v })
            }
        };
        corner("x", x)?;
        corner("y", y)?;
        size("width", width)?;
        size("height", height)?;
        if x + width > 1.0 + EDGE_TOLERANCE {
            return Err(FieldError::LeavesPage { edge: "right" });
        }
        if y + height > 1.0 + EDGE_TOLERANCE {
            return Err(FieldError::LeavesPage { edge: "bottom" });
        }
        Ok(Self {
            x,
            y,
            width,
            height,
        })
    }

    /// Distance of the left edge from the page's left edge.
    pub fn x(&self) -> f64 {
        self.x
    }
    /// Distance of the top edge from the page's top edge.
    pub fn y(&self) -> f64 {
        self.y
    }
    /// Width.
    pub fn width(&self) -> f64 {
        self.width
    }
    /// Height.
    pub fn height(&self) -> f64 {
        self.height
    }
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldKind {
    /// The participant's signature: typed, drawn or uploaded.
    Signature,
    /// Their initials: typed, drawn or uploaded.
    Initials,
    /// Their name, typed.
    Name,
    /// A date they choose.
    Date,
    /// The date they sign, filled by Signet (never by the participant).
    SigningDate,
    /// Free text.
    Text,
    /// A box they tick; a required one must be ticked.
    Checkbox,
    /// An image they upload (a company stamp).
    Image,
}

impl FieldKind {
    /// The word used in messages and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Signature => "signature",
            FieldKind::Initials => "initials",
            FieldKind::Name => "name",
            FieldKind::Date => "date",
            FieldKind::SigningDate => "signing_date",
            FieldKind::Text => "text",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Image => "image",
        }
    }
}

/// An image stored as a blob and named by its digest (drawn or uploaded marks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// SHA-256 of the stored image.
    pub sha256: Sha256Digest,
    /// `image/png` or `image/jpeg`.
    pub media_type: ImageType,
}

/// The image formats the stamper draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ImageType {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
}

/// A signature or initials: the participant's name typed (drawn in a script font) or an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mark", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Mark {
    /// Typed text.
    Typed {
        /// What they typed.
        text: String,
    },
    /// Drawn with a mouse, finger or pen.
    Drawn {
        /// The drawing.
        image: ImageRef,
    },
    /// An image file they uploaded.
    Uploaded {
        /// The image.
        image: ImageRef,
    },
}

/// A field's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldValue {
    /// Text (names, free text).
    Text(String),
    /// A calendar date.
    Date(Date),
    /// Ticked or not.
    Checkbox(bool),
    /// A signature, initials or image.
    Mark(Mark),
}

/// Longest text a field takes, in characters.
pub const MAX_FIELD_TEXT: usize = 1000;

/// A field on a page for one participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Its id.
    pub id: FieldId,
    /// Whose it is (always a signer).
    pub participant: ParticipantId,
    /// On which document (one the envelope signs).
    pub document: DocumentId,
    /// On which page, from 1.
    pub page: u32,
    /// Where on the page.
    pub rect: Rect,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether it must be filled before its participant may sign.
    pub required: bool,
    /// What the participant is asked for (shown as the input's label).
    pub label: Option<super::text::Label>,
    /// Its value: the sender's prefill, then what the participant filled.
    pub value: Option<FieldValue>,
}

impl Field {
    /// Whether the field stands in the way of its participant's signature: required and not
    /// filled (a required checkbox must be ticked). Signing dates are filled by Signet.
    pub fn blocks_signing(&self) -> bool {
        self.required
            && self.kind != FieldKind::SigningDate
            && !matches!(
                &self.value,
                Some(v) if *v != FieldValue::Checkbox(false)
            )
    }
}

/// A field or value that cannot be accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A coordinate or size outside its range.
    #[error("{name} is {value}: corners lie in [0, 1), sizes in (0, 1]")]
    Coordinate {
        /// Which of x, y, width, height.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// The box does not fit on the page.
    #[error("the box leaves the page at its {edge} edge")]
    LeavesPage {
        /// Which edge.
        edge: &'static str,
    },
    /// The value is not of the kind the field holds.
    #[error("a {} field does not take {given}", .kind.as_str())]
    WrongType {
        /// The field's kind.
        kind: FieldKind,
        /// What was given.
        given: &'static str,
    },
    /// Signet fills this field itself.
    #[error("the signing date is filled automatically")]
    FilledBySignet,
    /// Empty, too long or disguised text.
    #[error(
        "text must be 1 to {MAX_FIELD_TEXT} characters without control or invisible characters"
    )]
    BadText,
}

fn value_word(value: &FieldValue) -> &'static str {
    match value {
        FieldValue::Text(_) => "text",
        FieldValue::Date(_) => "a date",
        FieldValue::Checkbox(_) => "a checkbox",
        FieldValue::Mark(_) => "a signature mark",
    }
}

fn check_text(text: &str) -> Result<(), FieldError> {
    let count = text.trim().chars().count();
    if count == 0
        || count > MAX_FIELD_TEXT
        || text.chars().any(|c| is_hidden_or_control(c) && c != '\n')
    {
        return Err(FieldError::BadText);
    }
    Ok(())
}

/// Checks that `value` suits a field of `kind`: text for names and text, a date for dates,
/// a checkbox for checkboxes, a mark for signatures and initials, an uploaded image for images.
pub fn check_value(kind: FieldKind, value: &FieldValue) -> Result<(), FieldError> {
    let fits = match (kind, value) {
        (FieldKind::SigningDate, _) => return Err(FieldError::FilledBySignet),
        (FieldKind::Name | FieldKind::Text, FieldValue::Text(text)) => {
            return check_text(text);
        }
        (FieldKind::Signature | FieldKind::Initials, FieldValue::Mark(Mark::Typed { text })) => {
            return check_text(text);
        }
        (FieldKind::Signature | FieldKind::Initials, FieldValue::Mark(_)) => true,
        (FieldKind::Image, FieldValue::Mark(Mark::Uploaded { .. })) => true,
        (FieldKind::Date, FieldValue::Date(_)) => true,
        (FieldKind::Checkbox, FieldValue::Checkbox(_)) => true,
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(FieldError::WrongType {
            kind,
            given: value_word(value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageRef {
        ImageRef {
            sha256: Sha256Digest::from_bytes([7; 32]),
            media_type: ImageType::Png,
        }
    }

    #[test]
    fn boxes_stay_on_their_page() {
        assert!(Rect::new(0.0, 0.0, 1.0, 1.0).is_ok(), "the whole page");
        assert!(
            Rect::new(0.7, 0.9, 0.3, 0.1).is_ok(),
            "flush with the edges"
        );
        let r = Rect::new(0.25, 0.5, 0.125, 0.0625).expect("a box");
        assert_eq!(
            (r.x(), r.y(), r.width(), r.height()),
            (0.25, 0.5, 0.125, 0.0625)
        );
        for (x, y, w, h, name) in [
            (-0.1, 0.0, 0.1, 0.1, "x"),
            (1.0, 0.0, 0.1, 0.1, "x"),
            (0.0, -0.0001, 0.1, 0.1, "y"),
            (0.0, 1.0, 0.1, 0.1, "y"),
            (0.0, 0.0, 0.0, 0.1, "width"),
            (0.0, 0.0, 1.1, 0.1, "width"),
            (0.0, 0.0, 0.1, 0.0, "height"),
            (0.0, 0.0, 0.1, 1.0001, "height"),
            (f64::NAN, 0.0, 0.1, 0.1, "x"),
            (0.0, 0.0, f64::NAN, 0.1, "width"),
            (0.0, 0.0, 0.1, f64::INFINITY, "height"),
        ] {
            match Rect::new(x, y, w, h) {
                Err(FieldError::Coordinate { name: got, .. }) => assert_eq!(got, name),
                other => panic!("({x}, {y}, {w}, {h}) gave {other:?}"),
            }
        }
        assert_eq!(
            Rect::new(0.5, 0.0, 0.6, 0.1),
            Err(FieldError::LeavesPage { edge: "right" })
        );
        assert_eq!(
            Rect::new(0.0, 0.95, 0.1, 0.1),
            Err(FieldError::LeavesPage { edge: "bottom" })
        );
        assert_eq!(
            Rect::new(0.0, 0.5, 0.1, 0.5 + 2e-9),
            Err(FieldError::LeavesPage { edge: "bottom" })
        );
        assert!(Rect::new(0.0, 0.5, 0.1, 0.5 + 1e-10).is_ok(), "rounding");
    }

    #[test]
    fn rect_deserialisation_checks_too() {
        let ok: Result<Rect, _> =
            serde_json::from_str(r#"{"x":0.1,"y":0.2,"width":0.3,"height":0.4}"#);
        assert!(ok.is_ok());
        let bad: Result<Rect, _> =
            serde_json::from_str(r#"{"x":0.9,"y":0.2,"width":0.3,"height":0.4}"#);
        assert!(bad.is_err());
    }

    #[test]
    fn each_kind_takes_its_own_values() {
        let typed = FieldValue::Mark(Mark::Typed {
            text: "Alice".into(),
        });
        let drawn = FieldValue::Mark(Mark::Drawn { image: image() });
        let uploaded = FieldValue::Mark(Mark::Uploaded { image: image() });
        let text = FieldValue::Text("hello".into());
        let date = FieldValue::Date(time::macros::date!(2026 - 12 - 01));
        let tick = FieldValue::Checkbox(true);
        let all = [&typed, &drawn, &uploaded, &text, &date, &tick];
        let accepts = |kind: FieldKind| -> Vec<bool> {
            all.iter()
                .map(|v| check_value(kind, v).is_ok())
                .collect::<Vec<_>>()
        };
        //                                  typed  drawn  upl.   text   date   tick
        assert_eq!(
            accepts(FieldKind::Signature),
            [true, true, true, false, false, false]
        );
        assert_eq!(
            accepts(FieldKind::Initials),
            [true, true, true, false, false, false]
        );
        assert_eq!(
            accepts(FieldKind::Name),
            [false, false, false, true, false, false]
        );
        assert_eq!(
            accepts(FieldKind::Text),
            [false, false, false, true, false, false]
        );
        assert_eq!(
            accepts(FieldKind::Date),
            [false, false, false, false, true, false]
        );
        assert_eq!(
            accepts(FieldKind::Checkbox),
            [false, false, false, false, false, true]
        );
        assert_eq!(
            accepts(FieldKind::Image),
            [false, false, true, false, false, false]
        );
        assert_eq!(accepts(FieldKind::SigningDate), [false; 6]);
        assert_eq!(
            check_value(FieldKind::SigningDate, &date),
            Err(FieldError::FilledBySignet)
        );
        assert_eq!(
            check_value(FieldKind::Date, &text),
            Err(FieldError::WrongType {
                kind: FieldKind::Date,
                given: "text"
            })
        );
        assert_eq!(
            check_value(FieldKind::Date, &text).map_err(|e| e.to_string()),
            Err("a date field does not take text".to_owned())
        );
    }

    #[test]
    fn texts_are_bounded_and_visible() {
        let text = |t: &str| check_value(FieldKind::Text, &FieldValue::Text(t.into()));
        assert_eq!(text("  "), Err(FieldError::BadText));
        assert_eq!(text(&"a".repeat(MAX_FIELD_TEXT)), Ok(()));
        assert_eq!(
            text(&"a".repeat(MAX_FIELD_TEXT + 1)),
            Err(FieldError::BadText)
        );
        assert_eq!(text("two\nlines"), Ok(()));
        assert_eq!(text("tab\there"), Err(FieldError::BadText));
        assert_eq!(text("rtl\u{202e}"), Err(FieldError::BadText));
        let typed = |t: &str| {
            check_value(
                FieldKind::Signature,
                &FieldValue::Mark(Mark::Typed { text: t.into() }),
            )
        };
        assert_eq!(typed(""), Err(FieldError::BadText));
        assert_eq!(typed("Alice"), Ok(()));
    }

    #[test]
    fn required_fields_block_until_filled_and_ticked() {
        let mut field = Field {
            id: FieldId::random(),
            participant: ParticipantId::generate(),
            document: DocumentId::generate(),
            page: 1,
            rect: Rect::new(0.1, 0.1, 0.2, 0.05).expect("a box"),
            kind: FieldKind::Checkbox,
            required: true,
            label: None,
            value: None,
        };
        assert!(field.blocks_signing());
        field.value = Some(FieldValue::Checkbox(false));
        assert!(field.blocks_signing(), "an unticked required box");
        field.value = Some(FieldValue::Checkbox(true));
        assert!(!field.blocks_signing());
        field.value = None;
        field.required = false;
        assert!(!field.blocks_signing(), "optional");
        field.required = true;
        field.kind = FieldKind::SigningDate;
        assert!(!field.blocks_signing(), "Signet fills it");
    }

    #[test]
    fn field_ids_round_trip() {
        let id = FieldId::random();
        assert_eq!(id.to_string().parse::<FieldId>().ok(), Some(id));
        assert_eq!(hex::encode(id.as_bytes()), id.to_string());
        assert_eq!(format!("{id:?}"), format!("field:{id}"));
        assert!("abc".parse::<FieldId>().is_err());
        assert!("ab".repeat(15).parse::<FieldId>().is_err());
        let json = serde_json::to_string(&id).expect("serialises");
        assert_eq!(serde_json::from_str::<FieldId>(&json).ok(), Some(id));
    }
}
