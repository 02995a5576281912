//! What the embedded store keeps of an object besides its bytes, type and user metadata
//! (`objects.stored`, JSON): the standard headers it was written with, which GET and HEAD give
//! back as S3 does; the checksum it was sent with, given back when asked for
//! (`x-amz-checksum-mode: ENABLED`); and a multipart object's part sizes, which GET and HEAD
//! with `partNumber` and GetObjectAttributes read.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use s3s::checksum::ChecksumHasher;
use s3s::dto::{Checksum, ChecksumAlgorithm, ChecksumType};
use s3s::{S3Result, s3_error};
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
    /// The object's checksum; on an upload in progress, the algorithm it was made with (the
    /// value empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<StoredChecksum>,
    /// `FULL_OBJECT` or `COMPOSITE` (a checksum of the parts' checksums, `-N`); absent:
    /// `FULL_OBJECT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    /// A multipart object's part sizes, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<u64>>,
    /// A multipart object's part checksums (base64, the object's algorithm), in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_checksums: Option<Vec<String>>,
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
        match &self.checksum {
            Some(checksum) => fields(&checksum.algorithm, checksum.value.clone()),
            None => Checksum::default(),
        }
    }

    /// Part `index`'s checksum as output fields (a GET or HEAD of one part).
    pub fn part_checksum_fields(&self, index: usize) -> Option<Checksum> {
        let algorithm = &self.checksum.as_ref()?.algorithm;
        let value = self.part_checksums.as_ref()?.get(index)?;
        Some(fields(algorithm, value.clone()))
    }

    /// The checksum type, as the output fields carry it.
    pub fn checksum_type(&self) -> ChecksumType {
        ChecksumType::from(
            self.checksum_type
                .clone()
                .unwrap_or_else(|| ChecksumType::FULL_OBJECT.to_owned()),
        )
    }

    /// The algorithm an upload was created with, if any.
    pub fn algorithm(&self) -> Option<ChecksumAlgorithm> {
        self.checksum
            .as_ref()
            .map(|c| ChecksumAlgorithm::from(c.algorithm.clone()))
    }
}

/// `value` in the output field of `algorithm`.
pub(super) fn fields(algorithm: &str, value: String) -> Checksum {
    let mut fields = Checksum::default();
    let value = Some(value);
    match algorithm {
        ChecksumAlgorithm::CRC32 => fields.checksum_crc32 = value,
        ChecksumAlgorithm::CRC32C => fields.checksum_crc32c = value,
        ChecksumAlgorithm::SHA1 => fields.checksum_sha1 = value,
        ChecksumAlgorithm::SHA256 => fields.checksum_sha256 = value,
        ChecksumAlgorithm::CRC64NVME => fields.checksum_crc64nvme = value,
        _ => {}
    }
    fields
}

/// The value of `algorithm` among computed or declared checksums.
pub(super) fn value_of(checksum: &Checksum, algorithm: &str) -> Option<String> {
    match algorithm {
        ChecksumAlgorithm::CRC32 => checksum.checksum_crc32.clone(),
        ChecksumAlgorithm::CRC32C => checksum.checksum_crc32c.clone(),
        ChecksumAlgorithm::SHA1 => checksum.checksum_sha1.clone(),
        ChecksumAlgorithm::SHA256 => checksum.checksum_sha256.clone(),
        ChecksumAlgorithm::CRC64NVME => checksum.checksum_crc64nvme.clone(),
        _ => None,
    }
}

/// A hasher computing `algorithm` only.
pub(super) fn hasher_for(algorithm: &str) -> ChecksumHasher {
    let mut hasher = ChecksumHasher::default();
    match algorithm {
        ChecksumAlgorithm::CRC32 => hasher.crc32 = Some(Default::default()),
        ChecksumAlgorithm::CRC32C => hasher.crc32c = Some(Default::default()),
        ChecksumAlgorithm::SHA1 => hasher.sha1 = Some(Default::default()),
        ChecksumAlgorithm::SHA256 => hasher.sha256 = Some(Default::default()),
        ChecksumAlgorithm::CRC64NVME => hasher.crc64nvme = Some(Default::default()),
        _ => {}
    }
    hasher
}

