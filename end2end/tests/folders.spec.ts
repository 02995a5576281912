import { expect, test, type Browser, type Page } from "@playwright/test";
import { SHOTS, api, hydrated, openAsStranger, signIn } from "./support";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// The object browser as an admin uses it: a folder, files and a folder dropped or picked with
// a progress line each, a name that exists (replace, keep both, skip), a cancelled upload,
// download by name, the details panel's previews, ticked objects deleted and shared together,
// and a link's page showing its URL again.

/** Drops files on the folder's page as a browser's drag and drop does (`name` → content). */
async function drop(page: Page, files: Record<string, string | number>) {
  const transfer = await page.evaluateHandle((files) => {
    const dt = new DataTransfer();
    for (const [name, content] of Object.entries(files)) {
      const body = typeof content === "number" ? new Uint8Array(content).fill(120) : content;
      const type = name.endsWith(".txt") ? "text/plain" : name.endsWith(".png") ? "image/png" : "application/octet-stream";
      dt.items.add(new File([body], name, { type }));
    }
    return dt;
  }, files);
  const area = page.locator(".browser");
  await area.dispatchEvent("dragover", { dataTransfer: transfer });
  await expect(area).toHaveClass(/dragging/);
  await area.dispatchEvent("drop", { dataTransfer: transfer });
}

// A 1×1 PNG.
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

