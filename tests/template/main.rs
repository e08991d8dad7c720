//! `template.yaml` against the code it deploys: each function builds a binary of the workspace,
//! queues outlast their consumers, the HTTP API routes are the routers' routes, the log level
//! cannot open the libraries' raw traffic, and every function's logs, alarms and dashboard are
//! wired to the stack's own resources. No AWS needed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use deskmate_shared::sqs_batch::UNANSWERED_ALERT;
use deskmate_shared::telemetry::{LogFormat, log_this_thread_to};
use serde_yaml_ng::Value;

/// AWS's advice for a queue that feeds a Lambda function: a visibility timeout of at least six
/// times the function's timeout, so retries of a slow batch do not overlap it.
const VISIBILITY_PER_TIMEOUT: u64 = 6;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

fn template() -> Value {
    let path = workspace().join("template.yaml");
    let text = std::fs::read_to_string(&path).expect("template.yaml is readable");
    serde_yaml_ng::from_str(&text).expect("template.yaml is YAML")
}

/// The argument of a short-form (`!Ref x`) or long-form (`{Ref: x}`) intrinsic function.
fn intrinsic<'a>(value: &'a Value, function: &str) -> Option<&'a Value> {
    match value {
        Value::Tagged(tagged) if tagged.tag == function => Some(&tagged.value),
        Value::Mapping(map) if map.len() == 1 => {
            let long = if function == "Ref" {
                "Ref".to_owned()
            } else {
                format!("Fn::{function}")
            };
            map.get(long.as_str())
        }
        _ => None,
    }
}

/// `!Ref x` → `x`.
fn reference(value: &Value) -> Option<&str> {
    intrinsic(value, "Ref").and_then(Value::as_str)
}

/// `!GetAtt x.Arn` or `{Fn::GetAtt: [x, Arn]}` → `x.Arn`.
fn attribute(value: &Value) -> Option<String> {
    match intrinsic(value, "GetAtt")? {
        Value::String(dotted) => Some(dotted.clone()),
        Value::Sequence(parts) => Some(
            parts
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("."),
        ),
        _ => None,
    }
}

/// `!Sub "..."` → the string.
fn substitution(value: &Value) -> Option<&str> {
    intrinsic(value, "Sub").and_then(Value::as_str)
}

/// The resources of `kind`, by logical id.
fn resources<'a>(template: &'a Value, kind: &str) -> BTreeMap<&'a str, &'a Value> {
    template["Resources"]
        .as_mapping()
        .expect("Resources is a mapping")
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(id, resource)| (id.as_str().expect("logical ids are strings"), resource))
        .collect()
}

fn functions(template: &Value) -> BTreeMap<&str, &Value> {
    let functions = resources(template, "AWS::Serverless::Function");
    assert_eq!(
        functions.len(),
        6,
        "ticket-webhook, conversations-webhook, reply-worker, escalate, dead-letters, knowledge-sync"
    );
    functions
}

/// A function's property, or the one `Globals.Function` gives every function.
fn property<'a>(template: &'a Value, function: &'a Value, name: &str) -> Option<&'a Value> {
    function["Properties"]
        .get(name)
        .or_else(|| template["Globals"]["Function"].get(name))
}

/// The events of `kind` of every function: (function id, event properties).
fn events<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    functions(template)
        .into_iter()
        .flat_map(|(id, function)| {
            function["Properties"]["Events"]
                .as_mapping()
                .into_iter()
                .flat_map(|events| events.values())
                .filter(|event| event["Type"].as_str() == Some(kind))
                .map(move |event| (id, &event["Properties"]))
        })
        .collect()
}

/// The binaries of the workspace's packages (`[[bin]]` or `src/main.rs`), as cargo sees them.
fn workspace_binaries() -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(workspace())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let mut binaries = BTreeSet::new();
    for package in metadata["packages"].as_array().expect("packages") {
        for target in package["targets"].as_array().expect("targets") {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"));
            if is_bin {
                let source = target["src_path"].as_str().expect("src_path");
                assert!(Path::new(source).is_file(), "{source} exists");
                binaries.insert(target["name"].as_str().expect("name").to_owned());
            }
        }
    }
    binaries
}

