//! The import graph of one crate's modules, from its source files.
//!
//! A module is a file (`a.rs`) or a directory with a `mod.rs` (`a/mod.rs` and the files beside
//! it, `a/b.rs`), and inline modules (`mod tests { … }`) belong to their file. A reference is
//! any path that names something of the crate: a `use` (grouped and nested trees, globs,
//! renames) or a path written in code (`crate::a::f()`, `super::super::b::T`). Each is followed
//! through re-exports (`pub use`, also the crate root's) to the module that defines the item.
//!
//! Cycles are looked for among siblings: within a directory module, an import from anywhere in
//! its child `a` to anywhere in its child `b` is an edge `a → b`. A child naming its parent (or
//! the parent its child) is no edge: a `mod.rs` is its directory's front, not a sibling.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use super::lexer::{Token, tokens};

/// A module's path from the crate root (`["data", "image"]`; the root is empty).
pub type ModPath = Vec<String>;

/// One import from a module into a sibling's subtree, where it is written.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The module that imports (a file's module).
    pub from: ModPath,
    /// The module that defines what is named.
    pub to: ModPath,
    /// The file and line of the import.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The path as written (its `crate`/`super`/`self` form, made absolute).
    pub written: String,
}

/// A cycle among the children of one module, with one import for each step.
#[derive(Debug, Clone)]
pub struct Cycle {
    /// The module whose children import each other in a circle.
    pub level: ModPath,
    /// The children in order; the last imports the first.
    pub members: Vec<String>,
    /// One import of each step, in order.
    pub steps: Vec<Reference>,
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chain: Vec<&str> = self.members.iter().map(String::as_str).collect();
        write!(f, "in {}: {} → {}", module_name(&self.level), chain.join(" → "), chain[0])?;
        for step in &self.steps {
            write!(
                f,
                "\n    {} → {}: {}:{} `{}`",
                module_name(&step.from),
                module_name(&step.to),
                step.file,
                step.line,
                step.written
            )?;
        }
        Ok(())
    }
}

/// `crate::a::b`, or `crate` for the root.
pub fn module_name(path: &[String]) -> String {
    std::iter::once("crate").chain(path.iter().map(String::as_str)).collect::<Vec<_>>().join("::")
}

/// What a `use` brings into scope under one name.
#[derive(Debug, Clone)]
struct Binding {
    /// The absolute path within the crate; `None` for another crate's item.
    target: Option<Vec<String>>,
}

/// One parsed file module.
#[derive(Debug, Default)]
struct FileModule {
    file: String,
    /// Names its `use` items bind (at the file's top scope), for re-exports.
    bindings: BTreeMap<String, Binding>,
    /// Glob imports at the file's top scope (absolute paths).
    globs: Vec<Vec<String>>,
    /// Every crate path the file writes, absolute, with its line.
    paths: Vec<(Vec<String>, usize)>,
}

/// The modules of one crate and their imports.
pub struct Graph {
    modules: BTreeMap<ModPath, FileModule>,
    /// Every import that leaves its module for another module (not an ancestor).
    pub references: Vec<Reference>,
}

impl Graph {
    /// The graph of a crate from its files: `(path relative to the crate's root directory
    /// `dir`, source)`, the root file being `lib.rs` or `main.rs`. Imports are reported at
    /// `dir/path`.
    pub fn new(dir: &str, files: &[(String, String)]) -> Self {
        let known: BTreeSet<ModPath> = files.iter().map(|(path, _)| module_path(path)).collect();
        let mut modules = BTreeMap::new();
        for (path, source) in files {
            let module = module_path(path);
            let parsed = parse(&format!("{dir}{path}"), source, &module, &known);
            modules.insert(module, parsed);
        }
        let mut graph = Self { modules, references: Vec::new() };
        let mut references = Vec::new();
        for (from, module) in &graph.modules {
            for (path, line) in &module.paths {
                let to = graph.resolve(path, 0);
                if to.starts_with(from) || from.starts_with(&to) {
                    continue;
                }
                references.push(Reference {
                    from: from.clone(),
                    to,
                    file: module.file.clone(),
                    line: *line,
                    written: module_name(path),
                });
            }
        }
        graph.references = references;
        graph
    }

