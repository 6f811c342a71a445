//! doclinc's webhook bodies: the core's typed notifications in doclinc's words
//! (`transaction.expired` with `transactionId`, `document.retrieved` with camel-case fields).

use signet_core::values::Email;
use signet_core::webhooks::{Notification, NotificationRenderer, RenderedNotification};

/// Renders notifications of envelopes created through doclinc.
#[derive(Debug, Clone, Copy, Default)]
pub struct DoclincRenderer;

impl NotificationRenderer for DoclincRenderer {
    fn render(&self, notification: &Notification) -> RenderedNotification {
        match notification {
            Notification::EnvelopeExpired {
                envelope,
                recipients,
            } => RenderedNotification {
                kind: "transaction.expired".into(),
                data: serde_json::json!({
                    "transactionId": envelope.to_string(),
                    "recipients": recipients.iter().map(Email::as_str).collect::<Vec<_>>(),
                }),
            },
            Notification::DocumentRetrieved {
                envelope,
                recipient,
                document,
                document_name,
            } => RenderedNotification {
                kind: "document.retrieved".into(),
                data: serde_json::json!({
                    "transactionId": envelope.to_string(),
                    "recipient": recipient.as_str(),
                    "documentId": document.to_string(),
                    "documentName": document_name.as_str(),
                }),
            },
            // A notification doclinc has no words for is sent in Signet's own shape rather than
            // dropped.
            other => signet_core::webhooks::NativeRenderer.render(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_core::ids::{DocumentId, EnvelopeId};
    use signet_core::values::DocumentName;

    #[test]
    fn a_retrieval_reads_as_doclinc_documents_it() {
        let envelope = EnvelopeId::generate();
        let document = DocumentId::generate();
        let rendered = DoclincRenderer.render(&Notification::DocumentRetrieved {
            envelope,
            recipient: "ana@example.com".parse::<Email>().expect("valid address"),
            document,
            document_name: "payslip.pdf".parse::<DocumentName>().expect("valid name"),
        });
        assert_eq!(rendered.kind, "document.retrieved");
        assert_eq!(rendered.data["transactionId"], envelope.to_string());
        assert_eq!(rendered.data["documentId"], document.to_string());
        assert_eq!(rendered.data["documentName"], "payslip.pdf");
        assert_eq!(rendered.data["recipient"], "ana@example.com");
    }
}
