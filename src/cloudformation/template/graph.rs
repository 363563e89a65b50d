//! Which resource depends on which: `Ref`, `Fn::GetAtt`, the variables of `Fn::Sub` and
//! `DependsOn`. Gives the order resources are created in (dependencies first; deletion
//! runs it backwards) and refuses circular dependencies with AWS's message.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::document::Template;
use crate::cloudformation::error::{CfnError, CfnResult};

/// A name a template value refers to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reference {
    /// `Ref`: a parameter, pseudo parameter or resource.
    Ref(String),
    /// `Fn::GetAtt`: resource and attribute (attribute empty when computed).
    GetAtt(String, String),
    /// A `${Name}` or `${Name.Attr}` variable of `Fn::Sub` (the name part).
    Sub(String),
    /// `Condition` / the first argument of `Fn::If`.
    Condition(String),
}

/// The variables of a `Fn::Sub` string: `${Name}` and `${Name.Attr}`, not `${!Literal}`.
pub fn sub_variables(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let var = &after[..end];
        if !var.starts_with('!') && !var.is_empty() {
            out.push(var.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// Every reference in `v`.
pub fn references(v: &Value) -> Vec<Reference> {
    let mut out = Vec::new();
    collect(v, &mut out);
    out
}

fn collect(v: &Value, out: &mut Vec<Reference>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        Value::Object(map) if map.len() == 1 => {
            let (k, arg) = map.iter().next().expect("one entry");
            match k.as_str() {
                "Ref" => {
                    if let Some(name) = arg.as_str() {
                        out.push(Reference::Ref(name.to_string()));
                    }
                }
                "Condition" => {
                    if let Some(name) = arg.as_str() {
                        out.push(Reference::Condition(name.to_string()));
                    }
                }
                "Fn::GetAtt" => match arg {
                    Value::Array(parts) if !parts.is_empty() => {
                        if let Some(res) = parts[0].as_str() {
                            let attr = parts.get(1).and_then(Value::as_str).unwrap_or("");
                            out.push(Reference::GetAtt(res.to_string(), attr.to_string()));
                        }
                        parts.iter().skip(1).for_each(|p| collect(p, out));
                    }
                    Value::String(s) => {
                        let (res, attr) = s.split_once('.').unwrap_or((s, ""));
                        out.push(Reference::GetAtt(res.to_string(), attr.to_string()));
                    }
                    other => collect(other, out),
                },
                "Fn::Sub" => {
                    let (text, vars) = match arg {
                        Value::String(s) => (Some(s.as_str()), None),
                        Value::Array(parts) => (
                            parts.first().and_then(Value::as_str),
                            parts.get(1).and_then(Value::as_object),
                        ),
                        _ => (None, None),
                    };
                    if let Some(text) = text {
                        for var in sub_variables(text) {
                            let name = var.split('.').next().unwrap_or("").to_string();
                            if vars.is_some_and(|m| m.contains_key(&var) || m.contains_key(&name)) {
                                continue;
                            }
                            match var.split_once('.') {
                                Some((res, attr)) if !name.starts_with("AWS::") => {
                                    out.push(Reference::GetAtt(res.to_string(), attr.to_string()))
                                }
                                _ => out.push(Reference::Sub(var)),
                            }
                        }
                    }
                    if let Some(vars) = vars {
                        vars.values().for_each(|v| collect(v, out));
                    }
                }
                "Fn::If" => {
                    if let Value::Array(parts) = arg {
                        if let Some(c) = parts.first().and_then(Value::as_str) {
                            out.push(Reference::Condition(c.to_string()));
                        }
                        parts.iter().skip(1).for_each(|p| collect(p, out));
                    }
                }
                _ => collect(arg, out),
            }
        }
        Value::Object(map) => map.values().for_each(|v| collect(v, out)),
        _ => {}
    }
}

/// The dependency graph of a template's resources.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Creation order: every resource after the resources it depends on.
    pub order: Vec<String>,
}

impl Graph {
    /// Builds the graph; a cycle is `Circular dependency between resources: [...]`.
    pub fn of(template: &Template) -> CfnResult<Graph> {
        let mut depends: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (logical, decl) in &template.resources {
            let mut deps: BTreeSet<String> = decl.depends_on.iter().cloned().collect();
            for r in references(&decl.properties) {
                let name = match r {
                    Reference::Ref(n) | Reference::Sub(n) | Reference::GetAtt(n, _) => n,
                    Reference::Condition(_) => continue,
                };
                if template.resources.contains_key(&name) {
                    deps.insert(name);
                }
            }
            depends.insert(logical.clone(), deps);
        }
        // Kahn's algorithm, taking ready resources in name order for a stable order.
        let mut remaining: BTreeMap<&str, usize> =
            depends.iter().map(|(k, d)| (k.as_str(), d.len())).collect();
        let mut order = Vec::with_capacity(depends.len());
        loop {
            let ready: Vec<&str> = remaining
                .iter()
                .filter(|(_, n)| **n == 0)
                .map(|(k, _)| *k)
                .collect();
            if ready.is_empty() {
                break;
            }
            for r in ready {
                remaining.remove(r);
                order.push(r.to_string());
                for (k, d) in &depends {
                    if d.contains(r) {
                        if let Some(n) = remaining.get_mut(k.as_str()) {
                            *n -= 1;
                        }
                    }
                }
            }
        }
        if !remaining.is_empty() {
            let cycle = in_cycles(&depends, remaining.keys().copied().collect());
            return Err(CfnError::template_format(format!(
                "Circular dependency between resources: [{}]",
                cycle.join(", ")
            )));
        }
        Ok(Graph { order })
    }
}

/// Of the resources left over by the topological sort, those on a cycle (the others
/// only depend on one).
fn in_cycles(depends: &BTreeMap<String, BTreeSet<String>>, left: BTreeSet<&str>) -> Vec<String> {
    let reaches = |from: &str, to: &str| -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for d in depends.get(&n).into_iter().flatten() {
                if d == to {
                    return true;
                }
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        false
    };
    left.iter()
        .filter(|r| reaches(r, r))
        .map(|r| r.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sub_variables_skip_literals() {
        assert_eq!(
            sub_variables("arn:${AWS::Partition}:x:${Key.Arn}/${!Literal}-${Name}"),
            vec!["AWS::Partition", "Key.Arn", "Name"]
        );
    }

    #[test]
    fn references_cover_every_form() {
        let v = json!({
            "A": {"Ref": "P"},
            "B": {"Fn::GetAtt": ["K", "Arn"]},
            "C": {"Fn::Sub": ["${X}-${K.KeyId}-${Y}", {"Y": {"Ref": "Q"}}]},
            "D": {"Fn::If": ["Cond", {"Ref": "R"}, "x"]}
        });
        let mut refs = references(&v);
        refs.sort();
        assert_eq!(
            refs,
            vec![
                Reference::Ref("P".into()),
                Reference::Ref("Q".into()),
                Reference::Ref("R".into()),
                Reference::GetAtt("K".into(), "Arn".into()),
                Reference::GetAtt("K".into(), "KeyId".into()),
                Reference::Sub("X".into()),
                Reference::Condition("Cond".into()),
            ]
        );
    }
}
