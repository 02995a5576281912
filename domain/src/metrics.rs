//! What bucketshare counts for Prometheus, in one registry for the process: S3 requests, link
//! uses, the audit queue, database and upstream errors, console sign-ins. The S3 endpoint, the
//! audit writer and the console record into [`get`]; `serve` exposes it at `/metrics` on the
//! console listener when `--metrics-token` is set ([`encode`]). Names, labels and help texts
//! are written once, here; `contrib/grafana-dashboard.json` charts them (a test checks that it
//! names only metrics that exist).

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// An S3 request's operation (as the audit names it) and status class (`2xx` … `5xx`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Request {
    pub operation: &'static str,
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Operation {
    pub operation: &'static str,
}

/// How a request through a registered share link or a share page ended: `allowed`, or
/// refused as `revoked`, `forbidden` (expired, key or user disabled, grant gone, over the cap;
/// a page's password), `not_found`, `gone` (a page expired or used up), `bad_request`, or
/// `failed` (5xx).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LinkUse {
    pub outcome: &'static str,
}

/// Where a database error happened: `s3` (the endpoint and its store), `audit` (the writer).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Place {
    pub place: &'static str,
}

/// A console sign-in's outcome: `ok`, `failed` (wrong name or password), `throttled`, or
/// `refused` (no valid anti-forgery token, a database error).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignIn {
    pub outcome: &'static str,
}

/// How a webhook delivery attempt ended: `delivered` (2xx), `refused` (another status), or
/// `no_answer` (connection failed or timed out).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookAttempt {
    pub outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub s3_requests: Family<Request, Counter>,
    pub s3_duration: Family<Operation, Histogram>,
    pub s3_received_bytes: Counter,
    pub s3_sent_bytes: Counter,
    pub access_check: Histogram,
    pub link_uses: Family<LinkUse, Counter>,
    pub audit_queue: Gauge,
    pub audit_written: Counter,
    pub audit_write_failures: Counter,
    pub audit_unrecorded: Counter,
    pub database_errors: Family<Place, Counter>,
    pub upstream_unavailable: Counter,
    pub sign_ins: Family<SignIn, Counter>,
    pub webhook_attempts: Family<WebhookAttempt, Counter>,
}

