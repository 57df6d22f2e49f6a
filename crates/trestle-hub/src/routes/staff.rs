//! Staff: the maker adds and changes staff members (admin scope `staff:write`); a paired till
//! pulls the roster with PIN hashes and asks for the event-scoped session of whoever signed in
//! on it. PINs are hashed here, off the shop's writer thread, and never stored or logged.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use trestle_core::staff::{hash_pin, Pin, Role};
use trestle_protocol::{
    CreateStaff, CreateStaffSession, CreateToken, ErrorBody, StaffList, StaffMember, StaffRoster,
    TokenCreated, TokenKind, UpdateStaff,
};
use uuid::Uuid;

use crate::app::AppState;
use crate::db::random;
use crate::error::{HubError, Result};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::partition::StaffChange;

fn role(input: &str) -> Result<&'static str> {
    Role::parse(input)
        .map(|r| r.as_str())
        .map_err(|_| HubError::invalid("staff.invalid_role", "the role must be cashier or manager"))
}

/// Hashes a PIN (argon2id, ~20 ms and 19 MiB) on a blocking thread.
async fn hashed(pin: &str) -> Result<String> {
    let pin = Pin::parse(pin)
        .map_err(|_| HubError::invalid("staff.invalid_pin", "a PIN is 4 to 8 digits"))?;
    tokio::task::spawn_blocking(move || hash_pin(&pin, random::<16>()))
        .await
        .map_err(HubError::internal)?
        .map_err(|e| HubError::internal(e.to_string()))
}

/// A new staff member with a role and a PIN.
#[utoipa::path(post, path = "/v1/staff", tag = "staff", request_body = CreateStaff,
    responses((status = 201, body = StaffMember), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_staff(
    auth: Auth,
    ApiJson(req): ApiJson<CreateStaff>,
) -> Result<(StatusCode, Json<StaffMember>)> {
    auth.require("staff:write")?;
    let role = role(&req.role)?;
    let hash = hashed(&req.pin).await?;
    let name = req.name;
    let m = auth
        .shop
        .run(move |ctx| ctx.create_staff(&name, role, &hash))
        .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

/// The shop's staff (never their PINs or hashes).
#[utoipa::path(get, path = "/v1/staff", tag = "staff",
    responses((status = 200, body = StaffList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_staff(auth: Auth) -> Result<Json<StaffList>> {
    auth.require("staff:write")?;
    let staff = auth.shop.run(|ctx| ctx.staff()).await?;
    Ok(Json(StaffList { staff }))
}

/// Changes a staff member's name, role or PIN, or takes them off the tills (`active: false`).
#[utoipa::path(patch, path = "/v1/staff/{id}", tag = "staff", params(("id" = Uuid, Path)), request_body = UpdateStaff,
    responses((status = 200, body = StaffMember), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_staff(
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UpdateStaff>,
) -> Result<Json<StaffMember>> {
    auth.require("staff:write")?;
    let change = StaffChange {
        name: req.name,
        role: req.role.as_deref().map(role).transpose()?,
        pin_hash: match &req.pin {
            Some(p) => Some(hashed(p).await?),
            None => None,
        },
        active: req.active,
    };
    Ok(Json(
        auth.shop
            .run(move |ctx| ctx.update_staff(id, change))
            .await?,
    ))
}

/// The roster for a paired till: everyone with their PIN hash, so the till checks PINs offline.
#[utoipa::path(get, path = "/v1/sync/staff", tag = "sync",
    responses((status = 200, body = StaffRoster), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn roster(auth: Auth) -> Result<Json<StaffRoster>> {
    auth.require("sync")?;
    auth.device()?;
    let staff = auth.shop.run(|ctx| ctx.roster()).await?;
    Ok(Json(StaffRoster { staff }))
}

/// A staff session for the person signed in on this till, scoped to an event the till is
/// assigned to (default lifetime, 12 hours).
#[utoipa::path(post, path = "/v1/sync/staff-sessions", tag = "sync", request_body = CreateStaffSession,
    responses((status = 201, body = TokenCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn staff_session(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<CreateStaffSession>,
) -> Result<(StatusCode, Json<TokenCreated>)> {
    auth.require("sync")?;
    let till = auth.device()?;
    let (staff_id, event_id) = (req.staff_id, req.event_id);
    let (person, event) = auth
        .shop
        .run(move |ctx| Ok((ctx.staff_entry(staff_id)?, ctx.event(event_id)?)))
        .await?;
    if !person.active {
        return Err(HubError::invalid(
            "staff.inactive",
            format!("{} is no longer on the staff", person.name),
        ));
    }
    if !event.tills.contains(&till) {
        return Err(HubError::invalid(
            "event.not_this_till",
            "this till is not assigned to that event",
        ));
    }
    let created = state.directory.issue_token(
        auth.token.shop_id,
        &CreateToken {
            kind: TokenKind::Staff,
            scopes: Vec::new(),
            ttl_seconds: None,
            event_id: Some(event_id),
            label: Some(person.name),
        },
    )?;
    Ok((StatusCode::CREATED, Json(created)))
}
