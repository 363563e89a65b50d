//! Grants, the service side shared by CreateGrant, ListGrants, ListRetirableGrants,
//! RetireGrant and RevokeGrant: the in-memory view of every Region's grants, the grant
//! tokens, the rules every grant operation applies, and what authorization needs.
//!
//! **Regional.** A grant belongs to one key in one Region: related multi-Region keys never
//! share grants, and a grant goes with its key when the key is deleted (the store deletes a
//! key's grants with the key, [`crate::domain::write::Write::DeleteKey`]).
//!
//! **Grant tokens.** `0x01 || IV (12) || AES-256-GCM(claims JSON) || tag`, base64, sealed
//! inside the Region's token under its `grant-token-key`
//! ([`crate::hsm::sealing::GRANT_TOKEN_KEY_LABEL`]) with AAD `hsm-kms grant token
//! v1|<Region>`. The claims name the key and the grant, plus a nonce, so every CreateGrant
//! call returns a new token (also for an idempotent retry, as AWS does) and a token reveals
//! nothing of its grant. A token that does not open (altered, made up, or of another
//! Region) is InvalidGrantTokenException wherever it appears: in `GrantTokens` (checked for
//! every operation by [`check_request_tokens`]) and in RetireGrant's `GrantToken`.
//!
//! **Consistency.** Grants are immediately consistent in hsm-kms: a grant is in
//! [`Kms::grants_for`] as soon as CreateGrant has answered, and gone as soon as RetireGrant
//! or RevokeGrant has. So a valid grant token needs no separate path into authorization:
//! the grant it names is already among the key's grants; the token of a grant that was
//! retired or revoked is still well formed but allows nothing, as in AWS once its
//! retirement is consistent.
//!
//! **Authorization.** The grants of a key, for the authorization step, are
//! [`Kms::grants_for`]`(key)` and each [`Grant::view`] (the library's
//! [`crate::authz::GrantView`]). RetireGrant is decided by the grant itself
//! ([`super::grant_index::Grant::may_retire`], called through
//! [`super::authorization::authorize_retire`]); a CreateGrant allowed by a grant rather
//! than a policy may only create a grant within its parent
//! ([`super::grant_index::admits_child`]).

use std::sync::Arc;

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::{ErrorKind, KmsError, KmsResult};
use super::grant_index::Grant;
use super::service::Kms;
use crate::authz;
use crate::domain::grant::{GrantId, GrantOperation, GrantPrincipal, GrantRecord};
use crate::domain::ids::{KeyId, KeyRef, KeyRefError};
use crate::domain::key::{KeyRecord, KeySpec, KeyUsage};
use crate::domain::region::Region;
use crate::domain::request::RequestContext;
use crate::hsm::sealing::GRANT_TOKEN_KEY_LABEL;
use crate::hsm::HsmError;

impl Kms {
    /// The grants of `key` — of this key in its Region only, never of a related
    /// multi-Region key — for authorization: each [`Grant::view`] is what
    /// [`crate::authz::decide::Request::grants`] takes. Every grant a valid grant token of
    /// the request names is among them (grants are immediately consistent here).
    pub fn grants_for(&self, key: &KeyRecord) -> Vec<Arc<Grant>> {
        self.state()
            .grants
            .of_key(key.region, &key.key_id)
            .map(|g| g.values().cloned().collect())
            .unwrap_or_default()
    }

    /// One grant of `key`.
    pub fn grant(&self, key: &KeyRecord, grant_id: &GrantId) -> Option<Arc<Grant>> {
        self.state()
            .grants
            .of_key(key.region, &key.key_id)
            .and_then(|g| g.get(grant_id).cloned())
    }
}

/// The `KeyId` of a grant operation: a key id or key ARN of the request's Region. AWS
/// refuses an alias name or alias ARN here with InvalidArnException.
pub fn resolve_key(kms: &Kms, ctx: &RequestContext, raw: &str) -> KmsResult<Arc<KeyRecord>> {
    match KeyRef::parse(raw, ctx.region, kms.account()) {
        Ok(KeyRef::Alias(_)) | Err(KeyRefError::InvalidAlias(_)) => Err(KmsError::new(
            ErrorKind::InvalidArn,
            "Key Aliases are not supported for this operation.",
        )),
        _ => kms.resolve(ctx, raw),
    }
}

/// A `GrantId` member: InvalidGrantIdException unless it is a grant id.
pub fn parse_grant_id(raw: &str) -> KmsResult<GrantId> {
    GrantId::parse(raw).ok_or_else(|| {
        KmsError::new(
            ErrorKind::InvalidGrantId,
            format!(
                "Invalid grant ID '{raw}': a grant ID is the 64 hexadecimal digits CreateGrant, ListGrants or ListRetirableGrants return."
            ),
        )
    })
}

