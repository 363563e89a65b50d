//! Key transport between Region tokens: the objects that let multi-Region key material
//! move from one Region's token into another's without its plaintext ever existing outside
//! a token, their setup at every start ([`ensure`]), and material replication over them
//! ([`replicate`]).
//!
//! For every ordered pair (A → B) of served Regions in one partition:
//! 1. every token that has a peer holds an RSA-3072 transport key pair (made once by the
//!    user): `transport/<R>`, private, sensitive, never extractable, copyable or
//!    modifiable, that can only unwrap, only with RSA-OAEP, and whose
//!    CKA_UNWRAP_TEMPLATE pins the exact shape of a receiving KEK
//!    ([`templates::kek_shape`]); and `transport/<R>/public`, a carrier of the public
//!    values;
//! 2. A's Security Officer imports B's public transport key into A as the trusted token
//!    object `transport/<B>/public` (public data, fine in clear on disk), whose
//!    CKA_WRAP_TEMPLATE lets it wrap only trusted session keys — only the SO's KEKs;
//! 3. at every start A's SO generates the key-encryption key `kek/<A>-><B>` as a public
//!    *session* object of A's long-lived session: trusted, wrap only, RFC 5649 key wrap
//!    only, extractable only under a trusted key, and by its CKA_WRAP_TEMPLATE able to wrap
//!    only multi-Region token material. The SO cannot create private objects; a session
//!    object never touches the disk and no other process — no other holder of the user
//!    PIN — can see it;
//! 4. A wraps the KEK under `transport/<B>/public` (RSA-OAEP with SHA-1, MGF1-SHA1 and an
//!    empty label, the only OAEP variant SoftHSM 2.6.1 accepts) and B unwraps it with
//!    `transport/<B>` into its own long-lived session, in the pinned shape, giving it a
//!    CKA_UNWRAP_TEMPLATE ([`templates::replica_shape`]): it can create only multi-Region
//!    replicas (sensitive, extractable only under a trusted key).
//!
//! Multi-Region material carries CKA_WRAP_WITH_TRUSTED, so the only keys that can wrap it
//! are the SO's KEKs: [`replicate`] wraps it in A and unwraps it in B with
//! CKM_AES_KEY_WRAP_PAD under that pair's KEK.
//!
//! What a holder of the user PIN in another process can do against this: find no KEK;
//! unwrap with a transport key only into an unreadable, unwrap-only session key; wrap
//! nothing of its own or of the material under a trusted public key; change none of these
//! objects (tests/hsm_transport.rs performs each attack). What remains: both blobs of one
//! delivery (the wrapped KEK and a wrapped material) together with the user PIN would
//! give the material; they exist only in this process's memory, in zeroising buffers.
//!
//! Tokens laid out by earlier versions are upgraded here: their KEKs were token objects (in
//! the sender a public object, whose value SoftHSM stores in clear) and are destroyed;
//! transport keys without an unwrap template and trusted public keys without a wrap
//! template are replaced.
//!
//! The same Security Officer session of each token also makes the import measuring key
//! ([`RegionToken::make_measuring_key`]) and the import transit key
//! ([`RegionToken::make_transit_key`]), so a start costs one SO login per token.

use std::collections::HashMap;
use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;

use super::algorithms::OaepHash;
use super::errors::HsmError;
use super::mechanisms;
use super::raw::ArrayAttribute;
use super::readers::{self, RsaPublicValues};
use super::templates;
use super::token::RegionToken;
use crate::domain::region::Region;

/// Modulus size of the transport key pairs.
const TRANSPORT_KEY_BITS: u64 = 3072;

/// Label of `region`'s private transport key (held in `region`'s token only).
pub fn transport_private_label(region: Region) -> String {
    format!("transport/{region}")
}

/// Label of `region`'s public transport key: in `region`'s own token, and as a trusted
/// copy in the token of every Region that sends key material to `region`.
pub fn transport_public_label(region: Region) -> String {
    format!("transport/{region}/public")
}

