//! Invalid input to `init`, and every command run on a missing, uninitialised or unusable data directory, gives a non-zero exit and one sentence; nothing is created and an existing till is unchanged (tests show both).

mod common;

use common::{files_under, refused_in, till_with_a_sale, Cli, GBP_INIT};

#[test]
fn a_data_dir_under_a_regular_file_is_refused_by_every_command() {
    // Root ignores permission bits, so "unwritable" is a path through a regular file.
    let tmp = tempfile::tempdir().unwrap();
    let afile = tmp.path().join("afile");
    std::fs::write(&afile, b"not a folder").unwrap();
    let dir = afile.join("till");
    let file = common::shop_file();
    let file = file.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "init",
            "--shop",
            "S",
            "--currency",
            "GBP",
            "--tax",
            "inclusive",
            "--till",
            "T",
        ],
        vec!["catalog", "import", file],
        vec!["catalog", "list"],
        vec!["stock"],
        vec!["sell", "--line", "X=1", "--pay", "cash=1"],
        vec!["refund", "T-000001"],
        vec!["void", "T-000001", "--reason", "test"],
        vec!["sales"],
        vec!["receipt", "T-000001"],
        vec!["outbox"],
    ];
    for args in &commands {
        let before = files_under(tmp.path());
        let msg = refused_in(&dir, args);
        assert!(msg.contains("afile/till"), "{args:?}: {msg}");
        assert_eq!(
            before,
            files_under(tmp.path()),
            "{args:?} created something"
        );
        assert_eq!(std::fs::read(&afile).unwrap(), b"not a folder");
    }
    let m = refused_in(&dir, &commands[0]);
    assert!(m.contains("part of the path is a file"), "{m}");
}

#[test]
fn an_uninitialised_data_dir_is_refused_and_nothing_is_created() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = tmp.path().join("missing");
    let file = common::shop_file();
    let file = file.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["sell", "--line", "X=1", "--pay", "cash=1"],
        vec!["stock"],
        vec!["sales"],
        vec!["sales", "--since", "2026-01-01"],
        vec!["catalog", "list"],
        vec!["catalog", "list", "--search", "soul"],
        vec!["catalog", "import", file],
        vec!["refund", "A1-000001"],
        vec!["refund", "A1-000001", "--line", "X=1"],
        vec!["void", "A1-000001", "--reason", "test"],
        vec!["outbox"],
        vec!["outbox", "--pending"],
        vec!["receipt", "A1-000001"],
    ];
    for dir in [&empty, &missing] {
        for args in &commands {
            let m = refused_in(dir, args);
            assert!(m.contains("no till is set up"), "{args:?}: {m}");
            assert!(m.contains("run `trestle init` first"), "{m}");
        }
    }
    assert_eq!(files_under(&empty), Vec::<String>::new());
    assert!(!missing.exists());
    let cli = Cli::new();
    cli.refused_json(&["stock"], "till.not_initialised");
    assert!(!cli.dir.exists());
}

#[test]
fn init_twice_is_refused_and_the_first_till_is_unchanged() {
    let (cli, ..) = till_with_a_sale();
    for args in [
        vec![
            "init",
            "--shop",
            "Other",
            "--currency",
            "EUR",
            "--tax",
            "exclusive",
            "--till",
            "B",
        ],
        // Exactly the arguments the first till was set up with.
        [&["init"][..], GBP_INIT].concat(),
    ] {
        let m = cli.refused(&args);
        assert!(m.contains("a till is already set up in"), "{m}");
    }
    cli.refused_json(
        &[
            "init",
            "--shop",
            "O",
            "--currency",
            "EUR",
            "--tax",
            "exclusive",
            "--till",
            "B",
        ],
        "till.already_initialised",
    );
    // Still the first till: one sale, receipts STALL1-….
    let sales = cli.json(&["sales"]);
    assert_eq!(sales.as_array().unwrap().len(), 1);
    assert_eq!(sales[0]["receipt"], "STALL1-000001");
}

#[test]
fn bad_init_arguments_are_refused_before_anything_is_created() {
    let base = [
        "--shop",
        "S",
        "--currency",
        "GBP",
        "--tax",
        "inclusive",
        "--tax-rate",
        "20",
        "--till",
        "T",
    ];
    let with = |key: &str, value: &'static str| -> Vec<&'static str> {
        let mut a: Vec<&'static str> = vec!["init"];
        let mut it = base.iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            a.push(*k);
            a.push(if *k == key { value } else { *v });
        }
        a
    };
    let cases = [
        with("--currency", "XYZ"),
        with("--currency", ""),
        with("--currency", "pounds"),
        with("--tax", "both"),
        with("--tax", ""),
        with("--tax-rate", "abc"),
        with("--tax-rate", "101"),
        with("--tax-rate", "-5"),
        with("--shop", ""),
        with("--shop", "   "),
        with("--shop", "a\tb"),
        with("--till", ""),
    ];
    for args in &cases {
        let cli = Cli::new();
        refused_in(&cli.dir, args);
        assert!(!cli.dir.exists(), "{args:?} created the data directory");
        // An existing empty data directory stays empty.
        std::fs::create_dir(&cli.dir).unwrap();
        refused_in(&cli.dir, args);
        assert_eq!(files_under(&cli.dir), Vec::<String>::new(), "{args:?}");
    }
    let cli = Cli::new();
    let mut long = base.to_vec();
    long.insert(0, "init");
    long.extend(["--prefix", "TOO LONG!"]);
    refused_in(&cli.dir, &long);
    let m = cli.refused_json(&with("--currency", "XYZ"), "money.unknown_currency");
    assert!(m.contains("XYZ"), "{m}");
    assert!(!cli.dir.exists());
}

#[test]
fn logs_to_a_pipe_are_plain_text() {
    // stderr is a pipe here, as in a log file or a service's journal: no terminal colours.
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trestle"))
        .arg("--data-dir")
        .arg(tmp.path().join("till"))
        .arg("init")
        .args(GBP_INIT)
        .env("TRESTLE_LOG", "info")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("applied till migration"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a piped log: {log:?}"
    );
}
