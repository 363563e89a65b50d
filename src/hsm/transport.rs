//! Key transport between Region tokens: the objects that let multi-Region key material
//! move from one Region's token into another's without its plaintext ever existing outside
//! a token, their idempotent setup at startup ([`ensure`]), and material replication over
//! them ([`replicate`]).
//!
//! For every ordered pair (A → B) of served Regions in one partition:
//! - every token that has a peer holds an RSA-3072 transport key pair:
//!   `transport/<R>` (private, sensitive, never extractable, unwrap only) and
//!   `transport/<R>/public`;
//! - A's Security Officer imports B's public transport key into A as
//!   `transport/<B>/public` with CKA_TRUSTED (only the SO can set it), and generates the
//!   trusted AES-256 key-encryption key `kek/<A>-><B>` in A (wrap only, sensitive,
//!   extractable only under a trusted key). Objects the SO creates are public objects;
//! - A wraps `kek/<A>-><B>` under `transport/<B>/public` (RSA-OAEP with SHA-1, MGF1-SHA1
//!   and an empty label, the only OAEP variant SoftHSM 2.6.1 accepts) and B unwraps it
//!   with `transport/<B>` as a non-extractable, unwrap-only `kek/<A>-><B>`.
//!
//! Multi-Region material carries CKA_WRAP_WITH_TRUSTED, so the only keys that can wrap it
//! are the SO's trusted `kek/<A>-><B>` keys: [`replicate`] wraps it in A and unwraps it in
//! B with CKM_AES_KEY_WRAP_PAD under that pair's key.
//!
//! Setup looks only at the label maps the tokens built at startup (no C_FindObjects of its
//! own) and creates what is missing or stale. When everything is in place it costs a few
//! attribute reads and no Security Officer login.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};

use super::{HsmError, RegionToken};
use crate::domain::region::Region;

/// Modulus size of the transport key pairs.
const TRANSPORT_KEY_BITS: u64 = 3072;
/// Public exponent of the transport key pairs (65537).
const PUBLIC_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

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
/// label in both tokens).
pub fn kek_label(from: Region, to: Region) -> String {
    format!("kek/{from}->{to}")
}

/// What one run of [`ensure`] created: all zero when everything was already in place.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TransportSetup {
    /// RSA transport key pairs generated.
    pub key_pairs_generated: usize,
    /// Peer public transport keys imported as trusted objects (new or replacing stale ones).
    pub public_keys_trusted: usize,
    /// Key-encryption keys generated in sending tokens.
    pub keks_generated: usize,
    /// Key-encryption keys unwrapped into receiving tokens.
    pub keks_delivered: usize,
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
    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
        MechanismType::SHA1,
        PkcsMgfType::MGF1_SHA1,
        PkcsOaepSource::empty(),
    ))
}

fn token(
    tokens: &HashMap<Region, Arc<RegionToken>>,
    region: Region,
) -> Result<&RegionToken, HsmError> {
    tokens
        .get(&region)
        .map(|t| t.as_ref())
        .ok_or_else(|| HsmError::Token(format!("no token is open for Region {region}")))
}

/// The public values of an RSA key object, and whether the SO marked it trusted.
#[derive(PartialEq, Eq)]
struct RsaPublic {
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    trusted: bool,
}

fn read_rsa_public(token: &RegionToken, label: &str) -> Result<RsaPublic, HsmError> {
    let mut public = RsaPublic {
        modulus: Vec::new(),
        exponent: Vec::new(),
        trusted: false,
    };
    let attrs = token.attributes(
        label,
        &[
            AttributeType::Modulus,
            AttributeType::PublicExponent,
            AttributeType::Trusted,
        ],
    )?;
    for attr in attrs {
        match attr {
            Attribute::Modulus(m) => public.modulus = m,
            Attribute::PublicExponent(e) => public.exponent = e,
            Attribute::Trusted(t) => public.trusted = t,
            _ => {}
        }
    }
    if public.modulus.is_empty() || public.exponent.is_empty() {
        return Err(HsmError::Token(format!(
            "{label} in the {} token is not an RSA public key",
            token.region()
        )));
    }
    Ok(public)
}

/// Creates the transport key pair of `token` (after removing a half-present one).
fn generate_transport_pair(token: &RegionToken) -> Result<(), HsmError> {
    let region = token.region();
    let private_label = transport_private_label(region);
    let public_label = transport_public_label(region);
    token.destroy(&private_label)?;
    token.destroy(&public_label)?;
    let id = private_label.as_bytes().to_vec();
    let public = vec![
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::ModulusBits(TRANSPORT_KEY_BITS.into()),
        Attribute::PublicExponent(PUBLIC_EXPONENT.to_vec()),
        // Only a carrier of the public values: the trusted copies in peer tokens wrap.
        Attribute::Encrypt(false),
        Attribute::Verify(false),
        Attribute::VerifyRecover(false),
        Attribute::Wrap(false),
        Attribute::Derive(false),
        Attribute::Modifiable(false),
        Attribute::Copyable(false),
        Attribute::Id(id.clone()),
    ];
    let private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Unwrap(true),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::SignRecover(false),
        Attribute::Derive(false),
        // Never to become a decryption key: OAEP blobs it unwraps must stay in the token.
        Attribute::Modifiable(false),
        Attribute::Copyable(false),
        Attribute::Id(id),
    ];
    let started = std::time::Instant::now();
    token.generate_key_pair(
        &Mechanism::RsaPkcsKeyPairGen,
        (&public_label, public),
        (&private_label, private),
    )?;
    tracing::info!(
        %region,
        ms = started.elapsed().as_millis() as u64,
        "generated the RSA-{TRANSPORT_KEY_BITS} transport key pair"
    );
    Ok(())
}

