//! The object browser's upload queue: files picked or dropped (folders too) anywhere over the
//! listing, each with its name, size, progress and a cancel button, sent one at a time; a name
//! that exists already waits for a choice (replace, keep both, skip).
//!
//! The queue's state and its view are here; what runs it (reading dropped folders, the
//! `XMLHttpRequest`s, the choices) is browser-only and loaded with its first use (`#[lazy]`:
//! its own WASM chunk in release builds), so that a folder's page does not fetch it to show.
//! Without JavaScript the upload form posts as it always did.

use leptos::prelude::*;

use crate::components::human_size;

/// The queue, shared by the drop zone, the file picker and the view.
#[derive(Debug, Clone, Copy)]
pub struct Queue {
    pub items: RwSignal<Vec<Item>>,
    /// Bumped after each finished upload, so that the listing is fetched again.
    pub refresh: WriteSignal<u32>,
}

impl Queue {
    pub fn new(refresh: WriteSignal<u32>) -> Self {
        Queue {
            items: RwSignal::new(Vec::new()),
            refresh,
        }
    }
}

/// One file of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: u32,
    pub bucket: String,
    /// The folder it goes to, and its name under it (with the dropped folders it came in).
    pub prefix: String,
    pub name: RwSignal<String>,
    pub size: f64,
    pub sent: RwSignal<f64>,
    pub state: RwSignal<State>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Asking whether the name is taken.
    Checking,
    /// The name is taken: waiting for a choice.
    Conflict,
    Waiting,
    Sending,
    Done,
    Failed(String),
    Cancelled,
    Skipped,
}

impl State {
    fn words(&self) -> String {
        match self {
            State::Checking => "checking the name…".to_owned(),
            State::Conflict => "exists already:".to_owned(),
            State::Waiting => "waiting".to_owned(),
            State::Sending => "uploading…".to_owned(),
            State::Done => "uploaded".to_owned(),
            State::Failed(why) => format!("failed: {why}"),
            State::Cancelled => "cancelled".to_owned(),
            State::Skipped => "skipped".to_owned(),
        }
    }

    fn finished(&self) -> bool {
        matches!(
            self,
            State::Done | State::Failed(_) | State::Cancelled | State::Skipped
        )
    }
}

/// What the admin chose for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Replace,
    KeepBoth,
    Skip,
    Cancel,
}

/// The queue as a list under the upload form (nothing while it is empty: its code comes with
/// the first file queued).
#[component]
pub fn Uploads(queue: Queue) -> impl IntoView {
    let shown = move || {
        (!queue.items.read().is_empty())
            .then(|| Suspend::new(async move { queue_view(queue).await }))
    };
    view! { <Suspense fallback=|| ()>{shown}</Suspense> }
}

#[leptos::lazy]
fn queue_view(queue: Queue) -> AnyView {
    view! { <QueueView queue /> }.into_any()
}

/// The queue: a summary, then each file.
#[component]
fn QueueView(queue: Queue) -> impl IntoView {
    let summary = move || {
        let items = queue.items.read();
        let counted: Vec<&Item> = items
            .iter()
            .filter(|i| !matches!(i.state.get(), State::Skipped | State::Cancelled))
            .collect();
        let done = counted
            .iter()
            .filter(|i| i.state.get() == State::Done)
            .count();
        let total: f64 = counted.iter().map(|i| i.size).sum();
        let sent: f64 = counted.iter().map(|i| i.sent.get()).sum();
        format!(
            "{done} of {} files uploaded, {} of {}.",
            counted.len(),
            human_size(sent as i64),
            human_size(total as i64)
        )
    };
    let clear = move |_| {
        queue
            .items
            .update(|items| items.retain(|i| !i.state.get_untracked().finished()))
    };
    move || {
        if queue.items.read().is_empty() {
            return ().into_any();
        }
        view! {
            <div class="queue" role="region" aria-label="Uploads">
                <p role="status">{summary}</p>
                <ul>
                    {queue
                        .items
                        .get()
                        .into_iter()
                        .map(|item| view! { <QueueRow item queue /> })
                        .collect_view()}
                </ul>
                <button type="button" on:click=clear>
                    "Clear finished"
                </button>
            </div>
        }
        .into_any()
    }
}

