//! Password hashes: argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane),
//! for console admins and share pages. Each hash takes tens of milliseconds of CPU and 19 MiB,
//! so they are made on blocking threads, two at most at once: a burst of attempts queues here
//! instead of exhausting memory and the blocking threads.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use rand::distr::Alphanumeric;
use zeroize::Zeroizing;

use crate::{Error, Result};

static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(failed)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn failed(err: impl std::fmt::Display) -> Error {
    Error::Password(err.to_string())
}

/// Hashes a password into a PHC string.
pub async fn hash(password: Zeroizing<String>) -> Result<String> {
    let _slot = SLOTS.acquire().await.map_err(failed)?;
    tokio::task::spawn_blocking(move || {
        argon2()?
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(failed)
    })
    .await
    .map_err(failed)?
}

/// Checks a password against a stored PHC string. `None` as the hash verifies against a dummy
/// hash (and fails), so that an unknown account costs the same time as a known one.
pub async fn verify(password: Zeroizing<String>, hash: Option<String>) -> Result<bool> {
    let _slot = SLOTS.acquire().await.map_err(failed)?;
    tokio::task::spawn_blocking(move || {
        let argon2 = argon2()?;
        let stored = match &hash {
            Some(hash) => hash.as_str(),
            None => dummy(&argon2)?,
        };
        let parsed = PasswordHash::new(stored).map_err(failed)?;
        Ok(argon2.verify_password(password.as_bytes(), &parsed).is_ok() && hash.is_some())
    })
    .await
    .map_err(failed)?
}

/// A hash of a random password, made once, to verify unknown accounts against.
fn dummy(argon2: &Argon2<'_>) -> Result<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let random: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let hash = argon2
        .hash_password(random.as_bytes())
        .map_err(failed)?
        .to_string();
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_hash_only() {
        let stored = hash(Zeroizing::new("correct horse battery".into()))
            .await
            .unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        let check = |p: &str, h: Option<String>| verify(Zeroizing::new(p.into()), h);
        assert!(
            check("correct horse battery", Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(!check("wrong", Some(stored)).await.unwrap());
        assert!(!check("anything", None).await.unwrap());
    }
}
