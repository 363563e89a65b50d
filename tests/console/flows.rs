//! Browser tests: the seed's "Creating replica keys (console)" procedure step for step, the
//! key table, the create-key wizard for each key type, import through the Key material tab,
//! scheduling and cancelling deletion, and changing the primary Region. Each ends by asking
//! the API (aws-sdk-rust) what the console did.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    KeySpec, KeyState, KeyUsageType, MacAlgorithmSpec, MultiRegionKeyType, Tag,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::browser::{self, Browser};
use crate::common::{self, Server};

/// The Regions every browser test serves: the seed's us-east-1, three more of its
/// partition, and cn-north-1 of another partition.
const REGIONS: &str = "us-east-1,us-west-2,eu-west-1,eu-central-1,ap-southeast-2,cn-north-1";

/// Waits until the key `id` of `region` is in `want` (the common wait and timeout).
async fn wait_state(server: &Server, region: &str, id: &str, want: KeyState) {
    common::wait_for_state(&server.client(region).await, id, want).await;
}

async fn tags_of(server: &Server, region: &str, id: &str) -> BTreeMap<String, String> {
    server
        .client(region)
        .await
        .list_resource_tags()
        .key_id(id)
        .send()
        .await
        .expect("tags")
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect()
}

async fn aliases_of(server: &Server, region: &str, id: &str) -> Vec<String> {
    server
        .client(region)
        .await
        .list_aliases()
        .key_id(id)
        .send()
        .await
        .expect("aliases")
        .aliases()
        .iter()
        .filter_map(|a| a.alias_name().map(String::from))
        .collect()
}

async fn policy_of(server: &Server, region: &str, id: &str) -> String {
    server
        .client(region)
        .await
        .get_key_policy()
        .key_id(id)
        .send()
        .await
        .expect("policy")
        .policy()
        .unwrap_or_default()
        .to_string()
}