/// `peer`'s public transport key as a trusted object in another token (SO only).
fn trusted_public_template(peer: Region, public: &RsaPublic) -> Vec<Attribute> {
    let label = transport_public_label(peer);
    vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::RSA),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Trusted(true),
        Attribute::Wrap(true),
        Attribute::Encrypt(false),
        Attribute::Verify(false),
        Attribute::VerifyRecover(false),
        Attribute::Derive(false),
        Attribute::Modifiable(false),
        Attribute::Copyable(false),
        Attribute::Modulus(public.modulus.clone()),
        Attribute::PublicExponent(public.exponent.clone()),
        Attribute::Id(label.as_bytes().to_vec()),
        Attribute::Label(label.into_bytes()),
    ]
}

/// `kek/<from>-><to>` in the sending token (generated by the SO).
fn sending_kek_template(from: Region, to: Region) -> Vec<Attribute> {
    let label = kek_label(from, to);
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen(32.into()),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Sensitive(true),
        // Extractable so it can be wrapped once for its receiver; only under a trusted key.
        Attribute::Extractable(true),
        Attribute::WrapWithTrusted(true),
        Attribute::Trusted(true),
        Attribute::Wrap(true),
        Attribute::Unwrap(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
        // A public object: without this, any session could make it an unwrapping key.
        Attribute::Modifiable(false),
        Attribute::Copyable(false),
        Attribute::Id(label.as_bytes().to_vec()),
        Attribute::Label(label.into_bytes()),
    ]
}

/// `kek/<from>-><to>` in the receiving token (unwrapped by the user; the label is added by
/// [`RegionToken::unwrap_unless_present`]).
fn receiving_kek_template(from: Region, to: Region) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Unwrap(true),
        Attribute::Wrap(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
        // No CKA_MODIFIABLE/CKA_COPYABLE here: SoftHSM 2.6.1 answers C_UnwrapKey with
        // CKR_ATTRIBUTE_READ_ONLY when the template sets them.
        Attribute::Id(kek_label(from, to).into_bytes()),
    ]
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
            .map(|worker| {
                worker.join().map_err(|_| {
                    HsmError::Module("a key transport setup thread panicked".to_string())
                })?
            })
            .collect()
    })
}

/// Creates whatever transport objects are missing or stale for the served `regions`
/// (see the module documentation). Every token must be open with the user logged in.
/// While a token's SO works, that token's user is logged out: startup only.
pub fn ensure(
    tokens: &HashMap<Region, Arc<RegionToken>>,
    regions: &[Region],
    so_pin: &str,
) -> Result<TransportSetup, HsmError> {
    let started = std::time::Instant::now();
    let mut report = TransportSetup::default();
    let linked: Vec<&RegionToken> = regions
        .iter()
        .filter(|r| peers(regions, **r).next().is_some())
        .map(|r| token(tokens, *r))
        .collect::<Result<_, _>>()?;
    if linked.is_empty() {
        return Ok(report);
    }

    // 1. Transport key pairs (user).
    let missing_pairs: Vec<&RegionToken> = linked
        .iter()
        .copied()
        .filter(|t| {
            !(t.has_object(&transport_private_label(t.region()))
                && t.has_object(&transport_public_label(t.region())))
        })
        .collect();
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

    // 2. Trusted peer public keys and sending KEKs (Security Officer of the sender).
    let mut fresh_keks: HashSet<(Region, Region)> = HashSet::new();
    for (t, (imported, generated)) in linked.iter().zip(in_parallel(&linked, |t| {
        sender_setup(t, regions, &publics, so_pin)
    })?) {
        report.public_keys_trusted += imported;
        report.keks_generated += generated.len();
        fresh_keks.extend(generated.into_iter().map(|to| (t.region(), to)));
    }
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "sending KEKs in place"
    );

    // 3. Deliver each KEK to its receiver.
    report.keks_delivered = in_parallel(&linked, |t| deliver_to(tokens, regions, t, &fresh_keks))?
        .into_iter()
        .sum();
    Ok(report)
}

