//! Fetches the GraphiQL explorer's browser assets (npm packages `graphiql`, `react`,
//! `react-dom`, pinned by `explorer/package.json` and its lock file) with `npm ci` into OUT_DIR,
//! and writes `explorer_assets.rs`, which embeds them with `include_bytes!`. Nothing third-party
//! is committed. npm runs again only when the package files change (or the cache in OUT_DIR is
//! gone). Without npm or the registry the build still succeeds: the embedded list is empty and
//! the page at `/` says what is missing. `SKILLGRAPH_EXPLORER_SKIP_NPM=1` skips npm on purpose.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (served name, path inside node_modules, content type).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "react.production.min.js",
        "react/umd/react.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "react-dom.production.min.js",
        "react-dom/umd/react-dom.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "graphiql.min.js",
        "graphiql/graphiql.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "graphiql.min.css",
        "graphiql/graphiql.min.css",
        "text/css; charset=utf-8",
    ),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=explorer/package.json");
    println!("cargo:rerun-if-changed=explorer/package-lock.json");
    println!("cargo:rerun-if-env-changed=SKILLGRAPH_EXPLORER_SKIP_NPM");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let src = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let work = out.join("explorer");
    let outcome = fetch(&src.join("explorer"), &work);
    let code = match outcome {
        Ok(()) => generate(&work.join("node_modules")),
        Err(why) => {
            println!("cargo:warning=GraphiQL explorer assets not embedded: {why}");
            missing(&why)
        }
    };
    std::fs::write(out.join("explorer_assets.rs"), code).expect("write explorer_assets.rs");
}

/// Runs `npm ci` in `work` with the committed package files, unless it already ran for them.
fn fetch(explorer: &Path, work: &Path) -> Result<(), String> {
    if std::env::var_os("SKILLGRAPH_EXPLORER_SKIP_NPM").is_some_and(|v| v != "0" && !v.is_empty()) {
        return Err("SKILLGRAPH_EXPLORER_SKIP_NPM is set, so npm was not run".into());
    }
    std::fs::create_dir_all(work).map_err(|e| e.to_string())?;
    let mut stamp = String::new();
    for file in ["package.json", "package-lock.json"] {
        let text = std::fs::read_to_string(explorer.join(file))
            .map_err(|e| format!("cannot read explorer/{file}: {e}"))?;
        std::fs::write(work.join(file), &text).map_err(|e| e.to_string())?;
        stamp.push_str(&text);
    }
    let stamp_file = work.join(".installed-from");
    let installed = std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp)
        && ASSETS
            .iter()
            .all(|(_, path, _)| work.join("node_modules").join(path).is_file());
    if installed {
        return Ok(());
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let output = Command::new(npm)
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--prefer-offline",
            "--fetch-retries=1",
            "--fetch-timeout=60000",
        ])
        .current_dir(work)
        .output()
        .map_err(|e| format!("npm could not be started ({e}); install Node.js and npm"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        return Err(format!(
            "npm ci failed ({}): {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ));
    }
    for (_, path, _) in ASSETS {
        if !work.join("node_modules").join(path).is_file() {
            return Err(format!("npm ci did not install {path}"));
        }
    }
    std::fs::write(&stamp_file, stamp).map_err(|e| e.to_string())?;
    Ok(())
}

fn version(node_modules: &Path, package: &str) -> String {
    std::fs::read_to_string(node_modules.join(package).join("package.json"))
        .ok()
        .and_then(|text| {
            let at = text.find("\"version\"")?;
            let rest = &text[at + 9..];
            let start = rest.find('"')? + 1;
            let end = start + rest[start..].find('"')?;
            Some(rest[start..end].to_string())
        })
        .unwrap_or_default()
}

fn generate(node_modules: &Path) -> String {
    let mut code =
        String::from("/// The embedded explorer assets.\npub const ASSETS: &[Asset] = &[\n");
    for (name, path, content_type) in ASSETS {
        let package = path.split('/').next().unwrap_or_default();
        let file = node_modules.join(path);
        let _ = writeln!(
            code,
            "    Asset {{ name: {name:?}, content_type: {content_type:?}, package: {package:?}, version: {:?}, bytes: include_bytes!({:?}) }},",
            version(node_modules, package),
            file.display().to_string()
        );
    }
    code.push_str("];\n/// Why assets are missing (empty when all are embedded).\npub const MISSING: &str = \"\";\n");
    code
}

fn missing(why: &str) -> String {
    format!(
        "/// The embedded explorer assets.\npub const ASSETS: &[Asset] = &[];\n/// Why assets are missing (empty when all are embedded).\npub const MISSING: &str = {why:?};\n"
    )
}
