//! doclinc's JSON shapes. Unknown fields are ignored (vendors' clients send extras); the
//! vendor's `null`s are accepted wherever a field is optional.

use serde::{Deserialize, Serialize};

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
    pub secret_question: Option<String>,
    pub contacts: Vec<ContactIn>,
    pub documents: Vec<DocumentIn>,
}

/// One recipient.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContactIn {
    pub recipient_email: String,
    pub recipient_iso_country_code: Option<String>,
    pub recipient_cell: Option<String>,
    pub authentication_method: Option<String>,
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
