//! A market day's cast for the sync benchmarks: the real hub (in this process, on its own tokio
//! runtime, real HTTP on 127.0.0.1 port 0) with a generated catalog, a [`Proxy`] in front of it
//! (counting bytes, injecting faults when asked), and tills — real `trestle_till::Till` data
//! directories — paired through the proxy and given stock by the hub.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use trestle_core::catalog::Qty;
use trestle_core::tax::{TaxMode, TaxRate};
use trestle_core::tender::Tender;
use trestle_core::{Currency, Money};
use trestle_hub::directory::Directory;
use trestle_hub::{Config, LocalHub};
use trestle_netfault::{Faults, Proxy};
use trestle_till::sell::{LineRequest, SellRequest};
use trestle_till::{InitParams, Till};

/// `variant` → `holder` → (free, held).
pub type Inventory = BTreeMap<String, BTreeMap<String, (i64, i64)>>;

/// The hub, running.
pub struct Hub {
    /// Stops gracefully when dropped.
    _served: LocalHub,
    pub url: String,
    pub addr: SocketAddr,
    pub admin: String,
    pub shop: String,
    pub db: std::path::PathBuf,
    http: reqwest::blocking::Client,
}

impl Hub {
    /// A fresh hub database in `dir` with one GBP shop (prices inclusive of 20% tax).
    pub fn create(dir: &Path) -> Result<Hub> {
        let db = dir.join("hub.sqlite");
        let (shop, admin) = Directory::open(&db)?.create_shop(
            "Market Shop",
            Currency::parse("GBP")?,
            TaxMode::Inclusive,
            TaxRate::parse_percent("20")?,
        )?;
        Hub::serve(db, admin, shop.id.to_string())
    }

    fn serve(db: std::path::PathBuf, admin: String, shop: String) -> Result<Hub> {
        let served = LocalHub::start(Config::new(db.clone(), "127.0.0.1:0".parse()?), 2)?;
        let addr: SocketAddr = format!("127.0.0.1:{}", served.port()).parse()?;
        Ok(Hub {
            url: served.url(),
            _served: served,
            addr,
            admin,
            shop,
            db,
            http: reqwest::blocking::Client::new(),
        })
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<(u16, Value)> {
        let m = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut rb = self
            .http
            .request(m, format!("{}{path}", self.url))
            .bearer_auth(&self.admin);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send()?;
        let status = r.status().as_u16();
        Ok((status, r.json().unwrap_or(Value::Null)))
    }

    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let (status, v) = self.call(method, path, body)?;
        if !(200..300).contains(&status) {
            bail!("{method} {path}: {status} {v}");
        }
        Ok(v)
    }

    /// Imports a generated Shopify export of `skus` tracked `deny` variants, `stock` units each
    /// at the hub; returns their ids in catalog order.
    pub fn import_catalog(&self, skus: usize, stock: u64) -> Result<Vec<String>> {
        let mut csv = String::from(
            "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Inventory Tracker,\
             Variant Inventory Qty,Variant Inventory Policy,Variant Price\n",
        );
        for i in 0..skus {
            let price = 500 + (i % 40) * 100;
            csv.push_str(&format!(
                "item-{i:05},Item {i:05},Title,Default Title,SKU{i:05},shopify,{stock},deny,{}.{:02}\n",
                price / 100,
                price % 100
            ));
        }
        let r = self
            .http
            .post(format!("{}/v1/catalog/import", self.url))
            .bearer_auth(&self.admin)
            .header("content-type", "text/csv")
            .body(csv)
            .send()?;
        if r.status().as_u16() != 200 {
            bail!("catalog import: {} {}", r.status(), r.text()?);
        }
        let cat = self.ok("GET", "/v1/catalog", None)?;
        let mut ids: Vec<(String, String)> = cat["variants"]
            .as_array()
            .ok_or_else(|| anyhow!("no variants in {cat}"))?
            .iter()
            .filter_map(|v| {
                Some((
                    v["title"].as_str()?.to_string(),
                    v["variant_id"].as_str()?.to_string(),
                ))
            })
            .collect();
        ids.sort();
        Ok(ids.into_iter().map(|(_, id)| id).collect())
    }

