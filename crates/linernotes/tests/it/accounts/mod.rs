//! Accounts end to end, through HTTP and gRPC: the session lifecycle with refresh-token rotation and
//! reuse detection, throttling and its expiry (with a manual clock), enumeration resistance, the
//! registration race, bcrypt import and upgrade, admin authorisation, deletion and purge, export, the
//! audit log, password reset and bad input.
//!
//! - [`sessions`]: the session lifecycle, token expiry, listing and revoking, refresh and login races;
//! - [`throttling`]: lockouts, per-address and per-IP counters, enumeration resistance;
//! - [`lifecycle`]: registration, deletion, purge, export;
//! - [`profile`]: profile, password change and reset, a user's own security events;
//! - [`admin`]: admin authorisation and actions, `users create-admin`, `users import`;
//! - [`mail`]: SMTP delivery, the outbox fallback, background delivery;
//! - [`audit`]: every audit action written;
//! - this file: the account services in gRPC health and reflection.

mod admin;
mod audit;
mod hardening;
mod lifecycle;
mod mail;
mod pages;
mod profile;
mod sessions;
mod throttling;

use crate::helpers::*;

/// gRPC health reports the three account services as serving, and reflection lists them.
#[tokio::test]
async fn account_services_are_in_health_and_reflection() {
    let app = TestApp::spawn().await;
    let channel = app.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in linernotes::grpc::SERVICE_NAMES {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health check")
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service}"
        );
    }
    use tonic_reflection::pb::v1;
    let mut reflection = v1::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let response = reflection
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner()
        .message()
        .await
        .expect("answer")
        .expect("a message");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in linernotes::grpc::SERVICE_NAMES {
        assert!(names.contains(&service.to_owned()), "{service}: {names:?}");
    }
}
