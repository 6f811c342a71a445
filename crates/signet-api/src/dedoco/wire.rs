//! Dedoco's JSON, as its page and samples spell it, and the vendor's rules on business processes
//! checked before anything is stored. Ids: folders and documents are 24 lower-case hex digits as
//! Signet keeps them; envelopes show as a 24-hex public alias and signers as `SIG_` + the alias
//! of the participant.

use serde::{Deserialize, Serialize};
use signet_core::signing::folders::{HistoryAction, HistoryEntry};
use time::OffsetDateTime;

/// `POST /auth/token`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenRequest {
    pub file_callback: Option<String>,
    pub status_callback: Option<String>,
    pub user_name: Option<String>,
    pub user_email: Option<String>,
}

/// The token answer.
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    pub token: String,
}

/// A document of `POST /folders`.
#[derive(Debug, Deserialize)]
pub(crate) struct DocumentIn {
    pub name: String,
    pub file_type: String,
    pub document_hash: String,
}

/// Where a box sits on its page: fractions of the page as decimal strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Placement {
    pub page: u32,
    pub x: String,
    pub y: String,
}

/// A box's size: fractions of the page as decimal strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Dimensions {
    pub width: String,
    pub height: String,
}

/// An electronic-signature box.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct SignatureBox {
    pub placement: Placement,
    pub dimensions: Dimensions,
}

/// A digital-signature box.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct DigitalBox {
    #[serde(rename = "type")]
    pub kind: String,
    pub placement: Placement,
    pub dimensions: Dimensions,
}

/// A custom-text box.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct CustomText {
    pub descriptor: String,
    pub is_mandatory: bool,
    #[serde(rename = "type")]
    pub kind: String,
    pub placement: Placement,
    pub dimensions: Dimensions,
}

/// A signer of a business process.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SignerIn {
    pub signer_email: String,
    pub signer_name: String,
    pub signer_phone: Option<String>,
    #[serde(default)]
    pub sequence_number: u32,
    #[serde(default)]
    pub require_authentication: bool,
    pub verify_method: String,
    #[serde(default)]
    pub esignatures: Vec<SignatureBox>,
    #[serde(default)]
    pub digi_signatures: Vec<DigitalBox>,
    #[serde(default)]
    pub custom_texts: Vec<CustomText>,
}

/// `completion_requirement`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CompletionIn {
    pub min_number: u32,
}

/// A business process of `POST /folders` (with `document_id`) or `POST /documents`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BusinessProcessIn {
    #[serde(rename = "type")]
    pub kind: String,
    pub expiration_time: i64,
    /// The index of the document in the request (folders only).
    pub document_id: Option<usize>,
    #[serde(default)]
    pub is_sequential: bool,
    #[serde(default)]
    pub allow_download: bool,
    pub signers: Vec<SignerIn>,
    pub completion_requirement: CompletionIn,
}

/// `POST /folders`.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateFolder {
    pub folder_name: String,
    pub date_created: i64,
    pub documents: Vec<DocumentIn>,
    #[serde(default)]
    pub linked_folders: Vec<String>,
    #[serde(default)]
    pub business_processes: Vec<BusinessProcessIn>,
}

/// `POST /documents`.
#[derive(Debug, Deserialize)]
pub(crate) struct AddDocument {
    pub document_name: String,
    pub date_created: i64,
    pub file_type: String,
    pub document_hash: String,
    pub parent_folder: String,
    pub business_process: Option<BusinessProcessIn>,
}

/// `PUT /documents/{id}/status`: the page's table says `value`, its sample says `status`.
#[derive(Debug, Deserialize)]
pub(crate) struct StatusChange {
    pub value: Option<String>,
    pub status: Option<String>,
    pub request_date: Option<i64>,
}

/// The actor of a history entry.
#[derive(Debug, Serialize)]
pub(crate) struct ActorOut {
    pub id: String,
    pub email: String,
    pub name: String,
}

