//! The limits of an encryption context, checked for every request member of the model's
//! `EncryptionContextType` (EncryptionContext, SourceEncryptionContext,
//! DestinationEncryptionContext) before an operation runs: no empty key or value (AWS
//! answers those "Invalid EncryptionContext") and at most [`MAX_BYTES`] of keys and values
//! together. AWS documents no figure for the total; hsm-kms takes 8,192 bytes of UTF-8,
//! room for every context real clients send (the AWS Encryption SDK's own contexts
//! included) and small enough that an encryption context can no longer be used to make
//! the server hash and store megabytes per request.

use serde_json::{Map, Value};

use super::error::{KmsError, KmsResult};

/// The most bytes (UTF-8) the keys and values of one encryption context may take.
pub const MAX_BYTES: usize = 8192;

/// The request members that hold an encryption context.
const MEMBERS: &[&str] = &[
    "EncryptionContext",
    "SourceEncryptionContext",
    "DestinationEncryptionContext",
];

/// Checks every encryption context of the request body `input` (already validated
/// against the model: a context is an object of strings).
pub fn check(input: &Value) -> KmsResult<()> {
    for member in MEMBERS {
        if let Some(Value::Object(context)) = input.get(*member) {
            check_one(member, context)?;
        }
    }
    Ok(())
}

fn check_one(member: &str, context: &Map<String, Value>) -> KmsResult<()> {
    let mut total = 0usize;
    for (key, value) in context {
        let value = value.as_str().unwrap_or("");
        if key.is_empty() {
            return Err(KmsError::validation(format!(
                "Invalid EncryptionContext: {member} has a pair with an empty key; keys and values must not be empty."
            )));
        }
        if value.is_empty() {
            return Err(KmsError::validation(format!(
                "Invalid EncryptionContext: the value of {key:.64?} in {member} is empty; keys and values must not be empty."
            )));
        }
        total = total.saturating_add(key.len() + value.len());
    }
    if total > MAX_BYTES {
        return Err(KmsError::validation(format!(
            "Invalid EncryptionContext: {member} is {total} bytes ({} pairs); its keys and values together must not exceed {MAX_BYTES} bytes.",
            context.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(input: Value) -> String {
        check(&input).expect_err("refused").message
    }

    #[test]
    fn empty_keys_and_values_are_refused() {
        let m = message(json!({"EncryptionContext": {"": "x"}}));
        assert!(m.starts_with("Invalid EncryptionContext"), "{m}");
        assert!(m.contains("empty key"), "{m}");
        let m = message(json!({"SourceEncryptionContext": {"purpose": ""}}));
        assert!(m.contains("\"purpose\"") && m.contains("is empty"), "{m}");
        assert!(m.contains("SourceEncryptionContext"), "{m}");
    }

    #[test]
    fn the_total_size_is_bounded_at_8192_bytes() {
        let at_limit = json!({"EncryptionContext": {"k": "v".repeat(MAX_BYTES - 1)}});
        assert!(check(&at_limit).is_ok());
        let over = json!({"DestinationEncryptionContext": {"k": "v".repeat(MAX_BYTES)}});
        let m = message(over);
        assert!(m.contains("8193 bytes") && m.contains("8192"), "{m}");
        // Multi-byte characters count in bytes.
        let wide = json!({"EncryptionContext": {"k": "é".repeat(MAX_BYTES / 2)}});
        assert!(message(wide).contains("8193 bytes"));
        // Ten thousand entries, a ten-thousand-character key, a 1 MiB value.
        let many: Map<String, Value> = (0..10_000).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(check(&json!({"EncryptionContext": many})).is_err());
        assert!(check(&json!({"EncryptionContext": {"k".repeat(10_000): "v"}})).is_err());
        assert!(check(&json!({"EncryptionContext": {"k": "v".repeat(1 << 20)}})).is_err());
    }

    #[test]
    fn ordinary_contexts_pass() {
        assert!(check(&json!({"EncryptionContext": {"purpose": "tour", "team": "a"}})).is_ok());
        assert!(check(&json!({"KeyId": "k"})).is_ok());
    }
}