#[test]
fn every_function_builds_a_binary_of_the_workspace_with_cargo_lambda() {
    let template = template();
    let binaries = workspace_binaries();
    let mut built = BTreeSet::new();
    for (id, function) in functions(&template) {
        let metadata = &function["Metadata"];
        assert_eq!(
            metadata["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}"
        );
        assert!(
            metadata.get("Binary").is_none(),
            "{id}: SAM reads Metadata.BuildProperties.Binary, not Metadata.Binary"
        );
        let binary = metadata["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} has no Metadata.BuildProperties.Binary"));
        assert!(
            binaries.contains(binary),
            "{id} builds `{binary}`, which is not a binary of the workspace ({binaries:?})"
        );
        assert!(built.insert(binary), "{binary} is deployed twice");
        assert_eq!(
            property(&template, function, "Handler").and_then(Value::as_str),
            Some("bootstrap"),
            "{id}"
        );
        assert_eq!(
            property(&template, function, "Runtime").and_then(Value::as_str),
            Some("provided.al2023"),
            "{id}"
        );
    }
}

#[test]
fn every_queue_outlasts_six_times_its_consumers_timeout() {
    let template = template();
    let functions = functions(&template);
    let queues = resources(&template, "AWS::SQS::Queue");
    let mut consumed = BTreeSet::new();
    for (function_id, event) in events(&template, "SQS") {
        let arn = attribute(&event["Queue"]).expect("an SQS event names its queue by !GetAtt");
        let queue_id = arn
            .strip_suffix(".Arn")
            .unwrap_or_else(|| panic!("{function_id}: {arn} is not a queue's Arn"));
        let queue = queues
            .get(queue_id)
            .unwrap_or_else(|| panic!("{function_id} consumes {queue_id}, not a queue here"));
        let visibility = queue["Properties"]["VisibilityTimeout"]
            .as_u64()
            .unwrap_or(30);
        let timeout = property(&template, functions[function_id], "Timeout")
            .and_then(Value::as_u64)
            .unwrap_or(3);
        assert!(
            visibility >= VISIBILITY_PER_TIMEOUT * timeout,
            "{queue_id}'s visibility timeout ({visibility} s) is under {VISIBILITY_PER_TIMEOUT} × \
             {function_id}'s timeout ({timeout} s)"
        );
        consumed.insert(queue_id.to_owned());
    }
    assert_eq!(
        consumed,
        BTreeSet::from(["DeadLetterQueue".to_owned(), "JobQueue".to_owned()]),
        "both queues have a consumer"
    );
}

#[test]
fn the_http_api_serves_exactly_the_routers_routes() {
    let template = template();
    let mut deployed = BTreeSet::new();
    for (function_id, event) in events(&template, "HttpApi") {
        let method = event["Method"].as_str().expect("a method").to_uppercase();
        let path = event["Path"].as_str().expect("a path");
        assert_eq!(
            reference(&event["ApiId"]),
            Some("HttpApi"),
            "{function_id} {method} {path} is on the stack's HTTP API"
        );
        assert!(
            deployed.insert(format!("{method} {path}")),
            "{method} {path} is routed twice"
        );
    }
    // The routers' own route lists: the one place a route is declared.
    let served: BTreeSet<String> = deskmate_cli::server::all_routes()
        .into_iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    let unknown: Vec<_> = deployed.difference(&served).collect();
    assert!(
        unknown.is_empty(),
        "the template routes {unknown:?}, which no router serves"
    );
    let missing: Vec<_> = served.difference(&deployed).collect();
    assert!(
        missing.is_empty(),
        "the routers serve {missing:?}, which the template does not route"
    );
}