/// A history entry.
#[derive(Debug, Serialize)]
pub(crate) struct HistoryOut {
    pub action: String,
    pub actor: ActorOut,
    pub timestamp: String,
    pub transaction_hash: String,
}

/// A folder.
#[derive(Debug, Serialize)]
pub(crate) struct FolderOut {
    pub id: String,
    pub name: String,
    pub date_created: String,
    pub child_documents: Vec<String>,
    pub linked_folders: Vec<String>,
    pub status: &'static str,
    pub history: Vec<HistoryOut>,
}

/// A document.
#[derive(Debug, Serialize)]
pub(crate) struct DocumentOut {
    pub id: String,
    pub name: String,
    pub file_type: String,
    pub date_created: String,
    pub document_hashes: Vec<String>,
    pub business_processes: Vec<String>,
    pub status: &'static str,
    pub parent_folder: String,
    pub history: Vec<HistoryOut>,
}

/// A signing link.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LinkOut {
    pub document_id: String,
    pub document_name: String,
    pub business_process_id: String,
    pub signer_id: String,
    pub signer_name: String,
    pub signer_email: String,
    pub link: String,
}

/// `POST /folders`' answer.
#[derive(Debug, Serialize)]
pub(crate) struct LinksOut {
    pub links: Vec<LinkOut>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SignerOut {
    pub has_signed: bool,
    pub signer_id: String,
    pub signer_name: String,
    pub signer_email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_phone: Option<String>,
    pub sequence_number: u32,
    pub require_authentication: bool,
    pub verify_method: &'static str,
    pub esignatures: Vec<SignatureBox>,
    pub digi_signatures: Vec<DigitalBox>,
    pub custom_texts: Vec<CustomText>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SignerRef {
    pub signer_id: String,
    pub signer_name: String,
    pub signer_email: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct SequenceOut {
    pub sequence_number: u32,
    pub signers: Vec<SignerRef>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CompletionOut {
    pub min_number: u32,
    pub overriding_signers: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ProcessOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub date_created: String,
    pub expiration_time: String,
    pub document_id: String,
    pub allow_download: bool,
    pub signers: Vec<SignerOut>,
    pub sequential_requirement: Vec<SequenceOut>,
    pub completion_requirement: CompletionOut,
    pub status: &'static str,
    pub history: Vec<HistoryOut>,
}

/// A signer as a status callback names them.
#[derive(Debug, Serialize)]
pub(crate) struct CallbackSigner {
    pub id: String,
    pub name: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u32>,
    pub has_signed: bool,
}

/// The body of a status callback.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusCallback {
    pub business_process_id: String,
    pub status: &'static str,
    pub signers: Vec<CallbackSigner>,
}

/// The body of a file callback.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileCallback {
    pub business_process_id: String,
    pub file: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedFolder {
    pub folder: FolderOut,
    pub documents: Vec<DocumentOut>,
    pub business_processes: Vec<ProcessOut>,
    pub links: Vec<LinkOut>,
}

/// `POST /documents`' answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AddedDocument {
    pub document: DocumentOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_process: Option<ProcessOut>,
    pub links: Vec<LinkOut>,
}

/// `GET /folders/{id}`'s answer (Signet's addition: the folder and its documents).
#[derive(Debug, Serialize)]
pub(crate) struct FolderWithDocuments {
    pub folder: FolderOut,
    pub documents: Vec<DocumentOut>,
}

/// The parent folder as the verifier shows it.
#[derive(Debug, Serialize)]
pub(crate) struct ParentFolder {
    pub id: String,
    pub name: String,
}

/// A document as the verifier shows it.
#[derive(Debug, Serialize)]
pub(crate) struct VerifiedDocument {
    pub id: String,
    pub name: String,
    pub file_type: String,
    pub document_hashes: Vec<String>,
    pub prerequisite_documents: Vec<String>,
    pub business_processes: Vec<String>,
    pub owner: String,
    pub date_created: String,
    pub status: &'static str,
    pub parent_folder: ParentFolder,
    pub history: Vec<HistoryOut>,
}

/// One answer of the verifier.
#[derive(Debug, Serialize)]
pub(crate) struct Verified {
    pub process: Option<ProcessOut>,
    pub document: VerifiedDocument,
}

/// The vendor's date form: `2021-03-22T03:30:52.000Z`.
pub(crate) fn date(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// A history entry in the vendor's words.
pub(crate) fn history(entry: &HistoryEntry) -> HistoryOut {
    let action = match &entry.action {
        HistoryAction::FolderCreated => "create Folder".to_owned(),
        HistoryAction::DocumentAdded { document } => format!("add Document with id: {document}"),
        HistoryAction::DocumentCreated => "create Document".to_owned(),
        HistoryAction::EnvelopeAttached { envelope } => {
            format!("add Business Process (Signature) with id: {}", envelope)
        }
        HistoryAction::Voided => "void Document".to_owned(),
        HistoryAction::BytesRetrieved { .. } => "retrieve Document".to_owned(),
        _ => "update".to_owned(),
    };
    HistoryOut {
        action,
        actor: ActorOut {
            id: entry.actor.id.clone(),
            email: entry.actor.email.clone().unwrap_or_default(),
            name: entry.actor.name.clone().unwrap_or_default(),
        },
        timestamp: date(entry.at),
        transaction_hash: format!("0x{}", hex::encode(entry.leaf_hash)),
    }
}

/// A fraction of the page written as a decimal string (`"0.5"`, `"0"`, `".25"`): digits with at
/// most one point, no sign, no exponent, nothing else.
pub(crate) fn fraction(text: &str) -> Option<f64> {
    let mut points = 0;
    let mut digits = 0;
    for c in text.chars() {
        match c {
            '.' => points += 1,
            '0'..='9' => digits += 1,
            _ => return None,
        }
    }
    if digits == 0 || points > 1 || text.len() > 32 {
        return None;
    }
    text.parse().ok()
}

/// A box on a page, checked: `0 ≤ x, y < 1`, `0 < width, height < 1`, inside the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CheckedBox {
    pub page: u32,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

pub(crate) fn checked_box(
    at: &str,
    placement: &Placement,
    dimensions: &Dimensions,
) -> Result<CheckedBox, String> {
    let number = |field: &str, text: &str| {
        fraction(text).ok_or_else(|| format!("{at}.{field}: a decimal string such as \"0.5\""))
    };
    let x = number("placement.x", &placement.x)?;
    let y = number("placement.y", &placement.y)?;
    let width = number("dimensions.width", &dimensions.width)?;
    let height = number("dimensions.height", &dimensions.height)?;
    if placement.page == 0 {
        return Err(format!("{at}.placement.page: pages start from 1"));
    }
    if !(0.0..1.0).contains(&x) || !(0.0..1.0).contains(&y) {
        return Err(format!(
            "{at}.placement: x and y must be at least 0 and less than 1"
        ));
    }
    if !(width > 0.0 && width < 1.0 && height > 0.0 && height < 1.0) {
        return Err(format!(
            "{at}.dimensions: width and height must be more than 0 and less than 1"
        ));
    }
    if x + width > 1.0 || y + height > 1.0 {
        return Err(format!("{at}: the box must lie inside the page"));
    }
    Ok(CheckedBox {
        page: placement.page,
        x,
        y,
        width,
        height,
    })
}

/// How a signer proves who they are before signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    Sms,
    Email,
    None,
}

/// The kind of a custom text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKind {
    Text,
    CustomDate,
    ActualDate,
    Stamp,
    Initials,
}

/// A signer after the vendor's rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckedSigner {
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    /// 0 when the process has no sequence.
    pub sequence: u32,
    pub verify: Verify,
    pub signatures: Vec<CheckedBox>,
    /// The signer signs with Signet's per-signer digital signature.
    pub digital: bool,
    pub texts: Vec<(TextKind, String, bool, CheckedBox)>,
}

