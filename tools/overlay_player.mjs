// A minimal Media Overlays player in headless Chromium (the engine Thorium Reader runs on), to check a
// read-along book by hand: for a SMIL file of an unzipped book.epub, opens its XHTML and, for each of
// the first N pars, seeks the MP3 to clipBegin, plays, and puts the active class on the par's element.
// Prints each par's element text, the audio time reached and the highlight colour. Usage:
//   PLAYWRIGHT_DIR=~/.cache/audiobook/tools/node node tools/overlay_player.mjs BOOK/EPUB/readalong/overlay-001.smil 6 shot.png
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
const { chromium } = createRequire(`${process.env.PLAYWRIGHT_DIR}/`)("playwright-core");
const [smilPath, count, shot] = process.argv.slice(2);
const smil = readFileSync(smilPath, "utf8");
const pars = [...smil.matchAll(/<text src="([^"#]+)#([^"]+)"\/><audio src="([^"]+)" clipBegin="([\d.]+)s" clipEnd="([\d.]+)s"/g)]
  .map(m => ({ doc: resolve(dirname(smilPath), m[1]), id: m[2], audio: resolve(dirname(smilPath), m[3]), begin: +m[4], end: +m[5] }));
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required", "--allow-file-access-from-files"] });
const page = await browser.newPage();
await page.goto("file://" + pars[0].doc);
const results = [];
for (const par of pars.slice(0, Number(count))) {
  const r = await page.evaluate(async (par) => {
    const el = document.getElementById(par.id);
    if (!el) return { id: par.id, error: "no element" };
    window.player ??= new Audio("file://" + par.audio);
    const a = window.player;
    a.currentTime = par.begin;
    await a.play();
    await new Promise(ok => setTimeout(ok, 400));
    const inside = a.currentTime >= par.begin && a.currentTime <= par.end + 0.5;
    document.querySelectorAll(".-epub-media-overlay-active").forEach(e => e.classList.remove("-epub-media-overlay-active"));
    el.classList.add("-epub-media-overlay-active");
    a.pause();
    return { id: par.id, text: el.textContent.trim().slice(0, 40), time: a.currentTime.toFixed(2), inside,
      highlight: getComputedStyle(el).backgroundColor };
  }, par);
  results.push(r);
}
if (shot) await page.screenshot({ path: shot });
console.log(JSON.stringify(results, null, 1));
await browser.close();
