//! Aliases (CreateAlias, UpdateAlias, DeleteAlias, ListAliases) and tags
//! (TagResource, UntagResource, ListResourceTags), following AWS's recorded behaviour.

mod common;

use common::*;

const R: &str = "us-east-1";

async fn tags_of(kms: &aws_sdk_kms::Client, key: &str) -> Vec<(String, String)> {
    let out = kms
        .list_resource_tags()
        .key_id(key)
        .send()
        .await
        .expect("ListResourceTags");
    assert!(!out.truncated());
    out.tags()
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------- aliases

#[tokio::test(flavor = "multi_thread")]
async fn create_alias_and_list_aliases() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (a, _) = new_key(&kms).await;
    let (b, _) = new_key(&kms).await;
    for (name, key) in [("alias/one", &a), ("alias/two", &a), ("alias/three", &b)] {
        kms.create_alias()
            .alias_name(name)
            .target_key_id(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateAlias {name}: {}", err_message(&e)));
    }

    let all = kms.list_aliases().send().await.expect("ListAliases");
    let mut ours: Vec<(String, String, String)> = all
        .aliases()
        .iter()
        .filter(|e| !e.alias_name().unwrap_or("").starts_with("alias/aws/"))
        .map(|e| {
            (
                e.alias_name().unwrap().to_string(),
                e.alias_arn().unwrap().to_string(),
                e.target_key_id().unwrap_or("").to_string(),
            )
        })
        .collect();
    ours.sort();
    let mut want = vec![
        (
            "alias/one".to_string(),
            Server::alias_arn(R, "alias/one"),
            a.clone(),
        ),
        (
            "alias/three".to_string(),
            Server::alias_arn(R, "alias/three"),
            b.clone(),
        ),
        (
            "alias/two".to_string(),
            Server::alias_arn(R, "alias/two"),
            a.clone(),
        ),
    ];
    want.sort();
    assert_eq!(ours, want);
    for e in all.aliases() {
        if !e.alias_name().unwrap_or("").starts_with("alias/aws/") {
            assert!(e.creation_date().is_some(), "CreationDate on {e:?}");
        }
    }

    // Filtered by KeyId (id or ARN).
    let for_a = kms
        .list_aliases()
        .key_id(&a)
        .send()
        .await
        .expect("ListAliases KeyId");
    let mut names: Vec<&str> = for_a
        .aliases()
        .iter()
        .filter_map(|e| e.alias_name())
        .collect();
    names.sort();
    assert_eq!(names, vec!["alias/one", "alias/two"]);
    assert!(for_a
        .aliases()
        .iter()
        .all(|e| e.target_key_id() == Some(a.as_str())));

    let for_b = kms
        .list_aliases()
        .key_id(Server::key_arn(R, &b))
        .send()
        .await
        .expect("ListAliases KeyId=ARN");
    let names: Vec<&str> = for_b
        .aliases()
        .iter()
        .filter_map(|e| e.alias_name())
        .collect();
    assert_eq!(names, vec!["alias/three"]);

    // Aliases are per Region.
    let eu = server.client("eu-west-1").await;
    let eu_all = eu.list_aliases().send().await.unwrap();
    assert!(
        eu_all
            .aliases()
            .iter()
            .all(|e| !["alias/one", "alias/two", "alias/three"]
                .contains(&e.alias_name().unwrap_or(""))),
        "us-east-1 aliases are not listed in eu-west-1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alias_name_must_start_with_alias_prefix() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;
    let e = must_fail(
        kms.create_alias()
            .alias_name("my-alias")
            .target_key_id(&id)
            .send()
            .await,
        "CreateAlias without prefix",
    );
    assert_err(
        &e,
        "ValidationException",
        &["Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alias_aws_prefix_is_reserved() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;
    let r = kms
        .create_alias()
        .alias_name("alias/aws/mine")
        .target_key_id(&id)
        .send()
        .await;
    let e = must_fail(r, "CreateAlias alias/aws/...");
    assert!(
        !err_code(&e).starts_with('<'),
        "a service error: {}",
        err_code(&e)
    );
    let listed = kms.list_aliases().key_id(&id).send().await.unwrap();
    assert!(
        listed.aliases().is_empty(),
        "no alias was created: {:?}",
        listed.aliases()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_alias_already_exists() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (a, _) = new_key(&kms).await;
    let (b, _) = new_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/dup")
        .target_key_id(&a)
        .send()
        .await
        .unwrap();
    let e = must_fail(
        kms.create_alias()
            .alias_name("alias/dup")
            .target_key_id(&b)
            .send()
            .await,
        "duplicate alias",
    );
    assert_err(
        &e,
        "AlreadyExistsException",
        &["alias/dup", "already exists"],
    );
    // The alias still points at the first key.
    let d = kms.describe_key().key_id("alias/dup").send().await.unwrap();
    assert_eq!(d.key_metadata().unwrap().key_id(), a);
}

#[tokio::test(flavor = "multi_thread")]
async fn alias_to_unknown_key_is_not_found() {
    let server = Server::start();
    let kms = server.client(R).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let e = must_fail(
        kms.create_alias()
            .alias_name("alias/orphan")
            .target_key_id(&unknown)
            .send()
            .await,
        "CreateAlias to unknown key",
    );
    assert_err(
        &e,
        "NotFoundException",
        &[&format!(
            "Key '{}' does not exist",
            Server::key_arn(R, &unknown)
        )],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_alias_points_to_another_key() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (a, _) = new_key(&kms).await;
    let (b, b_arn) = new_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/moving")
        .target_key_id(&a)
        .send()
        .await
        .unwrap();
    kms.update_alias()
        .alias_name("alias/moving")
        .target_key_id(&b)
        .send()
        .await
        .expect("UpdateAlias");

    let d = kms
        .describe_key()
        .key_id("alias/moving")
        .send()
        .await
        .unwrap();
    assert_eq!(d.key_metadata().unwrap().key_id(), b);
    let enc = kms
        .encrypt()
        .key_id("alias/moving")
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(enc.key_id(), Some(b_arn.as_str()));
    let listed = kms.list_aliases().key_id(&b).send().await.unwrap();
    assert_eq!(listed.aliases().len(), 1);
    assert_eq!(listed.aliases()[0].alias_name(), Some("alias/moving"));
    assert!(kms
        .list_aliases()
        .key_id(&a)
        .send()
        .await
        .unwrap()
        .aliases()
        .is_empty());

    // UpdateAlias of an alias that does not exist.
    let e = must_fail(
        kms.update_alias()
            .alias_name("alias/ghost")
            .target_key_id(&b)
            .send()
            .await,
        "UpdateAlias unknown",
    );
    assert_eq!(err_code(&e), "NotFoundException", "{}", err_message(&e));
    assert!(
        err_message(&e).contains("alias/ghost"),
        "{}",
        err_message(&e)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_alias() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (a, _) = new_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/temp")
        .target_key_id(&a)
        .send()
        .await
        .unwrap();
    kms.delete_alias()
        .alias_name("alias/temp")
        .send()
        .await
        .expect("DeleteAlias");

    let e = must_fail(
        kms.describe_key().key_id("alias/temp").send().await,
        "DescribeKey deleted alias",
    );
    assert_eq!(err_code(&e), "NotFoundException", "{}", err_message(&e));
    assert!(kms
        .list_aliases()
        .key_id(&a)
        .send()
        .await
        .unwrap()
        .aliases()
        .is_empty());
    // The key is untouched.
    kms.describe_key()
        .key_id(&a)
        .send()
        .await
        .expect("key still there");

    let e = must_fail(
        kms.delete_alias().alias_name("alias/temp").send().await,
        "delete twice",
    );
    assert_eq!(err_code(&e), "NotFoundException", "{}", err_message(&e));
    assert!(
        err_message(&e).contains("alias/temp"),
        "{}",
        err_message(&e)
    );

    // The name can be reused.
    kms.create_alias()
        .alias_name("alias/temp")
        .target_key_id(&a)
        .send()
        .await
        .expect("reuse");
}

// ---------------------------------------------------------------- tags

#[tokio::test(flavor = "multi_thread")]
async fn tag_existing_key_and_untag() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;
    kms.tag_resource()
        .key_id(&id)
        .tags(tag("tag1", "value1"))
        .tags(tag("tag2", "value2"))
        .send()
        .await
        .expect("TagResource");
    assert_eq!(
        tags_of(&kms, &id).await,
        pairs(&[("tag1", "value1"), ("tag2", "value2")])
    );
    kms.untag_resource()
        .key_id(&id)
        .tag_keys("tag1")
        .tag_keys("tag2")
        .send()
        .await
        .expect("UntagResource");
    assert_eq!(tags_of(&kms, &id).await, vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn create_key_with_tags_and_untag_partially() {
    let server = Server::start();
    let kms = server.client(R).await;
    let out = kms
        .create_key()
        .tags(tag("tag1", "value1"))
        .tags(tag("tag2", "value2"))
        .tags(tag("tag3", "value3"))
        .send()
        .await
        .unwrap();
    let id = out.key_metadata().unwrap().key_id().to_string();
    assert_eq!(
        tags_of(&kms, &id).await,
        pairs(&[("tag1", "value1"), ("tag2", "value2"), ("tag3", "value3")])
    );
    kms.untag_resource()
        .key_id(&id)
        .tag_keys("tag2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&kms, &id).await,
        pairs(&[("tag1", "value1"), ("tag3", "value3")])
    );
    // Untagging a key that is not there is fine.
    kms.untag_resource()
        .key_id(&id)
        .tag_keys("nope")
        .send()
        .await
        .expect("untag absent");
    assert_eq!(tags_of(&kms, &id).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn updating_a_tag_keeps_its_position() {
    let server = Server::start();
    let kms = server.client(R).await;
    let out = kms
        .create_key()
        .tags(tag("tag1", "value1"))
        .tags(tag("tag2", "value2"))
        .tags(tag("tag3", "value3"))
        .send()
        .await
        .unwrap();
    let id = out.key_metadata().unwrap().key_id().to_string();
    kms.tag_resource()
        .key_id(&id)
        .tags(tag("tag4", "value4"))
        .tags(tag("tag2", "updated_value2"))
        .tags(tag("tag5", "value5"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&kms, &id).await,
        pairs(&[
            ("tag1", "value1"),
            ("tag2", "updated_value2"),
            ("tag3", "value3"),
            ("tag4", "value4"),
            ("tag5", "value5"),
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_tag_keys_in_one_request() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;
    let e = must_fail(
        kms.tag_resource()
            .key_id(&id)
            .tags(tag("tag1", "value1"))
            .tags(tag("tag1", "another-value1"))
            .send()
            .await,
        "duplicate tag keys",
    );
    assert_err(&e, "TagException", &["Duplicate tag keys"]);
    assert_eq!(tags_of(&kms, &id).await, vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_prefix_tags_are_reserved() {
    let server = Server::start();
    let kms = server.client(R).await;

    for key in ["aws:key1", "AWS:key1", "Aws:key1"] {
        let e = must_fail(
            kms.create_key().tags(tag(key, "value1")).send().await,
            &format!("CreateKey with tag {key}"),
        );
        assert_err(
            &e,
            "TagException",
            &["Tags beginning with aws: are reserved"],
        );
    }
    let listed = kms.list_keys().send().await.unwrap();
    assert!(
        listed.keys().is_empty(),
        "no key created by a rejected CreateKey"
    );

    let (id, _) = new_key(&kms).await;
    for key in ["aws:key1", "AWS:key1"] {
        let e = must_fail(
            kms.tag_resource()
                .key_id(&id)
                .tags(tag(key, "value1"))
                .send()
                .await,
            &format!("TagResource {key}"),
        );
        assert_err(
            &e,
            "TagException",
            &["Tags beginning with aws: are reserved"],
        );
    }
    assert_eq!(tags_of(&kms, &id).await, vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn at_most_50_tags() {
    let server = Server::start();
    let kms = server.client(R).await;

    let mut req = kms.create_key();
    for i in 0..=50 {
        req = req.tags(tag(&format!("key{i}"), &format!("value{i}")));
    }
    let e = must_fail(req.send().await, "51 tags");
    assert_err(&e, "TagException", &["Too many tags"]);

    let mut req = kms.create_key();
    for i in 0..50 {
        req = req.tags(tag(&format!("key{i}"), &format!("value{i}")));
    }
    let out = req.send().await.expect("50 tags are fine");
    let id = out.key_metadata().unwrap().key_id().to_string();
    let tags = tags_of(&kms, &id).await;
    assert_eq!(tags.len(), 50);
    assert_eq!(tags[0], ("key0".to_string(), "value0".to_string()));
    assert_eq!(tags[49], ("key49".to_string(), "value49".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_value_and_key_length_limits() {
    let server = Server::start();
    let kms = server.client(R).await;

    let long_value = "v".repeat(257);
    let e = must_fail(
        kms.create_key().tags(tag("tag1", &long_value)).send().await,
        "257-char tag value",
    );
    assert_err(
        &e,
        "ValidationException",
        &[&format!(
            "1 validation error detected: Value '{long_value}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"
        )],
    );

    let long_key = "a".repeat(129);
    let e = must_fail(
        kms.create_key().tags(tag(&long_key, "value1")).send().await,
        "129-char tag key",
    );
    assert_err(
        &e,
        "ValidationException",
        &[&format!(
            "1 validation error detected: Value '{long_key}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128"
        )],
    );

    // At the limits it is accepted.
    let out = kms
        .create_key()
        .tags(tag(&"a".repeat(128), &"v".repeat(256)))
        .send()
        .await
        .expect("128/256 is fine");
    let id = out.key_metadata().unwrap().key_id().to_string();
    assert_eq!(tags_of(&kms, &id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_on_unknown_key_are_not_found() {
    let server = Server::start();
    let kms = server.client(R).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let want = format!("Key '{}' does not exist", Server::key_arn(R, &unknown));
    let e = must_fail(
        kms.tag_resource()
            .key_id(&unknown)
            .tags(tag("a", "b"))
            .send()
            .await,
        "TagResource unknown",
    );
    assert_err(&e, "NotFoundException", &[&want]);
    let e = must_fail(
        kms.list_resource_tags().key_id(&unknown).send().await,
        "ListResourceTags unknown",
    );
    assert_err(&e, "NotFoundException", &[&want]);
}
