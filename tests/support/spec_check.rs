//! Checks the requests Deskmate sent to the sandbox's Conversations API against Zendesk's
//! official OpenAPI spec (`DESKMATE_CONVERSATIONS_SPEC`). Shared by the suites that send them.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use zendesk_sandbox::ApiRequest;

/// The spec, or `None` (with a note) when the variable is not set.
pub fn load_spec() -> Option<Value> {
    let Ok(path) = std::env::var("DESKMATE_CONVERSATIONS_SPEC") else {
        eprintln!(
            "conformance with Zendesk's Conversations spec: not run; set DESKMATE_CONVERSATIONS_SPEC to the OpenAPI file"
        );
        return None;
    };
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"));
    Some(serde_yaml_ng::from_str(&text).expect("the spec is YAML"))
}

/// The spec operation a request is: its path template (`/v2/apps/{appId}/…`) matched segment by
/// segment, the most literal template winning.
pub fn operation<'a>(spec: &'a Value, method: &str, path: &str) -> Option<(&'a str, &'a Value)> {
    let path = path.strip_prefix("/sc").unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    spec["paths"]
        .as_object()?
        .iter()
        .filter_map(|(template, item)| {
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            let fits = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, segment)| part.starts_with('{') || part == segment);
            let literal = parts.iter().filter(|p| !p.starts_with('{')).count();
            let operation = item.get(method.to_ascii_lowercase())?;
            fits.then_some((literal, template.as_str(), operation))
        })
        .max_by_key(|(literal, _, _)| *literal)
        .map(|(_, template, operation)| (template, operation))
}

/// Validates every JSON body sent to the Conversations API; returns the failures and the
/// operations checked (`METHOD /template`).
pub fn check_requests(spec: &Value, requests: &[ApiRequest]) -> (Vec<String>, BTreeSet<String>) {
    let mut checked = BTreeSet::new();
    let mut failures = Vec::new();
    for request in requests {
        let Some(body) = &request.body else { continue };
        if !request.path.starts_with("/sc/") {
            continue;
        }
        let Some((template, operation)) = operation(spec, &request.method, &request.path) else {
            failures.push(format!(
                "{} {} is not in the spec",
                request.method, request.path
            ));
            continue;
        };
        let Some(mut schema) = operation.pointer("/requestBody/content/application~1json/schema")
        else {
            failures.push(format!("{} {template} takes no JSON body", request.method));
            continue;
        };
        // Update Integration's body is a `oneOf` over every integration type with no
        // discriminator (the spec's own example matches several); Deskmate updates web widgets
        // only, so their branch is the schema.
        let web_update = json!({"$ref": "#/components/schemas/webUpdate"});
        if template.ends_with("/integrations/{integrationId}") {
            schema = &web_update;
        }
        // A message's `content` is a `oneOf` told apart only by its `type` (a discriminator
        // plain JSON Schema does not apply): the branch its type names is the schema.
        let mut components = spec["components"].clone();
        if let Some(kind) = body.pointer("/content/type").and_then(Value::as_str) {
            components["schemas"]["content"] =
                json!({"$ref": format!("#/components/schemas/{kind}Message")});
        }
        let validator =
            jsonschema::validator_for(&json!({"allOf": [schema], "components": components}))
                .unwrap_or_else(|err| panic!("{template} compiles: {err}"));
        if template.ends_with("/passControl") {
            // The check bites: a pass to a number instead of an integration is refused.
            let mut broken = body.clone();
            broken["switchboardIntegration"] = json!(5);
            assert!(
                !validator.is_valid(&broken),
                "the spec check accepted {broken}"
            );
        }
        failures.extend(validator.iter_errors(body).map(|e| {
            format!(
                "{} {template}: {e} at {} in {body}",
                request.method,
                e.instance_path()
            )
        }));
        checked.insert(format!("{} {template}", request.method));
    }
    (failures, checked)
}
