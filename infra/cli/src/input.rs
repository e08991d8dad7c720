//! Secrets the operator gives the CLI: from an environment variable, typed at a prompt that
//! does not echo, or piped on standard input; never from the command line, where they would
//! land in shell history and process lists.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use secrecy::SecretString;

/// How long a piped standard input may stay silent before the CLI says what it waits for.
const QUIET_PIPE: Duration = Duration::from_secs(2);

/// The secret in `variable`, else typed at a prompt (standard input is a terminal), else read
/// from piped standard input. With nothing to read it fails at once, naming the variable.
pub fn read_secret(variable: &str, what: &str) -> Result<SecretString, String> {
    if let Some(value) = from_env(variable) {
        return Ok(value);
    }
    if std::io::stdin().is_terminal() {
        return prompt(variable, what);
    }
    let value = read_pipe(variable, what)?;
    if value.is_empty() {
        return Err(format!(
            "no {what}: set {variable}, or pipe it on standard input, or run this in a terminal to be asked for it"
        ));
    }
    Ok(SecretString::from(value))
}

/// Like [`read_secret`], for commands that need several secrets at once: from `variable`, or
/// typed at a prompt; a piped standard input could not say which secret is which.
pub fn read_secret_env_or_prompt(variable: &str, what: &str) -> Result<SecretString, String> {
    if let Some(value) = from_env(variable) {
        return Ok(value);
    }
    if std::io::stdin().is_terminal() {
        return prompt(variable, what);
    }
    Err(format!(
        "no {what}: set {variable} (secrets are never taken from the command line)"
    ))
}

fn from_env(variable: &str) -> Option<SecretString> {
    std::env::var(variable)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .map(SecretString::from)
}

/// Asks on standard error and reads one line with echo turned off (through `stty`; when that
/// fails the line is read visibly, and the operator is told).
fn prompt(variable: &str, what: &str) -> Result<SecretString, String> {
    let hidden = stty("-echo");
    let note = if hidden {
        "input hidden"
    } else {
        "input NOT hidden"
    };
    eprint!("Enter the {what} ({note}; or set {variable}): ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if hidden {
        stty("echo");
        eprintln!();
    }
    read.map_err(|err| format!("could not read the {what}: {err}"))?;
    let value = line.trim();
    if value.is_empty() {
        return Err(format!("no {what} given; type it, or set {variable}"));
    }
    Ok(SecretString::from(value.to_owned()))
}

/// Runs `stty` on the terminal that is standard input; whether it worked.
fn stty(setting: &str) -> bool {
    Command::new("stty")
        .arg(setting)
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// All of piped standard input, trimmed. Says on standard error what it waits for when the
/// pipe stays silent, so the CLI never hangs without a word.
fn read_pipe(variable: &str, what: &str) -> Result<String, String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut input = String::new();
        let read = std::io::stdin().read_to_string(&mut input).map(|_| input);
        let _ = sender.send(read);
    });
    let read = match receiver.recv_timeout(QUIET_PIPE) {
        Ok(read) => read,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            eprintln!(
                "deskmate: waiting for the {what} on standard input (close it with Ctrl-D, or set {variable} instead)"
            );
            receiver
                .recv()
                .map_err(|_| format!("could not read the {what} from standard input"))?
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(format!("could not read the {what} from standard input"));
        }
    };
    read.map(|input| input.trim().to_owned())
        .map_err(|err| format!("could not read the {what} from standard input: {err}"))
}
