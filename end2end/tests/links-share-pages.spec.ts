// Named to run after console.spec.ts (which wants an empty server) and before login.spec.ts
// (which fails sign-ins on purpose): the tests share one server and run in file order.
import { expect, test, type Page } from "@playwright/test";
import { SHOTS, api, hydrated, signIn } from "./support";
import * as path from "node:path";
import * as http from "node:http";
import * as crypto from "node:crypto";
import type { AddressInfo } from "node:net";

// Share pages as an admin makes them in the console: the dialog's default kind, with a
// password, a download limit and a note; "Share folder" on a folder row; the sharing policy
// refusing a page and naming its rule; the link's page saying what it depends on and when it
// stops at the latest, and changing the page at the same address.

/** Uploads `files` (name → text) into `bucket` under `prefix`, as the upload form does. */
async function upload(page: Page, bucket: string, prefix: string, files: Record<string, string>) {
  const status = await page.evaluate(async ([bucket, prefix, files]) => {
    const session = await (await fetch("/api/session", { method: "POST", headers: { Accept: "application/json" } })).json();
    const data = new FormData();
    data.append("csrf", session.csrf);
    data.append("prefix", prefix);
    for (const [name, text] of Object.entries(files)) {
      data.append("file", new Blob([text], { type: "text/plain" }), name);
    }
    return (await fetch(`/buckets/${bucket}/upload`, { method: "POST", body: data, headers: { Accept: "application/json" } })).status;
  }, [bucket, prefix, files] as const);
  expect(status).toBe(200);
}

