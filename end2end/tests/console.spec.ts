import { expect, test, type Browser, type Page } from "@playwright/test";
import { PASSWORD, SHOTS, api, hydrated, openAsStranger, signIn } from "./support";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

test("a first-time admin shares a file end to end, then revokes and audits it", async ({ page, browser }) => {
  const content = `quarterly numbers ${Date.now()}\n`;
  await signIn(page);
  // The first thing a keyboard reaches on a page skips to its content.
  await page.reload();
  await hydrated(page);
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  // Nothing made yet: the dashboard lists the four steps, none done.
  await expect(page.getByRole("heading", { name: "Get started (0 of 4 done)" })).toBeVisible();

  // A user, whose key and secret are shown once.
  await page.getByRole("link", { name: "Users", exact: true }).click();
  await page.getByLabel("User name").fill("alice");
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page).toHaveURL(/\/users\/alice$/);
  await expect(page.getByRole("heading", { name: "New access key for alice" })).toBeVisible();
  const keyId = (await page.locator("#new-key-id").textContent()) ?? "";
  expect(keyId).toMatch(/^AK[A-Z2-7]{18}$/);
  await expect(page.locator("#new-key-snippet")).toContainText(`aws_access_key_id = ${keyId}`);
  // The hand-over: the endpoint, and files to paste as they are (used below with the aws cli).
  await expect(page.locator("#new-key-endpoint")).toHaveText(process.env.S3_URL ?? "");
  const credentials = (await page.locator("#new-key-snippet").textContent()) ?? "";
  const awsConfig = (await page.locator("#new-key-config").textContent()) ?? "";
  const command = ((await page.locator("#new-key-command").textContent()) ?? "").trim();
  expect(command).toBe("aws --profile alice s3 ls");
  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download as .csv" }).click(),
  ]);
  expect(csv.suggestedFilename()).toBe("alice-accessKeys.csv");
  const csvLines = fs.readFileSync((await csv.path()) ?? "", "utf8").trim().split("\n");
  expect(csvLines[1]).toMatch(new RegExp(`^alice,${keyId},[^,]{40},${process.env.S3_URL},us-east-1$`));
  await hydrated(page);
  await page.getByRole("button", { name: "Copy access key id" }).click();
  await expect(page.getByRole("button", { name: "Copied" })).toBeVisible();
  // Shown once: a reload no longer has it.
  await page.reload();
  await expect(page.getByRole("heading", { name: "New access key for alice" })).toHaveCount(0);
  await expect(page.getByRole("cell", { name: keyId, exact: true })).toBeVisible();

  // A bucket, and a file uploaded into it.
  await page.getByRole("link", { name: "Buckets", exact: true }).click();
  await page.getByLabel("Bucket name").fill("team");
  await page.getByRole("button", { name: "Create bucket" }).click();
  await expect(page).toHaveURL(/\/buckets\/team$/);
  await hydrated(page);
  await page.getByLabel(/^Files/).setInputFiles({
    name: "report.txt",
    mimeType: "text/plain",
    buffer: Buffer.from(content),
  });
  // Picked, it goes up at once, with its progress.
  const progress = page.getByRole("progressbar", { name: "Progress of report.txt" });
  await expect(progress).toHaveAttribute("value", String(content.length));
  await expect(page.getByRole("status").filter({ hasText: "1 of 1 files uploaded" })).toBeVisible();
  await expect(page.getByRole("cell", { name: "report.txt", exact: true })).toBeVisible();

  // alice may read it.
  await page.getByRole("link", { name: "Access", exact: true }).click();
  await expect(page).toHaveURL(/\/buckets\/team\/access$/);
  await expect(page.getByRole("link", { name: "Access", exact: true })).toHaveAttribute("aria-current", "page");
  await page.getByLabel("User").selectOption("alice");
  await page.getByLabel("Permission").selectOption("read");
  await page.getByRole("button", { name: "Grant" }).click();
  await expect(page.getByRole("cell", { name: "alice" })).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "alice may now read all of team." })).toBeVisible();
  // The aws cli, configured with exactly the two files the key's panel showed, sees the bucket.
  const awsHome = fs.mkdtempSync(path.join(os.tmpdir(), "aws-"));
  fs.writeFileSync(path.join(awsHome, "credentials"), credentials);
  fs.writeFileSync(path.join(awsHome, "config"), awsConfig);
  const [program, ...args] = command.split(" ");
  const listed = execFileSync(program === "aws" ? (process.env.AWS_BIN ?? "aws") : program, args, {
    env: {
      PATH: process.env.PATH,
      AWS_SHARED_CREDENTIALS_FILE: path.join(awsHome, "credentials"),
      AWS_CONFIG_FILE: path.join(awsHome, "config"),
    },
    encoding: "utf8",
  });
  expect(listed).toMatch(/ team\n/);

  // A 1-hour link signed as alice.
  await page.getByRole("link", { name: "Objects", exact: true }).click();
  await page.getByRole("link", { name: "Share report.txt" }).click();
  await expect(page.getByRole("heading", { name: "Share report.txt" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel(/Pre-signed S3 URL: download/).check();
  await page.getByLabel("Expires after").fill("1h");
  await expect(page.getByLabel("Sign as")).toHaveValue("alice");
  await page.getByLabel("Label (optional)").fill("for the auditor");
  await page.getByRole("button", { name: "Create link" }).click();
  const urlField = page.getByLabel("Share link");
  await expect(urlField).toBeVisible();
  const url = await urlField.inputValue();
  expect(url).toContain(process.env.S3_URL ?? "");
  await expect(page.getByRole("img", { name: "QR code of the link" })).toBeVisible();

  // Someone without any session opens it and gets the bytes.
  const opened = await openAsStranger(browser, url);
  expect(opened).toEqual({ status: 200, body: content });
  // All four steps done: the checklist is gone.
  await page.goto("/");
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "At a glance" })).toBeVisible();
  await expect(page.getByRole("heading", { name: /Get started/ })).toHaveCount(0);

  // Revoked from the links page: refused from then on.
  await page.getByRole("link", { name: "Links", exact: true }).first().click();
  await expect(page.getByRole("link", { name: "for the auditor" })).toBeVisible();
  await page.getByRole("link", { name: "for the auditor" }).click();
  await expect(page.getByRole("heading", { name: /^Link for the auditor/ })).toBeVisible();
  // Revoking asks first: the button is behind a second click.
  await expect(page.getByRole("button", { name: "Revoke this link" })).toBeHidden();
  await page.getByText("Revoke…").click();
  await page.getByRole("button", { name: "Revoke this link" }).click();
  await expect(page.getByRole("heading", { name: /revoked/ })).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: /^Revoked link l[a-z2-7]{15}\.$/ })).toBeVisible();
  const refused = await openAsStranger(browser, url);
  expect(refused.status).toBe(403);
  expect(refused.body).not.toContain(content.trim());

  // Both accesses on the link's page (the audit writes them just after the responses).
  await expect(async () => {
    await page.reload();
    const log = page.getByRole("region", { name: "Access log" });
    await expect(log.getByRole("row").filter({ hasText: "GetObject" })).toHaveCount(2);
  }).toPass({ timeout: 15_000 });
  const log = page.getByRole("region", { name: "Access log" });
  await expect(log.getByRole("row").filter({ hasText: "allowed" }).filter({ hasText: "GetObject" })).toHaveCount(1);
  await expect(log.getByRole("row").filter({ hasText: "denied" }).filter({ hasText: "GetObject" })).toHaveCount(1);

  // And in the audit, filtered to refusals.
  await page.getByRole("link", { name: "Audit", exact: true }).click();
  await page.getByLabel("Outcome").selectOption("denied");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/outcome=denied/);
  await expect(page.getByRole("row").filter({ hasText: "team/report.txt" })).toHaveCount(1);
  // Exported as the browser downloads it (gzip accepted): the header and the refused request.
  await hydrated(page);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "CSV", exact: true }).click(),
  ]);
  expect(download.suggestedFilename()).toBe("audit.csv");
  const exported = fs.readFileSync((await download.path()) ?? "", "utf8").trim().split("\n");
  expect(exported[0]).toMatch(/^id,time,actor_kind,actor,/);
  expect(exported.slice(1)).toHaveLength(1);
  expect(exported[1]).toContain(",team,report.txt,denied,403,");
  // Opened in a browser, the dead link says so in words.
  const stranger = await browser.newContext();
  const tab = await stranger.newPage();
  const opened403 = await tab.goto(url);
  expect(opened403?.status()).toBe(403);
  await expect(tab.getByRole("heading", { name: "This link has been revoked" })).toBeVisible();
  await tab.screenshot({ path: path.join(SHOTS, "recipient-revoked.png") });
  await stranger.close();

  // Deleting the user kills their links.
  await page.goto("/buckets/team/share?key=report.txt");
  await hydrated(page);
  await page.getByLabel(/Pre-signed S3 URL: download/).check();
  await page.getByRole("button", { name: "Create link" }).click();
  const second = await page.getByLabel("Share link").inputValue();
  expect((await openAsStranger(browser, second)).status).toBe(200);
  await page.goto("/users/alice");
  await page.getByLabel(/Delete alice and their keys/).check();
  await page.getByRole("button", { name: "Delete user" }).click();
  await expect(page).toHaveURL(/\/users\?deleted=alice$/);
  await expect(page.getByRole("status").filter({ hasText: "Deleted user alice and their keys." })).toBeVisible();
  expect((await openAsStranger(browser, second)).status).toBe(403);
  await page.goto("/links?status=all");
  await expect(page.getByRole("cell", { name: "user deleted" }).first()).toBeVisible();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("sharing shows the link after the post, with a custom duration; deleting asks first", async ({ page, browser }) => {
    await page.goto("/login");
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Welcome, admin" })).toBeVisible();

    await page.goto("/users");
    await page.getByLabel("User name").fill("dan");
    await page.getByRole("button", { name: "Create user" }).click();
    await expect(page).toHaveURL(/\/users\/dan$/);
    await page.goto("/buckets");
    await page.getByLabel("Bucket name").fill("plain");
    await page.getByRole("button", { name: "Create bucket" }).click();
    await expect(page).toHaveURL(/\/buckets\/plain$/);
    await page.getByLabel(/^Files/).setInputFiles({
      name: "notes.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("plain notes\n"),
    });
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await expect(page.getByRole("cell", { name: "notes.txt", exact: true })).toBeVisible();
    await page.getByRole("link", { name: "Access", exact: true }).click();
    await page.getByLabel("User").selectOption("dan");
    await page.getByLabel("Permission").selectOption("read");
    await page.getByRole("button", { name: "Grant" }).click();
    await expect(page.getByRole("cell", { name: "dan" })).toBeVisible();

    // A plain form post's error comes back with the page, where the field is.
    await page.goto("/buckets/plain/share?key=notes.txt");
    await page.getByLabel("Expires after").fill("30s");
    await page.getByRole("button", { name: "Create link" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "A link from the console lives at least 1 minute" })).toBeVisible();

    // The link made by a plain form post is shown once the page comes back.
    await page.goto("/buckets/plain/share?key=notes.txt");
    await page.getByLabel(/Pre-signed S3 URL: download/).check();
    await page.getByLabel("Sign as").selectOption("dan");
    await page.getByLabel("Expires after").fill("90m");
    await page.getByRole("button", { name: "Create link" }).click();
    const urlField = page.getByLabel("Share link");
    await expect(urlField).toBeVisible();
    const url = await urlField.inputValue();
    expect(await openAsStranger(browser, url)).toEqual({ status: 200, body: "plain notes\n" });
    const expires = Number(new URL(url).searchParams.get("X-Amz-Expires"));
    expect(expires).toBe(90 * 60);
    // Shown once.
    await page.reload();
    await expect(page.getByLabel("Share link")).toHaveCount(0);

    // Deleting an object opens a confirmation first, saying what it stops; the box must be
    // ticked. Ticked objects go the same way.
    await page.goto("/buckets/plain");
    await page.getByRole("link", { name: "Delete notes.txt…" }).click();
    await page.getByRole("button", { name: "Delete 1 object" }).click();
    const listed = page.locator(".listing").getByRole("cell", { name: "notes.txt", exact: true });
    await expect(listed).toBeVisible();
    await page.getByLabel("Delete 1 object for good. This stops 1 live share link.").check();
    await page.getByRole("button", { name: "Delete 1 object" }).click();
    await expect(listed).toHaveCount(0);
    await expect(page.getByText("None of them is there any more.")).toBeVisible();
    expect((await openAsStranger(browser, url)).status).toBe(404);
  });
});

