//! Rotation of imported key material (issue 6 point 4): ImportKeyMaterial with ImportType
//! NEW_KEY_MATERIAL after the first import adds material that is PENDING_ROTATION until
//! RotateKeyOnDemand makes it current; EXISTING_KEY_MATERIAL re-imports; the recorded AWS
//! errors; and the multi-Region import-then-rotate sequence
//! (PENDING_MULTI_REGION_IMPORT_AND_ROTATION until every replica has the material).
//!
//! Deleting material pending rotation (DeleteImportedKeyMaterial with its KeyMaterialId)
//! dissociates it: from a single-Region key or a multi-Region primary it leaves that key
//! and every replica (metadata and token objects, checked from outside with PKCS#11);
//! from a replica it leaves that replica only.
//!
//! Every material permanently associated with a key (current or `NON_CURRENT`) decides
//! its state: deleting or expiring any of them makes the key `PendingImport` (refusing
//! Encrypt and Decrypt) until it is imported again; each Region's key decides from its
//! own imported copies.
//!
//! Material is wrapped as a user would wrap it, with the `rsa` crate (RSA-OAEP), never
//! with the server's code.

mod common;

use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, ImportState, ImportType, IncludeKeyMaterial,
    KeyMaterialState, KeyState, RotationType, RotationsListEntry, WrappingKeySpec,
};
use aws_sdk_kms::Client;
use common::wrapping::wrap;
use common::*;

/// The PKCS#11 child process of `common::pkcs11` (does nothing in a normal run).
#[test]
#[ignore = "a child process started by common::pkcs11::run"]
fn pkcs11_child() {
    common::pkcs11::child_main();
}

const PRIMARY: &str = "us-east-1";
const WEST: &str = "us-west-2";
const EU: &str = "eu-west-1";

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

/// One import request: fresh parameters (RSAES_OAEP_SHA_256, RSA_2048), the material
/// wrapped client-side, no expiry unless `valid_to`.
fn import_request(
    kms: &Client,
    key_id: &str,
    token: Vec<u8>,
    wrapped: Vec<u8>,
    valid_to: Option<f64>,
) -> aws_sdk_kms::operation::import_key_material::builders::ImportKeyMaterialFluentBuilder {
    let b = kms
        .import_key_material()
        .key_id(key_id)
        .import_token(Blob::new(token))
        .encrypted_key_material(Blob::new(wrapped));
    match valid_to {
        Some(v) => b
            .expiration_model(ExpirationModelType::KeyMaterialExpires)
            .valid_to(DateTime::from_secs_f64(v)),
        None => b.expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire),
    }
}

/// GetParametersForImport and the material wrapped under its public key.
async fn wrapped(kms: &Client, key_id: &str, material: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let p = kms
        .get_parameters_for_import()
        .key_id(key_id)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await
        .expect("GetParametersForImport");
    let blob = wrap(
        p.public_key().unwrap().as_ref(),
        "RSAES_OAEP_SHA_256",
        material,
    );
    (p.import_token().unwrap().as_ref().to_vec(), blob)
}

/// Imports `material` with `import_type` (None: the default); returns the KeyMaterialId.
async fn import(
    kms: &Client,
    key_id: &str,
    material: &[u8],
    import_type: Option<ImportType>,
) -> String {
    let (token, blob) = wrapped(kms, key_id, material).await;
    let out = import_request(kms, key_id, token, blob, None)
        .set_import_type(import_type.clone())
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "ImportKeyMaterial {import_type:?}: {} {}",
                err_code(&e),
                err_message(&e)
            )
        });
    out.key_material_id().expect("KeyMaterialId").to_string()
}

async fn rotations(kms: &Client, key_id: &str, all: bool) -> Vec<RotationsListEntry> {
    let mut b = kms.list_key_rotations().key_id(key_id);
    if all {
        b = b.include_key_material(IncludeKeyMaterial::AllKeyMaterial);
    }
    b.send()
        .await
        .unwrap_or_else(|e| panic!("ListKeyRotations: {} {}", err_code(&e), err_message(&e)))
        .rotations()
        .to_vec()
}

/// (KeyMaterialId, KeyMaterialState, ImportState) of every material.
async fn material_states(
    kms: &Client,
    key_id: &str,
) -> Vec<(String, KeyMaterialState, ImportState)> {
    rotations(kms, key_id, true)
        .await
        .iter()
        .map(|r| {
            (
                r.key_material_id().unwrap().to_string(),
                r.key_material_state().cloned().expect("KeyMaterialState"),
                r.import_state().cloned().expect("ImportState"),
            )
        })
        .collect()
}

/// The older material `old` of a key rotated to `current` is no longer imported: listed
/// as NON_CURRENT and PENDING_IMPORT beside the imported current one, and its object is
/// gone from the primary's token.
async fn assert_older_material_gone(
    server: &Server,
    kms: &Client,
    key: &str,
    old: &str,
    current: &str,
) {
    assert_eq!(
        material_states(kms, key).await,
        vec![
            (
                old.to_string(),
                KeyMaterialState::NonCurrent,
                ImportState::PendingImport
            ),
            (
                current.to_string(),
                KeyMaterialState::Current,
                ImportState::Imported
            ),
        ]
    );
    assert_eq!(objects_in_token(server, PRIMARY, key, old), 0);
}

