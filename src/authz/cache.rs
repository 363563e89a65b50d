//! Parsed policies, cached by their text: a key policy is parsed when first used and
//! then shared, so evaluating a request never parses JSON. Changing a policy changes its
//! text, so a stale entry is never used; the cache is emptied when it grows large.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::policy::{PolicyDoc, PolicyError, PolicyKind};

/// At most this many parsed policies are kept.
const LIMIT: usize = 10_000;

/// Policy text → parsed policy.
#[derive(Debug, Default)]
pub struct PolicyCache {
    parsed: RwLock<HashMap<(PolicyKind, String), Arc<PolicyDoc>>>,
}

impl PolicyCache {
    pub fn new() -> PolicyCache {
        PolicyCache::default()
    }

    /// The parsed form of a policy, parsing it on first use. Faults are not cached.
    pub fn get(&self, text: &str, kind: PolicyKind) -> Result<Arc<PolicyDoc>, PolicyError> {
        if let Some(p) = self.parsed.read().get(&(kind, text.to_string())) {
            return Ok(p.clone());
        }
        let doc = Arc::new(PolicyDoc::parse(text, kind)?);
        let mut map = self.parsed.write();
        if map.len() >= LIMIT {
            map.clear();
        }
        map.insert((kind, text.to_string()), doc.clone());
        Ok(doc)
    }

    pub fn len(&self) -> usize {
        self.parsed.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str =
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#;

    #[test]
    fn a_policy_is_parsed_once_and_shared() {
        let c = PolicyCache::new();
        let a = c.get(P, PolicyKind::Key).expect("parses");
        let b = c.get(P, PolicyKind::Key).expect("cached");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn faults_are_returned_every_time_and_not_cached() {
        let c = PolicyCache::new();
        assert!(c.get("{", PolicyKind::Key).is_err());
        assert!(c.get("{", PolicyKind::Key).is_err());
        assert!(c.is_empty());
    }
}
