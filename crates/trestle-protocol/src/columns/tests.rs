//! The columns' deserializer against the way entries were read before it (decision 197): each
//! entry's JSON text written back from the columns and parsed by serde_json. On any JSON, and on
//! damaged frames, both read the same values or both refuse.

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;
use trestle_core::cart::{Cart, CartLine};
use trestle_core::catalog::{Qty, Sku};
use trestle_core::clock::Hlc;
use trestle_core::ids::{SaleId, TillId, VariantId};
use trestle_core::receipt::ReceiptNo;
use trestle_core::sale::{complete, SaleMeta};
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::tender::Tender;
use trestle_core::{Currency, Money};
use uuid::Uuid;

use super::*;

/// Every entry of `input` read by the columns' deserializer as `T`.
fn read_direct<T: DeserializeOwned>(input: &[u8]) -> Result<Vec<T>, FrameError> {
    let mut columns = Columns::open(input)?;
    let out = (0..columns.order.len())
        .map(|at| {
            columns.read(at, |shape, cur| {
                T::deserialize(de::De { cur, shape }).map_err(de::DeError::into_frame)
            })
        })
        .collect::<Result<Vec<T>, _>>()?;
    columns.finish()?;
    Ok(out)
}

/// Every entry of `input` written back as JSON text and read by serde_json as `T` (the decode
/// before decision 197).
fn read_as_text<T: DeserializeOwned>(input: &[u8]) -> Result<Vec<T>, FrameError> {
    let mut columns = Columns::open(input)?;
    let out = (0..columns.order.len())
        .map(|at| {
            columns.read(at, |shape, cur| {
                let mut text = Vec::new();
                write_json(shape, cur, &mut text).map_err(de::DeError::into_frame)?;
                serde_json::from_slice(&text).map_err(|e| bad(&e.to_string()))
            })
        })
        .collect::<Result<Vec<T>, _>>()?;
    columns.finish()?;
    Ok(out)
}

fn write_json(
    shape: &Shape<'_>,
    cur: &mut de::Cursor<'_, '_>,
    out: &mut Vec<u8>,
) -> Result<(), de::DeError> {
    match shape {
        Shape::Leaf => match cur.row()? {
            Row::Null => out.extend_from_slice(b"null"),
            Row::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            Row::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Row::U64(u) => out.extend_from_slice(u.to_string().as_bytes()),
            Row::Number(t) => out.extend_from_slice(t),
            Row::Text(Text::Frame(s)) => out.extend_from_slice(format!("\"{s}\"").as_bytes()),
            Row::Text(Text::Uuid(u)) => {
                out.extend_from_slice(format!("\"{}\"", Uuid::from_u128(u)).as_bytes())
            }
        },
        Shape::Object(fields) => {
            out.push(b'{');
            for (i, (key, s)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(serde_json::to_string(key).unwrap().as_bytes());
                out.push(b':');
                write_json(s, cur, out)?;
            }
            out.push(b'}');
        }
        Shape::Array(items) => {
            out.push(b'[');
            for (i, s) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(s, cur, out)?;
            }
            out.push(b']');
        }
    }
    Ok(())
}

/// The columns of compact JSON texts (serde_json's output).
fn columns_of(texts: &[String]) -> Vec<u8> {
    let mut all = Vec::new();
    let mut spans = Vec::new();
    for t in texts {
        spans.push((all.len(), all.len() + t.len()));
        all.extend_from_slice(t.as_bytes());
    }
    let mut out = Vec::new();
    assert!(
        encode::encode_texts(&all, &spans, &mut out),
        "the texts encode"
    );
    out
}

fn damaged(frame: &[u8], cut: usize, flip: usize, byte: u8) -> Vec<u8> {
    let mut d = frame[..cut.min(frame.len())].to_vec();
    if !d.is_empty() {
        let i = flip % d.len();
        d[i] ^= byte;
    }
    d
}

