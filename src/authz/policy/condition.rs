//! The `Condition` element: operators as a table, and their evaluation.
//!
//! Rules (IAM's, as the guide pages describe them):
//! - every operator block and every key in a block must hold (AND);
//! - for one key, any of the policy's values may match (OR); for a negated operator
//!   (`StringNotEquals`, `ArnNotLike`, `NotIpAddress`, …) none may (NOR);
//! - a key absent from the request makes a positive operator false and a negated one true;
//!   `…IfExists` makes the condition true when the key is absent;
//! - `ForAnyValue:` holds when at least one of the request's values matches (false when
//!   the key is absent or empty); `ForAllValues:` holds when every request value matches
//!   (true when the key is absent or empty);
//! - `Null` tests presence: `true` holds when the key is absent, `false` when present.

use base64::Engine;

use super::super::arn;
use super::super::context::ConditionValues;
use super::super::glob;
use super::error::PolicyError;
use super::template::Template;

/// The operator without its `ForAnyValue:`/`ForAllValues:` prefix or `IfExists` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseOp {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

use BaseOp::*;

/// Every operator name IAM knows, and whether it is a negated one.
pub const OPERATORS: &[(&str, BaseOp, bool)] = &[
    ("StringEquals", StringEquals, false),
    ("StringNotEquals", StringNotEquals, true),
    ("StringEqualsIgnoreCase", StringEqualsIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", StringNotEqualsIgnoreCase, true),
    ("StringLike", StringLike, false),
    ("StringNotLike", StringNotLike, true),
    ("NumericEquals", NumericEquals, false),
    ("NumericNotEquals", NumericNotEquals, true),
    ("NumericLessThan", NumericLessThan, false),
    ("NumericLessThanEquals", NumericLessThanEquals, false),
    ("NumericGreaterThan", NumericGreaterThan, false),
    ("NumericGreaterThanEquals", NumericGreaterThanEquals, false),
    ("DateEquals", DateEquals, false),
    ("DateNotEquals", DateNotEquals, true),
    ("DateLessThan", DateLessThan, false),
    ("DateLessThanEquals", DateLessThanEquals, false),
    ("DateGreaterThan", DateGreaterThan, false),
    ("DateGreaterThanEquals", DateGreaterThanEquals, false),
    ("Bool", Bool, false),
    ("BinaryEquals", BinaryEquals, false),
    ("IpAddress", IpAddress, false),
    ("NotIpAddress", NotIpAddress, true),
    ("ArnEquals", ArnEquals, false),
    ("ArnLike", ArnLike, false),
    ("ArnNotEquals", ArnNotEquals, true),
    ("ArnNotLike", ArnNotLike, true),
    ("Null", Null, false),
];

/// How the request's values of a multi-valued key are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// No set operator.
    Single,
    /// `ForAnyValue:`
    AnyValue,
    /// `ForAllValues:`
    AllValues,
}

/// One key under one operator: `"StringEquals": {"kms:CallerAccount": ["1", "2"]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator as written.
    pub operator: String,
    pub base: BaseOp,
    negated: bool,
    pub if_exists: bool,
    pub set: SetOp,
    /// The condition key as written, and lowercased for lookups.
    pub key: String,
    key_lower: String,
    pub values: Vec<Template>,
}

/// Splits an operator name into its parts; `None` when IAM knows no such operator.
pub fn parse_operator(name: &str) -> Option<(BaseOp, bool, bool, SetOp)> {
    let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (SetOp::AnyValue, r)
    } else if let Some(r) = name.strip_prefix("ForAllValues:") {
        (SetOp::AllValues, r)
    } else {
        (SetOp::Single, name)
    };
    let (if_exists, rest) = match rest.strip_suffix("IfExists") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let &(_, base, negated) = OPERATORS.iter().find(|(n, _, _)| *n == rest)?;
    if base == Null && (if_exists || set != SetOp::Single) {
        return None;
    }
    Some((base, negated, if_exists, set))
}

impl Condition {
    /// Builds one condition; `values` are already read as strings.
    pub fn new(operator: &str, key: &str, values: Vec<Template>) -> Result<Condition, PolicyError> {
        let (base, negated, if_exists, set) = parse_operator(operator)
            .ok_or_else(|| PolicyError::UnknownConditionOperator(operator.to_string()))?;
        if key.split(':').count() < 2 || key.starts_with(':') {
            return Err(PolicyError::BadConditionKey(key.to_string()));
        }
        if base == Null {
            for v in &values {
                if !v.raw.eq_ignore_ascii_case("true") && !v.raw.eq_ignore_ascii_case("false") {
                    return Err(PolicyError::BadConditionValue {
                        operator: operator.to_string(),
                        value: v.raw.clone(),
                    });
                }
            }
        }
        Ok(Condition {
            operator: operator.to_string(),
            base,
            negated,
            if_exists,
            set,
            key: key.to_string(),
            key_lower: key.to_ascii_lowercase(),
            values,
        })
    }

