//! The tables `trestle-bench` prints for the live drop, the sale commit, the replica, the market
//! day and the fault run (`main` prints the search benchmark's few lines and every `--json`).

use crate::stats::{milli_str, us_str, Summary};
use crate::{fault_run, live_drop, market_day, replica, sale_commit};

pub(crate) fn print_live_drop(r: &live_drop::Report) {
    println!(
        "live-drop: {} buyers racing for {} units of \"{}\" on shop A ({} attempts, {}); shop B: \
         {} checkouts/s of \"{}\"",
        r.buyers,
        r.units,
        live_drop::DROP_VARIANT,
        r.answered + r.errors,
        if r.a_rate == 0 {
            "each buyer as fast as answered".to_string()
        } else {
            format!("arriving at {}/s in all", r.a_rate)
        },
        r.b_rate,
        live_drop::STEADY_VARIANT
    );
    println!(
        "hub in process on 127.0.0.1 ({} runtime threads), load on {} threads, keep-alive HTTP/1; \
         files in {} (WAL, synchronous=FULL)",
        r.hub_threads, r.load_threads, r.dir
    );
    println!();
    println!(
        "throughput: {} checkouts/s ({} answered in {} ms: {} accepted, {} refused; {} errors{})",
        r.throughput,
        r.answered,
        r.drop_ms,
        r.accepted,
        r.refused,
        r.errors,
        r.first_error
            .as_ref()
            .map(|e| format!(", first: {e}"))
            .unwrap_or_default()
    );
    let mean_batch = r.batched_jobs.checked_div(r.batches).unwrap_or(0);
    println!(
        "group commit during the drop: {} transactions, {} jobs, {} jobs per commit on average",
        r.batches, r.batched_jobs, mean_batch
    );
    summary_head("ms per checkout");
    summary_row("shop A drop checkouts", &r.latency, ms_str);
    summary_row(
        &format!("shop B alone ({} accepted)", r.b_idle.samples),
        &r.b_idle,
        ms_str,
    );
    summary_row(
        &format!("shop B during the drop ({} accepted)", r.b_drop.samples),
        &r.b_drop,
        ms_str,
    );
    println!(
        "shop B p99 during / alone: {} ({} of B's checkouts not accepted)",
        milli_str(r.b_ratio_milli),
        r.b_errors
    );
    println!(
        "orders accepted: {} for {} units; oversells: {}; lowest available seen: {} ({} reads \
         during the drop), at the end: {}; replayed keys answered the same order: {}/{}; hub's \
         accepted counter during the drop: {}",
        r.accepted,
        r.units,
        r.oversells,
        r.min_available,
        r.level_samples,
        r.final_available,
        r.replays_ok,
        r.replays,
        r.hub_accepted
    );
    println!("correct: {}", if r.correct { "yes" } else { "NO" });
    goal_line(
        r.meets_goal,
        &format!(
            "≥ {} checkouts/s, p99 ≤ {} ms, exactly {} orders, B's p99 ≤ {}× alone",
            live_drop::GOAL_THROUGHPUT,
            ms_str(live_drop::GOAL_P99_NS),
            r.units,
            milli_str(live_drop::GOAL_B_RATIO_MILLI)
        ),
    );
}

pub(crate) fn print_sale_commit(r: &sale_commit::Report) {
    println!(
        "sale-commit: {} durable commits of each kind in {} interleaved rounds, after {} warm-up \
         commits of each",
        r.sales, r.rounds, r.warmup
    );
    println!(
        "files in {} · SQLite {} · WAL, synchronous=FULL · {} statements per commit",
        r.dir, r.sqlite_version, r.statements_per_commit
    );
    println!(
        "till = Till::sell of a 2-line cash sale (ledger + outbox + replica change); baseline = \
         bare transaction writing the same rows ({} B record, {} B outbox payload, {} B change); \
         baseline+am = the same with a real raw-Automerge change",
        r.record_bytes, r.payload_bytes, r.change_bytes
    );
    println!();
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>10}   µs per commit",
        "", "median", "p90", "p99", "mean", "max"
    );
    let row = |name: &str, s: &Summary| {
        println!(
            "{:<12} {:>10} {:>10} {:>10} {:>10} {:>10}",
            name,
            us_str(s.median_ns),
            us_str(s.p90_ns),
            us_str(s.p99_ns),
            us_str(s.mean_ns),
            us_str(s.max_ns)
        );
    };
    row("till", &r.till);
    row("baseline", &r.baseline);
    row("baseline+am", &r.baseline_automerge);
    println!();
    println!(
        "ratio till / baseline: median {}, mean {}; till / baseline+am: median {}",
        r.ratio_median, r.ratio_mean, r.ratio_median_automerge
    );
    match r.meets_goal {
        None => println!("smoke run: no claim is made from these figures"),
        Some(met) => println!(
            "goal: median ratio ≤ {} — {}",
            milli_str(sale_commit::GOAL_RATIO_MILLI),
            if met { "met" } else { "NOT met" }
        ),
    }
}