#[component]
fn QueueRow(item: Item, queue: Queue) -> impl IntoView {
    let (id, state, name) = (item.id, item.state, item.name);
    let prefix = StoredValue::new(item.prefix.clone());
    let shown = move || format!("{}{}", prefix.read_value(), name.get());
    let act = move |choice: Choice| move |_| choose(queue, id, choice);
    let buttons = move || match state.get() {
        State::Conflict => view! {
            <button type="button" on:click=act(Choice::Replace)>"Replace"</button>
            <button type="button" on:click=act(Choice::KeepBoth)>"Keep both"</button>
            <button type="button" on:click=act(Choice::Skip)>"Skip"</button>
        }
        .into_any(),
        State::Checking | State::Waiting | State::Sending => view! {
            <button
                type="button"
                on:click=act(Choice::Cancel)
                aria-label=move || format!("Cancel {}", shown())
            >
                "Cancel"
            </button>
        }
        .into_any(),
        _ => ().into_any(),
    };
    view! {
        <li class="queue-item">
            <span class="name">{shown}</span>
            <span class="size">{human_size(item.size as i64)}</span>
            // Whole bytes: printing an `f64` would bring float formatting into the WASM.
            <progress
                max=(item.size as u64).max(1)
                value=move || item.sent.get() as u64
                aria-label=move || format!("Progress of {}", shown())
            ></progress>
            <span class="state">{move || state.get().words()}</span>
            <span class="row-actions">{buttons}</span>
        </li>
    }
}

/// Applies the admin's choice to item `id` (in the browser: loads the queue's code first).
fn choose(queue: Queue, id: u32, choice: Choice) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(
        async move { run::act(run::Command::Choose(queue, id, choice)).await },
    );
    #[cfg(not(feature = "hydrate"))]
    let _ = (queue, id, choice);
}

/// What the drop zone and the picker hand over: dropped entries (files and folders, read
/// while the drop event lasts) or plain files.
#[cfg(feature = "hydrate")]
pub struct Dropped {
    pub entries: Vec<web_sys::FileSystemEntry>,
    /// Files with the name each is stored under.
    pub files: Vec<(String, web_sys::File)>,
}

/// Adds what was dropped or picked to the queue, for `bucket`/`prefix`, and starts sending.
#[cfg(feature = "hydrate")]
pub fn add(queue: Queue, bucket: String, prefix: String, dropped: Dropped) {
    leptos::task::spawn_local(async move {
        run::act(run::Command::Add(queue, bucket, prefix, dropped)).await
    });
}

/// The files of a drag-and-drop: as entries (which folders need), read now, while the event
/// lasts; as plain files where the browser gives no entries.
#[cfg(feature = "hydrate")]
pub fn dropped(ev: &web_sys::DragEvent) -> Option<Dropped> {
    let transfer = ev.data_transfer()?;
    let items = transfer.items();
    let entries: Vec<web_sys::FileSystemEntry> = (0..items.length())
        .filter_map(|i| items.get(i))
        .filter(|item| item.kind() == "file")
        .filter_map(|item| item.webkit_get_as_entry().ok().flatten())
        .collect();
    let files = match entries.is_empty() {
        true => files_of(transfer.files()),
        false => Vec::new(),
    };
    Some(Dropped { entries, files })
}

/// The files an `<input type=file>` holds, with the path under the folder picked for a
/// folder picker (`webkitRelativePath`), or else their names.
#[cfg(feature = "hydrate")]
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<(String, web_sys::File)> {
    let path = |file: &web_sys::File| {
        js_sys::Reflect::get(file, &"webkitRelativePath".into())
            .ok()
            .and_then(|p| p.as_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| file.name())
    };
    list.map(|l| {
        (0..l.length())
            .filter_map(|i| l.get(i))
            .map(|f| (path(&f), f))
            .collect()
    })
    .unwrap_or_default()
}

/// The browser-only part, in its own WASM chunk.
#[cfg(feature = "hydrate")]
mod run {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen_futures::JsFuture;

    use super::{Choice, Dropped, Item, Queue, State};

    thread_local! {
        /// Each queued item's file, and its request while it is sent.
        static FILES: RefCell<HashMap<u32, web_sys::File>> = RefCell::new(HashMap::new());
        static SENDING: RefCell<HashMap<u32, web_sys::XmlHttpRequest>> = RefCell::new(HashMap::new());
        static NEXT_ID: RefCell<u32> = const { RefCell::new(0) };
    }

    /// What the page asks of the queue's code (one entry point: each costs a chunk file).
    pub enum Command {
        Add(Queue, String, String, Dropped),
        Choose(Queue, u32, Choice),
    }

    #[leptos::lazy]
    pub async fn act(command: Command) {
        match command {
            Command::Add(queue, bucket, prefix, dropped) => {
                add(queue, bucket, prefix, dropped).await
            }
            Command::Choose(queue, id, choice) => choose(queue, id, choice).await,
        }
    }

