//! Everything beside selling: the till's status and setup (demo, pairing), pickups, stock and
//! its count, and sync with its conflicts.

use std::time::Duration;

use tauri::State;
use trestle_till::pickups::CollectLines;
use trestle_till::Till;

use super::{index, qty, variant};
use crate::convert::*;
use crate::error::CmdResult;
use crate::state::AppState;
use crate::wire::*;

/// How long "Sync now" waits for its pass before showing the status as it is.
const SYNC_NOW_WAIT: Duration = Duration::from_secs(20);

fn status_of(till: Option<&Till>) -> CmdResult<TillStatus> {
    let Some(t) = till else {
        return Ok(TillStatus {
            configured: false,
            demo: false,
            shop_name: String::new(),
            currency: String::new(),
            receipt_prefix: String::new(),
            paired: false,
            hub_url: None,
            event: None,
        });
    };
    let shop = t.shop();
    let link = t.hub_link()?;
    let event = t
        .events()?
        .into_iter()
        .find(|e| e.till_status == "open")
        .map(|e| EventInfo {
            id: e.id,
            name: e.name,
        });
    Ok(TillStatus {
        configured: true,
        demo: t.is_demo(),
        shop_name: shop.name.clone(),
        currency: shop.currency.code().to_string(),
        receipt_prefix: shop.prefix.to_string(),
        paired: link.is_some(),
        hub_url: link.map(|l| l.hub_url),
        event,
    })
}

#[tauri::command(async)]
pub fn till_status(state: State<'_, AppState>) -> CmdResult<TillStatus> {
    state.with_session(|s| status_of(s.till.as_ref()))
}