/// A business process after the vendor's rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckedProcess {
    /// Unix seconds; `None` for no expiry.
    pub expires_at: Option<i64>,
    pub sequential: bool,
    pub allow_download: bool,
    pub min_signers: u32,
    pub signers: Vec<CheckedSigner>,
}

/// Checks a business process against the vendor's documented rules. `now` is Unix seconds.
pub(crate) fn check_process(
    at: &str,
    process: &BusinessProcessIn,
    now: i64,
) -> Result<CheckedProcess, String> {
    if process.kind != "signature" {
        return Err(format!(
            "{at}.type: the only supported type is \"signature\""
        ));
    }
    let expires_at = match process.expiration_time {
        0 => None,
        t if t <= now => {
            return Err(format!(
                "{at}.expiration_time: must be later than now, or 0 for none"
            ));
        }
        t => Some(t),
    };
    if process.signers.is_empty() {
        return Err(format!("{at}.signers: at least one signer"));
    }
    if process.signers.len() > 50 {
        return Err(format!("{at}.signers: at most 50 signers"));
    }
    let mut signers = Vec::with_capacity(process.signers.len());
    for (i, s) in process.signers.iter().enumerate() {
        let here = format!("{at}.signers[{i}]");
        if s.signer_name.trim().is_empty() {
            return Err(format!("{here}.signer_name is required"));
        }
        if !s.signer_email.contains('@') {
            return Err(format!("{here}.signer_email: an e-mail address"));
        }
        let verify = match s.verify_method.as_str() {
            "SMS" => Verify::Sms,
            "EMAIL" => Verify::Email,
            "NO_AUTHENTICATION" => Verify::None,
            _ => {
                return Err(format!(
                    "{here}.verify_method: SMS, EMAIL or NO_AUTHENTICATION"
                ));
            }
        };
        let verify = if s.require_authentication {
            if verify == Verify::None {
                return Err(format!(
                    "{here}.verify_method: SMS or EMAIL when require_authentication is true"
                ));
            }
            verify
        } else {
            Verify::None
        };
        let phone = s
            .signer_phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        if let Some(phone) = phone
            && !(phone.starts_with('+')
                && (8..=16).contains(&phone.len())
                && phone[1..].bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "{here}.signer_phone: an E.164 number such as +6581234567"
            ));
        }
        if verify == Verify::Sms && phone.is_none() {
            return Err(format!("{here}.signer_phone is required for SMS"));
        }
        let signatures = s
            .esignatures
            .iter()
            .enumerate()
            .map(|(j, b)| {
                checked_box(
                    &format!("{here}.esignatures[{j}]"),
                    &b.placement,
                    &b.dimensions,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut digital_boxes = Vec::new();
        for (j, b) in s.digi_signatures.iter().enumerate() {
            let there = format!("{here}.digi_signatures[{j}]");
            if b.kind != "ndi" {
                return Err(format!("{there}.type: only \"ndi\" is supported"));
            }
            digital_boxes.push(checked_box(&there, &b.placement, &b.dimensions)?);
        }
        if digital_boxes.len() > 1 {
            return Err(format!(
                "{here}.digi_signatures: one \"ndi\" signature per signer"
            ));
        }
        if !signatures.is_empty() && !digital_boxes.is_empty() {
            return Err(format!(
                "{here}: electronic or digital signatures, not both"
            ));
        }
        if signatures.is_empty() && digital_boxes.is_empty() {
            return Err(format!(
                "{here}: at least one electronic or digital signature"
            ));
        }
        let mut texts = Vec::with_capacity(s.custom_texts.len());
        for (j, t) in s.custom_texts.iter().enumerate() {
            let there = format!("{here}.custom_texts[{j}]");
            let kind = match t.kind.as_str() {
                "text" => TextKind::Text,
                "custom-date" => TextKind::CustomDate,
                "actual-date" => TextKind::ActualDate,
                "stamp" => TextKind::Stamp,
                "initials" => TextKind::Initials,
                _ => {
                    return Err(format!(
                        "{there}.type: text, custom-date, actual-date, stamp or initials"
                    ));
                }
            };
            if t.descriptor.chars().count() > 200 {
                return Err(format!("{there}.descriptor: at most 200 characters"));
            }
            let b = checked_box(&there, &t.placement, &t.dimensions)?;
            texts.push((kind, t.descriptor.clone(), t.is_mandatory, b));
        }
        let digital = !digital_boxes.is_empty();
        signers.push(CheckedSigner {
            email: s.signer_email.trim().to_owned(),
            name: s.signer_name.trim().to_owned(),
            phone: phone.map(str::to_owned),
            sequence: s.sequence_number,
            verify,
            signatures: if digital { digital_boxes } else { signatures },
            digital,
            texts,
        });
    }
    let digital = signers.iter().filter(|s| s.digital).count();
    if digital != 0 && digital != signers.len() {
        return Err(format!(
            "{at}.signers: all signers use electronic signatures or all use digital signatures"
        ));
    }
    if digital > 0 && !process.is_sequential {
        return Err(format!(
            "{at}.is_sequential: digital signatures are signed in a sequence"
        ));
    }
    if digital > 1 && signers.iter().any(|s| !s.texts.is_empty()) {
        return Err(format!(
            "{at}.signers: no custom texts with several \"ndi\" signers"
        ));
    }
    let n = signers.len() as u32;
    if process.is_sequential {
        let mut numbers: Vec<u32> = signers.iter().map(|s| s.sequence).collect();
        numbers.sort_unstable();
        numbers.dedup();
        if numbers.first() != Some(&1) || numbers.iter().zip(1..).any(|(&got, want)| got != want) {
            return Err(format!(
                "{at}.signers: sequence numbers start from 1 and leave no gap"
            ));
        }
    } else if signers.iter().any(|s| s.sequence != 0) {
        return Err(format!(
            "{at}.signers: sequence_number is 0 when is_sequential is false"
        ));
    }
    let min = process.completion_requirement.min_number;
    if min == 0 || min > n {
        return Err(format!(
            "{at}.completion_requirement.min_number: between 1 and the number of signers ({n})"
        ));
    }
    if process.is_sequential && min != n {
        return Err(format!(
            "{at}.completion_requirement.min_number: equal to the number of signers when sequential"
        ));
    }
    Ok(CheckedProcess {
        expires_at,
        sequential: process.is_sequential,
        allow_download: process.allow_download,
        min_signers: min,
        signers,
    })
}

/// A SHA3-256 in hex, with or without `0x`, in either case.
pub(crate) fn digest(text: &str) -> Option<signet_core::values::Sha3Digest> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    if text.len() != 64 {
        return None;
    }
    text.to_ascii_lowercase().parse().ok()
}