test("long labels and fifty rows: each row's Revoke stays in view, on desktop and phone", async ({ page }) => {
  await signIn(page);
  const long = "Board pack for the quarterly review, final version with every appendix and the auditors' notes attached ".repeat(2).slice(0, 200);
  const folder = `reports/${"very-long-folder-name-".repeat(5)}`;
  const key = `${folder}q3-final-numbers.csv`;
  for (const [name, form] of [
    ["users/create", { name: "wide-bob" }],
    ["buckets/create", { name: "wide", owner: "" }],
    ["buckets/grant", { bucket: "wide", user: "wide-bob", permission: "read", prefix: "", expires: "" }],
  ] as const) {
    expect((await api(page, name, form)).status, name).toBe(200);
  }
  const uploaded = await page.evaluate(async (folder) => {
    const session = await (await fetch("/api/session", { method: "POST", headers: { Accept: "application/json" } })).json();
    const data = new FormData();
    data.append("csrf", session.csrf);
    data.append("prefix", folder);
    data.append("file", new Blob(["numbers\n"], { type: "text/csv" }), "q3-final-numbers.csv");
    return (await fetch("/buckets/wide/upload", { method: "POST", body: data, headers: { Accept: "application/json" } })).status;
  }, folder);
  expect(uploaded).toBe(200);
  for (let i = 0; i < 50; i++) {
    const made = await api(page, "links/create", {
      bucket: "wide", key, user: "wide-bob", expires: "1d", method: "GET", label: `${i} ${long}`.slice(0, 200),
    });
    expect(made.status, made.body).toBe(200);
  }
  for (const [width, href] of [
    [1280, "/links"], [1920, "/links?status=all"], [390, "/links"], [1280, "/"], [390, "/users/wide-bob"],
  ] as const) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto(href);
    await expect(page.locator("main h1").first()).toBeVisible();
    await page.screenshot({ path: path.join(SHOTS, `wide-${href.replace(/\W+/g, "_")}-${width}.png`), fullPage: true });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    const wider = await page.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .filter((e) => !e.closest(".table-wrap"))
        .slice(0, 5)
        .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
    );
    expect(overflow, `${href} overflows at ${width}px: ${wider.join(", ")}`).toBeLessThanOrEqual(1);
    // Every Revoke of the page is inside the window's width.
    const revokes = page.locator("summary", { hasText: "Revoke…" });
    const count = await revokes.count();
    if (href.startsWith("/links")) expect(count, href).toBeGreaterThanOrEqual(50);
    for (let i = 0; i < count; i += 7) {
      const box = await revokes.nth(i).boundingBox();
      expect(box, `${href} row ${i}`).not.toBeNull();
      expect(box!.x, `${href} row ${i} at ${width}px`).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width, `${href} row ${i} at ${width}px`).toBeLessThanOrEqual(width);
    }
  }
  // On a phone the sections are behind a Menu button, closed again after a choice.
  await page.setViewportSize({ width: 390, height: 900 });
  await page.goto("/");
  await hydrated(page);
  await expect(page.getByRole("link", { name: "Audit", exact: true })).toBeHidden();
  await page.getByText("Menu", { exact: true }).click();
  await page.getByRole("link", { name: "Audit", exact: true }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole("link", { name: "Audit", exact: true })).toBeHidden();
  // And it works there: revoke the first from the phone, confirmed, said.
  await page.goto("/links?bucket=wide");
  await hydrated(page);
  await page.locator("summary", { hasText: "Revoke…" }).first().click();
  await page.getByRole("button", { name: /^Revoke link / }).first().click();
  await expect(page.getByRole("status").filter({ hasText: /^Revoked link / })).toBeVisible();
  await expect(page.locator("summary", { hasText: "Revoke…" })).toHaveCount(49);
});