/// Label of the key-encryption key for material travelling from `from` to `to` (the same
/// label in both tokens; a session object in each).
pub fn kek_label(from: Region, to: Region) -> String {
    format!("kek/{from}->{to}")
}

/// Prefix of the KEK labels (token objects with it are the former layout's KEKs).
const KEK_PREFIX: &str = "kek/";

/// What one run of [`ensure`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TransportSetup {
    /// RSA transport key pairs generated (missing, or of the former layout).
    pub key_pairs_generated: usize,
    /// Peer public transport keys imported as trusted objects (new or replacing stale ones).
    pub public_keys_trusted: usize,
    /// Key-encryption keys generated in sending tokens (every pair, at every start).
    pub keks_generated: usize,
    /// Key-encryption keys unwrapped into receiving tokens.
    pub keks_delivered: usize,
    /// Token objects of the former layout destroyed (KEKs that were token objects).
    pub former_keks_destroyed: usize,
}

/// The Regions among `regions` that share key material with `region`.
fn peers(regions: &[Region], region: Region) -> impl Iterator<Item = Region> + '_ {
    regions
        .iter()
        .copied()
        .filter(move |r| *r != region && r.partition() == region.partition())
}

/// RSA-OAEP as SoftHSM 2.6.1 implements it: SHA-1, MGF1-SHA1, empty label.
fn oaep() -> Mechanism<'static> {
    mechanisms::oaep(OaepHash::Sha1)
}

fn token(
    tokens: &HashMap<Region, Arc<RegionToken>>,
    region: Region,
) -> Result<&RegionToken, HsmError> {
    tokens
        .get(&region)
        .map(|t| t.as_ref())
        .ok_or(HsmError::NotServed(region))
}

/// The public values of an RSA key object, whether the SO marked it trusted, and whether
/// it carries a wrap template (the former layout's trusted keys did not).
#[derive(PartialEq, Eq)]
struct RsaPublic {
    values: RsaPublicValues,
    trusted: bool,
    wrap_template: bool,
}

fn read_rsa_public(token: &RegionToken, label: &str) -> Result<RsaPublic, HsmError> {
    let handle = token.handle(label)?;
    token.session(|s| {
        let values = readers::rsa_public(token, s, handle, label)?;
        let trusted = readers::read(token, s, handle, &[AttributeType::Trusted])?
            .into_iter()
            .any(|a| matches!(a, Attribute::Trusted(true)));
        let wrap_template = token
            .raw()
            .array_len(s, handle, ArrayAttribute::Wrap)
            .map_err(token.p11("C_GetAttributeValue"))?
            > 0;
        Ok(RsaPublic {
            values,
            trusted,
            wrap_template,
        })
    })
}

/// Whether `token`'s transport key pair is in place and of the current layout (the
/// private key carries its unwrap template).
fn has_current_transport_pair(token: &RegionToken) -> Result<bool, HsmError> {
    let region = token.region();
    let private_label = transport_private_label(region);
    if !(token.has_object(&private_label) && token.has_object(&transport_public_label(region))) {
        return Ok(false);
    }
    let private = token.handle(&private_label)?;
    let pinned = token.session(|s| {
        token
            .raw()
            .array_len(s, private, ArrayAttribute::Unwrap)
            .map_err(token.p11("C_GetAttributeValue"))
    })?;
    if pinned == 0 {
        tracing::info!(%region, "replacing a transport key pair of the former layout (no unwrap template)");
    }
    Ok(pinned > 0)
}

