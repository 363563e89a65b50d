#!/usr/bin/env python3
"""AWS Encryption SDK check for multi-Region keys against hsm-kms.

Usage: mrk_roundtrip.py ENDPOINT_URL PRIMARY_ARN REPLICA_ARN

Encrypts a message under the multi-Region primary key ARN (its Region, e.g. us-east-1)
with an MRK-aware strict master key provider, then decrypts it

  1. with an MRK-aware strict provider configured ONLY with the replica's ARN, and
  2. with an MRK-aware discovery provider whose discovery Region is the replica's Region,

and checks that every Decrypt call went to the replica's Region (never to the primary's).
Exits 0 and prints "OK" only if the plaintext round-trips both ways.

Every botocore client points at ENDPOINT_URL through AWS_ENDPOINT_URL_KMS, which
botocore >= 1.31 honours for clients created without an explicit endpoint_url (the
Encryption SDK's providers create their regional clients themselves from the
`botocore_session` they are given).
"""

import os
import sys


def arn_region(arn):
    # arn:aws:kms:REGION:ACCOUNT:key/ID
    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "kms":
        raise SystemExit(f"not a KMS key ARN: {arn!r}")
    return parts[3], parts[4], parts[1]


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    endpoint, primary_arn, replica_arn = argv[1:]

    # Must be set before any botocore session/client is created.
    os.environ["AWS_ENDPOINT_URL_KMS"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "secret")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    # Keep the user's ~/.aws files out of the picture.
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ.pop("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", None)

    import botocore.session
    import aws_encryption_sdk
    from aws_encryption_sdk import CommitmentPolicy
    from aws_encryption_sdk.key_providers.kms import (
        DiscoveryFilter,
        MRKAwareDiscoveryAwsKmsMasterKeyProvider,
        MRKAwareStrictAwsKmsMasterKeyProvider,
    )

    primary_region, account, partition = arn_region(primary_arn)
    replica_region, _, _ = arn_region(replica_arn)
    if primary_region == replica_region:
        raise SystemExit("primary and replica ARNs must be in different Regions")

    calls = []  # (operation, region) of every KMS request signed

    def record(operation_name=None, region_name=None, **_kwargs):
        calls.append((operation_name, region_name))

    def session():
        s = botocore.session.Session()
        s.register("before-sign.kms", record)
        return s

    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    plaintext = os.urandom(1000) + b"hsm-kms multi-Region round trip"
    context = {"purpose": "hsm-kms mrk test"}

    # Encrypt under the primary ARN.
    enc_provider = MRKAwareStrictAwsKmsMasterKeyProvider(
        key_ids=[primary_arn], botocore_session=session()
    )
    ciphertext, enc_header = client.encrypt(
        source=plaintext, key_provider=enc_provider, encryption_context=context
    )
    edk_ids = [
        edk.key_provider.key_info.decode() for edk in enc_header.encrypted_data_keys
    ]
    print(f"encrypted under {edk_ids}")
    if edk_ids != [primary_arn]:
        print(f"FAIL: expected one data key under {primary_arn}, got {edk_ids}")
        return 1
    enc_calls = list(calls)
    if ("GenerateDataKey", primary_region) not in enc_calls:
        print(f"FAIL: no GenerateDataKey in {primary_region}: {enc_calls}")
        return 1

    results = {}

    # 1. Strict MRK-aware provider that knows only the replica ARN.
    del calls[:]
    strict = MRKAwareStrictAwsKmsMasterKeyProvider(
        key_ids=[replica_arn], botocore_session=session()
    )
    got, dec_header = client.decrypt(source=ciphertext, key_provider=strict)
    results["strict(replica ARN)"] = (got == plaintext, list(calls))
    if dec_header.encryption_context.get("purpose") != context["purpose"]:
        print(f"FAIL: encryption context lost: {dec_header.encryption_context}")
        return 1

    # 2. MRK-aware discovery provider in the replica's Region.
    del calls[:]
    discovery = MRKAwareDiscoveryAwsKmsMasterKeyProvider(
        discovery_region=replica_region,
        discovery_filter=DiscoveryFilter(account_ids=[account], partition=partition),
        botocore_session=session(),
    )
    got, _ = client.decrypt(source=ciphertext, key_provider=discovery)
    results["discovery(" + replica_region + ")"] = (got == plaintext, list(calls))

    ok = True
    for name, (matched, seen) in results.items():
        print(f"{name}: plaintext matches={matched} calls={seen}")
        if not matched:
            ok = False
            print(f"FAIL: {name}: plaintext differs")
        decrypts = [r for (op, r) in seen if op == "Decrypt"]
        if not decrypts or any(r != replica_region for r in decrypts):
            ok = False
            print(f"FAIL: {name}: Decrypt calls went to {decrypts}, expected only {replica_region}")
    if not ok:
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
