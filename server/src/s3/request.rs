//! The one reading of an S3 request.
//!
//! Everything the endpoint decides before s3s serves a request — whether it is pre-signed,
//! which link it belongs to, its access key, whether its lifetime is within the cap, what the
//! audit records — reads the [`Reading`] made here, once per request. The query is decoded as
//! s3s decodes it (`serde_urlencoded` into name/value pairs: names and values, `+` as space,
//! `%XX`, invalid UTF-8 replaced), and headers are parsed by s3s's own signature crates, so that a name
//! written `X-Amz-Signatur%65` is the `X-Amz-Signature` s3s will check, and the path as s3s
//! decodes it. Anything that two readers could understand differently is refused here, before
//! any signature work:
//!
//! - an authentication parameter given twice (also once plainly and once encoded);
//! - an authentication parameter name in another case (`x-amz-signature`);
//! - SigV2 and SigV4 query parameters together, or query and header authentication together,
//!   or two `Authorization` headers;
//! - a signature that is not in its canonical form (s3s accepts only lower-case hex for SigV4,
//!   canonical base64 for SigV2), so that one link has exactly one signature text;
//! - a credential scope for another region or service;
//! - a pre-signed lifetime out of range (`X-Amz-Expires` not from 1 to the cap, SigV2 `Expires`
//!   further ahead than the cap);
//! - a browser POST upload (`multipart/form-data`), which bucketshare does not accept.

use domain::operation::Operation;
use domain::settings::MAX_LINK_SECS;
use http::{HeaderMap, Method, Uri};

/// The region the endpoint answers for; links are signed for it and credential scopes must
/// name it.
pub const REGION: &str = domain::links::REGION;

/// SigV4 query authentication parameters.
const V4_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];
/// SigV2 query authentication parameters.
const V2_PARAMS: [&str; 3] = ["AWSAccessKeyId", "Expires", "Signature"];

/// How a request authenticates, as s3s will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No signature at all.
    Anonymous,
    /// An `Authorization` header.
    Header { access_key: String },
    /// A pre-signed URL: its signature identifies a share link.
    Presigned {
        access_key: String,
        signature: String,
    },
}

/// Why a request is refused before s3s sees it: an S3 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: http::StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status: http::StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    fn query(message: impl Into<String>) -> Self {
        Refusal::bad("AuthorizationQueryParametersError", message)
    }
}

/// What the endpoint knows of a request before serving it.
#[derive(Debug, Clone)]
pub struct Reading {
    pub auth: Auth,
    /// Bucket and key as s3s decodes the path (`None` where the path has none).
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// Set when the request must not reach s3s.
    pub refusal: Option<Refusal>,
    /// Every signature the query names under `X-Amz-Signature` or `Signature` (at most
    /// [`MAX_CLAIMED`]): a refused request is audited against the link any of them belongs to.
    pub claimed_signatures: Vec<String>,
    /// The S3 operation asked, as the audit and the metrics name it ([`operation`]).
    pub operation: Operation,
}

/// Signatures of one refused request looked up in the registry, at most.
pub const MAX_CLAIMED: usize = 4;

/// What [`read`] needs besides the request.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The longest pre-signed lifetime accepted, in seconds (7 days at most).
    pub max_secs: i64,
    /// Now, in Unix seconds.
    pub now: i64,
    /// The base domain of virtual-host-style requests, if enabled.
    pub domain: Option<&'a str>,
}

impl Reading {
    /// The signature of a pre-signed request.
    pub fn signature(&self) -> Option<&str> {
        match &self.auth {
            Auth::Presigned { signature, .. } => Some(signature),
            _ => None,
        }
    }

    /// The access key the request claims, whether or not it turns out valid.
    pub fn access_key(&self) -> Option<&str> {
        match &self.auth {
            Auth::Anonymous => None,
            Auth::Header { access_key, .. } | Auth::Presigned { access_key, .. } => {
                Some(access_key)
            }
        }
    }
}

