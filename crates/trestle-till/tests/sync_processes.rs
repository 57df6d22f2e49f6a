//! Sync end to end with nothing in-process: the real `trestle-hub` binary (built by this test
//! with the same cargo and profile when it is not fresh) serving 127.0.0.1 on a fresh SQLite
//! file, three tills as the real `trestle` binary on their own data directories, real HTTP.
//!
//! The day: the hub gets the Kalima Arts catalog and staff; the tills are set up, paired, put
//! in an event and given stock. The hub is stopped (SIGTERM). The tills sell offline, including
//! a `continue` print sold beyond what the till holds and a `deny` T-shirt sold beyond the
//! holding under a manager's override; a `trestle sync` is refused in one sentence and changes
//! nothing. The hub restarts on the same database and port; while online buyers race for the
//! hub's own units (real HTTP checkouts, more buyers than units), the three tills sync at once.
//! Then: every sale at the hub exactly once, the exact counters of every holder of each
//! variant, no `deny` counter below zero but the approved override, and exactly the two
//! conflicts the day must produce — at the hub and in every till's `trestle conflicts --json`.

mod common;
#[path = "common/processes.rs"]
mod processes;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{assert_refusal, stderr, stdout, Snapshot};
use processes::*;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};

const KALIMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../demo/kalima-arts_products_export.csv"
);
/// Queen Nefertiti T-shirt XL / Black: tracked, `deny`, 5 in the export.
const TEE: &str = "Queen Nefertiti — XL / Black / T-Shirt";
/// Old Soul - 017 #Rihanna print: tracked, `continue`.
const PRINT: &str = "Old Soul - 017 #Rihanna";
const ONLINE_BUYERS: usize = 8;

