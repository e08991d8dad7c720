//! The Conversations API's users, API-made conversations, user and media messages, private
//! attachments, and the Agent Workspace's messages and release of control, in Zendesk's shapes.

use reqwest::Method;
use serde_json::{Value, json};
use zendesk_sandbox::{Call, Fault, FaultRule, MessagingKeys, Role, Sandbox};

/// A sandbox with messaging on, Deskmate's integration as the default responder (its
/// webhook goes nowhere; the deliveries are read back), and a client with the app's key.
struct App {
    sandbox: Sandbox,
    http: reqwest::Client,
    keys: MessagingKeys,
}

impl App {
    async fn new() -> Self {
        let sandbox = Sandbox::start().await;
        sandbox.add_brand("Acme");
        let keys = sandbox.enable_messaging();
        let (integration, _) = sandbox.add_conversations_integration(
            "Deskmate",
            "http://127.0.0.1:9/hook",
            &[
                "conversation:create",
                "conversation:message",
                "switchboard:passControl",
                "switchboard:releaseControl",
            ],
        );
        sandbox.make_default_responder(&integration, "deskmate");
        Self {
            sandbox,
            http: reqwest::Client::new(),
            keys,
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/sc/v2/apps/{}{path}",
            self.sandbox.base_url(),
            self.keys.app_id
        )
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .basic_auth(&self.keys.key_id, Some(&self.keys.key_secret));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    /// Creates a user and answers its id.
    async fn user(&self, external_id: &str) -> String {
        let (status, answer) = self
            .post(
                "/users",
                json!({"externalId": external_id, "profile": {"givenName": "Ana", "surname": "Li"}}),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
        answer["user"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a conversation for the user and answers its id.
    async fn conversation(&self, participant: Value, metadata: Value) -> String {
        let (status, answer) = self
            .post(
                "/conversations",
                json!({"type": "personal", "participants": [participant], "metadata": metadata}),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
        answer["conversation"]["id"].as_str().unwrap().to_owned()
    }

    /// The events of one type the sandbox sent, oldest first.
    fn events(&self, kind: &str) -> Vec<Value> {
        self.sandbox
            .deliveries()
            .iter()
            .filter(|d| d.endpoint.ends_with("/hook"))
            .flat_map(|d| {
                let body: Value = serde_json::from_str(&d.body).unwrap();
                body["events"].as_array().unwrap().clone()
            })
            .filter(|e| e["type"] == kind)
            .collect()
    }
}

fn code(answer: &Value) -> &str {
    answer["errors"][0]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn create_user_answers_the_user_and_links_a_support_end_user() {
    let app = App::new().await;
    let (status, answer) = app
        .post(
            "/users",
            json!({
                "externalId": "crm-42",
                "profile": {"givenName": "Ana", "surname": "Li", "email": "ana@example.com"},
                "metadata": {"plan": "gold", "seats": 3},
            }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let user = &answer["user"];
    let id = user["id"].as_str().unwrap();
    assert_eq!(id.len(), 24, "a Conversations id");
    assert_eq!(user["externalId"], "crm-42");
    assert_eq!(
        user["profile"],
        json!({"givenName": "Ana", "surname": "Li", "email": "ana@example.com"})
    );
    assert_eq!(user["metadata"], json!({"plan": "gold", "seats": 3}));
    assert_eq!(user["identities"], json!([]));
    assert!(user["signedUpAt"].as_str().unwrap().ends_with('Z'));
    assert!(
        user.get("zendeskId").is_none(),
        "Zendesk links the Support user after answering"
    );

    let (user_id, support_user) = app.sandbox.messaging_user("crm-42").unwrap();
    assert_eq!(user_id, id);
    let support = app.sandbox.user(support_user).unwrap();
    assert_eq!(
        (
            support.name.as_str(),
            support.email.as_str(),
            support.role.as_str()
        ),
        ("Ana Li", "ana@example.com", "end-user")
    );

    for path in [format!("/users/{id}"), "/users/crm-42".to_owned()] {
        let (status, answer) = app.get(&path).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["user"]["id"], id);
        assert_eq!(answer["user"]["externalId"], "crm-42");
        assert_eq!(answer["user"]["zendeskId"], support_user.to_string());
    }
    let (status, answer) = app.get("/users/nobody").await;
    assert_eq!((status, code(&answer)), (404, "user_not_found"));
    assert_eq!(app.sandbox.messaging_user("nobody"), None);
}

#[tokio::test]
async fn create_user_refuses_a_taken_external_id_and_bad_bodies() {
    let app = App::new().await;
    app.user("crm-1").await;
    let (status, answer) = app.post("/users", json!({"externalId": "crm-1"})).await;
    assert_eq!(status, 409);
    assert_eq!(
        answer,
        json!({"errors": [{"code": "conflict", "title": "User already exists"}]})
    );
    let too_long = "x".repeat(1025);
    for body in [
        json!({"externalId": ""}),
        json!({"externalId": too_long}),
        json!({"externalId": 7}),
        json!({"profile": {"givenName": "Ana"}}),
        json!({"externalId": "crm-2", "profile": {"email": "not an email"}}),
        json!({"externalId": "crm-2", "metadata": {"nested": {"no": 1}}}),
    ] {
        let (status, answer) = app.post("/users", body.clone()).await;
        assert_eq!((status, code(&answer)), (400, "bad_request"), "{body}");
    }
    // Without a name, the Support user is named by the external id; without an email, it
    // gets a placeholder.
    app.post("/users", json!({"externalId": "crm-3"})).await;
    let (_, support_user) = app.sandbox.messaging_user("crm-3").unwrap();
    let support = app.sandbox.user(support_user).unwrap();
    assert_eq!(support.name, "crm-3");
    assert!(support.email.contains('@'));
}

#[tokio::test]
async fn create_conversation_answers_it_announces_it_and_gives_it_to_the_default_responder() {
    let app = App::new().await;
    let user = app.user("crm-42").await;
    let (status, answer) = app
        .post(
            "/conversations",
            json!({
                "type": "personal",
                "participants": [{"userExternalId": "crm-42"}],
                "displayName": "Order 1234",
                "description": "From the shop",
                "metadata": {"order": "1234", "total": 99.5, "vip": true},
            }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let conversation = &answer["conversation"];
    let id = conversation["id"].as_str().unwrap();
    assert_eq!(conversation["type"], "personal");
    assert_eq!(conversation["isDefault"], true, "the user's first");
    assert_eq!(conversation["displayName"], "Order 1234");
    assert_eq!(conversation["description"], "From the shop");
    let metadata = json!({"order": "1234", "total": 99.5, "vip": true});
    assert_eq!(conversation["metadata"], metadata);
    assert_eq!(
        conversation["activeSwitchboardIntegration"]["name"],
        "deskmate"
    );
    assert!(conversation["createdAt"].is_string());
    assert_eq!(app.sandbox.in_control(id).as_deref(), Some("deskmate"));

    let view = app.sandbox.conversation(id).unwrap();
    assert_eq!(view.widget, None, "no channel");
    assert_eq!(view.user_id, user);
    assert_eq!(
        Value::Object(app.sandbox.conversation_metadata(id).unwrap()),
        metadata
    );
    assert_eq!(app.sandbox.conversations_of_user(&user), vec![id]);

    let created = app.events("conversation:create");
    let payload = &created.last().unwrap()["payload"];
    assert_eq!(payload["conversation"]["id"], id);
    assert_eq!(payload["conversation"]["metadata"], metadata);
    assert_eq!(payload["creationReason"], "none");
    assert_eq!(payload["source"], json!({"type": "api"}));
    assert_eq!(payload["user"]["id"], user.as_str());
    assert_eq!(payload["user"]["externalId"], "crm-42");

    let (status, answer) = app.get(&format!("/conversations/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(answer["conversation"]["metadata"], metadata);

    // A second conversation of the user, by userId, is not the default one.
    let (_, answer) = app
        .post(
            "/conversations",
            json!({"type": "personal", "participants": [{"userId": user}]}),
        )
        .await;
    assert_eq!(answer["conversation"]["isDefault"], false);
    assert!(answer["conversation"].get("metadata").is_none());
}

#[tokio::test]
async fn create_conversation_checks_its_body_like_zendesk() {
    let app = App::new().await;
    let user = app.user("crm-42").await;
    let other = app.user("crm-43").await;
    let big = "x".repeat(4100);
    let bad = [
        json!({"participants": [{"userId": user}]}),
        json!({"type": "group", "participants": [{"userId": user}]}),
        json!({"type": "personal"}),
        json!({"type": "personal", "participants": []}),
        json!({"type": "personal", "participants": [{"userId": user}, {"userId": other}]}),
        json!({"type": "personal", "participants": [{"userId": user, "userExternalId": "crm-42"}]}),
        json!({"type": "personal", "participants": [{"userId": user}], "metadata": {"a": {"b": 1}}}),
        json!({"type": "personal", "participants": [{"userId": user}], "metadata": {"a": [1]}}),
        json!({"type": "personal", "participants": [{"userId": user}], "metadata": {"a": null}}),
        json!({"type": "personal", "participants": [{"userId": user}], "metadata": {"big": big}}),
        json!({"type": "personal", "participants": [{"userId": user}], "metadata": "x"}),
        json!({"type": "personal", "participants": [{"userId": user}], "displayName": ""}),
    ];
    for body in bad {
        let (status, answer) = app.post("/conversations", body.clone()).await;
        assert_eq!((status, code(&answer)), (400, "bad_request"), "{body}");
    }
    for participant in [
        json!({"userId": "nobody"}),
        json!({"userExternalId": "nobody"}),
    ] {
        let (status, answer) = app
            .post(
                "/conversations",
                json!({"type": "personal", "participants": [participant]}),
            )
            .await;
        assert_eq!((status, code(&answer)), (404, "user_not_found"));
    }
    assert!(app.sandbox.conversations_of_user(&user).is_empty());
}

#[tokio::test]
async fn list_conversations_filters_by_user_in_cursor_pages() {
    let app = App::new().await;
    let user = app.user("crm-42").await;
    app.user("crm-43").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.conversation(json!({"userId": user}), Value::Null).await);
    }
    app.conversation(json!({"userExternalId": "crm-43"}), Value::Null)
        .await;
    assert_eq!(app.sandbox.conversations_of_user(&user), ids);

    let (status, all) = app
        .get("/conversations?filter[userExternalId]=crm-42")
        .await;
    assert_eq!(status, 200, "{all}");
    let listed: Vec<&str> = all["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);
    assert_eq!(all["meta"], json!({"hasMore": false}));
    assert_eq!(all["links"], json!({}));
    assert_eq!(all["conversations"][0]["isDefault"], true);

    // Walk forward two at a time by the next links.
    let mut walked = Vec::new();
    let mut url = app.url(&format!(
        "/conversations?filter[userId]={user}&page[size]=2"
    ));
    loop {
        let page: Value = app
            .http
            .get(&url)
            .basic_auth(&app.keys.key_id, Some(&app.keys.key_secret))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let conversations = page["conversations"].as_array().unwrap();
        assert!(conversations.len() <= 2);
        walked.extend(
            conversations
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        if page["meta"]["hasMore"] == false {
            assert!(page["meta"].get("afterCursor").is_none());
            assert!(page["links"].get("next").is_none());
            break;
        }
        assert_eq!(page["meta"]["afterCursor"], *walked.last().unwrap());
        url = page["links"]["next"].as_str().unwrap().to_owned();
    }
    assert_eq!(walked, ids);

    let (_, back) = app
        .get(&format!(
            "/conversations?filter[userId]={user}&page[size]=2&page[before]={}",
            ids[4]
        ))
        .await;
    let listed: Vec<&str> = back["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [&ids[2], &ids[3]]);
    assert_eq!(back["meta"]["hasMore"], true);
    assert_eq!(back["meta"]["beforeCursor"], ids[2]);
    assert_eq!(back["meta"]["afterCursor"], ids[3]);

    for query in [
        "",
        "?filter[userId]=a&filter[userExternalId]=b",
        "?filter[userExternalId]=crm-42&page[size]=0",
        "?filter[userExternalId]=crm-42&page[size]=101",
        "?filter[userExternalId]=crm-42&page[after]=5e1606762556d93e9c176f69",
    ] {
        let (status, answer) = app.get(&format!("/conversations{query}")).await;
        assert_eq!((status, code(&answer)), (400, "bad_request"), "{query}");
    }
    let (status, answer) = app.get("/conversations?filter[userId]=nobody").await;
    assert_eq!((status, code(&answer)), (404, "user_not_found"));
}

#[tokio::test]
async fn users_post_text_image_and_file_messages_in_their_conversations() {
    let app = App::new().await;
    let user = app.user("crm-42").await;
    app.user("crm-43").await;
    let conversation = app
        .conversation(json!({"userExternalId": "crm-42"}), Value::Null)
        .await;
    let path = format!("/conversations/{conversation}/messages");

    let (status, answer) = app
        .post(
            &path,
            json!({"author": {"type": "user", "userExternalId": "crm-42"}, "content": {"type": "text", "text": "Hi"}}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let messages = answer["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    let text = &messages[0];
    assert_eq!(text["author"]["type"], "user");
    assert_eq!(text["author"]["userId"], user.as_str());
    assert_eq!(text["author"]["displayName"], "Ana Li");
    assert_eq!(text["content"], json!({"type": "text", "text": "Hi"}));
    assert_eq!(text["source"]["type"], "api:conversations");

    let (status, answer) = app
        .post(
            &path,
            json!({
                "author": {"type": "user", "userId": user},
                "content": {"type": "image", "mediaUrl": "https://cdn.example.com/shots/broken.PNG", "altText": "The broken box"},
            }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        answer["messages"][0]["content"],
        json!({"type": "image", "mediaUrl": "https://cdn.example.com/shots/broken.PNG", "mediaType": "image/png", "altText": "The broken box"})
    );

    let (status, answer) = app
        .post(
            &path,
            json!({
                "author": {"type": "user", "userId": user},
                "content": {"type": "file", "mediaUrl": "https://cdn.example.com/invoice.pdf?sig=1", "text": "My invoice"},
            }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        answer["messages"][0]["content"],
        json!({"type": "file", "mediaUrl": "https://cdn.example.com/invoice.pdf?sig=1", "mediaType": "application/pdf", "altText": "invoice.pdf", "text": "My invoice"}),
        "altText defaults to the file name"
    );

    let (_, listed) = app.get(&path).await;
    let kinds: Vec<&str> = listed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "image", "file"]);
    let stored = app.sandbox.conversation_messages(&conversation);
    assert_eq!(stored[1].content_type, "image");
    assert_eq!(stored[1].media_type.as_deref(), Some("image/png"));
    assert_eq!(stored[1].alt_text.as_deref(), Some("The broken box"));
    assert_eq!(
        stored[2].media_url.as_deref(),
        Some("https://cdn.example.com/invoice.pdf?sig=1")
    );
    assert_eq!(stored[2].text, "My invoice");

    let sent = app.events("conversation:message");
    let file = &sent.last().unwrap()["payload"]["message"];
    assert_eq!(file["content"]["type"], "file");
    assert_eq!(file["author"]["user"]["externalId"], "crm-42");

    let alt = "a".repeat(129);
    let bad = [
        json!({"author": {"type": "user"}, "content": {"type": "text", "text": "x"}}),
        json!({"author": {"type": "user", "userId": user, "userExternalId": "crm-42"}, "content": {"type": "text", "text": "x"}}),
        json!({"author": {"type": "user", "userExternalId": "crm-43"}, "content": {"type": "text", "text": "x"}}),
        json!({"author": {"type": "user", "userId": user}, "content": {"type": "image"}}),
        json!({"author": {"type": "user", "userId": user}, "content": {"type": "file", "mediaUrl": "/relative.pdf"}}),
        json!({"author": {"type": "user", "userId": user}, "content": {"type": "file", "mediaUrl": "ftp://example.com/a.pdf"}}),
        json!({"author": {"type": "user", "userId": user}, "content": {"type": "file", "mediaUrl": "https://example.com/a.pdf", "altText": alt}}),
        json!({"author": {"type": "user", "userId": user}, "content": {"type": "location"}}),
    ];
    for body in bad {
        let (status, answer) = app.post(&path, body.clone()).await;
        assert_eq!((status, code(&answer)), (400, "bad_request"), "{body}");
    }
    let (status, answer) = app
        .post(
            &path,
            json!({"author": {"type": "user", "userExternalId": "nobody"}, "content": {"type": "text", "text": "x"}}),
        )
        .await;
    assert_eq!((status, code(&answer)), (404, "user_not_found"));
    assert_eq!(app.sandbox.conversation_messages(&conversation).len(), 3);
}

#[tokio::test]
async fn a_customers_messages_land_on_the_open_messaging_ticket_as_public_comments() {
    let app = App::new().await;
    let user = app.user("crm-42").await;
    let conversation = app.conversation(json!({"userId": user}), Value::Null).await;
    let path = format!("/conversations/{conversation}/messages");
    app.post(
        &path,
        json!({"author": {"type": "user", "userId": user}, "content": {"type": "text", "text": "I need a person"}}),
    )
    .await;
    app.sandbox.agent_workspace_takes_over(&conversation);
    let ticket = app.sandbox.messaging_ticket(&conversation).unwrap();
    let (_, requester) = app.sandbox.messaging_user("crm-42").unwrap();
    assert_eq!(app.sandbox.ticket(ticket).unwrap().requester_id, requester);
    let before = app.sandbox.comments(ticket).len();

    app.post(
        &path,
        json!({"author": {"type": "user", "userId": user}, "content": {"type": "text", "text": "Still there?"}}),
    )
    .await;
    app.post(
        &path,
        json!({"author": {"type": "user", "userId": user}, "content": {"type": "file", "mediaUrl": "https://cdn.example.com/receipt.pdf", "altText": "Receipt"}}),
    )
    .await;
    app.sandbox
        .workspace_agent_says(&conversation, "Sam", "Looking into it");
    let comments = app.sandbox.comments(ticket);
    let new: Vec<(u64, &str, bool)> = comments[before..]
        .iter()
        .map(|c| (c.author_id, c.body.as_str(), c.public))
        .collect();
    assert_eq!(
        new,
        [
            (requester, "Still there?", true),
            (
                requester,
                "[file] Receipt https://cdn.example.com/receipt.pdf",
                true
            ),
        ],
        "the agent's own message is not copied back"
    );
}

#[tokio::test]
async fn workspace_agents_and_automations_write_as_zendesk_shows_them() {
    let app = App::new().await;
    let brand = app.sandbox.add_brand("Shoes");
    let widget = app.sandbox.add_web_widget(brand, "Shoes widget");
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    let view = app.sandbox.conversation(&conversation).unwrap();
    assert_eq!(view.widget.as_deref(), Some(widget.as_str()));
    assert_eq!(view.metadata, None);

    app.sandbox
        .workspace_agent_says(&conversation, "Sam", "Sam here");
    let bot = app
        .sandbox
        .automation_says(&conversation, "Thanks for waiting");
    let bytes = b"%PDF-1.4 not really".to_vec();
    let file = app.sandbox.workspace_agent_sends_file(
        &conversation,
        "Sam",
        "Return label.pdf",
        "application/pdf",
        bytes.clone(),
        Some("Your label"),
    );
    let picture = app.sandbox.workspace_agent_sends_file(
        &conversation,
        "Sam",
        "box.png",
        "image/png",
        vec![0x89, b'P', b'N', b'G'],
        None,
    );

    let sent = app.events("conversation:message");
    let by_id = |id: &str| {
        sent.iter()
            .map(|e| e["payload"]["message"].clone())
            .find(|m| m["id"] == id)
            .unwrap()
    };
    let said = &sent[0]["payload"]["message"];
    assert_eq!(
        said["author"],
        json!({"type": "business", "displayName": "Sam", "subtypes": ["agent"]})
    );
    assert_eq!(said["source"], json!({"type": "zd:agentWorkspace"}));
    let automated = by_id(&bot);
    assert_eq!(automated["author"]["subtypes"], json!(["bot"]));
    assert_eq!(automated["author"]["type"], "business");
    assert_eq!(automated["source"]["type"], "zd:answerBot");

    let label = by_id(&file);
    assert_eq!(label["source"]["type"], "zd:agentWorkspace");
    assert_eq!(label["content"]["type"], "file");
    assert_eq!(label["content"]["mediaType"], "application/pdf");
    assert_eq!(label["content"]["mediaSize"], bytes.len());
    assert_eq!(label["content"]["altText"], "Return label.pdf");
    assert_eq!(label["content"]["text"], "Your label");
    let url = label["content"]["mediaUrl"].as_str().unwrap();
    let prefix = format!("{}/sc/attachments/", app.sandbox.base_url());
    assert!(url.starts_with(&prefix), "{url}");
    assert!(url.ends_with("/Return%20label.pdf"), "{url}");
    let image = by_id(&picture);
    assert_eq!(image["content"]["type"], "image");
    assert!(image["content"].get("text").is_none());

    // A private attachment: the app's key or nothing.
    let response = app.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .http
        .get(url)
        .basic_auth(&app.keys.key_id, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .http
        .get(url)
        .basic_auth(&app.keys.key_id, Some(&app.keys.key_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
    let elsewhere = url.replace("Return%20label.pdf", "other.pdf");
    let response = app
        .http
        .get(elsewhere)
        .basic_auth(&app.keys.key_id, Some(&app.keys.key_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let stored = app.sandbox.conversation_messages(&conversation);
    let stored_file = stored.iter().find(|m| m.id == file).unwrap();
    assert_eq!(stored_file.content_type, "file");
    assert_eq!(stored_file.media_size, Some(bytes.len() as u64));
    assert_eq!(stored_file.media_url.as_deref(), Some(url));
}

#[tokio::test]
async fn solving_the_messaging_ticket_releases_control_and_the_customer_wakes_the_default_responder()
 {
    let app = App::new().await;
    let agent = app.sandbox.add_user("Sam", "sam@acme.test", Role::Agent);
    let brand = app.sandbox.add_brand("Shoes");
    let widget = app.sandbox.add_web_widget(brand, "Shoes widget");
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.sandbox
        .widget_visitor_says(&conversation, "A person, please");
    app.sandbox.agent_workspace_takes_over(&conversation);
    let ticket = app.sandbox.messaging_ticket(&conversation).unwrap();

    app.sandbox.solve(agent, ticket);
    let comments = app.sandbox.comments(ticket).len();
    assert_eq!(app.sandbox.in_control(&conversation), None);
    assert_eq!(app.sandbox.messaging_ticket(&conversation), None);
    let released = app.events("switchboard:releaseControl");
    assert_eq!(released.len(), 1);
    let payload = &released[0]["payload"];
    assert_eq!(payload["reason"], "ticketClosed");
    assert_eq!(payload["conversation"]["id"], conversation);
    assert!(
        payload["conversation"]
            .get("activeSwitchboardIntegration")
            .is_none()
    );
    let passes = app.events("switchboard:passControl").len();

    app.sandbox
        .widget_visitor_says(&conversation, "One more thing");
    assert_eq!(
        app.sandbox.in_control(&conversation).as_deref(),
        Some("deskmate")
    );
    let message = app.events("conversation:message");
    assert_eq!(
        message.last().unwrap()["payload"]["conversation"]["activeSwitchboardIntegration"]["name"],
        "deskmate"
    );
    assert_eq!(
        app.events("switchboard:passControl").len(),
        passes,
        "waking is no pass"
    );
    assert_eq!(
        app.sandbox.comments(ticket).len(),
        comments,
        "the solved ticket gets no more comments"
    );
}

#[tokio::test]
async fn standby_events_follow_the_switch() {
    let app = App::new().await;
    let brand = app.sandbox.add_brand("Shoes");
    let widget = app.sandbox.add_web_widget(brand, "Shoes widget");
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.sandbox.agent_workspace_takes_over(&conversation);
    app.sandbox.widget_visitor_says(&conversation, "Hello?");
    assert!(
        app.events("conversation:message").is_empty(),
        "Deskmate is on standby without standby events"
    );
    app.sandbox.set_standby_events("deskmate", true);
    app.sandbox
        .widget_visitor_says(&conversation, "Hello again?");
    assert_eq!(app.events("conversation:message").len(), 1);
    app.sandbox.set_standby_events("deskmate", false);
    app.sandbox.widget_visitor_says(&conversation, "Anyone?");
    assert_eq!(app.events("conversation:message").len(), 1);
}

#[tokio::test]
async fn faults_apply_to_the_new_calls() {
    let app = App::new().await;
    app.sandbox.inject(FaultRule::once(
        Call::CreateUser,
        Fault::CommitThenStatus { status: 500 },
    ));
    let (status, answer) = app.post("/users", json!({"externalId": "crm-42"})).await;
    assert_eq!((status, code(&answer)), (500, "internal_server_error"));
    let (user, _) = app
        .sandbox
        .messaging_user("crm-42")
        .expect("committed before the 500");

    app.sandbox.inject(FaultRule::once(
        Call::CreateConversation,
        Fault::CommitThenStatus { status: 500 },
    ));
    let (status, _) = app
        .post(
            "/conversations",
            json!({"type": "personal", "participants": [{"userId": user}]}),
        )
        .await;
    assert_eq!(status, 500);
    let conversations = app.sandbox.conversations_of_user(&user);
    assert_eq!(conversations.len(), 1, "committed before the 500");
    assert_eq!(app.events("conversation:create").len(), 1);

    app.sandbox.inject(FaultRule::once(
        Call::ListConversations,
        Fault::Status { status: 503 },
    ));
    let (status, _) = app
        .get(&format!("/conversations?filter[userId]={user}"))
        .await;
    assert_eq!(status, 503);
    app.sandbox.inject(FaultRule::once(
        Call::GetUser,
        Fault::Status { status: 404 },
    ));
    let (status, _) = app.get(&format!("/users/{user}")).await;
    assert_eq!(status, 404);

    let brand = app.sandbox.add_brand("Shoes");
    let widget = app.sandbox.add_web_widget(brand, "Shoes widget");
    let visitor = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.sandbox.workspace_agent_sends_file(
        &visitor,
        "Sam",
        "a.txt",
        "text/plain",
        b"hi".to_vec(),
        None,
    );
    let url = app.sandbox.conversation_messages(&visitor)[0]
        .media_url
        .clone()
        .unwrap();
    app.sandbox.inject(FaultRule::once(
        Call::DownloadAttachment,
        Fault::Status { status: 500 },
    ));
    let response = app
        .http
        .get(&url)
        .basic_auth(&app.keys.key_id, Some(&app.keys.key_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);

    let calls = app.sandbox.calls();
    for call in [
        Call::CreateUser,
        Call::CreateConversation,
        Call::ListConversations,
        Call::GetUser,
        Call::DownloadAttachment,
    ] {
        assert!(calls.contains(&call), "{call:?} in {calls:?}");
    }
}

#[tokio::test]
async fn the_control_api_sends_files_and_automated_messages() {
    let app = App::new().await;
    let brand = app.sandbox.add_brand("Shoes");
    let widget = app.sandbox.add_web_widget(brand, "Shoes widget");
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    let control = |path: &str| {
        format!(
            "{}/conversations/{conversation}/{path}",
            app.sandbox.control_url()
        )
    };
    let response = app
        .http
        .post(control("agent_files"))
        .body(
            json!({"name": "Sam", "file_name": "label.pdf", "media_type": "application/pdf", "content_base64": "JVBERg==", "text": "Here"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let file: Value = response.json().await.unwrap();
    let response = app
        .http
        .post(control("automation_messages"))
        .body(json!({"text": "Thanks for waiting"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bot: Value = response.json().await.unwrap();
    let messages = app.sandbox.conversation_messages(&conversation);
    assert_eq!(messages[0].id, file["id"]);
    assert_eq!(messages[0].media_size, Some(4));
    assert_eq!(messages[0].text, "Here");
    assert_eq!(messages[1].id, bot["id"]);
    assert_eq!(messages[1].source_type, "zd:answerBot");

    let response = app
        .http
        .post(control("agent_files"))
        .body(json!({"name": "Sam", "file_name": "a", "media_type": "text/plain", "content_base64": "%%%"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = app
        .http
        .post(format!(
            "{}/conversations/nope/automation_messages",
            app.sandbox.control_url()
        ))
        .body(json!({"text": "x"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
