//! CloudFormation over HTTP: a form-encoded `POST /` signed for the `cloudformation`
//! service is decoded by the awsQuery codec ([`super::query`]) against the CloudFormation
//! model, run by the CloudFormation service off the async executor (on the bounded pool
//! of long KMS operations: a full pool is `Throttling`), and answered in XML;
//! errors carry the model's code and HTTP status (`ValidationError` is 400 `Sender`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::query::{parse_form, QueryError, QueryModel};
use super::workers::{Blocking, NotRun};
use crate::cloudformation::dispatch;
use crate::cloudformation::error::{CfnError, CfnErrorKind};
use crate::cloudformation::service::CloudFormation;
use crate::domain::request::RequestContext;
use crate::kms::error::Report;

/// The signing name CloudFormation requests carry in their credential scope.
pub const SERVICE: &str = "cloudformation";

fn xml(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// An error response of the query protocol.
pub fn error(code: &str, status: u16, message: &str, request_id: &str) -> Response {
    let body = QueryModel::cloudformation().encode_error(code, message, status < 500, request_id);
    xml(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        body,
        request_id,
    )
}

/// The answer to a caller over the request rate: CloudFormation's `Throttling` error
/// ("Rate exceeded", HTTP 400, a `Sender` fault), which the SDKs and the aws CLI retry.
pub fn throttled(request_id: &str) -> Response {
    error("Throttling", 400, "Rate exceeded", request_id)
}

fn cfn_error(e: &CfnError, request_id: &str) -> Response {
    let model = QueryModel::cloudformation();
    let (code, status) = match e.kind.shape().and_then(|s| model.error_traits(s)) {
        Some(t) => (t.code.clone(), t.http_status),
        None if e.kind == CfnErrorKind::Internal => ("InternalFailure".to_string(), 500),
        None if matches!(
            e.kind,
            CfnErrorKind::AccessDenied | CfnErrorKind::InvalidClientTokenId
        ) =>
        {
            (e.kind.code().to_string(), 403)
        }
        None => ("ValidationError".to_string(), 400),
    };
    error(&code, status, &e.message, request_id)
}

/// Serves one CloudFormation request as the caller `ctx` says (its request id is the
/// response's). An internal error is logged here, once, with the request id and its causes.
pub async fn handle(
    cfn: Arc<CloudFormation>,
    pool: &Blocking,
    ctx: RequestContext,
    body: Bytes,
) -> Response {
    let request_id = ctx.request_id.clone();
    let model = QueryModel::cloudformation();
    let (action, input) = match model.decode(&parse_form(&body)) {
        Ok(x) => x,
        Err(e) => {
            let (code, status) = e.wire();
            let message = match &e {
                QueryError::InvalidAction(m) => m.clone(),
                other => other.message(),
            };
            return error(code, status, &message, &request_id);
        }
    };
    let op = action.clone();
    // The bounded pool the KMS API's long operations run on: when it is full the caller
    // is throttled as AWS throttles it, in the query protocol's form.
    let result = match pool
        .run(move || dispatch::call(&cfn, &ctx, &op, input))
        .await
    {
        Ok(result) => result,
        Err(NotRun::Busy) => return throttled(&request_id),
        Err(NotRun::Failed) => Err(CfnError::internal("the worker running the request failed")),
    };
    match result {
        Ok(output) => xml(
            StatusCode::OK,
            model.encode_result(&action, &output, &request_id),
            &request_id,
        ),
        Err(e) => {
            if e.is_internal() {
                let cause: &(dyn std::error::Error + 'static) =
                    std::error::Error::source(&e).unwrap_or(&e);
                tracing::error!(request_id, action, "internal error: {}", Report(cause));
            }
            cfn_error(&e, &request_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_pool_throttles_in_the_query_protocols_form() {
        let response = throttled("req-1");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["content-type"], "text/xml");
        let body = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 16))
            .expect("body");
        let body = String::from_utf8(body.to_vec()).expect("utf-8");
        for part in [
            "<Type>Sender</Type>",
            "<Code>Throttling</Code>",
            "<Message>Rate exceeded</Message>",
            "<RequestId>req-1</RequestId>",
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
    }

    #[test]
    fn every_modelled_error_kind_maps_to_its_wire_code() {
        let model = QueryModel::cloudformation();
        for (kind, code, status) in [
            (CfnErrorKind::AlreadyExists, "AlreadyExistsException", 400),
            (CfnErrorKind::ChangeSetNotFound, "ChangeSetNotFound", 404),
            (
                CfnErrorKind::InvalidChangeSetStatus,
                "InvalidChangeSetStatus",
                400,
            ),
        ] {
            let t = model
                .error_traits(kind.shape().expect("modelled"))
                .expect("in the model");
            assert_eq!((t.code.as_str(), t.http_status), (code, status), "{kind:?}");
            assert_eq!(kind.code(), code, "{kind:?}: the audit log's errorCode");
        }
    }
}
