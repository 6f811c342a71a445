//! Object identifiers used by CMS, RFC 3161 and X.509.

pub(crate) const DATA: &str = "1.2.840.113549.1.7.1";
pub(crate) const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
pub(crate) const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
pub(crate) const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
pub(crate) const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
pub(crate) const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
pub(crate) const SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
pub(crate) const SIGNATURE_TIME_STAMP_TOKEN: &str = "1.2.840.113549.1.9.16.2.14";
pub(crate) const SHA256: &str = "2.16.840.1.101.3.4.2.1";
pub(crate) const SHA384: &str = "2.16.840.1.101.3.4.2.2";
pub(crate) const SHA512: &str = "2.16.840.1.101.3.4.2.3";
pub(crate) const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
pub(crate) const ECDSA_WITH_SHA384: &str = "1.2.840.10045.4.3.3";
pub(crate) const ECDSA_WITH_SHA512: &str = "1.2.840.10045.4.3.4";
pub(crate) const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
pub(crate) const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
pub(crate) const SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
pub(crate) const SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";
pub(crate) const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
pub(crate) const P256: &str = "1.2.840.10045.3.1.7";
pub(crate) const P384: &str = "1.3.132.0.34";
pub(crate) const KP_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
