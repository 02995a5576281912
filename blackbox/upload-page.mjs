// A recipient uses an upload page in Chromium, without a session: three files at once (one of
// 20 MiB, sent with the upload throttled so that its progress is seen moving), each listed as
// arrived; a file over the page's size limit and one of a type it does not take, refused with
// the limit named before they are sent; the same name again, landing beside the first; then,
// with JavaScript off, a small file by the plain form. Screenshots into end2end/screenshots/.
// Usage: node blackbox/upload-page.mjs PAGE_URL WORK_DIR
// Prints the names the files arrived as, one per line after "arrived:".
import { chromium } from "../end2end/node_modules/playwright-core/index.mjs";
import { mkdirSync, writeFileSync } from "node:fs";

const [url, work] = process.argv.slice(2);
const shots = new URL("../end2end/screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const fail = async (what) => { console.log(`FAIL  ${what}`); await browser.close(); process.exit(1); };
const ok = (what) => console.log(`ok    ${what}`);

// The files, made here: 20 MiB of a pattern, two small ones, one too large, one .exe.
const big = Buffer.alloc(20 << 20);
for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
const files = {
  "big.bin": big,
  "notes.txt": Buffer.from("notes for the team\n"),
  "scan.pdf": Buffer.from("%PDF-1.4 not really\n"),
  "huge.bin": Buffer.alloc((25 << 20) + 1),
  "tool.exe": Buffer.from("MZ"),
};
for (const [name, bytes] of Object.entries(files)) writeFileSync(`${work}/${name}`, bytes);

const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
const page = await context.newPage();
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
// A refused offer is an HTTP error the browser logs as such: only script errors count here.
page.on("console", (m) => {
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
});
const res = await page.goto(url);
if (res.status() !== 200) await fail(`the upload page answered ${res.status()}`);
if ((await page.locator("h1").innerText()) !== "Send files") await fail("no 'Send files' heading");
const hint = await page.locator("#drop-hint").innerText();
if (!hint.includes("Drop files here")) await fail(`the script did not start: "${hint}"`);

// The upload throttled to 8 MiB/s: the 20 MiB file takes a few seconds.
const cdp = await context.newCDPSession(page);
await cdp.send("Network.enable");
await cdp.send("Network.emulateNetworkConditions", {
  offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: 8 << 20,
});
await page.fill("#uploader", "Dana <dana@example.com>");
await page.setInputFiles("#files", ["big.bin", "notes.txt", "scan.pdf"].map((n) => `${work}/${n}`));
// Progress seen moving: the overall bar between 0 and all of it.
let moving = false;
for (let i = 0; i < 200 && !moving; i++) {
  const [value, max] = await page.evaluate(() => {
    const bar = document.getElementById("overall-bar");
    return [bar.value, bar.max];
  });
  moving = value > 0 && value < max;
  if (!moving) await page.waitForTimeout(50);
}
if (!moving) await fail("the overall progress bar never showed a part sent");
await page.screenshot({ path: `${shots}/upload-page-progress-phone.png`, fullPage: true });
ok("three files sent at once, the progress bars moving (throttled upload)");
await cdp.send("Network.emulateNetworkConditions", {
  offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
});
await page.waitForFunction(() => document.querySelectorAll("#queue li.done").length === 3,
  null, { timeout: 60000 }).catch(async () => {
  await fail(`not all arrived: ${await page.locator("#queue").innerText()}`);
});
ok("each is listed as arrived, with the name it was stored under");

// Refused before a byte is sent, the limit named.
await page.setInputFiles("#files", [`${work}/huge.bin`, `${work}/tool.exe`]);
await page.waitForFunction(() => document.querySelectorAll("#queue li.refused").length === 2,
  null, { timeout: 30000 }).catch(async () => {
  await fail(`the two were not refused: ${await page.locator("#queue").innerText()}`);
});
const queue = await page.locator("#queue").innerText();
if (!queue.includes("at most 25 MiB")) await fail(`the size limit is not named: ${queue}`);
if (!queue.includes("not a type this page takes")) await fail(`the type is not named: ${queue}`);
ok("a file over the size limit and one of a type the page does not take are refused, naming why");

// The same name again lands beside the first.
await page.setInputFiles("#files", [`${work}/notes.txt`]);
await page.waitForFunction(() => document.querySelectorAll("#queue li.done").length === 4,
  null, { timeout: 30000 });
const again = await page.locator("#queue li.done").last().innerText();
if (!again.includes("notes (2).txt")) await fail(`the second notes.txt: ${again}`);
ok("the same name twice lands side by side (notes.txt, notes (2).txt)");
await page.screenshot({ path: `${shots}/upload-page-done-phone.png`, fullPage: true });
const wide = page.viewportSize();
await page.setViewportSize({ width: 1280, height: 900 });
await page.screenshot({ path: `${shots}/upload-page-done-desktop.png`, fullPage: true });
await page.setViewportSize(wide);
const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
if (overflow) await fail("the page is wider than a phone");
if (errors.length) await fail(`script errors: ${errors.join("; ")}`);
const arrived = await page.locator("#queue li.done").allInnerTexts();

// Without JavaScript: the plain form.
const plain = await browser.newContext({ javaScriptEnabled: false });
const noScript = await plain.newPage();
await noScript.goto(url);
writeFileSync(`${work}/plain.txt`, "sent without script\n");
await noScript.fill("#uploader", "Eve");
await noScript.setInputFiles("#files", [`${work}/plain.txt`]);
await Promise.all([noScript.waitForNavigation(), noScript.click("#send")]);
const said = await noScript.locator("main").innerText();
if (!said.includes("“plain.txt” arrived.")) await fail(`the plain form: ${said}`);
await noScript.screenshot({ path: `${shots}/upload-page-no-script.png`, fullPage: true });
ok("without JavaScript, a small file goes by the plain form and the page says it arrived");

console.log("arrived:");
for (const line of arrived) console.log(line.split("\n").pop());
await browser.close();