fn goal_line(met: Option<bool>, goal: &str) {
    match met {
        None => println!("smoke run: no claim is made from these figures"),
        Some(met) => println!("goal: {goal} — {}", if met { "met" } else { "NOT met" }),
    }
}

fn summary_row(name: &str, s: &Summary, show: fn(u64) -> String) {
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}",
        name,
        show(s.median_ns),
        show(s.p90_ns),
        show(s.p99_ns),
        show(s.mean_ns),
        show(s.max_ns)
    );
}

fn summary_head(unit: &str) {
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}   {unit}",
        "", "median", "p90", "p99", "mean", "max"
    );
}

/// Nanoseconds as milliseconds with one decimal.
fn ms_str(ns: u64) -> String {
    us_str(ns / 1000)
}

pub(crate) fn print_replica(r: &replica::Report) {
    println!(
        "replica: {} variants, 1 till + the hub; the till's policy: snapshot every {} actions, \
         rebase every {}",
        r.variants, r.snapshot_every, r.rebase_every
    );
    println!(
        "raw = one plain Automerge document of the same shape kept for ever (no epochs, no \
         invariant check); run took {} s",
        r.total_ms / 1000
    );

    let s = &r.sale;
    println!();
    println!(
        "(1) a 2-line sale at a till working alone: {} of each kind from a fresh document, in {} \
         interleaved rounds after {} warm-up sales",
        s.sales, s.rounds, s.warmup
    );
    summary_head("µs");
    summary_row("replica sell + take_unsaved_bytes", &s.replica, us_str);
    summary_row("raw 2 increments + commit + save_inc", &s.raw, us_str);
    if let Some(x) = &s.snapshot {
        summary_row(&format!("policy snapshot (×{})", x.samples), x, us_str);
    }
    if let Some(x) = &s.rebase {
        summary_row(&format!("policy rebase + save (×{})", x.samples), x, us_str);
    }
    println!(
        "ratio replica / raw (median): {}; replica per sale including snapshots and rebases \
         (mean): {} µs",
        s.ratio_median,
        us_str(s.replica_amortised_mean_ns)
    );

    let a = &r.apply;
    println!();
    println!(
        "(2) the hub applies one till sale (replica: merge_bytes + invariant check; raw: \
         load_incremental): {} per history, {} interleaved rounds",
        a.applies, a.rounds
    );
    summary_head("µs");
    for row in &a.replica {
        let name = format!("replica, history {} (epoch {})", row.history, row.epoch);
        summary_row(&name, &row.apply, us_str);
        if let Some(c) = &row.check {
            summary_row(
                "  full check_stock, for scale (merge_bytes checks only what it touched)",
                c,
                us_str,
            );
        }
    }
    for row in &a.raw {
        summary_row(&format!("raw, history {}", row.history), &row.apply, us_str);
    }
    if let Some(x) = &a.hub_rebase {
        summary_row(&format!("hub rebase + save (×{})", x.samples), x, us_str);
    }
    if let Some(x) = &a.till_adopt {
        summary_row(
            &format!("till adopt_epoch + save (×{})", x.samples),
            x,
            us_str,
        );
    }
    let span = |rows: &[replica::ApplyRow]| match (rows.first(), rows.last()) {
        (Some(f), Some(l)) => format!("{}/{}", l.history, f.history),
        _ => String::new(),
    };
    println!(
        "ratio of medians {}: replica {}; raw {} {} (raw history capped at {})",
        span(&a.replica),
        a.ratio_last_first,
        span(&a.raw),
        a.raw_ratio_last_first,
        a.raw_history_cap
    );
    println!(
        "history generated: replica pair in {} ms (batched per epoch), raw in {} ms",
        a.replica_build_ms, a.raw_build_ms
    );
    goal_line(
        a.meets_goal,
        &format!(
            "replica median ≤ {} µs at every history and last/first ≤ {}",
            us_str(replica::GOAL_APPLY_NS),
            milli_str(replica::GOAL_APPLY_RATIO_MILLI)
        ),
    );

    let z = &r.size;
    println!();
    println!(
        "(3) after {} sales: what the till stores and loads at start (snapshot + later changes) \
         vs the raw document saved whole; {} loads of each",
        z.sales, z.at_end.load.samples
    );
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}   bytes; load ms",
        "", "stored", "snapshot", "changes", "median", "p90"
    );
    let stored = |name: String, x: &replica::StoredRow| {
        println!(
            "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}",
            name,
            x.stored_bytes,
            x.snapshot_bytes,
            format!("{}×{}", x.later_changes, x.later_bytes),
            ms_str(x.load.median_ns),
            ms_str(x.load.p90_ns)
        );
    };
    let at = |x: &replica::StoredRow| format!("epoch {}, action {}", x.epoch, x.actions);
    stored(format!("replica at end ({})", at(&z.at_end)), &z.at_end);
    if let Some(h) = &z.heaviest {
        stored(format!("replica heaviest ({})", at(h)), h);
    }
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "raw, saved whole",
        z.raw_bytes,
        "",
        "",
        ms_str(z.raw_load.median_ns),
        ms_str(z.raw_load.p90_ns)
    );
    if let Some(h) = &z.heaviest {
        println!(
            "heaviest = the policy's largest state (snapshot + {} changes), last passed at {} sales",
            h.later_changes, h.sales
        );
    }
    println!(
        "archives (stored apart, not loaded at start): {} epochs, {} bytes in all",
        z.archives, z.archive_bytes
    );
    goal_line(
        z.meets_goal,
        &format!(
            "stored ≤ {} bytes and load median ≤ {} ms, at the end and at the heaviest point",
            replica::GOAL_STORED_BYTES,
            ms_str(replica::GOAL_LOAD_NS)
        ),
    );
}

