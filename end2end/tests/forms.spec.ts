import { expect, test, type Browser, type Page } from "@playwright/test";
import { api, hydrated, signIn } from "./support";

// What the console's forms refuse, confirm and report, as an admin meets it in the browser:
// names that differ only by case, a grant prefix that is not a folder, a link too short to
// use or to nothing, re-enabling a key that brings links back, a new admin, and confirmation
// boxes that never stay ticked after their action.

async function status(browser: Browser, url: string) {
  const context = await browser.newContext();
  try {
    return (await context.request.get(url)).status();
  } finally {
    await context.close();
  }
}

const noBoxTicked = (page: Page) => expect(page.locator("input[name=confirm]:checked")).toHaveCount(0);

test("forms refuse what would fail silently, ask before reviving links, and say what they did", async ({ page, browser }) => {
  await signIn(page);
  for (const [name, form] of [
    ["users/create", { name: "Checker" }],
    ["buckets/create", { name: "checks", owner: "" }],
  ] as const) {
    expect((await api(page, name, form)).status, name).toBe(200);
  }
  const uploaded = await page.evaluate(async () => {
    const session = await (await fetch("/api/session", { method: "POST", headers: { Accept: "application/json" } })).json();
    const data = new FormData();
    data.append("csrf", session.csrf);
    data.append("prefix", "");
    data.append("file", new Blob(["checked\n"], { type: "text/plain" }), "c.txt");
    return (await fetch("/buckets/checks/upload", { method: "POST", body: data, headers: { Accept: "application/json" } })).status;
  });
  expect(uploaded).toBe(200);

  // A user name that differs only by case is refused, naming the one that exists.
  await page.goto("/users");
  await hydrated(page);
  await page.getByLabel("User name").fill("checker");
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByText("`Checker` exists already: user names must differ by more than case")).toBeVisible();

  // A prefix that is not a folder is refused, saying what it would reach.
  await page.goto("/buckets/checks/access");
  await hydrated(page);
  await page.getByLabel("User").selectOption("Checker");
  await page.getByLabel("Permission").selectOption("read");
  await page.getByLabel("Only under prefix (optional)").fill("reports");
  await page.getByRole("button", { name: "Grant" }).click();
  await expect(page.getByText(/end it with \/ \(a folder\): `reports` would also reach `reports-old/)).toBeVisible();
  // Then the whole bucket, said in words; again, it says what it replaced.
  await page.getByLabel("Only under prefix (optional)").fill("");
  await page.getByRole("button", { name: "Grant" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Checker may now read all of checks." })).toBeVisible();
  await page.getByLabel("Permission").selectOption("read-write");
  await page.getByRole("button", { name: "Grant" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Checker's read grant on all of checks is now read-write." })).toBeVisible();

  // The share dialog: too short a link, and a link to nothing, are refused.
  await page.goto("/buckets/checks/share?key=c.txt");
  await hydrated(page);
  await page.getByLabel("Expires after").fill("30s");
  await page.getByRole("button", { name: "Create link" }).click();
  await expect(page.getByText("A link from the console lives at least 1 minute")).toBeVisible();
  await page.goto("/buckets/checks/share?key=nothing.txt");
  await hydrated(page);
  await page.getByRole("button", { name: "Create link" }).click();
  await expect(page.getByText("s3://checks/nothing.txt does not exist: upload it first.")).toBeVisible();
  await page.goto("/buckets/checks/share?key=c.txt");
  await hydrated(page);
  await page.getByLabel(/Pre-signed S3 URL: download/).check();
  await page.getByLabel("Expires after").fill("1h");
  await page.getByRole("button", { name: "Create link" }).click();
  const url = await page.getByLabel("Share link").inputValue();
  expect(await status(browser, url)).toBe(200);

  // Disabling the key stops the link (after the box), and re-enabling it asks first, counting.
  await page.goto("/users/Checker");
  await hydrated(page);
  const keyRow = page.locator("tr", { has: page.locator("code") }).first();
  await keyRow.getByLabel("Stops 1 live share link.").first().check();
  await keyRow.getByRole("button", { name: "Disable" }).click();
  await expect(keyRow.getByRole("cell", { name: "inactive" })).toBeVisible();
  await noBoxTicked(page);
  expect(await status(browser, url)).toBe(403);
  await keyRow.getByRole("button", { name: "Enable" }).click();
  // Not without the box: still stopped.
  await expect(keyRow.getByRole("cell", { name: "inactive" })).toBeVisible();
  expect(await status(browser, url)).toBe(403);
  await keyRow.getByLabel("Brings back 1 live share link.").check();
  await keyRow.getByRole("button", { name: "Enable" }).click();
  await expect(keyRow.getByRole("cell", { name: "active", exact: true })).toBeVisible();
  await noBoxTicked(page);
  expect(await status(browser, url)).toBe(200);

  // A new admin: the form says it is done.
  await page.goto("/settings");
  await hydrated(page);
  await page.getByLabel("Admin name").fill("second-admin");
  await page.locator("#admin_password").fill("a long enough password 1");
  await page.locator("#admin_confirm").fill("a long enough password 1");
  await page.getByRole("button", { name: "Create admin" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Admin second-admin created: they can sign in now." })).toBeVisible();
  await noBoxTicked(page);
});
