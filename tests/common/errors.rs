//! AWS errors as the SDK reports them: their code and message, and one assertion that
//! checks both.

use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The AWS error code (`__type`) of a service error, or a description of what else it was.
pub fn err_code<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(se) => {
            se.err().code().map(str::to_string).unwrap_or_else(|| {
                format!("<service error without code: {}>", DisplayErrorContext(e))
            })
        }
        other => format!("<not a service error: {}>", DisplayErrorContext(other)),
    }
}

/// The AWS error message of a service error ("" if it has none).
pub fn err_message<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(se) => se.err().message().unwrap_or("").to_string(),
        other => format!("<not a service error: {}>", DisplayErrorContext(other)),
    }
}

/// Unwrap the error of a call that must fail; panics with the response if it succeeded.
pub fn must_fail<T: std::fmt::Debug, E>(r: Result<T, E>, what: &str) -> E {
    match r {
        Ok(v) => panic!("{what}: expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

/// Assert `e` is the service error `code` and its message contains every piece of `words`.
#[track_caller]
pub fn assert_err<E, R>(e: &SdkError<E, R>, code: &str, words: &[&str])
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let got_code = err_code(e);
    let got_msg = err_message(e);
    assert_eq!(got_code, code, "error code (message: {got_msg:?})");
    for w in words {
        assert!(
            got_msg.contains(w),
            "{code} message {got_msg:?} should contain {w:?}"
        );
    }
}

/// A fake SigV4 Authorization header whose credential scope names `region`
/// (the server takes the Region from the scope; the signature itself is not checked).
pub fn fake_sigv4_authorization(region: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/{region}/kms/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00"
    )
}