    /// Whether the condition holds for the request.
    pub fn holds(&self, ctx: &ConditionValues) -> bool {
        let present = ctx.get_lower(&self.key_lower);
        if self.base == Null {
            let is_null = present.is_none_or(|v| v.is_empty());
            return self
                .values
                .iter()
                .any(|v| v.raw.eq_ignore_ascii_case("true") == is_null);
        }
        let Some(request_values) = present else {
            if self.if_exists {
                return true;
            }
            return match self.set {
                SetOp::AllValues => true,
                SetOp::AnyValue => false,
                SetOp::Single => self.negated,
            };
        };
        let matches_one = |rv: &str| self.values.iter().any(|pv| self.value_matches(rv, pv, ctx));
        match self.set {
            SetOp::Single => {
                let any = request_values.iter().any(|rv| matches_one(rv));
                any != self.negated
            }
            SetOp::AnyValue => request_values
                .iter()
                .any(|rv| matches_one(rv) != self.negated),
            SetOp::AllValues => request_values
                .iter()
                .all(|rv| matches_one(rv) != self.negated),
        }
    }

    /// The positive form of the operator, for one request value and one policy value.
    fn value_matches(&self, request: &str, policy: &Template, ctx: &ConditionValues) -> bool {
        match self.base {
            StringLike | StringNotLike => match policy.resolve_pattern(ctx) {
                Some(p) => glob::matches_tokens(&p, request, false),
                None => false,
            },
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => match policy.resolve(ctx) {
                Some(p) => arn::arn_matches(&p, request),
                None => false,
            },
            _ => {
                let Some(p) = policy.resolve(ctx) else {
                    return false;
                };
                compare(self.base, request, &p)
            }
        }
    }
}

fn compare(base: BaseOp, request: &str, policy: &str) -> bool {
    match base {
        StringEquals | StringNotEquals => request == policy,
        StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
            request.to_lowercase() == policy.to_lowercase()
        }
        Bool => request.eq_ignore_ascii_case(policy),
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            match (request.trim().parse::<f64>(), policy.trim().parse::<f64>()) {
                (Ok(r), Ok(p)) => order(base, r, p),
                _ => false,
            }
        }
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => match (parse_date(request), parse_date(policy)) {
            (Some(r), Some(p)) => order(base, r, p),
            _ => false,
        },
        BinaryEquals => {
            let b64 = base64::engine::general_purpose::STANDARD;
            match (b64.decode(request), b64.decode(policy)) {
                (Ok(r), Ok(p)) => r == p,
                _ => false,
            }
        }
        IpAddress | NotIpAddress => ip_in(request, policy),
        // Handled by the caller.
        StringLike | StringNotLike | ArnEquals | ArnLike | ArnNotEquals | ArnNotLike | Null => {
            false
        }
    }
}

/// `request <op> policy` for the ordered operators (negated ones in their positive form).
fn order(base: BaseOp, r: f64, p: f64) -> bool {
    match base {
        NumericEquals | NumericNotEquals | DateEquals | DateNotEquals => r == p,
        NumericLessThan | DateLessThan => r < p,
        NumericLessThanEquals | DateLessThanEquals => r <= p,
        NumericGreaterThan | DateGreaterThan => r > p,
        NumericGreaterThanEquals | DateGreaterThanEquals => r >= p,
        _ => false,
    }
}

/// A date as IAM accepts it: ISO 8601 (`2026-01-31`, `2026-01-31T12:00:00Z`, with an
/// offset or fractional seconds) or epoch seconds. Returns epoch seconds.
pub fn parse_date(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<f64>() {
        return Some(n);
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp() as f64 + f64::from(d.timestamp_subsec_millis()) / 1000.0);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%SZ",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dT%H:%MZ",
    ] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d.and_utc().timestamp() as f64);
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp() as f64)
}