/// Reads a request once. Never fails: what cannot be read is a [`Refusal`] in the result, with
/// as much of the rest filled in as could be read (so that the refusal is audited against the
/// right link and key).
pub fn read(method: &Method, uri: &Uri, headers: &HeaderMap, rules: Rules<'_>) -> Reading {
    let (bucket, key) = bucket_and_key(uri, headers, rules.domain);
    let query: Result<Vec<(String, String)>, _> = match uri.query() {
        None => Ok(Vec::new()),
        Some(query) => serde_urlencoded::from_str(query),
    };
    let claimed_signatures = query
        .iter()
        .flatten()
        .filter(|(name, _)| name == "X-Amz-Signature" || name == "Signature")
        .map(|(_, value)| value.clone())
        .take(MAX_CLAIMED)
        .collect();
    let names: Vec<&str> = query
        .iter()
        .flatten()
        .map(|(name, _)| name.as_str())
        .collect();
    let copy = headers.contains_key("x-amz-copy-source");
    let operation = operation(method, bucket.is_some(), key.is_some(), &names, copy);
    let mut reading = Reading {
        auth: Auth::Anonymous,
        bucket,
        key,
        refusal: None,
        claimed_signatures,
        operation,
    };
    let Ok(pairs) = query else {
        reading.refusal = Some(Refusal::bad(
            "InvalidURI",
            "Couldn't parse the specified URI.",
        ));
        return reading;
    };
    match read_auth(method, &pairs, headers, rules) {
        Ok(auth) => reading.auth = auth,
        Err((auth, refusal)) => {
            reading.auth = auth;
            reading.refusal = Some(refusal);
        }
    }
    reading
}

/// The S3 operation a request asks for, named as S3 names it, from its method, the shape of its
/// path, its query's parameter names and whether it names a copy source. Requests for
/// configurations bucketshare does not keep (ACLs, policies, tagging, …) are `Other`.
pub fn operation(
    method: &Method,
    bucket: bool,
    key: bool,
    query: &[&str],
    copy: bool,
) -> Operation {
    use Operation::*;
    let has = |name: &str| query.contains(&name);
    let configuration = [
        "acl",
        "policy",
        "cors",
        "tagging",
        "lifecycle",
        "versioning",
        "website",
        "logging",
        "encryption",
        "notification",
        "replication",
        "object-lock",
        "retention",
        "legal-hold",
    ]
    .iter()
    .any(|name| has(name));
    match (method.as_str(), bucket, key) {
        _ if configuration => Other,
        ("GET", false, _) => ListBuckets,
        ("GET", true, false) if has("versions") => ListObjectVersions,
        ("GET", true, false) if has("uploads") => ListMultipartUploads,
        ("GET", true, false) if has("location") => GetBucketLocation,
        ("GET", true, false) if has("list-type") => ListObjectsV2,
        ("GET", true, false) => ListObjects,
        ("GET", true, true) if has("uploadId") => ListParts,
        ("GET", true, true) if has("attributes") => GetObjectAttributes,
        ("GET", true, true) => GetObject,
        ("HEAD", true, false) => HeadBucket,
        ("HEAD", true, true) => HeadObject,
        ("PUT", true, false) => CreateBucket,
        ("PUT", true, true) if has("uploadId") && copy => UploadPartCopy,
        ("PUT", true, true) if has("uploadId") => UploadPart,
        ("PUT", true, true) if copy => CopyObject,
        ("PUT", true, true) => PutObject,
        ("DELETE", true, false) => DeleteBucket,
        ("DELETE", true, true) if has("uploadId") => AbortMultipartUpload,
        ("DELETE", true, true) => DeleteObject,
        ("POST", true, false) if has("delete") => DeleteObjects,
        ("POST", true, false) => PostObject,
        ("POST", true, true) if has("uploads") => CreateMultipartUpload,
        ("POST", true, true) if has("uploadId") => CompleteMultipartUpload,
        _ => Other,
    }
}

type AuthResult = Result<Auth, (Auth, Refusal)>;

