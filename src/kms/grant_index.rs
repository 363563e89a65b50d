//! Grants in memory: each grant's record with, computed once, the form authorization
//! matches requests against ([`Grant::view`], the library's [`crate::authz::GrantView`]);
//! the rules a grant itself decides (who may retire it, what a child grant created through
//! it may be); and the per-Region, per-key index the service state keeps
//! ([`GrantIndex`], changed only by committed writes). The service side of the grant
//! operations is [`super::grants`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::authz::{self, Caller, GrantView};
use crate::domain::grant::{
    GrantConstraints, GrantId, GrantOperation, GrantPrincipal, GrantRecord,
};
use crate::domain::ids::KeyId;
use crate::domain::region::Region;

/// A grant as the service holds it in memory: its record and, computed once, the form
/// authorization matches requests against.
#[derive(Debug)]
pub struct Grant {
    pub record: GrantRecord,
    /// The operation names, as [`GrantView::operations`] takes them.
    operations: Vec<String>,
    constraints: Option<authz::GrantConstraints>,
}

impl Grant {
    pub fn new(record: GrantRecord) -> Grant {
        let operations = record
            .operations
            .iter()
            .map(|o| o.as_str().to_string())
            .collect();
        let constraints = record
            .constraints
            .as_ref()
            .map(|c| authz::GrantConstraints {
                encryption_context_equals: c.encryption_context_equals.clone(),
                encryption_context_subset: c.encryption_context_subset.clone(),
            });
        Grant {
            record,
            operations,
            constraints,
        }
    }

    /// The grant as authorization sees it, or `None` for a grant that can allow nothing
    /// in hsm-kms: one for an AWS service principal (no AWS service calls hsm-kms) or with
    /// a `SourceArn` constraint (no request here is made on behalf of an AWS resource).
    pub fn view(&self) -> Option<GrantView<'_>> {
        let grantee = self.record.grantee.principal()?;
        if self
            .record
            .constraints
            .as_ref()
            .is_some_and(|c| c.source_arn.is_some())
        {
            return None;
        }
        Some(GrantView {
            grant_id: self.record.grant_id.as_str(),
            grantee_principal: grantee,
            retiring_principal: self
                .record
                .retiring
                .as_ref()
                .and_then(GrantPrincipal::principal),
            operations: &self.operations,
            constraints: self.constraints.as_ref(),
        })
    }

    /// Whether `caller` may retire this grant (grant-manage.md, "Retiring and revoking
    /// grants"): its retiring principal; its grantee, if the grant allows RetireGrant; or
    /// the account the grant was created in. An account named as retiring principal or
    /// grantee, and the issuing account, cover their IAM principals only where those
    /// principals' IAM policies allow `kms:RetireGrant` on the key (`iam_allows_retire`);
    /// an explicit deny of `kms:RetireGrant` is the caller's to check first.
    pub fn may_retire(&self, caller: &Caller, iam_allows_retire: bool) -> bool {
        let names = |p: &GrantPrincipal| {
            p.principal()
                .is_some_and(|arn| authz::grants::names_caller(arn, caller, iam_allows_retire))
        };
        self.record.retiring.as_ref().is_some_and(names)
            || (self.record.allows(GrantOperation::RetireGrant) && names(&self.record.grantee))
            || (self.record.issuing_account == account_root(caller.partition(), caller.account())
                && (caller.is_root() || iam_allows_retire))
    }
}

/// `arn:<partition>:iam::<account>:root`.
pub fn account_root(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:root")
}

/// Whether a principal that may call CreateGrant only through the grant `parent` may
/// create `child` (create-grant-overview.md, "Granting CreateGrant permission"): the child
/// allows some or all of the parent's operations and no other, and its constraints are at
/// least as strict — a parent's `EncryptionContextEquals` is kept exactly, a parent's
/// `EncryptionContextSubset` is kept or extended (or becomes an
/// `EncryptionContextEquals` that contains it), a parent's `SourceArn` is kept.
pub fn admits_child(parent: &GrantRecord, child: &GrantRecord) -> bool {
    if !child.operations.iter().all(|o| parent.allows(*o)) {
        return false;
    }
    let none = GrantConstraints::default();
    let p = parent.constraints.as_ref().unwrap_or(&none);
    let c = child.constraints.as_ref().unwrap_or(&none);
    let contains = |outer: &BTreeMap<String, String>, inner: &BTreeMap<String, String>| {
        inner.iter().all(|(k, v)| outer.get(k) == Some(v))
    };
    if let Some(eq) = &p.encryption_context_equals {
        if c.encryption_context_equals.as_ref() != Some(eq) {
            return false;
        }
    }
    if let Some(sub) = &p.encryption_context_subset {
        let kept = match (&c.encryption_context_equals, &c.encryption_context_subset) {
            (Some(eq), _) => contains(eq, sub),
            (None, Some(csub)) => contains(csub, sub),
            (None, None) => false,
        };
        if !kept {
            return false;
        }
    }
    p.source_arn.is_none() || p.source_arn == c.source_arn
}