/// A folder or document id: exactly 24 lower-case hex digits.
pub(crate) fn object_id<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.len() == 24 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        text.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOLDER_SAMPLE: &str = include_str!("../../samples/dedoco/create_folder.json");
    const DOCUMENT_SAMPLE: &str = include_str!("../../samples/dedoco/add_document.json");

    #[test]
    fn the_vendors_samples_parse_literally() {
        let folder: CreateFolder = serde_json::from_str(FOLDER_SAMPLE).expect("the sample");
        assert_eq!(folder.folder_name, "Test Folder");
        assert_eq!(folder.date_created, 1616383852);
        assert_eq!(folder.documents.len(), 2);
        assert_eq!(folder.business_processes.len(), 2);
        assert_eq!(folder.business_processes[1].document_id, Some(1));
        let first = check_process("bp[0]", &folder.business_processes[0], 1616383852)
            .expect("the sample's first process follows the rules");
        assert!(first.sequential);
        assert_eq!(first.signers[1].sequence, 2);
        assert_eq!(first.signers[0].verify, Verify::Sms);
        assert_eq!(first.signers[0].texts[0].0, TextKind::Text);
        let second = check_process("bp[1]", &folder.business_processes[1], 1616383852)
            .expect("the sample's ndi process follows the rules");
        assert!(second.signers.iter().all(|s| s.digital));

        let document: AddDocument = serde_json::from_str(DOCUMENT_SAMPLE).expect("the sample");
        let process = document.business_process.expect("it has one");
        let checked = check_process("business_process", &process, 0).expect("valid");
        assert_eq!(checked.min_signers, 1);
        assert!(!checked.sequential);

        let change: StatusChange =
            serde_json::from_str(r#"{"status": "voided", "request_date": 1616388028}"#)
                .expect("the sample");
        assert_eq!(change.status.as_deref(), Some("voided"));
    }

    fn sample_process() -> BusinessProcessIn {
        let folder: CreateFolder = serde_json::from_str(FOLDER_SAMPLE).expect("the sample");
        folder.business_processes[0].clone()
    }

    #[test]
    fn the_vendors_rules_hold() {
        let mut p = sample_process();
        p.signers[1].esignatures.clear();
        p.signers[1].digi_signatures = vec![DigitalBox {
            kind: "ndi".into(),
            placement: p.signers[0].esignatures[0].placement.clone(),
            dimensions: p.signers[0].esignatures[0].dimensions.clone(),
        }];
        assert!(
            check_process("p", &p, 0)
                .expect_err("refused")
                .contains("all signers")
        );

        let mut p = sample_process();
        p.is_sequential = false;
        for s in &mut p.signers {
            s.sequence_number = 0;
        }
        p.completion_requirement.min_number = 3;
        assert!(
            check_process("p", &p, 0)
                .expect_err("refused")
                .contains("min_number")
        );

        let mut p = sample_process();
        p.expiration_time = 10;
        assert!(
            check_process("p", &p, 20)
                .expect_err("refused")
                .contains("expiration_time")
        );

        let mut p = sample_process();
        p.signers[1].sequence_number = 3;
        assert!(
            check_process("p", &p, 0)
                .expect_err("refused")
                .contains("sequence")
        );

        let mut p = sample_process();
        p.signers[0].verify_method = "CARRIER_PIGEON".into();
        assert!(
            check_process("p", &p, 0)
                .expect_err("refused")
                .contains("verify_method")
        );
    }

    #[test]
    fn placements_are_fractions_inside_the_page() {
        let place = |x: &str, y: &str, w: &str, h: &str| {
            checked_box(
                "b",
                &Placement {
                    page: 1,
                    x: x.into(),
                    y: y.into(),
                },
                &Dimensions {
                    width: w.into(),
                    height: h.into(),
                },
            )
        };
        assert!(place("0.5", "0.5", "0.01", "0.005").is_ok());
        assert!(place("0", "0", "0.5", "0.5").is_ok());
        assert!(place("1", "0", "0.1", "0.1").is_err());
        assert!(place("0.95", "0", "0.1", "0.1").is_err());
        assert!(place("0.5", "0.5", "0", "0.1").is_err());
        assert!(place("-0.1", "0", "0.1", "0.1").is_err());
        assert!(place("1e-1", "0", "0.1", "0.1").is_err());
        assert!(place("NaN", "0", "0.1", "0.1").is_err());
        assert!(place("0.5.1", "0", "0.1", "0.1").is_err());
    }

    #[test]
    fn dates_are_the_vendors() {
        let at = OffsetDateTime::from_unix_timestamp(1616383852).expect("a time");
        assert_eq!(date(at), "2021-03-22T03:30:52.000Z");
    }

    #[test]
    fn ids_are_24_lower_hex() {
        type Id = signet_core::ids::FolderId;
        assert!(object_id::<Id>("605d89b600f7ab4d00541d2d").is_some());
        assert!(object_id::<Id>("605D89B600F7AB4D00541D2D").is_none());
        assert!(object_id::<Id>("605d89b600f7ab4d00541d2").is_none());
        assert!(
            digest("0xA3c124f1ae5d1e57a4a646512ca0471710e092ef0a39aa3a740da5447bcde237").is_some()
        );
    }
}
