//! `bucketshare audit`: read the audit trail, filtered, a page at a time or exported whole as
//! JSON or CSV.

use clap::Args;
use domain::audit::{self, Event, Filter, Outcome};

use super::{Context, print_table};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Events of this share link.
    #[arg(long)]
    link: Option<String>,
    /// Events of this IAM user or admin (`cli:NAME` for the CLI).
    #[arg(long)]
    user: Option<String>,
    /// Events of this access key.
    #[arg(long)]
    key: Option<String>,
    #[arg(long)]
    bucket: Option<String>,
    /// Events on this object key (with --bucket).
    #[arg(long, requires = "bucket")]
    object: Option<String>,
    /// An S3 operation (GetObject) or admin action (link.revoke).
    #[arg(long)]
    action: Option<String>,
    /// allowed, denied or failed.
    #[arg(long)]
    outcome: Option<Outcome>,
    /// From this time on: RFC 3339 (2026-11-28T08:00:00Z), a date (2026-11-28), or a
    /// duration ago (90m, 7d).
    #[arg(long, value_parser = parse_time)]
    since: Option<i64>,
    /// Before this time (same forms as --since).
    #[arg(long, value_parser = parse_time)]
    until: Option<i64>,
    /// Events at most; 0 for all of them (an export).
    #[arg(long, default_value_t = 100)]
    limit: u64,
    /// Only events older than this event id: the next page after a page ending at it.
    #[arg(long)]
    before: Option<i64>,
    /// Print a JSON array.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV with a header row.
    #[arg(long)]
    csv: bool,
}

/// Rows fetched per query while exporting.
const PAGE: u32 = 1_000;

pub async fn run(cx: &Context, args: AuditArgs) -> anyhow::Result<()> {
    let filter = Filter {
        link: args.link,
        actor: args.user,
        access_key_id: args.key,
        bucket: args.bucket,
        key: args.object,
        action: args.action,
        outcome: args.outcome,
        since: args.since,
        until: args.until,
    };
    let mut left = if args.limit == 0 {
        u64::MAX
    } else {
        args.limit
    };
    let mut before = args.before;
    let mut shown = Vec::new();
    let mut first = true;
    if args.json {
        print!("[");
    } else if args.csv {
        println!("{}", audit::CSV_COLUMNS.join(","));
    }
    while left > 0 {
        let page = u32::try_from(left.min(u64::from(PAGE))).unwrap_or(PAGE);
        let events = audit::query(&cx.pool, &filter, before, page).await?;
        for event in &events {
            if args.json {
                print!(
                    "{}{}",
                    if first { "" } else { "," },
                    serde_json::to_string(event)?
                );
            } else if args.csv {
                println!("{}", audit::csv_line(event));
            } else {
                shown.push(table_row(event));
            }
            first = false;
        }
        left -= events.len() as u64;
        before = events.last().map(|e| e.id);
        if events.len() < page as usize {
            before = None;
            break;
        }
    }
    if args.json {
        println!("]");
    } else if !args.csv {
        print_table(
            &[
                "ID", "TIME", "ACTOR", "VIA", "ACTION", "TARGET", "OUTCOME", "STATUS", "BYTES",
                "CLIENT",
            ],
            &shown,
        );
    }
    if let Some(last) = before.filter(|_| args.limit != 0) {
        eprintln!("More events may follow: add --before {last}");
    }
    Ok(())
}

/// `--since`/`--until`: RFC 3339, a date, or a duration ago; as Unix milliseconds.
fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let at = if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        at
    } else if let Ok(at) = humantime::parse_rfc3339_weak(&format!("{text}T00:00:00Z")) {
        at
    } else if let Ok(ago) = humantime::parse_duration(text) {
        std::time::SystemTime::now()
            .checked_sub(ago)
            .ok_or_else(|| format!("`{text}` ago is before the epoch"))?
    } else {
        return Err(format!(
            "`{text}` is not a time like 2026-11-28T08:00:00Z, 2026-11-28, or 90m (ago)"
        ));
    };
    at.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .map_err(|_| format!("`{text}` is before 1970"))
}

/// Unix milliseconds as `2026-11-28T08:00:00.123Z`.
fn show_millis(at: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at.max(0).unsigned_abs());
    humantime::format_rfc3339_millis(time).to_string()
}

fn table_row(event: &Event) -> Vec<String> {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let via = event
        .link_id
        .as_ref()
        .map(|l| format!("link {l}"))
        .or_else(|| event.access_key_id.clone())
        .unwrap_or_else(|| format!("{:?}", event.actor_kind).to_lowercase());
    let target = match (&event.bucket, &event.object_key, &event.target) {
        (Some(b), Some(k), _) => format!("s3://{b}/{k}"),
        (_, _, Some(t)) => t.clone(),
        (Some(b), None, None) => format!("s3://{b}"),
        _ => "-".to_owned(),
    };
    vec![
        event.id.to_string(),
        show_millis(event.at),
        or_dash(&event.actor),
        via,
        event.action.clone(),
        target,
        event.outcome.to_string(),
        event
            .status
            .map_or_else(|| "-".to_owned(), |s| s.to_string()),
        event.bytes_sent.to_string(),
        or_dash(&event.client_ip),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_absolute_dates_or_ago() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Ok(1000));
        assert_eq!(parse_time("1970-01-02"), Ok(86_400_000));
        let ago = parse_time("1h").unwrap();
        let now = audit::now_millis();
        assert!((now - ago - 3_600_000).abs() < 5_000, "{ago}");
        assert!(parse_time("yesterday-ish").is_err());
        assert_eq!(show_millis(1_500), "1970-01-01T00:00:01.500Z");
    }
}