fn seconds_histogram() -> Histogram {
    // 1 ms to ~33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("bucketshare");
        let metrics = Metrics {
            s3_requests: Family::default(),
            s3_duration: Family::new_with_constructor(seconds_histogram),
            s3_received_bytes: Counter::default(),
            s3_sent_bytes: Counter::default(),
            access_check: seconds_histogram(),
            link_uses: Family::default(),
            audit_queue: Gauge::default(),
            audit_written: Counter::default(),
            audit_write_failures: Counter::default(),
            audit_unrecorded: Counter::default(),
            database_errors: Family::default(),
            upstream_unavailable: Counter::default(),
            sign_ins: Family::default(),
            webhook_attempts: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "s3_requests",
            "S3 requests answered, by operation and status class",
            metrics.s3_requests.clone(),
        );
        registry.register(
            "s3_request_duration_seconds",
            "Time from an S3 request's arrival to its answer's head, by operation",
            metrics.s3_duration.clone(),
        );
        registry.register(
            "s3_received_bytes",
            "Request body bytes of S3 requests, as their Content-Length declared them",
            metrics.s3_received_bytes.clone(),
        );
        registry.register(
            "s3_sent_bytes",
            "Answer body bytes of S3 requests, as their Content-Length declared them",
            metrics.s3_sent_bytes.clone(),
        );
        registry.register(
            "s3_access_check_seconds",
            "Time to authorize an S3 request: key, user and grants from the database",
            metrics.access_check.clone(),
        );
        registry.register(
            "link_uses",
            "Requests through registered share links, by outcome",
            metrics.link_uses.clone(),
        );
        registry.register(
            "audit_queue_events",
            "Audit events waiting to be written",
            metrics.audit_queue.clone(),
        );
        registry.register(
            "audit_events_written",
            "Audit events written to the database",
            metrics.audit_written.clone(),
        );
        registry.register(
            "audit_write_failures",
            "Failed writes of a batch of audit events (retried)",
            metrics.audit_write_failures.clone(),
        );
        registry.register(
            "audit_events_unrecorded",
            "Refused requests not recorded because the audit queue stayed full (a flood)",
            metrics.audit_unrecorded.clone(),
        );
        registry.register(
            "database_errors",
            "Database errors, by where they happened",
            metrics.database_errors.clone(),
        );
        registry.register(
            "upstream_unavailable",
            "S3 requests answered 503 because the upstream store did not answer",
            metrics.upstream_unavailable.clone(),
        );
        registry.register(
            "console_sign_ins",
            "Console sign-in attempts, by outcome",
            metrics.sign_ins.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts, by outcome",
            metrics.webhook_attempts.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Records one answered S3 request.
    pub fn s3_request(&self, operation: &'static str, status: u16, took: Duration) {
        let status = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.s3_requests
            .get_or_create(&Request { operation, status })
            .inc();
        self.s3_duration
            .get_or_create(&Operation { operation })
            .observe(took.as_secs_f64());
    }

    pub fn link_use(&self, outcome: &'static str) {
        self.link_uses.get_or_create(&LinkUse { outcome }).inc();
    }

    pub fn database_error(&self, place: &'static str) {
        self.database_errors.get_or_create(&Place { place }).inc();
    }

    pub fn webhook_attempt(&self, outcome: &'static str) {
        self.webhook_attempts
            .get_or_create(&WebhookAttempt { outcome })
            .inc();
    }

    pub fn sign_in(&self, outcome: &'static str) {
        self.sign_ins.get_or_create(&SignIn { outcome }).inc();
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

/// The metrics in Prometheus' text exposition format (OpenMetrics).
pub fn encode() -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &get().registry);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exposed_with_its_help_and_type() {
        let metrics = get();
        metrics.s3_request("GetObject", 206, Duration::from_millis(3));
        metrics.link_use("revoked");
        metrics.sign_in("failed");
        let text = encode();
        for line in [
            "# TYPE bucketshare_s3_requests counter",
            "bucketshare_s3_requests_total{operation=\"GetObject\",status=\"2xx\"} 1",
            "# TYPE bucketshare_s3_request_duration_seconds histogram",
            "bucketshare_s3_request_duration_seconds_bucket{le=\"0.004\",operation=\"GetObject\"} 1",
            "bucketshare_link_uses_total{outcome=\"revoked\"} 1",
            "bucketshare_console_sign_ins_total{outcome=\"failed\"} 1",
            "# TYPE bucketshare_audit_queue_events gauge",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
    }

    /// `contrib/grafana-dashboard.json` charts only metrics that exist: every
    /// `bucketshare_…` name in its queries is a series this registry exposes.
    #[test]
    fn the_grafana_dashboard_names_only_metrics_that_exist() {
        let metrics = get();
        metrics.s3_request("PutObject", 500, Duration::from_millis(1));
        metrics.link_use("allowed");
        metrics.database_error("s3");
        metrics.sign_in("ok");
        metrics.webhook_attempt("delivered");
        let exposed = encode();
        let families: Vec<(&str, &str)> = exposed
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_once(' '))
            .collect();
        let series_of = |family: &str, kind: &str| -> Vec<String> {
            match kind {
                "counter" => vec![format!("{family}_total")],
                "histogram" => ["_bucket", "_sum", "_count"]
                    .iter()
                    .map(|suffix| format!("{family}{suffix}"))
                    .collect(),
                _ => vec![family.to_owned()],
            }
        };
        let known: Vec<String> = families
            .iter()
            .flat_map(|(family, kind)| series_of(family, kind))
            .collect();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contrib/grafana-dashboard.json"
        );
        let dashboard = std::fs::read_to_string(path).expect("contrib/grafana-dashboard.json");
        let json: serde_json::Value = serde_json::from_str(&dashboard).expect("valid JSON");
        let mut named = 0;
        for panel in json["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                let mut rest = expr;
                while let Some(at) = rest.find("bucketshare_") {
                    let name: String = rest[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    assert!(
                        known.contains(&name),
                        "the dashboard names `{name}`, which is not exposed"
                    );
                    named += 1;
                    rest = &rest[at + name.len()..];
                }
            }
        }
        assert!(named >= 10, "the dashboard names only {named} series");
        // And every family is charted somewhere.
        for (family, _) in &families {
            assert!(
                dashboard.contains(family),
                "the dashboard does not chart {family}"
            );
        }
    }
}
