//! The GraphiQL explorer at `/`, served entirely by skillgraph: React, ReactDOM and GraphiQL come
//! from npm packages that `build.rs` fetched at build time and embedded in the binary, so the
//! page works with no route to any other host (an air-gapped network, a locked-down laptop).
//! Queries go to `/graphql`, subscriptions to the WebSocket at the same path. In `--demo` mode the
//! page opens with the demo admin's token in the Headers pane and a first query in the editor;
//! otherwise it never carries a token. The schema (Docs, autocomplete) is fetched with the
//! Headers pane's token, and again whenever the headers change.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::Http;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    /// The npm package it comes from, and that package's version.
    pub package: &'static str,
    pub version: &'static str,
    pub bytes: &'static [u8],
}

mod embedded {
    use super::Asset;
    include!(concat!(env!("OUT_DIR"), "/explorer_assets.rs"));
}

pub use embedded::{ASSETS, MISSING};

/// The first query of the demo: the demo organization as its admin sees it.
pub const DEMO_QUERY: &str = "# Acme, the demo company, as its admin sees it.
# Press the run button (or Ctrl-Enter). For live events, run this in a new tab
# and add someone to a group:
#   subscription { assignmentEvents { kind assignment { user { name } } } }
{
  organization { name }
  viewer { name email }
  groups { name parent { name } }
  assignments(first: 5) { totalCount nodes { status user { name } course { title } } }
}
";

/// The first query outside demo mode: how to authenticate.
pub const DEFAULT_QUERY: &str = "# Every request needs a token: open Headers (below) and enter
# { \"Authorization\": \"Bearer <jwt>\" }   (skillgraph token --help mints one)
{
  viewer { name email }
}
";

/// `GET /`: the explorer, or a page that says what the build could not embed.
pub async fn page(State(http): State<Http>) -> Response {
    let html = render(ASSETS, MISSING, http.state.settings.demo_token.as_deref());
    let mut response = Html(html).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /explorer/{file}`: one embedded asset; unknown names are 404.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            a.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// The page for `assets` (as embedded), `missing` (why not, when empty), and the demo token.
pub fn render(assets: &[Asset], missing: &str, demo_token: Option<&str>) -> String {
    if assets.is_empty() {
        return unavailable(missing);
    }
    let (headers, query) = match demo_token {
        Some(token) => (
            Some(format!("{{\n  \"Authorization\": \"Bearer {token}\"\n}}")),
            DEMO_QUERY,
        ),
        None => (None, DEFAULT_QUERY),
    };
    let config = json!({
        "endpoint": "/graphql",
        "subscriptionEndpoint": "/graphql",
        "headers": headers,
        "query": query,
    });
    // Inside <script>, "<" could end the element: JSON allows it escaped.
    let config = config.to_string().replace('<', "\\u003c");
    let versions: Vec<String> = assets
        .iter()
        .map(|a| format!("{} {}", a.package, a.version))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="generator" content="skillgraph explorer ({versions})">
<title>skillgraph — GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/explorer/graphiql.min.css">
<style>
  html, body {{ height: 100%; margin: 0; }}
  #graphiql {{ height: 100vh; }}
</style>
</head>
<body>
<div id="graphiql">Loading the explorer…</div>
<script src="/explorer/react.production.min.js"></script>
<script src="/explorer/react-dom.production.min.js"></script>
<script src="/explorer/graphiql.min.js"></script>
<script id="explorer-config" type="application/json">{config}</script>
<script>
  (function () {{
    var config = JSON.parse(document.getElementById('explorer-config').textContent);
    var http = new URL(config.endpoint, window.location.href);
    var ws = new URL(config.subscriptionEndpoint, window.location.href);
    ws.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    // The fetcher adds the Headers pane's current headers to every request, introspection
    // included (GraphiQL sends none with the schema fetch until its editor exists), and a new
    // fetcher is made when they change, which makes GraphiQL fetch the schema again: Docs and
    // autocomplete then follow the token in the pane.
    var current = config.headers || '';
    function parse(text) {{
      try {{
        var h = JSON.parse(text || '{{}}');
        return h && typeof h === 'object' && !Array.isArray(h) ? h : null;
      }} catch (e) {{
        return null;
      }}
    }}
    var base = GraphiQL.createFetcher({{ url: http.toString(), subscriptionUrl: ws.toString() }});
    function makeFetcher() {{
      var fixed = parse(current) || {{}};
      var fetcher = function (params, opts) {{
        var headers = Object.assign({{}}, fixed, (opts && opts.headers) || {{}});
        return base(params, Object.assign({{}}, opts || {{}}, {{ headers: headers }}));
      }};
      fetcher.key = JSON.stringify(fixed);
      return fetcher;
    }}
    var props = {{
      defaultQuery: config.query,
      defaultEditorToolsVisibility: config.headers ? 'headers' : true,
    }};
    if (config.headers) {{
      props.defaultHeaders = config.headers;
      props.headers = config.headers;
      props.query = config.query;
    }}
    function Explorer() {{
      var state = React.useState(makeFetcher);
      var fetcher = state[0];
      var setFetcher = state[1];
      var timer = React.useRef(null);
      var onEditHeaders = React.useCallback(function (text) {{
        current = text;
        clearTimeout(timer.current);
        timer.current = setTimeout(function () {{
          var parsed = parse(current);
          setFetcher(function (old) {{
            return parsed && JSON.stringify(parsed) !== old.key ? makeFetcher() : old;
          }});
        }}, 400);
      }}, []);
      return React.createElement(GraphiQL, Object.assign({{}}, props, {{ fetcher: fetcher, onEditHeaders: onEditHeaders }}));
    }}
    ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(Explorer));
  }})();
</script>
</body>
</html>
"#,
        versions = versions.join(", "),
    )
}

/// The page of a build without the assets: what is missing and how to get it.
fn unavailable(missing: &str) -> String {
    let why = missing
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>skillgraph — explorer unavailable</title>
</head>
<body style="font-family: sans-serif; max-width: 46em; margin: 3em auto; line-height: 1.5">
<h1>The GraphiQL explorer is not in this build</h1>
<p>This skillgraph binary was built without the explorer's browser assets: the npm packages
<code>graphiql</code>, <code>react</code> and <code>react-dom</code> (pinned in
<code>explorer/package.json</code> and <code>explorer/package-lock.json</code>) could not be
fetched when it was built.</p>
<p>Reason: <code>{why}</code></p>
<p>To get the explorer, rebuild on a machine with Node.js, npm and access to the npm registry
(<code>cargo build --release</code> runs <code>npm ci</code> for you).</p>
<p>The API itself works: send GraphQL to <code>POST /graphql</code> with
<code>Authorization: Bearer &lt;jwt&gt;</code>; subscriptions use the WebSocket at
<code>/graphql</code>.</p>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_assets_the_page_says_what_is_missing() {
        let html = render(&[], "npm could not be started", Some("secret-token"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("npm could not be started"));
        assert!(html.contains("graphiql"));
        assert!(!html.contains("secret-token"));
    }

    const FAKE: &[Asset] = &[Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript",
        package: "graphiql",
        version: "4.0.0",
        bytes: b"",
    }];

    #[test]
    fn the_token_appears_only_in_demo_mode_and_cannot_end_the_script() {
        let plain = render(FAKE, "", None);
        assert!(!plain.contains("Bearer ey"));
        assert!(!plain.contains("\"headers\":\"{"));
        let demo = render(FAKE, "", Some("eyJ</script>"));
        assert!(demo.contains("Bearer eyJ\\u003c/script>"));
        assert!(!demo.contains("eyJ</script>"));
    }
}