/// The grant `grant_id` of `key`: NotFoundException when the key has no such grant (it was
/// never created, or was retired or revoked).
pub fn find(kms: &Kms, key: &KeyRecord, grant_id: &GrantId) -> KmsResult<Arc<Grant>> {
    kms.grant(key, grant_id).ok_or_else(|| {
        KmsError::not_found(format!(
            "Grant ID {grant_id} not found for KMS key {}.",
            key.arn()
        ))
    })
}

/// The KMS key usage and symmetry that decide which grant operations a key accepts.
pub fn accepts_operation(key: &KeyRecord, operation: GrantOperation) -> bool {
    let symmetric = key.key_spec == KeySpec::SymmetricDefault
        || matches!(
            key.key_spec,
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512
        );
    authz::rules::grant_operation_valid_for(operation.as_str(), key.key_usage.as_str(), symmetric)
}

/// Whether an encryption-context constraint may apply to `operation`: the operations with
/// an encryption context, and DescribeKey, CreateGrant and RetireGrant, which a
/// constrained grant may include (the constraint does not apply to them).
pub fn constrainable(operation: GrantOperation) -> bool {
    operation == GrantOperation::DescribeKey
        || authz::rules::CONSTRAINABLE_GRANT_OPERATIONS.contains(&operation.as_str())
}

/// Whether a key takes encryption contexts at all (symmetric encryption keys only).
pub fn takes_encryption_context(key: &KeyRecord) -> bool {
    key.key_spec == KeySpec::SymmetricDefault && key.key_usage == KeyUsage::EncryptDecrypt
}

/// A grant as ListGrants and ListRetirableGrants show it.
pub fn entry_json(kms: &Kms, g: &GrantRecord) -> Value {
    let mut out = json!({
        "KeyId": kms.key_arn(g.region, &g.key_id),
        "GrantId": g.grant_id.as_str(),
        "CreationDate": g.created.secs(),
        "IssuingAccount": g.issuing_account,
        "Operations": g.operations.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
    });
    if let Some(name) = &g.name {
        out["Name"] = json!(name);
    }
    match &g.grantee {
        GrantPrincipal::Principal(p) => out["GranteePrincipal"] = json!(p),
        GrantPrincipal::Service(s) => out["GranteeServicePrincipal"] = json!(s),
    }
    match &g.retiring {
        Some(GrantPrincipal::Principal(p)) => out["RetiringPrincipal"] = json!(p),
        Some(GrantPrincipal::Service(s)) => out["RetiringServicePrincipal"] = json!(s),
        None => {}
    }
    if let Some(c) = &g.constraints {
        let mut cj = json!({});
        if let Some(eq) = &c.encryption_context_equals {
            cj["EncryptionContextEquals"] = json!(eq);
        }
        if let Some(sub) = &c.encryption_context_subset {
            cj["EncryptionContextSubset"] = json!(sub);
        }
        if let Some(arn) = &c.source_arn {
            cj["SourceArn"] = json!(arn);
        }
        out["Constraints"] = cj;
    }
    out
}

/// The paging key of a grant among its key's grants: creation order (then grant id).
pub fn listing_key(g: &GrantRecord) -> String {
    format!("{:020.6}/{}", g.created.secs(), g.grant_id)
}

/// Whether a `Marker` is one the grant listings hand out (`NextMarker`), possibly after a
/// key id: InvalidMarkerException otherwise.
pub fn check_marker(marker: Option<&str>) -> KmsResult<()> {
    let Some(m) = marker else {
        return Ok(());
    };
    let tail = m.rsplit('/').take(2).collect::<Vec<_>>();
    let ok = matches!(tail.as_slice(), [id, time]
        if GrantId::parse(id).is_some()
            && time.len() == 20
            && time.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    if ok {
        Ok(())
    } else {
        Err(KmsError::new(
            ErrorKind::InvalidMarker,
            format!("Invalid marker '{m}': pass the NextMarker of the previous response."),
        ))
    }
}

/// AWS's page size for the grant listings: 50 unless `Limit` says otherwise, at most 100.
pub fn page_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(50).clamp(1, 100)
}

const TOKEN_VERSION: u8 = 1;
const TOKEN_IV_LEN: usize = 12;
const TOKEN_TAG_LEN: usize = 16;

/// What a grant token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub key_id: KeyId,
    pub grant_id: GrantId,
}

/// The sealed claims (short names: the token travels in every request that carries it).
#[derive(Serialize, Deserialize)]
struct SealedClaims {
    /// Key id.
    k: String,
    /// Grant id.
    g: String,
    /// A nonce: every CreateGrant call returns a new token.
    n: String,
}

fn token_aad(region: Region) -> Vec<u8> {
    format!("hsm-kms grant token v1|{region}").into_bytes()
}

