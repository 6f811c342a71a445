//! Conversions between column values and core types.

use serde::Serialize;
use serde::de::DeserializeOwned;
use signet_core::model::{AuthMethod, Feature, Purpose, Role, TenantStatus};
use signet_core::store::StoreError;
use time::OffsetDateTime;

/// UTC microseconds since the epoch.
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(value: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1_000)
        .map_err(|e| corrupt(format!("timestamp {value}: {e}")))
}

pub(crate) fn opt_from_micros(value: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    value.map(from_micros).transpose()
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!("unreadable stored value: {what}"))
}

pub(crate) fn parse<T: std::str::FromStr>(column: &str, text: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| corrupt(format!("{column} = {text:?}")))
}

pub(crate) fn features_to_text(features: &[Feature]) -> String {
    features
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn features_from_text(text: &str) -> Result<Vec<Feature>, StoreError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| parse("features", s))
        .collect()
}

pub(crate) fn status_text(status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Suspended => "suspended",
        _ => "active",
    }
}

pub(crate) fn status_from_text(text: &str) -> Result<TenantStatus, StoreError> {
    match text {
        "active" => Ok(TenantStatus::Active),
        "suspended" => Ok(TenantStatus::Suspended),
        other => Err(corrupt(format!("status = {other:?}"))),
    }
}

pub(crate) fn purpose_text(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::CollectSignatures => "collect_signatures",
        _ => "deliver",
    }
}

pub(crate) fn purpose_from_text(text: &str) -> Result<Purpose, StoreError> {
    match text {
        "deliver" => Ok(Purpose::Deliver),
        "collect_signatures" => Ok(Purpose::CollectSignatures),
        other => Err(corrupt(format!("purpose = {other:?}"))),
    }
}

pub(crate) fn role_text(role: Role) -> &'static str {
    match role {
        Role::Signer => "signer",
        _ => "recipient",
    }
}

pub(crate) fn role_from_text(text: &str) -> Result<Role, StoreError> {
    match text {
        "recipient" => Ok(Role::Recipient),
        "signer" => Ok(Role::Signer),
        other => Err(corrupt(format!("role = {other:?}"))),
    }
}

pub(crate) fn auth_from_text(text: &str) -> Result<AuthMethod, StoreError> {
    AuthMethod::parse(text).ok_or_else(|| corrupt(format!("auth = {text:?}")))
}

/// A 32-byte hash stored as hex.
pub(crate) fn hash_from_hex(text: &str) -> Result<[u8; 32], StoreError> {
    hex::decode(text)
        .map_err(corrupt)?
        .try_into()
        .map_err(|_| corrupt("hash length"))
}

/// A count or size as the `BIGINT` it is stored in.
pub(crate) fn to_i64<T: TryInto<i64>>(value: T) -> Result<i64, StoreError>
where
    T::Error: std::fmt::Display,
{
    value.try_into().map_err(corrupt)
}

/// A stored `BIGINT` as the unsigned count or size it holds.
pub(crate) fn from_i64<T: TryFrom<i64>>(value: i64) -> Result<T, StoreError>
where
    T::Error: std::fmt::Display,
{
    T::try_from(value).map_err(corrupt)
}

/// The word a unit enum serialises to (`signer`, `email_code`, …): the stored form of the
/// signing model's enumerations.
pub(crate) fn word<T: Serialize>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value).map_err(corrupt)? {
        serde_json::Value::String(text) => Ok(text),
        other => Err(corrupt(format!("not a word: {other}"))),
    }
}

pub(crate) fn from_word<T: DeserializeOwned>(column: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| corrupt(format!("{column} = {text:?}")))
}
