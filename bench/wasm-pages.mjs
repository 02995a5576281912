// Per page, the WASM a fresh browser downloads (encoded bytes gzipped on the wire) to show and hydrate it.
// Usage: node bench/wasm-pages.mjs BASE_URL ADMIN_PASSWORD [BUDGET_KIB]
// (WASM_PAGES_FILES=1 also lists each page's files with their sizes.)
// (a server with a bucket "team"; run by scripts/wasm-pages.sh). With a budget, exits 1 if a
// page needs more.
import { chromium } from "../end2end/node_modules/playwright-core/index.mjs";
const base = process.argv[2], password = process.argv[3];
const budget = process.argv[4] ? Number(process.argv[4]) : undefined;
const over = [];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless","--no-sandbox","--disable-gpu","--disable-quic","--no-first-run","--disable-background-networking","--disable-component-update","--disable-sync"] });
const login = await browser.newContext();
const lp = await login.newPage();
await lp.goto(base + "/login");
await lp.waitForSelector("body[data-hydrated]");
await lp.getByLabel("User name").fill("admin");
await lp.getByLabel("Password", { exact: true }).fill(password);
await lp.getByRole("button", { name: "Sign in" }).click();
await lp.waitForURL(base + "/");
const state = await login.storageState();
for (const path of ["/login", "/", "/users", "/buckets", "/buckets/team", "/buckets/team/access", "/buckets/team/links", "/buckets/team/settings", "/buckets/team/share?key=x.txt", "/buckets/team?details=x.txt", "/buckets/team?do=delete&key=x.txt", "/links", "/audit", "/settings", "/account"]) {
  const ctx = await browser.newContext(path === "/login" ? {} : { storageState: state });
  const page = await ctx.newPage();
  const got = [], files = [];
  page.on("requestfinished", async (req) => {
    if (req.url().endsWith(".wasm")) { const s = await req.sizes(); got.push(s.responseBodySize); files.push(`${req.url().split("/").pop()} ${s.responseBodySize}`); }
  });
  await page.goto(base + path);
  await page.waitForSelector("body[data-hydrated]");
  await page.waitForTimeout(300);
  const total = got.reduce((a, b) => a + b, 0);
  if (budget !== undefined && total > budget * 1024) over.push(path);
  console.log(`${path.padEnd(30)} ${got.length} wasm files, ${total} bytes gzipped on the wire (${(total / 1024).toFixed(1)} KiB)`);
  if (process.env.WASM_PAGES_FILES) console.log("    " + files.join(", "));
  await ctx.close();
}
await browser.close();
if (budget !== undefined) {
  if (over.length > 0) {
    console.log(`wasm-pages: over the budget of ${budget} KiB: ${over.join(", ")}`);
    process.exit(1);
  }
  console.log(`wasm-pages: every page within ${budget} KiB`);
}
