//! What an operation declares about itself, and the one sequence every operation runs
//! through. Each file under `operations/` implements [`Operation`] once: its name, its
//! typed request, the key-state table row it needs, where it runs (on the request's own
//! thread, the worker pool or the blocking pool: [`Pool`]), whether it is read-only
//! (audit buffering, CloudTrail's `readOnly`), and the IAM action it requires. [`execute`] then, for every operation:
//!
//! 1. parses the request into [`Operation::Request`], once, where the body was
//!    validated against the service model ([`prepare`]); the typed request then tells
//!    where the rest runs ([`Operation::pool`]);
//! 2. makes the checks of the request alone ([`Operation::check_request`]);
//! 3. resolves the key the request names ([`Operation::resolve`]);
//! 4. makes the checks of the key that come before its state ([`Operation::check_key`],
//!    e.g. "key usage is SIGN_VERIFY which is not valid for Encrypt");
//! 5. checks the key's state against the key-state table ([`Spec::key_state`]);
//! 6. checks the request's grant tokens (`GrantTokens`, [`super::grants`]): each must be
//!    one CreateGrant returned in this Region, else InvalidGrantTokenException;
//! 7. asks the authorization hook ([`super::authorization::authorize`]): for the alias
//!    actions first on the alias ([`Operation::alias_ref`]), then on the key, with the
//!    operation's condition values ([`Operation::conditions`], plus `kms:RequestAlias`
//!    when the key was named by an alias);
//! 8. stops a dry run ([`Operation::dry_run`]: DryRunOperationException);
//! 9. runs the operation ([`Operation::run`]).

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::authorization::{self, Permit, Target};
use super::error::KmsResult;
use super::key_state::{self, Op};
use super::service::Kms;
use super::wire::{self, Output};
use crate::authz::rules;
use crate::domain::ids::AliasName;
use crate::domain::key::KeyRecord;
use crate::domain::region::Region;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::domain::write::Write;

/// Where an operation runs. PKCS#11 and SQLite calls block; only calls that take
/// microseconds run on the async executor's own threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Microseconds of work: one symmetric-key call in the token (AES-GCM, HMAC), a
    /// P-256 signature, random bytes, or reads of the in-memory metadata. Runs on the
    /// thread that read the request (a hand-off to another thread and back costs more
    /// than the token call itself: measured by scripts/bench).
    Inline,
    /// Crypto with an existing key that can take milliseconds (RSA private-key
    /// operations, other curves, ECDH): a fixed pool of worker threads that stay busy
    /// under load.
    Short,
    /// Anything that creates keys or writes metadata durably: tokio's blocking pool, so
    /// it cannot hold up the short operations.
    Long,
}

/// The declaration of an operation.
#[derive(Debug)]
pub struct Spec {
    /// The operation name (`X-Amz-Target: TrentService.<name>`).
    pub name: &'static str,
    /// The IAM action the caller needs on the resolved key (or on `*` when the
    /// operation names no key).
    pub action: &'static str,
    /// The row of the key-state table the resolved key is checked against; `None` for
    /// an operation on no key.
    pub key_state: Option<Op>,
    pub pool: Pool,
    /// Changes nothing: CloudTrail's `readOnly`; its audit records are buffered.
    pub read_only: bool,
}

/// An operation of the KMS API. See the module documentation for the order in which
/// [`execute`] calls these.
pub trait Operation {
    const SPEC: Spec;
    /// The request, as the service model shapes it (PascalCase members).
    type Request: DeserializeOwned + Send + 'static;

    /// Where this request runs; by default the operation's [`Spec::pool`]. Operations
    /// whose cost depends on the request (an RSA decryption or an ECDSA P-521 signature
    /// takes milliseconds, their AES or P-256 counterparts microseconds) say so here.
    fn pool(_req: &Self::Request) -> Pool {
        Self::SPEC.pool
    }

    /// Checks of the request alone, which AWS makes before it looks at the key.
    fn check_request(_kms: &Kms, _ctx: &RequestContext, _req: &Self::Request) -> KmsResult<()> {
        Ok(())
    }