#[test]
fn the_log_level_cannot_be_trace_and_sets_rust_log_and_lambdas_level() {
    let template = template();
    let parameter = &template["Parameters"]["LogLevel"];
    let allowed: Vec<&str> = parameter["AllowedValues"]
        .as_sequence()
        .expect("LogLevel has AllowedValues")
        .iter()
        .map(|value| value.as_str().expect("levels are strings"))
        .collect();
    assert!(
        !allowed
            .iter()
            .any(|level| level.eq_ignore_ascii_case("trace")),
        "at TRACE the AWS SDK would log request and response bodies: {allowed:?}"
    );
    let default = parameter["Default"].as_str().expect("a default level");
    assert!(allowed.contains(&default), "{default} is allowed");

    for (id, function) in functions(&template) {
        let rust_log = function["Properties"]["Environment"]["Variables"]
            .get("RUST_LOG")
            .or_else(|| template["Globals"]["Function"]["Environment"]["Variables"].get("RUST_LOG"))
            .unwrap_or_else(|| panic!("{id} has no RUST_LOG"));
        assert_eq!(reference(rust_log), Some("LogLevel"), "{id}: RUST_LOG");

        let logging = property(&template, function, "LoggingConfig").expect("LoggingConfig");
        // The function's own key wins over Globals (SAM merges maps that way).
        let application = logging
            .get("ApplicationLogLevel")
            .or_else(|| template["Globals"]["Function"]["LoggingConfig"].get("ApplicationLogLevel"))
            .expect("an ApplicationLogLevel");
        let lookup = intrinsic(application, "FindInMap")
            .and_then(Value::as_sequence)
            .expect("ApplicationLogLevel is looked up from LogLevel");
        assert_eq!(lookup.len(), 3);
        assert_eq!(reference(&lookup[1]), Some("LogLevel"), "{id}");
        let mapping = &template["Mappings"][lookup[0].as_str().expect("a map name")];
        let field = lookup[2].as_str().expect("a field");
        for level in &allowed {
            let lambda_level = mapping[*level][field]
                .as_str()
                .unwrap_or_else(|| panic!("no Lambda level for {level}"));
            // Lambda reads a line without a level or an RFC 3339 timestamp (embedded metrics,
            // the functions' untimed JSON) as INFO: a stricter filter would drop those.
            assert!(
                ["INFO", "DEBUG"].contains(&lambda_level),
                "LogLevel {level} sets Lambda's filter to {lambda_level}"
            );
            if level.eq_ignore_ascii_case("debug") {
                assert_eq!(lambda_level, "DEBUG", "at DEBUG Lambda passes debug lines");
            }
        }
    }
}

/// What a subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(|line| serde_json::from_str(line).expect("JSON log lines"))
            .collect()
    }
}

/// The lines the functions' subscriber writes with `RUST_LOG=rust_log` while `log` runs.
fn logged(rust_log: &str, log: impl FnOnce()) -> Vec<serde_json::Value> {
    let captured = Captured::default();
    let writer = captured.clone();
    // A default the template never uses, so a level RUST_LOG cannot parse shows up.
    let guard = log_this_thread_to(LogFormat::Json, Some(rust_log), "off", move || {
        writer.clone()
    });
    log();
    drop(guard);
    captured.lines()
}

#[test]
fn every_allowed_log_level_is_one_the_functions_filter_by() {
    let template = template();
    let levels = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"];
    for allowed in template["Parameters"]["LogLevel"]["AllowedValues"]
        .as_sequence()
        .expect("AllowedValues")
    {
        let allowed = allowed.as_str().expect("a string");
        let lines = logged(allowed, || {
            tracing::error!("e");
            tracing::warn!("w");
            tracing::info!("i");
            tracing::debug!("d");
            tracing::trace!("t");
        });
        let written: Vec<&str> = lines
            .iter()
            .map(|line| line["level"].as_str().expect("a level"))
            .collect();
        let upto = levels.iter().position(|level| level == &allowed).unwrap();
        assert_eq!(
            written,
            levels[..=upto],
            "RUST_LOG={allowed} writes these levels"
        );
    }
}

