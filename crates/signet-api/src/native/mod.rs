//! Signet's own API, under `/v1`. Authentication is HTTP Basic with the tenant id as user name
//! and the API key as password (`curl -u TENANT:KEY`); errors are RFC 9457 problem documents.
//! The transparency log, the instance PKI and the time-stamp authority are served here too,
//! without credentials.

mod auth;
mod documents;
mod envelopes;
mod error;
mod ledger;
mod library;
mod openapi;
mod pagination;
mod pki;
mod wire;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post};

pub(crate) use error::NativeError;
pub(crate) use wire::NativeQuery;

use crate::AppState;
use crate::endpoint::Scope;

/// Every native operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /v1/documents`
    UploadDocument,
    /// `GET /v1/documents/{id}`
    ShowDocument,
    /// `DELETE /v1/documents/{id}`
    DeleteDocument,
    /// `GET /v1/documents/{id}/content`
    DocumentContent,
    /// `GET /v1/evidence/documents/{digest}`
    DocumentEvidence,
    /// `GET /v1/ledger/checkpoint`
    LedgerCheckpoint,
    /// `GET /v1/ledger/public-key`
    LedgerPublicKey,
    /// `GET /v1/ledger/leaves`
    LedgerLeaves,
    /// `GET /v1/ledger/proof/inclusion`
    LedgerInclusion,
    /// `GET /v1/ledger/proof/consistency`
    LedgerConsistency,
    /// `GET /v1/pki/root.pem`
    PkiRoot,
    /// `GET /v1/pki/crl`
    PkiCrl,
    /// `POST /v1/tsa`
    Timestamp,
    /// `POST /v1/envelopes`
    CreateEnvelope,
    /// `GET /v1/envelopes`
    ListEnvelopes,
    /// `GET /v1/envelopes/{id}`
    ShowEnvelope,
    /// `POST /v1/envelopes/{id}/void`
    VoidEnvelope,
    /// `POST /v1/envelopes/{id}/remind`
    RemindEnvelope,
    /// `GET /v1/envelopes/{id}/events`
    EnvelopeEvents,
    /// `GET /v1/envelopes/{id}/result`
    EnvelopeResult,
    /// `GET /v1/envelopes/{id}/certificate`
    EnvelopeCertificate,
    /// `GET /v1/openapi.json`
    OpenApiDocument,
    /// `GET /v1/docs`
    ApiDocs,
}