pub(crate) fn print_sync_faults(r: &fault_run::FaultReport) {
    println!(
        "sync-faults: {} sales from {} tills over {} SKUs in {} rounds, {} faulty exchanges per million (seed {:#x})",
        r.sales, r.tills, r.skus, r.rounds, r.faults_per_million, r.seed
    );
    let faults: Vec<String> = r.faults.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "exchanges through the proxy   {:>8}   faulty {} ({}.{}%: {})",
        r.exchanges,
        r.faulty,
        r.faulty * 100 / r.exchanges.max(1),
        r.faulty * 1000 / r.exchanges.max(1) % 10,
        faults.join(", ")
    );
    println!(
        "sync passes                   {:>8}   cut off {}",
        r.passes, r.failed_passes
    );
    println!(
        "events at the hub             {:>8}   each exactly once",
        r.hub_events
    );
    println!(
        "counters compared per till    {:>8}   every till at the hub's counters, none below zero",
        r.counters_compared
    );
    println!(
        "time                          {:>8} s   selling {} s, syncing {} s",
        milli_str(r.elapsed_ms),
        milli_str(r.selling_ms),
        milli_str(r.syncing_ms)
    );
}

/// Bytes with thousands separators.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The market day's tables.
pub(crate) fn print_market_day(r: &market_day::Report) {
    println!(
        "market day: {} tills × {} sales over {} SKUs (selling took {} ms, not measured); \
         outbox as JSON {} B",
        r.tills,
        r.sales_per_till,
        r.skus,
        r.selling_ms,
        thousands(r.outbox_json_bytes)
    );
    println!();
    println!(
        "{:<44} {:>9} {:>12} {:>12} {:>12} {:>9}",
        "", "ms", "bytes", "up", "down", "messages"
    );
    let row = |name: &str, w: &market_day::Way| {
        println!(
            "{:<44} {:>9} {:>12} {:>12} {:>12} {:>9}",
            name,
            us_str(w.micros),
            thousands(w.bytes),
            thousands(w.bytes_up),
            thousands(w.bytes_down),
            w.exchanges
        );
    };
    row("trestle sync over HTTP (outbox included)", &r.trestle);
    row("raw Automerge sync (replica only)", &r.raw_sync);
    row("snapshots (replica only)", &r.snapshots);
    println!();
    for (till, ms, bytes) in &r.passes {
        println!("  pass of till {till}: {ms} ms, {} B", thousands(*bytes));
    }
    println!();
    println!(
        "{:<44} {:>9} {:>12} {:>12}",
        "request path", "requests", "up", "down"
    );
    for (path, n, up, down) in &r.by_path {
        println!(
            "{:<44} {:>9} {:>12} {:>12}",
            path,
            n,
            thousands(*up),
            thousands(*down)
        );
    }
    println!();
    println!(
        "{:<44} {:>12} {:>9} {:>12}",
        "till 0's outbox, one frame", "bytes", "B/sale", "enc+dec µs"
    );
    for e in &r.outbox_frames {
        println!(
            "{:<44} {:>12} {:>9} {:>12}",
            e.name,
            thousands(e.bytes),
            milli_str(e.milli_bytes_per_entry),
            e.round_trip_us
        );
    }
    println!(
        "trestle / raw sync: time {}, bytes {}; trestle / snapshots: time {}, bytes {}",
        milli_str(r.time_vs_raw_milli),
        milli_str(r.bytes_vs_raw_milli),
        milli_str(r.time_vs_snapshots_milli),
        milli_str(r.bytes_vs_snapshots_milli)
    );
    println!(
        "converged (every sale once at the hub, every till at the hub's counters): {}",
        r.converged
    );
    match r.meets_goal {
        None => println!("smoke run: no claim is made from these figures"),
        Some(met) => println!(
            "goal: ≤ {} ms and ≤ {} B — {}",
            market_day::GOAL_MS,
            thousands(market_day::GOAL_BYTES),
            if met { "met" } else { "NOT met" }
        ),
    }
}
