//! The key-state table (AWS guide: key-state.md): which operation is allowed in which key
//! state, and the error it gets otherwise. Every operation on an existing key consults
//! [`check`]; nothing else decides this.

use super::error::{ErrorKind, KmsError, KmsResult};
use crate::domain::key::{KeyRecord, KeyState, Origin};

/// The operations of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    CancelKeyDeletion,
    CreateAlias,
    CreateGrant,
    Decrypt,
    DeleteAlias,
    DeriveSharedSecret,
    DeleteImportedKeyMaterial,
    DescribeKey,
    DisableKey,
    DisableKeyRotation,
    EnableKey,
    EnableKeyRotation,
    Encrypt,
    GenerateDataKey,
    GenerateDataKeyPair,
    GenerateDataKeyPairWithoutPlaintext,
    GenerateDataKeyWithoutPlaintext,
    GenerateMac,
    GetKeyPolicy,
    GetKeyRotationStatus,
    GetParametersForImport,
    GetPublicKey,
    ImportKeyMaterial,
    ListAliases,
    ListGrants,
    ListKeyPolicies,
    ListResourceTags,
    PutKeyPolicy,
    ReEncrypt,
    ReplicateKey,
    RetireGrant,
    RotateKeyOnDemand,
    ListKeyRotations,
    RevokeGrant,
    ScheduleKeyDeletion,
    Sign,
    TagResource,
    UntagResource,
    UpdateAlias,
    UpdateKeyDescription,
    UpdatePrimaryRegion,
    Verify,
    VerifyMac,
}

/// The table's footnotes that name an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// [1] DisabledException: <arn> is disabled.
    Disabled,
    /// [3] KMSInvalidStateException: <arn> is pending deletion.
    PendingDeletion,
    /// [4] KMSInvalidStateException: <arn> is not pending deletion.
    NotPendingDeletion,
    /// [5] KMSInvalidStateException: <arn> is pending import.
    PendingImport,
    /// [6]/[7] UnsupportedOperationException: <arn> origin is EXTERNAL which is not valid for this operation.
    OriginExternal,
    /// [9] UnsupportedOperationException: <arn> origin is AWS_KMS which is not valid for this operation.
    OriginNotExternal,
    /// [11] KMSInvalidStateException: <arn> is unavailable.
    Unavailable,
    /// [14] KMSInvalidStateException: <arn> is creating.
    Creating,
    /// [15] KMSInvalidStateException: <arn> is updating.
    Updating,
}

