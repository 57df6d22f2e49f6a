//! The Trestle till's desktop shell: opens the till in its data directory, holds it and the
//! sync loop in Tauri state, and exposes the commands the web UI calls (`docs/app.md`). No
//! business logic here: every command is an adapter over a trestle-till service.

pub mod commands;
pub mod convert;
pub mod error;
pub mod state;
pub mod wire;

use tauri::Manager;

/// Declares the command table once: the handler Tauri dispatches to, and the list the
/// TypeScript `Commands` map is generated from (name, arguments, result).
macro_rules! app_commands {
    ($( $module:ident :: $name:ident ( $($args:ty)? ) -> $ret:ty ; )*) => {
        /// Every command as (name, TypeScript of its arguments, TypeScript of its result).
        pub fn command_table() -> Vec<(&'static str, String, String)> {
            vec![ $( (
                stringify!($name),
                app_commands!(@args $($args)?),
                <$ret as ts_rs::TS>::name(),
            ) ),* ]
        }

        fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![ $( commands::$module::$name ),* ]
        }
    };
    (@args) => { "Record<string, never>".to_string() };
    (@args $t:ty) => { <$t as ts_rs::TS>::name() };
}

use wire::*;

app_commands! {
    stall::till_status() -> TillStatus;
    sell::catalog_search(SearchArgs) -> Vec<CatalogItem>;
    sell::catalog_favourites() -> Vec<CatalogItem>;
    sell::cart_get() -> Cart;
    sell::cart_add(ItemQty) -> Cart;
    sell::cart_set_qty(LineQty) -> Cart;
    sell::cart_remove(LineIndex) -> Cart;
    sell::cart_line_discount(LineDiscountArgs) -> Cart;
    sell::cart_discount(DiscountArgs) -> Cart;
    sell::cart_clear() -> Cart;
    sell::cart_quote(TendersArgs) -> TenderQuote;
    sell::sale_complete(TendersArgs) -> Receipt;
    sell::sale_get(ReceiptArgs) -> Sale;
    sell::refund(RefundArgs) -> RefundResult;
    stall::reservations_today() -> Vec<ReservationSummary>;
    stall::reservation_find(QueryArgs) -> Vec<ReservationSummary>;
    stall::reservation_get(CodeArgs) -> Reservation;
    stall::reservation_quote(CodeTendersArgs) -> TenderQuote;
    stall::reservation_hand_over(HandOverArgs) -> HandOver;
    stall::reservation_mark_ready(CodeArgs) -> Reservation;
    stall::stock_levels(QueryArgs) -> Vec<StockRow>;
    stall::stock_count(CountArgs) -> StockRow;
    stall::sync_status() -> SyncStatus;
    stall::sync_now() -> SyncStatus;
    stall::conflict_resolve(ResolveArgs) -> SyncStatus;
    stall::pair(PairArgs) -> TillStatus;
    stall::demo_start() -> TillStatus;
    stall::app_ready() -> u32;
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRESTLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// WebKitGTK's defaults for the till (docs/benchmarks.md, "The desktop till"), set before GTK
/// starts and only where the environment does not say otherwise: no DMA-BUF renderer, so the web
/// process paints the till's flat 2D screens in its own memory instead of through an OpenGL
/// compositor (about 90 MiB less at idle under software GL, and no slower to start).
/// `WEBKIT_DISABLE_DMABUF_RENDERER=0` turns the renderer back on.
#[cfg(target_os = "linux")]
fn webkit_defaults() {
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        // Before any thread is started: nothing else reads the environment yet.
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
}

/// Milliseconds since `t`, for the start's log lines.
pub fn ms_since(t: std::time::Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Starts the app.
pub fn run() {
    let started = std::time::Instant::now();
    #[cfg(target_os = "linux")]
    webkit_defaults();
    init_logging();
    let built = tauri::Builder::default()
        .setup(move |app| {
            let dir = state::data_dir(app.path().app_data_dir().ok());
            tracing::info!(dir = %dir.display(), ms = ms_since(started), "opening the till");
            let st = state::AppState::open(&dir, started).map_err(|e| e.message)?;
            app.manage(st);
            tracing::info!(ms = ms_since(started), "till open");
            Ok(())
        })
        // The steps of the start, for scripts/measure-app: the page loaded, then the UI's
        // ready signal ("window interactive", logged by `app_ready`).
        .on_page_load(move |_, page| {
            if matches!(page.event(), tauri::webview::PageLoadEvent::Finished) {
                tracing::info!(ms = ms_since(started), "page loaded");
            }
        })
        .invoke_handler(handler())
        .run(tauri::generate_context!());
    if let Err(e) = built {
        tracing::error!(error = %e, "the till window could not start");
        std::process::exit(1);
    }
}
