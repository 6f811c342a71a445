//! The signer app's pages: one askama template (`templates/signer/page.html`, escaped by
//! default) and the view models the handlers fill from the core's [`SignerPage`].

use askama::Template;
use signet_core::ids::ParticipantId;
use signet_core::signing::signer::{PAGE_WIDTHS, SignerPage};
use signet_core::signing::{Field, FieldKind, FieldValue, Mark, SignEnvelope};
use time::OffsetDateTime;

use super::catalog::Texts;

/// A time as shown on pages, in UTC.
pub(crate) fn when(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// A message above the form.
pub(crate) struct Notice {
    /// `error` or `info` (a CSS class).
    pub(crate) kind: &'static str,
    pub(crate) text: String,
}

pub(crate) struct Message {
    pub(crate) paragraphs: Vec<String>,
    /// Downloads: address and label.
    pub(crate) links: Vec<(String, String)>,
}

/// A one-button form: send a code, or continue without one.
pub(crate) struct Start {
    pub(crate) explanation: String,
    pub(crate) action: String,
    pub(crate) button: String,
}

pub(crate) struct EnterCode {
    pub(crate) action: String,
    pub(crate) label: String,
    pub(crate) verify: String,
    /// The resend form's action and button, while codes are left.
    pub(crate) resend: Option<(String, String)>,
    pub(crate) hint: Option<String>,
}

/// A field's outline on a page, in percent of the page.
pub(crate) struct BoxView {
    pub(crate) field: String,
    pub(crate) x: String,
    pub(crate) y: String,
    pub(crate) w: String,
    pub(crate) h: String,
}

pub(crate) struct PageView {
    pub(crate) src: String,
    pub(crate) srcset: String,
    pub(crate) alt: String,
    pub(crate) caption: String,
    pub(crate) boxes: Vec<BoxView>,
}

pub(crate) struct DocView {
    pub(crate) name: String,
    pub(crate) pages: Vec<PageView>,
}

/// One input of the sign form.
pub(crate) struct FieldInput {
    /// The HTML id.
    pub(crate) id: String,
    /// The field id (ties the input to its outline).
    pub(crate) field: String,
    /// The form name.
    pub(crate) name: String,
    /// `text`, `date`, `checkbox`, `file` (an image), or `auto` (filled by Signet, shown
    /// only).
    pub(crate) input: &'static str,
    pub(crate) label: String,
    /// Where the field is.
    pub(crate) place: String,
    pub(crate) required: bool,
    pub(crate) value: String,
    pub(crate) checked: bool,
}

pub(crate) struct SignForm {
    pub(crate) action: String,
    pub(crate) marks_action: String,
    /// Whether the form carries files (image fields): posted as `multipart/form-data`.
    pub(crate) multipart: bool,
    pub(crate) token: String,
    pub(crate) fields_heading: String,
    pub(crate) fields: Vec<FieldInput>,
    /// Whether the participant has signature or initials fields (or none at all: an invisible
    /// signature still takes their typed name).
    pub(crate) signature: bool,
    pub(crate) signature_heading: String,
    pub(crate) typed_label: String,
    pub(crate) name: String,
    pub(crate) draw_label: String,
    pub(crate) draw_hint: String,
    pub(crate) clear_label: String,
    pub(crate) upload_label: String,
    pub(crate) consent_label: String,
    pub(crate) sign_label: String,
}

pub(crate) struct Review {
    pub(crate) documents_heading: String,
    pub(crate) documents: Vec<DocView>,
    /// The sign form (none for a viewer).
    pub(crate) form: Option<SignForm>,
    /// The decline page's address and the link's words.
    pub(crate) decline: Option<(String, String)>,
}

pub(crate) struct Decline {
    pub(crate) intro: String,
    pub(crate) action: String,
    pub(crate) token: String,
    pub(crate) reason_label: String,
    pub(crate) button: String,
    pub(crate) back: (String, String),
}

/// What the page is for.
pub(crate) enum Body {
    Message(Message),
    Start(Start),
    EnterCode(EnterCode),
    Review(Box<Review>),
    Decline(Decline),
}

/// A whole signer page.
#[derive(Template)]
#[template(path = "signer/page.html")]
pub(crate) struct Page {
    pub(crate) lang: &'static str,
    pub(crate) title: String,
    /// The path prefix of the public URL (empty at the root).
    pub(crate) base: String,
    pub(crate) skip: String,
    pub(crate) footer: String,
    /// Whether the page loads the script (pages with a sign form).
    pub(crate) script: bool,
    pub(crate) intro: Option<String>,
    pub(crate) notice: Option<Notice>,
    pub(crate) body: Body,
}

impl Page {
    /// A page of `body` with the app's frame in `t`'s language.
    pub(crate) fn new(t: &Texts, base: String, title: &str, body: Body) -> Self {
        Self {
            lang: t.code(),
            title: t.get(title).to_owned(),
            base,
            skip: t.get("skip").to_owned(),
            footer: t.get("footer").to_owned(),
            script: false,
            intro: None,
            notice: None,
            body,
        }
    }

    /// A page with a title and paragraphs.
    pub(crate) fn message(t: &Texts, base: String, title: &str, paragraphs: Vec<String>) -> Self {
        Self::new(
            t,
            base,
            title,
            Body::Message(Message {
                paragraphs,
                links: Vec::new(),
            }),
        )
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.3}", fraction * 100.0)
}

/// The label of a field: the sender's, else its kind's name.
fn field_label(t: &Texts, field: &Field) -> String {
    if let Some(label) = &field.label {
        return label.as_str().to_owned();
    }
    t.get(match field.kind {
        FieldKind::Signature => "kind_signature",
        FieldKind::Initials => "kind_initials",
        FieldKind::Name => "kind_name",
        FieldKind::Date => "kind_date",
        FieldKind::SigningDate => "kind_signing_date",
        FieldKind::Checkbox => "kind_checkbox",
        FieldKind::Image => "kind_image",
        _ => "kind_text",
    })
    .to_owned()
}

fn document_name(
    envelope: &SignEnvelope,
    names: &[(signet_core::ids::DocumentId, String)],
    index: usize,
) -> String {
    envelope
        .documents
        .get(index)
        .and_then(|d| names.iter().find(|(id, _)| *id == d.document))
        .map(|(_, name)| name.clone())
        .unwrap_or_else(|| format!("{}", index + 1))
}

/// The review body: every page of every document with the participant's fields outlined, and
/// the sign form with one labelled input per field they fill.
pub(crate) fn review(
    t: &Texts,
    link: &str,
    view: &SignerPage,
    names: &[(signet_core::ids::DocumentId, String)],
    form_token: &str,
    can_sign: bool,
) -> Review {
    let envelope = &view.envelope;
    let me: ParticipantId = view.participant;
    let documents = envelope
        .documents
        .iter()
        .enumerate()
        .map(|(index, doc)| {
            let name = document_name(envelope, names, index);
            let pages = (1..=doc.pages)
                .map(|page| {
                    let src = |w: u32| format!("{link}/pages/{}/{page}?w={w}", doc.document);
                    let numbers = [
                        ("document", name.as_str()),
                        ("page", &page.to_string()),
                        ("pages", &doc.pages.to_string()),
                    ]
                    .map(|(k, v)| (k, v.to_owned()));
                    let values: Vec<(&str, &str)> =
                        numbers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    PageView {
                        src: src(PAGE_WIDTHS[1]),
                        srcset: PAGE_WIDTHS
                            .iter()
                            .map(|w| format!("{} {w}w", src(*w)))
                            .collect::<Vec<_>>()
                            .join(", "),
                        alt: t.fill("page_alt", &values),
                        caption: t.fill("page_of", &values),
                        boxes: envelope
                            .fields_of(me)
                            .filter(|f| f.document == doc.document && f.page == page)
                            .map(|f| BoxView {
                                field: f.id.to_string(),
                                x: percent(f.rect.x()),
                                y: percent(f.rect.y()),
                                w: percent(f.rect.width()),
                                h: percent(f.rect.height()),
                            })
                            .collect(),
                    }
                })
                .collect();
            DocView { name, pages }
        })
        .collect();
    let form = can_sign.then(|| {
        let mine: Vec<&Field> = envelope.fields_of(me).collect();
        let signature = mine.is_empty()
            || mine
                .iter()
                .any(|f| matches!(f.kind, FieldKind::Signature | FieldKind::Initials));
        let name = envelope
            .participant(me)
            .map(|p| p.name.as_str().to_owned())
            .unwrap_or_default();
        let fields = mine
            .iter()
            // The signature itself is the typed name (or the drawing) below.
            .filter(|f| f.kind != FieldKind::Signature)
            .map(|f| {
                let doc_index = envelope
                    .documents
                    .iter()
                    .position(|d| d.document == f.document)
                    .unwrap_or_default();
                let place = t.fill(
                    "field_on",
                    &[
                        ("document", &document_name(envelope, names, doc_index)),
                        ("page", &f.page.to_string()),
                    ],
                );
                let requirement = t.get(if f.required { "required" } else { "optional" });
                let (input, value, checked) = match (f.kind, &f.value) {
                    (FieldKind::Image, _) => ("file", t.get("image_hint").to_owned(), false),
                    (FieldKind::SigningDate, _) => {
                        ("auto", t.get("signing_date_auto").to_owned(), false)
                    }
                    (FieldKind::Checkbox, value) => (
                        "checkbox",
                        String::new(),
                        *value == Some(FieldValue::Checkbox(true)),
                    ),
                    (FieldKind::Date, Some(FieldValue::Date(date))) => {
                        ("date", date.to_string(), false)
                    }
                    (FieldKind::Date, _) => ("date", String::new(), false),
                    (FieldKind::Initials, Some(FieldValue::Mark(Mark::Typed { text }))) => {
                        ("text", text.clone(), false)
                    }
                    (FieldKind::Initials, _) => ("text", initials(&name), false),
                    (_, Some(FieldValue::Text(text))) => ("text", text.clone(), false),
                    (FieldKind::Name, _) => ("text", name.clone(), false),
                    _ => ("text", String::new(), false),
                };
                FieldInput {
                    id: format!("f-{}", f.id),
                    field: f.id.to_string(),
                    name: format!(
                        "{}.{}",
                        if input == "file" { "image" } else { "field" },
                        f.id
                    ),
                    input,
                    label: format!("{} ({requirement})", field_label(t, f)),
                    place,
                    required: f.required && input != "auto",
                    value,
                    checked,
                }
            })
            .collect::<Vec<_>>();
        SignForm {
            action: format!("{link}/sign"),
            marks_action: format!("{link}/marks"),
            multipart: fields.iter().any(|f| f.input == "file"),
            token: form_token.to_owned(),
            fields_heading: t.get("fields").to_owned(),
            fields,
            signature,
            signature_heading: t.get("signature").to_owned(),
            typed_label: t.get("typed_name").to_owned(),
            name,
            draw_label: t.get("draw").to_owned(),
            draw_hint: t.get("draw_hint").to_owned(),
            clear_label: t.get("draw_clear").to_owned(),
            upload_label: t.get("upload").to_owned(),
            consent_label: t.get("consent").to_owned(),
            sign_label: t.get("sign").to_owned(),
        }
    });
    Review {
        documents_heading: t.get("documents").to_owned(),
        documents,
        form,
        decline: can_sign.then(|| (format!("{link}/decline"), t.get("decline_link").to_owned())),
    }
}

/// The initials of a name: the first letter of each word.
fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_core::values::Language;

    #[test]
    fn initials_take_each_word() {
        assert_eq!(initials("ada king lovelace"), "AKL");
        assert_eq!(initials("  Émile  Zola "), "ÉZ");
    }

    #[test]
    fn pages_escape_what_senders_say() {
        let t = super::super::catalog::texts(Language::En);
        let mut page = Page::message(t, String::new(), "title_done", vec!["<b>x</b>".into()]);
        page.intro = Some("Acme <script>".into());
        let html = page.render().expect("renders");
        assert!(!html.contains("<script>") && !html.contains("<b>"));
        assert!(html.contains("name=\"viewport\""));
    }
}
