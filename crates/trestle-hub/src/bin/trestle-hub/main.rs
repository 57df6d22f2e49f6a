//! `trestle-hub`: serve the hub, or create a shop (printing its id and admin token).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::Currency;
use trestle_hub::directory::Directory;
use trestle_hub::{Application, Config};

#[derive(Parser)]
#[command(
    name = "trestle-hub",
    version,
    about = "The Trestle hub: the online store's inventory and order authority"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API until SIGINT/SIGTERM (in-flight writes are committed first).
    Serve {
        /// The directory database; each shop's file goes in `<db>.shops/`.
        #[arg(long, env = "TRESTLE_HUB_DB", default_value = "hub.sqlite")]
        db: PathBuf,
        /// Address and port to listen on (port 0 picks a free one and prints it).
        #[arg(long, env = "TRESTLE_HUB_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// First webhook retry delay in milliseconds (each next one doubles, with jitter).
        #[arg(long, env = "TRESTLE_HUB_WEBHOOK_RETRY_MS", default_value_t = 2000)]
        webhook_retry_ms: i64,
        /// How long a webhook endpoint may take to answer, in milliseconds.
        #[arg(long, env = "TRESTLE_HUB_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
        webhook_timeout_ms: u64,
        /// Each shop's WAL file is written ahead to this many MiB when the hub starts, so a
        /// till's large pass does not grow it block by block (0 turns it off; it costs this much
        /// disk per shop while the hub runs).
        #[arg(long, env = "TRESTLE_HUB_WAL_RESERVE_MIB", default_value_t = 32)]
        wal_reserve_mib: u64,
        /// Log lines as JSON (the default) or as text.
        #[arg(long, env = "TRESTLE_HUB_LOG_FORMAT", default_value = "json")]
        log_format: LogFormat,
    },
    /// Shop administration.
    Shop {
        #[command(subcommand)]
        command: ShopCommand,
    },
}

#[derive(Subcommand)]
enum ShopCommand {
    /// Create a shop; prints its id and the admin token (shown once: keep it safe).
    Create {
        #[arg(long, env = "TRESTLE_HUB_DB", default_value = "hub.sqlite")]
        db: PathBuf,
        #[arg(long)]
        name: String,
        /// ISO 4217 code, e.g. GBP, USD, JPY.
        #[arg(long)]
        currency: String,
        /// Whether prices include tax: inclusive or exclusive.
        #[arg(long, default_value = "inclusive")]
        tax: String,
        /// The tax rate of taxable products, in percent.
        #[arg(long, default_value = "0")]
        tax_rate: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Issue a new admin token for a shop (when the old one expired, leaked or was revoked;
    /// revoke the old one through the API).
    Token {
        #[arg(long, env = "TRESTLE_HUB_DB", default_value = "hub.sqlite")]
        db: PathBuf,
        /// The shop id printed by `shop create`.
        #[arg(long)]
        shop: uuid::Uuid,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => b.json().init(),
        LogFormat::Text => b.init(),
    }
}

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve {
            db,
            listen,
            webhook_retry_ms,
            webhook_timeout_ms,
            wal_reserve_mib,
            log_format,
        } => {
            init_logs(log_format);
            let mut config = Config::new(db, listen);
            config.webhook_retry_base_ms = webhook_retry_ms.max(1);
            config.webhook_timeout = std::time::Duration::from_millis(webhook_timeout_ms.max(1));
            config.wal_reserve = wal_reserve_mib.saturating_mul(1 << 20);
            serve(config)
        }
        Command::Shop {
            command:
                ShopCommand::Create {
                    db,
                    name,
                    currency,
                    tax,
                    tax_rate,
                    json,
                },
        } => create_shop(&db, &name, &currency, &tax, &tax_rate)
            .map(|(id, token)| print_token(id, &token, json)),
        Command::Shop {
            command: ShopCommand::Token { db, shop, json },
        } => Directory::open(&db)
            .and_then(|d| d.issue_admin_token(shop))
            .map_err(|e| e.to_string())
            .map(|token| print_token(shop, &token, json)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trestle-hub: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
fn print_token(shop: uuid::Uuid, token: &str, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "shop_id": shop, "admin_token": token })
        );
    } else {
        println!(
            "shop id:     {shop}\nadmin token: {token}\n(the token is shown once; keep it safe)"
        );
    }
}

fn create_shop(
    db: &std::path::Path,
    name: &str,
    currency: &str,
    tax: &str,
    rate: &str,
) -> Result<(uuid::Uuid, String), String> {
    let currency = Currency::parse(currency).map_err(|e| e.to_string())?;
    let mode = TaxMode::parse(tax).map_err(|e| e.to_string())?;
    let rate = TaxRate::parse_percent(rate).map_err(|e| e.to_string())?;
    let dir = Directory::open(db).map_err(|e| e.to_string())?;
    let (shop, token) = dir
        .create_shop(name, currency, mode, rate)
        .map_err(|e| e.to_string())?;
    Ok((shop.id, token))
}

#[allow(clippy::print_stdout)]
fn serve(config: Config) -> Result<(), String> {
    let listen = config.listen;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let app = Application::build(config)
            .await
            .map_err(|e| e.to_string())?;
        // The one line a script reads to learn the port (with --listen 127.0.0.1:0).
        println!("listening on http://{}:{}", listen.ip(), app.port());
        app.run_until(trestle_hub::app::shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    })
}
