//! The services the desktop window calls, on real till files (and the real hub on port 0 for
//! pairing and pickups): search as you type, the cart being built and its tender quote, the
//! checkout (written only when paid, the cart kept otherwise), the Stock screen's rows and count
//! correction, the demo till, setting a till up by pairing, and a pickup hand-over's quote.

mod common;
#[path = "common/hub.rs"]
mod hub;

use common::engine::*;
use common::fingerprint;
use hub::*;
use serde_json::json;
use trestle_core::cart::{Discount, Percent};
use trestle_core::catalog::Qty;
use trestle_core::tender::Tender;
use trestle_till::cart::CartDraft;
use trestle_till::pickups::CollectLines;
use trestle_till::Till;

fn q(n: u32) -> Qty {
    Qty::new(n).unwrap()
}

#[test]
fn search_puts_an_exact_code_first_and_answers_at_most_the_limit() {
    let (_tmp, till) = setup();
    let item = deny_items(&till, 1).remove(0);
    let sku = item.sku.clone().expect("a SKU");
    let found = till.search(&sku, 5).unwrap();
    // Shopify SKUs are short numbers here (`10`), which many titles and SKUs contain.
    assert_eq!(
        found[0].sku.as_deref(),
        Some(sku.as_str()),
        "an exact SKU first"
    );
    assert!(found.len() <= 5);
    let exact = till.search(&item.variant_id.to_string(), 5).unwrap();
    assert!(
        exact.is_empty(),
        "a variant id is resolved when scanned, not searched"
    );
    let mine = till.search(&item.title, 50).unwrap();
    let got = mine
        .iter()
        .find(|i| i.variant_id == item.variant_id)
        .unwrap();
    assert_eq!(
        got.available,
        Some(on_hand(&till, &item)),
        "with this till's stock"
    );
    let word = item
        .product_title
        .split_whitespace()
        .next()
        .unwrap()
        .to_lowercase();
    let by_word = till.search(&word, 50).unwrap();
    assert!(by_word
        .iter()
        .all(|i| i.title.to_lowercase().contains(&word)
            || i.sku
                .as_deref()
                .is_some_and(|s| s.to_lowercase().contains(&word))
            || i.barcode
                .as_deref()
                .is_some_and(|s| s.to_lowercase().contains(&word))));
    assert!(by_word.iter().any(|i| i.variant_id == item.variant_id));
    assert!(till.search("   ", 5).unwrap().is_empty());
    assert!(
        till.search("%", 5).unwrap().is_empty(),
        "a LIKE wildcard is searched literally"
    );
}