    /// The module that defines what `path` names, following re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> ModPath {
        let mut module: ModPath = Vec::new();
        for (k, segment) in path.iter().enumerate() {
            match self.find(&module, segment, depth) {
                Some(Found::Module(child)) => module = child,
                Some(Found::Path(target)) => {
                    let mut next = target;
                    next.extend_from_slice(&path[k + 1..]);
                    return self.resolve(&next, depth + 1);
                }
                None => break,
            }
        }
        module
    }

    /// What `name` is in `module`: a child module, or a re-export to follow; `None` for an
    /// item defined there (or another crate's).
    fn find(&self, module: &ModPath, name: &str, depth: usize) -> Option<Found> {
        let mut child = module.clone();
        child.push(name.to_string());
        if self.modules.contains_key(&child) {
            return Some(Found::Module(child));
        }
        if depth > 16 {
            return None;
        }
        let file = self.modules.get(module)?;
        if let Some(binding) = file.bindings.get(name) {
            return binding.target.clone().map(Found::Path);
        }
        for glob in &file.globs {
            let from = self.resolve(glob, depth + 1);
            if from != *module
                && let Some(found) = self.find(&from, name, depth + 1)
            {
                return Some(found);
            }
        }
        None
    }

    /// Import cycles among siblings, one for each set of modules in a circle, at every level.
    pub fn cycles(&self) -> Vec<Cycle> {
        // level → from → to → the first import of that step
        let mut edges: BTreeMap<ModPath, BTreeMap<String, BTreeMap<String, Reference>>> =
            BTreeMap::new();
        for r in &self.references {
            let common = r.from.iter().zip(&r.to).take_while(|(a, b)| a == b).count();
            let level = r.from[..common].to_vec();
            let (a, b) = (r.from[common].clone(), r.to[common].clone());
            edges.entry(level).or_default().entry(a).or_default().entry(b).or_insert(r.clone());
        }
        let mut cycles = Vec::new();
        for (level, graph) in &edges {
            let mut covered = BTreeSet::new();
            for start in graph.keys() {
                if covered.contains(start) {
                    continue;
                }
                if let Some(members) = shortest_cycle(graph, start) {
                    covered.extend(members.iter().cloned());
                    let steps = (0..members.len())
                        .map(|k| graph[&members[k]][&members[(k + 1) % members.len()]].clone())
                        .collect();
                    cycles.push(Cycle { level: level.clone(), members, steps });
                }
            }
        }
        cycles
    }
}

enum Found {
    Module(ModPath),
    Path(Vec<String>),
}