/// One cell of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Allow,
    Deny(Note),
    /// [7]: refused with [`Note::OriginExternal`] for imported material, else the inner cell.
    NotForImported(&'static Cell),
    /// [9]: refused with [`Note::OriginNotExternal`] unless imported, else the inner cell.
    OnlyImported(&'static Cell),
}

use Cell::{Allow as A, Deny as D, NotForImported as NI, OnlyImported as OI};
use Note::*;

/// Columns: Enabled, Disabled, PendingDeletion (and PendingReplicaDeletion), PendingImport,
/// Unavailable, Creating, Updating.
type Row = (Op, [Cell; 7]);

#[rustfmt::skip]
pub const TABLE: &[Row] = &[
    (Op::CancelKeyDeletion,       [D(NotPendingDeletion), D(NotPendingDeletion), A, D(NotPendingDeletion), D(NotPendingDeletion), D(NotPendingDeletion), D(NotPendingDeletion)]),
    (Op::CreateAlias,             [A, A, D(PendingDeletion), A, A, A, A]),
    (Op::CreateGrant,             [A, D(Disabled), D(PendingDeletion), D(PendingImport), A, D(Creating), A]),
    (Op::Decrypt,                 [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::DeleteAlias,             [A, A, A, A, A, A, A]),
    (Op::DeriveSharedSecret,      [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::DeleteImportedKeyMaterial, [OI(&A), OI(&A), OI(&A), A, D(Unavailable), D(Creating), D(Updating)]),
    (Op::DescribeKey,             [A, A, A, A, A, A, A]),
    (Op::DisableKey,              [A, A, D(PendingDeletion), D(PendingImport), A, D(Creating), D(Updating)]),
    (Op::DisableKeyRotation,      [NI(&A), NI(&D(Disabled)), NI(&D(PendingDeletion)), D(OriginExternal), NI(&D(Unavailable)), D(Creating), NI(&A)]),
    (Op::EnableKey,               [A, A, D(PendingDeletion), D(PendingImport), A, D(Creating), D(Updating)]),
    (Op::EnableKeyRotation,       [NI(&A), NI(&D(Disabled)), NI(&D(PendingDeletion)), D(OriginExternal), NI(&D(Unavailable)), D(Creating), NI(&A)]),
    (Op::Encrypt,                 [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::GenerateDataKey,         [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::GenerateDataKeyPair,     [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::GenerateDataKeyPairWithoutPlaintext, [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::GenerateDataKeyWithoutPlaintext, [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::GenerateMac,             [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::GetKeyPolicy,            [A, A, A, A, A, A, A]),
    (Op::GetKeyRotationStatus,    [NI(&A), NI(&A), NI(&A), D(OriginExternal), NI(&D(Unavailable)), NI(&A), NI(&A)]),
    (Op::GetParametersForImport,  [OI(&A), OI(&A), OI(&D(PendingDeletion)), A, OI(&D(Unavailable)), D(Creating), D(Updating)]),
    (Op::GetPublicKey,            [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::ImportKeyMaterial,       [OI(&A), OI(&A), OI(&D(PendingDeletion)), A, OI(&D(Unavailable)), D(Creating), A]),
    (Op::ListAliases,             [A, A, A, A, A, A, A]),
    (Op::ListGrants,              [A, A, A, A, A, A, A]),
    (Op::ListKeyPolicies,         [A, A, A, A, A, A, A]),
    (Op::ListResourceTags,        [A, A, A, A, A, A, A]),
    (Op::PutKeyPolicy,            [A, A, A, A, A, A, A]),
    (Op::ReEncrypt,               [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::ReplicateKey,            [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), D(Updating)]),
    (Op::RetireGrant,             [A, A, A, A, A, A, A]),
    // Not in key-state.md's table (newer operations), from the recorded AWS responses:
    // disabled → DisabledException; an EXTERNAL key rotates on demand to material imported
    // for rotation (none pending → KMSInvalidStateException, decided by the operation) and
    // is refused with "is pending import." while it has no material. ListKeyRotations
    // lists imported material (and its import state) in every state but Unavailable.
    (Op::RotateKeyOnDemand,       [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), D(Updating)]),
    (Op::ListKeyRotations,        [A, A, A, A, D(Unavailable), A, A]),
    (Op::RevokeGrant,             [A, A, A, A, A, A, A]),
    (Op::ScheduleKeyDeletion,     [A, A, D(PendingDeletion), A, A, A, D(Updating)]),
    (Op::Sign,                    [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::TagResource,             [A, A, D(PendingDeletion), A, A, A, A]),
    (Op::UntagResource,           [A, A, D(PendingDeletion), A, A, A, A]),
    (Op::UpdateAlias,             [A, A, A, A, A, A, A]),
    (Op::UpdateKeyDescription,    [A, A, D(PendingDeletion), A, A, A, A]),
    (Op::UpdatePrimaryRegion,     [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::Verify,                  [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
    (Op::VerifyMac,               [A, D(Disabled), D(PendingDeletion), D(PendingImport), D(Unavailable), D(Creating), A]),
];

fn column(state: KeyState) -> usize {
    match state {
        KeyState::Enabled => 0,
        KeyState::Disabled => 1,
        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion => 2,
        KeyState::PendingImport => 3,
        KeyState::Unavailable => 4,
        KeyState::Creating => 5,
        KeyState::Updating => 6,
    }
}

/// The cell of the table for `op` in `state`.
pub fn cell(op: Op, state: KeyState) -> Cell {
    TABLE
        .iter()
        .find(|(o, _)| *o == op)
        .map(|(_, cells)| cells[column(state)])
        .unwrap_or(Cell::Allow)
}

/// Decides whether `op` may run on `key` in its current state.
pub fn check(op: Op, key: &KeyRecord) -> KmsResult<()> {
    resolve(cell(op, key.state), key)
}

fn resolve(cell: Cell, key: &KeyRecord) -> KmsResult<()> {
    match cell {
        Cell::Allow => Ok(()),
        Cell::Deny(note) => Err(error(note, key)),
        Cell::NotForImported(inner) => {
            if key.origin == Origin::External {
                Err(error(OriginExternal, key))
            } else {
                resolve(*inner, key)
            }
        }
        Cell::OnlyImported(inner) => {
            if key.origin != Origin::External {
                Err(error(OriginNotExternal, key))
            } else {
                resolve(*inner, key)
            }
        }
    }
}

/// The error a footnote names, for `key`.
pub fn error(note: Note, key: &KeyRecord) -> KmsError {
    let arn = key.arn();
    let pending = if key.state == KeyState::PendingReplicaDeletion {
        "pending replica deletion"
    } else {
        "pending deletion"
    };
    match note {
        Disabled => KmsError::new(ErrorKind::Disabled, format!("{arn} is disabled.")),
        PendingDeletion => KmsError::invalid_state(format!("{arn} is {pending}.")),
        NotPendingDeletion => KmsError::invalid_state(format!("{arn} is not pending deletion.")),
        PendingImport => KmsError::invalid_state(format!("{arn} is pending import.")),
        OriginExternal => KmsError::unsupported(format!(
            "{arn} origin is EXTERNAL which is not valid for this operation."
        )),
        OriginNotExternal => KmsError::unsupported(format!(
            "{arn} origin is {} which is not valid for this operation.",
            key.origin.as_str()
        )),
        Unavailable => KmsError::invalid_state(format!("{arn} is unavailable.")),
        Creating => KmsError::invalid_state(format!("{arn} is creating.")),
        Updating => KmsError::invalid_state(format!("{arn} is updating.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::KeyId;
    use crate::domain::key::{KeySpec, KeyUsage};
    use crate::domain::region::Region;

    fn key(state: KeyState, origin: Origin) -> KeyRecord {
        KeyRecord {
            key_id: KeyId::new_single_region(),
            region: Region::parse("us-east-1").expect("catalogue"),
            account_id: "111122223333".into(),
            created: crate::domain::time::Timestamp::EPOCH,
            description: String::new(),
            key_spec: KeySpec::SymmetricDefault,
            key_usage: KeyUsage::EncryptDecrypt,
            origin,
            state,
            deletion_date: None,
            pending_window_days: None,
            policy: String::new(),
            tags: vec![],
            materials: vec![],
            rotation_enabled: false,
            rotation_period_days: None,
            multi_region: None,
            next_rotation: None,
            on_demand_rotations: 0,
            rotation_started: None,
            imported: vec![],
        }
    }

    #[test]
    fn every_operation_has_exactly_one_row() {
        for (i, (a, _)) in TABLE.iter().enumerate() {
            for (b, _) in &TABLE[i + 1..] {
                assert_ne!(a, b, "duplicate row");
            }
        }
        assert_eq!(TABLE.len(), 43);
    }

    #[test]
    fn crypto_on_a_disabled_key_is_disabled_exception() {
        let k = key(KeyState::Disabled, Origin::AwsKms);
        let e = check(Op::Encrypt, &k).unwrap_err();
        assert_eq!(e.kind.aws_name(), "DisabledException");
        assert_eq!(e.message, format!("{} is disabled.", k.arn()));
    }

    #[test]
    fn crypto_on_a_key_pending_deletion_is_invalid_state() {
        let k = key(KeyState::PendingDeletion, Origin::AwsKms);
        for op in [Op::Encrypt, Op::Decrypt, Op::GenerateDataKey, Op::ReEncrypt] {
            let e = check(op, &k).unwrap_err();
            assert_eq!(e.kind.aws_name(), "KMSInvalidStateException");
            assert!(e.message.ends_with("is pending deletion."));
        }
    }

    #[test]
    fn a_creating_replica_refuses_crypto_with_is_creating() {
        let k = key(KeyState::Creating, Origin::AwsKms);
        let e = check(Op::Encrypt, &k).unwrap_err();
        assert_eq!(e.message, format!("{} is creating.", k.arn()));
    }

    #[test]
    fn crypto_keeps_working_while_updating() {
        let k = key(KeyState::Updating, Origin::AwsKms);
        assert!(check(Op::Encrypt, &k).is_ok());
        assert!(check(Op::Decrypt, &k).is_ok());
        let e = check(Op::DisableKey, &k).unwrap_err();
        assert!(e.message.ends_with("is updating."));
    }

    #[test]
    fn cancel_deletion_needs_pending_deletion() {
        let k = key(KeyState::Enabled, Origin::AwsKms);
        let e = check(Op::CancelKeyDeletion, &k).unwrap_err();
        assert_eq!(e.kind.aws_name(), "KMSInvalidStateException");
        assert!(e.message.ends_with("is not pending deletion."));
        assert!(check(
            Op::CancelKeyDeletion,
            &key(KeyState::PendingReplicaDeletion, Origin::AwsKms)
        )
        .is_ok());
    }

    #[test]
    fn rotation_is_refused_for_imported_material() {
        let k = key(KeyState::Enabled, Origin::External);
        let e = check(Op::EnableKeyRotation, &k).unwrap_err();
        assert_eq!(e.kind.aws_name(), "UnsupportedOperationException");
        assert!(check(
            Op::EnableKeyRotation,
            &key(KeyState::Enabled, Origin::AwsKms)
        )
        .is_ok());
    }

    #[test]
    fn on_demand_rotation_is_allowed_for_enabled_imported_keys_only() {
        let k = key(KeyState::Enabled, Origin::External);
        assert!(check(Op::RotateKeyOnDemand, &k).is_ok());
        let pending = key(KeyState::PendingImport, Origin::External);
        let e = check(Op::RotateKeyOnDemand, &pending).unwrap_err();
        assert_eq!(e.kind.aws_name(), "KMSInvalidStateException");
        assert_eq!(e.message, format!("{} is pending import.", pending.arn()));
        let disabled = key(KeyState::Disabled, Origin::External);
        let e = check(Op::RotateKeyOnDemand, &disabled).unwrap_err();
        assert_eq!(e.kind.aws_name(), "DisabledException");
        assert_eq!(e.message, format!("{} is disabled.", disabled.arn()));
        // Automatic rotation stays refused for imported material.
        let e = check(Op::EnableKeyRotation, &k).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "{} origin is EXTERNAL which is not valid for this operation.",
                k.arn()
            )
        );
    }

    #[test]
    fn key_rotations_are_listed_for_imported_keys_in_every_state_but_unavailable() {
        for state in [
            KeyState::Enabled,
            KeyState::Disabled,
            KeyState::PendingDeletion,
            KeyState::PendingImport,
            KeyState::Creating,
            KeyState::Updating,
        ] {
            assert!(check(Op::ListKeyRotations, &key(state, Origin::External)).is_ok());
            assert!(check(Op::ListKeyRotations, &key(state, Origin::AwsKms)).is_ok());
        }
        let k = key(KeyState::Unavailable, Origin::External);
        let e = check(Op::ListKeyRotations, &k).unwrap_err();
        assert_eq!(e.message, format!("{} is unavailable.", k.arn()));
    }

    #[test]
    fn import_parameters_only_for_external_origin() {
        let k = key(KeyState::Enabled, Origin::AwsKms);
        let e = check(Op::GetParametersForImport, &k).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "{} origin is AWS_KMS which is not valid for this operation.",
                k.arn()
            )
        );
    }

    #[test]
    fn metadata_operations_work_in_every_state() {
        for state in [
            KeyState::Enabled,
            KeyState::Disabled,
            KeyState::PendingDeletion,
            KeyState::PendingImport,
            KeyState::Creating,
            KeyState::Updating,
        ] {
            let k = key(state, Origin::AwsKms);
            assert!(check(Op::DescribeKey, &k).is_ok());
            assert!(check(Op::GetKeyPolicy, &k).is_ok());
            assert!(check(Op::ListResourceTags, &k).is_ok());
        }
    }
}
