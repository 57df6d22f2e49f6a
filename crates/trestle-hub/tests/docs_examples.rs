//! The examples of `docs/hub-api.md` are a test, so they cannot rot: every ```sh block that
//! follows a `<!-- tested -->` line is extracted in order, the blocks are joined into one script,
//! and the script runs with `bash -euo pipefail` in a fresh directory against the real
//! `trestle-hub` binary (on `PATH`), with a hub serving on a free port (`$HUB`). The test passes
//! when the script exits 0 and its output shows the guide's pickup order as a reservation held
//! at the stall's till.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GUIDE: &str = include_str!("../../../docs/hub-api.md");
const MARKER: &str = "<!-- tested -->";
/// The script's deadline; it takes about a second.
const DEADLINE: Duration = Duration::from_secs(60);

/// The tested blocks, in order. A marker not followed by a ```sh block is a mistake in the guide.
fn tested_blocks(doc: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = doc.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim() != MARKER {
            continue;
        }
        let fence = lines
            .by_ref()
            .map(|(_, l)| l)
            .find(|l| !l.trim().is_empty());
        assert_eq!(
            fence.map(str::trim),
            Some("```sh"),
            "docs/hub-api.md line {}: {MARKER} must be followed by a ```sh block",
            n + 1
        );
        let mut body = String::new();
        let mut closed = false;
        for (_, l) in lines.by_ref() {
            if l.trim() == "```" {
                closed = true;
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        assert!(
            closed,
            "docs/hub-api.md line {}: unclosed ```sh block",
            n + 1
        );
        blocks.push(body);
    }
    blocks
}

/// A child process killed (with its process group, when it has one) when dropped.
struct Guard {
    child: Child,
    group: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.group {
            // The script's background jobs (the webhook receiver, `curl -N`) share its group.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `trestle-hub serve` on 127.0.0.1 port 0 in `dir`; returns the guard and its base URL, read
/// from the first line it prints.
fn start_hub(bin: &Path, dir: &Path) -> (Guard, String) {
    let log = File::create(dir.join("hub.log")).unwrap();
    let mut child = Command::new(bin)
        .args(["serve", "--db", "hub.sqlite", "--listen", "127.0.0.1:0"])
        .args(["--log-format", "text"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start trestle-hub serve");
    let stdout = child.stdout.take().unwrap();
    let guard = Guard {
        child,
        group: false,
    };
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| {
            let log = std::fs::read_to_string(dir.join("hub.log")).unwrap_or_default();
            panic!("the hub's first line was {first:?}; its log:\n{log}")
        })
        .to_string();
    (guard, url)
}

/// The interpreter `python3` on PATH runs (not a shim in front of it), if it can be found.
fn python_interpreter() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && Path::new(&path).is_file()).then_some(path)
}

#[test]
fn the_guides_tested_examples_run_from_a_new_shop_to_a_reservation_at_the_till() {
    let blocks = tested_blocks(GUIDE);
    assert!(blocks.len() >= 20, "only {} tested blocks", blocks.len());

    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::os::unix::fs::symlink(root.join("demo"), dir.path().join("demo")).unwrap();
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    let hub_bin = Path::new(env!("CARGO_BIN_EXE_trestle-hub"));
    std::os::unix::fs::symlink(hub_bin, bin_dir.join("trestle-hub")).unwrap();
    // The script starts python3 some forty times; behind a version manager's shim (pyenv) each
    // start costs several times more, so put the interpreter itself first on PATH.
    if let Some(python) = python_interpreter() {
        std::os::unix::fs::symlink(python, bin_dir.join("python3")).unwrap();
    }

    let (_hub, url) = start_hub(hub_bin, dir.path());

    // The guide's blocks, with a line that ends any background job the script leaves behind.
    let script = format!(
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{}",
        blocks.join("\n")
    );
    std::fs::write(dir.path().join("guide.sh"), &script).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = dir.path().join("guide.out");
    let started = Instant::now();
    let child = Command::new("bash")
        .args(["-euo", "pipefail", "guide.sh"])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("HUB", &url)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(dir.path().join("guide.err")).unwrap())
        .process_group(0)
        .spawn()
        .expect("run bash");
    let mut script_guard = Guard { child, group: true };
    let status = loop {
        if let Some(s) = script_guard.child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > DEADLINE {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let stdout = std::fs::read_to_string(&out).unwrap_or_default();
    let stderr = std::fs::read_to_string(dir.path().join("guide.err")).unwrap_or_default();
    let report = || {
        let log = std::fs::read_to_string(dir.path().join("hub.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        format!(
            "--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- hub log (last lines, newest first)\n{}",
            tail.join("\n")
        )
    };
    match status {
        None => panic!("the guide's script ran over {DEADLINE:?}\n{}", report()),
        Some(s) => assert!(s.success(), "the guide's script failed: {s}\n{}", report()),
    }
    drop(script_guard);

    let reservation = stdout
        .lines()
        .find(|l| l.starts_with("reservation ") && l.contains(" for Grace Hopper: held at till:"));
    assert!(
        reservation.is_some(),
        "the script did not end with Grace's reservation at the till\n{}",
        report()
    );
    for shown in [
        "idempotent-replayed: true",
        "idempotency.key_reused",
        "stock.short",
        "cancel_requested: True",
        "reservation.not_yours",
        "order.created signature ok",
        "reservation.created signature ok",
        "the endpoint could not be reached",
        "auth.invalid_token",
        "checkout.event_closed",
    ] {
        assert!(
            stdout.to_lowercase().contains(&shown.to_lowercase()),
            "the output does not show {shown:?}\n{}",
            report()
        );
    }
    eprintln!("the guide's script took {took:?}");
}
