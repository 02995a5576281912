//! `x-amz-checksum-*` verification: the checksums a request declares, in headers or (with
//! aws-chunked uploads, what current SDKs send) in trailers, must match what was received
//! before the object or part becomes visible.

use s3s::checksum::ChecksumHasher;
use s3s::dto::{Checksum, ChecksumAlgorithm};
use s3s::{S3Result, TrailingHeaders, s3_error};

/// The checksums a request declares.
#[derive(Debug, Default)]
pub(super) struct Declared {
    pub crc32: Option<String>,
    pub crc32c: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub crc64nvme: Option<String>,
    /// The algorithm named by `x-amz-sdk-checksum-algorithm` (its value may come as a trailer).
    pub algorithm: Option<ChecksumAlgorithm>,
}

/// The checksums declared by an upload's input (`PutObjectInput`, `UploadPartInput`: the same
/// fields on two types).
macro_rules! declared_by {
    ($input:expr) => {
        $crate::store::embedded::checksum::Declared {
            crc32: $input.checksum_crc32.clone(),
            crc32c: $input.checksum_crc32c.clone(),
            sha1: $input.checksum_sha1.clone(),
            sha256: $input.checksum_sha256.clone(),
            crc64nvme: $input.checksum_crc64nvme.clone(),
            algorithm: $input.checksum_algorithm.clone(),
        }
    };
}
pub(super) use declared_by;

impl Declared {
    /// A hasher for every declared checksum.
    pub fn hasher(&self) -> S3Result<ChecksumHasher> {
        let mut hasher = ChecksumHasher::default();
        let named = self.algorithm.as_ref().map(ChecksumAlgorithm::as_str);
        if self.crc32.is_some() || named == Some(ChecksumAlgorithm::CRC32) {
            hasher.crc32 = Some(Default::default());
        }
        if self.crc32c.is_some() || named == Some(ChecksumAlgorithm::CRC32C) {
            hasher.crc32c = Some(Default::default());
        }
        if self.sha1.is_some() || named == Some(ChecksumAlgorithm::SHA1) {
            hasher.sha1 = Some(Default::default());
        }
        if self.sha256.is_some() || named == Some(ChecksumAlgorithm::SHA256) {
            hasher.sha256 = Some(Default::default());
        }
        if self.crc64nvme.is_some() || named == Some(ChecksumAlgorithm::CRC64NVME) {
            hasher.crc64nvme = Some(Default::default());
        }
        match named {
            None
            | Some(
                ChecksumAlgorithm::CRC32
                | ChecksumAlgorithm::CRC32C
                | ChecksumAlgorithm::SHA1
                | ChecksumAlgorithm::SHA256
                | ChecksumAlgorithm::CRC64NVME,
            ) => Ok(hasher),
            Some(other) => Err(s3_error!(
                NotImplemented,
                "Checksum algorithm {other} is not supported"
            )),
        }
    }

    /// Takes checksum values sent as trailers (readable once the body has been consumed).
    pub fn add_trailers(&mut self, trailers: Option<&TrailingHeaders>) {
        let Some(headers) = trailers.and_then(TrailingHeaders::take) else {
            return;
        };
        let value = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        self.crc32 = self.crc32.take().or_else(|| value("x-amz-checksum-crc32"));
        self.crc32c = self
            .crc32c
            .take()
            .or_else(|| value("x-amz-checksum-crc32c"));
        self.sha1 = self.sha1.take().or_else(|| value("x-amz-checksum-sha1"));
        self.sha256 = self
            .sha256
            .take()
            .or_else(|| value("x-amz-checksum-sha256"));
        self.crc64nvme = self
            .crc64nvme
            .take()
            .or_else(|| value("x-amz-checksum-crc64nvme"));
    }

    /// This fails if: a declared checksum differs from the one computed (`BadDigest`).
    pub fn verify(&self, computed: &Checksum) -> S3Result<()> {
        let pairs = [
            ("CRC32", &self.crc32, &computed.checksum_crc32),
            ("CRC32C", &self.crc32c, &computed.checksum_crc32c),
            ("SHA1", &self.sha1, &computed.checksum_sha1),
            ("SHA256", &self.sha256, &computed.checksum_sha256),
            ("CRC64NVME", &self.crc64nvme, &computed.checksum_crc64nvme),
        ];
        for (name, declared, computed) in pairs {
            if let Some(declared) = declared
                && Some(declared) != computed.as_ref()
            {
                return Err(s3_error!(
                    BadDigest,
                    "The {name} checksum you specified did not match what we received."
                ));
            }
        }
        Ok(())
    }
}