#[test]
fn three_tills_sell_offline_while_the_hub_is_down_and_sync_exactly_once_as_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = hub_binary();
    let db = tmp.path().join("hub.sqlite");
    let logs = tmp.path().join("hub.log");

    // A fresh hub file with one shop, created by the binary itself.
    let created = Command::new(&bin)
        .args([
            "shop",
            "create",
            "--name",
            "Kalima Arts",
            "--currency",
            "GBP",
        ])
        .args(["--tax", "inclusive", "--tax-rate", "20", "--json", "--db"])
        .arg(&db)
        .env_remove("TRESTLE_HUB_DB")
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    let shop = created["shop_id"].as_str().unwrap().to_string();
    let mut hub = HubProcess::serve(&bin, &db, 0, &logs);
    let admin = Admin {
        url: hub.url(),
        token: created["admin_token"].as_str().unwrap().to_string(),
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    };
    let r = admin
        .http
        .post(format!("{}/v1/catalog/import", admin.url))
        .bearer_auth(&admin.token)
        .header("content-type", "text/csv")
        .body(std::fs::read(KALIMA).unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let catalog = admin.get("/v1/catalog");
    let variants = catalog["variants"].as_array().unwrap();
    let by_title = |t: &str| -> String {
        variants.iter().find(|v| v["title"] == t).unwrap()["variant_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (tee, print) = (by_title(TEE), by_title(PRINT));
    let deny: BTreeSet<String> = variants
        .iter()
        .filter(|v| v["policy"] == "deny" && v["track_inventory"] == true)
        .map(|v| v["variant_id"].as_str().unwrap().to_string())
        .collect();
    assert!(deny.contains(&tee));
    // A second `deny` variant with plenty at the hub: the online buyers race for it.
    let mug = deny
        .iter()
        .filter(|v| **v != tee)
        .max_by_key(|v| admin.free(v).get("hub").copied().unwrap_or(0))
        .unwrap()
        .clone();
    let start: BTreeMap<&str, i64> = [("tee", &tee), ("print", &print), ("mug", &mug)]
        .into_iter()
        .map(|(k, v)| (k, admin.free(v)["hub"]))
        .collect();
    assert_eq!(start["tee"], 5, "the export's T-shirts");
    assert!(start["mug"] >= 10, "{start:?}");

    for (name, role, pin) in [("Ana", "cashier", "1111"), ("Mia", "manager", "9999")] {
        admin.ok(
            "POST",
            "/v1/staff",
            json!({"name": name, "role": role, "pin": pin}),
        );
    }

    // Three tills set up and paired through the CLI, in the event, given stock.
    let tills: Vec<Till> = ["Stall 1", "Stall 2", "Stall 3"]
        .iter()
        .map(|n| new_till(&admin, n))
        .collect();
    let event = admin.ok(
        "POST",
        "/v1/events",
        json!({"name": "Winter Makers Fair", "place": "Corn Exchange",
               "starts": "2026-12-05T09:00:00Z", "ends": "2026-12-05T17:00:00Z"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    for t in &tills {
        admin.ok(
            "POST",
            &format!("/v1/events/{event}/tills"),
            json!({"till_id": t.id}),
        );
    }
    admin.ok("POST", &format!("/v1/events/{event}/open"), json!({}));
    // T-shirts 1 / 2 / 1 (the hub keeps one), prints 2 each, mugs 2 each.
    let tee_alloc = [1i64, 2, 1];
    for (t, n) in tills.iter().zip(tee_alloc) {
        admin.ok(
            "POST",
            "/v1/transfers",
            json!({"to_till": t.id, "lines": [
                {"variant_id": tee, "qty": n},
                {"variant_id": print, "qty": 2},
                {"variant_id": mug, "qty": 2}]}),
        );
    }
    let cashier = [("TRESTLE_PIN", "1111")];
    for t in &tills {
        let s = t.json(&["sync"]);
        assert_eq!(
            (s["pending"].as_i64(), s["staff"].as_i64()),
            (Some(0), Some(2)),
            "{s}"
        );
        t.json_env(&["staff", "sign-in", "Ana"], &cashier);
        let events = t.json(&["event", "list"]);
        assert!(events.to_string().contains(&event), "{events}");
    }

    // The hub goes down.
    hub.stop();

    // Offline selling. Stall 1: its T-shirt, three prints (holding 2: one made to order), a mug.
    let (t1, t2, t3) = (&tills[0], &tills[1], &tills[2]);
    t1.sell(&[(&tee, 1)], &[], &[]);
    t1.sell(&[(&print, 2)], &[], &[]);
    t1.sell(&[(&print, 1), (&mug, 1)], &[], &[]);
    // Stall 2: both its T-shirts; a third is refused; Mia approves selling one beyond the
    // holding (the counter goes to -1: a conflict, not a silent merge); a print, both mugs.
    t2.sell(&[(&tee, 2)], &[], &[]);
    let refused = t2.run(
        &[
            "--json",
            "sell",
            "--line",
            &format!("{tee}=1"),
            "--pay",
            "cash=1000",
        ],
        &[],
    );
    assert_refusal(&refused, &["sell beyond the holding"]);
    assert!(
        stdout(&refused).contains("stock.insufficient"),
        "{}",
        stdout(&refused)
    );
    t2.sell(
        &[(&tee, 1)],
        &["--beyond-holding", "--approve-by", "Mia"],
        &[("TRESTLE_MANAGER_PIN", "9999")],
    );
    t2.sell(&[(&print, 1)], &[], &[]);
    t2.sell(&[(&mug, 1)], &[], &[]);
    t2.sell(&[(&mug, 1)], &[], &[]);
    // Stall 3: its T-shirt, exactly its two prints, one mug.
    t3.sell(&[(&tee, 1), (&print, 2)], &[], &[]);
    t3.sell(&[(&mug, 1)], &[], &[]);
    let sales = [3usize, 5, 2];

    // While the hub is down nothing is lost: every sale waits in its till's outbox, and a
    // sync is refused in one sentence, changing nothing.
    for (t, n) in tills.iter().zip(sales) {
        assert_eq!(t.pending(), n);
    }
    let before = Snapshot::take(&t1.dir);
    let o = t1.run(&["sync"], &[]);
    assert_refusal(&o, &["sync"]);
    assert!(
        stderr(&o).contains("could not be reached"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        before,
        Snapshot::take(&t1.dir),
        "a refused sync changed nothing"
    );

    // The hub comes back on the same file and port. Online buyers race for the hub's own
    // T-shirt and mugs (more buyers than units) while the three tills sync at once.
    hub.restart();
    let online: Vec<(String, u16, Value)> = std::thread::scope(|s| {
        let syncs: Vec<_> = tills
            .iter()
            .map(|t| {
                s.spawn(move || {
                    let o = t.run(&["--json", "sync"], &[]);
                    assert!(o.status.success(), "{}: {}", t.id, stderr(&o));
                    serde_json::from_slice::<Value>(&o.stdout).unwrap()
                })
            })
            .collect();
        let buyers: Vec<_> = (0..ONLINE_BUYERS * 2)
            .map(|i| {
                let admin = &admin;
                let variant = if i % 4 == 0 { tee.clone() } else { mug.clone() };
                s.spawn(move || {
                    let key = format!("online-{i}");
                    let (status, body) = admin.checkout(&key, &variant);
                    (variant, status, body)
                })
            })
            .collect();
        for (sync, n) in syncs.into_iter().zip(sales) {
            let s = sync.join().unwrap();
            assert_eq!(s["pushed"].as_u64(), Some(n as u64), "{s}");
            assert_eq!(s["pending"], 0, "{s}");
        }
        buyers.into_iter().map(|b| b.join().unwrap()).collect()
    });
    let mut bought: BTreeMap<String, i64> = BTreeMap::new();
    for (variant, status, body) in &online {
        match status {
            201 | 200 => *bought.entry(variant.clone()).or_default() += 1,
            409 => assert_eq!(body["error"]["code"], "stock.short", "{body}"),
            other => panic!("checkout answered {other}: {body}"),
        }
    }
    let tee_online = bought.get(&tee).copied().unwrap_or(0);
    let mug_online = bought.get(&mug).copied().unwrap_or(0);
    // The hub kept one T-shirt and start - 6 mugs; no more can be bought than it holds.
    assert_eq!(tee_online, 1, "{online:?}");
    let mug_at_hub = start["mug"] - 6;
    assert_eq!(mug_online, mug_at_hub.min(ONLINE_BUYERS as i64 * 3 / 2));
    // A buyer's retry with the same key is the same order, not a second one.
    let (s, again) = admin.checkout("online-0", &tee);
    assert!(s == 200 || s == 201 || s == 409, "{s} {again}");

    // A second round so every till has every other till's changes and the hub's conflicts.
    for t in &tills {
        let s = t.json(&["sync"]);
        assert_eq!(
            (s["pushed"].as_u64(), s["duplicates"].as_u64()),
            (Some(0), Some(0))
        );
    }

    // Every sale at the hub exactly once, nothing else from the tills.
    let shop_file = {
        let mut p = db.clone().into_os_string();
        p.push(".shops");
        PathBuf::from(p).join(format!("{shop}.sqlite"))
    };
    let conn = Connection::open_with_flags(&shop_file, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let stored: BTreeMap<String, i64> = conn
        .prepare("SELECT event_id, COUNT(*) FROM till_events GROUP BY event_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    drop(conn);
    let sent: Vec<String> = tills.iter().flat_map(Till::event_ids).collect();
    assert_eq!(sent.len(), sales.iter().sum::<usize>());
    assert_eq!(stored.len(), sent.len(), "{stored:?}");
    for id in &sent {
        assert_eq!(stored.get(id), Some(&1), "{id} at the hub exactly once");
    }

    // Exact counters of every holder of each variant.
    let till = |i: usize| format!("till:{}", tills[i].id);
    let expect = |hub: i64, a: i64, b: i64, c: i64| -> BTreeMap<String, i64> {
        [
            ("hub".to_string(), hub),
            (till(0), a),
            (till(1), b),
            (till(2), c),
        ]
        .into_iter()
        .collect()
    };
    assert_eq!(admin.free(&tee), expect(1 - tee_online, 0, -1, 0));
    assert_eq!(admin.free(&print), expect(start["print"] - 6, -1, 1, 0));
    assert_eq!(admin.free(&mug), expect(mug_at_hub - mug_online, 1, 0, 1));

    // No `deny` counter below zero anywhere but the approved override.
    for level in admin.get("/v1/inventory")["levels"].as_array().unwrap() {
        let v = level["variant_id"].as_str().unwrap();
        for h in level["holders"].as_array().unwrap() {
            let free = h["free"].as_i64().unwrap();
            let override_cell = v == tee && h["holder"] == till(1).as_str();
            if deny.contains(v) && !override_cell {
                assert!(free >= 0, "{level}");
            }
        }
    }

    // The tills agree with the hub: on hand over every holder.
    for t in &tills {
        let stock = t.json(&["stock"]);
        let on_hand = |v: &str| {
            stock
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["variant_id"] == v)
                .unwrap()["on_hand"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(on_hand(&tee), admin.free(&tee).values().sum::<i64>());
        assert_eq!(on_hand(&mug), admin.free(&mug).values().sum::<i64>());
    }

    // Exactly the two conflicts of the day, at the hub and on every till; no others.
    let hub_conflicts: BTreeSet<(String, String, String, String)> = admin.get("/v1/conflicts")
        ["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| conflict_key(c, "hub"))
        .collect();
    let expected: BTreeSet<(String, String, String, String)> = [
        ("conflict.made_to_order_short", &print, till(0)),
        ("conflict.negative_stock", &tee, till(1)),
    ]
    .into_iter()
    .map(|(k, v, h)| (k.to_string(), v.clone(), h, "hub".to_string()))
    .collect();
    assert_eq!(hub_conflicts, expected);
    for t in &tills {
        assert_eq!(t.conflicts(), expected, "till {}", t.id);
    }

    // Stall 1 decides on the print; the hub records it and the others learn it.
    let open = t1.json(&["conflicts"]);
    let print_conflict = open
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["variant_id"] == print.as_str())
        .unwrap();
    let id = print_conflict["id"].as_str().unwrap();
    let done = t1.json(&[
        "conflicts",
        "resolve",
        &id[id.len() - 8..],
        "--with",
        "make_more",
    ]);
    assert_eq!(done["status"], "resolved", "{done}");
    let at_hub = admin.get("/v1/conflicts");
    let resolved = at_hub["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap();
    assert_eq!(resolved["resolution"], "make_more");
    t3.json(&["sync"]);
    assert_eq!(t3.json(&["conflicts"]).as_array().unwrap().len(), 1);

    hub.stop();
}