    pub fn pairing_code(&self, till_name: &str) -> Result<String> {
        let v = self.ok(
            "POST",
            "/v1/pairing-codes",
            Some(json!({ "till_name": till_name })),
        )?;
        Ok(v["code"]
            .as_str()
            .ok_or_else(|| anyhow!("no code in {v}"))?
            .to_string())
    }

    /// Transfers `qty` of each variant from the hub to `till`, 200 lines a transfer.
    pub fn allocate(&self, till: &str, variants: &[String], qty: u64) -> Result<()> {
        for chunk in variants.chunks(200) {
            let lines: Vec<Value> = chunk
                .iter()
                .map(|v| json!({ "variant_id": v, "qty": qty }))
                .collect();
            self.ok(
                "POST",
                "/v1/transfers",
                Some(json!({ "to_till": till, "lines": lines })),
            )?;
        }
        Ok(())
    }

    /// `variant` → `holder` → (free, held), for the whole shop.
    pub fn inventory(&self) -> Result<Inventory> {
        let v = self.ok("GET", "/v1/inventory", None)?;
        let mut out = BTreeMap::new();
        for level in v["levels"].as_array().ok_or_else(|| anyhow!("no levels"))? {
            let mut holders = BTreeMap::new();
            for h in level["holders"].as_array().into_iter().flatten() {
                holders.insert(
                    h["holder"].as_str().unwrap_or("").to_string(),
                    (
                        h["free"].as_i64().unwrap_or(0),
                        h["held"].as_i64().unwrap_or(0),
                    ),
                );
            }
            out.insert(
                level["variant_id"].as_str().unwrap_or("").to_string(),
                holders,
            );
        }
        Ok(out)
    }

    /// Event id → times stored, read from the shop's file (read-only, while the hub runs).
    pub fn till_events(&self) -> Result<BTreeMap<String, i64>> {
        let mut path = self.db.clone().into_os_string();
        path.push(".shops");
        let path = std::path::PathBuf::from(path).join(format!("{}.sqlite", self.shop));
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut st =
            conn.prepare("SELECT event_id, COUNT(*) FROM till_events GROUP BY event_id")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// The hub and a counting (or faulty) proxy in front of it.
pub struct Stage {
    pub hub: Hub,
    pub proxy: Proxy,
}

impl Stage {
    pub fn start(dir: &Path, faults: Faults) -> Result<Stage> {
        let hub = Hub::create(dir)?;
        let proxy = Proxy::start(hub.addr, faults)?;
        Ok(Stage { hub, proxy })
    }

    /// A new till in `dir`, paired with the hub through the proxy; returns it and its id.
    pub fn till(&self, dir: &Path, name: &str) -> Result<(Till, String)> {
        let params = InitParams::new(
            "Market Shop",
            Currency::parse("GBP")?,
            TaxMode::Inclusive,
            TaxRate::parse_percent("20")?,
            name,
            None,
        )?;
        let mut till = Till::init(dir, &params)?;
        let code = self.hub.pairing_code(name)?;
        let url = self.proxy.url();
        // Pairing is never retried (the code works once): pair on a clean wire.
        let faults = self.proxy_faults_off();
        let paired = till.pair(&url, &code).context("pairing");
        self.proxy.set_faults(faults);
        paired?;
        let id = till.shop().till_id.to_string();
        Ok((till, id))
    }

    fn proxy_faults_off(&self) -> Faults {
        let f = self.proxy.faults();
        self.proxy.set_faults(Faults::none());
        f
    }
}

/// A one-line sale of one unit of `variant`, paid in cash.
pub fn sale_of(variant: &str) -> Result<SellRequest> {
    Ok(SellRequest {
        lines: vec![LineRequest {
            item: variant.to_string(),
            qty: Qty::new(1)?,
            discount: None,
        }],
        tenders: vec![Tender::cash(Money::from_minor(
            100_000,
            Currency::parse("GBP")?,
        ))],
        ..SellRequest::default()
    })
}
