//! The S3 operations bucketshare tells apart, named once: the permission each one needs
//! ([`Operation::need`], the table the S3 endpoint's access check reads), and the names the
//! audit trail and the metrics record.

use strum::{EnumString, IntoStaticStr, VariantArray};

use crate::grants::Need;

/// An S3 operation, by the name S3 (and s3s) gives it. Operations not named here, and requests
/// for configurations bucketshare does not keep (ACLs, policies, tagging, …), are `Other`, which
/// needs `Owner`: anything new is closed until thought about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumString, IntoStaticStr, VariantArray)]
pub enum Operation {
    ListBuckets,
    CreateBucket,
    HeadBucket,
    GetBucketLocation,
    ListObjects,
    ListObjectsV2,
    ListObjectVersions,
    ListMultipartUploads,
    GetObject,
    HeadObject,
    GetObjectAttributes,
    PutObject,
    CopyObject,
    DeleteObject,
    DeleteObjects,
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    DeleteBucket,
    /// A browser form upload: refused.
    PostObject,
    Other,
}

impl Operation {
    /// The operation s3s names `name`; `Other` for a name not listed here.
    pub fn named(name: &str) -> Self {
        name.parse().unwrap_or(Operation::Other)
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The permission the operation needs on its bucket (on its key, or on the prefix a
    /// listing names). `None`: not a bucket operation (ListBuckets, CreateBucket), decided
    /// elsewhere.
    pub fn need(self) -> Option<Need> {
        use Operation::*;
        Some(match self {
            ListBuckets | CreateBucket => return None,
            HeadBucket | GetBucketLocation | ListObjects | ListObjectsV2 | ListObjectVersions
            | ListMultipartUploads | GetObject | HeadObject | GetObjectAttributes => Need::Read,
            PutObject
            | CopyObject
            | DeleteObject
            | DeleteObjects
            | CreateMultipartUpload
            | UploadPart
            | UploadPartCopy
            | CompleteMultipartUpload
            | AbortMultipartUpload
            | ListParts => Need::Write,
            DeleteBucket | PostObject | Other => Need::Owner,
        })
    }

    /// A bucket operation whose grant is checked against the prefix it lists, not the whole
    /// bucket.
    pub fn lists_a_prefix(self) -> bool {
        use Operation::*;
        matches!(
            self,
            ListObjects | ListObjectsV2 | ListObjectVersions | ListMultipartUploads
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_named_as_s3_names_it_and_unknown_names_need_owner() {
        for operation in Operation::VARIANTS {
            assert_eq!(Operation::named(operation.as_str()), *operation);
        }
        for name in [
            "GetBucketAcl",
            "PutBucketPolicy",
            "getobject",
            "GetObject ",
            "",
        ] {
            assert_eq!(Operation::named(name), Operation::Other, "{name:?}");
            assert_eq!(Operation::named(name).need(), Some(Need::Owner));
        }
        assert_eq!(Operation::GetObject.need(), Some(Need::Read));
        assert_eq!(Operation::UploadPart.need(), Some(Need::Write));
        assert_eq!(Operation::ListBuckets.need(), None);
    }
}