fn args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = vec!["--regions", REGIONS];
    a.extend_from_slice(extra);
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_procedure_creates_two_replicas_with_their_own_properties() {
    let a = args(&["--replica-creation-delay-ms", "1500"]);
    browser::run("seed_procedure", &a, |b: Browser, server| async move {
        let east = server.client("us-east-1").await;
        let id = east
            .create_key()
            .multi_region(true)
            .description("Primary key")
            .tags(
                Tag::builder()
                    .tag_key("Project")
                    .tag_value("Atlas")
                    .build()
                    .expect("tag"),
            )
            .send()
            .await
            .expect("primary")
            .key_metadata()
            .expect("meta")
            .key_id()
            .to_string();
        east.create_alias()
            .alias_name("alias/atlas")
            .target_key_id(&id)
            .send()
            .await
            .expect("alias");
        east.replicate_key()
            .key_id(&id)
            .replica_region("eu-west-1")
            .send()
            .await
            .expect("replica");
        wait_state(&server, "eu-west-1", &id, KeyState::Enabled).await;
        let primary_policy = policy_of(&server, "us-east-1", &id).await;
        // Neighbours for the table: a single-Region key, and a replica of a key whose primary
        // is in us-west-2.
        let single = east
            .create_key()
            .send()
            .await
            .expect("single")
            .key_metadata
            .expect("m")
            .key_id;
        east.create_alias()
            .alias_name("alias/billing")
            .target_key_id(&single)
            .send()
            .await
            .expect("alias");
        let west = server.client("us-west-2").await;
        let ledger = west
            .create_key()
            .multi_region(true)
            .send()
            .await
            .expect("ledger")
            .key_metadata
            .expect("m")
            .key_id;
        west.replicate_key()
            .key_id(&ledger)
            .replica_region("us-east-1")
            .send()
            .await
            .expect("replica");
        east.create_alias()
            .alias_name("alias/ledger")
            .target_key_id(&ledger)
            .send()
            .await
            .expect("alias");
        wait_state(&server, "us-east-1", &ledger, KeyState::Enabled).await;

        // 1-3: sign in, Region selector, Customer managed keys.
        b.sign_in().await;
        b.click("#region-selector summary").await;
        b.click("#region-selector a[href='/console/us-east-1/keys']")
            .await;
        b.find("#keys-table").await;
        // 4: the tool icon adds the Regionality column.
        assert!(
            !b.exists("th a#sort-regionality").await
                && !b.text("#keys-table thead").await.contains("Regionality")
        );
        b.click("#preferences summary").await;
        b.click("#col-regionality").await;
        b.click("#save-preferences").await;
        b.wait_text("#keys-table thead", "Regionality").await;
        let row = format!("#keys-table tr[data-key-id='{id}']");
        b.wait_text(
            &format!("{row} td[data-col=regionality]"),
            "Multi-Region primary",
        )
        .await;
        b.wait_text(
            &format!("#keys-table tr[data-key-id='{single}'] td[data-col=regionality]"),
            "Single-Region",
        )
        .await;
        b.wait_text(
            &format!("#keys-table tr[data-key-id='{ledger}'] td[data-col=regionality]"),
            "Multi-Region replica",
        )
        .await;
        b.doc_shot("key-table-regionality.png").await;
        b.assert_labelled("key table").await;
        b.click(&format!("{row} td[data-col=aliases] a")).await;
        // 5-6: the Regionality tab, Create new replica keys.
        b.click("#tab-regionality").await;
        b.wait_text("#related-keys", "eu-west-1").await;
        b.click("#create-replicas").await;
        // 7: the menu: only the primary's partition; Regions with a related key not selectable.
        b.click("#replica-regions-toggle").await;
        assert!(
            !b.exists("#region-cn-north-1").await,
            "cn-north-1 is in another partition"
        );
        assert!(b.exists("#region-eu-west-1").await, "eu-west-1 is shown");
        assert!(
            !b.is_enabled("#region-eu-west-1").await,
            "eu-west-1 already has a replica"
        );
        assert!(
            !b.is_enabled("#region-us-east-1").await,
            "us-east-1 holds the primary"
        );
        for r in ["us-west-2", "ap-southeast-2", "eu-central-1"] {
            b.click(&format!("label[for='region-{r}']")).await;
        }
        b.doc_shot("replica-regions-menu.png").await;
        b.assert_labelled("replica form").await;
        b.click("#replica-regions-toggle").await; // close the menu
        b.wait_text("#chosen-regions", "eu-central-1").await;
        b.click("#chosen-regions [data-uncheck='region-eu-central-1']")
            .await;
        let chosen = b.text("#chosen-regions").await;
        assert!(
            chosen.contains("us-west-2") && chosen.contains("ap-southeast-2"),
            "{chosen}"
        );
        assert!(
            !chosen.contains("eu-central-1"),
            "the X cancelled eu-central-1: {chosen}"
        );
        b.shot(&browser::artifacts().join("replica-form.png")).await;
        // 8-10: alias, description and tags prefilled from the primary, then changed.
        assert_eq!(b.value("#replica-alias").await, "atlas");
        b.fill("#replica-alias", "atlas-replica").await;
        assert_eq!(b.value("#replica-description").await, "Primary key");
        b.fill("#replica-description", "Replica key").await;
        assert_eq!(b.value("#tag-key-0").await, "Project");
        assert_eq!(b.value("#tag-value-0").await, "Atlas");
        b.fill("#tag-value-0", "Atlas-DR").await;
        b.fill("#tag-key-1", "Tier").await;
        b.fill("#tag-value-1", "dr").await;
        // 11: key administrators.
        b.click("#admin-0").await;
        b.click("#replica-next").await;
        // 12: review the key policy (the primary's, with the administrators), edit, Finish.
        let proposed = b.value("#replica-policy").await;
        assert!(
            proposed.contains("Enable IAM User Permissions"),
            "{proposed}"
        );
        assert!(
            proposed.contains("Allow access for Key Administrators"),
            "{proposed}"
        );
        let mut doc: serde_json::Value = serde_json::from_str(&proposed).expect("policy json");
        doc["Statement"]
            .as_array_mut()
            .expect("statements")
            .push(serde_json::json!({
                "Sid": "ReplicaOnly", "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "kms:DescribeKey", "Resource": "*"
            }));
        b.set_value(
            "#replica-policy",
            &serde_json::to_string_pretty(&doc).expect("json"),
        )
        .await;
        b.shot(&browser::artifacts().join("replica-review.png"))
            .await;
        b.click("#replica-finish").await;
        for r in ["us-west-2", "ap-southeast-2"] {
            let cell = format!("#replica-results tr[data-region='{r}']");
            b.wait_text(&cell, "Enabled").await;
            assert!(b.text(&cell).await.contains("alias/atlas-replica"));
        }
        assert!(
            !b.exists("#replica-results tr[data-region='eu-central-1']")
                .await
        );
        b.click("#back-to-regionality").await;
        b.wait_text("#related-keys", "ap-southeast-2").await;
        b.wait_text("#related-keys tr[data-region='us-west-2']", "Enabled")
            .await;
        b.doc_shot("regionality-tab.png").await;
        b.assert_labelled("Regionality tab").await;

        // The API: each replica has exactly the properties chosen for it.
        for r in ["us-west-2", "ap-southeast-2"] {
            let kms = server.client(r).await;
            let meta = kms
                .describe_key()
                .key_id(&id)
                .send()
                .await
                .expect("describe")
                .key_metadata
                .expect("meta");
            assert_eq!(meta.description(), Some("Replica key"), "{r}");
            assert_eq!(meta.key_state(), Some(&KeyState::Enabled), "{r}");
            let mr = meta.multi_region_configuration().expect("mrk");
            assert_eq!(
                mr.multi_region_key_type(),
                Some(&MultiRegionKeyType::Replica)
            );
            assert_eq!(
                aliases_of(&server, r, &id).await,
                vec!["alias/atlas-replica".to_string()]
            );
            let tags = tags_of(&server, r, &id).await;
            assert_eq!(
                tags,
                BTreeMap::from([
                    ("Project".into(), "Atlas-DR".into()),
                    ("Tier".into(), "dr".into())
                ]),
                "{r}"
            );
            let policy = policy_of(&server, r, &id).await;
            assert!(
                policy.contains("ReplicaOnly")
                    && policy.contains("Allow access for Key Administrators"),
                "{r}: {policy}"
            );
        }
        // …and the primary and the earlier replica kept theirs.
        assert_eq!(
            aliases_of(&server, "us-east-1", &id).await,
            vec!["alias/atlas".to_string()]
        );
        assert_eq!(
            tags_of(&server, "us-east-1", &id).await,
            BTreeMap::from([("Project".into(), "Atlas".into())])
        );
        assert_eq!(policy_of(&server, "us-east-1", &id).await, primary_policy);
        let primary = east
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .expect("d")
            .key_metadata
            .expect("m");
        assert_eq!(primary.description(), Some("Primary key"));
        let eu = server
            .client("eu-west-1")
            .await
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .expect("d")
            .key_metadata
            .expect("m");
        assert_eq!(eu.description(), Some(""));
        let central = server
            .client("eu-central-1")
            .await
            .describe_key()
            .key_id(&id)
            .send()
            .await;
        assert_eq!(
            common::err_code(&central.expect_err("no replica in eu-central-1")),
            "NotFoundException"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_region_is_shown_beside_the_others_success() {
    browser::run(
        "replica_failure",
        &args(&[]),
        |b: Browser, server| async move {
            let east = server.client("us-east-1").await;
            let id = east
                .create_key()
                .multi_region(true)
                .send()
                .await
                .expect("k")
                .key_metadata
                .expect("m")
                .key_id;
            // In us-west-2 the alias is already taken by an unrelated key.
            let west = server.client("us-west-2").await;
            let other = west
                .create_key()
                .send()
                .await
                .expect("k")
                .key_metadata
                .expect("m")
                .key_id;
            west.create_alias()
                .alias_name("alias/shared")
                .target_key_id(&other)
                .send()
                .await
                .expect("alias");
            b.sign_in().await;
            b.go(&format!("/console/us-east-1/keys/{id}/replicate"))
                .await;
            b.click("#replica-regions-toggle").await;
            b.click("label[for='region-us-west-2']").await;
            b.click("label[for='region-ap-southeast-2']").await;
            b.click("#replica-regions-toggle").await;
            b.fill("#replica-alias", "shared").await;
            b.click("#replica-next").await;
            b.click("#replica-finish").await;
            let bad = b
                .wait_text(
                    "#replica-results tr[data-region='us-west-2']",
                    "AlreadyExistsException",
                )
                .await;
            assert!(bad.contains("alias/shared"), "{bad}");
            let good = b
                .wait_text(
                    "#replica-results tr[data-region='ap-southeast-2']",
                    "Enabled",
                )
                .await;
            assert!(good.contains("created with alias alias/shared"), "{good}");
            assert_eq!(
                aliases_of(&server, "ap-southeast-2", &id).await,
                vec!["alias/shared".to_string()]
            );
            assert!(aliases_of(&server, "us-west-2", &id).await.is_empty());
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_table_sorts_filters_pages_and_chooses_columns() {
    browser::run("key_table", &args(&[]), |b: Browser, server| async move {
        let kms = server.client("us-east-1").await;
        for i in 0..12 {
            let mut req = kms.create_key().description(format!("table key {i}"));
            if i % 2 == 0 {
                req = req.tags(
                    Tag::builder()
                        .tag_key("Team")
                        .tag_value("blue")
                        .build()
                        .expect("tag"),
                );
            }
            let id = req
                .send()
                .await
                .expect("key")
                .key_metadata
                .expect("m")
                .key_id;
            kms.create_alias()
                .alias_name(format!("alias/k{i:02}"))
                .target_key_id(&id)
                .send()
                .await
                .expect("alias");
            if i == 0 {
                kms.create_alias()
                    .alias_name("alias/k00-second")
                    .target_key_id(&id)
                    .send()
                    .await
                    .expect("alias");
                kms.create_alias()
                    .alias_name("alias/k00-third")
                    .target_key_id(&id)
                    .send()
                    .await
                    .expect("alias");
            }
        }
        b.sign_in().await;
        b.wait_text("#page-status", "Page 1 of 2").await;
        let first = b
            .text("#keys-table tbody tr:first-child td[data-col=aliases]")
            .await;
        assert!(
            first.starts_with("k00") && first.contains("+2 more"),
            "{first}"
        );
        b.click("#page-next").await;
        b.wait_text("#page-status", "Page 2 of 2").await;
        b.click("#sort-alias").await; // ascending → descending
        b.wait_text("#page-status", "Page 1 of 2").await;
        assert!(b
            .text("#keys-table tbody tr:first-child td[data-col=aliases]")
            .await
            .starts_with("k11"));
        b.fill("#filter-text", "k0").await;
        b.click("#apply-filter").await;
        b.wait_text("h1 .count", "(10)").await;
        b.fill("#filter-text", "").await;
        b.fill("#filter-tag", "Team=blue").await;
        b.click("#apply-filter").await;
        b.wait_text("h1 .count", "(6)").await;
        b.click("#preferences summary").await;
        b.click("#col-keyspec").await; // off
        b.click("#col-origin").await; // on
        b.click("#col-created").await; // on
        b.select("#page-size", "25").await;
        b.click("#save-preferences").await;
        let head = b.wait_text("#keys-table thead", "Origin").await;
        assert!(
            head.contains("Creation date") && !head.contains("Key spec"),
            "{head}"
        );
        b.wait_text("#page-status", "Page 1 of 1").await;
        assert_eq!(
            b.c.find_all(fantoccini::Locator::Css("#keys-table tbody tr"))
                .await
                .expect("rows")
                .len(),
            12
        );
    })
    .await;
}

struct Wizard {
    key_type: &'static str,
    usage: &'static str,
    spec: &'static str,
    multi_region: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_wizard_makes_each_key_type() {
    browser::run(
        "create_wizard",
        &args(&[]),
        |b: Browser, server| async move {
            b.sign_in().await;
            // A combination AWS does not allow is refused on step 1.
            b.go("/console/us-east-1/create").await;
            b.click("#key_usage-SIGN_VERIFY").await;
            b.click("#wizard-next").await;
            b.wait_text("#form-error", "cannot have the key usage Sign and verify")
                .await;
            // An allowed usage with a key spec that does not fit it is refused too.
            b.click("#key_usage-ENCRYPT_DECRYPT").await;
            b.select("#key-spec", "HMAC_256").await;
            b.click("#wizard-next").await;
            b.wait_text("#form-error", "does not fit").await;

            let kms = server.client("us-east-1").await;
            let cases = [
                Wizard {
                    key_type: "symmetric",
                    usage: "ENCRYPT_DECRYPT",
                    spec: "SYMMETRIC_DEFAULT",
                    multi_region: true,
                },
                Wizard {
                    key_type: "asymmetric",
                    usage: "ENCRYPT_DECRYPT",
                    spec: "RSA_2048",
                    multi_region: false,
                },
                Wizard {
                    key_type: "asymmetric",
                    usage: "SIGN_VERIFY",
                    spec: "ECC_NIST_P256",
                    multi_region: false,
                },
                Wizard {
                    key_type: "symmetric",
                    usage: "GENERATE_VERIFY_MAC",
                    spec: "HMAC_256",
                    multi_region: false,
                },
                Wizard {
                    key_type: "asymmetric",
                    usage: "KEY_AGREEMENT",
                    spec: "ECC_NIST_P384",
                    multi_region: false,
                },
            ];
            for (i, w) in cases.iter().enumerate() {
                b.go("/console/us-east-1/keys").await;
                b.click("#create-key").await;
                b.click(&format!("#key_type-{}", w.key_type)).await;
                if i == 0 {
                    b.shot(&browser::artifacts().join("wizard-step1.png")).await;
                }
                b.click(&format!("#key_usage-{}", w.usage)).await;
                b.select("#key-spec", w.spec).await;
                if w.multi_region {
                    b.click("#regionality-multi").await;
                }
                if i == 0 {
                    b.assert_labelled("wizard step 1").await;
                }
                b.click("#wizard-next").await;
                let alias = format!("wizard-{i}");
                b.fill("#alias", &alias).await;
                b.fill("#description", &format!("made by the wizard: {}", w.spec))
                    .await;
                b.fill("#tag-key-0", "Made").await;
                b.fill("#tag-value-0", "console").await;
                b.click("#wizard-next").await;
                b.click("#admin-0").await;
                b.click("#wizard-next").await;
                b.click("#user-0").await;
                if i == 0 {
                    b.assert_labelled("wizard step 4").await;
                }
                b.click("#wizard-next").await;
                let policy = b.value("#key-policy").await;
                for sid in [
                    "Enable IAM User Permissions",
                    "Allow access for Key Administrators",
                    "Allow use of the key",
                    "Allow attachment of persistent resources",
                ] {
                    assert!(
                        policy.contains(sid),
                        "{} policy lacks {sid}: {policy}",
                        w.spec
                    );
                }
                b.click("#wizard-finish").await;
                b.wait_text(".flash.ok", &format!("alias/{alias}")).await;
                let id = b.text("#key-id").await;
                let meta = kms
                    .describe_key()
                    .key_id(&id)
                    .send()
                    .await
                    .expect("describe")
                    .key_metadata
                    .expect("meta");
                assert_eq!(meta.key_spec(), Some(&KeySpec::from(w.spec)));
                assert_eq!(meta.key_usage(), Some(&KeyUsageType::from(w.usage)));
                assert_eq!(meta.multi_region(), Some(w.multi_region));
                assert_eq!(
                    meta.description(),
                    Some(format!("made by the wizard: {}", w.spec).as_str())
                );
                assert_eq!(
                    aliases_of(&server, "us-east-1", &id).await,
                    vec![format!("alias/{alias}")]
                );
                assert_eq!(
                    tags_of(&server, "us-east-1", &id).await,
                    BTreeMap::from([("Made".into(), "console".into())])
                );
                let stored = policy_of(&server, "us-east-1", &id).await;
                assert!(
                    stored.contains("Allow access for Key Administrators"),
                    "{stored}"
                );
                if w.key_type == "asymmetric" {
                    b.click("#tab-publickey").await;
                    let pem = b.text("#public-key-pem").await;
                    let der = kms
                        .get_public_key()
                        .key_id(&id)
                        .send()
                        .await
                        .expect("public key")
                        .public_key
                        .expect("der");
                    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
                    assert_eq!(
                        B64.decode(body.trim()).expect("pem base64"),
                        der.as_ref(),
                        "{} PEM",
                        w.spec
                    );
                    assert!(b.exists("#download-der").await);
                }
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_through_the_key_material_tab() {
    browser::run(
        "import_material",
        &args(&[]),
        |b: Browser, server| async move {
            b.sign_in().await;
            b.go("/console/us-east-1/create").await;
            b.click("#key_type-symmetric").await;
            b.click("#key_usage-GENERATE_VERIFY_MAC").await;
            b.select("#key-spec", "HMAC_256").await;
            b.click("#origin-EXTERNAL").await;
            for _ in 0..4 {
                b.click("#wizard-next").await;
            }
            b.click("#wizard-finish").await;
            b.find("#get-import-params").await;
            let id = b.text("#key-title").await;
            b.select("#wrapping-algorithm", "RSAES_OAEP_SHA_256").await;
            b.select("#wrapping-key-spec", "RSA_3072").await;
            b.click("#get-import-params").await;
            b.find("#import-params").await;
            b.shot(&browser::artifacts().join("key-material-tab.png"))
                .await;
            let public = B64
                .decode(b.value("#wrapping-public-key").await.trim())
                .expect("public key");
            let token = B64
                .decode(b.value("#import-token").await.trim())
                .expect("token");
            let material: Vec<u8> = (0u8..32)
                .map(|i| i.wrapping_mul(37).wrapping_add(11))
                .collect();
            let wrapped = common::wrapping::wrap(&public, "RSAES_OAEP_SHA_256", &material);
            let dir = tempfile::tempdir().expect("dir");
            let material_file = dir.path().join("EncryptedKeyMaterial.bin");
            let token_file = dir.path().join("ImportToken.bin");
            std::fs::write(&material_file, wrapped).expect("write");
            std::fs::write(&token_file, token).expect("write");
            b.attach("#encrypted-key-material", &material_file).await;
            b.attach("#import-token-file", &token_file).await;
            b.click("#upload-key-material").await;
            b.wait_text(".flash.ok", "imported").await;
            wait_state(&server, "us-east-1", &id, KeyState::Enabled).await;
            // The imported material is the test's: check a MAC with an independent HMAC.
            use hmac::Mac;
            let kms = server.client("us-east-1").await;
            let mac = kms
                .generate_mac()
                .key_id(&id)
                .mac_algorithm(MacAlgorithmSpec::HmacSha256)
                .message(Blob::new(b"console import".to_vec()))
                .send()
                .await
                .expect("mac")
                .mac
                .expect("mac bytes");
            let mut expected = hmac::Hmac::<sha2::Sha256>::new_from_slice(&material).expect("hmac");
            expected.update(b"console import");
            assert_eq!(mac.as_ref(), expected.finalize().into_bytes().as_slice());

            // Delete the key material, then import it again with an expiration date.
            b.go(&format!("/console/us-east-1/keys/{id}?tab=keymaterial"))
                .await;
            b.assert_labelled("Key material tab").await;
            b.click("#delete-key-material").await;
            b.wait_text(".flash.ok", "key material is deleted").await;
            wait_state(&server, "us-east-1", &id, KeyState::PendingImport).await;
            b.select("#wrapping-algorithm", "RSA_AES_KEY_WRAP_SHA_256")
                .await;
            b.click("#get-import-params").await;
            b.wait_text("#import-params", "RSA_AES_KEY_WRAP_SHA_256")
                .await;
            let public = B64
                .decode(b.value("#wrapping-public-key").await.trim())
                .expect("public key");
            let token = B64
                .decode(b.value("#import-token").await.trim())
                .expect("token");
            let wrapped = common::wrapping::wrap(&public, "RSA_AES_KEY_WRAP_SHA_256", &material);
            std::fs::write(&material_file, wrapped).expect("write");
            std::fs::write(&token_file, token).expect("write");
            b.attach("#encrypted-key-material", &material_file).await;
            b.attach("#import-token-file", &token_file).await;
            b.click("#expires-on").await;
            let expiry = chrono::Utc::now().date_naive() + chrono::Days::new(30);
            // A date input's value is ISO 8601 whatever the locale shows.
            b.set_value("#expiration-date", &expiry.format("%Y-%m-%d").to_string())
                .await;
            b.click("#upload-key-material").await;
            b.wait_text(".flash.ok", "imported").await;
            let meta = kms
                .describe_key()
                .key_id(&id)
                .send()
                .await
                .expect("describe")
                .key_metadata
                .expect("meta");
            assert_eq!(meta.key_state(), Some(&KeyState::Enabled));
            let valid_to = meta.valid_to().expect("ValidTo").secs();
            let midnight = expiry
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp();
            assert_eq!(valid_to, midnight, "ValidTo is the chosen date");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_and_cancel_key_deletion() {
    browser::run("deletion", &args(&[]), |b: Browser, server| async move {
        let kms = server.client("us-east-1").await;
        let id = kms
            .create_key()
            .send()
            .await
            .expect("k")
            .key_metadata
            .expect("m")
            .key_id;
        b.sign_in().await;
        b.go(&format!("/console/us-east-1/keys/{id}")).await;
        b.click("#key-actions summary").await;
        b.click("#action-schedule-deletion").await;
        b.fill("#waiting-period", "7").await;
        b.click("#schedule-deletion").await; // not confirmed
        b.wait_text(".flash.error", "Confirm").await;
        assert_eq!(
            kms.describe_key()
                .key_id(&id)
                .send()
                .await
                .expect("d")
                .key_metadata
                .expect("m")
                .key_state,
            Some(KeyState::Enabled)
        );
        b.fill("#waiting-period", "7").await;
        b.click("#confirm-deletion").await;
        b.click("#schedule-deletion").await;
        b.wait_text(".flash.ok", "after 7 days").await;
        let meta = kms
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .expect("d")
            .key_metadata
            .expect("m");
        assert_eq!(meta.key_state(), Some(&KeyState::PendingDeletion));
        assert_eq!(meta.pending_deletion_window_in_days(), Some(7));
        b.wait_text("#key-state", "Pending deletion").await;
        b.click("#key-actions summary").await;
        b.click("#action-cancel-deletion").await;
        b.wait_text(".flash.ok", "cancelled").await;
        wait_state(&server, "us-east-1", &id, KeyState::Disabled).await;
        b.click("#key-actions summary").await;
        b.click("#action-enable").await;
        b.wait_text(".flash.ok", "enabled").await;
        wait_state(&server, "us-east-1", &id, KeyState::Enabled).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_primary_region_shows_updating_until_done() {
    let a = args(&["--primary-update-delay-ms", "8000"]);
    browser::run("primary_region", &a, |b: Browser, server| async move {
        let east = server.client("us-east-1").await;
        let id = east
            .create_key()
            .multi_region(true)
            .send()
            .await
            .expect("k")
            .key_metadata
            .expect("m")
            .key_id;
        east.replicate_key()
            .key_id(&id)
            .replica_region("us-west-2")
            .send()
            .await
            .expect("replica");
        wait_state(&server, "us-west-2", &id, KeyState::Enabled).await;
        b.sign_in().await;
        b.go(&format!("/console/us-east-1/keys/{id}?tab=regionality"))
            .await;
        b.select("#new-primary-region", "us-west-2").await;
        b.click("#change-primary").await;
        b.wait_text("#key-state", "Updating").await;
        // The page polls and reloads by itself when the change is done.
        b.wait_text("#tab-panel", "Multi-Region replica").await;
        b.wait_text("#key-state", "Enabled").await;
        let west = server.client("us-west-2").await;
        let meta = west
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .expect("d")
            .key_metadata
            .expect("m");
        assert_eq!(
            meta.multi_region_configuration()
                .and_then(|m| m.multi_region_key_type()),
            Some(&MultiRegionKeyType::Primary)
        );
        let row = b.text("#related-keys tr[data-region='us-west-2']").await;
        assert!(row.contains("Primary"), "{row}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_detail_tabs_change_the_key_through_the_api() {
    browser::run("detail_tabs", &args(&[]), |b: Browser, server| async move {
        let kms = server.client("us-east-1").await;
        let id = kms
            .create_key()
            .description("before")
            .send()
            .await
            .expect("k")
            .key_metadata
            .expect("m")
            .key_id;
        let base = format!("/console/us-east-1/keys/{id}");
        b.sign_in().await;
        // General configuration: description.
        b.go(&base).await;
        b.fill("#description", "after").await;
        b.click("#save-description").await;
        b.wait_text(".flash.ok", "description is saved").await;
        let meta = kms
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .expect("d")
            .key_metadata
            .expect("m");
        assert_eq!(meta.description(), Some("after"));
        // Key policy: add and remove a key administrator and a key user by ARN.
        let admin = "arn:aws:iam::111122223333:role/KMSAdminRole";
        let user = "arn:aws:iam::111122223333:user/ExampleUser";
        b.go(&format!("{base}?tab=policy")).await;
        b.fill("#admins-arn", admin).await;
        b.click("#add-admins").await;
        b.wait_text("#admins-table", admin).await;
        b.fill("#users-arn", user).await;
        b.click("#add-users").await;
        b.wait_text("#users-table", user).await;
        let policy = policy_of(&server, "us-east-1", &id).await;
        assert!(
            policy.contains("Allow access for Key Administrators") && policy.contains(admin),
            "{policy}"
        );
        assert!(
            policy.contains("Allow attachment of persistent resources") && policy.contains(user),
            "{policy}"
        );
        b.click(&format!(
            "#admins-table button[aria-label='Remove {admin} from Key administrators']"
        ))
        .await;
        b.wait_text(".flash.ok", "removed from the key administrators")
            .await;
        let policy = policy_of(&server, "us-east-1", &id).await;
        assert!(!policy.contains(admin) && policy.contains(user), "{policy}");
        // Policy view: a malformed document is refused with AWS's error, nothing changes.
        b.set_value("#policy-text", "{ not json").await;
        b.click("#save-policy").await;
        b.wait_text(".flash.error", "MalformedPolicyDocumentException")
            .await;
        assert_eq!(policy_of(&server, "us-east-1", &id).await, policy);
        // Tags.
        b.click("#tab-tags").await;
        b.fill("#new-tag-key", "CostCenter").await;
        b.fill("#new-tag-value", "42").await;
        b.click("#add-tag").await;
        b.wait_text("#tags-table", "CostCenter").await;
        assert_eq!(
            tags_of(&server, "us-east-1", &id).await,
            BTreeMap::from([("CostCenter".into(), "42".into())])
        );
        b.click("#tags-table button[aria-label='Remove tag CostCenter']")
            .await;
        b.wait_text(".flash.ok", "tag is removed").await;
        assert!(tags_of(&server, "us-east-1", &id).await.is_empty());
        // Aliases.
        b.click("#tab-aliases").await;
        b.fill("#new-alias", "tabs-test").await;
        b.click("#create-alias").await;
        b.wait_text("#aliases-table", "alias/tabs-test").await;
        assert_eq!(
            aliases_of(&server, "us-east-1", &id).await,
            vec!["alias/tabs-test".to_string()]
        );
        b.click("#aliases-table button[aria-label='Delete alias alias/tabs-test']")
            .await;
        b.wait_text(".flash.ok", "is deleted").await;
        assert!(aliases_of(&server, "us-east-1", &id).await.is_empty());
        // Key rotation: enable with a period, rotate now, see the history.
        b.click("#tab-rotation").await;
        b.click("#rotation-enabled").await;
        b.fill("#rotation-period", "180").await;
        b.click("#save-rotation").await;
        b.wait_text(".flash.ok", "rotation settings").await;
        let status = kms
            .get_key_rotation_status()
            .key_id(&id)
            .send()
            .await
            .expect("status");
        assert!(status.key_rotation_enabled());
        assert_eq!(status.rotation_period_in_days(), Some(180));
        b.click("#rotate-now").await;
        b.wait_text(".flash.ok", "On-demand rotation").await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let n = kms
                .list_key_rotations()
                .key_id(&id)
                .send()
                .await
                .expect("rotations")
                .rotations()
                .len();
            if n == 1 {
                break;
            }
            assert!(Instant::now() < deadline, "no rotation recorded");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        b.go(&format!("{base}?tab=rotation")).await;
        b.wait_text("#rotations-table", "ON_DEMAND").await;
        // Cryptographic configuration reads the key's algorithms.
        b.click("#tab-crypto").await;
        b.wait_text("#tab-panel", "SYMMETRIC_DEFAULT").await;
        // Disable from the key actions.
        b.click("#key-actions summary").await;
        b.click("#action-disable").await;
        b.wait_text(".flash.ok", "disabled").await;
        wait_state(&server, "us-east-1", &id, KeyState::Disabled).await;
    })
    .await;
}

/// Strict mode: an administrator, a user who may look at keys and create replicas' keys but
/// not call kms:ReplicateKey, and a role (for the pickers).
pub const STRICT_PRINCIPALS: &str = r#"
[accounts.111122223333]

[users.admin]
account = "111122223333"
[[users.admin.access_keys]]
id = "AKIAADMIN00000000001"
secret = "admin-secret"
[[users.admin.policies]]
name = "all"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}'

[users.viewer]
account = "111122223333"
[[users.viewer.access_keys]]
id = "AKIAVIEWER0000000001"
secret = "viewer-secret"
[[users.viewer.policies]]
name = "look-but-not-replicate"
document = '''
{"Version":"2012-10-17","Statement":{"Effect":"Allow",
 "Action":["kms:Describe*","kms:Get*","kms:List*","kms:CreateKey","kms:TagResource"],"Resource":"*"}}
'''

[roles.app]
account = "111122223333"
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}'
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_kms_replicate_key_sees_the_denial() {
    browser::run_strict(
        "strict_replicate_denied",
        STRICT_PRINCIPALS,
        &args(&[]),
        |b: Browser, server| async move {
            let admin = server
                .client_as("us-east-1", "AKIAADMIN00000000001", "admin-secret", None)
                .await;
            let id = admin
                .create_key()
                .multi_region(true)
                .description("payments")
                .send()
                .await
                .expect("primary")
                .key_metadata
                .expect("m")
                .key_id;

            // The sign-in form asks for an access key and its secret; a wrong one fails.
            b.sign_in_as("AKIAVIEWER0000000001", "not-the-secret").await;
            b.wait_text("body", "The access key ID or the secret access key is not correct.")
                .await;
            b.sign_in_as("AKIAVIEWER0000000001", "viewer-secret").await;
            b.find("#keys-table").await;
            b.wait_text(
                "body",
                "arn:aws:iam::111122223333:user/viewer",
            )
            .await;
            // ListKeys and DescribeKey are the viewer's: the key is listed.
            b.wait_text(&format!("#keys-table tr[data-key-id='{id}']"), "Enabled")
                .await;

            b.go(&format!("/console/us-east-1/keys/{id}/replicate")).await;
            // The administrators picker lists the principals file's users and roles.
            let admins = b.text("#admin-list").await;
            for arn in [
                "arn:aws:iam::111122223333:user/admin",
                "arn:aws:iam::111122223333:user/viewer",
                "arn:aws:iam::111122223333:role/app",
            ] {
                assert!(admins.contains(arn), "{arn} is not offered: {admins}");
            }
            b.click("#replica-regions-toggle").await;
            b.click("label[for='region-eu-west-1']").await;
            b.click("#replica-regions-toggle").await;
            b.click("#replica-next").await;
            b.click("#replica-finish").await;
            let row = b
                .wait_text(
                    "#replica-results tr[data-region='eu-west-1']",
                    "AccessDeniedException",
                )
                .await;
            assert!(
                row.contains(
                    "User: arn:aws:iam::111122223333:user/viewer is not authorized to perform: kms:ReplicateKey"
                ),
                "{row}"
            );
            // Nothing was made in eu-west-1, and the denial is on record as the viewer's.
            let west = server
                .client_as("eu-west-1", "AKIAADMIN00000000001", "admin-secret", None)
                .await;
            let e = west.describe_key().key_id(&id).send().await;
            assert!(e.is_err(), "a replica exists: {e:?}");
            let record = common::wait_for_record(&server, "us-east-1", "the denied ReplicateKey", |r| {
                r["eventName"] == "ReplicateKey" && r["errorCode"] == "AccessDeniedException"
            })
            .await;
            assert_eq!(
                record["userIdentity"]["arn"],
                "arn:aws:iam::111122223333:user/viewer"
            );
            assert_eq!(record["userIdentity"]["type"], "IAMUser");
        },
    )
    .await;
}