/// The sender side of `t` (SO): imports missing or stale trusted public keys of its peers
/// and generates its missing sending KEKs. Returns how many public keys it imported and
/// the peers it generated a new KEK for.
fn sender_setup(
    t: &RegionToken,
    regions: &[Region],
    publics: &HashMap<Region, RsaPublic>,
    so_pin: &str,
) -> Result<(usize, Vec<Region>), HsmError> {
    let from = t.region();
    let public_of = |to: Region| {
        publics
            .get(&to)
            .ok_or_else(|| HsmError::Token(format!("no transport public key read for {to}")))
    };
    let mut stale = Vec::new();
    let mut import = Vec::new();
    let mut generate = Vec::new();
    for to in peers(regions, from) {
        let wanted = public_of(to)?;
        let label = transport_public_label(to);
        if t.has_object(&label) {
            let held = read_rsa_public(t, &label)?;
            if held.modulus != wanted.modulus || held.exponent != wanted.exponent || !held.trusted {
                tracing::warn!(region = %from, %label, "replacing a stale trusted transport key");
                stale.push(t.handle(&label)?);
                import.push(to);
            }
        } else {
            import.push(to);
        }
        if !t.has_object(&kek_label(from, to)) {
            generate.push(to);
        }
    }
    if import.is_empty() && generate.is_empty() {
        return Ok((0, generate));
    }
    t.with_so_login(so_pin, |s| {
        for handle in stale {
            s.destroy_object(handle)
                .map_err(t.p11("C_DestroyObject(SO)"))?;
        }
        for to in &import {
            s.create_object(&trusted_public_template(*to, public_of(*to)?))
                .map_err(t.p11("C_CreateObject(SO)"))?;
        }
        for to in &generate {
            s.generate_key(&Mechanism::AesKeyGen, &sending_kek_template(from, *to))
                .map_err(t.p11("C_GenerateKey(SO)"))?;
        }
        Ok(())
    })?;
    Ok((import.len(), generate))
}

/// The receiver side of `receiver` (user): every peer's KEK that it lacks is wrapped in
/// the peer under `receiver`'s trusted public key and unwrapped here with the private
/// transport key. A copy of a KEK its sender just replaced is destroyed first. Returns how
/// many KEKs it received.
fn deliver_to(
    tokens: &HashMap<Region, Arc<RegionToken>>,
    regions: &[Region],
    receiver: &RegionToken,
    fresh_keks: &HashSet<(Region, Region)>,
) -> Result<usize, HsmError> {
    let to = receiver.region();
    let mut delivered = 0;
    for from in peers(regions, to) {
        let sender = token(tokens, from)?;
        let label = kek_label(from, to);
        if fresh_keks.contains(&(from, to)) {
            receiver.destroy(&label)?;
        }
        if receiver.has_object(&label) {
            continue;
        }
        let wrapped = sender.wrap(&oaep(), &transport_public_label(to), &label)?;
        if receiver.unwrap_unless_present(
            &oaep(),
            &transport_private_label(to),
            &wrapped,
            &label,
            receiving_kek_template(from, to),
        )? {
            delivered += 1;
        }
    }
    Ok(delivered)
}

/// Copies the multi-Region material `label` from `from`'s token into `to`'s: wrapped in
/// `from` under `kek/<from>-><to>` (CKM_AES_KEY_WRAP_PAD), unwrapped in `to` under its
/// copy of that key, as a token object with the same label, CKA_ID, class, key type and
/// usage attributes, and the multi-Region protection (sensitive, extractable only under a
/// trusted key). Does nothing when `to` already holds `label`. The caller checked that the
/// Regions share a partition.
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
    let attrs = from.attributes(
        label,
        &[
            AttributeType::Class,
            AttributeType::KeyType,
            AttributeType::Id,
            AttributeType::Extractable,
            AttributeType::WrapWithTrusted,
        ],
    )?;
    for attr in attrs {
        match attr {
            Attribute::Class(c) => class = Some(c),
            Attribute::KeyType(k) => key_type = Some(k),
            Attribute::Id(i) => id = Some(i),
            Attribute::Extractable(e) => extractable = e,
            Attribute::WrapWithTrusted(w) => wrap_with_trusted = w,
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
    let usage: &[AttributeType] = if class == ObjectClass::SECRET_KEY {
        &[
            AttributeType::Encrypt,
            AttributeType::Decrypt,
            AttributeType::Sign,
            AttributeType::Verify,
            AttributeType::Wrap,
            AttributeType::Unwrap,
            AttributeType::Derive,
        ]
    } else if class == ObjectClass::PRIVATE_KEY {
        &[
            AttributeType::Decrypt,
            AttributeType::Sign,
            AttributeType::SignRecover,
            AttributeType::Unwrap,
            AttributeType::Derive,
        ]
    } else {
        return Err(not_replicable());
    };
    let mut template = vec![
        Attribute::Class(class),
        Attribute::KeyType(key_type),
        Attribute::Id(id.unwrap_or_else(|| label.as_bytes().to_vec())),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
        Attribute::WrapWithTrusted(true),
    ];
    let usage_values = from.attributes(label, usage)?;
    if usage_values.len() != usage.len() {
        return Err(HsmError::Token(format!(
            "the {} token did not reveal every usage attribute of {label}",
            from.region()
        )));
    }
    template.extend(usage_values);
    let kek = kek_label(from.region(), to.region());
    let wrapped = from.wrap(&Mechanism::AesKeyWrapPad, &kek, label)?;
    to.unwrap_unless_present(&Mechanism::AesKeyWrapPad, &kek, &wrapped, label, template)?;
    Ok(())
}