/// Every Region's grants, per key: the in-memory view reads are served from (part of the
/// service state, rebuilt from the store at startup, changed only by committed writes).
#[derive(Debug, Default)]
pub struct GrantIndex {
    by_key: HashMap<(Region, KeyId), BTreeMap<GrantId, Arc<Grant>>>,
}

impl GrantIndex {
    pub fn put(&mut self, record: &GrantRecord) {
        self.by_key
            .entry((record.region, record.key_id.clone()))
            .or_default()
            .insert(
                record.grant_id.clone(),
                Arc::new(Grant::new(record.clone())),
            );
    }

    pub fn remove(&mut self, region: Region, key_id: &KeyId, grant_id: &GrantId) {
        let k = (region, key_id.clone());
        if let Some(grants) = self.by_key.get_mut(&k) {
            grants.remove(grant_id);
            if grants.is_empty() {
                self.by_key.remove(&k);
            }
        }
    }

    /// Forgets every grant of a key (the key was deleted).
    pub fn remove_key(&mut self, region: Region, key_id: &KeyId) {
        self.by_key.remove(&(region, key_id.clone()));
    }

    /// The grants of one key, by grant id.
    pub fn of_key(&self, region: Region, key_id: &KeyId) -> Option<&BTreeMap<GrantId, Arc<Grant>>> {
        self.by_key.get(&(region, key_id.clone()))
    }

