//! The ledger's records beside the sale — refunds and voids — and the versioned envelope in which
//! a till's outbox carries them to the hub. These are wire types: declared once, here.

use serde::{Deserialize, Serialize};

use crate::clock::Hlc;
use crate::ids::{EventId, RefundId, SaleId, TillId, VoidId};
use crate::receipt::ReceiptNo;
use crate::refund::RefundPlan;
use crate::sale::Sale;

/// The version of the ledger wire format; bumped on any incompatible change.
pub const LEDGER_WIRE_VERSION: u32 = 1;

/// A refund of some or all of a completed sale. The sale itself is never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub sale_id: SaleId,
    pub sale_receipt: ReceiptNo,
    pub till_id: TillId,
    pub at: Hlc,
    pub reason: Option<String>,
    pub staff: Option<String>,
    /// Whether the refunded units went back into this till's stock.
    pub restocked: bool,
    pub plan: RefundPlan,
}

/// A void: the whole sale cancelled (every unit back in stock, every tender reversed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Void {
    pub id: VoidId,
    pub sale_id: SaleId,
    pub sale_receipt: ReceiptNo,
    pub till_id: TillId,
    pub at: Hlc,
    pub reason: String,
    pub staff: Option<String>,
}

/// What a till records and sends to the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum LedgerEvent {
    SaleCompleted(Sale),
    SaleRefunded(Refund),
    SaleVoided(Void),
}

impl LedgerEvent {
    /// The record's own id (the sale's, refund's or void's): its outbox event id since
    /// decision 105.
    pub fn record_id(&self) -> uuid::Uuid {
        match self {
            LedgerEvent::SaleCompleted(s) => s.id.0,
            LedgerEvent::SaleRefunded(r) => r.id.0,
            LedgerEvent::SaleVoided(v) => v.id.0,
        }
    }

    /// The event's kind as stored in the outbox (`sale_completed`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            LedgerEvent::SaleCompleted(_) => "sale_completed",
            LedgerEvent::SaleRefunded(_) => "sale_refunded",
            LedgerEvent::SaleVoided(_) => "sale_voided",
        }
    }
}

/// One outbox entry as sent: the idempotency key, the sending till, and the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEnvelope {
    pub v: u32,
    pub event_id: EventId,
    pub till_id: TillId,
    pub event: LedgerEvent,
}