test("every page renders in light and dark, on desktop and phone widths", async ({ page }) => {
  // 56 full-page screenshots, some of 50-row tables.
  test.setTimeout(240_000);
  await signIn(page);
  fs.mkdirSync(SHOTS, { recursive: true });
  // A user's page and a link's page need a user and a link: a new user, and the first link the
  // tests above made.
  await page.goto("/users");
  await hydrated(page);
  await page.getByLabel("User name").fill("viewer");
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page).toHaveURL(/\/users\/viewer$/);
  await page.goto("/links?status=all");
  const linkHref = await page.locator('main table a[href^="/links/"]').first().getAttribute("href");
  expect(linkHref).toMatch(/^\/links\/[^/]+$/);
  const pages: [string, string][] = [
    ["dashboard", "/"],
    ["users", "/users"],
    ["user", "/users/viewer"],
    ["buckets", "/buckets"],
    ["bucket", "/buckets/team"],
    ["bucket-access", "/buckets/team/access"],
    ["bucket-links", "/buckets/team/links"],
    ["bucket-settings", "/buckets/team/settings"],
    ["share", "/buckets/team/share?key=report.txt"],
    ["links", "/links?status=all"],
    ["link", linkHref ?? ""],
    ["audit", "/audit"],
    ["account", "/account"],
    ["settings", "/settings"],
  ];
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [width, label] of [
      [1280, "desktop"],
      [390, "phone"],
    ] as const) {
      await page.setViewportSize({ width, height: 900 });
      for (const [name, href] of pages) {
        await page.goto(href);
        await expect(page.locator("main h1").first()).toBeVisible();
        // No horizontal scrolling of the page itself on a phone (tables scroll in their box).
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        expect(overflow, `${name} overflows at ${width}px`).toBeLessThanOrEqual(1);
        await page.screenshot({
          path: path.join(SHOTS, `${name}-${scheme}-${label}.png`),
          fullPage: true,
        });
      }
    }
  }
});