    /// Every grant of a Region.
    pub fn in_region(&self, region: Region) -> impl Iterator<Item = &Arc<Grant>> {
        self.by_key
            .iter()
            .filter(move |((r, _), _)| *r == region)
            .flat_map(|(_, grants)| grants.values())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;
    use GrantOperation::*;

    fn grant(ops: &[GrantOperation], constraints: Option<GrantConstraints>) -> GrantRecord {
        GrantRecord {
            region: Region::parse("us-east-1").expect("region"),
            key_id: KeyId::new_single_region(),
            grant_id: GrantId::new(),
            name: None,
            grantee: GrantPrincipal::Principal("arn:aws:iam::111122223333:user/a".into()),
            retiring: None,
            operations: ops.to_vec(),
            constraints,
            issuing_account: "arn:aws:iam::111122223333:root".into(),
            created: Timestamp::from_secs(1_790_000_000.5),
        }
    }

    fn ctx(equals: Option<&[(&str, &str)]>, subset: Option<&[(&str, &str)]>) -> GrantConstraints {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        GrantConstraints {
            encryption_context_equals: equals.map(map),
            encryption_context_subset: subset.map(map),
            source_arn: None,
        }
    }

    #[test]
    fn a_child_grant_keeps_to_its_parents_operations() {
        let parent = grant(&[GenerateDataKey, Decrypt, CreateGrant], None);
        assert!(admits_child(&parent, &grant(&[CreateGrant, Decrypt], None)));
        assert!(!admits_child(
            &parent,
            &grant(&[Decrypt, ReEncryptFrom], None)
        ));
    }

    #[test]
    fn a_child_grant_is_at_least_as_strict_as_its_parent() {
        let it = [("Department", "IT")];
        let it_test = [("Department", "IT"), ("Purpose", "Test")];
        let parent = grant(&[Decrypt, CreateGrant], Some(ctx(None, Some(&it))));
        // A subset may grow, or become an Equals that contains it.
        for strict in [
            ctx(None, Some(&it)),
            ctx(None, Some(&it_test)),
            ctx(Some(&it), None),
        ] {
            assert!(
                admits_child(&parent, &grant(&[Decrypt], Some(strict.clone()))),
                "{strict:?}"
            );
        }
        // Removing pairs or the constraint is looser.
        assert!(!admits_child(&parent, &grant(&[Decrypt], None)));
        assert!(!admits_child(
            &parent,
            &grant(&[Decrypt], Some(ctx(None, Some(&[("Purpose", "Test")]))))
        ));
        // An Equals stays exactly as it is; never back to a Subset.
        let parent = grant(&[Decrypt, CreateGrant], Some(ctx(Some(&it), None)));
        assert!(admits_child(
            &parent,
            &grant(&[Decrypt], Some(ctx(Some(&it), None)))
        ));
        assert!(!admits_child(
            &parent,
            &grant(&[Decrypt], Some(ctx(None, Some(&it))))
        ));
        assert!(!admits_child(
            &parent,
            &grant(&[Decrypt], Some(ctx(Some(&it_test), None)))
        ));
    }

    #[test]
    fn a_service_grant_or_a_source_arn_constraint_allows_nothing_here() {
        let g = Grant::new(grant(&[Encrypt], None));
        let view = g.view().expect("a principal grant");
        assert_eq!(view.operations, ["Encrypt".to_string()]);
        let mut r = grant(&[Encrypt], None);
        r.grantee = GrantPrincipal::Service("dynamodb.amazonaws.com".into());
        assert!(Grant::new(r).view().is_none());
        let mut r = grant(&[Encrypt], None);
        r.constraints = Some(GrantConstraints {
            source_arn: Some("arn:aws:s3:::bucket-111122223333".into()),
            ..Default::default()
        });
        assert!(Grant::new(r).view().is_none());
    }

    #[test]
    fn the_index_keeps_grants_per_key() {
        let mut index = GrantIndex::default();
        let a = grant(&[Encrypt], None);
        let mut b = grant(&[Decrypt], None);
        b.key_id = a.key_id.clone();
        let c = grant(&[Decrypt], None);
        for g in [&a, &b, &c] {
            index.put(g);
        }
        assert_eq!(index.of_key(a.region, &a.key_id).map(|m| m.len()), Some(2));
        assert_eq!(index.in_region(a.region).count(), 3);
        index.remove(a.region, &a.key_id, &a.grant_id);
        assert_eq!(index.of_key(a.region, &a.key_id).map(|m| m.len()), Some(1));
        index.remove_key(a.region, &a.key_id);
        assert!(index.of_key(a.region, &a.key_id).is_none());
        assert_eq!(index.in_region(c.region).count(), 1);
    }

    #[test]
    fn who_may_retire_a_grant() {
        use crate::authz::{Principals, Sessions};
        let p = Principals::parse(
            r#"
[accounts.111122223333]
[accounts.444455556666]
[users.a]
account = "111122223333"
[users.bob]
account = "111122223333"
[users.carol]
account = "111122223333"
[users.dave]
account = "444455556666"
[roles.admin]
account = "111122223333"
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}'
"#,
            std::path::Path::new("."),
            "t.toml",
        )
        .expect("principals");
        let user = |account: &str, name: &str| {
            Caller::new(
                p.by_arn(&format!("arn:aws:iam::{account}:user/{name}"))
                    .expect(name)
                    .clone(),
                "AKIAEXAMPLE000000001",
            )
        };
        let root = |account: &str| {
            Caller::new(
                p.root(account).expect("root").clone(),
                "AKIAROOT000000000001",
            )
        };
        let sessions = Sessions::new(std::sync::Arc::new(
            crate::authz::sessions::tests::MemorySealer::default(),
        ));
        let admin_session = Caller::from_session(
            sessions
                .issue(
                    p.by_arn("arn:aws:iam::111122223333:role/admin")
                        .expect("role")
                        .clone(),
                    "s",
                    "x",
                    900,
                    0.0,
                )
                .expect("issued"),
        );
        let (a, bob, carol) = (
            user("111122223333", "a"),
            user("111122223333", "bob"),
            user("111122223333", "carol"),
        );
        let dave = user("444455556666", "dave");

        // Grantee a, retiring principal bob.
        let mut r = grant(&[Encrypt], None);
        r.retiring = Some(GrantPrincipal::Principal(
            "arn:aws:iam::111122223333:user/bob".into(),
        ));
        let g = Grant::new(r.clone());
        assert!(g.may_retire(&bob, false), "the retiring principal");
        assert!(!g.may_retire(&a, false), "the grantee, without RetireGrant");
        assert!(!g.may_retire(&carol, false), "another user of the account");
        assert!(
            g.may_retire(&carol, true),
            "… whose IAM policies allow kms:RetireGrant"
        );
        assert!(
            g.may_retire(&root("111122223333"), false),
            "the issuing account"
        );
        assert!(!g.may_retire(&dave, true), "a user of another account");
        assert!(!g.may_retire(&root("444455556666"), false));

        // The grantee may retire a grant that allows RetireGrant.
        r.operations.push(RetireGrant);
        assert!(Grant::new(r.clone()).may_retire(&a, false));

        // A role as retiring principal covers its sessions; another account as retiring
        // principal covers its root, and its users with IAM permission.
        r.retiring = Some(GrantPrincipal::Principal(
            "arn:aws:iam::111122223333:role/admin".into(),
        ));
        assert!(Grant::new(r.clone()).may_retire(&admin_session, false));
        r.retiring = Some(GrantPrincipal::Principal(
            "arn:aws:iam::444455556666:root".into(),
        ));
        let g = Grant::new(r);
        assert!(g.may_retire(&root("444455556666"), false));
        assert!(!g.may_retire(&dave, false));
        assert!(g.may_retire(&dave, true));
    }
}
