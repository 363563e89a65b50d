//! A deployment made concrete: the template parsed, parameter values resolved, the stack's
//! pseudo parameters, the conditions evaluated; what each resource's properties evaluate
//! to; the outputs and exports; and, against what a stack has, the changes a change set
//! lists.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::error::{CfnError, CfnResult};
use super::model::{Deployment, ExportRecord, OutputRecord, ResourceRecord, ResourceStatus, Tag};
use super::resources::{self, Catalog};
use super::template::graph::Graph;
use super::template::intrinsics::{contains_unknown, Context, Lookup, Pseudo};
use super::template::params::{self, GivenParameter};
use super::template::Template;
use crate::domain::region::Region;

/// A template with its parameter values, for one stack.
pub struct Plan {
    pub template: Template,
    pub graph: Graph,
    pub params: BTreeMap<String, String>,
    pub pseudo: Pseudo,
    pub tags: Vec<Tag>,
}

/// Resource values and exports as a stack has them.
pub struct StackLookup<'a> {
    pub resources: &'a BTreeMap<String, ResourceRecord>,
    pub exports: &'a BTreeMap<(Region, String), ExportRecord>,
    pub region: Region,
    /// Resources whose values are about to change (evaluate as unknown).
    pub unknown: BTreeSet<String>,
}

impl StackLookup<'_> {
    fn live(&self, logical: &str) -> Option<&ResourceRecord> {
        if self.unknown.contains(logical) {
            return None;
        }
        self.resources.get(logical).filter(|r| {
            r.physical_id.is_some()
                && !matches!(
                    r.status,
                    ResourceStatus::DeleteComplete | ResourceStatus::CreateFailed
                )
        })
    }
}

impl Lookup for StackLookup<'_> {
    fn resource_ref(&self, logical: &str) -> Option<String> {
        self.live(logical).and_then(|r| r.physical_id.clone())
    }

    fn resource_attr(&self, logical: &str, attribute: &str) -> Option<String> {
        self.live(logical)
            .and_then(|r| r.attributes.get(attribute).cloned())
    }

    fn import(&self, name: &str) -> Option<String> {
        self.exports
            .get(&(self.region, name.to_string()))
            .map(|e| e.value.clone())
    }
}

/// Everything a stack operation starts from.
pub struct StackIdentity<'a> {
    pub region: Region,
    pub account: &'a str,
    pub stack_name: &'a str,
    pub stack_id: &'a str,
}

impl Plan {
    /// Parses the template and resolves the parameters a call gives.
    pub fn prepare(
        id: &StackIdentity,
        template_body: &str,
        given: &[GivenParameter],
        previous: Option<&BTreeMap<String, String>>,
        tags: Vec<Tag>,
        capabilities: Vec<String>,
        notification_arns: Vec<String>,
    ) -> CfnResult<(Deployment, Plan)> {
        let template = Template::parse(template_body, &Catalog)?;
        let values = params::resolve(&template.parameters, given, previous)?;
        let deployment = Deployment {
            template_body: template_body.to_string(),
            parameters: values,
            tags,
            capabilities,
            notification_arns,
        };
        let plan = Plan::for_template(id, template, &deployment)?;
        Ok((deployment, plan))
    }

    /// The plan of a deployment already accepted.
    pub fn of(id: &StackIdentity, deployment: &Deployment) -> CfnResult<Plan> {
        let template = Template::parse(&deployment.template_body, &Catalog)?;
        Plan::for_template(id, template, deployment)
    }

    fn for_template(
        id: &StackIdentity,
        template: Template,
        deployment: &Deployment,
    ) -> CfnResult<Plan> {
        let graph = Graph::of(&template)?;
        Ok(Plan {
            template,
            graph,
            params: deployment.parameters.clone(),
            pseudo: Pseudo {
                region: id.region,
                account: id.account.to_string(),
                stack_name: id.stack_name.to_string(),
                stack_id: id.stack_id.to_string(),
                notification_arns: deployment.notification_arns.clone(),
            },
            tags: deployment.tags.clone(),
        })
    }

    pub fn context<'a>(&'a self, lookup: &'a dyn Lookup) -> CfnResult<Context<'a>> {
        Context::new(&self.template, &self.params, &self.pseudo, lookup)
    }

    /// The resources the conditions keep, in creation order.
    pub fn active(&self, cx: &Context) -> Vec<String> {
        self.graph
            .order
            .iter()
            .filter(|l| {
                self.template
                    .resources
                    .get(*l)
                    .is_some_and(|d| cx.active(d.condition.as_deref()))
            })
            .cloned()
            .collect()
    }

    /// A resource's properties, evaluated, with the stack's tags merged in.
    pub fn properties(&self, cx: &Context, logical: &str) -> CfnResult<Value> {
        let decl = self
            .template
            .resources
            .get(logical)
            .ok_or_else(|| CfnError::internal(format!("no resource {logical} in the plan")))?;
        let mut props = cx.eval(&decl.properties)?.unwrap_or_else(|| json!({}));
        if resources::provider(&decl.type_name).is_some_and(|p| p.taggable()) {
            resources::provider::with_stack_tags(&mut props, &self.tags);
        }
        Ok(props)
    }

    /// The export names the template imports.
    pub fn imports(&self, cx: &Context) -> CfnResult<Vec<String>> {
        let mut names = BTreeSet::new();
        let mut values: Vec<&Value> = self
            .template
            .resources
            .values()
            .map(|r| &r.properties)
            .collect();
        values.extend(self.template.outputs.values().map(|o| &o.value));
        for v in values {
            collect_imports(v, cx, &mut names)?;
        }
        Ok(names.into_iter().collect())
    }

