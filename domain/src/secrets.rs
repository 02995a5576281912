//! Access key ids and secrets, and the master key that seals secrets at rest.
//!
//! SigV4 needs each secret in clear to check signatures, so secrets cannot be hashed. They are
//! sealed with XChaCha20-Poly1305 under a 256-bit master key kept outside the database (a 0600
//! file in the data dir, or `BUCKETSHARE_MASTER_KEY`), with the access key id as associated
//! data: a sealed secret copied onto another key's row does not open.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::Rng;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{Error, Result};

const ID_PREFIX: &str = "AK";
const ID_LEN: usize = 20;
const SECRET_LEN: usize = 40;
const NONCE_LEN: usize = 24;
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// An access key id: `AK` and 18 characters of `A–Z2–7`, like AWS's `AKIA…` ids.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccessKeyId(String);

impl AccessKeyId {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let rest: String = (0..ID_LEN - ID_PREFIX.len())
            .map(|_| char::from(ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())]))
            .collect();
        AccessKeyId(format!("{ID_PREFIX}{rest}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccessKeyId {
    type Error = Error;

    /// This fails if: the text is not `AK` followed by 18 characters of `A–Z2–7`.
    fn try_from(text: String) -> Result<Self> {
        let ok = text.len() == ID_LEN
            && text.starts_with(ID_PREFIX)
            && text.bytes().skip(2).all(|b| ID_ALPHABET.contains(&b));
        if ok {
            Ok(AccessKeyId(text))
        } else {
            Err(Error::invalid(
                "access key id",
                format!("`{text}` is not an access key id (AK followed by 18 of A-Z, 2-7)"),
            ))
        }
    }
}

impl std::str::FromStr for AccessKeyId {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        AccessKeyId::try_from(text.to_owned())
    }
}

impl From<AccessKeyId> for String {
    fn from(id: AccessKeyId) -> String {
        id.0
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKeyId({})", self.0)
    }
}

/// A secret access key: 40 characters, wiped from memory on drop, never shown by `Debug`,
/// compared in constant time.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<String>);

impl SecretKey {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let text: String = (0..SECRET_LEN)
            .map(|_| char::from(SECRET_ALPHABET[rng.random_range(0..SECRET_ALPHABET.len())]))
            .collect();
        SecretKey(Zeroizing::new(text))
    }

    /// The secret in clear: to show once at creation, or to check a signature.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Where the master key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterKeySource {
    Environment,
    ExistingFile,
    /// Generated now and written to the data dir (first start).
    NewFile,
}

