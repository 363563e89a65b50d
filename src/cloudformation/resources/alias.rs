//! `AWS::KMS::Alias`: CreateAlias; a new TargetKeyId is an UpdateAlias in place; a new
//! AliasName is a new alias (the old one deleted after the update); DeleteAlias on delete.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::provider::{fail, Created, Provider, ProviderCx};
use super::schema::Schema;
use crate::kms::error::ErrorKind;

const SCHEMA: &str =
    include_str!("../../../model/cloudformation-resource-schemas/aws-kms-alias.json");

pub struct AliasProvider {
    schema: Schema,
}

impl Default for AliasProvider {
    fn default() -> Self {
        AliasProvider {
            schema: Schema::load(SCHEMA).expect("the AWS::KMS::Alias schema ships with hsm-kms"),
        }
    }
}

impl AliasProvider {
    fn exists(cx: &ProviderCx, name: &str) -> Result<bool, String> {
        let mut marker: Option<String> = None;
        loop {
            let mut input = json!({"Limit": 100});
            if let Some(m) = &marker {
                input["Marker"] = json!(m);
            }
            let out = cx.kms.call(cx.region, "ListAliases", input).map_err(fail)?;
            let found = out
                .get("Aliases")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|a| a.get("AliasName").and_then(Value::as_str) == Some(name));
            if found {
                return Ok(true);
            }
            match out.get("NextMarker").and_then(Value::as_str) {
                Some(m) if out.get("Truncated") == Some(&Value::Bool(true)) => {
                    marker = Some(m.to_string())
                }
                _ => return Ok(false),
            }
        }
    }
}

impl Provider for AliasProvider {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn attributes(&self) -> &'static [&'static str] {
        &[]
    }

    fn taggable(&self) -> bool {
        false
    }

    fn create(
        &self,
        cx: &ProviderCx,
        props: &Value,
        created: &mut dyn FnMut(&str) -> Result<(), String>,
    ) -> Result<Created, String> {
        let name = props
            .get("AliasName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let target = props.get("TargetKeyId").cloned().unwrap_or(Value::Null);
        cx.kms
            .call(
                cx.region,
                "CreateAlias",
                json!({"AliasName": name, "TargetKeyId": target}),
            )
            .map_err(fail)?;
        created(&name)?;
        Ok(Created {
            physical_id: name,
            attributes: BTreeMap::new(),
        })
    }

    fn update(
        &self,
        cx: &ProviderCx,
        physical_id: &str,
        old: &Value,
        new: &Value,
    ) -> Result<BTreeMap<String, String>, String> {
        if old.get("TargetKeyId") != new.get("TargetKeyId") {
            cx.kms
                .call(
                    cx.region,
                    "UpdateAlias",
                    json!({"AliasName": physical_id, "TargetKeyId": new.get("TargetKeyId")}),
                )
                .map_err(fail)?;
        }
        Ok(BTreeMap::new())
    }

    fn delete(&self, cx: &ProviderCx, physical_id: &str, _props: &Value) -> Result<(), String> {
        match cx
            .kms
            .call(cx.region, "DeleteAlias", json!({"AliasName": physical_id}))
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(fail(e)),
        }
    }

    /// Refuses to create an alias that already exists, before the engine records the
    /// intent to create it (so recovery never adopts someone else's alias).
    fn precheck(&self, cx: &ProviderCx, props: &Value) -> Result<(), String> {
        let name = props
            .get("AliasName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if Self::exists(cx, name)? {
            return Err(format!(
                "Resource handler returned message: \"An alias with the name arn:{}:kms:{}:{}:{name} already exists\" (Service: Kms, Status Code: 400) (HandlerErrorCode: AlreadyExists)",
                cx.region.partition().as_str(),
                cx.region,
                cx.kms.kms().account()
            ));
        }
        Ok(())
    }

    fn find_created(
        &self,
        cx: &ProviderCx,
        props: &Value,
        known: &[String],
    ) -> Result<Vec<String>, String> {
        // The engine makes sure the alias did not exist before it asked for it (see
        // `precheck`), so an alias of that name now is the one the stack created.
        let name = props
            .get("AliasName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if known.iter().any(|k| k == name) || !Self::exists(cx, name)? {
            return Ok(Vec::new());
        }
        Ok(vec![name.to_string()])
    }
}
