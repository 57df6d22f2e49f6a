//! The TypeScript wire types and the `Commands` map in `ui/src/lib/generated/` are generated
//! from `src-tauri/src/wire.rs` (ts-rs) and the app's command table; this test regenerates them
//! and fails when the committed files differ, so the window and the shell never drift.
//! `TRESTLE_UPDATE_BINDINGS=1 cargo test -p trestle-app --test bindings` rewrites them.

use std::path::PathBuf;

use trestle_app::wire::*;
use ts_rs::TS;

macro_rules! decls {
    ($($t:ty),* $(,)?) => { vec![$(<$t as TS>::decl()),*] };
}

fn types() -> String {
    let decls = decls![
        AppError,
        Discount,
        Tender,
        TenderKind,
        EventInfo,
        TillStatus,
        CatalogItem,
        CartLine,
        Cart,
        TenderQuote,
        ReceiptTender,
        ReceiptLine,
        Receipt,
        SaleLine,
        Sale,
        RefundResult,
        ReservationStatus,
        PaymentState,
        ReservationSummary,
        ReservationLine,
        Reservation,
        HandOver,
        StockRow,
        Fact,
        Resolution,
        Resolved,
        Conflict,
        SyncStatus,
        SearchArgs,
        ItemQty,
        LineQty,
        LineIndex,
        LineDiscountArgs,
        DiscountArgs,
        TendersArgs,
        ReceiptArgs,
        RefundArgs,
        QueryArgs,
        CodeArgs,
        CodeTendersArgs,
        HandOverArgs,
        CountArgs,
        ResolveArgs,
        PairArgs,
    ];
    let mut out = String::from(
        "// Generated from src-tauri/src/wire.rs by tests/bindings.rs (ts-rs). Do not edit.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out
}

fn commands() -> String {
    let table = trestle_app::command_table();
    let mut names: Vec<&str> = Vec::new();
    for (name, args, ret) in &table {
        for t in [args, ret] {
            for word in t.split(|c: char| !c.is_alphanumeric()) {
                if word.starts_with(char::is_uppercase)
                    && !matches!(word, "Array" | "Record")
                    && !names.contains(&word)
                {
                    names.push(word);
                }
            }
        }
        let _ = name;
    }
    names.sort_unstable();
    let mut out = String::from(
        "// Generated from the command table in src-tauri/src/lib.rs by tests/bindings.rs.\n\
         // Do not edit.\n\n",
    );
    out.push_str(&format!(
        "import type {{ {} }} from './types';\n\n",
        names.join(", ")
    ));
    out.push_str(
        "/** Every command: name → [arguments, result]. */\nexport interface Commands {\n",
    );
    for (name, args, ret) in &table {
        out.push_str(&format!("  {name}: [{args}, {ret}];\n"));
    }
    out.push_str("}\n\nexport const COMMANDS = [\n");
    for (name, _, _) in &table {
        out.push_str(&format!("  '{name}',\n"));
    }
    out.push_str("] as const;\n");
    out
}

#[test]
fn generated_typescript_matches_the_rust_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/src/lib/generated");
    let files = [("types.ts", types()), ("commands.ts", commands())];
    if std::env::var_os("TRESTLE_UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    for (name, text) in &files {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            &committed == text,
            "ui/src/lib/generated/{name} is out of date with the Rust wire types; run \
             TRESTLE_UPDATE_BINDINGS=1 cargo test -p trestle-app --test bindings and commit it"
        );
    }
}

#[test]
fn every_command_is_declared_once() {
    let table = trestle_app::command_table();
    let mut names: Vec<&str> = table.iter().map(|(n, _, _)| *n).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "a command is declared twice");
    assert!(n >= 26, "the command table lost commands: {n}");
}
