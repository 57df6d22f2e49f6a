//! `trestle reservations list|find|collect|create|cancel|ready` refusing bad input, through the
//! real binary against real till files synced with the real hub (in-process on port 0): every
//! refusal exits non-zero with one sentence on stderr and leaves the till's database exactly as
//! it was (every table's rows compared before and after). And a pickup found and handed over by
//! the payload its QR code carries, as a scanner types it.

mod common;
#[path = "common/hub.rs"]
mod hub;
#[path = "common/pickups.rs"]
mod pickups;

use common::*;
use hub::*;
use pickups::*;
use serde_json::Value;

/// Queen Nefertiti T-shirt XL / White: tracked, `deny`, 5 in stock, 19.00.
const WHITE: &str = "Queen Nefertiti — XL / White / T-Shirt";

fn code(v: &Value) -> String {
    v["code"].as_str().unwrap().to_string()
}

#[test]
fn reservation_commands_refuse_bad_input_with_one_sentence_and_change_nothing() {
    let hub = Hub::start();
    hub.import_kalima();
    let (tee, white) = (hub.variant(TEE), hub.variant(WHITE));
    let (t1, id1, t2, id2) = two_paired_tills(&hub);
    let event = hub.open_event(&id1);
    let (s, b) = hub.call(
        "POST",
        &format!("/v1/events/{event}/tills"),
        Some(serde_json::json!({ "till_id": id2 })),
    );
    assert_eq!(s, 200, "{b}");
    hub.allocate(&id1, &[(&white, 5)]);
    hub.allocate(&id2, &[(&tee, 1)]);
    // Online: A paid (1 tee), B pay on pickup (2 tees); both with till 1.
    let (s, a) = checkout_pickup(&hub, "order-a", &tee, &event, "paid", 1);
    assert_eq!(s, 201, "{a}");
    let (s, b) = checkout_pickup(&hub, "order-b", &tee, &event, "pay_on_pickup", 2);
    assert_eq!(s, 201, "{b}");
    let (a, b) = (code(&a["reservation"]), code(&b["reservation"]));
    t1.json(&["sync"]);
    // At the stall: C held for two hours, D cancelled, E a hold that runs out in seconds.
    let line = |v: &str, n: u32| format!("{v}={n}");
    let create = |who: &str, extra: &[&str]| {
        let l = line(&white, 1);
        let mut args = vec!["reservations", "create", "--customer", who, "--line", &l];
        args.extend_from_slice(extra);
        code(&t1.json(&args)["pickup"])
    };
    let c = create(
        "Ada Lovelace",
        &["--phone", "+44 7700 900123", "--for", "2h"],
    );
    let d = create("Dora", &[]);
    t1.json(&["reservations", "cancel", &d]);
    let soon = trestle_core::clock::format_utc(real_now() + 3_000);
    let e = create("Grace", &["--until", &soon]);
    // B partly handed over (one of its two tees, paid for).
    let tee1 = line(&tee, 1);
    t1.json(&[
        "reservations",
        "collect",
        &b,
        "--line",
        &tee1,
        "--pay",
        "cash=19",
    ]);
    // A handed over (paid online: nothing to pay).
    t1.json(&["reservations", "collect", &a]);
    t1.json(&["sync"]);
    t2.json(&["sync"]);

    let nowhere = trestle_core::code::ReservationCode::from_random([9, 9, 9, 9, 9, 9]).display();
    let mut typo = c.clone().into_bytes();
    typo[1] = if typo[1] == b'3' { b'4' } else { b'3' };
    let typo = String::from_utf8(typo).unwrap();
    let white1 = line(&white, 1);
    // Each refusal: the command (words after `reservations`, `{x}` filled in below), the error
    // code, and words the sentence must contain.
    let refusals: &[(&str, &str, &str)] = &[
        ("find {nowhere}", "pickup.not_found", "no pickup"),
        ("find {typo}", "value.invalid", "mistyped"),
        ("find x", "value.invalid", "two letters"),
        ("collect {nowhere}", "pickup.not_found", "no pickup"),
        ("collect {typo}", "value.invalid", "mistyped"),
        (
            "collect {b} --line {tee}=2 --pay cash=38",
            "pickup.refused",
            "1 of",
        ),
        (
            "collect {b} --line {print}=1",
            "pickup.refused",
            "not on pickup",
        ),
        ("collect {b} --line {tee}", "input.invalid", "ITEM=QTY"),
        (
            "collect {b} --line {tee}=0",
            "cart.invalid_quantity",
            "quantity",
        ),
        ("collect {b}", "tender.underpaid", ""),
        ("collect {b} --pay gold=19", "tender.invalid", ""),
        ("collect {a}", "pickup.refused", "collected"),
        ("collect {d}", "pickup.refused", "cancelled"),
        (
            "collect {c} --pay cash=1 --line {white}=1",
            "tender.underpaid",
            "",
        ),
        (
            "create --customer Z --line NO-SUCH-SKU=1",
            "catalog.unknown_item",
            "",
        ),
        (
            "create --customer Z --line {white}=4",
            "stock.insufficient",
            "",
        ),
        (
            "create --customer Z --line {white}=1 --until tomorrow",
            "input.invalid",
            "not a time",
        ),
        (
            "create --customer Z --line {white}=1 --until 2020-01-01",
            "input.invalid",
            "before now",
        ),
        (
            "create --customer Z --line {white}=1 --for 2x",
            "input.invalid",
            "length of time",
        ),
        (
            "create --customer Z --line {white}=1 --for 0h",
            "input.invalid",
            "length of time",
        ),
        (
            "create --customer Z --line {white}=1 --deposit cash=19",
            "input.invalid",
            "deposit",
        ),
        (
            "create --customer Z --line {white}=1 --event fair",
            "input.invalid",
            "event id",
        ),
        ("cancel {nowhere}", "pickup.not_found", "no pickup"),
        ("cancel {d}", "pickup.refused", "cancelled"),
        ("cancel {b}", "pickup.refused", "handed over already"),
        ("cancel {a}", "pickup.refused", "collected"),
        ("ready {b}", "pickup.refused", "handed over already"),
        ("ready {a}", "pickup.refused", "collected"),
    ];
    let print = hub.variant(PRINT);
    let words: [(&str, &str); 9] = [
        ("{nowhere}", &nowhere),
        ("{typo}", &typo),
        ("{a}", &a),
        ("{b}", &b),
        ("{c}", &c),
        ("{d}", &d),
        ("{tee}", &tee),
        ("{print}", &print),
        ("{white}", &white),
    ];
    let blank = [
        "reservations",
        "create",
        "--customer",
        " ",
        "--line",
        &white1,
    ]
    .map(String::from);
    let cases = refusals
        .iter()
        .map(|(cmd, code, says)| {
            let mut args = vec!["reservations".to_string()];
            args.extend(cmd.split(' ').map(|w| {
                words
                    .iter()
                    .fold(w.to_string(), |w, (k, v)| w.replace(k, v))
            }));
            (args, *code, *says)
        })
        .chain([(blank.to_vec(), "input.invalid", "name")]);
    for (args, code, says) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let msg = t1.refused_json(&args, code);
        assert!(msg.contains(says), "{args:?}: {msg}");
        // And the same without --json: one sentence on stderr, nothing on stdout, nothing changed.
        let line = t1.refused(&args);
        assert!(line.contains(msg.trim_end_matches('.')), "{args:?}: {line}");
    }
    // Refused by the command line's own rules (clap): one sentence too, nothing changed.
    for args in [
        &["reservations", "create", "--line", &white1][..],
        &["reservations", "create", "--customer", "Z"][..],
        &[
            "reservations",
            "create",
            "--customer",
            "Z",
            "--line",
            &white1,
            "--for",
            "2h",
            "--until",
            &soon,
        ][..],
        &["reservations", "collect"][..],
        &["reservations", "bogus"][..],
    ] {
        t1.refused(args);
    }
    // A pickup another till holds: the other till refuses to cancel it or mark it ready.
    let other = t2.refused_json(&["reservations", "cancel", &c], "pickup.refused");
    assert!(other.contains(&format!("till:{id1}")), "{other}");
    t2.refused_json(&["reservations", "ready", &c], "pickup.refused");
    // A till that does not exist.
    let missing = tempfile::tempdir().unwrap();
    let nothing = missing.path().join("none");
    for args in [
        &["reservations", "list"][..],
        &["reservations", "find", &c][..],
    ] {
        let said = refused_in(&nothing, args);
        assert!(!nothing.exists(), "{said}");
    }

    // The hold runs out (by the expiry clock, within its second of slack): collecting it is
    // refused once the list has released it.
    std::thread::sleep(std::time::Duration::from_millis(5_500));
    let listed = t1.json(&["reservations", "list"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["code"] != e.as_str()),
        "{listed}"
    );
    let said = t1.refused_json(&["reservations", "collect", &e], "pickup.refused");
    assert!(said.contains("expired"), "{said}");
    t1.refused_json(&["reservations", "cancel", &e], "pickup.refused");
}

