//! The modules of `src/` import each other in no circle, and `data` imports only downward.
//!
//! A cycle means two modules that can only be understood, tested and moved together: each new
//! capability then lands in the wrong room. The library and the CLI (`src/bin/tagtrain`, a
//! crate of its own) are checked separately; see `graph.rs` for what counts as a module and an
//! import.

mod graph;
mod lexer;

use std::path::Path;

use graph::{Graph, module_name};

/// The `.rs` files under `dir` (relative to the crate), skipping `skip`, as `(path relative to
/// dir, source)`.
fn sources(dir: &str, skip: &[&str]) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let relative = path.strip_prefix(root).expect("under the root");
            let relative = relative.to_string_lossy().replace('\\', "/");
            if skip.contains(&relative.as_str()) {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, skip, out);
            } else if relative.ends_with(".rs") {
                let source = std::fs::read_to_string(&path).expect("a readable source file");
                out.push((relative, source));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    walk(&root, &root, skip, &mut out);
    assert!(!out.is_empty(), "no source under {}", root.display());
    out
}

/// Fails listing every cycle of the crate whose files are `files`.
fn assert_no_cycle(name: &str, dir: &str, files: &[(String, String)]) {
    let cycles = Graph::new(dir, files).cycles();
    let report: Vec<String> = cycles.iter().map(ToString::to_string).collect();
    assert!(
        cycles.is_empty(),
        "{name} has {} import cycle(s):\n  {}",
        cycles.len(),
        report.join("\n  ")
    );
}

#[test]
fn the_library_imports_in_no_circle() {
    assert_no_cycle("the library (src/)", "src/", &sources("src", &["bin"]));
}

#[test]
fn the_cli_imports_in_no_circle() {
    let dir = "src/bin/tagtrain";
    assert_no_cycle("the CLI (src/bin/tagtrain)", "src/bin/tagtrain/", &sources(dir, &[]));
}

/// The data layer is the bottom of the pipeline: the model, the options, the memory plan and
/// training ask it, never the reverse.
#[test]
fn data_imports_only_error_limits_rng_and_itself() {
    let graph = Graph::new("src/", &sources("src", &["bin"]));
    let allowed = ["data", "error", "limits", "rng"];
    let upward: Vec<String> = graph
        .references
        .iter()
        .filter(|r| r.from.first().is_some_and(|m| m == "data"))
        .filter(|r| !r.to.first().is_some_and(|m| allowed.contains(&m.as_str())))
        .map(|r| format!("{}:{} `{}` ({})", r.file, r.line, r.written, module_name(&r.to)))
        .collect();
    assert!(upward.is_empty(), "src/data/ imports from above it:\n  {}", upward.join("\n  "));
}

/// The check itself: a small crate whose cycles hide behind grouped and nested imports, a
/// root re-export, `super::super` from a test module, and a path written in code.
#[test]
fn cycles_behind_groups_re_exports_and_supers_are_found() {
    let file = |path: &str, source: &str| (path.to_string(), source.to_string());
    let files = [
        file("lib.rs", "mod a; mod b; mod c; mod d; pub use d::Thing;"),
        // a → b through a grouped, nested import.
        file("a.rs", "use crate::{b::{inner::{self, Deep}}, c as _};"),
        file("b/mod.rs", "pub mod inner;"),
        // b → a through a path in code, from a file inside b.
        file("b/inner.rs", "pub struct Deep; fn f() { crate::a::g(); }"),
        // c → d through the root's re-export; d → c from its inline tests' `super::super`.
        file("c.rs", "/// crate::a::ignored\nfn f() -> crate::Thing { todo!() }"),
        file("d.rs", "pub struct Thing;\n#[cfg(test)]\nmod tests {\n use super::super::c::f;\n}"),
    ];
    let cycles = Graph::new("", &files).cycles();
    let text: Vec<String> = cycles.iter().map(ToString::to_string).collect();
    assert_eq!(cycles.len(), 2, "{text:#?}");
    assert!(text[0].starts_with("in crate: a → b → a"), "{}", text[0]);
    assert!(text[0].contains("a.rs:1 `crate::b::inner`"), "{}", text[0]);
    assert!(text[0].contains("b/inner.rs:1 `crate::a::g`"), "{}", text[0]);
    assert!(text[1].starts_with("in crate: c → d → c"), "{}", text[1]);
    assert!(text[1].contains("d.rs:4 `crate::c::f`"), "{}", text[1]);
}

/// Parents and children name each other freely (`use super::*`, `pub use child::X`): no
/// cycle; but two siblings naming each other through their parent's imports are one.
#[test]
fn a_parent_is_no_sibling_but_its_imports_are_followed() {
    let file = |path: &str, source: &str| (path.to_string(), source.to_string());
    let files = [
        file("lib.rs", "mod x; mod y;"),
        file("x/mod.rs", "mod one; mod two; pub use one::A; use two::B;"),
        file("x/one.rs", "pub struct A; use super::B; use crate::y::C;"),
        file("x/two.rs", "pub struct B; use super::A;"),
        file("y.rs", "pub struct C; #[cfg(test)] mod tests { use super::*; }"),
    ];
    let graph = Graph::new("", &files);
    let cycles: Vec<String> = graph.cycles().iter().map(ToString::to_string).collect();
    // x::one → x::two (through the parent's `use two::B`) and x::two → x::one: siblings.
    assert_eq!(
        cycles,
        [
            "in crate::x: one → two → one\n    crate::x::one → crate::x::two: x/one.rs:1 `crate::x::B`\n    crate::x::two → crate::x::one: x/two.rs:1 `crate::x::A`"
        ]
    );
    let to_y: Vec<_> = graph.references.iter().filter(|r| r.to == ["y"]).collect();
    assert_eq!(to_y.len(), 1, "{to_y:?}");
}