// ---------------------------------------------------------------------------------------
// Single-Region keys
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn new_key_material_is_pending_rotation_until_rotate_key_on_demand() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let key = create_external(&kms, false).await;
    let arn = Server::key_arn(PRIMARY, &key);
    let m1 = random_bytes(32);
    let m2 = random_bytes(32);
    let m3 = random_bytes(32);

    // First import: NEW_KEY_MATERIAL by default, current at once.
    let id1 = import(&kms, &key, &m1, None).await;
    let md = describe(&kms, &key).await;
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert_eq!(md.current_key_material_id(), Some(id1.as_str()));
    assert_eq!(
        md.expiration_model(),
        Some(&ExpirationModelType::KeyMaterialDoesNotExpire)
    );
    let ct1 = encrypt(&kms, &key, b"under the first material").await;

    // Nothing pending: recorded test_rotate_key_on_demand_raises_for_no_pending_key_material.
    let e = must_fail(
        kms.rotate_key_on_demand().key_id(&key).send().await,
        "rotation without pending material",
    );
    assert_eq!(err_code(&e), "KMSInvalidStateException");
    assert_eq!(
        err_message(&e),
        format!("No available key material pending rotation for the key: {arn}.")
    );
    // ListKeyRotations works for imported keys: the first material only with ALL.
    assert!(rotations(&kms, &key, false).await.is_empty());
    assert_eq!(
        material_states(&kms, &key).await,
        vec![(
            id1.clone(),
            KeyMaterialState::Current,
            ImportState::Imported
        )]
    );

    // New material: pending rotation; the current material is unchanged.
    let id2 = import(&kms, &key, &m2, Some(ImportType::NewKeyMaterial)).await;
    assert_ne!(id1, id2);
    assert_eq!(current_material(&kms, &key).await, id1);
    assert_eq!(
        material_states(&kms, &key).await,
        vec![
            (
                id1.clone(),
                KeyMaterialState::Current,
                ImportState::Imported
            ),
            (
                id2.clone(),
                KeyMaterialState::PendingRotation,
                ImportState::Imported
            ),
        ]
    );
    let pending = &rotations(&kms, &key, true).await[1];
    assert!(pending.rotation_type().is_none() && pending.rotation_date().is_none());
    let ct1b = encrypt(&kms, &key, b"still the first").await;
    assert_eq!(
        decrypt(&kms, &ct1b).await.1,
        id1,
        "pending material does not encrypt"
    );

    // Another new one while one is pending: recorded
    // test_import_key_material_raises_if_there_is_already_key_material_pending.
    let (token, blob) = wrapped(&kms, &key, &m3).await;
    let e = must_fail(
        import_request(&kms, &key, token, blob, None)
            .import_type(ImportType::NewKeyMaterial)
            .send()
            .await,
        "second pending material",
    );
    assert_eq!(err_code(&e), "KMSInvalidStateException");
    let msg = err_message(&e);
    let prefix = "New key material (id: ";
    let suffix = format!(
        ") cannot be imported into KMS key {arn}, because another key material (id: {id2}) is pending rotation."
    );
    assert!(msg.starts_with(prefix) && msg.ends_with(&suffix), "{msg}");
    let id3 = &msg[prefix.len()..msg.len() - suffix.len()];
    assert_eq!(id3.len(), 64);
    assert!(id3 != id1 && id3 != id2);

    // Rotate: the pending material becomes current (recorded
    // test_rotate_key_on_demand_updates_current_key_material_for_external_keys).
    let out = kms
        .rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .expect("RotateKeyOnDemand EXTERNAL");
    assert_eq!(out.key_id(), Some(arn.as_str()));
    wait_for_current_material(&kms, &key, &id2).await;
    let md = describe(&kms, &key).await;
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert_eq!(
        md.expiration_model(),
        Some(&ExpirationModelType::KeyMaterialDoesNotExpire)
    );
    let ct2 = encrypt(&kms, &key, b"under the second material").await;
    // Previous material still decrypts (recorded
    // test_rotate_key_on_demand_for_external_keys_decrypts_with_previous_material).
    assert_eq!(
        decrypt(&kms, &ct1).await,
        (b"under the first material".to_vec(), id1.clone())
    );
    assert_eq!(
        decrypt(&kms, &ct2).await,
        (b"under the second material".to_vec(), id2.clone())
    );
    let listed = rotations(&kms, &key, false).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key_material_id(), Some(id2.as_str()));
    assert_eq!(listed[0].rotation_type(), Some(&RotationType::OnDemand));
    assert!(listed[0].rotation_date().is_some());
    assert_eq!(listed[0].import_state(), Some(&ImportState::Imported));
    assert_eq!(
        listed[0].expiration_model(),
        Some(&ExpirationModelType::KeyMaterialDoesNotExpire)
    );
    assert_eq!(
        material_states(&kms, &key).await,
        vec![
            (
                id1.clone(),
                KeyMaterialState::NonCurrent,
                ImportState::Imported
            ),
            (
                id2.clone(),
                KeyMaterialState::Current,
                ImportState::Imported
            ),
        ]
    );
    // Automatic rotation stays refused for imported material.
    let e = must_fail(
        kms.enable_key_rotation().key_id(&key).send().await,
        "EnableKeyRotation EXTERNAL",
    );
    assert_eq!(err_code(&e), "UnsupportedOperationException");
    assert_eq!(
        err_message(&e),
        format!("{arn} origin is EXTERNAL which is not valid for this operation.")
    );

    // The next new material is accepted now, with a description.
    let (token, blob) = wrapped(&kms, &key, &m3).await;
    let out = import_request(&kms, &key, token, blob, None)
        .import_type(ImportType::NewKeyMaterial)
        .key_material_description("third")
        .send()
        .await
        .expect("third material");
    assert_eq!(out.key_material_id(), Some(id3));
    let all = rotations(&kms, &key, true).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].key_material_description(), Some("third"));
    assert_eq!(
        all[2].key_material_state(),
        Some(&KeyMaterialState::PendingRotation)
    );
}

