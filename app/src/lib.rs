//! The bucketshare console: Leptos components and server functions, rendered on the server
//! (feature `ssr`) and hydrated in the browser (feature `hydrate`). The crates that depend on
//! this one choose the feature.

#![recursion_limit = "256"]
#![cfg_attr(
    feature = "ssr",
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod account;
pub mod audit;
pub mod auth;
pub mod buckets;
pub mod components;
pub mod dashboard;
pub mod error;
pub mod form;
pub mod fragment;
pub mod links;
pub mod settings;
#[cfg(feature = "ssr")]
pub mod state;
pub mod users;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

use crate::account::AccountPage;
use crate::audit::AuditPage;
use crate::auth::{LoginPage, LogoutButton, SessionEpoch, SessionResource};
use crate::buckets::{
    BucketAccess, BucketFrame, BucketLinks, BucketObjects, BucketSettingsTab, BucketShare,
    BucketsPage,
};
use crate::dashboard::DashboardPage;
use crate::links::{LinkPage, LinksPage};
use crate::settings::SettingsPage;
use crate::users::{UserPage, UsersPage};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The console.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/bucketshare.css" />
        <Title formatter=|page: String| format!("{page} · bucketshare") />
        <Router>
            <ConsoleRoutes />
        </Router>
    }
}

/// The routes, and the session shared by every page. Pages render whole on the server
/// (`SsrMode::Async`): forms, with their anti-forgery token, must work before or without the
/// WASM bundle, and streamed fragments would need JavaScript to be put in place.
#[component]
fn ConsoleRoutes() -> impl IntoView {
    let epoch = SessionEpoch::default();
    let session: SessionResource = Resource::new(move || epoch.get(), |_| auth::session_info());
    provide_context(epoch);
    provide_context(session);
    view! {
        <Routes fallback=NotFound>
            <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
            <ParentRoute path=path!("/") view=ConsoleLayout ssr=SsrMode::Async>
                <Route path=path!("") view={Lazy::<DashboardRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("account") view=AccountPage ssr=SsrMode::Async />
                <Route path=path!("users") view={Lazy::<UsersRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("users/:name") view={Lazy::<UserRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("buckets") view={Lazy::<BucketsRoute>::new()} ssr=SsrMode::Async />
                <ParentRoute path=path!("buckets/:name") view=BucketFrame ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<BucketObjectsRoute>::new()} ssr=SsrMode::Async />
                    <Route
                        path=path!("access")
                        view={Lazy::<BucketAccessRoute>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("links")
                        view={Lazy::<BucketLinksRoute>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("settings")
                        view={Lazy::<BucketSettingsRoute>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("share")
                        view={Lazy::<BucketShareRoute>::new()}
                        ssr=SsrMode::Async
                    />
                </ParentRoute>
                <Route path=path!("links") view={Lazy::<LinksRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("links/:id") view={Lazy::<LinkRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                <Route
                    path=path!("settings")
                    view={Lazy::<SettingsRoute>::new()}
                    ssr=SsrMode::Async
                />
            </ParentRoute>
        </Routes>
    }
}

/// The pages as lazy routes: in release builds (`cargo leptos build --release --split`) each
/// page's code is its own WASM chunk, fetched when the page is first shown (at hydration, the
/// chunk of the page being hydrated), so the bundle every visit downloads holds only the router,
/// the frame and what pages share. The page components load their own data. The sign-in and
/// account pages (a few KB each) and the bucket page's frame stay in the main bundle: every split
/// point multiplies the small chunk files that code shared between pages is cut into, and each
/// file costs a request and compresses on its own.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),+ $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )+};
}

lazy_pages!(
    DashboardRoute => DashboardPage,
    UsersRoute => UsersPage,
    UserRoute => UserPage,
    BucketsRoute => BucketsPage,
    BucketObjectsRoute => BucketObjects,
    BucketAccessRoute => BucketAccess,
    BucketLinksRoute => BucketLinks,
    BucketSettingsRoute => BucketSettingsTab,
    BucketShareRoute => BucketShare,
    LinksRoute => LinksPage,
    LinkRoute => LinkPage,
    AuditRoute => AuditPage,
    SettingsRoute => SettingsPage,
);

/// The frame of every signed-in page: header with navigation and the admin's name.
#[component]
fn ConsoleLayout() -> impl IntoView {
    let session = expect_context::<SessionResource>();
    let admin_name = move || {
        Suspend::new(async move {
            session.await.ok().and_then(|s| s.admin).map(
                |name| view! { <span class="who">"Signed in as " <strong>{name}</strong></span> },
            )
        })
    };
    view! {
        <Title text="Console" />
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">"bucketshare"</a>
            // On phones the links open from a Menu toggle (a checkbox: no script needed), and a
            // choice closes it again; on wide screens they are always there.
            <input type="checkbox" id="menu-toggle" class="menu-toggle" />
            <label for="menu-toggle" class="menu-button">"Menu"</label>
            <nav aria-label="Main" on:click=close_menu>
                <A href="/" exact=true>"Dashboard"</A>
                <A href="/users">"Users"</A>
                <A href="/buckets">"Buckets"</A>
                <A href="/links">"Links"</A>
                <A href="/audit">"Audit"</A>
                <A href="/settings">"Settings"</A>
                <A href="/account">"Account"</A>
            </nav>
            <Transition fallback=|| ()>{admin_name}</Transition>
            <LogoutButton />
        </header>
        <main class="content" id="main" tabindex="-1" on:click=components::copy_clicked>
            <Outlet />
        </main>
    }
}

/// Closes the phone menu after a choice in it.
fn close_menu(_: leptos::ev::MouseEvent) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(toggle) = document()
        .get_element_by_id("menu-toggle")
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
    {
        toggle.set_checked(false);
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <main class="content">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the dashboard"</a></p>
        </main>
    }
}