test("share pages from the console: file page with password and limit, Share folder, the policy, the link's page and its changes", async ({ page, browser }) => {
  await signIn(page);
  for (const [name, form] of [
    ["users/create", { name: "sharer" }],
    ["buckets/create", { name: "handouts", owner: "" }],
    ["buckets/grant", { bucket: "handouts", user: "sharer", permission: "read", prefix: "", expires: "3650d" }],
  ] as const) {
    const done = await api(page, name, form);
    expect(done.status, `${name}: ${done.body}`).toBe(200);
  }
  await upload(page, "handouts", "", { "brief.txt": "the brief\n" });
  await upload(page, "handouts", "slides/", { "one.txt": "slide one\n", "two.txt": "slide two\n" });

  // The dialog offers a share page first; a page may outlive 7 days.
  await page.goto("/buckets/handouts/share?key=brief.txt");
  await hydrated(page);
  await expect(page.getByLabel(/Share page: a page to open/)).toBeChecked();
  await page.getByLabel("Expires after").fill("30d");
  await page.getByLabel("Download limit (optional)").fill("2");
  await page.getByLabel("Password (optional)").fill("short");
  await page.getByLabel("Note to the recipient (optional)").fill("For Thursday's meeting.");
  await page.getByRole("button", { name: "Create link" }).click();
  // A password too short says so, at its field, and keeps what was typed elsewhere.
  await expect(page.getByText(/from 8 to 256 characters/)).toBeVisible();
  await page.getByLabel("Password (optional)").fill("correct horse battery");
  await page.getByRole("button", { name: "Create link" }).click();
  await expect(page.getByRole("heading", { name: "Share page ready" })).toBeVisible();
  const url = await page.getByLabel("Share link").inputValue();
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{43}$/);
  await expect(page.getByRole("img", { name: "QR code of the link" })).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, "share-dialog-page.png"), fullPage: true });

  // The recipient: the password first, then the page and its download.
  const stranger = await browser.newContext({ acceptDownloads: true });
  const tab = await stranger.newPage();
  expect((await tab.goto(url))?.status()).toBe(401);
  await tab.getByLabel("Password").fill("correct horse battery");
  await tab.getByRole("button", { name: "Open" }).click();
  await expect(tab.getByRole("heading", { name: "brief.txt" })).toBeVisible();
  await expect(tab.getByText("For Thursday's meeting.")).toBeVisible();
  await expect(tab.getByText("2 downloads left.")).toBeVisible();
  const [saved] = await Promise.all([tab.waitForEvent("download"), tab.getByRole("link", { name: "Download", exact: true }).click()]);
  expect(saved.suggestedFilename()).toBe("brief.txt");

  // Its page in the console: what it depends on, when it stops at the latest, and its options.
  await page.getByRole("link", { name: "See it and its accesses" }).click();
  await hydrated(page);
  const depends = page.getByRole("region", { name: "What it depends on" });
  await expect(depends.getByText("User sharer")).toBeVisible();
  await expect(depends.getByText(/read grant on all of handouts/)).toBeVisible();
  await expect(depends.getByText(/read grant on all of handouts: until 20\d\d-\d\d-\d\d/)).toBeVisible();
  await expect(depends.getByText("1 of 2 used")).toBeVisible();
  await expect(depends.getByText(/It stops working by/)).toBeVisible();
  await expect(page.getByText("Password", { exact: true })).toBeVisible();
  // A higher limit and no password, at the same address.
  const edit = page.getByRole("region", { name: "Change this page" });
  await edit.getByLabel("Download limit").fill("5");
  await edit.getByLabel("Remove the password").check();
  await edit.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved" })).toBeVisible();
  await expect(depends.getByText("1 of 5 used")).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, "link-page-share-page.png"), fullPage: true });
  const fresh = await browser.newContext();
  const open = await fresh.newPage();
  expect((await open.goto(url))?.status()).toBe(200);
  await expect(open.getByText("4 downloads left.")).toBeVisible();
  await fresh.close();
  await stranger.close();

  // A folder row shares the folder as a page; its recipient browses it and downloads all.
  await page.goto("/buckets/handouts");
  await hydrated(page);
  await page.getByRole("link", { name: "Share folder slides/" }).click();
  await expect(page.getByRole("heading", { name: "Share folder slides" })).toBeVisible();
  await expect(page.getByLabel(/Pre-signed S3 URL/)).toHaveCount(0);
  await hydrated(page);
  await page.getByLabel("Expires after").fill("never");
  await page.getByRole("button", { name: "Create link" }).click();
  await expect(page.getByText("Works until it is revoked.")).toBeVisible();
  const folderUrl = await page.getByLabel("Share link").inputValue();
  const visitor = await browser.newContext({ acceptDownloads: true, viewport: { width: 390, height: 844 } });
  const folder = await visitor.newPage();
  await folder.goto(folderUrl);
  await expect(folder.getByRole("heading", { name: "slides" })).toBeVisible();
  await expect(folder.getByRole("link", { name: "one.txt", exact: true })).toBeVisible();
  const overflow = await folder.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await folder.screenshot({ path: path.join(SHOTS, "share-page-folder-phone.png"), fullPage: true });
  const [zip] = await Promise.all([folder.waitForEvent("download"), folder.getByRole("link", { name: "Download all (zip)" }).click()]);
  expect(zip.suggestedFilename()).toBe("slides.zip");
  await folder.getByRole("link", { name: "two.txt", exact: true }).click();
  await expect(folder.getByRole("heading", { name: "two.txt" })).toBeVisible();
  await expect(folder.getByText("slide two")).toBeVisible();
  await folder.getByRole("link", { name: "← slides" }).click();
  await expect(folder.getByRole("link", { name: "Download all (zip)" })).toBeVisible();
  await visitor.close();

  // The sharing policy: folder pages need a password; the dialog says so, and a page without
  // one is refused naming the rule.
  await page.goto("/settings");
  await hydrated(page);
  await page.getByLabel("Require a password on folder pages").check();
  await page.getByLabel("Longest share-page lifetime").fill("90d");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Settings saved." })).toBeVisible();
  await page.goto("/buckets/handouts/share?key=slides/");
  await hydrated(page);
  await expect(page.getByText(/The sharing policy \(Settings\): pages live at most 90 days/)).toBeVisible();
  await page.getByLabel("Expires after").fill("1d");
  await page.getByRole("button", { name: "Create link" }).click();
  await expect(page.getByText("the sharing policy requires a password on folder pages")).toBeVisible();
  await page.getByLabel("Expires after").fill("never");
  await page.getByLabel("Password (optional)").fill("correct horse battery");
  await page.getByRole("button", { name: "Create link" }).click();
  await expect(page.getByText("the sharing policy allows share pages of at most 90 days")).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, "share-dialog-policy.png"), fullPage: true });
});