impl crate::endpoint::Endpoint for Endpoint {
    const DIALECT: &'static str = "native";
    const ALL: &'static [Self] = &[
        Self::UploadDocument,
        Self::ShowDocument,
        Self::DeleteDocument,
        Self::DocumentContent,
        Self::DocumentEvidence,
        Self::LedgerCheckpoint,
        Self::LedgerPublicKey,
        Self::LedgerLeaves,
        Self::LedgerInclusion,
        Self::LedgerConsistency,
        Self::PkiRoot,
        Self::PkiCrl,
        Self::Timestamp,
        Self::CreateEnvelope,
        Self::ListEnvelopes,
        Self::ShowEnvelope,
        Self::VoidEnvelope,
        Self::RemindEnvelope,
        Self::EnvelopeEvents,
        Self::EnvelopeResult,
        Self::EnvelopeCertificate,
        Self::OpenApiDocument,
        Self::ApiDocs,
    ];

    fn method(self) -> Method {
        match self {
            Self::Timestamp
            | Self::UploadDocument
            | Self::CreateEnvelope
            | Self::VoidEnvelope
            | Self::RemindEnvelope => Method::POST,
            Self::DeleteDocument => Method::DELETE,
            _ => Method::GET,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::UploadDocument => "/v1/documents",
            Self::ShowDocument | Self::DeleteDocument => "/v1/documents/{id}",
            Self::DocumentContent => "/v1/documents/{id}/content",
            Self::DocumentEvidence => "/v1/evidence/documents/{digest}",
            Self::LedgerCheckpoint => "/v1/ledger/checkpoint",
            Self::LedgerPublicKey => "/v1/ledger/public-key",
            Self::LedgerLeaves => "/v1/ledger/leaves",
            Self::LedgerInclusion => "/v1/ledger/proof/inclusion",
            Self::LedgerConsistency => "/v1/ledger/proof/consistency",
            Self::PkiRoot => "/v1/pki/root.pem",
            Self::PkiCrl => "/v1/pki/crl",
            Self::Timestamp => "/v1/tsa",
            Self::CreateEnvelope | Self::ListEnvelopes => "/v1/envelopes",
            Self::ShowEnvelope => "/v1/envelopes/{id}",
            Self::VoidEnvelope => "/v1/envelopes/{id}/void",
            Self::RemindEnvelope => "/v1/envelopes/{id}/remind",
            Self::EnvelopeEvents => "/v1/envelopes/{id}/events",
            Self::EnvelopeResult => "/v1/envelopes/{id}/result",
            Self::EnvelopeCertificate => "/v1/envelopes/{id}/certificate",
            Self::OpenApiDocument => "/v1/openapi.json",
            Self::ApiDocs => "/v1/docs",
        }
    }

    fn scope(self) -> Scope {
        match self {
            Self::UploadDocument
            | Self::ShowDocument
            | Self::DeleteDocument
            | Self::DocumentContent
            | Self::DocumentEvidence
            | Self::CreateEnvelope
            | Self::ListEnvelopes
            | Self::ShowEnvelope
            | Self::VoidEnvelope
            | Self::RemindEnvelope
            | Self::EnvelopeEvents
            | Self::EnvelopeResult
            | Self::EnvelopeCertificate => Scope::Tenant,
            _ => Scope::Public,
        }
    }

    fn handler(self) -> MethodRouter<AppState> {
        // Reads refuse a request that carries a body before reading it.
        let read = |router: MethodRouter<AppState>| {
            router.layer(tower_http::limit::RequestBodyLimitLayer::new(0))
        };
        match self {
            // The body streams into the blob store under the tenant's size limit.
            Self::UploadDocument => post(library::upload),
            Self::ShowDocument => read(get(library::show)),
            Self::DeleteDocument => read(delete(library::delete)),
            Self::DocumentContent => read(get(documents::download_document)),
            Self::DocumentEvidence => read(get(documents::document_evidence)),
            Self::LedgerCheckpoint => read(get(ledger::checkpoint)),
            Self::LedgerPublicKey => read(get(ledger::public_key)),
            Self::LedgerLeaves => read(get(ledger::leaves)),
            Self::LedgerInclusion => read(get(ledger::inclusion)),
            Self::LedgerConsistency => read(get(ledger::consistency)),
            Self::PkiRoot => get(pki::root),
            Self::PkiCrl => get(pki::crl),
            Self::Timestamp => {
                post(pki::timestamp).layer(DefaultBodyLimit::max(pki::MAX_TIMESTAMP_QUERY_BYTES))
            }
            // JSON bodies are read (size-limited) by the handlers' extractor.
            Self::CreateEnvelope => post(envelopes::create),
            Self::ListEnvelopes => read(get(envelopes::list)),
            Self::ShowEnvelope => read(get(envelopes::show)),
            Self::VoidEnvelope => post(envelopes::void),
            // No body is read: some clients always send `{}`, which is ignored.
            Self::RemindEnvelope => post(envelopes::remind),
            Self::EnvelopeEvents => read(get(envelopes::events)),
            Self::EnvelopeResult => read(get(envelopes::result)),
            Self::EnvelopeCertificate => read(get(envelopes::certificate)),
            Self::OpenApiDocument => read(get(openapi::openapi_json)),
            Self::ApiDocs => read(get(openapi::docs)),
        }
    }
}
