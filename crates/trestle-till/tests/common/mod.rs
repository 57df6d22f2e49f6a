//! Shared helpers of the trestle-till integration tests: the real Shopify exports, running the
//! real `trestle` binary on a data directory in a temp dir, and a fingerprint of a till's SQLite
//! file (every table's rows in a fixed order) to show that a refused command changed nothing.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

/// The folder of the real Shopify product exports (beside the repository), and the copy of the
/// sample the repository ships for its demo, used when a clone has no shared folder beside it.
pub const SHOPIFY_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/shopify/");
const DEMO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/");

/// Every `*.csv` in [`SHOPIFY_DIR`] (or the demo copy), sorted; at least one.
pub fn shop_files() -> Vec<PathBuf> {
    let dir = if Path::new(SHOPIFY_DIR).is_dir() {
        SHOPIFY_DIR
    } else {
        DEMO_DIR
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the real Shopify exports are in shared/data/shopify or demo/")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no CSV in {dir}");
    files
}

/// The `init` arguments of [`Cli::gbp`]: GBP, prices inclusive of 20% tax, till "Stall 1".
pub const GBP_INIT: &[&str] = &[
    "--shop",
    "Kalima Arts",
    "--currency",
    "GBP",
    "--tax",
    "inclusive",
    "--tax-rate",
    "20",
    "--till",
    "Stall 1",
];

/// The first real export (the one the CLI scenarios sell from).
pub fn shop_file() -> PathBuf {
    shop_files().remove(0)
}

/// Runs the real `trestle` binary with `--data-dir dir` and `args`, with no environment that
/// could change its behaviour.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trestle"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("TRESTLE_DATA_DIR")
        .env_remove("TRESTLE_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("the trestle binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// A data directory inside a temp dir (not set up until [`Cli::init`]).
pub struct Cli {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Cli {
    /// A fresh, not yet initialised data directory `<tmp>/till` (not created).
    pub fn new() -> Cli {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("till");
        Cli { tmp, dir }
    }

    /// A till set up with `init_args` (e.g. GBP, prices inclusive of 20% tax).
    pub fn init_with(init_args: &[&str]) -> Cli {
        let cli = Cli::new();
        let mut args = vec!["init"];
        args.extend_from_slice(init_args);
        cli.ok(&args);
        cli
    }

    /// A GBP till, prices inclusive of 20% tax, till "Stall 1" (receipts STALL1-…).
    pub fn gbp() -> Cli {
        Cli::init_with(GBP_INIT)
    }

    /// A GBP till with the first real export imported.
    pub fn gbp_with_catalog() -> Cli {
        let cli = Cli::gbp();
        let file = shop_file();
        cli.ok(&["catalog", "import", file.to_str().expect("UTF-8 path")]);
        cli
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join("till.sqlite")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        run_in(&self.dir, args)
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "trestle {args:?} failed: {}{}",
            stderr(&o),
            stdout(&o)
        );
        let err = stderr(&o);
        assert!(err.is_empty(), "trestle {args:?} wrote to stderr: {err}");
        stdout(&o)
    }

    /// Runs `--json args`, which must succeed, and parses its one JSON document.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }

    /// Runs a command that must be refused: see [`refused_in`].
    pub fn refused(&self, args: &[&str]) -> String {
        refused_in(&self.dir, args)
    }

    /// Runs `--json args`, which must be refused with `code`; returns the message.
    pub fn refused_json(&self, args: &[&str], code: &str) -> String {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let before = Snapshot::take(&self.dir);
        let o = self.run(&all);
        assert_refusal(&o, &all);
        assert_eq!(
            before,
            Snapshot::take(&self.dir),
            "{all:?} changed the till"
        );
        let doc: Value = serde_json::from_str(&stdout(&o))
            .unwrap_or_else(|e| panic!("{all:?}: stdout is not one JSON document ({e})"));
        let err = doc
            .get("error")
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("{all:?}: no error object in {doc}"));
        assert_eq!(
            err.len(),
            2,
            "{all:?}: error has exactly code and message: {doc}"
        );
        assert_eq!(err["code"], code, "{all:?}: {doc}");
        let message = err["message"].as_str().expect("message is a string");
        assert!(stderr(&o).contains(message.trim_end_matches('.')));
        message.to_string()
    }

    /// The variants of `catalog list --json`.
    pub fn catalog(&self) -> Vec<Value> {
        self.json(&["catalog", "list"])
            .as_array()
            .expect("catalog list --json is an array")
            .clone()
    }

    /// `stock --json` as variant id → on hand.
    pub fn stock(&self) -> std::collections::BTreeMap<String, i64> {
        self.json(&["stock"])
            .as_array()
            .expect("stock --json is an array")
            .iter()
            .map(|l| {
                (
                    l["variant_id"].as_str().expect("id").to_string(),
                    l["on_hand"].as_i64().expect("on_hand"),
                )
            })
            .collect()
    }
}

/// Asserts the shape of a refusal: a non-zero exit and exactly one line on stderr, one sentence
/// starting `trestle: `, with no panic or backtrace.
pub fn assert_refusal(o: &Output, args: &[&str]) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "trestle {args:?} was not refused: {}",
        stdout(o)
    );
    assert_ne!(o.status.code(), Some(0));
    assert!(o.status.code().is_some(), "{args:?} was killed by a signal");
    assert!(err.ends_with('\n'), "{args:?}: stderr {err:?}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: stderr is not one line: {err:?}");
    let line = lines[0];
    assert!(line.starts_with("trestle: "), "{args:?}: {line:?}");
    assert!(line.ends_with('.'), "{args:?}: not a sentence: {line:?}");
    assert!(line.len() > "trestle: ".len() + 10, "{args:?}: {line:?}");
    for bad in [
        "panicked",
        "backtrace",
        "RUST_BACKTRACE",
        "SQLITE",
        "sqlite3",
        "Error {",
    ] {
        assert!(!line.contains(bad), "{args:?}: {line:?}");
    }
}

