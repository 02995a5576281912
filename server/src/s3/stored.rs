//! What the embedded store keeps of an object besides its bytes, type and user metadata
//! (`objects.stored`, JSON): the standard headers it was written with, which GET and HEAD give
//! back as S3 does; the checksum it was sent with, given back when asked for
//! (`x-amz-checksum-mode: ENABLED`); and a multipart object's part sizes, which GET and HEAD
//! with `partNumber` and GetObjectAttributes read.

use s3s::dto::{Checksum, ChecksumAlgorithm, ChecksumType};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Stored {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// An HTTP date, as the client sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<StoredChecksum>,
    /// A multipart object's part sizes, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<u64>>,
}

/// A checksum of the whole object, as the client declared it and the store verified it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredChecksum {
    /// `CRC32`, `CRC32C`, `SHA1`, `SHA256` or `CRC64NVME`.
    pub algorithm: String,
    /// Base64, as S3 writes it.
    pub value: String,
}

impl Stored {
    /// Reads the column; a value this version cannot read counts as nothing stored.
    pub fn read(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The checksum as the output fields of GET, HEAD and PUT carry it.
    pub fn checksum_fields(&self) -> Checksum {
        let mut fields = Checksum::default();
        let Some(checksum) = &self.checksum else {
            return fields;
        };
        let value = Some(checksum.value.clone());
        match checksum.algorithm.as_str() {
            ChecksumAlgorithm::CRC32 => fields.checksum_crc32 = value,
            ChecksumAlgorithm::CRC32C => fields.checksum_crc32c = value,
            ChecksumAlgorithm::SHA1 => fields.checksum_sha1 = value,
            ChecksumAlgorithm::SHA256 => fields.checksum_sha256 = value,
            ChecksumAlgorithm::CRC64NVME => fields.checksum_crc64nvme = value,
            _ => {}
        }
        fields
    }
}

/// The checksum to keep of an upload: the one the request named (`x-amz-sdk-checksum-algorithm`
/// or the one `x-amz-checksum-*` it sent), as computed over what was received (already verified
/// against what was declared).
pub(super) fn keep(
    named: Option<&ChecksumAlgorithm>,
    computed: &Checksum,
) -> Option<StoredChecksum> {
    let candidates = [
        (ChecksumAlgorithm::CRC32, &computed.checksum_crc32),
        (ChecksumAlgorithm::CRC32C, &computed.checksum_crc32c),
        (ChecksumAlgorithm::SHA1, &computed.checksum_sha1),
        (ChecksumAlgorithm::SHA256, &computed.checksum_sha256),
        (ChecksumAlgorithm::CRC64NVME, &computed.checksum_crc64nvme),
    ];
    let wanted = named.map(ChecksumAlgorithm::as_str);
    candidates
        .into_iter()
        .filter(|(name, value)| value.is_some() && wanted.is_none_or(|w| w == *name))
        .find_map(|(name, value)| {
            value.clone().map(|value| StoredChecksum {
                algorithm: name.to_owned(),
                value,
            })
        })
}

/// `Content-Encoding` as kept: without `aws-chunked`, which only says how this request's body
/// was framed (S3 drops it too); nothing when that was all.
pub(super) fn kept_encoding(sent: Option<String>) -> Option<String> {
    let sent = sent?;
    let kept: Vec<&str> = sent
        .split(',')
        .map(str::trim)
        .filter(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// The standard headers an upload's input sets (`PutObjectInput`, `CopyObjectInput`,
/// `CreateMultipartUploadInput`: the same fields on three types), as [`Stored`].
macro_rules! headers_of {
    ($input:expr) => {
        $crate::s3::stored::Stored {
            cache_control: $input.cache_control.clone(),
            content_disposition: $input.content_disposition.clone(),
            content_encoding: $crate::s3::stored::kept_encoding($input.content_encoding.clone()),
            content_language: $input.content_language.clone(),
            expires: $input.expires.clone(),
            ..Default::default()
        }
    };
}
pub(super) use headers_of;

/// Sets the stored headers, and the checksum when `with_checksum`, on a GET or HEAD output
/// (`GetObjectOutput`, `HeadObjectOutput`). A `response-*` override the request made wins.
macro_rules! show {
    ($output:expr, $stored:expr, $with_checksum:expr) => {{
        let stored: &$crate::s3::stored::Stored = $stored;
        let output = &mut $output;
        output.cache_control = output
            .cache_control
            .take()
            .or_else(|| stored.cache_control.clone());
        output.content_disposition = output
            .content_disposition
            .take()
            .or_else(|| stored.content_disposition.clone());
        output.content_encoding = output
            .content_encoding
            .take()
            .or_else(|| stored.content_encoding.clone());
        output.content_language = output
            .content_language
            .take()
            .or_else(|| stored.content_language.clone());
        output.expires = output.expires.take().or_else(|| stored.expires.clone());
        if $with_checksum && stored.checksum.is_some() {
            let fields = stored.checksum_fields();
            output.checksum_crc32 = fields.checksum_crc32;
            output.checksum_crc32c = fields.checksum_crc32c;
            output.checksum_sha1 = fields.checksum_sha1;
            output.checksum_sha256 = fields.checksum_sha256;
            output.checksum_crc64nvme = fields.checksum_crc64nvme;
            output.checksum_type = Some($crate::s3::stored::full_object());
        }
    }};
}
pub(super) use show;

pub(super) fn full_object() -> ChecksumType {
    ChecksumType::from_static(ChecksumType::FULL_OBJECT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_is_not_kept_as_the_object_encoding() {
        let kept = |sent: &str| kept_encoding(Some(sent.to_owned()));
        assert_eq!(kept("gzip").as_deref(), Some("gzip"));
        assert_eq!(kept("deflate, gzip").as_deref(), Some("deflate, gzip"));
        assert_eq!(kept("gzip, aws-chunked").as_deref(), Some("gzip"));
        assert_eq!(kept("aws-chunked, gzip").as_deref(), Some("gzip"));
        assert_eq!(kept("AWS-Chunked"), None);
        assert_eq!(kept("aws-chunked, aws-chunked"), None);
        assert_eq!(kept_encoding(None), None);
    }

    #[test]
    fn an_unreadable_column_counts_as_nothing_stored() {
        assert!(Stored::read("not json").cache_control.is_none());
        let stored = Stored {
            expires: Some("Thu, 01 Dec 2026 16:00:00 GMT".to_owned()),
            parts: Some(vec![5, 1]),
            ..Default::default()
        };
        let back = Stored::read(&stored.to_json());
        assert_eq!(back.expires, stored.expires);
        assert_eq!(back.parts, Some(vec![5, 1]));
        assert_eq!(Stored::default().to_json(), "{}");
    }

    #[test]
    fn the_checksum_kept_is_the_one_named() {
        let computed = Checksum {
            checksum_crc32: Some("crc".to_owned()),
            checksum_sha256: Some("sha".to_owned()),
            ..Default::default()
        };
        let named = ChecksumAlgorithm::from_static(ChecksumAlgorithm::SHA256);
        let kept = keep(Some(&named), &computed).map(|c| (c.algorithm, c.value));
        assert_eq!(kept, Some(("SHA256".to_owned(), "sha".to_owned())));
        let first = keep(None, &computed).map(|c| c.algorithm);
        assert_eq!(first.as_deref(), Some("CRC32"));
        assert!(keep(None, &Checksum::default()).is_none());
    }
}
