//! Hashing of answers a person types (secret answers): Argon2id, run on a blocking thread so
//! that a burst of attempts cannot stall the async workers.
//!
//! Answers are compared after trimming surrounding white space and folding case, because people
//! retype an employee number or a city name with varying capitals; the stored hash is of that
//! normalised form.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The normalised form of an answer that is hashed and compared.
pub fn normalise_answer(answer: &str) -> String {
    answer.trim().to_lowercase()
}

/// Hashes an answer with Argon2id and a random salt; returns the PHC string.
pub async fn hash_answer(answer: &str) -> anyhow::Result<String> {
    let normalised = normalise_answer(answer);
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let hash = Argon2::default()
            .hash_password(normalised.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        Ok(hash.to_string())
    })
    .await?
}

/// Checks an answer against a stored PHC string, in constant time.
pub async fn verify_answer(answer: &str, phc: &str) -> anyhow::Result<bool> {
    let normalised = normalise_answer(answer);
    let phc = phc.to_owned();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        Ok(Argon2::default()
            .verify_password(normalised.as_bytes(), &parsed)
            .is_ok())
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_match_ignoring_case_and_spaces() -> anyhow::Result<()> {
        let hash = hash_answer("EMP-00142").await?;
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_answer("  emp-00142 ", &hash).await?);
        assert!(!verify_answer("EMP-00143", &hash).await?);
        Ok(())
    }
}