/// A new grant token for the grant `grant_id` of `key_id` in `region`, sealed in that
/// Region's token.
pub fn seal_token(
    kms: &Kms,
    region: Region,
    key_id: &KeyId,
    grant_id: &GrantId,
) -> KmsResult<String> {
    let mut nonce = [0u8; 16];
    OsRng.fill_bytes(&mut nonce);
    let claims = SealedClaims {
        k: key_id.to_string(),
        g: grant_id.to_string(),
        n: hex::encode(nonce),
    };
    let plaintext = serde_json::to_vec(&claims).map_err(KmsError::internal)?;
    let mut iv = [0u8; TOKEN_IV_LEN];
    OsRng.fill_bytes(&mut iv);
    let body = kms
        .token(region)?
        .aes_gcm_encrypt(GRANT_TOKEN_KEY_LABEL, &iv, &token_aad(region), &plaintext)
        .map_err(Kms::hsm_error)?;
    let mut out = Vec::with_capacity(1 + TOKEN_IV_LEN + body.len());
    out.push(TOKEN_VERSION);
    out.extend_from_slice(&iv);
    out.extend_from_slice(&body);
    Ok(super::wire::b64(&out))
}

fn invalid_token(region: Region) -> KmsError {
    KmsError::new(
        ErrorKind::InvalidGrantToken,
        format!(
            "Invalid grant token: it was not returned by CreateGrant in {region}, or it was altered."
        ),
    )
}

/// Opens a grant token presented in `region`: InvalidGrantTokenException unless CreateGrant
/// in this Region returned it, unaltered.
pub fn open_token(kms: &Kms, region: Region, token: &str) -> KmsResult<TokenClaims> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.as_bytes())
        .map_err(|_| invalid_token(region))?;
    if bytes.len() < 1 + TOKEN_IV_LEN + TOKEN_TAG_LEN || bytes[0] != TOKEN_VERSION {
        return Err(invalid_token(region));
    }
    let mut iv = [0u8; TOKEN_IV_LEN];
    iv.copy_from_slice(&bytes[1..1 + TOKEN_IV_LEN]);
    let plaintext = match kms.token(region)?.aes_gcm_decrypt(
        GRANT_TOKEN_KEY_LABEL,
        &iv,
        &token_aad(region),
        &bytes[1 + TOKEN_IV_LEN..],
    ) {
        Ok(p) => p,
        Err(HsmError::AuthenticationFailed) => return Err(invalid_token(region)),
        Err(e) => return Err(Kms::hsm_error(e)),
    };
    let claims: SealedClaims =
        serde_json::from_slice(&plaintext).map_err(|_| invalid_token(region))?;
    match (KeyId::parse(&claims.k), GrantId::parse(&claims.g)) {
        (Some(key_id), Some(grant_id)) => Ok(TokenClaims { key_id, grant_id }),
        _ => Err(invalid_token(region)),
    }
}

/// The `GrantTokens` member of a request, if it has one (before the request is parsed
/// into its operation's type, which does not keep it).
pub fn request_tokens(input: &Value) -> Vec<String> {
    input
        .get("GrantTokens")
        .and_then(Value::as_array)
        .map(|tokens| {
            tokens
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks the grant tokens of a request (every operation that takes `GrantTokens`):
/// each must open in the request's Region, else InvalidGrantTokenException. A valid token
/// needs nothing more: its grant, if it still exists, is among the key's grants that
/// authorization considers ([`Kms::grants_for`]).
pub fn check_request_tokens(kms: &Kms, ctx: &RequestContext, tokens: &[String]) -> KmsResult<()> {
    for token in tokens {
        open_token(kms, ctx.region, token)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;
    use GrantOperation::*;

    fn grant(ops: &[GrantOperation]) -> GrantRecord {
        GrantRecord {
            region: Region::parse("us-east-1").expect("region"),
            key_id: KeyId::new_single_region(),
            grant_id: GrantId::new(),
            name: None,
            grantee: GrantPrincipal::Principal("arn:aws:iam::111122223333:user/a".into()),
            retiring: None,
            operations: ops.to_vec(),
            constraints: None,
            issuing_account: "arn:aws:iam::111122223333:root".into(),
            created: Timestamp::from_secs(1_790_000_000.5),
        }
    }

    #[test]
    fn listing_keys_sort_in_creation_order_and_are_valid_markers() {
        let mut a = grant(&[Encrypt]);
        let mut b = grant(&[Encrypt]);
        a.created = Timestamp::from_secs(999_999_999.25);
        b.created = Timestamp::from_secs(1_790_000_000.5);
        assert!(listing_key(&a) < listing_key(&b));
        check_marker(Some(&listing_key(&a))).expect("a marker we hand out");
        check_marker(Some(&format!("{}/{}", a.key_id, listing_key(&a)))).expect("after a key id");
        for bad in ["x", "00001790000000.500000/zz", &listing_key(&a)[1..]] {
            let e = check_marker(Some(bad)).expect_err(bad);
            assert_eq!(e.kind, ErrorKind::InvalidMarker);
        }
    }

    #[test]
    fn page_limits_are_awss() {
        assert_eq!(page_limit(None), 50);
        assert_eq!(page_limit(Some(7)), 7);
        assert_eq!(page_limit(Some(1000)), 100);
    }
}
