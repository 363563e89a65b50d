//! The verified caller of a request: an account root user, an IAM user, or a session of
//! an assumed role — with what policies need to know about them (ARN, account, unique id,
//! tags, identity policies).

use std::sync::Arc;

use super::policy::eval::{Who, WhoKind};
use super::policy::PolicyDoc;
use super::principals::{Identity, IdentityKind};
use super::sessions::Session;

/// Who made a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The root user or IAM user; for a session, the role.
    pub identity: Arc<Identity>,
    /// For assumed-role credentials: the session.
    pub session: Option<Arc<Session>>,
    /// The access key id the request was signed with.
    pub access_key_id: String,
}

impl Caller {
    /// A caller acting as an identity with one of its permanent access keys.
    pub fn new(identity: Arc<Identity>, access_key_id: impl Into<String>) -> Caller {
        Caller {
            identity,
            session: None,
            access_key_id: access_key_id.into(),
        }
    }

    /// A caller using a role session's temporary credentials.
    pub fn from_session(session: Arc<Session>) -> Caller {
        Caller {
            identity: session.role.clone(),
            access_key_id: session.access_key_id.clone(),
            session: Some(session),
        }
    }

    /// The caller's ARN as AWS shows it in denials and `GetCallerIdentity`: the user or
    /// root ARN, or `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub fn arn(&self) -> &str {
        match &self.session {
            Some(s) => &s.arn,
            None => &self.identity.arn,
        }
    }

    pub fn account(&self) -> &str {
        &self.identity.account
    }

    pub fn partition(&self) -> &str {
        &self.identity.partition
    }

    pub fn is_root(&self) -> bool {
        self.session.is_none() && self.identity.kind == IdentityKind::Root
    }

    /// `aws:PrincipalType`: `Account`, `User` or `AssumedRole`.
    pub fn principal_type(&self) -> &'static str {
        match (&self.session, self.identity.kind) {
            (Some(_), _) => "AssumedRole",
            (None, IdentityKind::Root) => "Account",
            (None, _) => "User",
        }
    }

    /// `aws:userid`: the user's id, the account id for the root user, or
    /// `<role id>:<session name>` for a session.
    pub fn user_id(&self) -> String {
        match &self.session {
            Some(s) => format!("{}:{}", self.identity.unique_id, s.name),
            None => self.identity.unique_id.clone(),
        }
    }

    /// `aws:username`: only IAM users have one.
    pub fn username(&self) -> Option<&str> {
        match (&self.session, self.identity.kind) {
            (None, IdentityKind::User) => Some(&self.identity.name),
            _ => None,
        }
    }

    /// `aws:PrincipalArn`: for a session, the role's ARN (not the session's).
    pub fn principal_arn(&self) -> &str {
        &self.identity.arn
    }

    /// The identity policies that apply (none for the root user, who is not governed by
    /// IAM policies).
    pub fn identity_policies(&self) -> impl Iterator<Item = &PolicyDoc> {
        self.identity.policies.iter().map(|p| p.doc.as_ref())
    }

    /// The caller as a policy's `Principal` element sees it.
    pub fn who(&self) -> Who<'_> {
        let kind = match (&self.session, self.identity.kind) {
            (Some(s), _) => WhoKind::RoleSession {
                role_arn: &self.identity.arn,
                session_arn: &s.arn,
            },
            (None, IdentityKind::Root) => WhoKind::Root,
            (None, _) => WhoKind::User {
                arn: &self.identity.arn,
            },
        };
        Who {
            account: &self.identity.account,
            kind,
        }
    }
}
