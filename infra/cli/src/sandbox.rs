//! The Zendesk sandbox on a port of its own: what `deskmate sandbox` serves and the account
//! `deskmate dev` plays on.

use zendesk_sandbox::Sandbox;

use crate::local::LocalError;

/// Starts an empty sandbox account on `127.0.0.1:{port}` (0 picks a free port).
pub async fn start_sandbox(port: u16) -> Result<Sandbox, LocalError> {
    let address = format!("127.0.0.1:{port}");
    Sandbox::start_on(address.as_str())
        .await
        .map_err(|source| LocalError::Bind { address, source })
}

/// Where the sandbox's APIs are, as lines to print.
pub fn describe(sandbox: &Sandbox) -> String {
    let base = sandbox.base_url();
    let conversations = match sandbox.messaging_keys() {
        Some(keys) => format!("{base}/sc/v2/apps/{}", keys.app_id),
        None => format!("{base}/sc/v2/apps/APP_ID   (POST /_sandbox/messaging turns it on)"),
    };
    format!(
        "  Support API:        {base}/api/v2\n\
         \x20 Conversations API:  {conversations}\n\
         \x20 Control API:        {control}/   (GET it for the list of routes)\n",
        control = sandbox.control_url(),
    )
}
