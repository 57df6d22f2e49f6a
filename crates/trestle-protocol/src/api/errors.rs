//! Every error response's body: `{"error":{"code","message","details"}}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Every error response: `{"error":{"code","message"}}`, with `details` where there are facts to
/// act on (e.g. the short variants of a refused checkout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `stock.short`, `auth.missing_scope`.
    pub code: String,
    /// One sentence for a person.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}
