//! Catalog and stock on the writer: applying an imported catalog, inventory levels per variant,
//! holder and location, transfers from the hub to a till (the allocation of an event, with the
//! event's pickup reservations travelling along), return requests, and market events.

use rusqlite::params;
use serde_json::json;
use trestle_core::ids::TillId;
use trestle_core::import::ImportReport;
use trestle_protocol::{
    CatalogVariant, CreateEvent, ImportRow, ImportSummary, InventoryLevel, LineRequest,
    LocationLevel, LocationStock, MarketEvent, RequestReturn, ReturnRequested, TransferRecord,
};
use trestle_replica::ids::{CountId, MarketEventId, TransferId};
use trestle_replica::{EventFields, EventView, Holder, VariantFields};
use uuid::Uuid;

use super::checkout::typed_lines;
use super::{store, Ctx};
use crate::db::{new_id, now_ms, rfc3339};
use crate::directory::clean_name;
use crate::error::{HubError, Result};

/// A market event's time: `2026-12-05T09:00:00Z` or a date.
pub(crate) fn parse_time(what: &'static str, input: &str) -> Result<i64> {
    trestle_core::clock::parse_utc(input)
        .and_then(|ms| i64::try_from(ms).ok())
        .ok_or_else(|| {
            HubError::invalid(
                "request.invalid_time",
                format!("the {what} {input:?} is not a UTC time like 2026-12-05T09:00:00Z"),
            )
        })
}

fn event_dto(e: &EventView) -> MarketEvent {
    MarketEvent {
        id: e.id.0,
        name: e.fields.name.clone(),
        place: e.fields.place.clone(),
        starts: rfc3339(e.fields.starts),
        ends: rfc3339(e.fields.ends),
        status: e.status.clone(),
        tills: e
            .fields
            .tills
            .iter()
            .filter_map(|h| match h {
                Holder::Till(t) => Some(t.0),
                Holder::Hub => None,
            })
            .collect(),
    }
}