    async fn add(queue: Queue, bucket: String, prefix: String, dropped: Dropped) {
        let mut found: Vec<(String, web_sys::File)> = dropped.files;
        found.extend(walk(dropped.entries).await);
        let mut added = Vec::new();
        for (name, file) in found {
            let id = NEXT_ID.with(|n| {
                let mut n = n.borrow_mut();
                *n += 1;
                *n
            });
            FILES.with(|f| f.borrow_mut().insert(id, file.clone()));
            added.push(Item {
                id,
                bucket: bucket.clone(),
                prefix: prefix.clone(),
                name: RwSignal::new(name),
                size: file.size(),
                sent: RwSignal::new(0.0),
                state: RwSignal::new(State::Checking),
            });
        }
        queue
            .items
            .update(|items| items.extend(added.iter().cloned()));
        // Nothing is replaced without asking.
        for batch in added.chunks(super::super::MAX_SELECTION) {
            let keys: Vec<String> = batch
                .iter()
                .map(|i| format!("{}{}", i.prefix, i.name.get_untracked()))
                .collect();
            let taken = super::super::existing(bucket.clone(), keys.clone())
                .await
                .unwrap_or_default();
            for (item, key) in batch.iter().zip(keys) {
                if item.state.get_untracked() == State::Checking {
                    item.state.set(if taken.contains(&key) {
                        State::Conflict
                    } else {
                        State::Waiting
                    });
                }
            }
        }
        pump(queue);
    }

    async fn choose(queue: Queue, id: u32, choice: Choice) {
        let Some(item) = queue.items.get_untracked().into_iter().find(|i| i.id == id) else {
            return;
        };
        match choice {
            Choice::Replace => item.state.set(State::Waiting),
            Choice::Skip => item.state.set(State::Skipped),
            Choice::Cancel => {
                item.state.set(State::Cancelled);
                if let Some(xhr) = SENDING.with(|s| s.borrow_mut().remove(&id)) {
                    let _ = xhr.abort();
                }
            }
            Choice::KeepBoth => match free_name(&item).await {
                Some(name) => {
                    item.name.set(name);
                    item.state.set(State::Waiting);
                }
                None => item
                    .state
                    .set(State::Failed("no free name found".to_owned())),
            },
        }
        if item.state.get_untracked().finished() {
            FILES.with(|f| f.borrow_mut().remove(&id));
        }
        pump(queue);
    }

