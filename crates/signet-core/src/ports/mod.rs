//! The core: one struct holding the shared ports (store, blobs, clock, senders, master key,
//! settings) that every aggregate's service borrows. The services are `impl Core` blocks in
//! each aggregate's folder; this file holds only what they share.

pub mod blob;
pub mod callbacks;
pub mod inspect;
pub mod mail;
pub mod phone;
pub mod seal;
pub mod signature;
pub mod webhooks;

use std::net::IpAddr;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::blob::BlobStore;
use crate::clock::Clock;
use crate::crypto::MasterKey;
use crate::error::{CoreError, CoreResult};
use crate::ids::{EnvelopeId, EventId, TenantId};
use crate::model::*;
use crate::store::Store;

/// Settings the use-cases need.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// The externally visible base URL, without trailing slash (e.g. `https://signet.example`).
    pub public_url: String,
    /// How long an upload URL stays valid.
    pub upload_url_ttl: Duration,
    /// The recipient portal's limits.
    pub portal: crate::access::settings::PortalSettings,
}

/// Who is calling, resolved by a dialect from its own credentials.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant.
    pub tenant: Tenant,
    /// How to record the caller in events.
    pub actor: Actor,
    /// The client's address.
    pub ip: Option<IpAddr>,
}

/// The core services, shared by every dialect and the portal.
#[derive(Clone)]
pub struct Core {
    pub(crate) mail: Option<Arc<dyn crate::mail::MailSender>>,
    pub(crate) phone: Option<Arc<dyn crate::phone::PhoneSender>>,
    pub(crate) jobs_waiting: Arc<tokio::sync::Notify>,
    pub(crate) webhooks: Option<Arc<dyn crate::webhooks::WebhookSender>>,
    pub(crate) renderer: Arc<dyn crate::webhooks::NotificationRenderer>,
    pub(crate) inspector: Option<Arc<dyn inspect::DocumentInspector>>,
    pub(crate) signatures: Option<Arc<dyn signature::SignatureMaker>>,
    pub(crate) retriever: Option<Arc<dyn callbacks::FileRetriever>>,
    pub(crate) callback_renderer: Option<Arc<dyn callbacks::SenderCallbackRenderer>>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) master: MasterKey,
    pub(crate) settings: CoreSettings,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Assembles the core from its ports.
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        master: MasterKey,
        settings: CoreSettings,
    ) -> Self {
        Self {
            mail: None,
            phone: None,
            jobs_waiting: Arc::new(tokio::sync::Notify::new()),
            webhooks: None,
            renderer: Arc::new(crate::webhooks::NativeRenderer),
            inspector: None,
            signatures: None,
            retriever: None,
            callback_renderer: None,
            store,
            blobs,
            clock,
            master,
            settings,
        }
    }

    /// Sends e-mail through `sender`.
    pub fn with_mail_sender(mut self, sender: Arc<dyn crate::mail::MailSender>) -> Self {
        self.mail = Some(sender);
        self
    }

    pub(crate) fn mail_sender(&self) -> Option<&Arc<dyn crate::mail::MailSender>> {
        self.mail.as_ref()
    }

    /// Sends one-time codes through `sender`.
    pub fn with_phone_sender(mut self, sender: Arc<dyn crate::phone::PhoneSender>) -> Self {
        self.phone = Some(sender);
        self
    }

    pub(crate) fn phone_sender(&self) -> Option<&Arc<dyn crate::phone::PhoneSender>> {
        self.phone.as_ref()
    }

    /// Tells this process's worker that a job was enqueued for now, so that it does not wait for
    /// its next poll (workers of other processes still find it by polling).
    pub(crate) fn wake_worker(&self) {
        self.jobs_waiting.notify_one();
    }

    pub(crate) async fn jobs_enqueued(&self) {
        self.jobs_waiting.notified().await;
    }

    /// Fetches the files clients keep themselves (documents registered by digest) through
    /// `retriever`.
    pub fn with_file_retriever(mut self, retriever: Arc<dyn callbacks::FileRetriever>) -> Self {
        self.retriever = Some(retriever);
        self
    }

    /// Delivers tenants' webhooks through `sender`.
    pub fn with_webhook_sender(mut self, sender: Arc<dyn crate::webhooks::WebhookSender>) -> Self {
        self.webhooks = Some(sender);
        self
    }

    pub(crate) fn webhook_sender(&self) -> Option<&Arc<dyn crate::webhooks::WebhookSender>> {
        self.webhooks.as_ref()
    }

    /// Writes webhook bodies with `renderer` (the dialect's words) instead of Signet's own.
    pub fn with_notification_renderer(
        mut self,
        renderer: Arc<dyn crate::webhooks::NotificationRenderer>,
    ) -> Self {
        self.renderer = renderer;
        self
    }

    /// Checks uploaded documents for signing with `inspector`.
    pub fn with_document_inspector(
        mut self,
        inspector: Arc<dyn inspect::DocumentInspector>,
    ) -> Self {
        self.inspector = Some(inspector);
        self
    }

    /// Makes participants' signatures and completion seals with `maker`.
    pub fn with_signature_maker(mut self, maker: Arc<dyn signature::SignatureMaker>) -> Self {
        self.signatures = Some(maker);
        self
    }

    pub(crate) fn notification_renderer(&self) -> &dyn crate::webhooks::NotificationRenderer {
        self.renderer.as_ref()
    }

    /// The clock the core uses.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The clock itself, for the components that must keep the core's time (the built-in
    /// time-stamp authority and the CRLs: a test clock ahead of the system's would otherwise date
    /// a signer's certificate after the time-stamp on its own signature).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The metadata store: only the core's services reach it.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The master key (for sealing instance secrets).
    pub(crate) fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The settings.
    pub fn settings(&self) -> &CoreSettings {
        &self.settings
    }

    pub(crate) fn event(
        &self,
        tenant_id: TenantId,
        kind: EventKind,
        actor: Actor,
        ip: Option<IpAddr>,
    ) -> Event {
        Event {
            id: EventId::generate(),
            tenant_id,
            envelope_id: None,
            participant_id: None,
            document_id: None,
            kind,
            actor,
            ip,
            at: self.clock.now(),
            data: serde_json::Value::Null,
        }
    }

    /// The blob store (for the operator's command line and tests).
    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    pub(crate) fn caller_event(
        &self,
        caller: &Caller,
        kind: EventKind,
        envelope: EnvelopeId,
    ) -> Event {
        Event {
            envelope_id: Some(envelope),
            ..self.event(caller.tenant.id, kind, caller.actor.clone(), caller.ip)
        }
    }
}

/// Every call a tenant makes, read or write, is refused while the tenant is suspended.
pub(crate) fn require_active(tenant: &Tenant) -> CoreResult<()> {
    match tenant.status {
        TenantStatus::Active => Ok(()),
        _ => Err(CoreError::TenantSuspended),
    }
}