/// The shortest path from `start` back to itself (breadth first), as its nodes.
fn shortest_cycle(
    graph: &BTreeMap<String, BTreeMap<String, Reference>>,
    start: &str,
) -> Option<Vec<String>> {
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            if next == start {
                let mut members = vec![node.to_string()];
                let mut at = node;
                while at != start {
                    at = previous[at];
                    members.push(at.to_string());
                }
                members.reverse();
                return Some(members);
            }
            if !previous.contains_key(next.as_str()) {
                previous.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

/// The module of a file: `lib.rs`/`main.rs` → root, `a.rs` and `a/mod.rs` → `a`, `a/b.rs` →
/// `a::b`.
fn module_path(file: &str) -> ModPath {
    let mut parts: Vec<String> = file.split('/').map(str::to_string).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.strip_suffix(".rs").unwrap_or(&last);
    if !(parts.is_empty() && (stem == "lib" || stem == "main")) && stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// One `use` tree's leaf: the path (relative as written), the name it binds, whether a glob.
struct UseLeaf {
    path: Vec<String>,
    name: Option<String>,
    glob: bool,
    line: usize,
}

/// The bindings, globs and crate paths of one file whose module is `module`.
fn parse(file: &str, source: &str, module: &ModPath, known: &BTreeSet<ModPath>) -> FileModule {
    let toks = tokens(source);
    let mut parsed = FileModule { file: file.to_string(), ..FileModule::default() };
    // The scope: the file's module, then its inline modules, each with the brace depth it
    // closes at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < toks.len() {
        let scope: Vec<String> =
            module.iter().cloned().chain(inline.iter().map(|(n, _)| n.clone())).collect();
        match &toks[i].0 {
            Token::Open => depth += 1,
            Token::Close => {
                if inline.last().is_some_and(|&(_, d)| d == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            Token::Ident(word) if word == "mod" => {
                if let (Some((Token::Ident(name), _)), Some((Token::Open, _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    inline.push((name.clone(), depth + 1));
                    depth += 1;
                    i += 3;
                    continue;
                }
            }
            Token::Ident(word) if word == "use" => {
                i += 1;
                let mut leaves = Vec::new();
                use_tree(&toks, &mut i, &[], &mut leaves);
                for leaf in leaves {
                    let absolute = absolute(&leaf.path, &scope, known);
                    if let Some(path) = &absolute {
                        parsed.paths.push((path.clone(), leaf.line));
                    }
                    if !inline.is_empty() {
                        continue;
                    }
                    if leaf.glob {
                        parsed.globs.extend(absolute);
                    } else if let Some(name) = leaf.name {
                        parsed.bindings.insert(name, Binding { target: absolute });
                    }
                }
                continue;
            }
            Token::Ident(word)
                if ["crate", "super", "self"].contains(&word.as_str())
                    && toks.get(i + 1).map(|t| &t.0) == Some(&Token::PathSep) =>
            {
                let line = toks[i].1;
                let mut path = vec![word.clone()];
                i += 1;
                while let (Some((Token::PathSep, _)), Some((Token::Ident(s), _))) =
                    (toks.get(i), toks.get(i + 1))
                {
                    path.push(s.clone());
                    i += 2;
                }
                if let Some(path) = absolute(&path, &scope, known) {
                    parsed.paths.push((path, line));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parsed
}

/// Reads one use tree at `i` (after `use` or inside a group), under `prefix`.
fn use_tree(toks: &[(Token, usize)], i: &mut usize, prefix: &[String], out: &mut Vec<UseLeaf>) {
    let mut path = prefix.to_vec();
    while let Some((token, line)) = toks.get(*i) {
        match token {
            Token::PathSep => *i += 1,
            Token::Ident(segment) => {
                *i += 1;
                path.push(segment.clone());
                if toks.get(*i).map(|t| &t.0) == Some(&Token::PathSep) {
                    continue;
                }
                let mut name = None;
                if let (Some((Token::Ident(as_), _)), Some((Token::Ident(alias), _))) =
                    (toks.get(*i), toks.get(*i + 1))
                    && as_ == "as"
                {
                    name = Some(alias.clone());
                    *i += 2;
                }
                if path.last().is_some_and(|s| s == "self") {
                    path.pop();
                }
                let name = name.or_else(|| path.last().cloned()).filter(|n| n != "_");
                out.push(UseLeaf { path, name, glob: false, line: *line });
                break;
            }
            Token::Star => {
                *i += 1;
                out.push(UseLeaf { path, name: None, glob: true, line: *line });
                break;
            }
            Token::Open => {
                *i += 1;
                while let Some((token, _)) = toks.get(*i) {
                    match token {
                        Token::Close => {
                            *i += 1;
                            break;
                        }
                        Token::Comma => *i += 1,
                        _ => use_tree(toks, i, &path, out),
                    }
                }
                break;
            }
            _ => break,
        }
    }
    if toks.get(*i).map(|t| &t.0) == Some(&Token::Semi) && prefix.is_empty() {
        *i += 1;
    }
}

/// `path` as written in `scope`, made absolute from the crate root; `None` for another
/// crate's path. A first segment that is no keyword names a child module of the scope (or
/// another crate).
fn absolute(path: &[String], scope: &[String], known: &BTreeSet<ModPath>) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut base: Vec<String> = scope.to_vec();
    let mut rest = path;
    match first.as_str() {
        "crate" => {
            base.clear();
            rest = &path[1..];
        }
        "self" | "super" => {
            while let Some(segment) = rest.first() {
                match segment.as_str() {
                    "self" => {}
                    "super" => {
                        base.pop()?;
                    }
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
        name => {
            let mut child = scope.to_vec();
            child.push(name.to_string());
            if !known.contains(&child) {
                return None;
            }
        }
    }
    base.extend(rest.iter().cloned());
    Some(base)
}
