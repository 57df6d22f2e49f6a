//! The till's own audit findings as conflicts, through the real `trestle` binary on a real till
//! file: a ledger row the stock counters never saw (the file edited behind the till's back) is
//! found by the audit, recorded once as a `conflict.audit_mismatch` with its facts and the
//! resolutions offered, listed by `trestle conflicts`, resolved there with no hub, and stays
//! decided when found again with the same facts; changed facts are a new conflict.

mod common;

use common::*;
use rusqlite::Connection;
use serde_json::Value;

/// A copy of one line of the till's first sale under another line number: the ledger then says
/// one more unit was sold than the till's counter changes took.
fn add_a_ledger_line(cli: &Cli, line_no: i64) {
    let conn = Connection::open(cli.db()).unwrap();
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE extra AS SELECT * FROM sale_lines ORDER BY sale_id, line_no LIMIT 1;
         UPDATE extra SET line_no = {line_no};
         INSERT INTO sale_lines SELECT * FROM extra;
         DROP TABLE extra;"
    ))
    .unwrap();
}

fn conflicts(cli: &Cli, all: bool) -> Vec<Value> {
    let args: &[&str] = if all {
        &["conflicts", "--all"]
    } else {
        &["conflicts"]
    };
    cli.json(args).as_array().unwrap().clone()
}

#[test]
fn an_audit_mismatch_is_a_conflict_listed_and_resolved_on_the_till() {
    let (cli, variant, _) = till_with_a_sale();
    assert!(conflicts(&cli, true).is_empty(), "a sound till has none");

    add_a_ledger_line(&cli, 2);
    let o = cli.run(&["--json", "audit"]);
    assert!(!o.status.success(), "the audit reports what it found");
    // The findings, then the refusal (`audit.conflicts`), one JSON document each.
    let out = stdout(&o);
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&out)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(docs[0].as_array().map(Vec::len), Some(1), "{out}");
    assert_eq!(docs[0][0]["kind"], "conflict.audit_mismatch", "{out}");

    // Recorded once, however often the audit runs (`trestle conflicts` runs it too).
    let open = conflicts(&cli, false);
    assert_eq!(open.len(), 1, "{open:?}");
    let c = &open[0];
    assert_eq!(c["kind"], "conflict.audit_mismatch");
    assert_eq!(c["source"], "till");
    assert_eq!(c["status"], "open");
    assert_eq!(c["variant_id"], variant.as_str());
    assert_eq!(
        c["facts"],
        serde_json::json!({"ledger_units": 2, "stock_units": 1, "difference": 1})
    );
    assert_eq!(
        c["resolutions"],
        serde_json::json!(["review_ledger", "recount_stock"])
    );
    assert!(c["title"].as_str().is_some_and(|t| !t.is_empty()), "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let short = &id[id.len() - 8..];
    let text = cli.ok(&["conflicts"]);
    assert!(
        text.contains(short) && text.contains("audit mismatch") && text.contains("review_ledger"),
        "{text}"
    );

    // Refused, changing nothing: a choice it does not offer, an id it does not know.
    let said = cli.refused_json(
        &["conflicts", "resolve", short, "--with", "make_more"],
        "conflict.unknown_resolution",
    );
    assert!(said.contains("review_ledger"), "{said}");
    cli.refused_json(
        &[
            "conflicts",
            "resolve",
            "0000aaaa",
            "--with",
            "review_ledger",
        ],
        "conflict.not_found",
    );

    // Resolved on the till: no hub is involved (this till was never paired).
    let done = cli.json(&[
        "conflicts",
        "resolve",
        short,
        "--with",
        "review_ledger",
        "--note",
        "a line typed into the file by hand",
    ]);
    assert_eq!(done["status"], "resolved", "{done}");
    assert_eq!(done["resolution"], "review_ledger");
    assert_eq!(done["note"], "a line typed into the file by hand");
    assert!(done["resolved_at"].as_str().is_some(), "{done}");
    assert!(
        conflicts(&cli, false).is_empty(),
        "found again, it stays decided"
    );
    assert_eq!(conflicts(&cli, true).len(), 1);
    cli.refused_json(
        &["conflicts", "resolve", short, "--with", "recount_stock"],
        "conflict.resolved",
    );

    // Other facts (one more line) are a new conflict for a person to look at.
    add_a_ledger_line(&cli, 3);
    let open = conflicts(&cli, false);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_ne!(open[0]["id"], id.as_str());
    assert_eq!(open[0]["facts"]["difference"], 2);
    assert_eq!(conflicts(&cli, true).len(), 2);
}
