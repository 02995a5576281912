//! The browser entry point: hydrates the server-rendered console.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    else {
        return;
    };
    // Asynchronous: the chunk of the page being hydrated may have to be fetched first.
    wasm_bindgen_futures::spawn_local(async move {
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // A marker for browser tests (and curious admins): the console is interactive.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
