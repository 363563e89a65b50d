//! GetParametersForImport: a fresh RSA wrapping key pair generated inside the Region's
//! token (public half returned as DER SubjectPublicKeyInfo) and an import token bound to
//! the KMS key, the Region, that wrapping key and the algorithm, valid for 24 hours.

use serde::Deserialize;
use serde_json::json;

use crate::domain::job::{JobKind, JobRecord};
use crate::domain::key::random_hex;
use crate::domain::region::Partition;
use crate::domain::request::ConditionValues;
use crate::domain::write::Write;
use crate::hsm::import::{WrappingAlgorithm, WRAPPING_LABEL_PREFIX};
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::import::{self, ImportClaims, PARAMETERS_VALID_FOR_SECONDS};
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{b64, Output};

pub struct GetParametersForImport;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    wrapping_algorithm: String,
    wrapping_key_spec: String,
}

impl Operation for GetParametersForImport {
    const SPEC: Spec = Spec {
        name: "GetParametersForImport",
        action: "kms:GetParametersForImport",
        key_state: Some(Op::GetParametersForImport),
        pool: Pool::Long,
        read_only: true,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn conditions(req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        values.add("kms:WrappingAlgorithm", req.wrapping_algorithm.as_str());
        values.add("kms:WrappingKeySpec", req.wrapping_key_spec.as_str());
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let ctx = call.ctx;
        let key = call.key()?;
        let china = ctx.region.partition() == Partition::AwsCn;
        let bits: u64 = match req.wrapping_key_spec.as_str() {
            "RSA_2048" => 2048,
            "RSA_3072" => 3072,
            "RSA_4096" => 4096,
            "SM2" if china => {
                return Err(KmsError::unsupported(
                    "hsm-kms cannot create SM2 wrapping keys: its PKCS#11 tokens have no SM2. Use an RSA wrapping key spec.",
                ))
            }
            "SM2" => {
                return Err(KmsError::validation(
                    "The SM2 wrapping key spec is supported only in China Regions.",
                ))
            }
            other => {
                return Err(KmsError::validation(format!(
                    "WrappingKeySpec {other} is not valid."
                )))
            }
        };
        let algorithm = match req.wrapping_algorithm.as_str() {
            "RSAES_PKCS1_V1_5" => {
                return Err(KmsError::validation(
                    "The wrapping algorithm RSAES_PKCS1_V1_5 is no longer supported. Use RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1.",
                ))
            }
            "SM2PKE" => {
                return Err(KmsError::validation(if china {
                    "The SM2PKE wrapping algorithm requires the SM2 wrapping key spec."
                } else {
                    "The SM2PKE wrapping algorithm is supported only in China Regions."
                }))
            }
            other => WrappingAlgorithm::parse(other).ok_or_else(|| {
                KmsError::validation(format!("WrappingAlgorithm {other} is not valid."))
            })?,
        };
        // Which key specs take material at all, and with which algorithms, is decided by key
        // spec (RSA and ECC private keys only with RSA_AES_KEY_WRAP_*).
        let kind = import::material_kind(key)?;
        import::check_wrapping_algorithm(key, kind, algorithm)?;

        let now = kms.clock.now();
        let valid_to = now.plus_secs(PARAMETERS_VALID_FOR_SECONDS);
        let nonce = random_hex::<16>();
        let label = format!("{WRAPPING_LABEL_PREFIX}{}/{nonce}", key.key_id);
        // A place to generate first (or ThrottlingException, with nothing written).
        let _place = kms.rsa_generation(ctx.region)?;
        // The clean-up job first: a crash after key generation leaves no pair behind for good.
        kms.commit(vec![Write::PutJob(JobRecord {
            id: import::wrapping_job_id(ctx.region, &label),
            due: valid_to,
            kind: JobKind::DropImportWrappingKey {
                region: ctx.region,
                label: label.clone(),
            },
        })])?;
        let public_key = kms
            .token(ctx.region)?
            .generate_import_wrapping_key(&label, bits, algorithm)
            .map_err(Kms::hsm_error)?;
        let claims = ImportClaims {
            key_id: key.key_id.as_str().to_string(),
            region: ctx.region.as_str().to_string(),
            wrapping_label: label,
            wrapping_algorithm: algorithm.as_str().to_string(),
            wrapping_key_spec: req.wrapping_key_spec,
            valid_to,
        };
        let token = import::seal(kms, ctx.region, &claims)?;
        Ok(json!({
            "KeyId": key.arn(),
            "ImportToken": b64(&token),
            "PublicKey": b64(&public_key),
            "ParametersValidTo": valid_to,
        })
        .into())
    }
}
