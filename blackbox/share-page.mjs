// A recipient opens share pages in Chromium, without a session: the landing page at phone and
// desktop width (light and dark, screenshots into end2end/screenshots/), its size on the wire,
// the keyboard path to the download and the file it saves; pages of an HTML and an SVG file
// with script (the script must never run: both only download); a page that no longer works.
// Usage: node blackbox/share-page.mjs live FILE_PAGE HTML_PAGE SVG_PAGE EXPECTED_TEXT
//        node blackbox/share-page.mjs gone PAGE EXPECTED_STATUS EXPECTED_WORDS
//        node blackbox/share-page.mjs password PAGE PASSWORD EXPECTED_TEXT
//        node blackbox/share-page.mjs media IMAGE_PAGE VIDEO_PAGE PDF_PAGE (blackbox/media.py's)
//        node blackbox/share-page.mjs once PAGE EXPECTED_TEXT (a 1-download page)
import { chromium } from "../end2end/node_modules/playwright-core/index.mjs";
import { readFileSync, mkdirSync } from "node:fs";

const [mode, ...args] = process.argv.slice(2);
const shots = new URL("../end2end/screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const fail = async (what) => { console.log(`FAIL  ${what}`); await browser.close(); process.exit(1); };
const ok = (what) => console.log(`ok    ${what}`);

if (mode === "gone") {
  const [url, status, words] = args;
  const context = await browser.newContext();
  const page = await context.newPage();
  const res = await page.goto(url);
  if (res.status() !== Number(status)) await fail(`${url}: ${res.status()}, not ${status}`);
  const text = await page.locator("h1").innerText();
  if (!text.includes(words)) await fail(`the page says "${text}", not "${words}"`);
  ok(`a page that no longer works says so in the browser (${status}: "${text}")`);
  await browser.close();
  process.exit(0);
}

if (mode === "media") {
  const [imageUrl, videoUrl, pdfUrl] = args;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(imageUrl);
  const width = await page.locator("img.preview").evaluate(async (img) => { await img.decode(); return img.naturalWidth; });
  if (width !== 64) await fail(`the image preview is ${width} px wide, not 64`);
  ok("an image page shows the picture");

  const previews = [];
  page.on("response", (res) => {
    if (res.url().includes("/preview")) previews.push({ status: res.status(), range: res.request().headers().range ?? "" });
  });
  await page.goto(videoUrl);
  const video = page.locator("video.preview");
  const duration = await video.evaluate((v) => new Promise((resolve, reject) => {
    if (v.readyState >= 1) resolve(v.duration);
    v.addEventListener("loadedmetadata", () => resolve(v.duration));
    v.addEventListener("error", () => reject(new Error(v.error?.message ?? "media error")));
  })).catch((e) => fail(`the video does not load: ${e}`));
  if (!(duration > 9.5 && duration < 10.5)) await fail(`the video lasts ${duration} s, not 10`);
  const seeked = await video.evaluate((v) => new Promise((resolve, reject) => {
    v.addEventListener("seeked", () => resolve(v.currentTime), { once: true });
    setTimeout(() => reject(new Error("no seeked event")), 20_000);
    v.currentTime = 8.5;
  })).catch((e) => fail(`seeking the video: ${e}`));
  const ranged = previews.filter((p) => p.status === 206 && /^bytes=[1-9][0-9]*-/.test(p.range));
  if (Math.abs(seeked - 8.5) > 0.01) await fail(`the video seeked to ${seeked} s`);
  if (ranged.length === 0) await fail(`no Range request past the start: ${JSON.stringify(previews)}`);
  await page.screenshot({ path: `${shots}share-page-video.png`, fullPage: true });
  ok(`a video page plays and seeks: 10 s long, seeked to 8.5 s; the browser read it with Range (${ranged.map((r) => r.range).join(", ")}: 206)`);

  const pdfPreview = page.waitForResponse((res) => res.url().includes("/preview"));
  await page.goto(pdfUrl);
  const res = await pdfPreview;
  if (res.status() !== 200 || res.headers()["content-type"] !== "application/pdf") {
    await fail(`the PDF preview answered ${res.status()} ${res.headers()["content-type"]}`);
  }
  if ((await page.locator("iframe.pdf").count()) !== 1) await fail("no PDF frame on the page");
  await page.waitForTimeout(1000);
  await page.screenshot({ path: `${shots}share-page-pdf.png`, fullPage: true });
  ok("a PDF page frames the PDF (application/pdf, inline, framed by its page only)");
  await browser.close();
  process.exit(0);
}

if (mode === "once") {
  const [url, expected] = args;
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(url);
  if (!(await page.getByText("1 download left.").isVisible())) await fail("a 1-download page does not say so");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download" }).click()]);
  if (readFileSync(await download.path(), "utf8") !== expected) await fail("the one download differs");
  const again = await page.goto(url);
  if (again.status() !== 410) await fail(`after its one download the page answered ${again.status()}`);
  const said = await page.locator("h1").innerText();
  if (!said.includes("used as many times as it allows")) await fail(`the used-up page says "${said}"`);
  ok("a 1-download page in the browser: one download, then 410 saying it was used up");
  await browser.close();
  process.exit(0);
}

if (mode === "password") {
  const [url, password, expected] = args;
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, acceptDownloads: true });
  const page = await context.newPage();
  const res = await page.goto(url);
  if (res.status() !== 401) await fail(`a password page answered ${res.status()}`);
  if ((await page.getByRole("link", { name: "Download" }).count()) !== 0) await fail("a locked page offers the download");
  await page.screenshot({ path: `${shots}share-page-password-phone.png`, fullPage: true });
  await page.getByLabel("Password").fill("not the password");
  await page.keyboard.press("Enter");
  await page.getByRole("alert").filter({ hasText: "Wrong password." }).waitFor().catch(() => fail("no word of a wrong password"));
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Open" }).click();
  await page.getByRole("link", { name: "Download" }).waitFor().catch(() => fail("the right password did not open the page"));
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download" }).click()]);
  if (readFileSync(await download.path(), "utf8") !== expected) await fail("the unlocked download differs");
  ok("a password page: a wrong password says so, the right one opens the page and its download");
  await browser.close();
  process.exit(0);
}

