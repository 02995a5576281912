//! Where the console's built assets (`pkg/`: the WASM chunks, their JS, the CSS) come from: a
//! directory (`--site-root`, `target/site` by default, as cargo-leptos writes it), or the
//! binary itself when it was built with the `embedded-site` feature (`scripts/release.sh`) and
//! no `--site-root` is given: one file to deploy, started from any directory.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// The site's assets as built into the binary, at build time from `target/site`.
#[cfg(feature = "embedded-site")]
#[derive(rust_embed::RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../target/site"]
struct Embedded;

/// Where the console's assets are served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    Dir(PathBuf),
    /// Built into this binary.
    Embedded,
}

/// The default directory, as cargo-leptos writes the site.
const DEFAULT_ROOT: &str = "target/site";

impl Site {
    /// `--site-root` if given; else the embedded site if this binary has one; else
    /// `target/site`.
    pub fn choose(site_root: Option<&Path>) -> Site {
        match site_root {
            Some(dir) => Site::Dir(dir.to_path_buf()),
            None if cfg!(feature = "embedded-site") => Site::Embedded,
            None => Site::Dir(PathBuf::from(DEFAULT_ROOT)),
        }
    }

    /// The directory Leptos is told about (the embedded site has none: the default, unused).
    pub fn root(&self) -> &Path {
        match self {
            Site::Dir(dir) => dir,
            Site::Embedded => Path::new(DEFAULT_ROOT),
        }
    }

    /// What is wrong with the site, if anything: the pages load `pkg/bucketshare.js` and
    /// `pkg/bucketshare.wasm` from it, and without them nothing in the console reacts to a
    /// click.
    pub fn problem(&self) -> Option<String> {
        let missing: Vec<String> = ["pkg/bucketshare.js", "pkg/bucketshare.wasm"]
            .iter()
            .filter(|file| !self.has(file))
            .map(|file| match self {
                Site::Dir(dir) => dir.join(file).display().to_string(),
                Site::Embedded => format!("{file} (in this binary)"),
            })
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "the console's pages will not work in browsers: {} missing (build the site with \
                 `cargo leptos build --release`, or point --site-root at a built one)",
                missing.join(" and ")
            )
        })
    }

    fn has(&self, file: &str) -> bool {
        match self {
            Site::Dir(dir) => dir.join(file).is_file(),
            Site::Embedded => embedded(file).is_some(),
        }
    }

    /// An asset of the embedded site as a response, if this is the embedded site and it has
    /// `path` (`/pkg/…`). Chunk names carry no hash: the browser revalidates (ETag).
    pub fn embedded_response(
        &self,
        path: &str,
        if_none_match: Option<&HeaderValue>,
    ) -> Option<Response> {
        if *self != Site::Embedded {
            return None;
        }
        let (bytes, mime, hash) = embedded(path.trim_start_matches('/'))?;
        let etag = format!("\"{}\"", hex::encode(&hash[..16]));
        if if_none_match.is_some_and(|given| given.as_bytes() == etag.as_bytes()) {
            return Some((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
        }
        Some(
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::ETAG, etag),
                    (header::CACHE_CONTROL, "no-cache".to_owned()),
                ],
                Body::from(bytes),
            )
                .into_response(),
        )
    }
}

/// An embedded file: its bytes, its type and a SHA-256 of its content.
#[cfg(feature = "embedded-site")]
fn embedded(path: &str) -> Option<(Vec<u8>, String, [u8; 32])> {
    let file = Embedded::get(path)?;
    let mime = file.metadata.mimetype().to_owned();
    Some((file.data.into_owned(), mime, file.metadata.sha256_hash()))
}

#[cfg(not(feature = "embedded-site"))]
fn embedded(_path: &str) -> Option<(Vec<u8>, String, [u8; 32])> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_root_given_wins_and_a_missing_site_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            Site::choose(Some(dir.path())),
            Site::Dir(dir.path().to_path_buf())
        );
        let problem = Site::choose(Some(dir.path())).problem().unwrap();
        assert!(problem.contains("bucketshare.js and "), "{problem}");
        assert!(problem.contains("bucketshare.wasm missing"), "{problem}");
        assert!(
            Site::Dir(dir.path().to_path_buf())
                .embedded_response("/pkg/bucketshare.js", None)
                .is_none()
        );
        if !cfg!(feature = "embedded-site") {
            assert_eq!(Site::choose(None), Site::Dir(PathBuf::from("target/site")));
        }
    }
}
