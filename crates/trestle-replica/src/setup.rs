//! The creator's set-up work on the shop document: variants and their catalog fields, the
//! counters of a holder, market events. Only the creator (the hub, or a till working alone)
//! creates maps and counters, so each is created exactly once (docs/replica.md).

use automerge::{transaction::Transactable, ChangeHash, ObjType};
use trestle_core::ids::VariantId;

use crate::error::{Error, Result};
use crate::ids::{Cause, Holder, MarketEventId};
use crate::replica::{EventFields, Role, ShopReplica};
use crate::schema::*;

impl ShopReplica {
    /// `NotCreator` naming `action` unless this replica is the document's creator.
    pub(crate) fn require_creator(&self, action: &'static str) -> Result<()> {
        match self.role {
            Role::Creator => Ok(()),
            Role::Holder => Err(Error::NotCreator { action }),
        }
    }

    /// Adds a variant to the catalog and its (empty) stock map. Creator only.
    pub fn add_variant(
        &mut self,
        variant: VariantId,
        fields: &VariantFields,
    ) -> Result<ChangeHash> {
        self.require_creator("add a product to the catalog")?;
        let key = variant.to_string();
        if read_map(&self.doc, &self.roots.catalog, &key, None)?.is_some() {
            return Err(Error::AlreadyExists {
                what: "variant",
                id: key,
            });
        }
        let (catalog, stock) = (self.roots.catalog.clone(), self.roots.stock.clone());
        self.write(Cause::Setup(format!("variant:{key}")), |doc| {
            let obj = doc.put_object(&catalog, key.as_str(), ObjType::Map)?;
            fields.write(doc, &obj)?;
            if read_map(doc, &stock, &key, None)?.is_none() {
                doc.put_object(&stock, key.as_str(), ObjType::Map)?;
            }
            Ok(())
        })
    }

    /// Edits an existing variant's catalog fields (last writer wins per field). Any replica may.
    pub fn set_variant(
        &mut self,
        variant: VariantId,
        fields: &VariantFields,
    ) -> Result<ChangeHash> {
        let key = variant.to_string();
        let obj = read_map(&self.doc, &self.roots.catalog, &key, None)?
            .ok_or(Error::UnknownVariant { variant })?;
        self.write(Cause::Setup(format!("catalog:{key}")), |doc| {
            fields.write(doc, &obj)
        })
    }

    /// Creates `holder`'s `free` and `held` counters of `variant` at zero, once. Creator only:
    /// two replicas creating the same counter concurrently would lose one side's increments on
    /// merge. Returns `None` when they exist already.
    pub fn ensure_holder(
        &mut self,
        variant: VariantId,
        holder: Holder,
    ) -> Result<Option<ChangeHash>> {
        self.require_creator("give a till its own stock")?;
        if self.cell(variant, holder).is_ok() {
            return Ok(None);
        }
        let per = read_map(&self.doc, &self.roots.stock, &variant.to_string(), None)?
            .ok_or(Error::UnknownVariant { variant })?;
        let key = holder.to_string();
        let hash = self.write(Cause::Setup(format!("holder:{variant}:{key}")), |doc| {
            let cell = doc.put_object(&per, key.as_str(), ObjType::Map)?;
            doc.put(&cell, K_FREE, automerge::ScalarValue::counter(0))?;
            doc.put(&cell, K_HELD, automerge::ScalarValue::counter(0))?;
            Ok(())
        })?;
        // Known from the start: a merge naming the new cell (a till's sheet) walks no index.
        self.cell(variant, holder)?;
        Ok(Some(hash))
    }

    /// Records a market event. Creator only.
    pub fn add_event(&mut self, id: MarketEventId, fields: &EventFields) -> Result<ChangeHash> {
        self.require_creator("create a market event")?;
        let key = id.to_string();
        if read_map(&self.doc, &self.roots.events, &key, None)?.is_some() {
            return Err(Error::AlreadyExists {
                what: "event",
                id: key,
            });
        }
        let events = self.roots.events.clone();
        self.write(Cause::Setup(format!("event:{key}")), |doc| {
            let obj = doc.put_object(&events, key.as_str(), ObjType::Map)?;
            doc.put(&obj, "name", fields.name.as_str())?;
            doc.put(&obj, "place", fields.place.as_str())?;
            doc.put(&obj, "starts", fields.starts)?;
            doc.put(&obj, "ends", fields.ends)?;
            let tills = doc.put_object(&obj, "tills", ObjType::List)?;
            for (i, t) in fields.tills.iter().enumerate() {
                doc.insert(&tills, i, t.to_string())?;
            }
            Ok(())
        })
    }
}