/// Creates the transport key pair of `token` (after removing a half-present or former one).
fn generate_transport_pair(token: &RegionToken) -> Result<(), HsmError> {
    let region = token.region();
    let private_label = transport_private_label(region);
    let public_label = transport_public_label(region);
    token.destroy(&private_label)?;
    token.destroy(&public_label)?;
    let (public, private) =
        templates::transport_pair(&private_label, &public_label, TRANSPORT_KEY_BITS);
    let started = std::time::Instant::now();
    token.generate_key_pair(
        &Mechanism::RsaPkcsKeyPairGen,
        (&public_label, &public),
        (&private_label, &private),
    )?;
    tracing::info!(
        %region,
        ms = started.elapsed().as_millis() as u64,
        "generated the RSA-{TRANSPORT_KEY_BITS} transport key pair"
    );
    Ok(())
}

/// Runs `f` for every item, each in its own thread (RSA work dominates a first start and
/// tokens are independent), and returns the results in order.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, HsmError> + Sync,
) -> Result<Vec<R>, HsmError> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().map_err(|_| HsmError::SetupThreadPanicked)?)
            .collect()
    })
}

/// Sets up key transport for the served `regions` (see the module documentation): the
/// transport key pairs and trusted public keys that are missing or stale, and the KEKs of
/// this start. Every token must be open with the user logged in. Each token's Security
/// Officer logs in once (the user is logged out meanwhile): startup only. Running it again
/// makes new KEKs (tests do).
pub fn ensure(
    tokens: &HashMap<Region, Arc<RegionToken>>,
    regions: &[Region],
    so_pin: &str,
) -> Result<TransportSetup, HsmError> {
    let started = std::time::Instant::now();
    let mut report = TransportSetup::default();
    let all: Vec<&RegionToken> = regions
        .iter()
        .map(|r| token(tokens, *r))
        .collect::<Result<_, _>>()?;

    // 0. The former layout's KEKs were token objects: destroy them (user).
    for t in &all {
        for label in t.labels() {
            if label.starts_with(KEK_PREFIX) {
                t.destroy(&label)?;
                report.former_keks_destroyed += 1;
            }
        }
    }
    if report.former_keks_destroyed > 0 {
        tracing::info!(
            destroyed = report.former_keks_destroyed,
            "destroyed the key-encryption keys of the former token layout (token objects)"
        );
    }

    // 1. Transport key pairs (user).
    let linked: Vec<&RegionToken> = all
        .iter()
        .copied()
        .filter(|t| peers(regions, t.region()).next().is_some())
        .collect();
    let mut missing_pairs = Vec::new();
    for t in &linked {
        if !has_current_transport_pair(t)? {
            missing_pairs.push(*t);
        }
    }
    in_parallel(&missing_pairs, |t| generate_transport_pair(t))?;
    report.key_pairs_generated = missing_pairs.len();
    let mut publics = HashMap::new();
    for t in &linked {
        publics.insert(
            t.region(),
            read_rsa_public(t, &transport_public_label(t.region()))?,
        );
    }
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "transport key pairs in place"
    );

    // 2. Security Officer of every token: trusted peer public keys, this start's sending
    //    KEKs, the import measuring key.
    for (imported, generated) in in_parallel(&all, |t| so_setup(t, regions, &publics, so_pin))? {
        report.public_keys_trusted += imported;
        report.keks_generated += generated;
    }
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "sending KEKs in place"
    );

    // 3. Deliver each KEK to its receiver (user; after every SO login, which drops the
    //    private session objects the receivers hold).
    report.keks_delivered = in_parallel(&linked, |t| deliver_to(tokens, regions, t))?
        .into_iter()
        .sum();
    Ok(report)
}

