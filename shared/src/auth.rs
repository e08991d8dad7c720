//! Inbound credentials: tokens stored as hashes and compared in constant time, and
//! Zendesk webhook signatures verified over the raw body.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// SHA-256 of an inbound token. Tokens are 256-bit random values, so a plain hash is enough:
/// there is nothing to brute-force that a salt would protect.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// Constant-time check of a presented token against this hash.
    pub fn matches(&self, presented: &str) -> bool {
        Self::of(presented).0.ct_eq(&self.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A new random token for an operator to paste into Zendesk (shown once, stored as a hash).
pub fn generate_token(prefix: &str) -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// A new `whsec_<base64>` signing secret (Standard Webhooks' format), shown once.
pub fn generate_whsec() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(format!("whsec_{}", STANDARD.encode(bytes)))
}

/// The signing key of a `whsec_<base64>` secret, if it is one.
pub fn whsec_key(secret: &SecretString) -> Option<Vec<u8>> {
    let encoded = secret.expose_secret().trim();
    STANDARD
        .decode(encoded.strip_prefix("whsec_").unwrap_or(encoded))
        .ok()
}

/// Standard Webhooks' `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn standard_webhook_signature(key: &[u8], id: &str, timestamp: u64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The headers of a JSON delivery signed the Standard Webhooks way, now: `id` stays the same
/// for every retry of one delivery, so the receiver can de-duplicate.
pub fn standard_webhook_headers(key: &[u8], id: &str, body: &str) -> [(&'static str, String); 4] {
    let timestamp = OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    [
        ("content-type", "application/json".to_owned()),
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            standard_webhook_signature(key, id, timestamp, body),
        ),
    ]
}

/// The token of an `Authorization: Bearer <token>` header value, if it is one.
pub fn bearer_token(header_value: &str) -> Option<&str> {
    let (scheme, token) = header_value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Zendesk-Webhook-Signature header is missing")]
    MissingSignature,
    #[error("the X-Zendesk-Webhook-Signature-Timestamp header is missing")]
    MissingTimestamp,
    #[error("the signature timestamp is not an RFC 3339 time")]
    MalformedTimestamp,
    #[error("the signature timestamp is more than 5 minutes away from now")]
    StaleTimestamp,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// How far a signature timestamp may be from our clock, either way.
pub const SIGNATURE_TOLERANCE: time::Duration = time::Duration::minutes(5);

/// Zendesk's webhook signature: base64(HMAC-SHA256(signing secret, timestamp + raw body)).
pub fn zendesk_signature(secret: &SecretString, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Verifies a Zendesk webhook signature in constant time, with a 5-minute timestamp tolerance.
pub fn verify_zendesk_signature(
    secret: &SecretString,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::MissingSignature)?;
    let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?;
    let signed_at = OffsetDateTime::parse(timestamp.trim(), &Rfc3339)
        .map_err(|_| SignatureError::MalformedTimestamp)?;
    if (now - signed_at).abs() > SIGNATURE_TOLERANCE {
        return Err(SignatureError::StaleTimestamp);
    }
    let expected = zendesk_signature(secret, timestamp, body);
    if expected
        .as_bytes()
        .ct_eq(signature.trim().as_bytes())
        .into()
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn hashes_round_trip_and_match_only_their_token() {
        let token = generate_token("dmw");
        let hash = TokenHash::of(token.expose_secret());
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash.clone()));
        assert!(hash.matches(token.expose_secret()));
        assert!(!hash.matches("dmw_other"));
        assert_eq!(format!("{hash:?}"), "TokenHash(..)");
    }

    #[test]
    fn bearer_scheme_is_required() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }

    #[test]
    fn signatures_are_checked_against_body_and_time() {
        let secret = SecretString::from("dGhpc19zZWNyZXQ");
        let now = datetime!(2026-11-21 10:00:00 UTC);
        let ts = "2026-11-21T09:58:00Z";
        let body = br#"{"event":"ticket_created"}"#;
        let sig = zendesk_signature(&secret, ts, body);
        assert_eq!(
            verify_zendesk_signature(&secret, Some(&sig), Some(ts), body, now),
            Ok(())
        );
        assert_eq!(
            verify_zendesk_signature(&secret, Some(&sig), Some(ts), b"{}", now),
            Err(SignatureError::Mismatch)
        );
        let late = datetime!(2026-11-21 10:03:01 UTC);
        assert_eq!(
            verify_zendesk_signature(&secret, Some(&sig), Some(ts), body, late),
            Err(SignatureError::StaleTimestamp)
        );
        assert_eq!(
            verify_zendesk_signature(&secret, Some(&sig), Some("yesterday"), body, now),
            Err(SignatureError::MalformedTimestamp)
        );
    }
}
