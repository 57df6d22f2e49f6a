//! Conflicts in words for people: what a conflict is about, its facts as labelled values, a
//! one-sentence summary, and each resolution's label. Shared by `trestle conflicts` and the
//! window's Sync screen.

use super::conflicts::ConflictItem;

/// Facts that name the conflict's subject rather than describe it.
const SUBJECT_KEYS: [&str; 3] = ["title", "code", "reservation_id"];

impl ConflictItem {
    /// The kind in words: `conflict.negative_stock` → "negative stock".
    pub fn what(&self) -> String {
        self.record
            .kind
            .trim_start_matches("conflict.")
            .replace('_', " ")
    }

    /// What it is about: the variant's title, or the pickup's code (empty when neither).
    pub fn about(&self) -> String {
        let facts = &self.record.facts;
        self.title
            .clone()
            .or_else(|| {
                facts
                    .get("title")
                    .and_then(|t| t.as_str())
                    .map(str::to_string)
            })
            .or_else(|| {
                facts
                    .get("code")
                    .and_then(|t| t.as_str())
                    .map(|code| format!("pickup {code}"))
            })
            .unwrap_or_default()
    }

    /// The facts as (label, value), in the hub's order, without the subject's keys.
    pub fn fact_list(&self) -> Vec<(String, String)> {
        let Some(obj) = self.record.facts.as_object() else {
            return Vec::new();
        };
        obj.iter()
            .filter(|(k, _)| !SUBJECT_KEYS.contains(&k.as_str()))
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.replace('_', " "), v)
            })
            .collect()
    }

    /// One sentence: what, about what, where.
    pub fn summary(&self) -> String {
        let mut s = self.what();
        if let Some(first) = s.get(..1) {
            s = first.to_uppercase() + &s[1..];
        }
        let about = self.about();
        if !about.is_empty() {
            s.push_str(&format!(" — {about}"));
        }
        if let Some(h) = &self.record.holder {
            s.push_str(&format!(" at {h}"));
        }
        s.push('.');
        s
    }
}

/// A resolution's label for a button: `refund_customer` → "Refund customer".
pub fn resolution_label(id: &str) -> String {
    let words = id.replace('_', " ");
    match words.get(..1) {
        Some(first) => first.to_uppercase() + &words[1..],
        None => words,
    }
}