/// The Security Officer's work in `t`: imports missing or stale trusted public keys of
/// its peers, generates this start's sending KEKs (after destroying the previous run's
/// session keys) and the import measuring key. Returns how many public keys it imported
/// and how many KEKs it generated.
fn so_setup(
    t: &RegionToken,
    regions: &[Region],
    publics: &HashMap<Region, RsaPublic>,
    so_pin: &str,
) -> Result<(usize, usize), HsmError> {
    let from = t.region();
    let public_of = |to: Region| publics.get(&to).ok_or(HsmError::NotServed(to));
    let mut stale = Vec::new();
    let mut import = Vec::new();
    for to in peers(regions, from) {
        let wanted = public_of(to)?;
        let label = transport_public_label(to);
        if t.has_object(&label) {
            let held = read_rsa_public(t, &label)?;
            if held.values != wanted.values || !held.trusted || !held.wrap_template {
                tracing::info!(region = %from, %label, "replacing a stale trusted transport key");
                stale.push(t.handle(&label)?);
                import.push(to);
            }
        } else {
            import.push(to);
        }
    }
    let previous = t.take_session_keys();
    let keys = t.with_so_login(so_pin, |s| {
        // The previous run's keys (tests run setup twice); received KEKs are already gone.
        for handle in previous.into_values() {
            let _ = s.destroy_object(handle);
        }
        for handle in stale {
            s.destroy_object(handle)
                .map_err(t.p11("C_DestroyObject(SO)"))?;
        }
        for to in &import {
            let public = public_of(*to)?;
            let template = templates::trusted_public_key(
                &transport_public_label(*to),
                &public.values.modulus,
                &public.values.exponent,
            );
            t.raw()
                .create_object(s, &template)
                .map_err(t.p11("C_CreateObject(SO)"))?;
        }
        let mut keys = Vec::new();
        for to in peers(regions, from) {
            let label = kek_label(from, to);
            keys.push((label.clone(), generate_session_key(t, s, &label)?));
        }
        keys.push(t.make_measuring_key(s)?);
        keys.push(t.make_transit_key(s)?);
        Ok(keys)
    })?;
    let generated = keys.len() - 2;
    t.add_session_keys(keys);
    Ok((import.len(), generated))
}

/// The sending KEK `label`, generated by the SO in the login session `s`.
fn generate_session_key(
    t: &RegionToken,
    s: &Session,
    label: &str,
) -> Result<ObjectHandle, HsmError> {
    t.raw()
        .generate_key(s, &Mechanism::AesKeyGen, &templates::sending_kek(label))
        .map_err(t.p11("C_GenerateKey(SO)"))
}

/// The receiver side of `receiver` (user): every peer's KEK of this start is wrapped in
/// the peer under `receiver`'s trusted public key and unwrapped here with the private
/// transport key, in the shape it pins. Returns how many KEKs it received.
fn deliver_to(
    tokens: &HashMap<Region, Arc<RegionToken>>,
    regions: &[Region],
    receiver: &RegionToken,
) -> Result<usize, HsmError> {
    let to = receiver.region();
    let mut delivered = 0;
    for from in peers(regions, to) {
        let sender = token(tokens, from)?;
        let label = kek_label(from, to);
        let wrapped = sender.wrap(&oaep(), &transport_public_label(to), &label)?;
        receiver.unwrap_session_key(
            &oaep(),
            &transport_private_label(to),
            &wrapped,
            &label,
            &templates::receiving_kek(&label),
        )?;
        delivered += 1;
    }
    Ok(delivered)
}