/// Runs a command that must be refused (see [`assert_refusal`]) and must leave the data
/// directory exactly as it was (files and database rows); returns the stderr line.
pub fn refused_in(dir: &Path, args: &[&str]) -> String {
    let before = Snapshot::take(dir);
    let o = run_in(dir, args);
    assert_refusal(&o, args);
    assert!(
        o.stdout.is_empty(),
        "{args:?} printed on stdout: {}",
        stdout(&o)
    );
    assert_eq!(
        before,
        Snapshot::take(dir),
        "trestle {args:?} changed the till"
    );
    stderr(&o).trim_end().to_string()
}

/// What a data directory holds: its files and, when it has a till database, its rows.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub files: Vec<String>,
    pub db: Option<String>,
}

impl Snapshot {
    pub fn take(dir: &Path) -> Snapshot {
        // Files first: reading the database opens (and on close removes) its WAL files.
        let files = files_under(dir);
        let db_path = dir.join("till.sqlite");
        let db = db_path.is_file().then(|| fingerprint(&db_path));
        Snapshot { files, db }
    }
}

/// Every path under `dir` (relative, sorted, folders marked with a trailing `/`); `["<none>"]`
/// when `dir` does not exist, `["<file>"]` when it is a file.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("readable dir") {
            let p = e.expect("dir entry").path();
            let rel = p
                .strip_prefix(root)
                .expect("under root")
                .display()
                .to_string();
            if p.is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &p, out);
            } else {
                let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                // The WAL's size changes with checkpoints; the database file's rows are compared
                // by the fingerprint instead.
                if rel.ends_with("-wal") || rel.ends_with("-shm") || rel.ends_with(".sqlite") {
                    out.push(rel);
                } else {
                    out.push(format!("{rel} ({len} bytes)"));
                }
            }
        }
    }
    if dir.is_file() {
        return vec!["<file>".into()];
    }
    if !dir.exists() {
        return vec!["<none>".into()];
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The schema and every row of every table of the SQLite file at `path` (including `shop` and
/// `sqlite_sequence`), each table's rows ordered by all their columns.
pub fn fingerprint(path: &Path) -> String {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("open the till database");
    let mut out = String::new();
    let mut tables: Vec<(String, String, Option<String>)> = conn
        .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        .expect("schema query")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("schema rows")
        .collect::<rusqlite::Result<_>>()
        .expect("schema rows");
    for (kind, name, sql) in &tables {
        let _ = writeln!(out, "{kind} {name}: {}", sql.as_deref().unwrap_or("-"));
    }
    tables.retain(|(kind, ..)| kind == "table");
    assert!(
        tables.iter().any(|(_, n, _)| n == "shop"),
        "{}: no shop table",
        path.display()
    );
    for (_, name, _) in &tables {
        let n = conn
            .prepare(&format!("SELECT * FROM \"{name}\""))
            .expect("select")
            .column_count();
        let order: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        let mut st = conn
            .prepare(&format!(
                "SELECT * FROM \"{name}\" ORDER BY {}",
                order.join(", ")
            ))
            .expect("select ordered");
        let mut rows = st.query([]).expect("rows");
        let _ = writeln!(out, "== {name}");
        while let Some(row) = rows.next().expect("row") {
            let cells: Vec<String> = (0..n)
                .map(|i| match row.get_ref(i).expect("cell") {
                    ValueRef::Null => "NULL".to_string(),
                    ValueRef::Integer(v) => v.to_string(),
                    ValueRef::Real(v) => format!("{v:?}"),
                    ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => format!("x{b:02x?}"),
                })
                .collect();
            let _ = writeln!(out, "{}", cells.join("|"));
        }
    }
    out
}

/// The first variant of `catalog list --json` matching `pred`.
pub fn pick<'a>(items: &'a [Value], what: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    items
        .iter()
        .find(|i| pred(i))
        .unwrap_or_else(|| panic!("the real catalog has no {what}"))
}

/// A tracked `deny` variant with stock, priced under 1000.00 (a print).
pub fn deny_item(items: &[Value]) -> &Value {
    pick(items, "tracked deny variant with stock", |i| {
        i["policy"] == "deny"
            && i["track_inventory"] == true
            && i["on_hand"].as_i64().unwrap_or(0) >= 5
            && i["price"]["minor"].as_i64().unwrap_or(i64::MAX) < 100_000
    })
}

pub fn id(item: &Value) -> String {
    item["variant_id"].as_str().expect("variant_id").to_string()
}

pub fn minor(v: &Value) -> i64 {
    v["minor"]
        .as_i64()
        .unwrap_or_else(|| panic!("not money: {v}"))
}

/// A GBP till with the real catalog and one completed sale (so every table has rows), the id of
/// the tracked deny variant it sold one of, and that variant's stock after the sale.
pub fn till_with_a_sale() -> (Cli, String, i64) {
    let cli = Cli::gbp_with_catalog();
    let items = cli.catalog();
    let v = id(deny_item(&items));
    cli.ok(&["sell", "--line", &format!("{v}=1"), "--pay", "cash=1000"]);
    let on_hand = cli.stock()[&v];
    (cli, v, on_hand)
}

pub mod engine;
