//! Nothing lost: everything a request was answered for survives a graceful restart,
//! a kill -9, and a kill -9 in the middle of concurrent CreateKey/Encrypt load.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeyMetadata, KeyState};
use common::*;

struct Ciphertext {
    region: String,
    blob: Vec<u8>,
    context: BTreeMap<String, String>,
    plaintext: Vec<u8>,
}

/// What the first server run answered; checked after each restart.
struct Fixture {
    /// (region, metadata as described before the restart)
    keys: Vec<(String, KeyMetadata)>,
    tagged: (String, String, Vec<(String, String)>),
    aliases: Vec<(String, String, String)>,
    policy: (String, String, serde_json::Value),
    disabled: (String, String),
    pending: (String, String),
    ciphertexts: Vec<Ciphertext>,
}

async fn encrypt(
    kms: &aws_sdk_kms::Client,
    region: &str,
    key: &str,
    plaintext: &[u8],
    ctx: &[(&str, &str)],
) -> Ciphertext {
    let mut req = kms
        .encrypt()
        .key_id(key)
        .plaintext(Blob::new(plaintext.to_vec()));
    for (k, v) in ctx {
        req = req.encryption_context(*k, *v);
    }
    let out = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("Encrypt: {}", err_message(&e)));
    Ciphertext {
        region: region.to_string(),
        blob: out.ciphertext_blob().unwrap().as_ref().to_vec(),
        context: ctx
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        plaintext: plaintext.to_vec(),
    }
}

async fn decrypt(kms: &aws_sdk_kms::Client, ct: &Ciphertext) -> Vec<u8> {
    let mut req = kms.decrypt().ciphertext_blob(Blob::new(ct.blob.clone()));
    for (k, v) in &ct.context {
        req = req.encryption_context(k, v);
    }
    req.send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Decrypt of a ciphertext answered before the restart ({} bytes, {}): {}: {}",
                ct.blob.len(),
                ct.region,
                err_code(&e),
                err_message(&e)
            )
        })
        .plaintext()
        .expect("Plaintext")
        .as_ref()
        .to_vec()
}

async fn populate(server: &Server) -> Fixture {
    let east = server.client("us-east-1").await;
    let eu = server.client("eu-west-1").await;
    let cn = server.client("cn-north-1").await;
    let mut keys = Vec::new();
    let mut ciphertexts = Vec::new();

    // A described, tagged, aliased key with its own policy.
    let out = east
        .create_key()
        .description("alpha key")
        .tags(tag("team", "crypto"))
        .tags(tag("env", "test"))
        .send()
        .await
        .unwrap();
    let alpha = out.key_metadata().unwrap().key_id().to_string();
    east.tag_resource()
        .key_id(&alpha)
        .tags(tag("cost-center", "42"))
        .tags(tag("env", "staging"))
        .send()
        .await
        .unwrap();
    for name in ["alias/alpha", "alias/alpha-2"] {
        east.create_alias()
            .alias_name(name)
            .target_key_id(&alpha)
            .send()
            .await
            .unwrap();
    }
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "persisted",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    });
    east.put_key_policy()
        .key_id(&alpha)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    ciphertexts.push(encrypt(&east, "us-east-1", &alpha, b"alpha secret", &[("a", "1")]).await);
    ciphertexts.push(encrypt(&east, "us-east-1", "alias/alpha", b"via alias", &[]).await);
    let dk = east
        .generate_data_key()
        .key_id(&alpha)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    ciphertexts.push(Ciphertext {
        region: "us-east-1".into(),
        blob: dk.ciphertext_blob().unwrap().as_ref().to_vec(),
        context: BTreeMap::new(),
        plaintext: dk.plaintext().unwrap().as_ref().to_vec(),
    });

    // A disabled key with a ciphertext made while it was enabled.
    let disabled = east
        .create_key()
        .description("disabled")
        .send()
        .await
        .unwrap();
    let disabled = disabled.key_metadata().unwrap().key_id().to_string();
    let disabled_ct = encrypt(&east, "us-east-1", &disabled, b"made before disabling", &[]).await;
    east.disable_key().key_id(&disabled).send().await.unwrap();

    // A key pending deletion.
    let pending = east
        .create_key()
        .description("doomed")
        .send()
        .await
        .unwrap();
    let pending = pending.key_metadata().unwrap().key_id().to_string();
    east.schedule_key_deletion()
        .key_id(&pending)
        .pending_window_in_days(9)
        .send()
        .await
        .unwrap();

    // Keys in other Regions and partitions.
    let eu_key = eu.create_key().description("eu").send().await.unwrap();
    let eu_key = eu_key.key_metadata().unwrap().key_id().to_string();
    ciphertexts.push(encrypt(&eu, "eu-west-1", &eu_key, b"eu secret", &[("r", "eu")]).await);
    let cn_key = cn.create_key().description("cn").send().await.unwrap();
    let cn_key = cn_key.key_metadata().unwrap().key_id().to_string();
    ciphertexts.push(encrypt(&cn, "cn-north-1", &cn_key, b"cn secret", &[]).await);

    for (region, kms, id) in [
        ("us-east-1", &east, &alpha),
        ("us-east-1", &east, &disabled),
        ("us-east-1", &east, &pending),
        ("eu-west-1", &eu, &eu_key),
        ("cn-north-1", &cn, &cn_key),
    ] {
        keys.push((region.to_string(), describe(kms, id).await));
    }
    // Sanity of the fixture itself.
    assert_eq!(keys[1].1.key_state(), Some(&KeyState::Disabled));
    assert_eq!(keys[2].1.key_state(), Some(&KeyState::PendingDeletion));

    let tags = east
        .list_resource_tags()
        .key_id(&alpha)
        .send()
        .await
        .unwrap();
    let tags: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect();
    assert_eq!(tags.len(), 3);

    let _ = disabled_ct; // checked after re-enabling in verify()
    let mut fx = Fixture {
        keys,
        tagged: ("us-east-1".into(), alpha.clone(), tags),
        aliases: vec![
            ("us-east-1".into(), "alias/alpha".into(), alpha.clone()),
            ("us-east-1".into(), "alias/alpha-2".into(), alpha.clone()),
        ],
        policy: ("us-east-1".into(), alpha.clone(), policy),
        disabled: ("us-east-1".into(), disabled),
        pending: ("us-east-1".into(), pending),
        ciphertexts,
    };
    fx.ciphertexts.push(disabled_ct);
    fx
}

