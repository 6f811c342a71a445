//! Deliveries made the way a doclinc client makes them (create, upload, confirm), for tests of
//! what recipients see.

use anyhow::Context as _;
use serde_json::Value;

use crate::{TestApp, TestTenant};

/// A confirmed delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The create response.
    pub created: Value,
    /// Each recipient's link (from the banner of a self-sending tenant), in request order.
    pub links: Vec<String>,
    /// The transaction id.
    pub transaction_id: String,
}

impl Delivery {
    /// The path of a command of the create response (`Confirm`, `Cancel`, …).
    pub fn command(&self, rel: &str) -> String {
        self.created["commands"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["rel"] == rel))
            .and_then(|c| c["href"].as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

/// Creates a transaction at `path` (`/transactions/cells` or `/transactions/secrets`) with
/// `body`, and answers the create response (201 required).
pub async fn create(
    app: &TestApp,
    tenant: &TestTenant,
    path: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = app
        .http
        .post(app.url(path))
        .header("Authorization", tenant.bearer())
        .json(body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().as_u16() == 201,
        "create answered {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// The presigned upload URL of document `index` in a create response.
pub fn upload_url(created: &Value, index: usize) -> anyhow::Result<&str> {
    created["sendTransaction"]["documents"][index]["url"]
        .as_str()
        .context("an upload URL per document")
}

/// Creates a transaction at `path` (`/transactions/cells` or `/transactions/secrets`) with
/// `body`, uploads `documents` (one per document of the body, in order) and confirms it.
pub async fn deliver(
    app: &TestApp,
    tenant: &TestTenant,
    path: &str,
    body: &Value,
    documents: &[Vec<u8>],
) -> anyhow::Result<Delivery> {
    let created = create(app, tenant, path, body).await?;
    for (index, bytes) in documents.iter().enumerate() {
        let url = upload_url(&created, index)?;
        app.http
            .put(url)
            .body(bytes.clone())
            .send()
            .await?
            .error_for_status()?;
    }
    let delivery = Delivery {
        links: links_in(&created),
        transaction_id: String::new(),
        created,
    };
    let confirm = delivery.command("Confirm");
    let transaction_id = delivery.created["sendTransaction"]["transactionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.http
        .post(app.url(&confirm))
        .header("Authorization", tenant.bearer())
        .send()
        .await?
        .error_for_status()?;
    Ok(Delivery {
        transaction_id,
        ..delivery
    })
}

/// Cancels a delivery as its sender.
pub async fn cancel(app: &TestApp, tenant: &TestTenant, delivery: &Delivery) -> anyhow::Result<()> {
    app.http
        .delete(app.url(&delivery.command("Cancel")))
        .header("Authorization", tenant.bearer())
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// The portal links in a create response: one per recipient banner, else the single banner's.
fn links_in(created: &Value) -> Vec<String> {
    let banners: Vec<&str> = match created["banners"].as_array() {
        Some(list) => list.iter().filter_map(|b| b["banner"].as_str()).collect(),
        None => created["banner"].as_str().into_iter().collect(),
    };
    banners
        .into_iter()
        .filter_map(|html| {
            let start = html.find("href=\"")? + 6;
            let end = html[start..].find('"')?;
            Some(html[start..start + end].replace("&amp;", "&"))
        })
        .collect()
}
