//! A link's webhook, or the default one (Settings), as a panel the server renders whole (a
//! [`Fragment`](crate::fragment::Fragment)): where its events go, how their delivery went, the
//! latest events, and the forms that attach, test and remove it. The secret is in the answer
//! to attaching, and nowhere after (`domain::audit::webhooks` keeps it sealed).

use leptos::prelude::*;

use crate::error::AppError;

/// Attaches (`act` = `attach`, with `url`), tests (`test`) or removes (`remove`) the webhook
/// of link `link` (empty: the default webhook). Answers with the panel's next HTML; after
/// `attach` it shows the secret, this once.
#[server(endpoint = "links/webhook")]
pub async fn change_webhook(
    csrf: String,
    link: String,
    act: String,
    url: Option<String>,
) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    ssr::change(&admin, &link, &act, url.as_deref().unwrap_or_default()).await
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use domain::audit::webhooks::{self, Delivery, Webhook};
    use domain::db::Pool;
    use leptos::prelude::*;
    use leptos::server_fn::ServerFn as _;

    use super::ChangeWebhook;
    use crate::auth::ssr::{Admin, admin_origin, current_csrf_token};
    use crate::components::{CopyButton, utc};
    use crate::error::AppError;
    use crate::error::ssr::domain as domain_error;
    use crate::fragment::{ErrorPlace, render};
    use crate::state::app_state;

    /// Events listed in the panel.
    const SHOWN: i64 = 10;

    /// What the panel says above itself: what was just done, and a secret to show once.
    #[derive(Default)]
    pub struct Said {
        pub done: Option<String>,
        pub secret: Option<String>,
    }

    pub async fn change(
        admin: &Admin,
        link: &str,
        act: &str,
        url: &str,
    ) -> Result<String, AppError> {
        let state = app_state()?;
        let origin = admin_origin(&admin.name).await;
        let link = (!link.is_empty()).then_some(link);
        let said = match act {
            "attach" => {
                let (hook, secret) =
                    webhooks::attach(&state.pool, &state.master, &origin, link, url)
                        .await
                        .map_err(|e| domain_error(e, "url"))?;
                let (_, waiting) = webhooks::recent(&state.pool, &hook.id, 0)
                    .await
                    .map_err(|e| domain_error(e, "url"))?;
                let said = Said {
                    done: Some(match waiting {
                        0 => format!("Events now go to {}.", hook.url),
                        n => format!(
                            "Events now go to {}, the {n} waiting to be delivered too.",
                            hook.url
                        ),
                    }),
                    secret: Some(secret.expose().to_owned()),
                };
                crate::links::ssr::keep_once(KEPT, &(scope(link), &said.secret)).await?;
                said
            }
            "test" => {
                webhooks::send_test(&state.pool, &origin, link)
                    .await
                    .map_err(|e| domain_error(e, "act"))?;
                Said {
                    done: Some("A test event is on its way; its result shows below.".into()),
                    secret: None,
                }
            }
            "remove" => {
                let removed = webhooks::remove(&state.pool, &origin, link)
                    .await
                    .map_err(|e| domain_error(e, "act"))?;
                Said {
                    done: Some(if removed {
                        "Webhook removed; events not yet delivered were dropped (the audit keeps them).".into()
                    } else {
                        "There was no webhook: nothing changed.".into()
                    }),
                    secret: None,
                }
            }
            _ => {
                return Err(AppError::invalid(
                    "act",
                    "Attach, test or remove a webhook.",
                ));
            }
        };
        panel(&state.pool, link, said).await
    }

    /// The session entry keeping a new secret for the page a plain form post returns to.
    const KEPT: &str = "webhook_secret";

    fn scope(link: Option<&str>) -> String {
        link.unwrap_or_default().to_owned()
    }

    /// The panel of `link`'s webhook (`None`: the default one), as HTML.
    pub async fn panel(pool: &Pool, link: Option<&str>, said: Said) -> Result<String, AppError> {
        let mut said = said;
        if said.secret.is_none() {
            let kept =
                crate::links::ssr::take_once(KEPT, |(kept, _): &(String, Option<String>)| {
                    *kept == scope(link)
                })
                .await?;
            said.secret = kept.and_then(|(_, secret)| secret);
        }
        let own = webhooks::get(pool, link)
            .await
            .map_err(|e| domain_error(e, "link"))?;
        let fallback = match (&own, link) {
            (None, Some(_)) => webhooks::get(pool, None)
                .await
                .map_err(|e| domain_error(e, "link"))?,
            _ => None,
        };
        let recent = match &own {
            Some(hook) => Some(
                webhooks::recent(pool, &hook.id, SHOWN)
                    .await
                    .map_err(|e| domain_error(e, "link"))?,
            ),
            None => None,
        };
        let csrf = current_csrf_token().await?;
        let error = crate::form::posted_error(ChangeWebhook::PATH);
        let scope = link.unwrap_or_default().to_owned();
        let title = if link.is_some() {
            "Webhook"
        } else {
            "Default webhook"
        };
        let about = if link.is_some() {
            "bucketshare POSTs a signed JSON event to this URL on each access of the link, each \
             file an upload page receives, each wrong password and a page's last download."
        } else {
            "Links without a webhook of their own send their events here: each access, each file \
             an upload page receives, each wrong password and a page's last download."
        };
        let hidden = move |act: &'static str| {
            view! {
                <input type="hidden" name="csrf" value=csrf.clone() />
                <input type="hidden" name="link" value=scope.clone() />
                <input type="hidden" name="act" value=act />
            }
        };
        let secret = said.secret.map(|secret| {
            view! {
                <div class="secret-once" role="status">
                    <p>
                        <strong>"Its secret, shown this once: "</strong>
                        "the receiver checks each event's "
                        <code>"X-Bucketshare-Signature"</code>
                        " with it (HMAC-SHA256 of "
                        <code>"TIMESTAMP.BODY"</code>
                        ")."
                    </p>
                    <code class="secret">{secret.clone()}</code>
                    " "
                    <CopyButton text=secret label="Copy secret" />
                </div>
            }
        });
        let state = own.map(|hook| {
            let (events, waiting) = recent.unwrap_or_default();
            facts(&hook, waiting, &events)
        });
        let attach_label = if state.is_some() {
            "Replace (new URL or secret)"
        } else {
            "Attach webhook"
        };
        let inherited = fallback.map(|hook| {
            view! {
                <p class="hint">
                    "Without its own, this link's events go to the default webhook (Settings): "
                    <code>{hook.url}</code>
                </p>
            }
        });
        let has_hook = state.is_some();
        let field_id = if link.is_some() {
            "webhook-url"
        } else {
            "default-webhook-url"
        };
        Ok(render(view! {
            <section class="card webhook" aria-labelledby=format!("{field_id}-title")>
                <h2 id=format!("{field_id}-title")>{title}</h2>
                <p class="hint">{about}</p>
                {said.done.map(|done| view! { <p class="success" role="status">{done}</p> })}
                {secret}
                {state}
                {inherited}
                <form method="post" action=ChangeWebhook::PATH class="inline-form">
                    {hidden("attach")}
                    <div class="field">
                        <label for=field_id>"Receiver URL"</label>
                        <input
                            id=field_id
                            name="url"
                            type="url"
                            required
                            placeholder="https://hooks.example.com/bucketshare"
                            autocomplete="off"
                        />
                    </div>
                    <button type="submit">{attach_label}</button>
                    <ErrorPlace error=error.clone() field="url" />
                </form>
                {has_hook
                    .then(|| {
                        view! {
                            <div class="row-actions">
                                <form method="post" action=ChangeWebhook::PATH>
                                    {hidden("test")}
                                    <button type="submit">"Send a test event"</button>
                                </form>
                                <form method="post" action=ChangeWebhook::PATH>
                                    {hidden("remove")}
                                    <button type="submit" class="danger">"Remove webhook"</button>
                                </form>
                            </div>
                        }
                    })}
                <ErrorPlace error placed=&["url"] />
            </section>
        }))
    }

    fn events_text(n: i64) -> String {
        format!("{n} event{}", if n == 1 { "" } else { "s" })
    }

    /// Where a webhook posts, how its deliveries went, and its latest events.
    fn facts(hook: &Webhook, waiting: i64, events: &[Delivery]) -> impl IntoView + use<> {
        let when = |ms: i64| format!("{} UTC", utc(ms / 1000));
        let last = match (hook.failures, &hook.last_error, hook.last_attempt_at) {
            (0, _, Some(at)) => format!(
                "answered {} at {}",
                hook.last_status.unwrap_or_default(),
                when(at)
            ),
            (0, _, None) => "nothing sent yet".to_owned(),
            (n, error, at) => format!(
                "failing: {n} attempt{} in a row, the last at {} ({}); next try after {}",
                if n == 1 { "" } else { "s" },
                at.map(when).unwrap_or_default(),
                error.as_deref().unwrap_or("no answer"),
                when(hook.retry_at),
            ),
        };
        let rows = events
            .iter()
            .map(|e| {
                let result = match (e.delivered, e.done_at, &e.last_error) {
                    (true, _, _) => format!("delivered ({})", e.last_status.unwrap_or_default()),
                    (false, Some(_), error) => {
                        format!("given up: {}", error.as_deref().unwrap_or("no answer"))
                    }
                    (false, None, Some(error)) => format!("waiting; last try: {error}"),
                    (false, None, None) => "waiting".to_owned(),
                };
                view! {
                    <tr>
                        <td>{e.event.clone()}</td>
                        <td>{when(e.created_at)}</td>
                        <td>{e.attempts}</td>
                        <td>{result}</td>
                    </tr>
                }
            })
            .collect_view();
        let failing = hook.failures > 0;
        view! {
            <dl class="facts">
                <dt>"Posts to"</dt>
                <dd><code>{hook.url.clone()}</code></dd>
                <dt>"Attached"</dt>
                <dd>{when(hook.created_at)} " by " {hook.created_by.clone()}</dd>
                <dt>"Delivered"</dt>
                <dd>{events_text(hook.delivered)}</dd>
                <dt>"Waiting"</dt>
                <dd>{events_text(waiting)}</dd>
                <dt>"Last attempt"</dt>
                <dd class=if failing { "error" } else { "" }>{last}</dd>
            </dl>
            {(!events.is_empty())
                .then(|| {
                    view! {
                        <div class="table-wrap">
                            <table>
                                <thead>
                                    <tr>
                                        <th scope="col">"Event"</th>
                                        <th scope="col">"Made"</th>
                                        <th scope="col">"Attempts"</th>
                                        <th scope="col">"Result"</th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </div>
                    }
                })}
        }
    }
}