/// Whether the address `ip` is in `cidr` (`203.0.113.0/24`, `2001:db8::/32`, or a bare
/// address meaning that one address).
pub fn ip_in(ip: &str, cidr: &str) -> bool {
    let Ok(addr) = ip.trim().parse::<std::net::IpAddr>() else {
        return false;
    };
    let (net, bits) = match cidr.trim().split_once('/') {
        Some((n, b)) => match b.parse::<u32>() {
            Ok(b) => (n, Some(b)),
            Err(_) => return false,
        },
        None => (cidr.trim(), None),
    };
    let Ok(net) = net.parse::<std::net::IpAddr>() else {
        return false;
    };
    let (a, n, width) = match (addr, net) {
        (std::net::IpAddr::V4(a), std::net::IpAddr::V4(n)) => {
            (u128::from(u32::from(a)), u128::from(u32::from(n)), 32)
        }
        (std::net::IpAddr::V6(a), std::net::IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        (std::net::IpAddr::V6(a), std::net::IpAddr::V4(n)) => match a.to_ipv4_mapped() {
            Some(a) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
            None => return false,
        },
        _ => return false,
    };
    let bits = bits.unwrap_or(width);
    if bits > width {
        return false;
    }
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (a >> shift) == (n >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        Condition::new(
            op,
            key,
            values
                .iter()
                .map(|v| Template::parse(v, true).expect("template"))
                .collect(),
        )
        .expect("condition")
    }

    fn ctx(pairs: &[(&str, &[&str])]) -> ConditionValues {
        let mut c = ConditionValues::new();
        for (k, v) in pairs {
            c.set_all(k, v.iter().copied());
        }
        c
    }

    #[test]
    fn any_of_the_policy_values_may_match() {
        let c = cond(
            "StringEquals",
            "kms:ReplicaRegion",
            &["us-east-1", "eu-west-3"],
        );
        assert!(c.holds(&ctx(&[("kms:ReplicaRegion", &["eu-west-3"])])));
        assert!(!c.holds(&ctx(&[("kms:ReplicaRegion", &["eu-west-1"])])));
    }

    #[test]
    fn negated_operators_hold_when_no_value_matches() {
        let c = cond(
            "StringNotEquals",
            "kms:ReplicaRegion",
            &["us-east-1", "eu-west-3"],
        );
        assert!(c.holds(&ctx(&[("kms:ReplicaRegion", &["eu-west-1"])])));
        assert!(!c.holds(&ctx(&[("kms:ReplicaRegion", &["us-east-1"])])));
    }

    #[test]
    fn an_absent_key_fails_a_positive_operator_and_passes_a_negated_one() {
        let empty = ConditionValues::new();
        assert!(!cond("StringEquals", "aws:ResourceTag/Project", &["Alpha"]).holds(&empty));
        assert!(cond("StringNotEquals", "aws:ResourceTag/Project", &["Alpha"]).holds(&empty));
    }

    #[test]
    fn if_exists_holds_when_the_key_is_absent_and_tests_it_when_present() {
        let c = cond(
            "StringEqualsIfExists",
            "kms:EncryptionContext:purpose",
            &["payments"],
        );
        assert!(c.holds(&ConditionValues::new()));
        assert!(c.holds(&ctx(&[("kms:EncryptionContext:purpose", &["payments"])])));
        assert!(!c.holds(&ctx(&[("kms:EncryptionContext:purpose", &["other"])])));
    }

    #[test]
    fn for_any_value_needs_one_matching_request_value() {
        let c = cond(
            "ForAnyValue:StringLike",
            "kms:ResourceAliases",
            &["alias/restricted*"],
        );
        assert!(c.holds(&ctx(&[(
            "kms:ResourceAliases",
            &["alias/x", "alias/restricted-1"]
        )])));
        assert!(!c.holds(&ctx(&[("kms:ResourceAliases", &["alias/x"])])));
        assert!(!c.holds(&ConditionValues::new()));
        assert!(!c.holds(&ctx(&[("kms:ResourceAliases", &[])])));
    }

    #[test]
    fn for_all_values_needs_every_request_value_to_match_and_holds_on_none() {
        let c = cond(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            &["Project", "Owner"],
        );
        assert!(c.holds(&ctx(&[("aws:TagKeys", &["Project"])])));
        assert!(c.holds(&ctx(&[("aws:TagKeys", &["Project", "Owner"])])));
        assert!(!c.holds(&ctx(&[("aws:TagKeys", &["Project", "Cost"])])));
        assert!(c.holds(&ConditionValues::new()));
    }

    #[test]
    fn negated_set_operators_apply_per_request_value() {
        let c = cond("ForAllValues:StringNotEquals", "aws:TagKeys", &["Secret"]);
        assert!(c.holds(&ctx(&[("aws:TagKeys", &["A", "B"])])));
        assert!(!c.holds(&ctx(&[("aws:TagKeys", &["A", "Secret"])])));
        let c = cond("ForAnyValue:StringNotEquals", "aws:TagKeys", &["Secret"]);
        assert!(c.holds(&ctx(&[("aws:TagKeys", &["A", "Secret"])])));
        assert!(!c.holds(&ctx(&[("aws:TagKeys", &["Secret"])])));
    }

    #[test]
    fn null_tests_presence() {
        let absent = cond("Null", "aws:ResourceTag/Type", &["true"]);
        let present = cond("Null", "aws:ResourceTag/Type", &["false"]);
        let none = ConditionValues::new();
        let some = ctx(&[("aws:ResourceTag/Type", &["Reserved"])]);
        assert!(absent.holds(&none) && !absent.holds(&some));
        assert!(present.holds(&some) && !present.holds(&none));
    }

    #[test]
    fn string_operators() {
        let v = ctx(&[("k:x", &["ExampleApp"])]);
        assert!(cond("StringEqualsIgnoreCase", "k:x", &["exampleapp"]).holds(&v));
        assert!(!cond("StringEquals", "k:x", &["exampleapp"]).holds(&v));
        assert!(cond("StringNotEqualsIgnoreCase", "k:x", &["other"]).holds(&v));
        assert!(cond("StringLike", "k:x", &["Example*"]).holds(&v));
        assert!(cond("StringLike", "k:x", &["?xampleApp"]).holds(&v));
        assert!(!cond("StringNotLike", "k:x", &["*App"]).holds(&v));
    }

    #[test]
    fn numeric_and_date_operators_compare_request_to_policy() {
        let v = ctx(&[("kms:RotationPeriodInDays", &["90"])]);
        assert!(cond("NumericLessThanEquals", "kms:RotationPeriodInDays", &["90"]).holds(&v));
        assert!(!cond("NumericLessThan", "kms:RotationPeriodInDays", &["90"]).holds(&v));
        assert!(cond("NumericGreaterThan", "kms:RotationPeriodInDays", &["30.5"]).holds(&v));
        assert!(!cond("NumericEquals", "kms:RotationPeriodInDays", &["ninety"]).holds(&v));
        let t = ctx(&[("aws:CurrentTime", &["2026-03-01T12:00:00Z"])]);
        assert!(cond("DateGreaterThan", "aws:CurrentTime", &["2026-01-01"]).holds(&t));
        assert!(cond("DateLessThan", "aws:CurrentTime", &["2026-03-01T12:00:01Z"]).holds(&t));
        assert!(cond("DateEquals", "aws:CurrentTime", &["1772366400"]).holds(&t));
    }

    #[test]
    fn bool_ip_binary_and_arn_operators() {
        let v = ctx(&[
            ("aws:SecureTransport", &["false"]),
            ("aws:SourceIp", &["203.0.113.9"]),
            ("k:bin", &["AQID"]),
            (
                "aws:PrincipalArn",
                &["arn:aws:iam::111122223333:role/Admin"],
            ),
        ]);
        assert!(cond("Bool", "aws:SecureTransport", &["FALSE"]).holds(&v));
        assert!(cond("IpAddress", "aws:SourceIp", &["203.0.113.0/24"]).holds(&v));
        assert!(!cond("IpAddress", "aws:SourceIp", &["198.51.100.0/24"]).holds(&v));
        assert!(cond("NotIpAddress", "aws:SourceIp", &["198.51.100.7"]).holds(&v));
        assert!(cond("BinaryEquals", "k:bin", &["AQID"]).holds(&v));
        assert!(cond("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:role/Adm*"]).holds(&v));
        assert!(cond(
            "ArnNotEquals",
            "aws:PrincipalArn",
            &["arn:aws:iam::*:role/Other"]
        )
        .holds(&v));
    }

    #[test]
    fn ip_ranges() {
        assert!(ip_in("10.1.2.3", "10.0.0.0/8"));
        assert!(!ip_in("11.1.2.3", "10.0.0.0/8"));
        assert!(ip_in("2001:db8::1", "2001:db8::/32"));
        assert!(ip_in("::ffff:10.1.2.3", "10.0.0.0/8"));
        assert!(ip_in("1.2.3.4", "0.0.0.0/0"));
        assert!(!ip_in("1.2.3.4", "1.2.3.0/33"));
    }

    #[test]
    fn policy_variables_in_condition_values() {
        let c = cond(
            "StringEquals",
            "kms:EncryptionContext:user",
            &["${aws:username}"],
        );
        let mut v = ctx(&[("kms:EncryptionContext:user", &["bob"])]);
        v.set("aws:username", "bob");
        assert!(c.holds(&v));
        v.set("aws:username", "alice");
        assert!(!c.holds(&v));
    }

    #[test]
    fn operators_are_known_by_name() {
        assert!(parse_operator("ForAnyValue:StringLikeIfExists").is_some());
        assert!(parse_operator("StringEqualz").is_none());
        assert!(parse_operator("NullIfExists").is_none());
        assert!(parse_operator("ForAllValues:Null").is_none());
        assert!(matches!(
            Condition::new("StringEqualz", "aws:x", vec![]),
            Err(PolicyError::UnknownConditionOperator(_))
        ));
    }
}