#[test]
fn every_function_logs_to_its_own_group_with_the_stacks_retention() {
    let template = template();
    let groups = resources(&template, "AWS::Logs::LogGroup");
    let mut used = BTreeSet::new();
    for (id, function) in functions(&template) {
        let name = substitution(&function["Properties"]["FunctionName"])
            .unwrap_or_else(|| panic!("{id} has a FunctionName of the stack's"));
        assert!(
            name.starts_with("${AWS::StackName}-"),
            "{id}: two stacks in one account must not share function names"
        );
        let group_id = reference(&function["Properties"]["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("{id}: LoggingConfig.LogGroup is a log group of the stack"));
        let group = groups
            .get(group_id)
            .unwrap_or_else(|| panic!("{id} logs to {group_id}, not a log group here"));
        assert_eq!(
            substitution(&group["Properties"]["LogGroupName"]),
            Some(format!("/aws/lambda/{name}").as_str()),
            "{id}'s log group is named as Lambda names it"
        );
        assert_eq!(
            reference(&group["Properties"]["RetentionInDays"]),
            Some("LogRetentionDays"),
            "{group_id}"
        );
        assert!(used.insert(group_id), "{group_id} is shared");
        let logging = property(&template, function, "LoggingConfig").expect("LoggingConfig");
        let format = logging
            .get("LogFormat")
            .or_else(|| template["Globals"]["Function"]["LoggingConfig"].get("LogFormat"));
        assert_eq!(format.and_then(Value::as_str), Some("JSON"), "{id}");

        let architectures = property(&template, function, "Architectures")
            .and_then(Value::as_sequence)
            .expect("Architectures");
        assert_eq!(architectures.len(), 1);
        assert_eq!(reference(&architectures[0]), Some("Architecture"), "{id}");
        assert_eq!(
            property(&template, function, "Tracing").and_then(reference),
            Some("Tracing"),
            "{id}"
        );
    }
}

#[test]
fn hand_off_failures_are_counted_from_the_alert_the_dead_letter_consumer_logs() {
    let template = template();
    let filters = resources(&template, "AWS::Logs::MetricFilter");
    let filter = filters["HandoffFailureMetricFilter"];
    assert_eq!(
        reference(&filter["Properties"]["LogGroupName"]),
        Some("DeadLettersLogGroup")
    );
    let pattern = filter["Properties"]["FilterPattern"]
        .as_str()
        .expect("a pattern");
    // Where the functions' JSON lines put the alert: the pattern must select that path.
    let lines = logged("INFO", || {
        tracing::error!(
            alert = UNANSWERED_ALERT,
            "the thread could not be handed to a human"
        );
    });
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["fields"]["alert"], UNANSWERED_ALERT,
        "{:?}",
        lines[0]
    );
    assert!(
        pattern.contains(&format!("$.fields.alert = \"{UNANSWERED_ALERT}\"")),
        "{pattern}"
    );
    let transformation = &filter["Properties"]["MetricTransformations"][0];
    let alarm = &resources(&template, "AWS::CloudWatch::Alarm")["HandoffFailureAlarm"];
    assert_eq!(
        alarm["Properties"]["MetricName"],
        transformation["MetricName"]
    );
    assert_eq!(
        substitution(&alarm["Properties"]["Namespace"]),
        substitution(&transformation["MetricNamespace"])
    );
}

#[test]
fn every_alarm_notifies_the_alarm_topic_and_shows_on_the_dashboard() {
    let template = template();
    let alarms = resources(&template, "AWS::CloudWatch::Alarm");
    for (id, alarm) in &alarms {
        let actions = alarm["Properties"]["AlarmActions"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{id} has AlarmActions"));
        assert!(
            actions
                .iter()
                .any(|action| reference(action) == Some("AlarmTopic")),
            "{id} notifies AlarmTopic"
        );
    }
    let functions = functions(&template);
    for id in functions.keys() {
        let errors = id.replace("Function", "ErrorsAlarm");
        assert!(alarms.contains_key(errors.as_str()), "{errors}");
    }
    for id in [
        "ThrottlesAlarm",
        "JobAgeAlarm",
        "DeadLetterAlarm",
        "Api5xxAlarm",
        "HandoffFailureAlarm",
    ] {
        assert!(alarms.contains_key(id), "{id}");
    }
    let subscription = &resources(&template, "AWS::SNS::Subscription")["AlarmEmailSubscription"];
    assert_eq!(subscription["Condition"].as_str(), Some("HasAlarmEmail"));
    assert_eq!(
        reference(&subscription["Properties"]["Endpoint"]),
        Some("AlarmEmail")
    );

    let dashboard = resources(&template, "AWS::CloudWatch::Dashboard");
    let body = substitution(&dashboard["Dashboard"]["Properties"]["DashboardBody"])
        .expect("the dashboard body is a !Sub");
    // Every ${...} names a resource (or attribute) of the stack, or a pseudo parameter.
    let mut json = String::new();
    let mut arns = BTreeSet::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').expect("a closed ${") + start;
        let name = &rest[start + 2..end];
        if let Some(alarm) = name.strip_suffix(".Arn") {
            arns.insert(alarm);
        }
        let resource = name.split('.').next().unwrap_or_default();
        assert!(
            name.starts_with("AWS::")
                || template["Resources"].get(resource).is_some()
                || template["Parameters"].get(resource).is_some(),
            "the dashboard names {name}, which the stack does not have"
        );
        json.push_str(&rest[..start]);
        json.push_str("placeholder");
        rest = &rest[end + 1..];
    }
    json.push_str(rest);
    let body: serde_json::Value = serde_json::from_str(&json).expect("the dashboard body is JSON");
    // (each ARN was replaced by a placeholder above: count them here, name them from `arns`)
    let shown: Vec<&str> = body["widgets"]
        .as_array()
        .expect("widgets")
        .iter()
        .filter(|widget| widget["type"] == "alarm")
        .flat_map(|widget| widget["properties"]["alarms"].as_array().expect("alarms"))
        .filter_map(serde_json::Value::as_str)
        .collect();
    assert_eq!(
        shown.len(),
        alarms.len(),
        "one alarm widget entry per alarm"
    );
    for id in alarms.keys() {
        assert!(
            arns.contains(*id),
            "{id} is on the dashboard's alarm widget"
        );
    }
}

#[test]
fn concurrency_limits_keep_the_queues_pollers_within_the_workers_reservation() {
    let template = template();
    let parameters = &template["Parameters"];
    let maximum = &parameters["WorkerMaximumConcurrency"];
    assert!(
        maximum["MinValue"].as_u64() >= Some(2),
        "SQS event sources need a MaximumConcurrency of at least 2"
    );
    let reserved = parameters["WorkerReservedConcurrency"]["Default"]
        .as_u64()
        .expect("a default");
    let maximum = maximum["Default"].as_u64().expect("a default");
    assert!(
        reserved == 0 || reserved >= maximum,
        "a reservation under the pollers' maximum ({reserved} < {maximum}) throttles them"
    );
    let (_, jobs) = events(&template, "SQS")
        .into_iter()
        .find(|(id, _)| *id == "ReplyWorkerFunction")
        .expect("the worker consumes the job queue");
    assert_eq!(
        reference(&jobs["ScalingConfig"]["MaximumConcurrency"]),
        Some("WorkerMaximumConcurrency")
    );
    let api = &resources(&template, "AWS::Serverless::HttpApi")["HttpApi"];
    let throttling = &api["Properties"]["DefaultRouteSettings"];
    assert_eq!(
        reference(&throttling["ThrottlingBurstLimit"]),
        Some("ApiThrottlingBurstLimit")
    );
    assert_eq!(
        reference(&throttling["ThrottlingRateLimit"]),
        Some("ApiThrottlingRateLimit")
    );
}