/// The 256-bit key that seals access key secrets. Never in the database, never in logs.
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// The master key file's name inside the data dir.
    pub const FILE: &'static str = "master.key";

    /// The master key from `from_env` (base64 of 32 bytes) if given, else from the data dir's
    /// key file, which is created (mode 0600) if missing.
    ///
    /// This fails if: the given or stored key is not base64 of exactly 32 bytes; the file can
    /// be read by others than its owner; or the file cannot be read or written.
    pub fn load_or_create(
        data_dir: &Path,
        from_env: Option<&str>,
    ) -> Result<(Self, MasterKeySource)> {
        if let Some(text) = from_env {
            let key = Self::decode(text)
                .map_err(|m| Error::MasterKey(format!("BUCKETSHARE_MASTER_KEY {m}")))?;
            return Ok((key, MasterKeySource::Environment));
        }
        let path = data_dir.join(Self::FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                check_private(&path)?;
                let key = Self::decode(&text)
                    .map_err(|m| Error::MasterKey(format!("{} {m}", path.display())))?;
                Ok((key, MasterKeySource::ExistingFile))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = Zeroizing::new([0u8; 32]);
                rand::rng().fill(&mut bytes[..]);
                write_private_file(&path, BASE64.encode(&bytes[..]).as_bytes())?;
                Ok((Self::from_bytes(&bytes), MasterKeySource::NewFile))
            }
            Err(err) => Err(Error::MasterKey(format!(
                "cannot read {}: {err}",
                path.display()
            ))),
        }
    }

    fn decode(text: &str) -> std::result::Result<Self, String> {
        let bytes =
            Zeroizing::new(BASE64.decode(text.trim()).map_err(|_| {
                "is not base64 (expected 32 random bytes, base64-encoded)".to_owned()
            })?);
        let bytes: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| format!("holds {} bytes; a master key is exactly 32", bytes.len()))?;
        Ok(Self::from_bytes(bytes))
    }

    fn from_bytes(bytes: &[u8; 32]) -> Self {
        MasterKey {
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// Seals `secret` for the key `id`: a random 24-byte nonce, then the ciphertext and tag.
    pub fn seal(&self, id: &AccessKeyId, secret: &SecretKey) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill(&mut nonce[..]);
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: id.as_str().as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| Error::MasterKey("sealing failed".to_owned()))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// Seals any bytes, bound to `purpose` (what they are: the same bytes sealed for another
    /// purpose do not open as these). For secrets that must wait somewhere other than the
    /// access key table, such as a console session row.
    pub fn seal_bytes(&self, purpose: &str, clear: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill(&mut nonce[..]);
        let payload = Payload {
            msg: clear,
            aad: purpose.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| Error::MasterKey("sealing failed".to_owned()))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// Opens what [`MasterKey::seal_bytes`] sealed for `purpose`; `None` if it was not that.
    pub fn open_bytes(&self, purpose: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: purpose.as_bytes(),
        };
        self.cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .ok()
            .map(Zeroizing::new)
    }

    /// Opens what [`MasterKey::seal`] made for the key `id`.
    ///
    /// This fails if: the master key differs, the bytes were changed, or they were sealed for
    /// another key id.
    pub fn open(&self, id: &AccessKeyId, sealed: &[u8]) -> Result<SecretKey> {
        let unseal = || Error::Unseal(id.to_string());
        if sealed.len() <= NONCE_LEN {
            return Err(unseal());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: id.as_str().as_bytes(),
        };
        let clear = Zeroizing::new(
            self.cipher
                .decrypt(XNonce::from_slice(nonce), payload)
                .map_err(|_| unseal())?,
        );
        let text = std::str::from_utf8(&clear).map_err(|_| unseal())?;
        Ok(SecretKey(Zeroizing::new(text.to_owned())))
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| Error::MasterKey(format!("cannot stat {}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::MasterKey(format!(
            "{} is readable by others than its owner (mode {:o}); run chmod 600 on it",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<()> {
    Ok(())
}

/// Writes a new owner-only file durably: created exclusively, fsynced, and its directory
/// fsynced, so that a crash leaves either no file or the whole key.
fn write_private_file(path: &Path, contents: &[u8]) -> Result<()> {
    let fail =
        |e: std::io::Error| Error::MasterKey(format!("cannot write {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(contents).map_err(fail)?;
    file.write_all(b"\n").map_err(fail)?;
    file.sync_all().map_err(fail)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_secrets_have_their_shape() -> Result<()> {
        let id = AccessKeyId::generate();
        assert_eq!(id.as_str().len(), 20);
        assert!(id.as_str().starts_with("AK"));
        assert_eq!(id.as_str().parse::<AccessKeyId>()?, id);
        for bad in [
            "",
            "AK",
            "AKIAIOSFODNN7EXAMPL1",
            "XX234567ABCDEFGHIJKL",
            "AK234567abcdefghijkl",
        ] {
            assert!(bad.parse::<AccessKeyId>().is_err(), "{bad}");
        }
        let secret = SecretKey::generate();
        assert_eq!(secret.expose().len(), 40);
        assert_ne!(secret, SecretKey::generate());
        assert_eq!(format!("{secret:?}"), "SecretKey(<redacted>)");
        Ok(())
    }

    #[test]
    fn sealed_secrets_open_only_for_their_key_id_and_master_key() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::MasterKey(e.to_string()))?;
        let (master, source) = MasterKey::load_or_create(dir.path(), None)?;
        assert_eq!(source, MasterKeySource::NewFile);
        let id = AccessKeyId::generate();
        let secret = SecretKey::generate();
        let sealed = master.seal(&id, &secret)?;
        assert!(!sealed.windows(40).any(|w| w == secret.expose().as_bytes()));
        assert_eq!(master.open(&id, &sealed)?, secret);

        // The same file gives the same key back.
        let (again, source) = MasterKey::load_or_create(dir.path(), None)?;
        assert_eq!(source, MasterKeySource::ExistingFile);
        assert_eq!(again.open(&id, &sealed)?, secret);

        // Another key id, another master key, or a flipped bit: nothing opens.
        assert!(master.open(&AccessKeyId::generate(), &sealed).is_err());
        let other = tempfile::tempdir().map_err(|e| Error::MasterKey(e.to_string()))?;
        let (stranger, _) = MasterKey::load_or_create(other.path(), None)?;
        assert!(stranger.open(&id, &sealed).is_err());
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(master.open(&id, &tampered).is_err());
        assert!(master.open(&id, &sealed[..10]).is_err());
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private_and_checked() -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().map_err(|e| Error::MasterKey(e.to_string()))?;
        MasterKey::load_or_create(dir.path(), None)?;
        let path = dir.path().join(MasterKey::FILE);
        let mode = std::fs::metadata(&path).map_err(|e| Error::MasterKey(e.to_string()))?;
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::MasterKey(e.to_string()))?;
        let err = MasterKey::load_or_create(dir.path(), None)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("chmod 600")));
        Ok(())
    }

    #[test]
    fn a_master_key_from_the_environment_must_be_32_bytes() {
        let dir = std::env::temp_dir();
        assert!(MasterKey::load_or_create(&dir, Some("not base64!")).is_err());
        assert!(MasterKey::load_or_create(&dir, Some(&BASE64.encode([1u8; 16]))).is_err());
        let ok = MasterKey::load_or_create(&dir, Some(&BASE64.encode([7u8; 32])));
        assert!(matches!(ok, Ok((_, MasterKeySource::Environment))));
    }
}