#[tauri::command(async)]
pub fn demo_start(state: State<'_, AppState>) -> CmdResult<TillStatus> {
    let status = state.with_session(|s| {
        if s.till.is_none() {
            s.till = Some(Till::init_demo(&state.dir)?);
        }
        status_of(s.till.as_ref())
    })?;
    Ok(status)
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn pair(args: PairArgs, state: State<'_, AppState>) -> CmdResult<TillStatus> {
    let status = state.with_session(|s| {
        match s.till.as_mut() {
            Some(t) => {
                t.pair(&args.hub_url, &args.code)?;
            }
            None => s.till = Some(Till::pair_new(&state.dir, &args.hub_url, &args.code)?),
        }
        status_of(s.till.as_ref())
    })?;
    state.start_sync();
    Ok(status)
}

#[tauri::command(async)]
pub fn reservations_today(state: State<'_, AppState>) -> CmdResult<Vec<ReservationSummary>> {
    state.with(|t, _| {
        t.pickups_today()?
            .iter()
            .map(|p| summary_out(t, p))
            .collect()
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn reservation_find(
    args: QueryArgs,
    state: State<'_, AppState>,
) -> CmdResult<Vec<ReservationSummary>> {
    state.with(|t, _| {
        t.find_pickups(&args.query)?
            .iter()
            .map(|p| summary_out(t, p))
            .collect()
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn reservation_get(args: CodeArgs, state: State<'_, AppState>) -> CmdResult<Reservation> {
    state.with(|t, _| reservation_out(t, &t.find_pickup(&args.code)?))
}

/// The reservation's lines by index, as the till's hand-over takes them.
fn lines_of(t: &Till, code: &str, lines: &[LineQty]) -> CmdResult<CollectLines> {
    if lines.is_empty() {
        return Err(AppError::invalid("choose what to hand over"));
    }
    let p = t.find_pickup(code)?;
    let items = lines
        .iter()
        .filter(|l| l.qty > 0)
        .map(|l| {
            let line = p.lines.get(index(l.index)).ok_or_else(|| {
                AppError::invalid(format!("pickup {} has no line {}", p.code, l.index + 1))
            })?;
            Ok((line.variant_id.to_string(), qty(l.qty)?))
        })
        .collect::<CmdResult<Vec<_>>>()?;
    if items.is_empty() {
        return Err(AppError::invalid("choose what to hand over"));
    }
    Ok(CollectLines::Items(items))
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn reservation_quote(
    args: CodeTendersArgs,
    state: State<'_, AppState>,
) -> CmdResult<TenderQuote> {
    state.with(|t, _| {
        let tenders = tenders_in(&args.tenders, t.shop().currency)?;
        let q = t.quote_pickup(&args.code, &CollectLines::All, &tenders)?;
        Ok(TenderQuote {
            due: q.due.minor(),
            paid: q.paid.minor(),
            remaining: q.remaining.minor(),
            change: q.change.minor(),
        })
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn reservation_hand_over(
    args: HandOverArgs,
    state: State<'_, AppState>,
) -> CmdResult<HandOver> {
    state.with(|t, _| {
        let lines = lines_of(t, &args.code, &args.lines)?;
        let tenders = tenders_in(&args.tenders, t.shop().currency)?;
        let done = t.collect_pickup(&args.code, &lines, tenders)?;
        Ok(HandOver {
            reservation: reservation_out(t, &done.pickup)?,
            receipt: done.sale.as_ref().map(|s| receipt_out(&t.shop().name, s)),
        })
    })
}

/// Marks a pickup packed and ready to hand over (`held → ready`).
#[tauri::command(async, rename_all = "snake_case")]
pub fn reservation_mark_ready(
    args: CodeArgs,
    state: State<'_, AppState>,
) -> CmdResult<Reservation> {
    state.with(|t, _| {
        let p = t.mark_pickup_ready(&args.code)?;
        reservation_out(t, &p)
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn stock_levels(args: QueryArgs, state: State<'_, AppState>) -> CmdResult<Vec<StockRow>> {
    state.with(|t, _| {
        Ok(t.stock_rows(&args.query)?
            .into_iter()
            .map(stock_out)
            .collect())
    })
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn stock_count(args: CountArgs, state: State<'_, AppState>) -> CmdResult<StockRow> {
    let v = variant(&args.variant_id)?;
    state.with(|t, _| {
        Ok(stock_out(t.correct_count(
            &v.to_string(),
            args.counted,
            &args.reason,
        )?))
    })
}

#[tauri::command(async)]
pub fn sync_status(state: State<'_, AppState>) -> CmdResult<SyncStatus> {
    let agent = state.sync_status();
    state.with_session(|s| match s.till.as_ref() {
        Some(t) => sync_out(agent.as_ref(), t),
        // Before setup there is nothing to sync: offline and unpaired, not an error.
        None => Ok(SyncStatus {
            online: false,
            paired: false,
            hub_url: None,
            pending_events: 0,
            last_sync_ms: None,
            last_error: None,
            conflicts: Vec::new(),
        }),
    })
}

#[tauri::command(async)]
pub fn sync_now(state: State<'_, AppState>) -> CmdResult<SyncStatus> {
    let Some(agent) = state.agent() else {
        return Err(trestle_till::Error::NotPaired.into());
    };
    let after = agent.sync_now_and_wait(SYNC_NOW_WAIT);
    state.with(|t, _| sync_out(Some(&after), t))
}

#[tauri::command(async, rename_all = "snake_case")]
pub fn conflict_resolve(args: ResolveArgs, state: State<'_, AppState>) -> CmdResult<SyncStatus> {
    let agent = state.sync_status();
    state.with(|t, _| {
        t.resolve_conflict(&args.id, &args.resolution, None)?;
        sync_out(agent.as_ref(), t)
    })
}

/// The window says it is interactive (status and first screen shown): logs the time since the
/// app started, the figure `docs/benchmarks.md` reports. Answers it in milliseconds.
#[tauri::command(async)]
pub fn app_ready(state: State<'_, AppState>) -> CmdResult<u32> {
    let ms = u32::try_from(state.started.elapsed().as_millis()).unwrap_or(u32::MAX);
    tracing::info!(ms, "window interactive");
    Ok(ms)
}
