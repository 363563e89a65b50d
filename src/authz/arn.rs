//! Amazon Resource Names: parsing (`arn:partition:service:region:account:resource`), the
//! field-by-field wildcard match IAM uses for `Resource` and the `Arn*` condition
//! operators, and the shapes of IAM principal ARNs.

use std::fmt;

use super::glob;

/// A parsed ARN. The resource part keeps any `:` or `/` it contains.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

/// What is wrong with a string given as an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("'{0}' is not an ARN: it must start with 'arn:'")]
    NoPrefix(String),
    #[error("'{0}' is not an ARN: it needs six ':'-separated fields (arn:partition:service:region:account:resource)")]
    TooFewFields(String),
    #[error("'{0}' is not an ARN: the partition must be aws, aws-cn or aws-us-gov")]
    BadPartition(String),
    #[error("'{0}' is not an ARN: the service field is empty")]
    NoService(String),
    #[error("'{0}' is not an ARN: the resource field is empty")]
    NoResource(String),
}

/// The partitions an ARN may name.
pub const PARTITIONS: &[&str] = &["aws", "aws-cn", "aws-us-gov"];

impl Arn {
    /// Parses a concrete ARN (no wildcard interpretation).
    pub fn parse(s: &str) -> Result<Arn, ArnError> {
        let rest = s
            .strip_prefix("arn:")
            .ok_or_else(|| ArnError::NoPrefix(s.to_string()))?;
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if parts.len() != 5 {
            return Err(ArnError::TooFewFields(s.to_string()));
        }
        if !PARTITIONS.contains(&parts[0]) {
            return Err(ArnError::BadPartition(s.to_string()));
        }
        if parts[1].is_empty() {
            return Err(ArnError::NoService(s.to_string()));
        }
        if parts[4].is_empty() {
            return Err(ArnError::NoResource(s.to_string()));
        }
        Ok(Arn {
            partition: parts[0].to_string(),
            service: parts[1].to_string(),
            region: parts[2].to_string(),
            account: parts[3].to_string(),
            resource: parts[4].to_string(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

impl fmt::Debug for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Arn({self})")
    }
}

/// Whether a `Resource` pattern (or an `ArnLike` value) is well formed: `*`, or six
/// `:`-separated fields starting with `arn` (wildcards allowed in any field).
pub fn is_valid_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let fields: Vec<&str> = pattern.splitn(6, ':').collect();
    fields.len() == 6 && glob::matches(fields[0], "arn")
}

/// IAM's ARN match: `*` matches everything; otherwise both sides are split into their six
/// fields and each field is wildcard-matched on its own (case-sensitively), so a `*` in
/// the Region field matches every Region but never spills into the account field. The
/// resource field (the sixth) may itself contain `:` and `/`.
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let mut p = pattern.splitn(6, ':');
    let mut a = arn.splitn(6, ':');
    for _ in 0..6 {
        match (p.next(), a.next()) {
            (Some(pf), Some(af)) => {
                if !glob::matches(pf, af) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

/// An IAM principal named by ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrincipalArn {
    /// `arn:aws:iam::111122223333:root` (or the bare account id): the account.
    Account { partition: String, account: String },
    /// `arn:aws:iam::111122223333:user/path/name`
    User {
        partition: String,
        account: String,
        path: String,
        name: String,
    },
    /// `arn:aws:iam::111122223333:role/path/name`
    Role {
        partition: String,
        account: String,
        path: String,
        name: String,
    },
    /// `arn:aws:sts::111122223333:assumed-role/RoleName/SessionName`
    AssumedRole {
        partition: String,
        account: String,
        role_name: String,
        session: String,
    },
}

impl PrincipalArn {
    /// Parses a principal as it may appear in a policy's `Principal: {"AWS": ...}`: a
    /// 12-digit account id, or an IAM account/user/role ARN, or an STS assumed-role ARN.
    /// `None` when the string is none of these.
    pub fn parse(s: &str) -> Option<PrincipalArn> {
        // Principals are named exactly: no wildcard inside an ARN.
        if glob::has_wildcard(s) {
            return None;
        }
        if is_account_id(s) {
            return Some(PrincipalArn::Account {
                partition: "aws".to_string(),
                account: s.to_string(),
            });
        }
        let arn = Arn::parse(s).ok()?;
        if !arn.region.is_empty() || !is_account_id(&arn.account) {
            return None;
        }
        let partition = arn.partition.clone();
        let account = arn.account.clone();
        match arn.service.as_str() {
            "iam" => {
                if arn.resource == "root" {
                    return Some(PrincipalArn::Account { partition, account });
                }
                let (kind, rest) = arn.resource.split_once('/')?;
                let (path, name) = split_path(rest)?;
                match kind {
                    "user" => Some(PrincipalArn::User {
                        partition,
                        account,
                        path,
                        name,
                    }),
                    "role" => Some(PrincipalArn::Role {
                        partition,
                        account,
                        path,
                        name,
                    }),
                    _ => None,
                }
            }
            "sts" => {
                let rest = arn.resource.strip_prefix("assumed-role/")?;
                let (role_name, session) = rest.split_once('/')?;
                if role_name.is_empty() || session.is_empty() || session.contains('/') {
                    return None;
                }
                Some(PrincipalArn::AssumedRole {
                    partition,
                    account,
                    role_name: role_name.to_string(),
                    session: session.to_string(),
                })
            }
            _ => None,
        }
    }

    /// The account the principal belongs to.
    pub fn account(&self) -> &str {
        match self {
            PrincipalArn::Account { account, .. }
            | PrincipalArn::User { account, .. }
            | PrincipalArn::Role { account, .. }
            | PrincipalArn::AssumedRole { account, .. } => account,
        }
    }

    /// The canonical ARN text (an account id becomes `arn:aws:iam::<id>:root`).
    pub fn to_arn(&self) -> String {
        match self {
            PrincipalArn::Account { partition, account } => {
                format!("arn:{partition}:iam::{account}:root")
            }
            PrincipalArn::User {
                partition,
                account,
                path,
                name,
            } => format!("arn:{partition}:iam::{account}:user{path}{name}"),
            PrincipalArn::Role {
                partition,
                account,
                path,
                name,
            } => format!("arn:{partition}:iam::{account}:role{path}{name}"),
            PrincipalArn::AssumedRole {
                partition,
                account,
                role_name,
                session,
            } => format!("arn:{partition}:sts::{account}:assumed-role/{role_name}/{session}"),
        }
    }
}

/// Splits `path/name` (the part after `user/` or `role/`) into (`/path/`, `name`).
fn split_path(rest: &str) -> Option<(String, String)> {
    let (path, name) = match rest.rfind('/') {
        Some(i) => (format!("/{}/", &rest[..i]), &rest[i + 1..]),
        None => ("/".to_string(), rest),
    };
    if name.is_empty() || path.contains("//") {
        return None;
    }
    Some((path, name.to_string()))
}

/// Twelve decimal digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn an_arn_has_six_fields_and_the_resource_keeps_its_colons() {
        let arn = Arn::parse("arn:aws:logs:us-east-1:111122223333:log-group:x:*").expect("arn");
        assert_eq!(arn.service, "logs");
        assert_eq!(arn.resource, "log-group:x:*");
        assert_eq!(
            arn.to_string(),
            "arn:aws:logs:us-east-1:111122223333:log-group:x:*"
        );
        assert!(matches!(
            Arn::parse("arn:aws:kms"),
            Err(ArnError::TooFewFields(_))
        ));
        assert!(matches!(
            Arn::parse("kms:Encrypt"),
            Err(ArnError::NoPrefix(_))
        ));
        assert!(matches!(
            Arn::parse("arn:mars:kms:r:1:key/x"),
            Err(ArnError::BadPartition(_))
        ));
    }

    #[test]
    fn star_alone_matches_every_arn() {
        assert!(arn_matches("*", KEY));
    }

    #[test]
    fn a_wildcard_in_the_region_field_matches_every_region_and_nothing_else() {
        let p = "arn:aws:kms:*:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(arn_matches(p, KEY));
        assert!(arn_matches(
            p,
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ));
        assert!(!arn_matches(
            p,
            "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ));
    }

    #[test]
    fn wildcards_in_any_field() {
        assert!(arn_matches("arn:aws:kms:us-*:*:key/*", KEY));
        assert!(arn_matches(
            "arn:*:kms:us-west-?:111122223333:key/1234*",
            KEY
        ));
        assert!(!arn_matches(
            "arn:aws:kms:us-west-2:111122223333:alias/*",
            KEY
        ));
        // A pattern of fewer fields never matches.
        assert!(!arn_matches("arn:aws:kms:us-west-2", KEY));
    }

    #[test]
    fn arn_matching_is_case_sensitive() {
        assert!(!arn_matches(
            "arn:aws:kms:us-west-2:111122223333:KEY/*",
            KEY
        ));
    }

    #[test]
    fn resource_patterns_are_star_or_six_fields() {
        assert!(is_valid_pattern("*"));
        assert!(is_valid_pattern("arn:aws:kms:*:111122223333:key/*"));
        assert!(!is_valid_pattern("key/*"));
        assert!(!is_valid_pattern("arn:aws:kms:us-east-1"));
    }

    #[test]
    fn principal_arns_of_every_kind() {
        assert_eq!(
            PrincipalArn::parse("111122223333").map(|p| p.to_arn()),
            Some("arn:aws:iam::111122223333:root".to_string())
        );
        let user =
            PrincipalArn::parse("arn:aws:iam::111122223333:user/division/alice").expect("user");
        assert_eq!(
            user,
            PrincipalArn::User {
                partition: "aws".into(),
                account: "111122223333".into(),
                path: "/division/".into(),
                name: "alice".into()
            }
        );
        assert_eq!(
            user.to_arn(),
            "arn:aws:iam::111122223333:user/division/alice"
        );
        let session =
            PrincipalArn::parse("arn:aws:sts::111122223333:assumed-role/App/s1").expect("session");
        assert_eq!(session.account(), "111122223333");
        for bad in [
            "11112222333",
            "arn:aws:iam::111122223333:group/x",
            "arn:aws:iam:us-east-1:111122223333:user/alice",
            "arn:aws:iam::1111:user/alice",
            "arn:aws:sts::111122223333:assumed-role/App",
            "arn:aws:iam::111122223333:user/",
            "arn:aws:iam::111122223333:user/al*",
        ] {
            assert!(PrincipalArn::parse(bad).is_none(), "{bad}");
        }
    }
}