/// Both reads agree: the same values, or both refuse.
fn agree<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
    input: &[u8],
) -> Result<(), TestCaseError> {
    match (read_direct::<T>(input), read_as_text::<T>(input)) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        (a, b) => prop_assert!(false, "direct {a:?}, as text {b:?}"),
    }
    Ok(())
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-c\"\\\\\u{1}\u{7f}é☃\n]{0,6}".prop_map(Value::from),
        any::<u128>().prop_map(|u| Value::from(Uuid::from_u128(u).to_string())),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec(("[ab\"\\\\\t]{0,3}", inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A sale's envelope as a till stores it, with `title` on its line.
fn sale_text(i: u128, title: &str, staff: Option<&str>) -> String {
    let gbp = Currency::parse("GBP").unwrap();
    let till = TillId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001));
    let mut cart = Cart::new(gbp, TaxMode::Inclusive);
    cart.lines.push(CartLine {
        variant_id: VariantId(Uuid::from_u128(77 + i)),
        sku: i.is_multiple_of(2).then(|| Sku::parse("MUG-1").unwrap()),
        title: title.into(),
        unit_price: Money::from_minor(1200 + i as i64, gbp),
        tax_rate: TaxRate::from_ppm(200_000).unwrap(),
        qty: Qty::new(1 + i as u32 % 3).unwrap(),
        discount: None,
    });
    let total = cart.price().unwrap().totals.total;
    let meta = SaleMeta {
        id: SaleId(Uuid::from_u128(
            0x0190_0000_0000_7000_8000_0000_0001_0000 + i,
        )),
        receipt: ReceiptNo::parse(&format!("STALL1-{:06}", 1 + i)).unwrap(),
        till_id: till,
        at: Hlc {
            wall_ms: 1_764_000_000_000 + i as u64,
            counter: 0,
        },
        staff: staff.map(str::to_string),
        event: Some("Winter fair".into()),
    };
    let sale = complete(&cart, vec![Tender::cash(total)], meta).unwrap();
    serde_json::to_string(&serde_json::json!({
        "v": 1, "event_id": null, "till_id": till,
        "event": LedgerEvent::SaleCompleted(sale),
    }))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_json_reads_as_serde_json_reads_its_text(values in proptest::collection::vec(json(), 1..8)) {
        let texts: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        let read = read_direct::<Value>(&columns_of(&texts)).unwrap();
        // serde_json reads a float's text back as the nearest it parses, not always the float
        // it wrote: the reference is its reading of the texts.
        let as_text: Vec<Value> = texts.iter().map(|t| serde_json::from_str(t).unwrap()).collect();
        prop_assert_eq!(read, as_text);
    }

    #[test]
    fn damaged_columns_read_as_their_text_does(
        values in proptest::collection::vec(json(), 1..5),
        cut in 0usize..600, flip in 0usize..600, byte in any::<u8>(),
    ) {
        let texts: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        agree::<Value>(&damaged(&columns_of(&texts), cut, flip, byte))?;
    }

    #[test]
    fn damaged_sales_read_as_their_text_does(
        title in "[a-z\"\\\\é]{0,8}", staff in proptest::option::of("[A-Z]{1,4}"),
        cut in 0usize..1500, flip in 0usize..1500, byte in any::<u8>(),
    ) {
        let texts: Vec<String> = (0..4).map(|i| sale_text(i, &title, staff.as_deref())).collect();
        let frame = columns_of(&texts);
        agree::<WireEnvelope>(&frame)?;
        agree::<WireEnvelope>(&damaged(&frame, cut, flip, byte))?;
    }
}

#[test]
fn a_sale_reads_whole_and_exactly() {
    let texts: Vec<String> = (0..3)
        .map(|i| sale_text(i, "Mug \"blue\"", Some("Ann")))
        .collect();
    let read = read_direct::<WireEnvelope>(&columns_of(&texts)).unwrap();
    let as_text: Vec<WireEnvelope> = texts
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    assert_eq!(read, as_text);
    let LedgerEvent::SaleCompleted(sale) = &read[2].event else {
        panic!("a sale")
    };
    assert_eq!(sale.lines[0].title, "Mug \"blue\"");
}

#[test]
fn an_entry_holding_more_than_its_type_reads_is_refused() {
    let text = sale_text(1, "Mug", None);
    let change = r#""change":{"currency":"GBP","minor":0}"#;
    assert!(text.contains(change));
    // A struct may come as an array of its fields, as serde_json reads it; one item more is
    // refused, not dropped.
    let as_array = text.replace(change, r#""change":[0,"GBP"]"#);
    let longer = text.replace(change, r#""change":[0,"GBP",7]"#);
    let read = read_direct::<WireEnvelope>(&columns_of(std::slice::from_ref(&as_array))).unwrap();
    assert_eq!(
        read,
        read_as_text::<WireEnvelope>(&columns_of(&[as_array])).unwrap()
    );
    assert!(read_as_text::<WireEnvelope>(&columns_of(std::slice::from_ref(&longer))).is_err());
    assert!(read_direct::<WireEnvelope>(&columns_of(&[longer])).is_err());
    // With nothing after it to misread, the item left over is what refuses the entry.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Pair {
        a: u8,
        b: u8,
    }
    assert!(read_direct::<Pair>(&columns_of(&["[1,2]".into()])).is_ok());
    assert!(read_as_text::<Pair>(&columns_of(&["[1,2,3]".into()])).is_err());
    let refused = read_direct::<Pair>(&columns_of(&["[1,2,3]".into()])).unwrap_err();
    assert!(refused.to_string().contains("not read whole"), "{refused}");
}