impl Ctx<'_> {
    pub fn catalog(&mut self) -> Vec<CatalogVariant> {
        let currency = self.st.shop.currency.code().to_string();
        let mut out: Vec<CatalogVariant> = self
            .st
            .catalog
            .iter()
            .map(|(v, f)| CatalogVariant {
                variant_id: v.0,
                title: f.title.clone(),
                sku: f.sku.clone(),
                barcode: f.barcode.clone(),
                price_minor: f.price_minor,
                currency: currency.clone(),
                tax_ppm: f.tax_ppm,
                policy: f.policy.as_str().to_string(),
                track_inventory: f.track_inventory,
            })
            .collect();
        out.sort_by(|a, b| a.title.cmp(&b.title).then(a.variant_id.cmp(&b.variant_id)));
        out
    }

    /// Applies a parsed Shopify export: new variants are added with the file's quantity as the
    /// hub's opening stock; known variants get the file's catalog fields (their stock is never
    /// overwritten by a re-import — stock moves only as counted deltas).
    pub fn import_catalog(&mut self, report: ImportReport) -> Result<ImportSummary> {
        let (mut new_variants, mut updated) = (0, 0);
        for p in &report.products {
            for iv in &p.variants {
                let v = iv.variant.id;
                let mut fields = VariantFields::from_variant(&iv.variant);
                if fields.title != "Default" {
                    fields.title = format!("{} — {}", p.product.title, fields.title);
                } else {
                    fields.title = p.product.title.clone();
                }
                match self.st.catalog.get(&v) {
                    None => {
                        self.st.replica.add_variant(v, &fields)?;
                        self.st.replica.ensure_holder(v, Holder::Hub)?;
                        if fields.track_inventory && iv.initial_qty != 0 {
                            self.st.replica.count(
                                CountId(new_id()),
                                v,
                                iv.initial_qty,
                                "opening stock from the catalog import",
                            )?;
                        }
                        new_variants += 1;
                        self.st.touched.insert(v);
                    }
                    Some(old) if *old != fields => {
                        self.st.replica.set_variant(v, &fields)?;
                        updated += 1;
                    }
                    Some(_) => {}
                }
                self.st.catalog.insert(v, fields);
            }
        }
        let counts = report.counts();
        let rows = report
            .rows
            .iter()
            .map(|r| {
                let (outcome, note) = match &r.outcome {
                    trestle_core::import::RowOutcome::Variant { note, .. } => {
                        ("variant", note.clone())
                    }
                    trestle_core::import::RowOutcome::Image => ("image", None),
                    trestle_core::import::RowOutcome::Skipped { reason } => {
                        ("skipped", Some(reason.clone()))
                    }
                };
                ImportRow {
                    line: r.line,
                    outcome: outcome.to_string(),
                    variant_id: r.outcome.variant_id().map(|v| v.0),
                    note,
                }
            })
            .collect();
        let summary = ImportSummary {
            products: counts.products,
            variants: counts.variants,
            new_variants,
            updated_variants: updated,
            images: counts.images,
            skipped: counts.skipped,
            rows,
        };
        if new_variants + updated > 0 {
            let data = json!({ "new_variants": new_variants, "updated_variants": updated });
            store::publish(self.tx, self.st, self.published, "catalog.updated", data)?;
        }
        Ok(summary)
    }

    pub fn inventory(&mut self, variant: Option<Uuid>) -> Result<Vec<InventoryLevel>> {
        // One variant: read only its counters (not every variant's).
        let levels = match variant {
            Some(v) => {
                let id = trestle_core::ids::VariantId(v);
                let holders = self.st.replica.stock_of(id)?;
                if !self.st.catalog.contains_key(&id) {
                    return Err(HubError::not_found("variant", v));
                }
                vec![trestle_replica::VariantLevel {
                    variant: id,
                    on_hand: holders.iter().map(|l| l.free + l.held).sum(),
                    available: holders
                        .iter()
                        .find(|l| l.holder == Holder::Hub)
                        .map_or(0, |l| l.free),
                    holders,
                }]
            }
            None => self.st.replica.levels()?,
        };
        let mut out = Vec::new();
        for l in levels {
            let f = self.st.catalog.get(&l.variant);
            out.push(InventoryLevel {
                variant_id: l.variant.0,
                title: f.map(|f| f.title.clone()).unwrap_or_default(),
                sku: f.and_then(|f| f.sku.clone()),
                on_hand: l.on_hand,
                available: l.available,
                held: l.holders.iter().map(|h| h.held).sum(),
                holders: l.holders.iter().map(store::holder_stock).collect(),
            });
        }
        Ok(out)
    }

    /// Stock per location: the online warehouse, and each event (its tills together).
    pub fn locations(&mut self) -> Result<Vec<LocationStock>> {
        let levels = self.st.replica.levels()?;
        let sum = |holders: &[Holder]| -> Vec<LocationLevel> {
            levels
                .iter()
                .map(|l| {
                    let (free, held) = l
                        .holders
                        .iter()
                        .filter(|h| holders.contains(&h.holder))
                        .fold((0, 0), |(f, h), x| (f + x.free, h + x.held));
                    LocationLevel {
                        variant_id: l.variant.0,
                        free,
                        held,
                        on_hand: free + held,
                    }
                })
                .collect()
        };
        let mut out = vec![LocationStock {
            location: "hub".into(),
            name: "Online warehouse".into(),
            levels: sum(&[Holder::Hub]),
        }];
        for e in self.st.replica.events()? {
            out.push(LocationStock {
                location: format!("event:{}", e.id),
                name: e.fields.name.clone(),
                levels: sum(&e.fields.tills),
            });
        }
        Ok(out)
    }

    /// Gives units of the hub's `free` to a till in one change, then hands the till the pickup
    /// reservations of its events that the hub still holds.
    pub fn transfer(&mut self, to_till: Uuid, lines: &[LineRequest]) -> Result<TransferRecord> {
        let typed = typed_lines(lines)?;
        let till = Holder::Till(TillId(to_till));
        let mut wanted = std::collections::BTreeMap::new();
        for (v, q) in &typed {
            self.known(*v)?;
            *wanted.entry(*v).or_insert(0) += i64::from(q.get());
        }
        // A holder cannot give what it does not hold: checked against the hub's free less what
        // this batch's ship orders already took (they leave the replica at the batch's end).
        for (v, n) in &wanted {
            if self.st.catalog[v].track_inventory {
                self.require_free(*v, *n)?;
            }
        }
        for (v, _) in &typed {
            self.st.replica.ensure_holder(*v, till)?;
        }
        let id = TransferId(new_id());
        self.st.replica.transfer(id, till, &typed)?;
        self.st.touched.extend(typed.iter().map(|(v, _)| *v));
        let mut moved = Vec::new();
        let events: Vec<MarketEventId> = self
            .st
            .replica
            .events()?
            .into_iter()
            .filter(|e| e.status != "closed" && e.fields.tills.first() == Some(&till))
            .map(|e| e.id)
            .collect();
        for r in self.st.replica.reservations()? {
            let open = matches!(r.status.as_str(), "held" | "ready" | "partially_collected");
            if open && r.holder == Holder::Hub && r.event.is_some_and(|e| events.contains(&e)) {
                self.hand_over(r.id, till)?;
                moved.push(r.id.0);
            }
        }
        let now = now_ms();
        let record = TransferRecord {
            id: id.0,
            from: Holder::Hub.to_string(),
            to: till.to_string(),
            lines: lines.to_vec(),
            reservations_moved: moved,
            at: rfc3339(now),
        };
        let body = serde_json::to_value(&record)?;
        self.tx.execute(
            "INSERT INTO transfers (id, body, at) VALUES (?1, ?2, ?3)",
            params![id.0.to_string(), body.to_string(), now],
        )?;
        store::feed(self.tx, to_till, "transfer.received", &body)?;
        store::publish(self.tx, self.st, self.published, "transfer.created", body)?;
        Ok(record)
    }

    pub fn transfers(&mut self) -> Result<Vec<TransferRecord>> {
        let mut st = self
            .tx
            .prepare_cached("SELECT body FROM transfers ORDER BY at DESC, id DESC LIMIT 500")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for b in rows {
            out.push(serde_json::from_str(&b?)?);
        }
        Ok(out)
    }

    /// Asks a till to give units back: an entry in its feed, carried out by the till.
    pub fn request_return(&mut self, req: RequestReturn) -> Result<ReturnRequested> {
        if let Some(lines) = &req.lines {
            for (v, _) in typed_lines(lines)? {
                self.known(v)?;
            }
        }
        let id = new_id();
        let body = json!({ "id": id, "lines": req.lines });
        let seq = store::feed(self.tx, req.till_id, "return.requested", &body)?;
        Ok(ReturnRequested {
            id,
            till_id: req.till_id,
            lines: req.lines,
            feed_seq: seq,
        })
    }

    pub fn create_event(&mut self, req: CreateEvent) -> Result<MarketEvent> {
        let name = clean_name("event name", &req.name)?;
        let place = req.place.trim().to_string();
        if place.chars().count() > 200 || place.chars().any(char::is_control) {
            return Err(HubError::invalid(
                "request.invalid_text",
                "the place must be at most 200 characters",
            ));
        }
        let starts = parse_time("start", &req.starts)?;
        let ends = parse_time("end", &req.ends)?;
        if ends < starts {
            return Err(HubError::invalid(
                "event.ends_before_start",
                "the event cannot end before it starts",
            ));
        }
        let id = MarketEventId(new_id());
        let fields = EventFields {
            name,
            place,
            starts,
            ends,
            tills: Vec::new(),
        };
        self.st.replica.add_event(id, &fields)?;
        self.event_changed(id)
    }

    pub fn events(&mut self) -> Result<Vec<MarketEvent>> {
        Ok(self.st.replica.events()?.iter().map(event_dto).collect())
    }

    pub fn event(&mut self, id: Uuid) -> Result<MarketEvent> {
        Ok(event_dto(&self.event_view(id)?))
    }

    fn event_view(&self, id: Uuid) -> Result<EventView> {
        self.st
            .replica
            .event(MarketEventId(id))?
            .ok_or_else(|| HubError::not_found("event", id))
    }

    /// Assigns a paired till to an event (`paired` says the directory knows it).
    pub fn assign_till(&mut self, id: Uuid, till: Uuid) -> Result<MarketEvent> {
        let e = self.event_view(id)?;
        if e.status == "closed" {
            return Err(HubError::invalid("event.closed", "the event is closed"));
        }
        let mut tills = e.fields.tills.clone();
        let h = Holder::Till(TillId(till));
        if !tills.contains(&h) {
            tills.push(h);
        }
        self.st.replica.update_event(e.id, &tills, &e.status)?;
        self.event_changed(e.id)
    }

    /// `open` or `closed`; a closed event stays closed.
    pub fn set_event_status(&mut self, id: Uuid, status: &'static str) -> Result<MarketEvent> {
        let e = self.event_view(id)?;
        if e.status == "closed" {
            return Err(HubError::invalid(
                "event.closed",
                "the event is closed already",
            ));
        }
        if status == "open" && e.fields.tills.is_empty() {
            return Err(HubError::invalid(
                "event.no_tills",
                "assign a till to the event before opening it",
            ));
        }
        self.st
            .replica
            .update_event(e.id, &e.fields.tills, status)?;
        self.event_changed(e.id)
    }

    fn event_changed(&mut self, id: MarketEventId) -> Result<MarketEvent> {
        let dto = event_dto(&self.event_view(id.0)?);
        let body = serde_json::to_value(&dto)?;
        for t in &dto.tills {
            store::feed(self.tx, *t, "event.updated", &body)?;
        }
        store::publish(self.tx, self.st, self.published, "event.updated", body)?;
        Ok(dto)
    }

    /// The hub's own count correction: a delta on its `free`, never below zero for `deny`.
    pub fn count(&mut self, req: trestle_protocol::CountCorrection) -> Result<InventoryLevel> {
        let v = trestle_core::ids::VariantId(req.variant_id);
        self.known(v)?;
        if req.delta == 0 || req.delta.abs() > 1_000_000 {
            return Err(HubError::invalid(
                "count.invalid_delta",
                "the correction must change the count by 1 to 1,000,000 units",
            ));
        }
        let reason = clean_name("reason", &req.reason)?;
        let f = &self.st.catalog[&v];
        if req.delta < 0 && f.track_inventory && f.policy == trestle_core::catalog::Policy::Deny {
            self.require_free(v, -req.delta)?;
        }
        self.st
            .replica
            .count(CountId(new_id()), v, req.delta, &reason)?;
        self.st.touched.insert(v);
        self.inventory(Some(req.variant_id))?
            .pop()
            .ok_or_else(|| HubError::not_found("variant", req.variant_id))
    }

    /// `catalog.unknown_variant` (422) for a variant the request names that the shop lacks.
    pub(crate) fn known(&self, v: trestle_core::ids::VariantId) -> Result<()> {
        if self.st.catalog.contains_key(&v) {
            Ok(())
        } else {
            Err(HubError::invalid(
                "catalog.unknown_variant",
                format!("{} is not in this shop's catalog", v.0),
            ))
        }
    }

    /// The hub's `free` of a variant less what this batch's ship orders took already.
    pub(crate) fn free_after_batch(&mut self, v: trestle_core::ids::VariantId) -> i64 {
        let taken: i64 = self
            .st
            .pending
            .iter()
            .filter(|(p, _)| *p == v)
            .map(|(_, q)| i64::from(q.get()))
            .sum();
        self.cached_free(v) - taken
    }

    /// `stock.short` (409) unless the hub has `n` free of `v` after this batch's orders.
    fn require_free(&mut self, v: trestle_core::ids::VariantId, n: i64) -> Result<()> {
        let free = self.free_after_batch(v);
        if free >= n {
            return Ok(());
        }
        let title = self
            .st
            .catalog
            .get(&v)
            .map(|f| f.title.clone())
            .unwrap_or_default();
        Err(HubError::Conflict {
            code: "stock.short",
            message: format!(
                "not enough stock at the hub of {title}: {n} wanted, {} free",
                free.max(0)
            ),
            details: Some(json!({ "short": [trestle_protocol::ShortLine {
                variant_id: v.0, title, wanted: n, available: free.max(0)
            }] })),
        })
    }
}
