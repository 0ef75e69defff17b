// gotforge page functions for mathpix-markdown-it: renderFormula and renderDocument.
// Each takes one JSON payload and returns {clip, ...} or {reject: {reason, detail}} (renderers/browser.py).
"use strict";
const MM = module.exports.MathpixMarkdownModel;
// The library keeps state across calls (heading slugs, labels, list and footnote counters, MathJax's
// document): reset it before each sample, so a sample depends on its payload only and nothing piles up.
const resetLibrary = module.exports.resetMmdGlobalState;

// Raw HTML off (user markdown cannot inject elements); no typographic replacements or autolinks, so
// the picture shows the characters of the source.
const MMD_OPTIONS = {htmlTags: false, typographer: false, linkify: false, breaks: true, centerTables: true};

// mathpix-markdown-it reports a TeX error on the console ("[TexConvert] ERROR=>", a JSON text with a
// message) and leaves the math element empty: collect those messages per call.
let texErrors = [];
const consoleLog = console.log.bind(console);
console.log = (...args) => {
  if (String(args[0]).includes("ERROR")) {
    let detail = args.slice(1).map((a) => (a && a.message) ? a.message : String(a)).join(" ");
    try { detail = JSON.parse(detail).message || detail; } catch (e) { /* not JSON */ }
    texErrors.push(detail);
  }
  consoleLog(...args);
};

const style = document.createElement("style");
// The full MathJax + container styles (tables drawn with borders); the fonts style is left out: it
// imports web fonts, and the page has no network. Fonts are chosen per sample from system fonts.
style.textContent = MM.getMathpixStyle(true) + `
  html, body { margin: 0; padding: 0; }
  #stage { position: absolute; left: 0; top: 0; }
  #stage * { font-family: inherit; }
  #stage mjx-container { font-family: initial; }
  #stage .block { break-inside: auto; }
  #stage h1, #stage h2, #stage h3 { line-height: 1.25; margin: 0.5em 0 0.4em; border: none; }
  #stage table.tabular { color: inherit; }`;
document.head.appendChild(style);

// Math elements that came out empty, and MathJax error nodes.
function mathFailures(root) {
  const failures = [...texErrors];
  for (const math of root.querySelectorAll(".math-block, .math-inline")) {
    if (!math.querySelector("mjx-container") && failures.length === 0) failures.push("math did not render");
  }
  for (const node of root.querySelectorAll("mjx-merror, [data-mjx-error]")) {
    failures.push(node.getAttribute("data-mjx-error") || node.textContent);
  }
  return failures;
}

// Images a user document inserted: wait until each has loaded or failed, so that any request it
// made has been routed (and, if not local, recorded) before the sample is finished.
async function settleImages(root) {
  await Promise.all([...root.querySelectorAll("img")].map((img) => img.decode().catch(() => null)));
}

// The characters MathJax drew under root, in document order: each glyph's code point (its data-c)
// and the text of <text> nodes (characters its fonts lack, such as CJK).
function drawnGlyphs(root) {
  return [...root.querySelectorAll("[data-c], text")].map((node) => node.tagName.toLowerCase() === "text"
    ? node.textContent : String.fromCodePoint(parseInt(node.getAttribute("data-c"), 16))).join("");
}

// What a reader sees of a block: its text, each formula as the characters MathJax drew, and the
// numbers of ordered lists (CSS markers, not text). Elements the page hides are left out.
function drawnText(block) {
  const copy = block.cloneNode(true);
  for (const math of copy.querySelectorAll("mjx-container")) {
    math.replaceWith(document.createTextNode(` ${drawnGlyphs(math)} `));
  }
  for (const list of copy.querySelectorAll("ol")) {
    let number = list.start - 1;
    for (const item of list.children) {
      if (item.tagName !== "LI") continue;
      number = item.hasAttribute("value") ? Number(item.getAttribute("value")) : number + 1;
      item.prepend(document.createTextNode(`${number}. `));
    }
  }
  return copy.textContent;
}

// Text under root outside its math (a formula that closed its display and opened another).
function textOutsideMath(root) {
  const copy = root.cloneNode(true);
  for (const math of copy.querySelectorAll("mjx-container")) math.remove();
  return copy.textContent.trim();
}

function outward(rect, pad) {
  const x = Math.max(0, Math.floor(rect.left - pad)), y = Math.max(0, Math.floor(rect.top - pad));
  return {x, y, width: Math.ceil(rect.right + pad) - x, height: Math.ceil(rect.bottom + pad) - y};
}