/// The checksum algorithm and type a multipart upload is created with, checked as S3 does:
/// SHA-1 and SHA-256 are composite only, CRC-64/NVME full-object only, CRC32 and CRC32C either
/// (composite unless asked).
pub(super) fn multipart_checksum(
    algorithm: Option<&ChecksumAlgorithm>,
    kind: Option<&ChecksumType>,
) -> S3Result<Option<(String, String)>> {
    let Some(algorithm) = algorithm else {
        if kind.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "x-amz-checksum-type needs x-amz-checksum-algorithm"
            ));
        }
        return Ok(None);
    };
    let algorithm = algorithm.as_str();
    let composite_only = [ChecksumAlgorithm::SHA1, ChecksumAlgorithm::SHA256].contains(&algorithm);
    let full_only = algorithm == ChecksumAlgorithm::CRC64NVME;
    if !composite_only
        && !full_only
        && ![ChecksumAlgorithm::CRC32, ChecksumAlgorithm::CRC32C].contains(&algorithm)
    {
        return Err(s3_error!(
            InvalidRequest,
            "Checksum algorithm {algorithm} is not supported"
        ));
    }
    let kind = match kind.map(ChecksumType::as_str) {
        None if full_only => ChecksumType::FULL_OBJECT,
        None => ChecksumType::COMPOSITE,
        Some(ChecksumType::FULL_OBJECT) if !composite_only => ChecksumType::FULL_OBJECT,
        Some(ChecksumType::COMPOSITE) if !full_only => ChecksumType::COMPOSITE,
        Some(other) => {
            return Err(s3_error!(
                InvalidRequest,
                "The {other} checksum type cannot be used with {algorithm}"
            ));
        }
    };
    Ok(Some((algorithm.to_owned(), kind.to_owned())))
}

/// A composite checksum: `algorithm` over the parts' checksums (decoded, in order), then
/// `-N`, as S3 computes it.
pub(super) fn composite(algorithm: &str, parts: &[String]) -> S3Result<String> {
    let mut hasher = hasher_for(algorithm);
    for part in parts {
        let raw = BASE64
            .decode(part)
            .map_err(|_| s3_error!(InternalError, "a stored part checksum is not base64"))?;
        hasher.update(&raw);
    }
    let value = value_of(&hasher.finalize(), algorithm)
        .ok_or_else(|| s3_error!(InternalError, "no checksum computed"))?;
    Ok(format!("{value}-{}", parts.len()))
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
        $crate::store::embedded::stored::Stored {
            cache_control: $input.cache_control.clone(),
            content_disposition: $input.content_disposition.clone(),
            content_encoding: $crate::store::embedded::stored::kept_encoding(
                $input.content_encoding.clone(),
            ),
            content_language: $input.content_language.clone(),
            expires: $input.expires.clone(),
            ..Default::default()
        }
    };
}
pub(super) use headers_of;

/// The checksum fields of any S3 type that has them (`CompletedPart`,
/// `CompleteMultipartUploadInput`, …), as a `Checksum`.
macro_rules! checksum_of {
    ($x:expr) => {
        s3s::dto::Checksum {
            checksum_crc32: $x.checksum_crc32.clone(),
            checksum_crc32c: $x.checksum_crc32c.clone(),
            checksum_sha1: $x.checksum_sha1.clone(),
            checksum_sha256: $x.checksum_sha256.clone(),
            checksum_crc64nvme: $x.checksum_crc64nvme.clone(),
            ..Default::default()
        }
    };
}
pub(super) use checksum_of;

/// Sets the checksum fields of any S3 type that has them (`PutObjectOutput`, `Part`, …) from
/// a `Checksum`.
macro_rules! set_checksum {
    ($output:expr, $fields:expr) => {{
        let fields: s3s::dto::Checksum = $fields;
        let output = &mut $output;
        output.checksum_crc32 = fields.checksum_crc32;
        output.checksum_crc32c = fields.checksum_crc32c;
        output.checksum_sha1 = fields.checksum_sha1;
        output.checksum_sha256 = fields.checksum_sha256;
        output.checksum_crc64nvme = fields.checksum_crc64nvme;
    }};
}
pub(super) use set_checksum;

/// Sets the stored headers, and the checksum when `with_checksum`, on a GET or HEAD output
/// (`GetObjectOutput`, `HeadObjectOutput`). A `response-*` override the request made wins. A
/// GET or HEAD of one part (`partNumber`) carries that part's checksum, as S3 does.
macro_rules! show {
    ($output:expr, $stored:expr, $with_checksum:expr, $part_number:expr) => {{
        let stored: &$crate::store::embedded::stored::Stored = $stored;
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
        let part: Option<i32> = $part_number;
        let fields = match part {
            Some(number) => usize::try_from(number)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|index| stored.part_checksum_fields(index)),
            None if $with_checksum && stored.checksum.is_some() => Some(stored.checksum_fields()),
            None => None,
        };
        if let Some(fields) = fields {
            $crate::store::embedded::stored::set_checksum!(*output, fields);
            output.checksum_type = Some(stored.checksum_type());
        }
    }};
}
pub(super) use show;

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
