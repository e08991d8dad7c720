//! Deskmate's shared core, organised by behaviour:
//!
//! - the two paths: [`email_path`] (tickets) and [`widget_path`] (Web Widget conversations);
//! - the protocols both paths share: [`reply_once`] (one reply per customer message),
//!   [`handoff`] (durable, resumable hand-offs to humans) and [`failure`] (retry, hand-off,
//!   dead-letter or drop), applied to queue batches by [`sqs_batch`];
//! - reading threads: [`ticket_thread`] and [`conversation_thread`];
//! - ports with their adapters: [`state`] (DynamoDB / memory), [`queue`] (SQS / memory),
//!   [`secrets`], [`zendesk`] (Support and Conversations APIs), [`agent`] (AI backends);
//! - the domain nouns, configuration, ingress helpers and wiring.

pub mod agent;
pub mod auth;
pub mod aws;
pub mod bridge;
pub mod config;
pub mod conversation_thread;
pub mod domain;
pub mod email_path;
pub mod failure;
pub mod handoff;
pub mod http_retry;
pub mod ingress;
pub mod knowledge_index;
pub mod knowledge_sync;
pub mod measures;
pub mod queue;
pub mod render;
pub mod reply_once;
pub mod secrets;
mod serde_null;
pub mod sqs_batch;
pub mod state;
pub mod telemetry;
pub mod ticket_thread;
pub mod widget_path;
pub mod zendesk;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The top-level modules each module of `src/` names through `crate::`.
    fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
        fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("src is readable") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    walk(&path, files);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in files {
            let relative = file.strip_prefix(&src).expect("under src");
            let module = relative
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .map(|name| name.trim_end_matches(".rs").to_owned())
                .expect("a module name");
            if module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("a source file");
            let uses = text.split("crate::").skip(1).filter_map(|rest| {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                (!name.is_empty()).then_some(name)
            });
            let deps = graph.entry(module.clone()).or_default();
            deps.extend(uses.filter(|name| *name != module));
        }
        graph
    }

    #[test]
    fn modules_have_no_import_cycles() {
        let graph = module_graph();
        // Depth-first search with colours: reaching a module still on the path is a cycle.
        fn visit<'a>(
            module: &'a str,
            graph: &'a BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) {
            if done.contains(module) {
                return;
            }
            if let Some(start) = path.iter().position(|m| *m == module) {
                panic!("import cycle: {} -> {module}", path[start..].join(" -> "));
            }
            path.push(module);
            for dep in graph.get(module).into_iter().flatten() {
                visit(dep, graph, path, done);
            }
            path.pop();
            done.insert(module);
        }
        let mut done = BTreeSet::new();
        for module in graph.keys() {
            visit(module, &graph, &mut Vec::new(), &mut done);
        }
        assert!(graph.contains_key("handoff") && graph.contains_key("widget_path"));
    }
}
