//! Grants as the authorization step sees them: whether a grant allows a caller an
//! operation (grantee, operations, encryption-context constraints), and whether a caller
//! may retire it. Grants only ever allow; they are considered after the policies.

use std::collections::BTreeMap;

use super::arn::PrincipalArn;
use super::caller::Caller;

/// `EncryptionContextEquals` / `EncryptionContextSubset`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantConstraints {
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
}

/// What authorization needs to know of a grant.
#[derive(Debug, Clone, Copy)]
pub struct GrantView<'a> {
    pub grant_id: &'a str,
    pub grantee_principal: &'a str,
    pub retiring_principal: Option<&'a str>,
    /// Operation names: `Encrypt`, `ReEncryptFrom`, …
    pub operations: &'a [String],
    pub constraints: Option<&'a GrantConstraints>,
}

/// Whether `principal` (an ARN in a grant) names the caller. An account principal names
/// the account's root user directly and its other principals only where their IAM
/// policies allow the operation (`iam_allows`), as for a key policy's account principal.
pub fn names_caller(principal: &str, caller: &Caller, iam_allows: bool) -> bool {
    match PrincipalArn::parse(principal) {
        Some(PrincipalArn::Account { account, .. }) => {
            account == caller.account() && (caller.is_root() || iam_allows)
        }
        Some(PrincipalArn::User { .. }) => caller.session.is_none() && principal == caller.arn(),
        Some(PrincipalArn::Role { .. }) => {
            caller.session.is_some() && principal == caller.identity.arn
        }
        Some(PrincipalArn::AssumedRole { .. }) => principal == caller.arn(),
        None => false,
    }
}

/// Whether the encryption context of a request satisfies a grant's constraints (an absent
/// context counts as empty). As the API reference says of grant constraints, the key of
/// each pair compares without regard to case and the value exactly.
pub fn constraints_hold(
    constraints: Option<&GrantConstraints>,
    context: Option<&BTreeMap<String, String>>,
) -> bool {
    let Some(c) = constraints else {
        return true;
    };
    let empty = BTreeMap::new();
    let context = context.unwrap_or(&empty);
    if let Some(eq) = &c.encryption_context_equals {
        if !(contains_pairs(context, eq) && contains_pairs(eq, context)) {
            return false;
        }
    }
    if let Some(sub) = &c.encryption_context_subset {
        if !contains_pairs(context, sub) {
            return false;
        }
    }
    true
}

/// Whether every pair of `pairs` is in `context`: a key of the same letters in any case
/// with exactly the same value.
fn contains_pairs(context: &BTreeMap<String, String>, pairs: &BTreeMap<String, String>) -> bool {
    pairs.iter().all(|(key, value)| {
        context
            .iter()
            .any(|(k, v)| v == value && k.to_lowercase() == key.to_lowercase())
    })
}

/// Grant operations without an encryption context, to which a grant's encryption-context
/// constraints do not apply (create-grant-overview.md): DescribeKey and RetireGrant
/// ignore them; a CreateGrant through a constrained grant must create a grant at least
/// as strict, which the service checks against the new grant, not here.
const UNCONSTRAINED_OPERATIONS: &[&str] = &["CreateGrant", "DescribeKey", "RetireGrant"];

/// Whether the grant allows the caller `operation` (`Encrypt`, not `kms:Encrypt`).
pub fn grant_allows(
    grant: &GrantView,
    caller: &Caller,
    operation: &str,
    encryption_context: Option<&BTreeMap<String, String>>,
    iam_allows: bool,
) -> bool {
    grant.operations.iter().any(|o| o == operation)
        && names_caller(grant.grantee_principal, caller, iam_allows)
        && (UNCONSTRAINED_OPERATIONS.contains(&operation)
            || constraints_hold(grant.constraints, encryption_context))
}

/// Whether the caller may retire the grant: its retiring principal, or its grantee when
/// the grant includes the `RetireGrant` operation.
pub fn may_retire(grant: &GrantView, caller: &Caller) -> bool {
    grant
        .retiring_principal
        .is_some_and(|p| names_caller(p, caller, false))
        || (grant.operations.iter().any(|o| o == "RetireGrant")
            && names_caller(grant.grantee_principal, caller, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn equals(pairs: &[(&str, &str)]) -> GrantConstraints {
        GrantConstraints {
            encryption_context_equals: Some(map(pairs)),
            encryption_context_subset: None,
        }
    }

    fn subset(pairs: &[(&str, &str)]) -> GrantConstraints {
        GrantConstraints {
            encryption_context_equals: None,
            encryption_context_subset: Some(map(pairs)),
        }
    }

    #[test]
    fn a_constraint_key_matches_in_any_case_but_its_value_only_exactly() {
        let c = equals(&[("Department", "IT")]);
        assert!(constraints_hold(
            Some(&c),
            Some(&map(&[("department", "IT")]))
        ));
        assert!(constraints_hold(
            Some(&c),
            Some(&map(&[("DEPARTMENT", "IT")]))
        ));
        assert!(!constraints_hold(
            Some(&c),
            Some(&map(&[("Department", "it")]))
        ));
        let c = subset(&[("Department", "IT")]);
        assert!(constraints_hold(
            Some(&c),
            Some(&map(&[("department", "IT"), ("Project", "x")]))
        ));
        assert!(!constraints_hold(
            Some(&c),
            Some(&map(&[("department", "It")]))
        ));
    }

    #[test]
    fn equals_needs_every_pair_and_no_other_subset_allows_more() {
        let c = equals(&[("a", "1"), ("b", "2")]);
        assert!(constraints_hold(
            Some(&c),
            Some(&map(&[("B", "2"), ("A", "1")]))
        ));
        assert!(!constraints_hold(Some(&c), Some(&map(&[("a", "1")]))));
        assert!(!constraints_hold(
            Some(&c),
            Some(&map(&[("a", "1"), ("b", "2"), ("c", "3")]))
        ));
        assert!(!constraints_hold(Some(&c), None));
        let c = subset(&[]);
        assert!(constraints_hold(Some(&c), None));
        assert!(constraints_hold(None, Some(&map(&[("x", "y")]))));
    }
}
