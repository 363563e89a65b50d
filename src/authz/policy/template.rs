//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`, the escapes `${*}`,
//! `${?}`, `${$}` (a literal `*`, `?`, `$`), and defaults `${aws:username, 'nobody'}`.
//!
//! Only policies of Version `2012-10-17` have variables; in older policies `${…}` is plain
//! text. A value whose variable has no value in the request (and no default) resolves to
//! nothing: the `Resource` entry or condition value it is in matches no request.

use super::super::context::ConditionValues;
use super::super::glob::{self, Tok};
use super::error::PolicyError;

/// A string from a policy that may contain variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The text as written (for messages and for plain values).
    pub raw: String,
    /// `None` when the text has no variable: then it is used as written.
    parts: Option<Vec<Part>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// Policy text: `*` and `?` in it are wildcards where the operator has them.
    Text(String),
    /// `${*}`, `${?}`, `${$}`: that character, never a wildcard.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`; the key lowercased.
    Var {
        key: String,
        default: Option<String>,
    },
}

impl Template {
    /// Reads a policy string; `variables` is false for policies older than 2012-10-17.
    pub fn parse(raw: &str, variables: bool) -> Result<Template, PolicyError> {
        if !variables || !raw.contains("${") {
            return Ok(Template {
                raw: raw.to_string(),
                parts: None,
            });
        }
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let inner = rest[start + 2..start + len].trim();
            parts.push(parse_variable(inner, raw)?);
            rest = &rest[start + len + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template {
            raw: raw.to_string(),
            parts: Some(parts),
        })
    }

    /// Whether the text has a variable.
    pub fn has_variables(&self) -> bool {
        self.parts.is_some()
    }

    /// The value with variables replaced, for operators without wildcards. `None` when a
    /// variable has no value and no default.
    pub fn resolve(&self, ctx: &ConditionValues) -> Option<String> {
        let Some(parts) = &self.parts else {
            return Some(self.raw.clone());
        };
        let mut out = String::with_capacity(self.raw.len());
        for part in parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Escaped(c) => out.push(*c),
                Part::Var { key, default } => out.push_str(lookup(ctx, key, default)?),
            }
        }
        Some(out)
    }

    /// The value as a wildcard pattern: `*` and `?` written in the policy are wildcards;
    /// escaped characters and the values of variables are literal.
    pub fn resolve_pattern(&self, ctx: &ConditionValues) -> Option<Vec<Tok>> {
        let Some(parts) = &self.parts else {
            return Some(glob::tokens(&self.raw).collect());
        };
        let mut out = Vec::with_capacity(self.raw.len());
        for part in parts {
            match part {
                Part::Text(t) => out.extend(glob::tokens(t)),
                Part::Escaped(c) => out.push(Tok::Lit(*c)),
                Part::Var { key, default } => {
                    out.extend(lookup(ctx, key, default)?.chars().map(Tok::Lit))
                }
            }
        }
        Some(out)
    }
}

fn lookup<'a>(ctx: &'a ConditionValues, key: &str, default: &'a Option<String>) -> Option<&'a str> {
    match ctx.get_lower(key).and_then(|v| v.first()) {
        Some(v) => Some(v.as_str()),
        None => default.as_deref(),
    }
}

fn parse_variable(inner: &str, raw: &str) -> Result<Part, PolicyError> {
    match inner {
        "*" => return Ok(Part::Escaped('*')),
        "?" => return Ok(Part::Escaped('?')),
        "$" => return Ok(Part::Escaped('$')),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let Some(d) = d.strip_prefix('\'').and_then(|d| d.strip_suffix('\'')) else {
                return Err(PolicyError::BadVariable(raw.to_string()));
            };
            (k.trim(), Some(d.to_string()))
        }
        None => (inner, None),
    };
    if key.is_empty() || !key.contains(':') || key.contains(char::is_whitespace) {
        return Err(PolicyError::BadVariable(raw.to_string()));
    }
    Ok(Part::Var {
        key: key.to_ascii_lowercase(),
        default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ConditionValues {
        let mut c = ConditionValues::new();
        c.set("aws:username", "alice");
        c.set("aws:PrincipalTag/team", "payments");
        c
    }

    #[test]
    fn variables_take_the_request_values() {
        let t = Template::parse("${aws:username}", true).expect("parses");
        assert_eq!(t.resolve(&ctx()).as_deref(), Some("alice"));
        let t = Template::parse("team-${aws:PrincipalTag/Team}-x", true).expect("parses");
        assert_eq!(t.resolve(&ctx()).as_deref(), Some("team-payments-x"));
    }

    #[test]
    fn a_missing_variable_resolves_to_nothing_unless_it_has_a_default() {
        let t = Template::parse("${aws:PrincipalTag/none}", true).expect("parses");
        assert_eq!(t.resolve(&ctx()), None);
        let t = Template::parse("${aws:PrincipalTag/none, 'nobody'}", true).expect("parses");
        assert_eq!(t.resolve(&ctx()).as_deref(), Some("nobody"));
    }

    #[test]
    fn escapes_are_literal_characters_never_wildcards() {
        let t = Template::parse("a${*}b*", true).expect("parses");
        assert_eq!(t.resolve(&ctx()).as_deref(), Some("a*b*"));
        let p = t.resolve_pattern(&ctx()).expect("pattern");
        assert!(glob::matches_tokens(&p, "a*bXYZ", false));
        assert!(!glob::matches_tokens(&p, "aXbXYZ", false));
        let t = Template::parse("${$}{x}${?}", true).expect("parses");
        assert_eq!(t.resolve(&ctx()).as_deref(), Some("${x}?"));
    }

    #[test]
    fn a_variables_value_is_literal_in_a_pattern() {
        let mut c = ConditionValues::new();
        c.set("aws:username", "a*");
        let t = Template::parse("arn:aws:iam::1:user/${aws:username}", true).expect("parses");
        let p = t.resolve_pattern(&c).expect("pattern");
        assert!(glob::matches_tokens(&p, "arn:aws:iam::1:user/a*", false));
        assert!(!glob::matches_tokens(&p, "arn:aws:iam::1:user/ab", false));
    }

    #[test]
    fn old_policies_have_no_variables() {
        let t = Template::parse("${aws:username}", false).expect("parses");
        assert!(!t.has_variables());
        assert_eq!(t.resolve(&ctx()).as_deref(), Some("${aws:username}"));
    }

    #[test]
    fn malformed_variables_are_refused() {
        for bad in ["${}", "${username}", "${aws:username, nobody}"] {
            assert!(Template::parse(bad, true).is_err(), "{bad}");
        }
    }
}