    /// The member naming the key the operation acts on (`KeyId`, `TargetKeyId`, …), if
    /// any: [`Operation::resolve`] resolves it.
    fn key_ref(_req: &Self::Request) -> Option<&str> {
        None
    }

    /// The key the operation acts on, by [`Operation::key_ref`] in the request's Region.
    /// Operations that find their key otherwise (Decrypt: the ciphertext names it)
    /// override this.
    fn resolve(
        kms: &Kms,
        ctx: &RequestContext,
        req: &Self::Request,
    ) -> KmsResult<Option<Arc<KeyRecord>>> {
        Self::key_ref(req)
            .map(|raw| kms.resolve(ctx, raw))
            .transpose()
    }

    /// Checks of the resolved key that AWS makes before its key state (the key's usage
    /// or spec does not fit the operation).
    fn check_key(_req: &Self::Request, _key: &KeyRecord) -> KmsResult<()> {
        Ok(())
    }

    /// The alias the operation acts on (CreateAlias, UpdateAlias, DeleteAlias), which the
    /// caller needs the action on as well as on the key (alias-authorization.md).
    fn alias_ref(_req: &Self::Request) -> Option<&str> {
        None
    }

    /// The request's condition values for authorization (the `kms:` keys of
    /// `authz::rules::condition_keys_for(SPEC.action)` the request has values for;
    /// `kms:RequestAlias` and what the key says of itself are added for every operation).
    fn conditions(_req: &Self::Request) -> ConditionValues {
        ConditionValues::default()
    }

    /// Condition values that need the resolved key as well as the request
    /// (`kms:ReEncryptOnSameKey`).
    fn key_conditions(_req: &Self::Request, _key: &KeyRecord, _values: &mut ConditionValues) {}

    /// The request's `DryRun` is set and the operation stops after authorization with
    /// DryRunOperationException. Operations whose dry run also checks the request's
    /// data (a digest's length, a signature's form) check it in [`Operation::run`]
    /// instead, after those checks, with [`stop_dry_run`].
    fn dry_run(_req: &Self::Request) -> bool {
        false
    }

    /// Runs the operation, after every check above passed.
    fn run(kms: &Kms, call: &Call<'_>, req: Self::Request) -> KmsResult<Output>;
}

/// Stops a dry run from inside [`Operation::run`], for operations whose dry run also
/// checks the request's data (a digest's length, a signature's form, a grant's
/// principals) after the checks of [`execute`]: DryRunOperationException once those
/// checks passed, nothing done.
pub fn stop_dry_run(flag: Option<bool>) -> KmsResult<()> {
    if flag == Some(true) {
        return Err(super::error::KmsError::dry_run());
    }
    Ok(())
}

/// What an operation runs with besides its request: the caller, the resolved key, its
/// own declaration, and the request as the audit log records it.
pub struct Call<'a> {
    pub ctx: &'a RequestContext,
    key: Option<Arc<KeyRecord>>,
    spec: &'static Spec,
    /// Why the authorization hook let the request through.
    permit: Permit,
    /// The request members an audit record shows (secrets left out).
    audit_input: &'a Value,
}

