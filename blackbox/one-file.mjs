// The binary alone, started from an empty directory with no --site-root, serves a console that
// hydrates: its assets come from the binary. Signs in and opens the buckets page, each page
// hydrated, and checks that every /pkg/ file the browser fetched came back 200.
// Usage: node blackbox/one-file.mjs BASE_URL ADMIN_PASSWORD   (run by scripts/one-file.sh)
import { chromium } from "../end2end/node_modules/playwright-core/index.mjs";
const [base, password] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless","--no-sandbox","--disable-gpu","--disable-quic","--no-first-run","--disable-background-networking","--disable-component-update","--disable-sync"] });
const page = await browser.newPage();
const assets = [];
page.on("response", (res) => { if (new URL(res.url()).pathname.startsWith("/pkg/")) assets.push(`${res.status()} ${new URL(res.url()).pathname}`); });
const fail = async (what) => { console.log(`FAIL  ${what}`); await browser.close(); process.exit(1); };
await page.goto(base + "/login");
await page.waitForSelector("body[data-hydrated]", { timeout: 30000 }).catch(() => fail("the sign-in page did not hydrate"));
await page.getByLabel("User name").fill("admin");
await page.getByLabel("Password", { exact: true }).fill(password);
await page.getByRole("button", { name: "Sign in" }).click();
await page.waitForURL(base + "/").catch(() => fail("sign-in did not reach the dashboard"));
await page.goto(base + "/buckets");
await page.waitForSelector("body[data-hydrated]", { timeout: 30000 }).catch(() => fail("the buckets page did not hydrate"));
await page.getByRole("heading", { name: "Buckets" }).first().waitFor().catch(() => fail("no Buckets heading"));
const bad = assets.filter((a) => !a.startsWith("200 ") && !a.startsWith("304 "));
if (bad.length > 0 || !assets.some((a) => a.endsWith(".wasm"))) await fail(`assets: ${assets.join(", ")}`);
if (!assets.some((a) => a.includes("bucketshare.css"))) await fail(`no stylesheet among ${assets.join(", ")}`);
console.log(`ok    one file: from an empty directory the console hydrates (${assets.length} assets from the binary, WASM and CSS among them)`);
await browser.close();