#[tokio::test]
async fn existing_key_material_reimports_and_new_key_material_must_be_new() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let key = create_external(&kms, false).await;
    let arn = Server::key_arn(PRIMARY, &key);
    let m1 = random_bytes(32);
    let m2 = random_bytes(32);
    let id1 = import(&kms, &key, &m1, None).await;
    let id2 = import(&kms, &key, &m2, Some(ImportType::NewKeyMaterial)).await;
    kms.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    wait_for_current_material(&kms, &key, &id2).await;

    // Re-import the older material, naming it (KeyMaterialId is checked).
    let (token, blob) = wrapped(&kms, &key, &m1).await;
    let out = import_request(&kms, &key, token, blob, None)
        .import_type(ImportType::ExistingKeyMaterial)
        .key_material_id(&id1)
        .send()
        .await
        .expect("EXISTING_KEY_MATERIAL with KeyMaterialId");
    assert_eq!(out.key_material_id(), Some(id1.as_str()));
    // Re-importing an older material does not make it current.
    assert_eq!(current_material(&kms, &key).await, id2);

    // The wrong KeyMaterialId for the material.
    let (token, blob) = wrapped(&kms, &key, &m1).await;
    let e = must_fail(
        import_request(&kms, &key, token, blob, None)
            .import_type(ImportType::ExistingKeyMaterial)
            .key_material_id(&id2)
            .send()
            .await,
        "wrong KeyMaterialId",
    );
    assert_err(&e, "IncorrectKeyMaterialException", &[&id2]);
    // KeyMaterialId with NEW_KEY_MATERIAL.
    let (token, blob) = wrapped(&kms, &key, &random_bytes(32)).await;
    let e = must_fail(
        import_request(&kms, &key, token, blob, None)
            .import_type(ImportType::NewKeyMaterial)
            .key_material_id(&id1)
            .send()
            .await,
        "KeyMaterialId with NEW_KEY_MATERIAL",
    );
    assert_err(&e, "ValidationException", &["NEW_KEY_MATERIAL"]);
    // Material the key never had is not EXISTING.
    let (token, blob) = wrapped(&kms, &key, &random_bytes(32)).await;
    let e = must_fail(
        import_request(&kms, &key, token, blob, None)
            .import_type(ImportType::ExistingKeyMaterial)
            .send()
            .await,
        "unknown material as EXISTING",
    );
    assert_err(&e, "IncorrectKeyMaterialException", &[&arn]);
    // Material the key already has is not NEW.
    let (token, blob) = wrapped(&kms, &key, &m1).await;
    let e = must_fail(
        import_request(&kms, &key, token, blob, None)
            .import_type(ImportType::NewKeyMaterial)
            .send()
            .await,
        "known material as NEW",
    );
    assert_err(&e, "IncorrectKeyMaterialException", &[&arn, &id1]);

    // Deleting the current material: PendingImport, CurrentKeyMaterialId stays, and the
    // list shows it as PENDING_IMPORT. Re-importing it brings the key back.
    let ct2 = encrypt(&kms, &key, b"second").await;
    let out = kms
        .delete_imported_key_material()
        .key_id(&key)
        .send()
        .await
        .expect("DeleteImportedKeyMaterial");
    assert_eq!(out.key_material_id(), Some(id2.as_str()));
    let md = describe(&kms, &key).await;
    assert_eq!(md.key_state(), Some(&KeyState::PendingImport));
    assert_eq!(md.current_key_material_id(), Some(id2.as_str()));
    assert_eq!(
        material_states(&kms, &key).await,
        vec![
            (
                id1.clone(),
                KeyMaterialState::NonCurrent,
                ImportState::Imported
            ),
            (
                id2.clone(),
                KeyMaterialState::Current,
                ImportState::PendingImport
            ),
        ]
    );
    assert_eq!(import(&kms, &key, &m2, None).await, id2);
    let md = describe(&kms, &key).await;
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert_eq!(md.current_key_material_id(), Some(id2.as_str()));
    assert_eq!(decrypt(&kms, &ct2).await.1, id2);
}

