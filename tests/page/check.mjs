// Drives the page at / in headless Chromium: speaks a sentence and records which word is
// highlighted as the audio plays. Prints one JSON line: the highlighted word indexes seen, in
// order, and the number of words. Usage: node check.mjs URL [SCREENSHOT.png], with PLAYWRIGHT_DIR
// the folder whose node_modules holds playwright-core.
import { createRequire } from "node:module";

const { chromium } = createRequire(`${process.env.PLAYWRIGHT_DIR || process.cwd()}/`)("playwright-core");

const [url, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll("#voice option").length > 0);
  await page.fill("#text", "The quick brown fox jumps over the lazy dog, and then it runs away into the woods.");
  await page.click("#speak");
  const seen = [];
  const started = Date.now();
  let words = 0;
  while (Date.now() - started < 30000) {
    const state = await page.evaluate(() => ({
      word: Number(document.body.dataset.word ?? -1),
      words: document.querySelectorAll("#words span").length,
      status: document.getElementById("status").textContent,
    }));
    words = state.words;
    if (state.word >= 0 && seen[seen.length - 1] !== state.word) seen.push(state.word);
    if (words > 0 && state.word === words - 1 && state.status.includes("of speech")) break;
    await page.waitForTimeout(50);
  }
  if (screenshot) await page.screenshot({ path: screenshot });
  console.log(JSON.stringify({ seen, words }));
} finally {
  await browser.close();
}