impl Call<'_> {
    /// The resolved key. Only for operations that resolve one.
    pub fn key(&self) -> KmsResult<&Arc<KeyRecord>> {
        self.key.as_ref().ok_or_else(|| {
            super::error::KmsError::internal(format!("{} resolved no key", self.spec.name))
        })
    }

    /// The resolved key, if the request named one.
    pub fn key_if_any(&self) -> Option<&Arc<KeyRecord>> {
        self.key.as_ref()
    }

    /// The grant that allowed the request, when a grant (not a policy) did.
    pub fn allowed_by_grant(&self) -> Option<&str> {
        match &self.permit {
            Permit::Grant(id) => Some(id),
            _ => None,
        }
    }

    /// Checks the state of another key the operation acts on against the operation's
    /// row of the key-state table.
    pub fn check_state(&self, key: &KeyRecord) -> KmsResult<()> {
        match self.spec.key_state {
            Some(op) => key_state::check(op, key),
            None => Ok(()),
        }
    }

    /// Asks the authorization hook about another key the operation acts on.
    pub fn authorize_also(
        &self,
        kms: &Kms,
        action: &'static str,
        key: Option<&KeyRecord>,
    ) -> KmsResult<()> {
        authorization::authorize(kms, self.ctx, action, key, &ConditionValues::default).map(|_| ())
    }

    /// Asks the authorization hook about another resource the operation acts on, with
    /// condition values of its own (ReEncrypt's source context, ReplicateKey's
    /// kms:CreateKey in the replica Region).
    pub fn authorize_also_with(
        &self,
        kms: &Kms,
        action: &str,
        target: Target<'_>,
        conditions: &dyn Fn() -> ConditionValues,
    ) -> KmsResult<()> {
        authorization::authorize_on(kms, self.ctx, action, target, conditions).map(|_| ())
    }

    /// Checks the policy a key will have (CreateKey, PutKeyPolicy, ReplicateKey): see
    /// [`authorization::check_new_policy`].
    pub fn check_new_policy(
        &self,
        kms: &Kms,
        text: &str,
        key: &KeyRecord,
        bypass_lockout_check: bool,
    ) -> KmsResult<()> {
        authorization::check_new_policy(kms, self.ctx, text, key, bypass_lockout_check)
    }

    /// The resolved key as it is now, checked against the key-state table again. Called
    /// under the metadata write lock by read-modify-write sequences, so the key they
    /// change is the current one.
    pub fn reload(&self, kms: &Kms) -> KmsResult<Arc<KeyRecord>> {
        let key = self.key()?;
        let current = kms.get_key(key.region, &key.key_id).ok_or_else(|| {
            super::error::KmsError::not_found(format!("Key '{}' does not exist", key.arn()))
        })?;
        self.check_state(&current)?;
        Ok(current)
    }

    /// Read-modify-write of the resolved key under the write lock: reloads it (checking
    /// its state again), lets `f` change a copy (and add further writes), then commits it
    /// all durably.
    pub fn modify_key(
        &self,
        kms: &Kms,
        f: impl FnOnce(&mut KeyRecord, &mut Vec<Write>) -> KmsResult<()>,
    ) -> KmsResult<KeyRecord> {
        let _guard = kms.write_guard();
        let mut key = (*self.reload(kms)?).clone();
        let mut extra = Vec::new();
        f(&mut key, &mut extra)?;
        let mut batch = vec![Write::PutKey(key.clone())];
        batch.extend(extra);
        kms.commit(batch)?;
        Ok(key)
    }

    /// Records this call a second time, in another Region's audit log, as `event` (AWS
    /// records ReplicateKey as CreateKey in the replica's Region, UpdatePrimaryRegion in
    /// both Regions).
    pub fn audit_also(&self, kms: &Kms, region: Region, event: &str, response: Option<&Value>) {
        let ctx = RequestContext {
            region,
            ..self.ctx.clone()
        };
        // A failure is counted and logged by the audit log; the call itself was recorded
        // in its own Region (which decides the caller's outcome in strict mode).
        let _ = kms.audit.record_call(
            &ctx,
            &kms.user_identity(&ctx),
            kms.account(),
            event,
            false,
            self.audit_input,
            response,
            None,
            None,
            kms.clock.now(),
        );
    }
}

/// A request parsed into its operation's typed request (step 1), waiting to run.
pub trait Prepared: Send {
    /// Where it runs ([`Operation::pool`]).
    fn pool(&self) -> Pool;
    /// Runs steps 2 to 9 (a request that could not be parsed fails here, so that its
    /// error is recorded like any other).
    fn execute(
        self: Box<Self>,
        kms: &Kms,
        ctx: &RequestContext,
        audit_input: &Value,
    ) -> KmsResult<Output>;
}

/// The typed request of `O` (or why the body did not parse into it), and the request's
/// grant tokens.
struct Parsed<O: Operation> {
    req: KmsResult<O::Request>,
    grant_tokens: Vec<String>,
}

impl<O: Operation> Prepared for Parsed<O> {
    fn pool(&self) -> Pool {
        match &self.req {
            Ok(req) => O::pool(req),
            Err(_) => Pool::Inline,
        }
    }