async fn verify(server: &Server, fx: &Fixture) {
    for (region, before) in &fx.keys {
        let kms = server.client(region).await;
        let after = describe(&kms, before.key_id()).await;
        assert_eq!(
            &after, before,
            "key metadata survives the restart ({region})"
        );
        let listed = kms.list_keys().limit(1000).send().await.unwrap();
        assert!(
            listed
                .keys()
                .iter()
                .any(|k| k.key_id() == Some(before.key_id())),
            "ListKeys in {region} still lists {}",
            before.key_id()
        );
    }

    let (region, id, tags) = &fx.tagged;
    let kms = server.client(region).await;
    let got = kms.list_resource_tags().key_id(id).send().await.unwrap();
    let got: Vec<(String, String)> = got
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect();
    assert_eq!(&got, tags, "tags survive, in order");

    for (region, alias, target) in &fx.aliases {
        let kms = server.client(region).await;
        let md = describe(&kms, alias).await;
        assert_eq!(md.key_id(), target, "{alias} still targets its key");
    }

    let (region, id, policy) = &fx.policy;
    let kms = server.client(region).await;
    let got = kms
        .get_key_policy()
        .key_id(id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let got: serde_json::Value = serde_json::from_str(got.policy().unwrap()).unwrap();
    assert_eq!(&got, policy, "key policy survives");

    // The disabled key is still disabled: no encryption with it.
    let (region, id) = &fx.disabled;
    let kms = server.client(region).await;
    let e = must_fail(
        kms.encrypt()
            .key_id(id)
            .plaintext(Blob::new(b"x".to_vec()))
            .send()
            .await,
        "Encrypt with disabled key after restart",
    );
    assert_eq!(err_code(&e), "DisabledException", "{}", err_message(&e));

    // The pending-deletion key still pending.
    let (region, id) = &fx.pending;
    let kms = server.client(region).await;
    let e = must_fail(
        kms.enable_key().key_id(id).send().await,
        "EnableKey pending",
    );
    assert_eq!(
        err_code(&e),
        "KMSInvalidStateException",
        "{}",
        err_message(&e)
    );

    // Every ciphertext decrypts (re-enable the disabled key around it, then disable again).
    let (dregion, did) = &fx.disabled;
    let dkms = server.client(dregion).await;
    dkms.enable_key().key_id(did).send().await.unwrap();
    for ct in &fx.ciphertexts {
        let kms = server.client(&ct.region).await;
        assert_eq!(decrypt(&kms, ct).await, ct.plaintext);
    }
    dkms.disable_key().key_id(did).send().await.unwrap();

    // The restarted server keeps working.
    for region in ["us-east-1", "eu-west-1", "cn-north-1"] {
        let kms = server.client(region).await;
        let out =
            kms.create_key().send().await.unwrap_or_else(|e| {
                panic!("CreateKey after restart in {region}: {}", err_message(&e))
            });
        let id = out.key_metadata().unwrap().key_id().to_string();
        let ct = encrypt(&kms, region, &id, b"fresh", &[]).await;
        assert_eq!(decrypt(&kms, &ct).await, b"fresh");
        // Tidy up so the fixture's view of ListKeys stays meaningful for the next round.
        kms.schedule_key_deletion()
            .key_id(&id)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn graceful_stop_and_start_keeps_everything() {
    let mut server = Server::start();
    let fx = populate(&server).await;
    let status = server.stop();
    assert!(status.success(), "graceful stop exits 0, got {status}");
    server.restart();
    verify(&server, &fx).await;

    // And a second time, after the restarted server wrote some more.
    let status = server.stop();
    assert!(status.success(), "graceful stop exits 0, got {status}");
    server.restart();
    verify(&server, &fx).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kill9_and_restart_keeps_everything() {
    let mut server = Server::start();
    let fx = populate(&server).await;
    server.kill9();
    server.restart();
    verify(&server, &fx).await;
    server.kill9();
    server.restart();
    verify(&server, &fx).await;
}

struct Load {
    created: Mutex<Vec<(String, String)>>,
    ciphertexts: Mutex<Vec<Ciphertext>>,
    errors_before_kill: Mutex<Vec<String>>,
    killed: AtomicBool,
    stop: AtomicBool,
    creates: AtomicUsize,
    encrypts: AtomicUsize,
}

async fn load_worker(load: Arc<Load>, kms: aws_sdk_kms::Client, region: String, worker: usize) {
    let mut i = 0usize;
    let mut my_key: Option<String> = None;
    while !load.stop.load(Ordering::SeqCst) {
        i += 1;
        // Even workers mostly create keys; odd workers mostly encrypt.
        let do_create = my_key.is_none() || (worker.is_multiple_of(2) && i.is_multiple_of(2));
        if do_create {
            match kms
                .create_key()
                .description(format!("load {worker}/{i}"))
                .send()
                .await
            {
                Ok(out) => {
                    let id = out.key_metadata().unwrap().key_id().to_string();
                    load.created
                        .lock()
                        .unwrap()
                        .push((region.clone(), id.clone()));
                    load.creates.fetch_add(1, Ordering::SeqCst);
                    my_key = Some(id);
                }
                Err(e) => {
                    if !load.killed.load(Ordering::SeqCst) {
                        load.errors_before_kill.lock().unwrap().push(format!(
                            "CreateKey: {}: {}",
                            err_code(&e),
                            err_message(&e)
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        } else {
            let key = my_key.clone().unwrap();
            let plaintext = format!("worker {worker} message {i}").into_bytes();
            let ctx = format!("{worker}-{i}");
            match kms
                .encrypt()
                .key_id(&key)
                .plaintext(Blob::new(plaintext.clone()))
                .encryption_context("n", &ctx)
                .send()
                .await
            {
                Ok(out) => {
                    load.ciphertexts.lock().unwrap().push(Ciphertext {
                        region: region.clone(),
                        blob: out.ciphertext_blob().unwrap().as_ref().to_vec(),
                        context: [("n".to_string(), ctx)].into_iter().collect(),
                        plaintext,
                    });
                    load.encrypts.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => {
                    if !load.killed.load(Ordering::SeqCst) {
                        load.errors_before_kill.lock().unwrap().push(format!(
                            "Encrypt: {}: {}",
                            err_code(&e),
                            err_message(&e)
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
}

/// Run CreateKey/Encrypt load on `server`, SIGKILL it mid-flight, restart it.
async fn kill_under_load(server: &mut Server, load: &Arc<Load>, round: usize) {
    load.killed.store(false, Ordering::SeqCst);
    load.stop.store(false, Ordering::SeqCst);
    let creates0 = load.creates.load(Ordering::SeqCst);
    let encrypts0 = load.encrypts.load(Ordering::SeqCst);
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let region = if worker % 4 == 3 {
            "us-west-2"
        } else {
            "us-east-1"
        };
        let kms = server.client(region).await;
        tasks.push(tokio::spawn(load_worker(
            load.clone(),
            kms,
            region.to_string(),
            worker,
        )));
    }
    // Let the load build up: some keys and ciphertexts answered, then kill mid-flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline
        && (load.creates.load(Ordering::SeqCst) < creates0 + 12
            || load.encrypts.load(Ordering::SeqCst) < encrypts0 + 30)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(37 * round as u64 + 50)).await;
    load.killed.store(true, Ordering::SeqCst);
    server.kill9();
    load.stop.store(true, Ordering::SeqCst);
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(150), t)
            .await
            .expect("load worker ends after the kill")
            .expect("load worker did not panic");
    }
    let errors = load.errors_before_kill.lock().unwrap().clone();
    assert!(
        errors.is_empty(),
        "errors before the kill (round {round}): {errors:?}"
    );
    assert!(
        load.creates.load(Ordering::SeqCst) >= creates0 + 12,
        "round {round}: load too small: {} creates",
        load.creates.load(Ordering::SeqCst) - creates0
    );
    server.restart();
}

async fn verify_load(server: &Server, load: &Load) {
    let created = load.created.lock().unwrap().clone();
    let mut by_region: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for (region, id) in &created {
        by_region
            .entry(region.clone())
            .or_default()
            .insert(id.clone());
    }
    for (region, ids) in &by_region {
        let kms = server.client(region).await;
        // Every key CreateKey answered exists, Enabled.
        for id in ids {
            let md = describe(&kms, id).await;
            assert_eq!(
                md.key_state(),
                Some(&KeyState::Enabled),
                "key {id} after restart"
            );
        }
        // No half-created key: everything listed is usable (not stuck in Creating,
        // no metadata without material).
        let mut listed = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = kms
                .list_keys()
                .set_marker(marker.clone())
                .send()
                .await
                .unwrap();
            listed.extend(
                out.keys()
                    .iter()
                    .filter_map(|k| k.key_id().map(String::from)),
            );
            if !out.truncated() {
                break;
            }
            marker = out.next_marker().map(String::from);
        }
        let listed_set: HashSet<String> = listed.iter().cloned().collect();
        for id in ids {
            assert!(listed_set.contains(id), "ListKeys lists {id} in {region}");
        }
        for id in &listed {
            let md = describe(&kms, id).await;
            assert_eq!(
                md.key_state(),
                Some(&KeyState::Enabled),
                "listed key {id} (answered: {}) is Enabled after restart",
                ids.contains(id)
            );
            let out = kms
                .encrypt()
                .key_id(id)
                .plaintext(Blob::new(b"probe".to_vec()))
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "listed key {id} (answered: {}) encrypts after restart: {}: {}",
                        ids.contains(id),
                        err_code(&e),
                        err_message(&e)
                    )
                });
            let dec = kms
                .decrypt()
                .ciphertext_blob(out.ciphertext_blob().unwrap().clone())
                .send()
                .await
                .unwrap();
            assert_eq!(dec.plaintext().unwrap().as_ref(), b"probe");
        }
    }
    // Every ciphertext Encrypt answered decrypts.
    // (key id, ciphertext, encryption context, plaintext)
    type Answered = (String, Vec<u8>, BTreeMap<String, String>, Vec<u8>);
    let cts: Vec<Answered> = load
        .ciphertexts
        .lock()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c.region.clone(),
                c.blob.clone(),
                c.context.clone(),
                c.plaintext.clone(),
            )
        })
        .collect();
    for (region, blob, context, plaintext) in cts {
        let kms = server.client(&region).await;
        let ct = Ciphertext {
            region,
            blob,
            context,
            plaintext,
        };
        assert_eq!(decrypt(&kms, &ct).await, ct.plaintext);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_under_concurrent_load_loses_nothing_answered() {
    let mut server = Server::start();
    let load = Arc::new(Load {
        created: Mutex::new(Vec::new()),
        ciphertexts: Mutex::new(Vec::new()),
        errors_before_kill: Mutex::new(Vec::new()),
        killed: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        creates: AtomicUsize::new(0),
        encrypts: AtomicUsize::new(0),
    });
    for round in 1..=2 {
        kill_under_load(&mut server, &load, round).await;
        verify_load(&server, &load).await;
    }
    eprintln!(
        "kill -9 under load: {} keys and {} ciphertexts answered, all recovered",
        load.creates.load(Ordering::SeqCst),
        load.encrypts.load(Ordering::SeqCst)
    );
}