#[test]
fn a_pickup_is_found_and_handed_over_by_its_scanned_qr_payload() {
    let hub = Hub::start();
    hub.import_kalima();
    let white = hub.variant(WHITE);
    let till = Cli::gbp();
    let id = pair(&till, &hub, "Stall 1")["till_id"]
        .as_str()
        .unwrap()
        .to_string();
    hub.allocate(&id, &[(&white, 2)]);
    till.json(&["sync"]);
    let made = till.json(&[
        "reservations",
        "create",
        "--customer",
        "Ada Lovelace",
        "--line",
        &format!("{white}=2"),
        "--deposit",
        "cash=5",
    ]);
    let qr = made["pickup"]["qr"].as_str().unwrap().to_string();
    assert!(qr.starts_with("TRESTLE:R:"), "{made}");
    // A scanner types the payload as it is, or in lower case (caps lock off).
    for scanned in [qr.clone(), qr.to_lowercase()] {
        let found = till.json(&["reservations", "find", &scanned]);
        assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
        assert_eq!(found[0]["id"], made["pickup"]["id"]);
    }
    let done = till.json(&["reservations", "collect", &qr, "--pay", "cash=40"]);
    assert_eq!(done["pickup"]["status"], "collected", "{done}");
    // 38.00 of goods less the 5.00 deposit: 33.00 paid now (change from 40).
    let sale = &done["sale"];
    assert_eq!(sale["change"]["minor"], 700, "{sale}");
    let text = till.ok(&["reservations", "find", &qr]);
    assert!(text.contains("collected"), "{text}");
    till.refused(&["reservations", "collect", &qr]);
}

fn real_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
