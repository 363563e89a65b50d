//! A key as the key pages show it: its DescribeKey metadata, and what the pages ask of it
//! (type, origin, Regionality, the shape the console's default key policy depends on).

use serde_json::{json, Value};

use super::app::{Console, Req};
use super::html::{self, s};
use super::key_policy;
use super::service::call;
use crate::kms::error::KmsError;

/// A key as the key pages need it.
pub struct KeyView {
    pub meta: Value,
    pub id: String,
}

impl KeyView {
    pub fn spec(&self) -> &str {
        s(&self.meta, "KeySpec")
    }
    pub fn is_asymmetric(&self) -> bool {
        html::key_type(self.spec()) == "Asymmetric"
    }
    pub fn is_external(&self) -> bool {
        s(&self.meta, "Origin") == "EXTERNAL"
    }
    pub fn is_multi_region(&self) -> bool {
        self.meta.get("MultiRegion").and_then(Value::as_bool) == Some(true)
    }
    pub fn is_primary(&self) -> bool {
        html::regionality(&self.meta) == "Multi-Region primary"
    }
    pub fn shape(&self) -> key_policy::KeyShape {
        key_policy::KeyShape {
            usage: key_policy::Usage::of(self.spec(), s(&self.meta, "KeyUsage")),
            multi_region: self.is_multi_region(),
            external: self.is_external(),
        }
    }
}

/// DescribeKey for the page.
pub async fn describe(app: &Console, req: &Req, key: &str) -> Result<KeyView, KmsError> {
    let d = call(
        &app.kms,
        &req.caller,
        req.region,
        "DescribeKey",
        json!({"KeyId": key}),
    )
    .await?;
    let meta = d.get("KeyMetadata").cloned().unwrap_or(Value::Null);
    Ok(KeyView {
        id: s(&meta, "KeyId").to_string(),
        meta,
    })
}