#[test]
fn the_cart_prices_quotes_and_checks_out_only_when_paid() {
    let (_tmp, mut till) = setup();
    let items = deny_items(&till, 3);
    let mut cart = CartDraft::default();
    let before = fingerprint(&till.dir().join("till.sqlite"));
    till.cart_add(&mut cart, &items[0].variant_id.to_string(), q(2))
        .unwrap();
    till.cart_add(&mut cart, &items[1].variant_id.to_string(), q(1))
        .unwrap();
    till.cart_add(&mut cart, &items[0].variant_id.to_string(), q(1))
        .unwrap();
    assert_eq!(cart.lines.len(), 2, "the same item joins its line");
    assert_eq!(cart.lines[0].qty.get(), 3);
    // A discount larger than the line is refused and leaves the cart as it was.
    let huge = Discount::Amount(gbp(10_000_000));
    assert!(cart.set_line_discount(0, Some(huge), &till).is_err());
    assert!(cart.lines[0].discount.is_none());
    cart.set_discount(
        Some(Discount::Percent(Percent::from_bp(1000).unwrap())),
        &till,
    )
    .unwrap();
    let total = till.price_cart(&cart).unwrap().unwrap().totals.total;
    // Split tender: part on card, the rest in cash with change.
    let card = gbp(total.minor() / 2);
    let cash = gbp(total.minor() - card.minor() + 500);
    let quote = till
        .preview_tenders(&cart, &[Tender::card(card, Some("AUTH-1"))])
        .unwrap();
    assert_eq!(quote.remaining.minor(), total.minor() - card.minor());
    assert!(!quote.settles);
    let tenders = vec![Tender::card(card, Some("AUTH-1")), Tender::cash(cash)];
    let quote = till.preview_tenders(&cart, &tenders).unwrap();
    assert!(quote.settles);
    assert_eq!(quote.change.minor(), 500);
    // Underpaid: refused, nothing written, the cart kept.
    assert!(till.checkout(&mut cart, vec![Tender::cash(card)]).is_err());
    assert_eq!(fingerprint(&till.dir().join("till.sqlite")), before);
    assert_eq!(cart.lines.len(), 2);
    let sale = till.checkout(&mut cart, tenders).unwrap();
    assert!(cart.lines.is_empty(), "emptied once the sale is on disk");
    assert_eq!(sale.totals.total, total);
    assert_eq!(sale.change.minor(), 500);
    let conn = db(&till);
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sales WHERE id = ?1",
            &sale.id.to_string()
        ),
        1
    );
    let fav = till.favourites(4).unwrap();
    assert_eq!(
        fav[0].variant_id, items[0].variant_id,
        "the best seller first"
    );
    assert_eq!(fav.len(), 4);
}

#[test]
fn a_count_correction_sets_the_till_to_what_is_there_with_a_reason() {
    let (_tmp, mut till) = setup();
    let item = deny_items(&till, 2).remove(0);
    let id = item.variant_id.to_string();
    let have = on_hand(&till, &item);
    let before = fingerprint(&till.dir().join("till.sqlite"));
    assert!(
        till.correct_count(&id, have - 1, "  ").is_err(),
        "a reason is needed"
    );
    assert!(till.correct_count(&id, -1, "lost").is_err());
    let untracked = untracked_item(&till).variant_id.to_string();
    assert!(till.correct_count(&untracked, 3, "found").is_err());
    assert_eq!(
        fingerprint(&till.dir().join("till.sqlite")),
        before,
        "refusals change nothing"
    );
    let row = till.correct_count(&id, have - 1, "one damaged").unwrap();
    assert_eq!(
        (row.till_free, row.available, row.on_hand),
        (have - 1, have - 1, have - 1)
    );
    let conn = db(&till);
    let moved: i64 = conn
        .query_row(
            "SELECT SUM(delta) FROM stock_movements WHERE variant_id = ?1 AND cause = 'count'",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(moved, -1);
    let same = till.correct_count(&id, have - 1, "counted again").unwrap();
    assert_eq!(
        same, row,
        "a count equal to what is expected changes nothing"
    );
    // The correction is recorded as approved, as a stocktake's corrections are.
    let approvals: Vec<String> = db(&till)
        .prepare("SELECT detail FROM approvals WHERE kind = 'count_correction'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        approvals,
        [format!(
            "{}: {have} expected, {} counted",
            item.title,
            have - 1
        )]
    );
    let rows = till.stock_rows(&item.title[..6]).unwrap();
    assert!(rows.iter().any(|r| r.variant_id == item.variant_id));
    assert!(rows.iter().all(|r| r
        .title
        .to_lowercase()
        .contains(&item.title[..6].to_lowercase())
        || r.sku.is_some()));
}

#[test]
fn the_demo_till_holds_the_sample_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("till");
    let till = Till::init_demo(&dir).unwrap();
    assert!(till.is_demo());
    assert_eq!(till.shop().name, "Kalima Arts");
    assert!(till.catalog(None).unwrap().len() > 50);
    assert!(till.stock().unwrap().iter().any(|l| l.available > 0));
    drop(till);
    assert!(matches!(
        Till::init_demo(&dir),
        Err(trestle_till::Error::AlreadyInitialised(_))
    ));
}

