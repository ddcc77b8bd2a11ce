//! The structure docs/architecture.md describes, checked: the modules of
//! `src/` depend on each other one way (no import circle), no file grows
//! past 800 lines, and the state machine carries no feature switches of
//! its own (policies come through one seam).
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/ffi/policy.rs`
/// belongs to `ffi`); `None` for `lib.rs`.
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(SRC).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    let name = first.trim_end_matches(".rs").to_owned();
    (name != "lib").then_some(name)
}

/// Code without comments (doc links name items without depending on them).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .filter(|l| !l.trim().is_empty())
}

/// The first path segment of each item `crate::` paths in `code` name,
/// with `use crate::{a, b::c}` groups opened.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level names of a (possibly nested) brace group.
            let mut depth = 0;
            let mut name = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(std::mem::take(&mut name));
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    name.push(c);
                }
            }
            out.push(name);
        } else {
            out.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    out.iter()
        .filter_map(|p| p.split("::").next())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s != "self")
        .collect()
}

/// Which module defines each name lib.rs re-exports (`pub use m::{A, B}`).
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let code: String = code_lines(lib).collect::<Vec<_>>().join("\n");
    for stmt in code.split(';') {
        let Some((_, path)) = stmt.split_once("pub use ") else {
            continue;
        };
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let item = item.trim();
            if !item.is_empty() && item != "*" {
                map.insert(item.to_owned(), module.trim().to_owned());
            }
        }
    }
    map
}

fn dependency_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let lib = fs::read_to_string(Path::new(SRC).join("lib.rs")).unwrap();
    let names = reexports(&lib);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(file) else {
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        let code: String = code_lines(&text).collect::<Vec<_>>().join("\n");
        let deps = graph.entry(from.clone()).or_default();
        for name in crate_paths(&code) {
            let to = if modules.contains(&name) {
                name
            } else if let Some(m) = names.get(&name) {
                m.clone()
            } else {
                panic!(
                    "{}: crate::{name} is neither a module nor a re-export",
                    file.display()
                );
            };
            if to != from {
                deps.insert(to);
            }
        }
    }
    graph
}

/// A circle through `start`, if any (depth-first search).
fn circle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    at: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    for next in graph.get(at).into_iter().flatten() {
        if next == start {
            let mut c = path.clone();
            c.push(next.clone());
            return Some(c);
        }
        if !path.contains(next) {
            path.push(next.clone());
            if let Some(c) = circle(graph, start, next, path) {
                return Some(c);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn modules_depend_on_each_other_one_way() {
    let graph = dependency_graph();
    assert!(graph.contains_key("breaker") && graph["registry"].contains("breaker"));
    for start in graph.keys() {
        let found = circle(&graph, start, start, &mut vec![start.clone()]);
        assert_eq!(found, None, "import circle among src/ modules");
    }
}

/// The layers of docs/architecture.md, from the bottom: a module may use
/// its own layer's modules and those below, never one above.
const LAYERS: &[&[&str]] = &[
    &[
        "error", "id", "name", "clock", "config", "policy", "backoff",
    ],
    &["breaker"],
    &["snapshot"],
    &["slot", "fast", "events"],
    &["registry"],
    &["ffi", "port"],
];

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("src/{module} is in no layer of docs/architecture.md"))
}

#[test]
fn modules_use_only_their_layer_and_those_below() {
    for (from, deps) in dependency_graph() {
        for to in deps {
            assert!(
                layer(&to) <= layer(&from),
                "{from} uses {to}, a layer above it"
            );
        }
    }
}

#[test]
fn the_checker_sees_a_circle() {
    let mut graph = dependency_graph();
    graph
        .get_mut("breaker")
        .unwrap()
        .insert("registry".to_owned());
    assert!(circle(
        &graph,
        "breaker",
        "breaker",
        &mut vec!["breaker".to_owned()]
    )
    .is_some());
}

#[test]
fn no_file_in_src_is_over_800_lines() {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    for file in files {
        let lines = fs::read_to_string(&file).unwrap().lines().count();
        assert!(lines <= 800, "{} has {lines} lines", file.display());
    }
}

#[test]
fn the_state_machine_has_no_feature_switches_of_its_own() {
    let text = fs::read_to_string(Path::new(SRC).join("breaker/mod.rs")).unwrap();
    let cfgs = text.matches("#[cfg").count();
    assert!(cfgs <= 15, "src/breaker/mod.rs has {cfgs} #[cfg attributes");
    // Policy cfg inside function bodies: none at all.
    let inside = code_lines(&text)
        .filter(|l| l.starts_with("        ") && l.contains("feature = \"policies\""))
        .count();
    assert_eq!(inside, 0, "policy cfg inside the state machine's functions");
}