    fn execute(
        self: Box<Self>,
        kms: &Kms,
        ctx: &RequestContext,
        audit_input: &Value,
    ) -> KmsResult<Output> {
        let Parsed { req, grant_tokens } = *self;
        execute::<O>(kms, ctx, req?, &grant_tokens, audit_input)
    }
}

/// Step 1 for operation `O`: parses `input` (already validated against the service
/// model) into its typed request, once; the strings of `input` move into it. The grant
/// tokens are taken first (the typed request does not keep them).
pub fn prepare<O: Operation + 'static>(input: Value) -> Box<dyn Prepared> {
    let grant_tokens = super::grants::request_tokens(&input);
    Box::new(Parsed::<O> {
        req: wire::parse(input),
        grant_tokens,
    })
}

/// Runs operation `O` on its typed request: steps 2 to 9 of the module documentation.
pub fn execute<O: Operation>(
    kms: &Kms,
    ctx: &RequestContext,
    req: O::Request,
    grant_tokens: &[String],
    audit_input: &Value,
) -> KmsResult<Output> {
    O::check_request(kms, ctx, &req)?;
    let key = O::resolve(kms, ctx, &req)?;
    if let Some(key) = &key {
        O::check_key(&req, key)?;
        if let Some(op) = O::SPEC.key_state {
            key_state::check(op, key)?;
        }
    }
    super::grants::check_request_tokens(kms, ctx, grant_tokens)?;
    if let Some(alias) = O::alias_ref(&req) {
        let name = AliasName::parse(alias)?;
        let arn = kms.alias_arn(ctx.region, &name);
        authorization::authorize_on(
            kms,
            ctx,
            O::SPEC.action,
            Target::Alias(&arn),
            &ConditionValues::default,
        )?;
    }
    let permit = authorization::authorize(kms, ctx, O::SPEC.action, key.as_deref(), &|| {
        request_conditions::<O>(&req, key.as_deref())
    })?;
    if O::dry_run(&req) {
        return Err(super::error::KmsError::dry_run());
    }
    let call = Call {
        ctx,
        key,
        spec: &O::SPEC,
        permit,
        audit_input,
    };
    O::run(kms, &call, req)
}

/// The condition values of a request on `key`: the operation's own
/// ([`Operation::conditions`], [`Operation::key_conditions`]) and `kms:RequestAlias` when
/// the key was named by an alias. (The hook adds what the key says of itself and the
/// global keys.)
fn request_conditions<O: Operation>(req: &O::Request, key: Option<&KeyRecord>) -> ConditionValues {
    let mut values = O::conditions(req);
    if let Some(key) = key {
        O::key_conditions(req, key, &mut values);
    }
    if let Some(alias) = O::key_ref(req).and_then(request_alias) {
        if rules::condition_keys_for(O::SPEC.action).any(|k| k.key == "kms:RequestAlias") {
            values.add("kms:RequestAlias", alias);
        }
    }
    values
}

/// [`request_conditions`] of a JSON request (the table test of the condition keys each
/// operation supplies).
pub fn conditions_of<O: Operation>(
    input: Value,
    key: Option<&KeyRecord>,
) -> KmsResult<ConditionValues> {
    let req: O::Request = wire::parse(input)?;
    Ok(request_conditions::<O>(&req, key))
}

/// The alias name a `KeyId` names (`alias/…`, or the name part of an alias ARN), for
/// `kms:RequestAlias`.
fn request_alias(raw: &str) -> Option<&str> {
    if raw.starts_with("alias/") {
        return Some(raw);
    }
    let resource = raw.strip_prefix("arn:")?.splitn(5, ':').nth(4)?;
    resource.starts_with("alias/").then_some(resource)
}

/// One operation of the registry: its declaration and its [`prepare`].
pub struct Entry {
    pub spec: &'static Spec,
    pub prepare: fn(Value) -> Box<dyn Prepared>,
    /// The request's condition values ([`conditions_of`]).
    #[allow(dead_code)]
    // Read by the table test of the condition keys each operation supplies.
    pub conditions: fn(Value, Option<&KeyRecord>) -> KmsResult<ConditionValues>,
}