#[test]
fn pairing_sets_a_new_till_up_from_the_hub_and_a_refusal_leaves_nothing() {
    let hub = Hub::start();
    hub.import_kalima();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("till");
    let Err(err) = Till::pair_new(&dir, &hub.url, "WRONG-CODE") else {
        panic!("a wrong code paired");
    };
    assert_eq!(err.code(), "sync.refused", "{err}");
    assert!(
        !dir.join("till.sqlite").exists(),
        "a refused pairing sets nothing up"
    );
    assert!(Till::pair_new(&dir, "not a url", "K7QM-4WXP").is_err());
    let code = hub.pairing_code("Stall 3");
    let till = Till::pair_new(&dir, &hub.url, &code).unwrap();
    assert_eq!(till.shop().name, "Kalima Arts");
    assert_eq!(till.shop().till_name, "Stall 3");
    assert_eq!(till.shop().currency.code(), "GBP");
    assert!(till.hub_link().unwrap().is_some());
    assert!(dir.join("hub.json").exists());
    let tee = hub.variant(TEE);
    assert!(
        till.resolve_item(&tee).is_ok(),
        "the hub's catalog is on the till"
    );
    let again = hub.pairing_code("Stall 4");
    assert!(matches!(
        Till::pair_new(&dir, &hub.url, &again),
        Err(trestle_till::Error::AlreadyInitialised(_))
    ));
}

#[test]
fn a_hand_over_is_quoted_before_it_is_made() {
    let hub = Hub::start();
    hub.import_kalima();
    let tmp = tempfile::tempdir().unwrap();
    let code = hub.pairing_code("Stall 1");
    let mut till = Till::pair_new(&tmp.path().join("till"), &hub.url, &code).unwrap();
    let till_id = till.shop().till_id.to_string();
    let event = hub.open_event(&till_id);
    let tee = hub.variant(TEE);
    let (s, order) = hub.checkout(
        "pickup-1",
        json!({
            "lines": [{"variant_id": tee, "qty": 2}],
            "customer": {"name": "Grace Hopper", "phone": "+44 7700 900123"},
            "fulfilment": {"type": "pickup", "event_id": event},
            "payment": "pay_on_pickup",
        }),
    );
    assert_eq!(s, 201, "{order}");
    hub.allocate(&till_id, &[(&tee, 3)]);
    till.sync().unwrap();
    let pickup_code = order["reservation"]["code"].as_str().unwrap().to_string();
    let p = till.find_pickup(&pickup_code).unwrap();
    let unit = p.lines[0].unit_price.minor();
    let all = till
        .quote_pickup(&pickup_code, &CollectLines::All, &[])
        .unwrap();
    assert_eq!(all.goods.minor(), 2 * unit);
    assert_eq!(all.due, all.goods, "nothing was paid before");
    assert_eq!(till.pickup_due(&p).unwrap(), all.due);
    let one = CollectLines::Items(vec![(tee.clone(), q(1))]);
    let part = till
        .quote_pickup(&pickup_code, &one, &[Tender::cash(gbp(unit + 100))])
        .unwrap();
    assert_eq!(
        (
            part.due.minor(),
            part.remaining.minor(),
            part.change.minor()
        ),
        (unit, 0, 100)
    );
    let too_many = CollectLines::Items(vec![(tee.clone(), q(3))]);
    assert!(till.quote_pickup(&pickup_code, &too_many, &[]).is_err());
    let done = till
        .collect_pickup(&pickup_code, &one, vec![Tender::cash(gbp(unit))])
        .unwrap();
    assert_eq!(
        done.sale.unwrap().totals.total.minor(),
        unit,
        "the quote was what was taken"
    );
    let left = till.find_pickup(&pickup_code).unwrap();
    assert_eq!(till.pickup_due(&left).unwrap().minor(), unit);
    assert_eq!(till.pickup_day(&left).unwrap(), "2026-12-05");
}