test("request files from the console: an upload page into a folder, a stranger sends a file, the link's page lists what arrived", async ({ page, browser }) => {
  await signIn(page);
  const done = await api(page, "buckets/grant", { bucket: "handouts", user: "sharer", permission: "read-write", prefix: "", expires: "3650d" });
  expect(done.status, done.body).toBe(200);
  await page.goto("/buckets/handouts");
  await hydrated(page);
  await page.getByRole("link", { name: "Request files into slides/" }).click();
  await expect(page.getByRole("heading", { name: "Request files into slides" })).toBeVisible();
  await hydrated(page);
  await expect(page.getByLabel(/Request files: an upload page/)).toBeChecked();
  await page.getByLabel("Expires after").fill("7d");
  await page.getByLabel("Largest file (optional)").fill("1 MiB");
  await page.getByLabel("Types taken (optional)").fill(".txt, .pdf");
  await page.getByLabel(/Ask each sender's name/).check();
  await page.getByLabel("Note to the recipient (optional)").fill("Your minutes, please.");
  await page.getByRole("button", { name: "Create link" }).click();
  await expect(page.getByRole("heading", { name: "Upload page ready" })).toBeVisible();
  const url = await page.getByLabel("Share link").inputValue();
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{43}$/);
  await page.screenshot({ path: path.join(SHOTS, "share-dialog-request-files.png"), fullPage: true });

  // A stranger, without a session: the page names its limits and takes the file.
  const stranger = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const tab = await stranger.newPage();
  expect((await tab.goto(url))?.status()).toBe(200);
  await expect(tab.getByRole("heading", { name: "Send files" })).toBeVisible();
  await expect(tab.getByText("Files up to 1 MiB each.")).toBeVisible();
  await expect(tab.getByText("Your minutes, please.")).toBeVisible();
  await tab.getByLabel("Your name or e-mail address").fill("Frank");
  await tab.getByLabel("Files").setInputFiles({ name: "minutes.txt", mimeType: "text/plain", buffer: Buffer.from("we met\n") });
  await tab.getByRole("button", { name: "Upload" }).click();
  await expect(tab.getByText("Arrived as “minutes.txt”.")).toBeVisible();
  await stranger.close();

  // The link's page: an upload page, its terms and what arrived, from whom.
  await page.getByRole("link", { name: "See it and its accesses" }).click();
  await hydrated(page);
  await expect(page.getByText("upload page", { exact: true })).toBeVisible();
  const arrived = page.getByRole("region", { name: "What arrived" });
  await expect(arrived.getByRole("link", { name: /minutes\.txt/ })).toBeVisible();
  await expect(arrived.getByText(/Frank/)).toBeVisible();
  await expect(arrived.getByText(/Largest file: 1 MiB/)).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, "link-page-upload-page.png"), fullPage: true });

  // A webhook on the link, to a receiver started here: its secret is shown once, and a test
  // event arrives signed with it.
  const got: { signature: string; body: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      got.push({ signature: String(req.headers["x-bucketshare-signature"]), body });
      res.end("ok");
    });
  });
  await new Promise<void>((ready) => receiver.listen(0, "127.0.0.1", ready));
  const port = (receiver.address() as AddressInfo).port;
  const hook = page.getByRole("region", { name: "Webhook", exact: true });
  await hook.getByLabel("Receiver URL").fill(`http://127.0.0.1:${port}/hook`);
  await hook.getByRole("button", { name: "Attach webhook" }).click();
  await expect(hook.getByText(/Its secret, shown this once/)).toBeVisible();
  const secret = ((await hook.locator("code.secret").textContent()) ?? "").trim();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  await hook.getByRole("button", { name: "Send a test event" }).click();
  await expect(hook.getByText("A test event is on its way")).toBeVisible();
  await expect.poll(() => got.length, { timeout: 15_000 }).toBeGreaterThan(0);
  const [t, v1] = got[0].signature.split(",").map((part) => part.split("=")[1]);
  expect(v1).toBe(crypto.createHmac("sha256", secret).update(`${t}.${got[0].body}`).digest("hex"));
  expect(JSON.parse(got[0].body).type).toBe("webhook.test");
  // Shown again later: where events go and how they went, never the secret.
  await page.reload();
  await hydrated(page);
  await expect(hook.getByText(`http://127.0.0.1:${port}/hook`)).toBeVisible();
  await expect(hook.getByText("1 event", { exact: true })).toBeVisible();
  await expect(page.locator("code.secret")).toHaveCount(0);
  await page.screenshot({ path: path.join(SHOTS, "link-page-webhook.png"), fullPage: true });
  receiver.close();
  await page.goto("/");
  await hydrated(page);
  await expect(page.getByText("Files received, last 24 h")).toBeVisible();
});
