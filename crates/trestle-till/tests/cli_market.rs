//! The market-day commands through the real `trestle` binary: owner mode, signing in with the
//! PIN on stdin and from the environment (never an argument), a refusal needing a manager and
//! its approval with `--approve-by`, and the event and export commands' refusals, each one
//! sentence with a stable code.

mod common;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use common::*;
use trestle_core::staff::{hash_pin, Pin};
use trestle_protocol::RosterEntry;
use trestle_till::Till;
use uuid::Uuid;

fn run_env(cli: &Cli, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trestle"));
    c.arg("--data-dir")
        .arg(&cli.dir)
        .args(args)
        .env_remove("TRESTLE_DATA_DIR")
        .env_remove("TRESTLE_PIN")
        .env_remove("TRESTLE_MANAGER_PIN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn entry(n: u128, name: &str, role: &str, pin: &str) -> RosterEntry {
    RosterEntry {
        id: Uuid::from_u128(n),
        name: name.into(),
        role: role.into(),
        active: true,
        pin_hash: hash_pin(&Pin::parse(pin).unwrap(), [n as u8; 16]).unwrap(),
        updated_ms: 1,
    }
}

#[test]
fn staff_sign_in_and_approvals_from_the_command_line() {
    let cli = Cli::gbp_with_catalog();
    assert!(cli.ok(&["staff", "whoami"]).contains("owner"));
    assert!(cli.ok(&["staff", "list"]).contains("No staff"));
    Till::open(&cli.dir)
        .unwrap()
        .store_roster(&[
            entry(1, "Ana", "cashier", "1111"),
            entry(2, "Mia", "manager", "9999"),
        ])
        .unwrap();
    let item = cli
        .catalog()
        .into_iter()
        .find(|v| v["policy"] == "deny" && v["on_hand"].as_i64().unwrap_or(0) > 1)
        .unwrap();
    let id = item["variant_id"].as_str().unwrap().to_string();
    let line = format!("{id}=1");
    cli.refused_json(
        &["sell", "--line", &line, "--pay", "cash=1000"],
        "staff.sign_in_required",
    );

    // A wrong PIN on stdin is refused in one sentence; the right one from the environment.
    let o = run_env(&cli, &["staff", "sign-in", "Ana"], &[], "1234\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("wrong PIN for Ana; 4 more tries"),
        "{}",
        stderr(&o)
    );
    let o = run_env(
        &cli,
        &["staff", "sign-in", "Ana"],
        &[("TRESTLE_PIN", "1111")],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(cli.ok(&["staff", "whoami"]).contains("Ana (cashier)"));

    let sale = cli.json(&["sell", "--line", &line, "--pay", "cash=1000"]);
    assert_eq!(sale["staff"], Uuid::from_u128(1).to_string());
    let receipt = format!(
        "{}-{}",
        sale["receipt"]["prefix"].as_str().unwrap(),
        sale["receipt"]["seq"]
    );
    cli.refused_json(
        &["void", &receipt, "--reason", "twice"],
        "staff.approval_required",
    );
    let o = run_env(
        &cli,
        &[
            "--json",
            "void",
            &receipt,
            "--reason",
            "twice",
            "--approve-by",
            "Mia",
        ],
        &[("TRESTLE_MANAGER_PIN", "9999")],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));

    // The day's commands refuse what cannot be done, each with its code.
    cli.refused_json(
        &["event", "open", "Winter Fair", "--float", "50"],
        "event.unknown",
    );
    cli.refused_json(&["event", "report"], "event.none_open");
    cli.refused_json(
        &["event", "cash", "in", "5", "--reason", "top-up"],
        "event.none_open",
    );
    cli.refused_json(&["export", "sales", "--event", "nope"], "event.unknown");
    cli.refused_json(&["staff", "refund-limit", "10"], "staff.approval_required");
    assert!(cli.ok(&["event", "list"]).contains("No events"));
}
