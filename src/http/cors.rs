//! Cross-origin requests (CORS) for browser apps on other origins, off unless origins are
//! configured (`--cors-origin`). Tokens travel in the `Authorization` header, never in cookies,
//! so credentials are never allowed and `*` is safe to offer. A request from an origin that is
//! not allowed gets no CORS headers at all (the browser then refuses the response).

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The origins of `--cors-origin`/`SKILLGRAPH_CORS_ORIGINS`, checked: `*` alone, or origins of
/// the form `scheme://host[:port]` (no path, no trailing slash).
pub fn parse_origins(values: &[String]) -> Result<Vec<String>, String> {
    let origins: Vec<String> = values
        .iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if origins.iter().any(|o| o == "*") {
        if origins.len() > 1 {
            return Err("--cors-origin '*' allows every origin; give it alone".into());
        }
        return Ok(origins);
    }
    for origin in &origins {
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let ok = rest.is_some_and(|host| {
            !host.is_empty()
                && !host.contains(['/', '?', '#', '@', ' '])
                && HeaderValue::from_str(origin).is_ok()
        });
        if !ok {
            return Err(format!(
                "--cors-origin {origin:?} is not an origin: write scheme://host[:port], e.g. https://app.example.com (no path, no trailing slash), or '*'"
            ));
        }
    }
    Ok(origins)
}

/// The CORS layer for `origins` (already checked by `parse_origins`), or None when CORS is off.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                HeaderName::from_static("x-request-id"),
                header::RETRY_AFTER,
                header::WWW_AUTHENTICATE,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// Takes every `Access-Control-*` header off a response that does not allow its origin, so a
/// disallowed origin learns nothing of the policy (tower-http would still list the methods).
pub async fn strip_when_refused(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        let names: Vec<HeaderName> = headers
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in names {
            headers.remove(name);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::parse_origins;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn origins_are_checked() {
        assert_eq!(parse_origins(&v(&["*"])).unwrap(), v(&["*"]));
        assert_eq!(
            parse_origins(&v(&["https://app.example.com", " http://localhost:5173 "])).unwrap(),
            v(&["https://app.example.com", "http://localhost:5173"])
        );
        assert!(parse_origins(&v(&["*", "https://a.example"])).is_err());
        assert!(parse_origins(&v(&["https://app.example.com/"])).is_err());
        assert!(parse_origins(&v(&["app.example.com"])).is_err());
        assert!(parse_origins(&v(&["https://"])).is_err());
        assert!(parse_origins(&v(&[])).unwrap().is_empty());
    }
}
