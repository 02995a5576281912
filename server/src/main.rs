// The console's view types are deep; laying them out in release builds needs more than the
// default 128 levels.
#![recursion_limit = "256"]

use std::process::ExitCode;

use clap::Parser;
use server::config::{Cli, Command, LogFormat, ServeArgs};
use tracing_subscriber::EnvFilter;

/// mimalloc, not the system's malloc: a small S3 GET allocates and frees often, across
/// threads, and glibc's malloc was a tenth of its time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(err) = init_logging(&cli) {
        eprintln!("bucketshare: {err:#}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        None => match ServeArgs::from_env() {
            Ok(args) => {
                server::serve::run(
                    &cli.data_dir,
                    cli.database_url.as_ref(),
                    cli.master_key.as_ref(),
                    cli.public_s3_url.as_deref(),
                    &cli.store,
                    args,
                )
                .await
            }
            Err(err) => err.exit(),
        },
        Some(Command::Serve(args)) => {
            server::serve::run(
                &cli.data_dir,
                cli.database_url.as_ref(),
                cli.master_key.as_ref(),
                cli.public_s3_url.as_deref(),
                &cli.store,
                args,
            )
            .await
        }
        Some(Command::Admin(command)) => {
            server::cli::run(
                &cli.data_dir,
                cli.database_url.as_ref(),
                cli.master_key.as_ref(),
                cli.public_s3_url.as_deref(),
                cli.store,
                command,
            )
            .await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bucketshare: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(cli: &Cli) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&cli.log)
        .map_err(|e| anyhow::anyhow!("--log {:?} is not a valid filter: {e}", cli.log))?;
    // PostgreSQL's notices ("relation already exists, skipping" at each start) are not news.
    let filter = filter.add_directive("sqlx::postgres::notice=warn".parse()?);
    // Logs go to standard error: standard output is the admin commands' answer (and the first
    // admin's password).
    // Colours only for a person at a terminal: a file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}
