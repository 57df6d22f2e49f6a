//! The first-run demo: a till set up on its own (not paired) with a real maker's catalog, so a
//! newcomer sells, refunds and counts at once. A `DEMO` file beside the database marks it, so
//! the window can say it is the demo.

use std::path::Path;

use trestle_core::money::Currency;
use trestle_core::tax::{TaxMode, TaxRate};

use crate::error::{Error, Result};
use crate::shop::InitParams;
use crate::till::Till;

/// The sample catalog: Kalima Arts' Shopify export (prints, T-shirts, hoodies), with stock.
pub const SAMPLE_CATALOG: &[u8] = include_bytes!("../../../demo/kalima-arts_products_export.csv");

/// The marker file of a demo till.
pub const DEMO_FILE: &str = "DEMO";

impl Till {
    /// Sets up the demo till in `dir` (which must hold no till yet): the sample shop and its
    /// catalog, the till holding the catalog's stock.
    pub fn init_demo(dir: &Path) -> Result<Till> {
        let params = InitParams::new(
            "Kalima Arts",
            Currency::parse("USD")?,
            TaxMode::Exclusive,
            TaxRate::parse_percent("8.875")?,
            "Stall 1",
            None,
        )?;
        let mut till = Till::init(dir, &params)?;
        till.import_catalog(SAMPLE_CATALOG)?;
        std::fs::write(
            dir.join(DEMO_FILE),
            b"This till runs Trestle's demo catalog.\n",
        )
        .map_err(|e| Error::DataDir {
            dir: dir.to_path_buf(),
            reason: crate::error::plain_io(&e),
        })?;
        tracing::info!(dir = %dir.display(), "demo till set up");
        Ok(till)
    }

    /// True when this is the demo till.
    pub fn is_demo(&self) -> bool {
        self.dir().join(DEMO_FILE).exists()
    }
}