test("the object browser: folder, drop with progress, conflicts, cancel, download, details, ticked delete and share", async ({ page, browser }) => {
  await signIn(page);
  for (const [name, form] of [
    ["users/create", { name: "dropper" }],
    ["buckets/create", { name: "drops", owner: "" }],
    ["buckets/grant", { bucket: "drops", user: "dropper", permission: "read", prefix: "", expires: "" }],
  ] as const) {
    expect((await api(page, name, form)).status, name).toBe(200);
  }
  await page.goto("/buckets/drops");
  await hydrated(page);

  // A folder, then into it (a bad name first: the form says why, in place).
  await page.getByText("New folder…").click();
  await page.getByLabel("Folder name").fill("a/b");
  await page.getByRole("button", { name: "Create folder" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "without /" })).toBeVisible();
  await page.getByLabel("Folder name").fill("docs");
  await page.getByRole("button", { name: "Create folder" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Folder docs created." })).toBeVisible();
  await page.getByRole("link", { name: "📁 docs/" }).click();
  await expect(page).toHaveURL(/prefix=docs\//);
  await hydrated(page);

  // Three files dropped on the listing: each has its line, its size and ends uploaded.
  await drop(page, { "a.txt": "first version\n", "big.bin": 3 * 1024 * 1024 });
  const queue = page.getByRole("region", { name: "Uploads" });
  await expect(queue.getByRole("status")).toHaveText("2 of 2 files uploaded, 3.0 MiB of 3.0 MiB.");
  await expect(queue.locator(".queue-item", { hasText: "docs/big.bin" })).toContainText("3.0 MiB");
  await expect(queue.locator(".queue-item", { hasText: "docs/big.bin" })).toContainText("uploaded");
  await expect(page.getByRole("cell", { name: "big.bin", exact: true })).toBeVisible();
  // A picture picked with the file picker goes the same way.
  await page.getByLabel(/^Files/).setInputFiles({ name: "pic.png", mimeType: "image/png", buffer: Buffer.from(PNG, "base64") });
  await expect(page.getByRole("cell", { name: "pic.png", exact: true })).toBeVisible();

  // The same name again: nothing is replaced without a choice.
  await drop(page, { "a.txt": "second version\n" });
  const again = queue.locator(".queue-item").last();
  await expect(again).toContainText("exists already:");
  await again.getByRole("button", { name: "Keep both" }).click();
  await expect(again).toContainText("docs/a (1).txt");
  await expect(again).toContainText("uploaded");
  await drop(page, { "a.txt": "third version\n" });
  await queue.locator(".queue-item").last().getByRole("button", { name: "Replace" }).click();
  await expect(queue.locator(".queue-item").last()).toContainText("uploaded");
  await drop(page, { "a.txt": "never\n" });
  await queue.locator(".queue-item").last().getByRole("button", { name: "Skip" }).click();
  await expect(queue.locator(".queue-item").last()).toContainText("skipped");
  await queue.getByRole("button", { name: "Clear finished" }).click();
  await expect(queue).toHaveCount(0);

  // A folder picked whole keeps its sub-folders.
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), "tree-"));
  fs.mkdirSync(path.join(tree, "album", "day 1"), { recursive: true });
  fs.writeFileSync(path.join(tree, "album", "day 1", "note.txt"), "day one\n");
  fs.writeFileSync(path.join(tree, "album", "cover.txt"), "cover\n");
  await page.getByLabel("Or a folder").setInputFiles(path.join(tree, "album"));
  await expect(queue.getByRole("status")).toHaveText(/^2 of 2 files uploaded/);
  await page.getByRole("link", { name: "📁 album/" }).click();
  await expect(page.getByRole("link", { name: "📁 day 1/" })).toBeVisible();
  await expect(page.getByRole("cell", { name: "cover.txt", exact: true })).toBeVisible();
  await page.goto("/buckets/drops?prefix=docs%2F");
  await hydrated(page);

  // A slow upload cancelled halfway leaves nothing behind.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024 });
  await drop(page, { "slow.bin": 8 * 1024 * 1024 });
  const slow = queue.locator(".queue-item", { hasText: "docs/slow.bin" });
  await expect(slow).toContainText("uploading…");
  await expect.poll(async () => Number(await slow.locator("progress").getAttribute("value") ?? 0)).toBeGreaterThan(0);
  await slow.getByRole("button", { name: "Cancel docs/slow.bin" }).click();
  await expect(slow).toContainText("cancelled");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.reload();
  await expect(page.getByRole("cell", { name: "big.bin", exact: true })).toBeVisible();
  await expect(page.getByRole("cell", { name: "slow.bin", exact: true })).toHaveCount(0);

  // A name is a download, with the file's name and bytes.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "a.txt", exact: true }).click(),
  ]);
  expect(download.suggestedFilename()).toBe("a.txt");
  expect(fs.readFileSync(await download.path(), "utf8")).toBe("third version\n");

  // Details: the picture shows, with size, type and ETag; text shows escaped.
  await page.getByRole("link", { name: "Details of pic.png" }).click();
  const panel = page.getByRole("complementary");
  await expect(panel.getByRole("heading", { name: "pic.png" })).toBeVisible();
  await expect(panel.getByRole("img", { name: "Preview of pic.png" })).toBeVisible();
  await expect.poll(() => panel.getByRole("img", { name: "Preview of pic.png" }).evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);
  await expect(panel).toContainText("image/png");
  await expect(panel).toContainText(/ETag[0-9a-f]{32}/);
  for (const [width, scheme] of [[1280, "light"], [1280, "dark"], [390, "light"], [390, "dark"]] as const) {
    await page.setViewportSize({ width, height: 900 });
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: path.join(SHOTS, `objects-details-${width}-${scheme}.png`), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `the object browser overflows at ${width}px`).toBeLessThanOrEqual(1);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: "light" });
  expect((await api(page, "links/create", { bucket: "drops", key: "docs/a.txt", user: "dropper", expires: "1h", method: "GET", label: "" })).status).toBe(200);
  await page.goto("/buckets/drops?prefix=docs%2F&details=docs%2Fa.txt");
  // Opened by its address, the page with its panel hydrates.
  await hydrated(page);
  await expect(panel.getByLabel("Preview of a.txt")).toHaveText("third version");
  await expect(panel).toContainText("1 live share link");

  // Tick two objects and delete them together: the confirmation counts their live links.
  await page.goto("/buckets/drops?prefix=docs%2F");
  await hydrated(page);
  await page.getByLabel("Select a.txt").check();
  await page.getByLabel("Select a (1).txt").check();
  await page.getByRole("button", { name: "Delete ticked…" }).click();
  await expect(page.getByRole("heading", { name: "Delete the ticked objects" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Delete 2 objects for good. This stops 1 live share link.").check();
  await page.getByRole("button", { name: "Delete 2 objects" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Deleted 2 objects; 1 live share link stopped." })).toBeVisible();
  // The listing beside it has lost them already.
  await expect(page.getByRole("cell", { name: "a.txt", exact: true })).toHaveCount(0);
  await expect(page.getByRole("cell", { name: "big.bin", exact: true })).toBeVisible();
  await page.getByRole("complementary").getByRole("link", { name: "Close" }).click();
  await expect(page.getByRole("complementary")).toHaveCount(0);

  // Tick two and share them: one link each, signed as someone who may read both.
  await hydrated(page);
  await page.getByLabel("Select big.bin").check();
  await page.getByLabel("Select pic.png").check();
  await page.getByRole("button", { name: "Share ticked…" }).click();
  await hydrated(page);
  await page.getByLabel("Expires after").fill("5s");
  await page.getByRole("button", { name: "Create 2 links" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "at least 1 minute" })).toBeVisible();
  await page.getByLabel("Expires after").fill("2h");
  await expect(page.getByLabel("Sign as")).toHaveValue("dropper");
  await page.getByRole("button", { name: "Create 2 links" }).click();
  await expect(page.getByRole("heading", { name: "2 links ready" })).toBeVisible();
  // Copy all: every URL, one per line, on the clipboard.
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.getByRole("button", { name: "Copy all links" }).click();
  await expect(page.getByRole("button", { name: "Copied" })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied.split("\n")).toEqual([await page.getByLabel("docs/big.bin").inputValue(), await page.getByLabel("docs/pic.png").inputValue()]);
  const url = await page.getByLabel("docs/pic.png").inputValue();
  const got = await openAsStranger(browser, url);
  expect(got.status).toBe(200);
  expect(Number(new URL(url).searchParams.get("X-Amz-Expires"))).toBe(2 * 3600);

  // The link's page shows the same URL again, for as long as it works.
  await page.goto(`/links/${new URL(url).searchParams.get("bucketshare-link")}`);
  await expect(page.getByLabel("Share link")).toHaveValue(url);
  await expect(page.getByRole("img", { name: "QR code of the link" })).toBeVisible();
});