fn read_auth(
    method: &Method,
    pairs: &[(String, String)],
    headers: &HeaderMap,
    rules: Rules<'_>,
) -> AuthResult {
    let anonymous = |refusal| Err((Auth::Anonymous, refusal));
    let max_secs = rules.max_secs.clamp(1, MAX_LINK_SECS);
    // Names in another case than the protocol's are not guessed at.
    for (name, _) in pairs {
        let canonical = V4_PARAMS
            .iter()
            .chain(V2_PARAMS.iter())
            .find(|p| p.eq_ignore_ascii_case(name));
        if let Some(canonical) = canonical
            && *canonical != name
        {
            return anonymous(Refusal::query(format!(
                "The query parameter {canonical} must be written exactly so."
            )));
        }
    }
    let count = |name: &str| pairs.iter().filter(|(k, _)| k == name).count();
    let unique = |name: &str| {
        let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = values.next()?;
        values.next().is_none().then_some(first.as_str())
    };
    // What the request would be, for the audit, even when it is refused below.
    let v4_signature = unique("X-Amz-Signature");
    let v2_signature = unique("Signature");
    let presigned_guess = match (v2_signature, v4_signature) {
        (Some(signature), _) => Auth::Presigned {
            access_key: unique("AWSAccessKeyId").unwrap_or_default().to_owned(),
            signature: signature.to_owned(),
        },
        (None, Some(signature)) => Auth::Presigned {
            access_key: unique("X-Amz-Credential")
                .and_then(|c| c.split('/').next())
                .unwrap_or_default()
                .to_owned(),
            signature: signature.to_owned(),
        },
        (None, None) => Auth::Anonymous,
    };
    let refuse = |refusal| Err((presigned_guess.clone(), refusal));

    for name in V4_PARAMS.iter().chain(V2_PARAMS.iter()) {
        if count(name) > 1 {
            return refuse(Refusal::query(format!(
                "The query parameter {name} is given more than once."
            )));
        }
    }
    let has_v4 = V4_PARAMS.iter().any(|p| count(p) > 0);
    let has_v2 = V2_PARAMS.iter().any(|p| count(p) > 0);
    if has_v4 && has_v2 {
        return refuse(Refusal::query(
            "SigV2 and SigV4 query parameters cannot be mixed.",
        ));
    }
    let authorizations = headers.get_all(http::header::AUTHORIZATION).iter().count();
    if authorizations > 1 {
        return refuse(Refusal::bad(
            "InvalidArgument",
            "Only one Authorization header is allowed.",
        ));
    }
    let query_auth = count("X-Amz-Signature")
        + count("X-Amz-Credential")
        + count("X-Amz-Algorithm")
        + count("Signature")
        + count("AWSAccessKeyId");
    if query_auth > 0 && authorizations > 0 {
        return refuse(Refusal::bad(
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified",
        ));
    }
    if method == Method::POST && is_form(headers) {
        return refuse(Refusal {
            status: http::StatusCode::FORBIDDEN,
            code: "AccessDenied",
            message: "Browser POST uploads are not accepted by this endpoint; use PUT or a \
                      pre-signed PUT URL."
                .to_owned(),
        });
    }

    // s3s looks for SigV2 first, then SigV4; the same order here.
    if let Some(signature) = v2_signature {
        let Auth::Presigned { access_key, .. } = &presigned_guess else {
            return refuse(Refusal::query("Signature is missing."));
        };
        if access_key.is_empty() {
            return refuse(Refusal::query("AWSAccessKeyId is missing."));
        }
        if !is_canonical_v2_signature(signature) {
            return refuse(Refusal::bad(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            ));
        }
        let Some(expires) = unique("Expires") else {
            return refuse(Refusal::query("Expires is missing."));
        };
        return match expires.parse::<i64>() {
            Ok(at) if at >= 0 && at - rules.now <= max_secs => Ok(presigned_guess.clone()),
            Ok(at) if at >= 0 && max_secs == MAX_LINK_SECS => refuse(Refusal::query(
                "Expires must be less than a week (in seconds) ahead",
            )),
            Ok(at) if at >= 0 => refuse(Refusal::query(format!(
                "Expires must be at most {max_secs} seconds ahead on this endpoint"
            ))),
            _ => refuse(Refusal::query(
                "Expires should be a number of seconds since the epoch",
            )),
        };
    }
    if let Some(header) = single_header(headers, http::header::AUTHORIZATION.as_str())
        && let Ok(v2) = s3s_sigv2::AuthorizationV2::parse(header)
    {
        return Ok(Auth::Header {
            access_key: v2.access_key.to_owned(),
        });
    }
    if let Some(signature) = v4_signature {
        let Some(algorithm) = unique("X-Amz-Algorithm") else {
            return refuse(Refusal::query("X-Amz-Algorithm is missing."));
        };
        if algorithm != "AWS4-HMAC-SHA256" {
            return refuse(Refusal::query(
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
            ));
        }
        let Some(credential) = unique("X-Amz-Credential") else {
            return refuse(Refusal::query("X-Amz-Credential is missing."));
        };
        if let Err(message) = check_scope(credential) {
            return refuse(Refusal::query(message));
        }
        if !is_canonical_v4_signature(signature) {
            return refuse(Refusal::bad(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            ));
        }
        // `u32` as s3s parses it.
        return match unique("X-Amz-Expires").map(|e| e.parse::<u32>().map(i64::from)) {
            Some(Ok(secs)) if (1..=max_secs).contains(&secs) => Ok(presigned_guess.clone()),
            Some(Ok(secs)) if secs > MAX_LINK_SECS => refuse(Refusal::query(
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            )),
            Some(Ok(secs)) if secs > max_secs => refuse(Refusal::query(format!(
                "X-Amz-Expires must be at most {max_secs} seconds on this endpoint"
            ))),
            _ => refuse(Refusal::query(format!(
                "X-Amz-Expires should be a number from 1 to {max_secs}"
            ))),
        };
    }
    if has_v4 || has_v2 {
        // Parts of a pre-signed URL without its signature: s3s would treat it as anonymous.
        return refuse(Refusal::query(
            "The authorization query parameters are incomplete.",
        ));
    }
    if let Some(header) = single_header(headers, http::header::AUTHORIZATION.as_str()) {
        let Ok(v4) = s3s_sigv4::AuthorizationV4::parse(header) else {
            return refuse(Refusal::bad(
                "AuthorizationHeaderMalformed",
                "The authorization header is malformed.",
            ));
        };
        let access_key = v4.credential.access_key_id.to_owned();
        let scope = (v4.credential.aws_region, v4.credential.aws_service);
        if let Err(message) = check_region_service(scope.0, scope.1) {
            return Err((
                Auth::Header { access_key },
                Refusal::bad("AuthorizationHeaderMalformed", message),
            ));
        }
        return Ok(Auth::Header { access_key });
    }
    if headers.contains_key(http::header::AUTHORIZATION) {
        // A header that is not valid text.
        return refuse(Refusal::bad(
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed.",
        ));
    }
    Ok(Auth::Anonymous)
}

fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    values.next().is_none().then(|| value.to_str().ok())?
}

fn is_form(headers: &HeaderMap) -> bool {
    headers.get_all(http::header::CONTENT_TYPE).iter().any(|v| {
        v.as_bytes()
            .to_ascii_lowercase()
            .windows(b"multipart/form-data".len())
            .any(|w| w == b"multipart/form-data")
    })
}

/// `AKID/DATE/REGION/SERVICE/aws4_request`, for this endpoint's region and S3.
fn check_scope(credential: &str) -> Result<(), String> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [_, _, region, service, "aws4_request"] = parts.as_slice() else {
        return Err(
            "X-Amz-Credential must be ACCESS_KEY/DATE/REGION/SERVICE/aws4_request".to_owned(),
        );
    };
    check_region_service(region, service)
}

fn check_region_service(region: &str, service: &str) -> Result<(), String> {
    if service != "s3" {
        return Err(format!(
            "The credential scope names the service '{}'; this endpoint is 's3'.",
            domain::audit::clean(service, 32)
        ));
    }
    if region != REGION {
        return Err(format!(
            "The region '{}' is wrong; expecting '{REGION}'",
            domain::audit::clean(region, 32)
        ));
    }
    Ok(())
}

/// The only SigV4 signature text s3s accepts: 64 lower-case hex digits.
fn is_canonical_v4_signature(signature: &str) -> bool {
    signature.len() == 64
        && signature
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The only SigV2 signature text s3s accepts: canonical base64 of 20 bytes (28 characters,
/// one `=`, the unused bits zero).
fn is_canonical_v2_signature(signature: &str) -> bool {
    use base64::Engine as _;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature) else {
        return false;
    };
    bytes.len() == 20 && base64::engine::general_purpose::STANDARD.encode(&bytes) == signature
}

/// Bucket and key as s3s reads them: the path percent-decoded (`+` stays a plus sign), the
/// bucket from the host name for virtual-host-style requests.
fn bucket_and_key(
    uri: &Uri,
    headers: &HeaderMap,
    domain: Option<&str>,
) -> (Option<String>, Option<String>) {
    let Ok(path) = urlencoding::decode(uri.path()) else {
        return (None, None);
    };
    let host_bucket = domain.and_then(|domain| {
        let host = headers.get(http::header::HOST)?.to_str().ok()?;
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let bucket = host.strip_suffix(domain)?.strip_suffix('.')?;
        (!bucket.is_empty()).then_some(bucket)
    });
    let trimmed = path.strip_prefix('/').unwrap_or(&path);
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    match host_bucket {
        Some(bucket) => (Some(bucket.to_owned()), non_empty(trimmed)),
        None => {
            let (bucket, key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
            (non_empty(bucket), non_empty(key))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const V2SIG: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    fn rules() -> Rules<'static> {
        Rules {
            max_secs: MAX_LINK_SECS,
            now: 1_000_000,
            domain: None,
        }
    }

    fn v4(query: &str) -> String {
        format!(
            "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKX%2F20261128%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261128T000000Z&X-Amz-SignedHeaders=host{query}"
        )
    }

    fn reading(uri: &str) -> Reading {
        let uri: Uri = uri.parse().unwrap();
        read(&Method::GET, &uri, &HeaderMap::new(), rules())
    }

    #[test]
    fn each_request_is_named_by_the_operation_it_asks_for() {
        let named = |method: &str, uri: &str, copy: bool| {
            let mut headers = HeaderMap::new();
            if copy {
                headers.insert("x-amz-copy-source", "b/other".parse().unwrap());
            }
            let method: Method = method.parse().unwrap();
            read(&method, &uri.parse().unwrap(), &headers, rules())
                .operation
                .as_str()
        };
        for (method, uri, copy, expected) in [
            ("GET", "/", false, "ListBuckets"),
            ("GET", "/b", false, "ListObjects"),
            ("GET", "/b?list-type=2&prefix=a", false, "ListObjectsV2"),
            ("GET", "/b?versions", false, "ListObjectVersions"),
            ("GET", "/b?uploads", false, "ListMultipartUploads"),
            ("GET", "/b?location", false, "GetBucketLocation"),
            ("GET", "/b/k", false, "GetObject"),
            ("GET", "/b/k?uploadId=u", false, "ListParts"),
            ("GET", "/b/k?attributes", false, "GetObjectAttributes"),
            ("GET", "/b/k?acl", false, "Other"),
            ("HEAD", "/b", false, "HeadBucket"),
            ("HEAD", "/b/k", false, "HeadObject"),
            ("PUT", "/b", false, "CreateBucket"),
            ("PUT", "/b?versioning", false, "Other"),
            ("PUT", "/b/k", false, "PutObject"),
            ("PUT", "/b/k", true, "CopyObject"),
            ("PUT", "/b/k?partNumber=1&uploadId=u", false, "UploadPart"),
            (
                "PUT",
                "/b/k?partNumber=1&uploadId=u",
                true,
                "UploadPartCopy",
            ),
            ("DELETE", "/b", false, "DeleteBucket"),
            ("DELETE", "/b/k", false, "DeleteObject"),
            ("DELETE", "/b/k?uploadId=u", false, "AbortMultipartUpload"),
            ("POST", "/b?delete", false, "DeleteObjects"),
            ("POST", "/b", false, "PostObject"),
            ("POST", "/b/k?uploads", false, "CreateMultipartUpload"),
            ("POST", "/b/k?uploadId=u", false, "CompleteMultipartUpload"),
            // Names are read as s3s reads them: decoded.
            (
                "POST",
                "/b/k?upload%49d=u",
                false,
                "CompleteMultipartUpload",
            ),
            ("PATCH", "/b/k", false, "Other"),
        ] {
            assert_eq!(
                named(method, uri, copy),
                expected,
                "{method} {uri} copy={copy}"
            );
        }
    }

    #[test]
    fn a_presigned_request_is_known_however_its_names_are_encoded() {
        let plain = reading(&v4(&format!("&X-Amz-Expires=60&X-Amz-Signature={SIG}")));
        assert_eq!(plain.refusal, None);
        assert_eq!(plain.signature(), Some(SIG));
        assert_eq!(plain.access_key(), Some("AKX"));
        for name in [
            "X-Amz-Signatur%65",
            "%58-Amz-Signature",
            "X%2DAmz%2dSignature",
        ] {
            let encoded = reading(&v4(&format!("&X-Amz-Expires=60&{name}={SIG}")));
            assert_eq!(encoded.signature(), Some(SIG), "{name}");
            assert_eq!(encoded.refusal, None, "{name}");
        }
        let v2 = reading(&format!(
            "/b/k?AWSAccessKeyId=AKY&Expir%65s=1000060&Signatur%65={}",
            V2SIG.replace('=', "%3D")
        ));
        assert_eq!(v2.refusal, None);
        assert_eq!(v2.signature(), Some(V2SIG));
    }

    #[test]
    fn ambiguous_requests_are_refused_but_still_name_their_link() {
        let twice = reading(&v4(&format!(
            "&X-Amz-Expires=60&X-Amz-Signature={SIG}&X-Amz-Signatur%65={SIG}"
        )));
        assert!(twice.refusal.is_some());
        let recased = reading(&v4(&format!("&X-Amz-Expires=60&x-amz-signature={SIG}")));
        assert!(recased.refusal.is_some());
        let mixed = reading(&v4(&format!(
            "&X-Amz-Expires=60&X-Amz-Signature={SIG}&AWSAccessKeyId=AKX"
        )));
        assert!(mixed.refusal.is_some());
        assert_eq!(mixed.signature(), Some(SIG));
        let expires_twice = reading(&v4(&format!(
            "&X-Amz-Expires=60&X-Amz-Expire%73=600000&X-Amz-Signature={SIG}"
        )));
        assert_eq!(expires_twice.signature(), Some(SIG));
        assert!(expires_twice.refusal.is_some());
        let upper = reading(&v4(&format!(
            "&X-Amz-Expires=60&X-Amz-Signature={}",
            SIG.to_uppercase()
        )));
        assert!(upper.refusal.is_some());
        let uri: Uri = v4(&format!("&X-Amz-Expires=60&X-Amz-Signature={SIG}"))
            .parse()
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "AWS AKX:abc".parse().unwrap());
        let both = read(&Method::GET, &uri, &headers, rules());
        assert_eq!(both.refusal.map(|r| r.code), Some("InvalidArgument"));
        assert_eq!(both.auth, reading(uri.to_string().as_str()).auth);
    }

    #[test]
    fn lifetimes_beyond_the_cap_are_refused_for_every_signature_kind() {
        for ok in ["1", "3600", "604800", "%36%30"] {
            let r = reading(&v4(&format!("&X-Amz-Expires={ok}&X-Amz-Signature={SIG}")));
            assert_eq!(r.refusal, None, "{ok}");
        }
        for bad in ["0", "-1", "604801", "soon", "", "4294967296", "6048%30%31"] {
            let r = reading(&v4(&format!("&X-Amz-Expires={bad}&X-Amz-Signature={SIG}")));
            assert_eq!(
                r.refusal.map(|r| r.code),
                Some("AuthorizationQueryParametersError"),
                "{bad}"
            );
        }
        let v2 = |at: i64, name: &str| {
            reading(&format!(
                "/b/k?AWSAccessKeyId=AKX&{name}={at}&Signature={}",
                V2SIG.replace('=', "%3D")
            ))
        };
        assert_eq!(v2(1_000_000 + 604_800, "Expires").refusal, None);
        assert!(v2(1_000_000 + 604_801, "Expires").refusal.is_some());
        assert!(v2(1_000_000 + 604_801, "Expire%73").refusal.is_some());
        assert!(v2(-5, "Expires").refusal.is_some());
        // A shorter cap, as set in Settings.
        let uri: Uri = v4(&format!("&X-Amz-Expires=3601&X-Amz-Signature={SIG}"))
            .parse()
            .unwrap();
        let short = Rules {
            max_secs: 3600,
            ..rules()
        };
        assert!(
            read(&Method::GET, &uri, &HeaderMap::new(), short)
                .refusal
                .is_some()
        );
    }

    #[test]
    fn scopes_for_another_region_or_service_are_client_errors() {
        let other_service = reading(&format!(
            "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKX%2F20261128%2Fus-east-1%2Fsqs%2Faws4_request&X-Amz-Date=20261128T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=60&X-Amz-Signature={SIG}"
        ));
        let refusal = other_service.refusal.unwrap();
        assert_eq!(refusal.status, http::StatusCode::BAD_REQUEST);
        let uri: Uri = "/b/k".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=AKX/20261128/eu-west-9/s3/aws4_request, SignedHeaders=host, Signature={SIG}").parse().unwrap(),
        );
        let other_region = read(&Method::GET, &uri, &headers, rules());
        assert_eq!(
            other_region.refusal.as_ref().map(|r| r.code),
            Some("AuthorizationHeaderMalformed")
        );
        assert_eq!(other_region.access_key(), Some("AKX"));
    }

    #[test]
    fn paths_are_decoded_as_s3s_decodes_them() {
        let r = reading("/team/reports/q1%20final+x.pdf");
        assert_eq!(r.bucket.as_deref(), Some("team"));
        assert_eq!(r.key.as_deref(), Some("reports/q1 final+x.pdf"));
        let root = reading("/");
        assert_eq!((root.bucket, root.key), (None, None));
        let uri: Uri = "/a/b".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "team.s3.example.com:9000".parse().unwrap());
        let vh = read(
            &Method::GET,
            &uri,
            &headers,
            Rules {
                domain: Some("s3.example.com"),
                ..rules()
            },
        );
        assert_eq!(vh.bucket.as_deref(), Some("team"));
        assert_eq!(vh.key.as_deref(), Some("a/b"));
    }

    #[test]
    fn browser_post_uploads_are_refused() {
        let uri: Uri = "/b".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            "multipart/form-data; boundary=x".parse().unwrap(),
        );
        let r = read(&Method::POST, &uri, &headers, rules());
        assert_eq!(r.refusal.map(|r| r.code), Some("AccessDenied"));
    }
}

