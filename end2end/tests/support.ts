// What the browser tests share: the admin's password and screenshot folder (set by
// scripts/e2e.sh), and the steps every test takes.
import { expect, type Browser, type Page } from "@playwright/test";

export const PASSWORD = process.env.BUCKETSHARE_ADMIN_PASSWORD ?? "";
export const SHOTS = process.env.SCREENSHOT_DIR ?? "screenshots";

/** Waits until the page's WASM has hydrated it. */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
}

/** Signs in as the first admin and waits for the dashboard. */
export async function signIn(page: Page) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Welcome, admin" })).toBeVisible();
}

/** Fetches `url` from a fresh browser context: no cookies, no session, as a link recipient. */
export async function openAsStranger(browser: Browser, url: string) {
  const context = await browser.newContext();
  try {
    const res = await context.request.get(url);
    return { status: res.status(), body: await res.text() };
  } finally {
    await context.close();
  }
}

/** Calls a console server function from inside the signed-in page, as its own script does. */
export async function api(page: Page, name: string, form: Record<string, string>) {
  return page.evaluate(
    async ([name, form]) => {
      const session = await (await fetch("/api/session", { method: "POST", headers: { Accept: "application/json" } })).json();
      const body = new URLSearchParams({ csrf: session.csrf, ...form });
      const res = await fetch(`/api/${name}`, { method: "POST", body, headers: { Accept: "application/json" } });
      return { status: res.status, body: await res.text() };
    },
    [name, form] as const,
  );
}
