//! No plaintext survives in the server's memory (issue 12, item 6). The test reads the
//! running server's whole writable memory as an attacker with access to the process
//! would (`/proc/<pid>/mem`: heap, thread stacks, every anonymous mapping, freed blocks
//! included) after a Decrypt and a GenerateDataKey have been answered, and looks for
//! every 16-byte window of the plaintexts, raw and in base64.
//!
//! The server runs with its debug allocator hook on (`HSM_KMS_DEBUG_KEEP_FREED_MEMORY`,
//! debug builds only: freed memory is never reused, reallocations always move), so a
//! copy that was freed without being wiped is still there to be found, not overwritten
//! by chance.
//!
//! The ciphertext is made by an earlier process on the same data directory, so the
//! process under test has never seen the plaintext in a request: whatever of it is found
//! came from decrypting it. (Before the response buffer was reserved at its final size,
//! the base64 plaintext of a 4 KiB Decrypt was found in the freed first buffer.)

mod common;

use std::io::{Read, Seek, SeekFrom};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine;
use common::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const WINDOW: usize = 16;

/// 16-byte windows of `secret`, every `step` bytes: glibc overwrites the first 16 bytes of
/// a freed block with its list pointers, so a surviving copy may be missing its start.
fn windows(secret: &[u8], step: usize) -> Vec<Vec<u8>> {
    (0..=secret.len().saturating_sub(WINDOW))
        .step_by(step)
        .map(|i| secret[i..i + WINDOW].to_vec())
        .collect()
}

/// Every writable region of process `pid`: (start, end, name).
fn writable_regions(pid: u32) -> Vec<(u64, u64, String)> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("read maps");
    maps.lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let range = parts.next()?;
            let perms = parts.next()?;
            let name = parts.nth(3).unwrap_or("").to_string();
            if !perms.starts_with("rw") || name.starts_with("[v") {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some((
                u64::from_str_radix(start, 16).ok()?,
                u64::from_str_radix(end, 16).ok()?,
                name,
            ))
        })
        .collect()
}

/// Where in process `pid`'s memory any of `needles` occurs: (needle index, region).
fn find_in_memory(pid: u32, needles: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open /proc/pid/mem");
    let finders: Vec<_> = needles
        .iter()
        .map(|(_, n)| memchr::memmem::Finder::new(n))
        .collect();
    let mut hits = Vec::new();
    let mut scanned = 0u64;
    for (start, end, name) in writable_regions(pid) {
        let mut buf = vec![0u8; (end - start) as usize];
        if mem.seek(SeekFrom::Start(start)).is_err() || mem.read_exact(&mut buf).is_err() {
            continue; // guard pages and the like
        }
        scanned += end - start;
        for (i, finder) in finders.iter().enumerate() {
            if let Some(at) = finder.find(&buf) {
                hits.push(format!(
                    "{} at {:#x} in {start:#x}-{end:#x} {name}",
                    needles[i].0,
                    start + at as u64
                ));
            }
        }
    }
    assert!(scanned > 1 << 20, "scanned only {scanned} bytes");
    hits
}

#[tokio::test(flavor = "multi_thread")]
async fn no_plaintext_survives_a_decrypt_or_a_generate_data_key() {
    // Freed memory is never reused or returned, and reallocations move (a test hook of
    // debug builds): a copy of a secret freed unwiped stays where the scan finds it.
    let mut server = Server::start_with_env(
        &["--regions", "us-east-1"],
        &[("HSM_KMS_DEBUG_KEEP_FREED_MEMORY", "1")],
    );
    let kms = server.client("us-east-1").await;
    let (key, _arn) = new_key(&kms).await;
    let mut plaintext = vec![0u8; 4096];
    rand_fill(&mut plaintext);
    let ciphertext = kms
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(plaintext.clone()))
        .send()
        .await
        .expect("Encrypt")
        .ciphertext_blob()
        .expect("blob")
        .clone();
    drop(kms);

    // A process that has never seen the plaintext.
    server.restart();
    let pid = server.pid().expect("running");
    let kms = server.client("us-east-1").await;
    let decrypted = kms
        .decrypt()
        .ciphertext_blob(ciphertext)
        .send()
        .await
        .expect("Decrypt");
    assert_eq!(
        decrypted.plaintext().expect("plaintext").as_ref(),
        &plaintext[..]
    );
    let data_key = kms
        .generate_data_key()
        .key_id(&key)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .expect("GenerateDataKey");
    let data_key = data_key.plaintext().expect("plaintext").as_ref().to_vec();
    assert_eq!(data_key.len(), 32);
    drop(kms);
    // Let the connections close and the audit records be written.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let mut needles = Vec::new();
    for (what, secret, step) in [
        ("decrypted plaintext", plaintext.clone(), 256),
        (
            "decrypted plaintext (base64)",
            B64.encode(&plaintext).into_bytes(),
            256,
        ),
        ("data key", data_key.clone(), 8),
        ("data key (base64)", B64.encode(&data_key).into_bytes(), 8),
    ] {
        for (i, w) in windows(&secret, step).into_iter().enumerate() {
            needles.push((format!("{what} window {i}"), w));
        }
    }
    let hits = find_in_memory(pid, &needles);
    assert!(
        hits.is_empty(),
        "plaintext found in the server's memory:\n{}",
        hits.join("\n")
    );
    // The scan itself finds what is there: the key id is in memory.
    let control = find_in_memory(pid, &[("key id".to_string(), key.as_bytes().to_vec())]);
    assert!(
        !control.is_empty(),
        "the scan does not see the server's memory"
    );
}

/// Random bytes from the operating system.
fn rand_fill(buf: &mut [u8]) {
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .expect("read /dev/urandom");
}