const [fileUrl, htmlUrl, svgUrl, expected] = args;
for (const [name, viewport, scheme] of [
  ["phone", { width: 390, height: 844 }, "light"],
  ["phone", { width: 390, height: 844 }, "dark"],
  ["desktop", { width: 1280, height: 800 }, "light"],
]) {
  const context = await browser.newContext({ viewport, colorScheme: scheme, acceptDownloads: true });
  const page = await context.newPage();
  let bytes = 0;
  page.on("response", async (res) => { try { bytes += (await res.body()).length; } catch {} });
  await page.goto(fileUrl);
  await page.waitForLoadState("networkidle");
  if ((await page.locator("h1").innerText()) !== "report.txt") await fail("no file name heading");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) await fail(`${name}: the page is ${overflow}px wider than the screen`);
  if (bytes > 30 * 1024) await fail(`${name}: the landing page took ${bytes} bytes`);
  await page.screenshot({ path: `${shots}share-page-${scheme}-${name}.png`, fullPage: true });
  if (name === "phone" && scheme === "light") {
    ok(`the landing page fits a phone, ${bytes} bytes in all, no script`);
    if ((await page.locator("script").count()) !== 0) await fail("the page has a script");
    if (!(await page.locator("blockquote").innerText()).includes("<b>as promised</b>")) {
      await fail("the note is not shown as plain text");
    }
    // Keyboard only: the first Tab reaches the download, Enter saves the file.
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => document.activeElement?.textContent);
    if (focused !== "Download") await fail(`Tab focuses "${focused}", not the download`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
    const saved = readFileSync(await download.path(), "utf8");
    if (saved !== expected) await fail(`the saved file holds "${saved}"`);
    if (download.suggestedFilename() !== "report.txt") await fail(`saved as ${download.suggestedFilename()}`);
    ok("keyboard only: Tab reaches Download, Enter saves report.txt with its bytes");
  }
  await context.close();
}

// User content with script never runs: the pages of an HTML and an SVG file only offer a
// download, and their download URLs download rather than render.
for (const [what, url] of [["HTML", htmlUrl], ["SVG", svgUrl]]) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.goto(url);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download" }).click(),
  ]);
  await download.path();
  const direct = await context.newPage();
  direct.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  const started = direct.waitForEvent("download", { timeout: 10000 }).then(() => true, () => false);
  await direct.goto(`${url}/download`).catch(() => {});
  if (!(await started)) await fail(`${what}: opening its download URL did not download`);
  const titles = [await page.title(), await direct.title()];
  if (dialogs.length > 0 || titles.includes("ran")) await fail(`${what}: its script ran (${titles}, ${dialogs})`);
  ok(`${what} with script: downloads as a file, its script never runs`);
  await context.close();
}
await browser.close();