    /// The outputs, evaluated.
    pub fn outputs(&self, cx: &Context) -> CfnResult<Vec<OutputRecord>> {
        let mut out = Vec::new();
        for (key, decl) in &self.template.outputs {
            if !cx.active(decl.condition.as_deref()) {
                continue;
            }
            let text = |v: &Value| -> CfnResult<String> {
                match cx.eval(v)? {
                    Some(Value::String(s)) => Ok(s),
                    Some(Value::Array(items)) => Ok(items
                        .iter()
                        .map(|i| params::scalar_text(i).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(",")),
                    Some(other) => {
                        Ok(params::scalar_text(&other).unwrap_or_else(|| other.to_string()))
                    }
                    None => Ok(String::new()),
                }
            };
            out.push(OutputRecord {
                key: key.clone(),
                value: text(&decl.value)?,
                description: decl.description.as_ref().map(text).transpose()?,
                export_name: decl.export_name.as_ref().map(text).transpose()?,
            });
        }
        Ok(out)
    }

    /// Evaluates everything that can be evaluated before any resource exists, so that a
    /// template error is answered by the call instead of failing the stack later.
    pub fn check_static(&self, lookup: &dyn Lookup) -> CfnResult<()> {
        let cx = self.context(lookup)?;
        for logical in self.active(&cx) {
            self.properties(&cx, &logical)?;
        }
        self.outputs(&cx)?;
        self.imports(&cx)?;
        Ok(())
    }

    /// The changes from what a stack has (`existing`) to this plan, as DescribeChangeSet
    /// lists them. Empty when nothing would change.
    pub fn changes(
        &self,
        existing: &BTreeMap<String, ResourceRecord>,
        exports: &BTreeMap<(Region, String), ExportRecord>,
    ) -> CfnResult<Vec<Value>> {
        let mut lookup = StackLookup {
            resources: existing,
            exports,
            region: self.pseudo.region,
            unknown: BTreeSet::new(),
        };
        let active = {
            let cx = self.context(&lookup)?;
            self.active(&cx)
        };
        let mut changes = Vec::new();
        for logical in &active {
            let decl = &self.template.resources[logical];
            let Some(provider) = resources::provider(&decl.type_name) else {
                continue;
            };
            let cx = self.context(&lookup)?;
            let props = self.properties(&cx, logical)?;
            let current = existing.get(logical).filter(|r| r.physical_id.is_some());
            let Some(current) = current else {
                changes.push(json!({"Type": "Resource", "ResourceChange": {
                    "Action": "Add", "LogicalResourceId": logical,
                    "ResourceType": decl.type_name, "Scope": [], "Details": []}}));
                lookup.unknown.insert(logical.clone());
                continue;
            };
            if current.properties == props {
                continue;
            }
            let replaced_on = provider.replacement_properties();
            let schema = provider.schema();
            let norm =
                |p: &Value, name: &str| p.get(name).or_else(|| schema.default_of(name)).cloned();
            let mut names: BTreeSet<&String> = BTreeSet::new();
            if let (Some(a), Some(b)) = (current.properties.as_object(), props.as_object()) {
                names.extend(a.keys().filter(|k| a.get(*k) != b.get(*k)));
                names.extend(b.keys().filter(|k| a.get(*k) != b.get(*k)));
            }
            let mut replacement = "False";
            let mut details = Vec::new();
            for name in names {
                let recreate = if !replaced_on.contains(name) {
                    "Never"
                } else if props.get(name).is_some_and(contains_unknown) {
                    if replacement == "False" {
                        replacement = "Conditional";
                    }
                    "Conditionally"
                } else if norm(&current.properties, name) != norm(&props, name) {
                    replacement = "True";
                    "Always"
                } else {
                    "Never"
                };
                let dynamic = props.get(name).is_some_and(contains_unknown);
                details.push(json!({
                    "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreate},
                    "Evaluation": if dynamic { "Dynamic" } else { "Static" },
                    "ChangeSource": if dynamic { "ResourceReference" } else { "DirectModification" },
                }));
            }
            if replacement != "False" {
                lookup.unknown.insert(logical.clone());
            }
            changes.push(json!({"Type": "Resource", "ResourceChange": {
                "Action": "Modify", "LogicalResourceId": logical,
                "PhysicalResourceId": current.physical_id, "ResourceType": decl.type_name,
                "Replacement": replacement, "Scope": ["Properties"], "Details": details}}));
        }
        for (logical, r) in existing {
            let gone = !active.contains(logical);
            let live = r.physical_id.is_some()
                && !matches!(
                    r.status,
                    ResourceStatus::DeleteComplete | ResourceStatus::DeleteSkipped
                );
            if gone && live {
                changes.push(json!({"Type": "Resource", "ResourceChange": {
                    "Action": "Remove", "LogicalResourceId": logical,
                    "PhysicalResourceId": r.physical_id, "ResourceType": r.resource_type,
                    "Scope": [], "Details": []}}));
            }
        }
        Ok(changes)
    }
}

fn collect_imports(v: &Value, cx: &Context, out: &mut BTreeSet<String>) -> CfnResult<()> {
    match v {
        Value::Array(items) => {
            for i in items {
                collect_imports(i, cx, out)?;
            }
        }
        Value::Object(map) => {
            if let (1, Some(arg)) = (map.len(), map.get("Fn::ImportValue")) {
                if let Some(Value::String(name)) = cx.eval(arg)? {
                    out.insert(name);
                }
                return Ok(());
            }
            for v in map.values() {
                collect_imports(v, cx, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}
