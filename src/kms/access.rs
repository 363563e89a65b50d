//! The access-control mode the service runs in, and who a request's access key stands
//! for. [`Access::Open`]: any credentials, every caller is the account's root user and
//! nothing is refused for want of permission. [`Access::Strict`]: the HTTP edge verified
//! the request's signature against the principals file (`authz`), and
//! [`super::authorization`] decides every action.
//!
//! The request context carries the caller's access key id; the verified caller is looked
//! up by it here (a permanent key of the principals file, or a live role session), so
//! every path into the service — the HTTP API, the web console, CloudFormation — names
//! its caller the same way.

use std::sync::Arc;

use crate::authz::{Authorizer, Caller};
use crate::domain::request::{IdentityType, SessionIssuer, UserIdentity};
use crate::domain::time::Timestamp;

/// Open or strict access control.
#[derive(Debug, Clone, Default)]
pub enum Access {
    /// Any credentials; every caller is the account's root user.
    #[default]
    Open,
    /// Signatures verified, policies and grants enforced.
    Strict(Arc<Authorizer>),
}

impl Access {
    /// The authorizer, in strict mode.
    pub fn authorizer(&self) -> Option<&Arc<Authorizer>> {
        match self {
            Access::Open => None,
            Access::Strict(a) => Some(a),
        }
    }

    pub fn is_strict(&self) -> bool {
        matches!(self, Access::Strict(_))
    }

    /// The caller an access key id stands for (strict mode): `None` in open mode, or for
    /// a key that is unknown or a session that expired at `now`.
    pub fn caller(&self, access_key_id: &str, now: Timestamp) -> Option<Caller> {
        self.authorizer()?.caller_for(access_key_id, now.secs())
    }

    /// The account of the caller an access key id stands for (strict mode; `None` in open
    /// mode, where every caller is the service's account root).
    pub fn caller_account(&self, access_key_id: &str) -> Option<String> {
        self.authorizer()?
            .known_caller(access_key_id)
            .map(|c| c.account().to_string())
    }

    /// CloudTrail's `userIdentity` of a request made with `access_key_id`: the verified
    /// caller in strict mode, the account root (`account`, `partition`) in open mode.
    pub fn user_identity(
        &self,
        access_key_id: &str,
        partition: &str,
        account: &str,
    ) -> UserIdentity {
        match self
            .authorizer()
            .and_then(|a| a.known_caller(access_key_id))
        {
            Some(caller) => identity_of(&caller),
            None => UserIdentity::root(partition, account, access_key_id),
        }
    }
}

/// A verified caller as CloudTrail records it.
pub fn identity_of(caller: &Caller) -> UserIdentity {
    let id = &caller.identity;
    if let Some(session) = &caller.session {
        return UserIdentity {
            kind: IdentityType::AssumedRole,
            principal_id: caller.user_id(),
            arn: caller.arn().to_string(),
            account_id: id.account.clone(),
            access_key_id: caller.access_key_id.clone(),
            user_name: None,
            session: Some(SessionIssuer {
                principal_id: id.unique_id.clone(),
                arn: id.arn.clone(),
                account_id: id.account.clone(),
                user_name: id.name.clone(),
                creation_date: Timestamp::from_secs(session.issued),
            }),
        };
    }
    if caller.is_root() {
        return UserIdentity::root(&id.partition, &id.account, &caller.access_key_id);
    }
    UserIdentity {
        kind: IdentityType::IamUser,
        principal_id: id.unique_id.clone(),
        arn: id.arn.clone(),
        account_id: id.account.clone(),
        access_key_id: caller.access_key_id.clone(),
        user_name: Some(id.name.clone()),
        session: None,
    }
}