#[tokio::test]
async fn pending_material_expires_on_its_own_and_cannot_then_be_rotated_in() {
    let server = Server::start_with(&["--admin-api"]);
    let kms = server.client(PRIMARY).await;
    let key = create_external(&kms, false).await;
    let now = server.advance_clock(0.0).await;
    let m1 = random_bytes(32);
    let (token, blob) = wrapped(&kms, &key, &m1).await;
    let id1 = import_request(
        &kms,
        &key,
        token,
        blob,
        Some((now + 10.0 * 86_400.0).floor()),
    )
    .send()
    .await
    .expect("first import, 10 days")
    .key_material_id()
    .unwrap()
    .to_string();
    let (token, blob) = wrapped(&kms, &key, &random_bytes(32)).await;
    let id2 = import_request(
        &kms,
        &key,
        token,
        blob,
        Some((now + 2.0 * 86_400.0).floor()),
    )
    .import_type(ImportType::NewKeyMaterial)
    .send()
    .await
    .expect("pending import, 2 days")
    .key_material_id()
    .unwrap()
    .to_string();
    let ct = encrypt(&kms, &key, b"first").await;

    // Day 3: the pending material is gone, the key keeps working with the first.
    server.advance_clock(3.0 * 86_400.0).await;
    let states = wait_until("the pending material expires", || async {
        let states = material_states(&kms, &key).await;
        if states[1].2 == ImportState::PendingImport {
            Ok(states)
        } else {
            Err(format!("{states:?}"))
        }
    })
    .await;
    assert_eq!(states[1].0, id2);
    assert_eq!(
        describe(&kms, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt(&kms, &ct).await.1, id1);
    let e = must_fail(
        kms.rotate_key_on_demand().key_id(&key).send().await,
        "rotate to expired material",
    );
    assert_eq!(err_code(&e), "KMSInvalidStateException");

    // Day 11: the first material's own expiry still happens.
    server.advance_clock(8.0 * 86_400.0).await;
    wait_for_state(&kms, &key, KeyState::PendingImport).await;
}

#[tokio::test]
async fn pending_material_and_its_rotation_survive_kill9() {
    let mut server = Server::start();
    let kms = server.client(PRIMARY).await;
    let key = create_external(&kms, false).await;
    let m1 = random_bytes(32);
    let id1 = import(&kms, &key, &m1, None).await;
    let ct1 = encrypt(&kms, &key, b"one").await;
    let id2 = import(
        &kms,
        &key,
        &random_bytes(32),
        Some(ImportType::NewKeyMaterial),
    )
    .await;

    // The pending material's token object is not an orphan for startup reconciliation.
    server.kill9();
    server.restart();
    let kms = server.client(PRIMARY).await;
    assert_eq!(current_material(&kms, &key).await, id1);
    assert_eq!(
        material_states(&kms, &key).await[1],
        (
            id2.clone(),
            KeyMaterialState::PendingRotation,
            ImportState::Imported
        )
    );

    kms.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    server.kill9();
    server.restart();
    let kms = server.client(PRIMARY).await;
    wait_for_current_material(&kms, &key, &id2).await;
    assert_eq!(
        describe(&kms, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt(&kms, &ct1).await, (b"one".to_vec(), id1));
    let ct2 = encrypt(&kms, &key, b"two").await;
    assert_eq!(decrypt(&kms, &ct2).await, (b"two".to_vec(), id2));
    assert_eq!(rotations(&kms, &key, false).await.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Multi-Region keys
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn multi_region_import_then_rotate_sequence() {
    let server = Server::start();
    let east = server.client(PRIMARY).await;
    let west = server.client(WEST).await;
    let eu = server.client(EU).await;
    let key = create_external(&east, true).await;
    let m1 = random_bytes(32);
    let m2 = random_bytes(32);

    // First material into the primary, then replicas, each importing the same material.
    let id1 = import(&east, &key, &m1, None).await;
    for (c, r) in [(&west, WEST), (&eu, EU)] {
        east.replicate_key()
            .key_id(&key)
            .replica_region(r)
            .send()
            .await
            .expect("ReplicateKey");
        wait_for_state(c, &key, KeyState::PendingImport).await;
        assert_eq!(import(c, &key, &m1, None).await, id1);
        wait_for_state(c, &key, KeyState::Enabled).await;
    }
    let clients = [(&east, PRIMARY), (&west, WEST), (&eu, EU)];
    let mut made = Vec::new();
    for (c, r) in clients {
        made.push((id1.clone(), encrypt(c, &key, r.as_bytes()).await, r));
    }

    // New material into the primary: pending multi-Region import and rotation.
    let id2 = import(&east, &key, &m2, Some(ImportType::NewKeyMaterial)).await;
    assert_eq!(
        material_states(&east, &key).await,
        vec![
            (
                id1.clone(),
                KeyMaterialState::Current,
                ImportState::Imported
            ),
            (
                id2.clone(),
                KeyMaterialState::PendingMultiRegionImportAndRotation,
                ImportState::Imported
            ),
        ]
    );
    // Replicas know it is coming, and have not imported it.
    assert_eq!(
        material_states(&west, &key).await[1],
        (
            id2.clone(),
            KeyMaterialState::PendingMultiRegionImportAndRotation,
            ImportState::PendingImport
        )
    );
    let e = must_fail(
        east.rotate_key_on_demand().key_id(&key).send().await,
        "rotate before the replicas imported",
    );
    assert_eq!(err_code(&e), "KMSInvalidStateException");
    assert!(err_message(&e).contains(&id2), "{}", err_message(&e));

    // New material cannot go into a replica directly; only the primary's.
    let (token, blob) = wrapped(&west, &key, &random_bytes(32)).await;
    let e = must_fail(
        import_request(&west, &key, token, blob, None)
            .import_type(ImportType::NewKeyMaterial)
            .send()
            .await,
        "NEW_KEY_MATERIAL into a replica",
    );
    assert_err(
        &e,
        "UnsupportedOperationException",
        &[&Server::key_arn(WEST, &key), "primary"],
    );
    let (token, blob) = wrapped(&west, &key, &random_bytes(32)).await;
    let e = must_fail(
        import_request(&west, &key, token, blob, None)
            .import_type(ImportType::ExistingKeyMaterial)
            .send()
            .await,
        "other material into a replica",
    );
    assert_eq!(err_code(&e), "IncorrectKeyMaterialException");

    // One replica imports it: still pending on the family.
    assert_eq!(
        import(&west, &key, &m2, Some(ImportType::ExistingKeyMaterial)).await,
        id2
    );
    assert_eq!(
        material_states(&west, &key).await[1],
        (
            id2.clone(),
            KeyMaterialState::PendingMultiRegionImportAndRotation,
            ImportState::Imported
        )
    );
    assert_eq!(current_material(&west, &key).await, id1);
    assert!(east
        .rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .is_err());

    // The last replica imports it: PENDING_ROTATION everywhere.
    assert_eq!(
        import(&eu, &key, &m2, Some(ImportType::ExistingKeyMaterial)).await,
        id2
    );
    for (c, r) in clients {
        assert_eq!(
            material_states(c, &key).await,
            vec![
                (
                    id1.clone(),
                    KeyMaterialState::Current,
                    ImportState::Imported
                ),
                (
                    id2.clone(),
                    KeyMaterialState::PendingRotation,
                    ImportState::Imported
                ),
            ],
            "{r}"
        );
        let ct = encrypt(c, &key, r.as_bytes()).await;
        assert_eq!(
            decrypt(c, &ct).await.1,
            id1,
            "pending material does not encrypt in {r}"
        );
    }

    // Rotation only through the primary, then every Region rotates.
    let e = must_fail(
        eu.rotate_key_on_demand().key_id(&key).send().await,
        "rotate on a replica",
    );
    assert_eq!(err_code(&e), "UnsupportedOperationException");
    east.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .expect("rotate");
    for (c, _) in clients {
        wait_for_current_material(c, &key, &id2).await;
    }
    for (c, r) in clients {
        made.push((id2.clone(), encrypt(c, &key, r.as_bytes()).await, r));
        let listed = rotations(c, &key, false).await;
        assert_eq!(listed.len(), 1, "{r}");
        assert_eq!(listed[0].key_material_id(), Some(id2.as_str()));
        assert_eq!(listed[0].rotation_type(), Some(&RotationType::OnDemand));
        assert_eq!(
            listed[0].key_material_state(),
            Some(&KeyMaterialState::Current)
        );
    }
    // Every ciphertext of both generations decrypts in every Region.
    for (c, r) in clients {
        for (id, ct, from) in &made {
            assert_eq!(
                decrypt(c, ct).await,
                (from.as_bytes().to_vec(), id.clone()),
                "ciphertext from {from} in {r}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_created_after_a_rotation_needs_the_current_material() {
    let server = Server::start();
    let east = server.client(PRIMARY).await;
    let west = server.client(WEST).await;
    let key = create_external(&east, true).await;
    let m1 = random_bytes(32);
    let m2 = random_bytes(32);
    let id1 = import(&east, &key, &m1, None).await;
    let ct1 = encrypt(&east, &key, b"one").await;
    // A primary without replicas rotates on its own.
    let id2 = import(&east, &key, &m2, Some(ImportType::NewKeyMaterial)).await;
    assert_eq!(
        material_states(&east, &key).await[1].1,
        KeyMaterialState::PendingRotation
    );
    east.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    wait_for_current_material(&east, &key, &id2).await;
    let ct2 = encrypt(&east, &key, b"two").await;

    east.replicate_key()
        .key_id(&key)
        .replica_region(WEST)
        .send()
        .await
        .expect("ReplicateKey");
    wait_for_state(&west, &key, KeyState::PendingImport).await;
    assert_eq!(
        material_states(&west, &key).await,
        vec![
            (
                id1.clone(),
                KeyMaterialState::NonCurrent,
                ImportState::PendingImport
            ),
            (
                id2.clone(),
                KeyMaterialState::Current,
                ImportState::PendingImport
            ),
        ]
    );
    // The older material alone does not enable it: the current one is missing.
    assert_eq!(import(&west, &key, &m1, None).await, id1);
    assert_eq!(
        describe(&west, &key).await.key_state(),
        Some(&KeyState::PendingImport)
    );
    assert_eq!(
        import(&west, &key, &m2, Some(ImportType::ExistingKeyMaterial)).await,
        id2
    );
    assert_eq!(
        describe(&west, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(current_material(&west, &key).await, id2);
    assert_eq!(decrypt(&west, &ct1).await, (b"one".to_vec(), id1));
    assert_eq!(decrypt(&west, &ct2).await, (b"two".to_vec(), id2.clone()));
    let ct3 = encrypt(&west, &key, b"three").await;
    assert_eq!(decrypt(&east, &ct3).await, (b"three".to_vec(), id2));
}

// ---------------------------------------------------------------------------------------
// Deleting material pending rotation
// ---------------------------------------------------------------------------------------

/// How many token objects of `region`'s token hold material `material_id` of `key_id`,
/// counted by another process with PKCS#11.
fn objects_in_token(server: &Server, region: &str, key_id: &str, material_id: &str) -> usize {
    let label = format!("{key_id}/{material_id}");
    common::pkcs11::run(
        "count-labelled",
        &server.data_dir(),
        &[("region", region), ("labels", &label)],
    )
    .get(&label)
    .parse()
    .expect("a count")
}

/// A multi-Region EXTERNAL key with replicas in WEST and EU, material `m1` imported into
/// all three; returns the key id and `m1`'s KeyMaterialId.
async fn external_family(
    east: &Client,
    replicas: [(&Client, &str); 2],
    m1: &[u8],
) -> (String, String) {
    let key = create_external(east, true).await;
    let id1 = import(east, &key, m1, None).await;
    for (c, r) in replicas {
        east.replicate_key()
            .key_id(&key)
            .replica_region(r)
            .send()
            .await
            .expect("ReplicateKey");
        wait_for_state(c, &key, KeyState::PendingImport).await;
        assert_eq!(import(c, &key, m1, None).await, id1);
        wait_for_state(c, &key, KeyState::Enabled).await;
    }
    (key, id1)
}

async fn delete_material(kms: &Client, key_id: &str, material_id: &str) {
    let out = kms
        .delete_imported_key_material()
        .key_id(key_id)
        .key_material_id(material_id)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "DeleteImportedKeyMaterial {material_id}: {} {}",
                err_code(&e),
                err_message(&e)
            )
        });
    assert_eq!(out.key_material_id(), Some(material_id));
    assert!(
        out.key_id()
            .is_some_and(|arn| arn.ends_with(&format!(":key/{key_id}"))),
        "{:?}",
        out.key_id()
    );
}

#[tokio::test]
async fn pending_material_deleted_from_a_single_region_key_can_be_replaced() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let key = create_external(&kms, false).await;
    let arn = Server::key_arn(PRIMARY, &key);
    let id1 = import(&kms, &key, &random_bytes(32), None).await;
    let ct = encrypt(&kms, &key, b"first").await;
    let id2 = import(
        &kms,
        &key,
        &random_bytes(32),
        Some(ImportType::NewKeyMaterial),
    )
    .await;
    assert_eq!(objects_in_token(&server, PRIMARY, &key, &id2), 1);

    delete_material(&kms, &key, &id2).await;
    // Not permanently associated: it is gone, the key keeps its state and material.
    assert_eq!(
        material_states(&kms, &key).await,
        vec![(
            id1.clone(),
            KeyMaterialState::Current,
            ImportState::Imported
        )]
    );
    let md = describe(&kms, &key).await;
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert_eq!(md.current_key_material_id(), Some(id1.as_str()));
    assert_eq!(objects_in_token(&server, PRIMARY, &key, &id2), 0);
    assert_eq!(objects_in_token(&server, PRIMARY, &key, &id1), 1);
    assert_eq!(decrypt(&kms, &ct).await, (b"first".to_vec(), id1.clone()));
    let e = must_fail(
        kms.rotate_key_on_demand().key_id(&key).send().await,
        "rotate after the pending material was deleted",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &["No available key material pending rotation", &arn],
    );
    // Its id is no longer the key's.
    let e = must_fail(
        kms.delete_imported_key_material()
            .key_id(&key)
            .key_material_id(&id2)
            .send()
            .await,
        "delete it twice",
    );
    assert_err(&e, "NotFoundException", &[&id2, &arn]);

    // Different material takes its place, then rotates in.
    let id3 = import(
        &kms,
        &key,
        &random_bytes(32),
        Some(ImportType::NewKeyMaterial),
    )
    .await;
    assert_eq!(
        material_states(&kms, &key).await[1],
        (
            id3.clone(),
            KeyMaterialState::PendingRotation,
            ImportState::Imported
        )
    );
    kms.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .expect("rotate to the replacement");
    wait_for_current_material(&kms, &key, &id3).await;
    assert_eq!(decrypt(&kms, &ct).await.1, id1);
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_material_deleted_from_the_primary_leaves_every_replica() {
    let server = Server::start();
    let east = server.client(PRIMARY).await;
    let west = server.client(WEST).await;
    let eu = server.client(EU).await;
    let m1 = random_bytes(32);
    let m2 = random_bytes(32);
    let (key, id1) = external_family(&east, [(&west, WEST), (&eu, EU)], &m1).await;
    let clients = [(&east, PRIMARY), (&west, WEST), (&eu, EU)];

    // New material into the primary and every replica: PENDING_ROTATION everywhere.
    let id2 = import(&east, &key, &m2, Some(ImportType::NewKeyMaterial)).await;
    for (c, _) in [(&west, WEST), (&eu, EU)] {
        assert_eq!(
            import(c, &key, &m2, Some(ImportType::ExistingKeyMaterial)).await,
            id2
        );
    }
    for (c, r) in clients {
        assert_eq!(
            material_states(c, &key).await[1],
            (
                id2.clone(),
                KeyMaterialState::PendingRotation,
                ImportState::Imported
            ),
            "{r}"
        );
        assert_eq!(objects_in_token(&server, r, &key, &id2), 1, "{r}");
    }
    let mut made = Vec::new();
    for (c, r) in clients {
        made.push((encrypt(c, &key, r.as_bytes()).await, r));
    }

    // Deleted from the primary: gone from every key and every token.
    delete_material(&east, &key, &id2).await;
    for (c, r) in clients {
        assert_eq!(
            material_states(c, &key).await,
            vec![(
                id1.clone(),
                KeyMaterialState::Current,
                ImportState::Imported
            )],
            "{r}"
        );
        let md = describe(c, &key).await;
        assert_eq!(md.key_state(), Some(&KeyState::Enabled), "{r}");
        assert_eq!(md.current_key_material_id(), Some(id1.as_str()), "{r}");
        assert_eq!(objects_in_token(&server, r, &key, &id2), 0, "{r}");
        assert_eq!(objects_in_token(&server, r, &key, &id1), 1, "{r}");
    }
    // The current material works in every Region, across Regions.
    for (c, r) in clients {
        let ct = encrypt(c, &key, r.as_bytes()).await;
        made.push((ct, r));
    }
    for (c, r) in clients {
        for (ct, from) in &made {
            assert_eq!(
                decrypt(c, ct).await,
                (from.as_bytes().to_vec(), id1.clone()),
                "ciphertext from {from} in {r}"
            );
        }
    }
    let e = must_fail(
        east.rotate_key_on_demand().key_id(&key).send().await,
        "rotate after the pending material was deleted",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &["No available key material pending rotation"],
    );
    // A replica cannot take the deleted material any more: the primary no longer has it.
    let (token, blob) = wrapped(&west, &key, &m2).await;
    let e = must_fail(
        import_request(&west, &key, token, blob, None)
            .import_type(ImportType::ExistingKeyMaterial)
            .send()
            .await,
        "the deleted material into a replica",
    );
    assert_err(
        &e,
        "IncorrectKeyMaterialException",
        &[&Server::key_arn(WEST, &key)],
    );

    // Different new material takes its place in the family.
    let id3 = import(
        &east,
        &key,
        &random_bytes(32),
        Some(ImportType::NewKeyMaterial),
    )
    .await;
    assert_ne!(id3, id2);
    for (c, r) in clients {
        assert_eq!(
            material_states(c, &key).await[1..],
            [(
                id3.clone(),
                KeyMaterialState::PendingMultiRegionImportAndRotation,
                if r == PRIMARY {
                    ImportState::Imported
                } else {
                    ImportState::PendingImport
                }
            )],
            "{r}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_material_only_in_the_primary_is_deleted_from_the_whole_family() {
    let server = Server::start();
    let east = server.client(PRIMARY).await;
    let west = server.client(WEST).await;
    let eu = server.client(EU).await;
    let m1 = random_bytes(32);
    let m2 = random_bytes(32);
    let (key, id1) = external_family(&east, [(&west, WEST), (&eu, EU)], &m1).await;
    let clients = [(&east, PRIMARY), (&west, WEST), (&eu, EU)];
    let id2 = import(&east, &key, &m2, Some(ImportType::NewKeyMaterial)).await;
    assert_eq!(
        material_states(&west, &key).await[1],
        (
            id2.clone(),
            KeyMaterialState::PendingMultiRegionImportAndRotation,
            ImportState::PendingImport
        )
    );
    assert_eq!(objects_in_token(&server, PRIMARY, &key, &id2), 1);

    delete_material(&east, &key, &id2).await;
    for (c, r) in clients {
        assert_eq!(
            material_states(c, &key).await,
            vec![(
                id1.clone(),
                KeyMaterialState::Current,
                ImportState::Imported
            )],
            "{r}"
        );
        assert_eq!(
            describe(c, &key).await.key_state(),
            Some(&KeyState::Enabled),
            "{r}"
        );
        assert_eq!(objects_in_token(&server, r, &key, &id2), 0, "{r}");
        let ct = encrypt(c, &key, r.as_bytes()).await;
        assert_eq!(
            decrypt(&east, &ct).await,
            (r.as_bytes().to_vec(), id1.clone())
        );
    }
    // The same material may come back as new material (it is no longer the key's).
    assert_eq!(
        import(&east, &key, &m2, Some(ImportType::NewKeyMaterial)).await,
        id2
    );
    assert_eq!(objects_in_token(&server, PRIMARY, &key, &id2), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_material_deleted_from_a_replica_leaves_only_that_replica() {
    let server = Server::start();
    let east = server.client(PRIMARY).await;
    let west = server.client(WEST).await;
    let eu = server.client(EU).await;
    let m1 = random_bytes(32);
    let m2 = random_bytes(32);
    let (key, id1) = external_family(&east, [(&west, WEST), (&eu, EU)], &m1).await;
    let clients = [(&east, PRIMARY), (&west, WEST), (&eu, EU)];
    let id2 = import(&east, &key, &m2, Some(ImportType::NewKeyMaterial)).await;
    for c in [&west, &eu] {
        import(c, &key, &m2, Some(ImportType::ExistingKeyMaterial)).await;
    }

    delete_material(&west, &key, &id2).await;
    // The replica waits for it again; the primary and the other replica keep it, and
    // the family is pending multi-Region import again.
    for (c, r) in clients {
        assert_eq!(
            material_states(c, &key).await,
            vec![
                (
                    id1.clone(),
                    KeyMaterialState::Current,
                    ImportState::Imported
                ),
                (
                    id2.clone(),
                    KeyMaterialState::PendingMultiRegionImportAndRotation,
                    if r == WEST {
                        ImportState::PendingImport
                    } else {
                        ImportState::Imported
                    }
                ),
            ],
            "{r}"
        );
        assert_eq!(
            describe(c, &key).await.key_state(),
            Some(&KeyState::Enabled),
            "{r}"
        );
        assert_eq!(
            objects_in_token(&server, r, &key, &id2),
            usize::from(r != WEST),
            "{r}"
        );
    }
    let e = must_fail(
        east.rotate_key_on_demand().key_id(&key).send().await,
        "rotate while a replica lacks the pending material",
    );
    assert_err(&e, "KMSInvalidStateException", &[&id2]);

    // Imported into the replica again, the family rotates.
    assert_eq!(
        import(&west, &key, &m2, Some(ImportType::ExistingKeyMaterial)).await,
        id2
    );
    east.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .expect("rotate");
    for (c, r) in clients {
        wait_for_current_material(c, &key, &id2).await;
        let ct = encrypt(c, &key, r.as_bytes()).await;
        assert_eq!(
            decrypt(&east, &ct).await,
            (r.as_bytes().to_vec(), id2.clone())
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_pending_material_is_all_or_nothing_across_kill9() {
    let mut server = Server::start();
    let m1 = random_bytes(32);
    let (key, id1) = {
        let east = server.client(PRIMARY).await;
        let west = server.client(WEST).await;
        let eu = server.client(EU).await;
        external_family(&east, [(&west, WEST), (&eu, EU)], &m1).await
    };
    let regions = [PRIMARY, WEST, EU];
    // The process is killed at a different moment of the deletion each round: right
    // after the request leaves, a little later, and after the response.
    for (round, delay_ms) in [0u64, 3, 8, 1000].into_iter().enumerate() {
        let m2 = random_bytes(32);
        let east = server.client(PRIMARY).await;
        let id2 = import(&east, &key, &m2, Some(ImportType::NewKeyMaterial)).await;
        for r in [WEST, EU] {
            let c = server.client(r).await;
            import(&c, &key, &m2, Some(ImportType::ExistingKeyMaterial)).await;
        }
        let request = {
            let east = east.clone();
            let key = key.clone();
            let id2 = id2.clone();
            tokio::spawn(async move {
                east.delete_imported_key_material()
                    .key_id(&key)
                    .key_material_id(&id2)
                    .send()
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        server.kill9();
        let answered = request.await.expect("the request task").is_ok();
        server.restart();

        // Either every Region still has the pending material (in its token too) or none
        // has it anywhere; after an answer, none.
        let mut kept = Vec::new();
        for r in regions {
            let c = server.client(r).await;
            let states = material_states(&c, &key).await;
            let has = states.iter().any(|(id, _, _)| *id == id2);
            if has {
                assert_eq!(
                    states[1..],
                    [(
                        id2.clone(),
                        KeyMaterialState::PendingRotation,
                        ImportState::Imported
                    )],
                    "round {round}, {r}"
                );
            } else {
                assert_eq!(
                    states,
                    vec![(
                        id1.clone(),
                        KeyMaterialState::Current,
                        ImportState::Imported
                    )],
                    "round {round}, {r}"
                );
            }
            let objects = wait_until("the token follows the metadata", || async {
                let n = objects_in_token(&server, r, &key, &id2);
                if n == usize::from(has) {
                    Ok(n)
                } else {
                    Err(format!("{n} objects of {id2}, listed: {has}"))
                }
            })
            .await;
            assert_eq!(objects, usize::from(has), "round {round}, {r}");
            assert_eq!(
                objects_in_token(&server, r, &key, &id1),
                1,
                "round {round}, {r}"
            );
            let md = describe(&c, &key).await;
            assert_eq!(
                md.key_state(),
                Some(&KeyState::Enabled),
                "round {round}, {r}"
            );
            assert_eq!(
                md.current_key_material_id(),
                Some(id1.as_str()),
                "round {round}, {r}"
            );
            kept.push(has);
        }
        assert!(
            kept.iter().all(|k| *k) || kept.iter().all(|k| !*k),
            "round {round}: half-done across Regions: {kept:?}"
        );
        assert!(
            !(answered && kept[0]),
            "round {round}: answered but not deleted"
        );
        // Leave no pending material for the next round.
        if kept[0] {
            delete_material(&server.client(PRIMARY).await, &key, &id2).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Every permanently associated material decides the key state
// ---------------------------------------------------------------------------------------

/// A single-Region EXTERNAL key rotated once: `m1` imported first (with `valid_to`, if
/// any), then `m2` imported as new material and made current. Returns the key id, both
/// KeyMaterialIds and a ciphertext under each material.
async fn rotated_key(
    kms: &Client,
    m1: &[u8],
    m2: &[u8],
    valid_to: Option<f64>,
) -> (String, String, String, Vec<u8>, Vec<u8>) {
    let key = create_external(kms, false).await;
    let (token, blob) = wrapped(kms, &key, m1).await;
    let id1 = import_request(kms, &key, token, blob, valid_to)
        .send()
        .await
        .unwrap_or_else(|e| panic!("first import: {} {}", err_code(&e), err_message(&e)))
        .key_material_id()
        .expect("KeyMaterialId")
        .to_string();
    let ct1 = encrypt(kms, &key, b"under the first material").await;
    let id2 = import(kms, &key, m2, Some(ImportType::NewKeyMaterial)).await;
    kms.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .expect("RotateKeyOnDemand");
    wait_for_current_material(kms, &key, &id2).await;
    let ct2 = encrypt(kms, &key, b"under the second material").await;
    (key, id1, id2, ct1, ct2)
}

/// Re-imports `material` as EXISTING_KEY_MATERIAL naming its KeyMaterialId `id`, without
/// expiry.
async fn reimport_existing(kms: &Client, key: &str, material: &[u8], id: &str) {
    let (token, blob) = wrapped(kms, key, material).await;
    let out = import_request(kms, key, token, blob, None)
        .import_type(ImportType::ExistingKeyMaterial)
        .key_material_id(id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("re-import {id}: {} {}", err_code(&e), err_message(&e)));
    assert_eq!(out.key_material_id(), Some(id));
}

/// The key is `PendingImport` with `current` still its current material, and refuses
/// Encrypt and Decrypt with AWS's key-state message.
async fn assert_pending_import(kms: &Client, region: &str, key: &str, current: &str, ct: &[u8]) {
    let arn = Server::key_arn(region, key);
    let md = describe(kms, key).await;
    assert_eq!(md.key_state(), Some(&KeyState::PendingImport), "{region}");
    assert_eq!(md.current_key_material_id(), Some(current), "{region}");
    assert!(!md.enabled(), "{region}");
    let e = must_fail(
        kms.encrypt()
            .key_id(key)
            .plaintext(Blob::new(b"refused".to_vec()))
            .send()
            .await,
        "Encrypt while a NON_CURRENT material is missing",
    );
    assert_eq!(err_code(&e), "KMSInvalidStateException");
    assert_eq!(err_message(&e), format!("{arn} is pending import."));
    let e = must_fail(
        kms.decrypt()
            .ciphertext_blob(Blob::new(ct.to_vec()))
            .send()
            .await,
        "Decrypt while a NON_CURRENT material is missing",
    );
    assert_eq!(err_code(&e), "KMSInvalidStateException");
    assert_eq!(err_message(&e), format!("{arn} is pending import."));
}

#[tokio::test]
async fn deleting_non_current_material_makes_the_key_pending_import_until_reimported() {
    let mut server = Server::start();
    let kms = server.client(PRIMARY).await;
    let m1 = random_bytes(32);
    let m2 = random_bytes(32);
    let (key, id1, id2, ct1, ct2) = rotated_key(&kms, &m1, &m2, None).await;

    // The older material is permanently associated with the key: deleting it makes the
    // key PendingImport although its current material is still in the token.
    delete_material(&kms, &key, &id1).await;
    assert_pending_import(&kms, PRIMARY, &key, &id2, &ct2).await;
    assert_older_material_gone(&server, &kms, &key, &id1, &id2).await;
    // PendingImport refuses rotation and DisableKey as the key-state table says.
    let e = must_fail(
        kms.rotate_key_on_demand().key_id(&key).send().await,
        "RotateKeyOnDemand while PendingImport",
    );
    assert_err(&e, "KMSInvalidStateException", &["is pending import."]);

    // Durable: still PendingImport after kill -9.
    server.kill9();
    server.restart();
    let kms = server.client(PRIMARY).await;
    assert_pending_import(&kms, PRIMARY, &key, &id2, &ct1).await;

    // Importing the same material again (naming its id) enables the key; the current
    // material is unchanged and both old and new ciphertexts decrypt.
    reimport_existing(&kms, &key, &m1, &id1).await;
    let md = describe(&kms, &key).await;
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert_eq!(md.current_key_material_id(), Some(id2.as_str()));
    assert_eq!(
        decrypt(&kms, &ct1).await,
        (b"under the first material".to_vec(), id1.clone())
    );
    assert_eq!(
        decrypt(&kms, &ct2).await,
        (b"under the second material".to_vec(), id2.clone())
    );
    let ct3 = encrypt(&kms, &key, b"after the re-import").await;
    assert_eq!(
        decrypt(&kms, &ct3).await,
        (b"after the re-import".to_vec(), id2)
    );
    assert!(material_states(&kms, &key)
        .await
        .iter()
        .all(|(_, _, s)| *s == ImportState::Imported));
}

#[tokio::test]
async fn a_disabled_key_losing_non_current_material_is_pending_import_then_enabled() {
    // AWS: DeleteImportedKeyMaterial moves any key not pending deletion to PendingImport,
    // and a successful ImportKeyMaterial that completes the key's materials enables it.
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let m1 = random_bytes(32);
    let (key, id1, id2, ct1, _) = rotated_key(&kms, &m1, &random_bytes(32), None).await;
    let arn = Server::key_arn(PRIMARY, &key);
    kms.disable_key()
        .key_id(&key)
        .send()
        .await
        .expect("DisableKey");
    delete_material(&kms, &key, &id1).await;
    assert_pending_import(&kms, PRIMARY, &key, &id2, &ct1).await;
    let e = must_fail(
        kms.enable_key().key_id(&key).send().await,
        "EnableKey while PendingImport",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&format!("{arn} is pending import.")],
    );
    reimport_existing(&kms, &key, &m1, &id1).await;
    assert_eq!(
        describe(&kms, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt(&kms, &ct1).await.1, id1);
}

#[tokio::test]
async fn expiry_of_non_current_material_makes_the_key_pending_import_until_reimported() {
    let server = Server::start_with(&["--admin-api"]);
    let kms = server.client(PRIMARY).await;
    let now = server.advance_clock(0.0).await;
    let m1 = random_bytes(32);
    let m2 = random_bytes(32);
    // The first material expires in 10 days; the second, current one never does.
    let (key, id1, id2, ct1, ct2) =
        rotated_key(&kms, &m1, &m2, Some((now + 10.0 * 86_400.0).floor())).await;
    assert_eq!(
        describe(&kms, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );

    server.advance_clock(11.0 * 86_400.0).await;
    wait_for_state(&kms, &key, KeyState::PendingImport).await;
    assert_pending_import(&kms, PRIMARY, &key, &id2, &ct2).await;
    assert_older_material_gone(&server, &kms, &key, &id1, &id2).await;

    reimport_existing(&kms, &key, &m1, &id1).await;
    let md = describe(&kms, &key).await;
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert_eq!(md.current_key_material_id(), Some(id2.as_str()));
    assert_eq!(decrypt(&kms, &ct1).await.1, id1);
    assert_eq!(decrypt(&kms, &ct2).await.1, id2);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_region_decides_from_its_own_permanently_associated_materials() {
    let server = Server::start();
    let east = server.client(PRIMARY).await;
    let west = server.client(WEST).await;
    let eu = server.client(EU).await;
    let m1 = random_bytes(32);
    let m2 = random_bytes(32);
    let (key, id1) = external_family(&east, [(&west, WEST), (&eu, EU)], &m1).await;
    let ct1 = encrypt(&east, &key, b"one").await;
    let id2 = import(&east, &key, &m2, Some(ImportType::NewKeyMaterial)).await;
    for c in [&west, &eu] {
        import(c, &key, &m2, Some(ImportType::ExistingKeyMaterial)).await;
    }
    east.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .expect("rotate");
    for c in [&east, &west, &eu] {
        wait_for_current_material(c, &key, &id2).await;
    }
    let ct2 = encrypt(&east, &key, b"two").await;

    // The replica's copy of the older material is deleted: that replica only is
    // PendingImport; the primary and the other replica keep working.
    delete_material(&west, &key, &id1).await;
    assert_pending_import(&west, WEST, &key, &id2, &ct1).await;
    for (c, r) in [(&east, PRIMARY), (&eu, EU)] {
        assert_eq!(
            describe(c, &key).await.key_state(),
            Some(&KeyState::Enabled),
            "{r}"
        );
        assert_eq!(decrypt(c, &ct1).await.1, id1, "{r}");
        assert_eq!(objects_in_token(&server, r, &key, &id1), 1, "{r}");
    }
    // The primary's own copy: the primary too, the replicas are unaffected by it.
    delete_material(&east, &key, &id1).await;
    assert_pending_import(&east, PRIMARY, &key, &id2, &ct2).await;
    assert_eq!(
        describe(&eu, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt(&eu, &ct2).await.1, id2);

    // Each Region is enabled again by its own re-import.
    reimport_existing(&west, &key, &m1, &id1).await;
    assert_eq!(
        describe(&west, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(
        describe(&east, &key).await.key_state(),
        Some(&KeyState::PendingImport)
    );
    reimport_existing(&east, &key, &m1, &id1).await;
    for (c, r) in [(&east, PRIMARY), (&west, WEST), (&eu, EU)] {
        assert_eq!(
            describe(c, &key).await.key_state(),
            Some(&KeyState::Enabled),
            "{r}"
        );
        assert_eq!(
            decrypt(c, &ct1).await,
            (b"one".to_vec(), id1.clone()),
            "{r}"
        );
        assert_eq!(
            decrypt(c, &ct2).await,
            (b"two".to_vec(), id2.clone()),
            "{r}"
        );
    }
}
