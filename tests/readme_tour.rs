//! Replays the `## Tour` section of README.md with the real aws CLI against the real
//! server binary, so the README's commands keep working verbatim.
//!
//! Needs `HSM_KMS_AWS_CLI` = path of an `aws` executable; `scripts/test` installs the aws
//! CLI into `.venv` and exports it.

mod common;

use std::time::Duration;

use common::readme::{run_script, section_blocks, README_ENDPOINT};
use common::Server;

const TOUR_TIMEOUT: Duration = Duration::from_secs(300);

/// The plaintext the tour encrypts (must match README.md).
const TOUR_PLAINTEXT: &str = "Hello from a PKCS#11 token";

#[test]
fn readme_tour_runs_verbatim_against_the_server() {
    let readme = common::readme::readme();
    let blocks = section_blocks(&readme, "Tour");
    assert!(
        blocks.len() >= 3,
        "README.md `## Tour` should hold the tour as ```bash blocks; found {}",
        blocks.len()
    );
    let tour = blocks.concat();
    for needed in [
        "create-key",
        "describe-key",
        "encrypt",
        "decrypt",
        "create-alias",
        "list-aliases",
        "generate-data-key",
        "--region eu-west-1",
    ] {
        assert!(tour.contains(needed), "the README tour lacks `{needed}`");
    }
    assert!(
        tour.contains(README_ENDPOINT),
        "the README tour should use the endpoint {README_ENDPOINT}"
    );

    let tmp = tempfile::tempdir().expect("temp dir");
    let work_dir = tmp.path().join("work");
    std::fs::create_dir_all(&work_dir).expect("create work dir");
    // A first start, as `scripts/run` gives a new user: the server creates its tokens.
    let server = Server::start_fresh(&["--regions", "us-east-1,eu-west-1"]);

    let script = tour.replace(README_ENDPOINT, &server.url);
    let run = run_script(&script, &work_dir, tmp.path(), TOUR_TIMEOUT);
    let status = run.status;
    let (out, err) = (run.stdout, run.stderr);
    let context = || {
        format!(
            "\n--- tour script ---\n{script}\n--- stdout ---\n{out}\n--- stderr ---\n{err}\n\
             --- server log ---\n{}",
            server.log()
        )
    };

    match status {
        None => panic!(
            "the README tour did not finish within {}s{}",
            TOUR_TIMEOUT.as_secs(),
            context()
        ),
        Some(s) if !s.success() => panic!("the README tour failed ({s}){}", context()),
        Some(_) => {}
    }

    // CreateKey printed the key id (a UUID), and DescribeKey showed the description.
    let key_id = out
        .lines()
        .find_map(|l| l.strip_prefix("created key "))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `created key <id>` line{}", context()))
        .to_string();
    assert!(
        key_id.len() == 36 && key_id.chars().filter(|c| *c == '-').count() == 4,
        "CreateKey returned a KeyId that is not a UUID: {key_id:?}{}",
        context()
    );
    assert!(
        out.contains("\"Description\": \"hsm-kms tour key\""),
        "describe-key should show the description{}",
        context()
    );
    assert!(
        out.contains(&format!(
            "\"Arn\": \"arn:aws:kms:us-east-1:111122223333:key/{key_id}\""
        )),
        "describe-key should show the key ARN in us-east-1, account 111122223333{}",
        context()
    );
    assert!(
        out.contains("\"KeyState\": \"Enabled\""),
        "describe-key should show KeyState Enabled{}",
        context()
    );

    // Encrypt/Decrypt round trip with the encryption context.
    assert!(
        out.lines()
            .any(|l| l == format!("decrypted: {TOUR_PLAINTEXT}")),
        "decrypt should give back `{TOUR_PLAINTEXT}`{}",
        context()
    );
    // The wrong encryption context is refused.
    assert!(
        out.contains("(InvalidCiphertextException) when calling the Decrypt operation"),
        "decrypt with another encryption context should fail with InvalidCiphertextException{}",
        context()
    );

    // Encrypt through the alias reports the key's ARN.
    let key_arn = format!("arn:aws:kms:us-east-1:111122223333:key/{key_id}");
    assert!(
        out.lines().any(|l| l.trim() == key_arn),
        "encrypt via alias/tour should print the KeyId {key_arn}{}",
        context()
    );
    // ListAliases shows the alias pointing at the key.
    assert!(
        out.contains("\"AliasName\": \"alias/tour\""),
        "list-aliases should show alias/tour{}",
        context()
    );
    assert!(
        out.contains(&format!("\"TargetKeyId\": \"{key_id}\"")),
        "list-aliases should show alias/tour's TargetKeyId {key_id}{}",
        context()
    );
    assert!(
        out.contains("\"AliasArn\": \"arn:aws:kms:us-east-1:111122223333:alias/tour\""),
        "list-aliases should show the alias ARN{}",
        context()
    );

    // GenerateDataKey: 32 bytes, and its encrypted copy decrypts to the same bytes.
    assert!(
        out.lines().any(|l| l.trim() == "data key: 32 bytes"),
        "generate-data-key AES_256 should return a 32-byte plaintext key{}",
        context()
    );
    assert!(
        out.lines()
            .any(|l| l.trim() == "data key decrypts to the same bytes"),
        "the encrypted data key should decrypt to the plaintext data key{}",
        context()
    );

    // The us-east-1 key does not exist in eu-west-1.
    assert!(
        out.contains("(NotFoundException) when calling the DescribeKey operation"),
        "describe-key in eu-west-1 should fail with NotFoundException{}",
        context()
    );

    drop(server);
}

#[test]
fn tour_blocks_are_taken_from_the_tour_section_only() {
    let readme = "# t\n\n```\nscripts/run\n```\n\n## Tour\n\ntext\n\n```bash\necho one\n```\n\n\
                  ```toml\nx = 1\n```\n\n```bash\necho two\n```\n\n## Configuration\n\n\
                  ```bash\necho three\n```\n";
    assert_eq!(
        section_blocks(readme, "Tour"),
        vec!["echo one\n", "echo two\n"]
    );
}