    /// `name (1).ext`, `name (2).ext`…: the first that is not taken.
    async fn free_name(item: &Item) -> Option<String> {
        let name = item.name.get_untracked();
        let (folder, file) = name
            .rsplit_once('/')
            .map_or(("", name.as_str()), |(d, f)| (d, f));
        let (stem, ext) = match file.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
            _ => (file, String::new()),
        };
        let folder = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        for round in 0..5 {
            let names: Vec<String> = (1..=20)
                .map(|n| format!("{folder}{stem} ({}){ext}", round * 20 + n))
                .collect();
            let keys: Vec<String> = names
                .iter()
                .map(|n| format!("{}{n}", item.prefix))
                .collect();
            let taken = super::super::existing(item.bucket.clone(), keys.clone())
                .await
                .ok()?;
            if let Some((name, _)) = names
                .into_iter()
                .zip(keys)
                .find(|(_, k)| !taken.contains(k))
            {
                return Some(name);
            }
        }
        None
    }

    /// Starts the next waiting item, unless one is being sent.
    fn pump(queue: Queue) {
        let items = queue.items.get_untracked();
        if items
            .iter()
            .any(|i| i.state.get_untracked() == State::Sending)
        {
            return;
        }
        if let Some(item) = items
            .into_iter()
            .find(|i| i.state.get_untracked() == State::Waiting)
        {
            send(queue, item);
        }
    }

    fn send(queue: Queue, item: Item) {
        let id = item.id;
        let fail = |why: &str| {
            item.state.set(State::Failed(why.to_owned()));
            FILES.with(|f| f.borrow_mut().remove(&id));
        };
        let Some(file) = FILES.with(|f| f.borrow().get(&id).cloned()) else {
            return fail("the file is gone");
        };
        let Some(csrf) = csrf() else {
            return fail("reload the page");
        };
        let (Ok(data), Ok(xhr)) = (web_sys::FormData::new(), web_sys::XmlHttpRequest::new()) else {
            return fail("the browser cannot send it");
        };
        let name = item.name.get_untracked();
        let filled = data.append_with_str("csrf", &csrf).is_ok()
            && data.append_with_str("prefix", &item.prefix).is_ok()
            // The exact name (and folders) before the file (see the server's `file_name`).
            && data.append_with_str("name", &name).is_ok()
            && data
                .append_with_blob_and_filename("file", &file, &file.name())
                .is_ok();
        let url = format!(
            "/buckets/{}/upload",
            crate::components::encode(&item.bucket)
        );
        if !filled
            || xhr.open("POST", &url).is_err()
            || xhr
                .set_request_header("Accept", "application/json")
                .is_err()
        {
            return fail("the browser cannot send it");
        }
        let sent = item.sent;
        let on_progress =
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |p: web_sys::ProgressEvent| {
                if p.length_computable() && p.total() > 0.0 {
                    // The form's own bytes count too: scaled to the file's size.
                    sent.set(item.size * p.loaded() / p.total());
                }
            });
        if let Ok(upload) = xhr.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        let done_xhr = xhr.clone();
        let state = item.state;
        let size = item.size;
        let on_done = Closure::<dyn FnMut()>::new(move || {
            SENDING.with(|s| s.borrow_mut().remove(&id));
            FILES.with(|f| f.borrow_mut().remove(&id));
            let code = done_xhr.status().unwrap_or(0);
            if state.get_untracked() == State::Cancelled {
                // Aborted: the server drops what it had.
            } else if (200..300).contains(&code) {
                sent.set(size);
                state.set(State::Done);
                queue.refresh.update(|n| *n += 1);
            } else {
                let text = done_xhr.response_text().ok().flatten().unwrap_or_default();
                let why = match text.trim() {
                    "" => "the connection was lost".to_owned(),
                    text => text.to_owned(),
                };
                state.set(State::Failed(why));
            }
            pump(queue);
        });
        xhr.set_onloadend(Some(on_done.as_ref().unchecked_ref()));
        // The request owns its handlers from here on.
        on_progress.forget();
        on_done.forget();
        item.state.set(State::Sending);
        SENDING.with(|s| s.borrow_mut().insert(id, xhr.clone()));
        if xhr.send_with_opt_form_data(Some(&data)).is_err() {
            SENDING.with(|s| s.borrow_mut().remove(&id));
            fail("the browser refused to send it");
            pump(queue);
        }
    }

    /// The session's anti-forgery token, from the upload form.
    fn csrf() -> Option<String> {
        document()
            .query_selector(".upload input[name=csrf]")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
            .map(|e| e.value())
    }

    /// Every file under the dropped entries, with its path from the entry's parent
    /// (`holiday/day 1/a.jpg` for a dropped folder `holiday`).
    async fn walk(entries: Vec<web_sys::FileSystemEntry>) -> Vec<(String, web_sys::File)> {
        let mut found = Vec::new();
        let mut stack: Vec<(String, web_sys::FileSystemEntry)> =
            entries.into_iter().map(|e| (String::new(), e)).collect();
        while let Some((parent, entry)) = stack.pop() {
            let path = format!("{parent}{}", entry.name());
            if entry.is_file() {
                let Ok(entry) = entry.dyn_into::<web_sys::FileSystemFileEntry>() else {
                    continue;
                };
                let promise = js_sys::Promise::new(&mut |resolve, reject| {
                    entry.file_with_callback_and_callback(&resolve, &reject);
                });
                if let Some(file) = JsFuture::from(promise)
                    .await
                    .ok()
                    .and_then(|f| f.dyn_into::<web_sys::File>().ok())
                {
                    found.push((path, file));
                }
            } else if let Ok(folder) = entry.dyn_into::<web_sys::FileSystemDirectoryEntry>() {
                let reader = folder.create_reader();
                // A folder's entries come in batches, until an empty one.
                loop {
                    let promise = js_sys::Promise::new(&mut |resolve, reject| {
                        let _ = reader.read_entries_with_callback_and_callback(&resolve, &reject);
                    });
                    let Some(batch) = JsFuture::from(promise)
                        .await
                        .ok()
                        .and_then(|b| b.dyn_into::<js_sys::Array>().ok())
                    else {
                        break;
                    };
                    if batch.length() == 0 {
                        break;
                    }
                    for child in batch.iter() {
                        if let Ok(child) = child.dyn_into::<web_sys::FileSystemEntry>() {
                            stack.push((format!("{path}/"), child));
                        }
                    }
                }
            }
        }
        found
    }
}
