//! Keys as a test meets them through the AWS SDK: the key factories, `describe`, waiting
//! for a key to reach a state (one timeout for every wait), and the small request pieces
//! every test builds (blobs, tags, random bytes, Encrypt/Decrypt round trips).
//!
//! Every helper panics with the AWS error code and message when a call that must succeed
//! fails, so a failing test says what the server answered.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_kms::operation::replicate_key::ReplicateKeyOutput;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType, OriginType, Tag};
use aws_sdk_kms::Client;

use super::{err_code, err_message, Server};

/// How long any wait of a test may last before it fails. Generous on purpose: the test
/// machine is shared and loaded; a wait that succeeds returns as soon as it can.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a wait polls.
const POLL: Duration = Duration::from_millis(25);

/// Polls `check` until it gives `Some`, for at most [`WAIT_TIMEOUT`]; then panics with
/// `what` (what was awaited) and the last value `describe_last` renders.
pub async fn wait_until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + WAIT_TIMEOUT;
    loop {
        let last = match check().await {
            Ok(done) => return done,
            Err(last) => last,
        };
        if Instant::now() > deadline {
            panic!("{what}: not reached within {WAIT_TIMEOUT:?}; last seen: {last}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// DescribeKey's KeyMetadata.
pub async fn describe(kms: &Client, key_id: &str) -> KeyMetadata {
    kms.describe_key()
        .key_id(key_id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeKey {key_id}: {} {}", err_code(&e), err_message(&e)))
        .key_metadata()
        .expect("KeyMetadata")
        .clone()
}

/// Waits until the key's metadata satisfies `done` (described as `what`); returns it.
pub async fn wait_for_key(
    kms: &Client,
    key_id: &str,
    what: &str,
    done: impl Fn(&KeyMetadata) -> bool,
) -> KeyMetadata {
    wait_until(&format!("key {key_id}: {what}"), || async {
        let md = describe(kms, key_id).await;
        if done(&md) {
            Ok(md)
        } else {
            Err(format!("{md:?}"))
        }
    })
    .await
}

/// Waits until the key is in `state`; returns its metadata.
pub async fn wait_for_state(kms: &Client, key_id: &str, state: KeyState) -> KeyMetadata {
    wait_for_key(kms, key_id, &format!("KeyState {state:?}"), |md| {
        md.key_state() == Some(&state)
    })
    .await
}

/// Waits until the key's CurrentKeyMaterialId is `want`.
pub async fn wait_for_current_material(kms: &Client, key_id: &str, want: &str) -> KeyMetadata {
    wait_for_key(kms, key_id, &format!("CurrentKeyMaterialId {want}"), |md| {
        md.current_key_material_id() == Some(want)
    })
    .await
}

/// The key's CurrentKeyMaterialId (panics when the key shows none).
pub async fn current_material(kms: &Client, key_id: &str) -> String {
    describe(kms, key_id)
        .await
        .current_key_material_id()
        .unwrap_or_else(|| panic!("key {key_id} shows no CurrentKeyMaterialId"))
        .to_string()
}

/// A CreateKey request: symmetric, single-Region, origin AWS_KMS unless told otherwise.
/// `create` checks that the key came back as asked.
#[derive(Clone, Debug, Default)]
pub struct NewKey {
    spec: Option<KeySpec>,
    usage: Option<KeyUsageType>,
    external: bool,
    multi_region: bool,
    description: Option<String>,
}

impl NewKey {
    /// A SYMMETRIC_DEFAULT encryption key.
    pub fn symmetric() -> NewKey {
        NewKey::default()
    }

    /// A key of `spec` for `usage`.
    pub fn of(spec: KeySpec, usage: KeyUsageType) -> NewKey {
        NewKey {
            spec: Some(spec),
            usage: Some(usage),
            ..NewKey::default()
        }
    }

    /// Origin EXTERNAL: no material until it is imported (`PendingImport`).
    pub fn external(self) -> NewKey {
        NewKey {
            external: true,
            ..self
        }
    }

    /// A multi-Region primary key when `yes`.
    pub fn multi_region(self, yes: bool) -> NewKey {
        NewKey {
            multi_region: yes,
            ..self
        }
    }

    pub fn description(self, description: &str) -> NewKey {
        NewKey {
            description: Some(description.to_string()),
            ..self
        }
    }

    /// Sends CreateKey; returns the new key's metadata.
    pub async fn create(self, kms: &Client) -> KeyMetadata {
        let mut req = kms.create_key().multi_region(self.multi_region);
        if let Some(spec) = &self.spec {
            req = req.key_spec(spec.clone());
        }
        if let Some(usage) = &self.usage {
            req = req.key_usage(usage.clone());
        }
        if self.external {
            req = req.origin(OriginType::External);
        }
        if let Some(d) = &self.description {
            req = req.description(d);
        }
        let md = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateKey {self:?}: {} {}", err_code(&e), err_message(&e)))
            .key_metadata()
            .expect("KeyMetadata")
            .clone();
        if let Some(spec) = &self.spec {
            assert_eq!(md.key_spec(), Some(spec), "CreateKey {self:?}: KeySpec");
        }
        if let Some(usage) = &self.usage {
            assert_eq!(md.key_usage(), Some(usage), "CreateKey {self:?}: KeyUsage");
        }
        let state = if self.external {
            KeyState::PendingImport
        } else {
            KeyState::Enabled
        };
        assert_eq!(md.key_state(), Some(&state), "CreateKey {self:?}: KeyState");
        assert_eq!(
            md.multi_region(),
            Some(self.multi_region),
            "CreateKey {self:?}"
        );
        md
    }

    /// Sends CreateKey; returns the new key's id.
    pub async fn create_id(self, kms: &Client) -> String {
        self.create(kms).await.key_id().to_string()
    }
}

/// A symmetric single-Region key: `(key id, key ARN)`.
pub async fn new_key(kms: &Client) -> (String, String) {
    let md = NewKey::symmetric().create(kms).await;
    (md.key_id().to_string(), md.arn().expect("Arn").to_string())
}

/// A symmetric key with Origin EXTERNAL (no material until imported); its id.
pub async fn create_external(kms: &Client, multi_region: bool) -> String {
    NewKey::symmetric()
        .external()
        .multi_region(multi_region)
        .description("imported")
        .create_id(kms)
        .await
}

/// A symmetric multi-Region primary key described as "primary key".
pub async fn create_mrk(kms: &Client) -> KeyMetadata {
    NewKey::symmetric()
        .multi_region(true)
        .description("primary key")
        .create(kms)
        .await
}

/// ReplicateKey of `key_id` into `region` (the replica starts `Creating`).
pub async fn replicate(primary: &Client, key_id: &str, region: &str) -> ReplicateKeyOutput {
    primary
        .replicate_key()
        .key_id(key_id)
        .replica_region(region)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "ReplicateKey {key_id} -> {region}: {} {}",
                err_code(&e),
                err_message(&e)
            )
        })
}

/// Replicates `key_id` into every Region of `regions` and waits until each replica is
/// `Enabled`; returns the replica Regions' clients, in order.
pub async fn replicate_to(
    server: &Server,
    primary: &Client,
    key_id: &str,
    regions: &[&str],
) -> Vec<Client> {
    let mut clients = Vec::new();
    for region in regions {
        replicate(primary, key_id, region).await;
        let client = server.client(region).await;
        wait_for_state(&client, key_id, KeyState::Enabled).await;
        clients.push(client);
    }
    clients
}

/// A symmetric multi-Region key in `primary_region` with an `Enabled` replica in each of
/// `replica_regions`: the primary's client, the key id, the replicas' clients.
pub async fn mrk_with_replicas(
    server: &Server,
    primary_region: &str,
    replica_regions: &[&str],
) -> (Client, String, Vec<Client>) {
    let primary = server.client(primary_region).await;
    let id = create_mrk(&primary).await.key_id().to_string();
    let replicas = replicate_to(server, &primary, &id, replica_regions).await;
    (primary, id, replicas)
}

/// Encrypt without an encryption context; the ciphertext blob's bytes.
pub async fn encrypt(kms: &Client, key_id: &str, plaintext: &[u8]) -> Vec<u8> {
    kms.encrypt()
        .key_id(key_id)
        .plaintext(Blob::new(plaintext))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Encrypt with {key_id}: {} {}",
                err_code(&e),
                err_message(&e)
            )
        })
        .ciphertext_blob()
        .expect("CiphertextBlob")
        .as_ref()
        .to_vec()
}

/// Decrypt without a KeyId or an encryption context: the plaintext and the
/// KeyMaterialId that decrypted it.
pub async fn decrypt(kms: &Client, ciphertext: impl AsRef<[u8]>) -> (Vec<u8>, String) {
    let out = kms
        .decrypt()
        .ciphertext_blob(Blob::new(ciphertext.as_ref()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("Decrypt: {} {}", err_code(&e), err_message(&e)));
    (
        out.plaintext().expect("Plaintext").as_ref().to_vec(),
        out.key_material_id().expect("KeyMaterialId").to_string(),
    )
}

/// GetPublicKey's DER SubjectPublicKeyInfo.
pub async fn public_key(kms: &Client, key_id: &str) -> Vec<u8> {
    kms.get_public_key()
        .key_id(key_id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetPublicKey: {} {}", err_code(&e), err_message(&e)))
        .public_key()
        .expect("PublicKey")
        .as_ref()
        .to_vec()
}

pub fn blob(bytes: &[u8]) -> Blob {
    Blob::new(bytes)
}

pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
        .expect("a tag has a key and a value")
}

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Vec<u8> {
    use rsa::rand_core::{OsRng, RngCore};
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    bytes
}
