import { expect, test, type Page } from "@playwright/test";

const PASSWORD = process.env.BUCKETSHARE_ADMIN_PASSWORD ?? "";

/** Waits until the WASM bundle has hydrated the page (frontend/src/lib.rs sets the marker). */
async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
}

async function signIn(page: Page, password = PASSWORD) {
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a logged-out visitor of any page lands on the sign-in page", async ({ page }) => {
  for (const path of ["/", "/account", "/somewhere/else"]) {
    await page.goto(path);
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole("heading", { name: "Sign in to bucketshare" })).toBeVisible();
  }
});

test("a wrong password shows an error and signs nobody in", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await signIn(page, "not the password");
  await expect(page.getByRole("alert")).toHaveText("Wrong user name or password.");
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
});

test("the admin signs in, sees the dashboard, uses the hydrated app and signs out", async ({ page }) => {
  // The sign-in page needs the main bundle only; the dashboard adds its own chunks. All
  // compressed.
  const wasm: { url: string; encoding?: string; length?: string }[] = [];
  page.on("response", (res) => {
    const headers = res.headers();
    if (res.url().endsWith(".wasm")) {
      wasm.push({ url: res.url(), encoding: headers["content-encoding"], length: headers["content-length"] });
    }
  });
  await page.goto("/login");
  await hydrated(page);
  expect(wasm.map((w) => w.url)).toEqual([expect.stringMatching(/\/pkg\/bucketshare\.wasm$/)]);
  await signIn(page);

  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { name: "Welcome, admin" })).toBeVisible();
  await hydrated(page);
  expect(wasm.some((w) => /\/pkg\/split_[a-z_]*dashboard[a-z_]*_\d+\.wasm$/.test(w.url))).toBe(true);
  // (wasm-split leaves some empty 8-byte chunks; responses that small are sent as they are.)
  expect(wasm.filter((w) => w.encoding !== "gzip" && Number(w.length) > 32)).toEqual([]);
  await expect(page.getByText("Signed in as admin")).toBeVisible();
  // Real figures from the database: nothing shared yet.
  for (const label of ["IAM users", "Buckets", "Active share links", "Files received, last 24 h"]) {
    await expect(page.getByRole("term").filter({ hasText: label })).toBeVisible();
  }
  await expect(page.locator(".figure dd")).toHaveCount(6);
  for (const figure of await page.locator(".figure dd").allTextContents()) {
    expect(figure).toMatch(/^\d+$/);
  }

  // Client-side navigation and a control that only works once the WASM bundle runs.
  await hydrated(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
  await expect(page.getByRole("heading", { name: "Change password" })).toBeVisible();
  const current = page.getByLabel("Current password", { exact: true });
  await current.fill("peek-a-boo");
  await expect(current).toHaveAttribute("type", "password");
  await page.getByRole("button", { name: "Show current password" }).click();
  await expect(current).toHaveAttribute("type", "text");
  await expect(page.getByRole("button", { name: "Show current password" })).toHaveAttribute("aria-pressed", "true");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the sign-in form still works, errors included", async ({ page }) => {
    await page.goto("/login");
    await signIn(page, "wrong again");
    await expect(page.getByRole("alert")).toHaveText("Wrong user name or password.");
    await signIn(page);
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole("heading", { name: "Welcome, admin" })).toBeVisible();
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
  });
});

test("the admin changes their password and signs in with the new one", async ({ page, browser }) => {
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await otherPage.goto("/login");
  await signIn(otherPage);
  await expect(otherPage.getByRole("heading", { name: "Welcome, admin" })).toBeVisible();

  await page.goto("/login");
  await hydrated(page);
  await signIn(page);
  await expect(page.getByRole("heading", { name: "Welcome, admin" })).toBeVisible();
  await page.goto("/account");
  await hydrated(page);
  const change = async (current: string, next: string, confirm = next) => {
    await page.getByLabel("Current password", { exact: true }).fill(current);
    await page.getByLabel("New password", { exact: true }).fill(next);
    await page.getByLabel("Confirm new password", { exact: true }).fill(confirm);
    await page.getByRole("button", { name: "Change password" }).click();
  };
  const next = `${PASSWORD}-changed`;
  await change(PASSWORD, "short");
  await expect(page.getByRole("alert")).toContainText("at least 12 characters");
  await change(PASSWORD, next);
  await expect(page.getByRole("status")).toHaveText("Password changed.");

  // The other browser's session ended with the change.
  await otherPage.goto("/");
  await expect(otherPage).toHaveURL(/\/login$/);
  await signIn(otherPage, next);
  await expect(otherPage.getByRole("heading", { name: "Welcome, admin" })).toBeVisible();
  await other.close();

  // Put the password back for whoever runs next, and make sure it is back (the status above
  // is still shown from the first change).
  await change(next, PASSWORD);
  await expect(page.getByRole("status")).toHaveText("Password changed.");
  const again = await browser.newContext();
  const check = await again.newPage();
  await check.goto("/login");
  await signIn(check);
  await expect(check.getByRole("heading", { name: "Welcome, admin" })).toBeVisible();
  await again.close();
});