/// The reader against s3s's own decoding, on generated queries: whatever the encoding of
/// names and values, a request s3s would treat as pre-signed is either refused or known by the
/// very signature s3s would check. (The fuzz target of the one request reader.)
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One character of a name or value, written plainly, as `%XX` (either case of hex) or, for
    /// a space, as `+`.
    fn written(c: char, how: u8) -> String {
        let mut out = String::new();
        match how % 4 {
            0 if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' => out.push(c),
            1 if c == ' ' => out.push('+'),
            2 => {
                for b in c.to_string().bytes() {
                    out.push_str(&format!("%{b:02x}"));
                }
            }
            _ => {
                for b in c.to_string().bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
        out
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(
                V4_PARAMS
                    .iter()
                    .chain(V2_PARAMS.iter())
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
            ),
            Just("x-amz-signature".to_owned()),
            Just("prefix".to_owned()),
            "[a-zA-Z-]{1,12}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_owned()),
            Just("AAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()),
            Just("AKX/20261128/us-east-1/s3/aws4_request".to_owned()),
            Just("60".to_owned()),
            "[ -~]{0,20}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn presigned_requests_always_reach_the_registry(
            pairs in proptest::collection::vec((name(), value(), any::<Vec<u8>>()), 0..8)
        ) {
            let query: Vec<String> = pairs
                .iter()
                .map(|(n, v, how)| {
                    let mut how = how.iter().copied().cycle();
                    let name: String = n.chars().map(|c| written(c, how.next().unwrap_or(0))).collect();
                    let value: String = v.chars().map(|c| written(c, how.next().unwrap_or(0))).collect();
                    format!("{name}={value}")
                })
                .collect();
            let uri = format!("/b/k?{}", query.join("&"));
            let Ok(uri) = uri.parse::<Uri>() else { return Ok(()) };
            let reading = read(&Method::GET, &uri, &HeaderMap::new(), Rules {
                max_secs: MAX_LINK_SECS,
                now: 1_000_000,
                domain: None,
            });
            // What s3s decodes.
            let decoded: Vec<(String, String)> =
                serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
            let s3s_signature = ["Signature", "X-Amz-Signature"]
                .iter()
                .find_map(|n| decoded.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()));
            if let Some(signature) = s3s_signature {
                prop_assert!(
                    reading.refusal.is_some() || reading.signature() == Some(signature.as_str()),
                    "{uri}: {reading:?}"
                );
            }
            if reading.refusal.is_none() {
                for auth in V4_PARAMS.iter().chain(V2_PARAMS.iter()) {
                    prop_assert!(decoded.iter().filter(|(k, _)| k == auth).count() <= 1, "{uri}");
                }
            }
        }

        #[test]
        fn any_request_target_is_read_without_panicking(target in "/[ -~]{0,200}") {
            if let Ok(uri) = target.parse::<Uri>() {
                let _ = read(&Method::GET, &uri, &HeaderMap::new(), Rules {
                    max_secs: MAX_LINK_SECS,
                    now: 1_000_000,
                    domain: Some("s3.example.com"),
                });
            }
        }
    }
}
