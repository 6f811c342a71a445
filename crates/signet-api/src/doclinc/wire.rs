//! doclinc's JSON shapes. Unknown fields are ignored (vendors' clients send extras); the
//! vendor's `null`s are accepted wherever a field is optional.

use serde::{Deserialize, Deserializer, Serialize};

/// Recipients or documents in one transaction, at most (the core says the same; refusing here
/// stops a body of ten thousand contacts before they are built).
pub(crate) const MAX_ITEMS: usize = 100;
use signet_core::service::{
    MAX_SECRET_ANSWER_CHARS as MAX_ANSWER_CHARS, MAX_SECRET_QUESTION_CHARS as MAX_QUESTION_CHARS,
};

/// Body of `POST /transactions/cells` and `POST /transactions/secrets`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateTransaction {
    pub transaction_type: Option<String>,
    pub transaction_language_ref: Option<String>,
    pub subject_language_ref: Option<String>,
    pub link_expiration_days: Option<u32>,
    pub is_link_reusable: Option<bool>,
    pub is_event_notification_enabled: Option<bool>,
    #[serde(default, deserialize_with = "question")]
    pub secret_question: Option<String>,
    #[serde(deserialize_with = "at_most_items")]
    pub contacts: Vec<ContactIn>,
    #[serde(deserialize_with = "at_most_items")]
    pub documents: Vec<DocumentIn>,
}

/// A list of at most [`MAX_ITEMS`], refused at the first element too many.
fn at_most_items<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Bounded<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_ITEMS} items")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                if items.len() == MAX_ITEMS {
                    return Err(serde::de::Error::custom(format_args!(
                        "at most {MAX_ITEMS} items are accepted"
                    )));
                }
                items.push(item);
            }
            Ok(items)
        }
    }
    deserializer.deserialize_seq(Bounded(std::marker::PhantomData))
}

/// An optional text of at most `max` characters.
fn bounded_text<'de, D: Deserializer<'de>>(
    deserializer: D,
    max: usize,
) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    if let Some(text) = &text
        && text.chars().count() > max
    {
        return Err(serde::de::Error::custom(format_args!(
            "at most {max} characters are accepted"
        )));
    }
    Ok(text)
}

fn question<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    bounded_text(deserializer, MAX_QUESTION_CHARS)
}

fn answer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    bounded_text(deserializer, MAX_ANSWER_CHARS)
}

/// One recipient.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContactIn {
    pub recipient_email: String,
    pub recipient_iso_country_code: Option<String>,
    pub recipient_cell: Option<String>,
    pub authentication_method: Option<String>,
    #[serde(default, deserialize_with = "answer")]
    pub secret_answer: Option<String>,
    pub secret_answer_ref: Option<String>,
}

/// One document announced for upload.
#[derive(Debug, Deserialize)]
pub(crate) struct DocumentIn {
    pub name: String,
}

/// The 201 answer to a create call.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Created {
    pub send_transaction: SendTransaction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// One banner per recipient (a Signet addition: with several recipients each gets a link of
    /// their own, while `banner` lists them all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banners: Option<Vec<RecipientBanner>>,
    pub commands: Vec<Command>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendTransaction {
    /// The transaction id (also the last segment of the command hrefs).
    pub transaction_id: String,
    pub documents: Vec<UploadUrl>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadUrl {
    pub name: String,
    pub url: String,
    pub url_time_to_live: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecipientBanner {
    pub recipient_email: String,
    pub banner: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Command {
    pub href: String,
    pub method: &'static str,
    pub rel: &'static str,
}

/// The 200 answer to a confirm call.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Confirmed {
    pub transaction_id: String,
    pub status: &'static str,
    pub link_expiration: Option<String>,
}

/// `GET /transactions/contacts/{email}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContactOut {
    pub language_ref: String,
    pub cell_contact: CellContactOut,
    pub secret_contact: SecretContactOut,
}

/// Empty (`{}`) when the contact has no phone.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CellContactOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_iso_country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_method: Option<&'static str>,
}

/// Empty (`{}`) when the contact has no secret; never carries the answer.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretContactOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_question: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_answer_ref: Option<String>,
}