// payload: {latex, font_px, ink, paper, pad, max_width, max_height}
// The formula is typeset to MathJax's SVG (glyphs as paths), which is drawn onto a canvas of the paper
// colour and exported as PNG in the page: no screenshot, so no wait for a compositor frame. Returns
// {png, glyphs}: the characters drawn, which the renderer's validate compares with the target. A
// formula that holds "\]…\[" or "$$" typesets as several blocks with text between them, of
// which the image would show one: it is rejected.
window.renderFormula = async (p) => {
  resetLibrary();
  texErrors = [];
  const stage = document.getElementById("stage");
  stage.style.cssText = `color: ${p.ink}; font-size: ${p.font_px}px; display: inline-block;`;
  stage.innerHTML = MM.markdownToHTML("\\[" + p.latex + "\\]", MMD_OPTIONS);
  const failures = mathFailures(stage);
  if (failures.length) return {reject: {reason: "math-error", detail: failures.join("; ")}};
  const blocks = stage.querySelectorAll("mjx-container").length, outside = textOutsideMath(stage);
  if (blocks > 1 || outside) {
    return {reject: {reason: "several-display-blocks", detail: `${blocks} blocks, text between: ${outside.slice(0, 60)}`}};
  }
  const svg = stage.querySelector("mjx-container svg");
  if (!svg) return {reject: {reason: "math-error", detail: "no formula rendered"}};
  const rect = svg.getBoundingClientRect();
  const width = Math.ceil(rect.width), height = Math.ceil(rect.height);
  const canvasWidth = width + 2 * p.pad, canvasHeight = height + 2 * p.pad;
  if (canvasWidth > p.max_width || canvasHeight > p.max_height) {
    return {reject: {reason: "too-large", detail: `${canvasWidth}x${canvasHeight} px`}};
  }
  // A standalone SVG image resolves ex units and currentColor by itself: give it pixels and the ink.
  const copy = svg.cloneNode(true);
  copy.setAttribute("width", `${width}px`);
  copy.setAttribute("height", `${height}px`);
  copy.setAttribute("color", p.ink);
  copy.removeAttribute("style");
  const image = new Image();
  // A blob URL, revoked once drawn: a data URL per formula would stay in the page's image cache and
  // grow the browser's memory sample after sample.
  const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(copy)], {type: "image/svg+xml"}));
  image.src = url;
  try {
    await image.decode();
  } finally {
    URL.revokeObjectURL(url);
  }
  const canvas = document.createElement("canvas");
  canvas.width = canvasWidth;
  canvas.height = canvasHeight;
  const context = canvas.getContext("2d");
  context.fillStyle = p.paper;
  context.fillRect(0, 0, canvasWidth, canvasHeight);
  context.drawImage(image, p.pad, p.pad, width, height);
  image.src = "";
  return {png: canvas.toDataURL("image/png").split(",")[1], glyphs: drawnGlyphs(svg)};
};

// payload: {blocks: [mmd], width, height, margin: [top, right, bottom, left], columns, gap,
//           font_family, font_px, line_height, ink, paper, align}
// Blocks are rendered in order into a fixed page: a block wider than its column (a long formula, a
// wide table) is left out, and the first block that runs past the page ends it. Returns the indices
// of the blocks on the page and, for the renderer's validate, the text drawn of each (drawnText).
window.renderDocument = async (p) => {
  resetLibrary();
  texErrors = [];
  document.body.style.background = p.paper;
  const stage = document.getElementById("stage");
  const [top, right, bottom, left] = p.margin;
  stage.style.cssText = `width: ${p.width}px; height: ${p.height}px; box-sizing: border-box; overflow: hidden;
    padding: ${top}px ${right}px ${bottom}px ${left}px; background: ${p.paper}; color: ${p.ink};
    font-family: ${p.font_family}; font-size: ${p.font_px}px; line-height: ${p.line_height};
    text-align: ${p.align};`;
  stage.replaceChildren();
  const content = document.createElement("div");
  content.id = "preview-content";
  content.style.cssText = `height: ${p.height - top - bottom}px; column-count: ${p.columns};
    column-gap: ${p.gap}px; column-fill: auto; padding: 0; margin: 0; overflow: visible;`;
  stage.appendChild(content);
  const box = content.getBoundingClientRect();
  const columnWidth = (box.width - (p.columns - 1) * p.gap) / p.columns;
  // One conversion of the whole document, cut into its top-level segments (markdown-it is set up
  // once, not once per block: ~2 ms a call). When the segments do not match the blocks one to one,
  // each block is converted on its own.
  const segments = MM.markdownToHTMLSegments(p.blocks.join("\n\n"), MMD_OPTIONS);
  const whole = segments && segments.map.length === p.blocks.length && texErrors.length === 0;
  if (!whole) texErrors = [];
  const blocks = p.blocks.map((source, index) => {
    const block = document.createElement("div");
    block.className = "block";
    block.innerHTML = whole ? segments.content.slice(...segments.map[index]) : MM.markdownToHTML(source, MMD_OPTIONS);
    block.dataset.index = index;
    return block;
  });
  const failures = mathFailures(content);
  for (const block of blocks) failures.push(...mathFailures(block).filter((f) => !failures.includes(f)));
  if (failures.length) return {reject: {reason: "math-error", detail: failures.join("; ")}};
  content.append(...blocks);
  await settleImages(content);
  // Blocks flow in order, so a block's place depends only on the blocks before it: lay out once to
  // drop the blocks wider than a column (a long formula, a wide table), once more to find the first
  // block that runs past the page; it and everything after it go.
  for (const block of blocks) {
    let widest = 0;
    // The drawn width: a display formula's container is as wide as the column and clips its SVG.
    for (const node of block.querySelectorAll("mjx-container svg, table, img, pre")) {
      widest = Math.max(widest, node.getBoundingClientRect().width, node.scrollWidth || 0);
    }
    if (widest > columnWidth + 0.5) block.remove();
  }
  const kept = [];
  let past = false;
  for (const block of [...content.children]) {
    if (!past) {
      const r = block.getBoundingClientRect();
      past = r.right > box.right + 0.5 || r.bottom > box.bottom + 0.5;
    }
    if (past) block.remove(); else kept.push(Number(block.dataset.index));
  }
  if (kept.length === 0) return {reject: {reason: "nothing-fits", detail: "no block fits the page"}};
  const texts = [...content.children].map(drawnText);
  return {kept, texts, clip: {x: 0, y: 0, width: p.width, height: p.height}};
};

window.gotforgeReady = true;