/// Copies the multi-Region material `label` from `from`'s token into `to`'s: wrapped in
/// `from` under `kek/<from>-><to>` (CKM_AES_KEY_WRAP_PAD), unwrapped in `to` under its
/// copy of that key, as a token object with the same label, CKA_ID, class, key type,
/// usage attributes and allowed mechanisms, and the multi-Region protection (sensitive,
/// extractable only under a trusted key). Does nothing when `to` already holds `label`.
/// The caller checked that the Regions share a partition.
pub fn replicate(from: &RegionToken, to: &RegionToken, label: &str) -> Result<(), HsmError> {
    if to.has_object(label) {
        return Ok(());
    }
    let not_replicable = || HsmError::NotReplicable(label.to_string());
    let mut class = None;
    let mut key_type = None;
    let mut id = None;
    let mut extractable = false;
    let mut wrap_with_trusted = false;
    let mut allowed_mechanisms = Vec::new();
    let attrs = from.attributes(
        label,
        &[
            AttributeType::Class,
            AttributeType::KeyType,
            AttributeType::Id,
            AttributeType::Extractable,
            AttributeType::WrapWithTrusted,
            AttributeType::AllowedMechanisms,
        ],
    )?;
    for attr in attrs {
        match attr {
            Attribute::Class(c) => class = Some(c),
            Attribute::KeyType(k) => key_type = Some(k),
            Attribute::Id(i) => id = Some(i),
            Attribute::Extractable(e) => extractable = e,
            Attribute::WrapWithTrusted(w) => wrap_with_trusted = w,
            Attribute::AllowedMechanisms(m) => allowed_mechanisms = m,
            _ => {}
        }
    }
    let (Some(class), Some(key_type)) = (class, key_type) else {
        return Err(not_replicable());
    };
    // Material that may leave its token only under a trusted key: nothing else travels.
    if !(extractable && wrap_with_trusted) {
        return Err(not_replicable());
    }
    // The usage attributes this class has; the copy gets the source's values.
    let usage = templates::replicated_usage(class).ok_or_else(not_replicable)?;
    let usage_values = from.attributes(label, usage)?;
    let revealed = |t: &AttributeType| usage_values.iter().any(|a| a.attribute_type() == *t);
    if let Some(attribute) = usage.iter().find(|t| !revealed(t)) {
        return Err(HsmError::MissingAttribute {
            region: from.region(),
            object: label.to_string(),
            attribute: *attribute,
        });
    }
    let id = id.unwrap_or_else(|| label.as_bytes().to_vec());
    let template = templates::replica(class, key_type, id, usage_values, allowed_mechanisms);
    let kek = kek_label(from.region(), to.region());
    let wrapped = from.wrap(&mechanisms::AES_KEY_WRAP_PAD, &kek, label)?;
    to.unwrap_unless_present(
        &mechanisms::AES_KEY_WRAP_PAD,
        &kek,
        &wrapped,
        label,
        template,
    )?;
    Ok(())
}

/// Exists for tests and for learning: wraps the multi-Region material `label` in `from`
/// under this start's KEK and asks `to` to unwrap it under its copy of the KEK as a
/// readable session object (CKA_SENSITIVE=false, CKA_EXTRACTABLE=true) — what a holder of
/// the user PIN would do with a material blob if the receiving KEK had no unwrap template.
/// The KEK's template must refuse it (CKR_TEMPLATE_INCONSISTENT); `Ok(())` means the token
/// created a readable copy (destroyed at once, never read).
pub fn try_unwrap_readable(
    from: &RegionToken,
    to: &RegionToken,
    label: &str,
) -> Result<(), HsmError> {
    let kek = kek_label(from.region(), to.region());
    let mut class = None;
    let mut key_type = None;
    for attr in from.attributes(label, &[AttributeType::Class, AttributeType::KeyType])? {
        match attr {
            Attribute::Class(c) => class = Some(c),
            Attribute::KeyType(k) => key_type = Some(k),
            _ => {}
        }
    }
    let (Some(class), Some(key_type)) = (class, key_type) else {
        return Err(HsmError::NotReplicable(label.to_string()));
    };
    let wrapped = from.wrap(&mechanisms::AES_KEY_WRAP_PAD, &kek, label)?;
    let readable = [
        Attribute::Class(class),
        Attribute::KeyType(key_type),
        Attribute::Token(false),
        Attribute::Sensitive(false),
        Attribute::Extractable(true),
    ];
    let unwrapping = to.handle(&kek)?;
    let _guard = to.creation_guard();
    to.session(|s| {
        let copy = s
            .unwrap_key(
                &mechanisms::AES_KEY_WRAP_PAD,
                unwrapping,
                &wrapped,
                &readable,
            )
            .map_err(to.p11("C_UnwrapKey"))?;
        s.destroy_object(copy).map_err(to.p11("C_DestroyObject"))
    })
}
