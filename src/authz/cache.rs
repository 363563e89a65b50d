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
    parsed: RwLock<HashMap<PolicyKind, HashMap<String, Arc<PolicyDoc>>>>,
}

impl PolicyCache {
    pub fn new() -> PolicyCache {
        PolicyCache::default()
    }

    /// The parsed form of a policy, parsing it on first use. Faults are not cached.
    pub fn get(&self, text: &str, kind: PolicyKind) -> Result<Arc<PolicyDoc>, PolicyError> {
        if let Some(p) = self.parsed.read().get(&kind).and_then(|m| m.get(text)) {
            return Ok(p.clone());
        }
        let doc = Arc::new(PolicyDoc::parse(text, kind)?);
        let mut maps = self.parsed.write();
        let map = maps.entry(kind).or_default();
        if map.len() >= LIMIT {
            map.clear();
        }
        map.insert(text.to_string(), doc.clone());
        Ok(doc)
    }

    pub fn len(&self) -> usize {
        self.parsed.read().values().map(HashMap::len).sum()
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
