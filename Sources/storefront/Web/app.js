// The storefront page: the catalogue, a product with its images and chat, sign-in, and the
// staff's editor and uploads. Everything goes through the Connect client in connect.js.
import { ConnectError, base64ToBytes, bytesToBase64, createClient, sha256Hex } from "./connect.js";

const PRODUCTS = "storefront.v1.ProductService";
const AUTH = "storefront.v1.AuthService";
/** Products per ListProducts call; "Load more" asks for the next page after the last id. */
const PAGE_SIZE = 24;
/** Bytes of image per upload chunk message. */
const UPLOAD_CHUNK = 64 * 1024;
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
const SESSION_KEY = "storefront.session";

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --------------------------------------------------------------------------------------
// Session
// --------------------------------------------------------------------------------------

let session = loadSession();

function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (saved && saved.token && (!saved.expireTime || Date.parse(saved.expireTime) > Date.now())) return saved;
  } catch (_) {
    // a damaged entry: signed out
  }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

function setSession(value) {
  session = value;
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
  renderSession();
}

const isStaff = () => !!session && (session.role === "staff" || session.role === "admin");

const client = createClient({ getToken: () => (session ? session.token : null) });

// For tests and the curious: the page's client and state.
window.storefront = { client, PRODUCTS, AUTH, session: () => session, ConnectError };

// --------------------------------------------------------------------------------------
// Formatting and messages
// --------------------------------------------------------------------------------------

function currencyDigits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  } catch (_) {
    return 2;
  }
}

function formatPrice(priceCents, currency) {
  const code = currency || "USD";
  const digits = currencyDigits(code);
  const amount = Number(priceCents || 0) / 10 ** digits;
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency: code }).format(amount);
  } catch (_) {
    return `${amount.toFixed(digits)} ${code}`;
  }
}

/** "12.99" in `currency` as minor units (a string, as int64 is in JSON), or null. */
function parsePrice(text, currency) {
  const cleaned = String(text).trim().replace(/[$€£\s]/g, "").replace(/,(\d{1,2})$/, ".$1").replace(/,/g, "");
  if (!/^-?\d+(\.\d+)?$/.test(cleaned)) return null;
  const digits = currencyDigits(currency || "USD");
  return String(Math.round(Number(cleaned) * 10 ** digits));
}

function minorToInput(priceCents, currency) {
  const digits = currencyDigits(currency || "USD");
  return (Number(priceCents || 0) / 10 ** digits).toFixed(digits);
}

function formatStock(stock) {
  const units = Number(stock || 0);
  if (units <= 0) return "Out of stock";
  if (units <= 5) return `Only ${units} left`;
  return `${units} in stock`;
}

function formatBytes(count) {
  const n = Number(count || 0);
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function formatTime(timestamp) {
  if (!timestamp) return "";
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString("en", { dateStyle: "medium", timeStyle: "short" });
}

/** A sentence a shopper can act on, for a failed call. */
function describeError(error, doing = "do that") {
  if (!(error instanceof ConnectError)) return `Something went wrong (${error && error.message}). Reload the page and try again.`;
  switch (error.code) {
    case "unavailable":
      return "The shop can't be reached right now. Check your connection and try again in a moment.";
    case "unauthenticated":
      return session ? "Your session has expired. Sign in again." : `Please sign in to ${doing}.`;
    case "permission_denied":
      return session
        ? `Your account (${session.role}) isn't allowed to ${doing}; only staff can.`
        : `Please sign in with a staff account to ${doing}.`;
    case "not_found":
      return "We couldn't find that. It may have been removed.";
    case "aborted":
      return "Someone changed this product meanwhile; reload it to see their changes, then make yours again.";
    case "already_exists":
      return `That already exists: ${error.message}`;
    case "invalid_argument":
    case "out_of_range":
    case "failed_precondition":
      return `Please check what you entered: ${error.message}`;
    case "resource_exhausted": {
      const wait = error.retryDelaySeconds;
      return wait ? `Too many attempts. Try again in ${Math.ceil(wait)} seconds.` : `That's more than the shop allows right now: ${error.message}`;
    }
    case "deadline_exceeded":
      return "The shop took too long to answer. Try again.";
    case "unimplemented":
      return "This shop's server doesn't offer that yet.";
    case "canceled":
      return "Cancelled.";
    default:
      return `Something went wrong on our side (${error.code}). Try again in a moment.`;
  }
}

/** A call refused for an expired or revoked token signs the page out. */
function noteAuthError(error) {
  if (error instanceof ConnectError && error.code === "unauthenticated" && session) {
    setSession(null);
    showBanner("Your session has expired. Sign in again.", "error");
    route();
    return true;
  }
  return false;
}

function showBanner(text, kind = "info") {
  $("banner-text").textContent = text;
  $("banner").dataset.kind = kind;
  $("banner").hidden = false;
}

$("banner-close").addEventListener("click", () => ($("banner").hidden = true));

function el(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function flash(node) {
  node.classList.remove("changed");
  void node.offsetWidth;
  node.classList.add("changed");
}

function hue(text) {
  let hash = 0;
  for (const ch of String(text || "")) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return hash % 360;
}

function initials(name) {
  const words = String(name || "?").replace(/#\d+/g, "").split(/\s+/).filter(Boolean);
  return words.slice(-2).map((w) => w[0].toUpperCase()).join("") || "?";
}

function fillPlaceholder(node, product) {
  node.textContent = initials(product.name);
  node.style.setProperty("--hue", hue(product.category || product.name));
}

// --------------------------------------------------------------------------------------
// Products seen, images downloaded
// --------------------------------------------------------------------------------------

const products = new Map();
const categories = new Set();

function remember(product) {
  products.set(product.id, product);
  if (product.category && !categories.has(product.category)) {
    categories.add(product.category);
    const options = $("category-options");
    options.replaceChildren(...[...categories].sort().map((name) => el("option", { value: name })));
  }
}

const imageCache = new Map();
const downloadQueue = [];
let downloadsRunning = 0;
const MAX_DOWNLOADS = 3;

function pumpDownloads() {
  while (downloadsRunning < MAX_DOWNLOADS && downloadQueue.length) {
    const { task, resolve, reject } = downloadQueue.shift();
    downloadsRunning++;
    task()
      .then(resolve, reject)
      .finally(() => {
        downloadsRunning--;
        pumpDownloads();
      });
  }
}

/** The image's object URL (downloaded once), as a promise of {url, meta}. */
function image(imageId, { priority = false } = {}) {
  if (!imageCache.has(imageId)) {
    const promise = new Promise((resolve, reject) => {
      const job = { task: () => downloadImage(imageId), resolve, reject };
      if (priority) downloadQueue.unshift(job);
      else downloadQueue.push(job);
      pumpDownloads();
    });
    promise.catch(() => imageCache.delete(imageId));
    imageCache.set(imageId, promise);
  }
  return imageCache.get(imageId);
}

/** DownloadProductImage: the metadata, then base64 chunks, assembled into a Blob. */
async function downloadImage(imageId) {
  let meta = null;
  const chunks = [];
  for await (const message of client.serverStream(`${PRODUCTS}/DownloadProductImage`, { imageId })) {
    if (message.metadata) meta = message.metadata;
    else if (typeof message.chunk === "string") chunks.push(base64ToBytes(message.chunk));
  }
  if (!meta) throw new ConnectError("internal", "the image arrived without its description");
  const blob = new Blob(chunks, { type: meta.contentType || "application/octet-stream" });
  if (meta.sizeBytes && Number(meta.sizeBytes) !== blob.size) {
    throw new ConnectError("data_loss", `the image arrived incomplete (${blob.size} of ${meta.sizeBytes} bytes)`);
  }
  return { url: URL.createObjectURL(blob), meta };
}

// --------------------------------------------------------------------------------------
// Views and routes: #/ (catalogue, ?q=&category=&min=&max=), #/product/ID,
// #/product/ID/edit, #/new
// --------------------------------------------------------------------------------------

let currentView = null;

function setView(name) {
  if (currentView !== name) {
    if (currentView === "product") leaveProduct();
    window.scrollTo(0, 0);
  }
  currentView = name;
  for (const view of ["catalogue", "product", "editor"]) $(`${view}-view`).hidden = view !== name;
  document.body.dataset.view = name;
}

function route() {
  const hash = location.hash || "#/";
  const [path, query] = hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  let match;
  if ((match = path.match(/^\/product\/([^/]+)\/edit$/))) showEditor(decodeURIComponent(match[1]));
  else if ((match = path.match(/^\/product\/([^/]+)$/))) showProduct(decodeURIComponent(match[1]));
  else if (path === "/new") showEditor(null);
  else showCatalogue(params);
}

window.addEventListener("hashchange", route);

// --------------------------------------------------------------------------------------
// The catalogue
// --------------------------------------------------------------------------------------

const catalogue = { key: null, filters: {}, lastId: "", count: 0, controller: null, failed: false };

function filtersFrom(params) {
  return {
    query: params.get("q") || "",
    category: params.get("category") || "",
    min: params.get("min") || "",
    max: params.get("max") || "",
  };
}

function showCatalogue(params) {
  setView("catalogue");
  document.title = "Storefront";
  const filters = filtersFrom(params);
  $("filter-query").value = filters.query;
  $("filter-category").value = filters.category;
  $("filter-min-price").value = filters.min;
  $("filter-max-price").value = filters.max;
  const key = JSON.stringify(filters);
  if (catalogue.key === key && !catalogue.failed) return;
  catalogue.key = key;
  catalogue.filters = filters;
  catalogue.lastId = "";
  catalogue.count = 0;
  $("product-grid").replaceChildren();
  $("catalogue-empty").hidden = true;
  $("catalogue-title").textContent = filters.query || filters.category || filters.min || filters.max ? "Search results" : "Shop the catalogue";
  loadPage();
}

function listRequest() {
  const { query, category, min, max } = catalogue.filters;
  const request = { pageSize: PAGE_SIZE };
  if (query) request.query = query;
  if (category) request.category = category;
  if (min !== "") request.minPriceCents = parsePrice(min, "USD");
  if (max !== "") request.maxPriceCents = parsePrice(max, "USD");
  if (catalogue.lastId) request.afterId = catalogue.lastId;
  return request;
}

async function loadPage() {
  if (catalogue.controller) catalogue.controller.abort();
  const controller = new AbortController();
  catalogue.controller = controller;
  catalogue.failed = false;
  const grid = $("product-grid");
  const status = $("catalogue-status");
  const more = $("load-more");
  more.hidden = true;
  grid.setAttribute("aria-busy", "true");
  status.dataset.state = "loading";
  status.dataset.route = location.hash || "#/";
  status.textContent = catalogue.count ? `Showing ${catalogue.count} products, loading more…` : "Loading products…";
  let received = 0;
  try {
    for await (const { product } of client.serverStream(`${PRODUCTS}/ListProducts`, listRequest(), { signal: controller.signal })) {
      if (controller !== catalogue.controller) return;
      if (!product) continue;
      received++;
      catalogue.count++;
      catalogue.lastId = product.id;
      remember(product);
      grid.append(renderCard(product));
      status.textContent = `Showing ${catalogue.count} products…`;
    }
    if (controller !== catalogue.controller) return;
    const done = received < PAGE_SIZE;
    more.hidden = done;
    status.dataset.state = "done";
    status.textContent = catalogue.count === 0 ? "" : `Showing ${catalogue.count} ${catalogue.count === 1 ? "product" : "products"}${done ? "" : " · there are more"}`;
    $("catalogue-empty").hidden = catalogue.count !== 0;
  } catch (error) {
    if (controller !== catalogue.controller || error.code === "canceled") return;
    noteAuthError(error);
    catalogue.failed = true;
    status.dataset.state = "error";
    status.textContent = "";
    status.append(
      el("span", { class: "error-text" }, `The products couldn't be loaded. ${describeError(error, "browse the catalogue")} `),
      retryButton(() => loadPage())
    );
    more.hidden = received === 0;
  } finally {
    if (controller === catalogue.controller) grid.removeAttribute("aria-busy");
  }
}

function retryButton(action) {
  const button = el("button", { type: "button", class: "link-button", "data-testid": "retry" }, "Try again");
  button.addEventListener("click", action);
  return button;
}

function renderCard(product) {
  const card = el("li", { class: "card", "data-testid": "product-card", "data-product-id": product.id });
  const link = el("a", { class: "card-link", href: `#/product/${encodeURIComponent(product.id)}` });
  const media = el("div", { class: "card-media" });
  const placeholder = el("div", { class: "placeholder", "aria-hidden": "true" });
  media.append(placeholder);
  const body = el("div", { class: "card-body" });
  body.append(
    el("p", { class: "card-category", "data-testid": "card-category" }),
    el("h2", { class: "card-name", "data-testid": "card-name" }),
    el("p", { class: "card-description" })
  );
  const row = el("p", { class: "card-price-row" });
  row.append(el("span", { class: "price", "data-testid": "card-price" }), el("span", { class: "card-stock stock", "data-testid": "card-stock" }));
  body.append(row);
  link.append(media, body);
  card.append(link);
  fillCard(card, product);
  return card;
}

function fillCard(card, product) {
  const price = card.querySelector("[data-testid=card-price]");
  const stock = card.querySelector("[data-testid=card-stock]");
  const newPrice = formatPrice(product.priceCents, product.currency);
  const newStock = formatStock(product.stock);
  const changed = price.textContent && (price.textContent !== newPrice || stock.textContent !== newStock);
  card.querySelector("[data-testid=card-category]").textContent = product.category || "";
  card.querySelector("[data-testid=card-name]").textContent = product.name;
  card.querySelector(".card-description").textContent = product.description || "";
  price.textContent = newPrice;
  price.dataset.priceCents = product.priceCents || "0";
  stock.textContent = newStock;
  stock.dataset.stock = String(product.stock || 0);
  stock.classList.toggle("out", !product.stock);
  fillPlaceholder(card.querySelector(".placeholder"), product);
  const first = (product.imageIds || [])[0];
  const media = card.querySelector(".card-media");
  if (first && media.dataset.imageId !== first) {
    media.dataset.imageId = first;
    image(first)
      .then(({ url }) => {
        if (media.dataset.imageId !== first) return;
        let img = media.querySelector("img");
        if (!img) {
          img = el("img", { alt: "", loading: "lazy" });
          media.append(img);
        }
        img.src = url;
        media.classList.add("has-image");
      })
      .catch(() => {});
  }
  if (changed) flash(card);
}

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const error = $("filter-error");
  const min = $("filter-min-price").value.trim();
  const max = $("filter-max-price").value.trim();
  error.hidden = true;
  for (const [label, value] of [["minimum", min], ["maximum", max]]) {
    if (value !== "" && (parsePrice(value, "USD") === null || Number(value) < 0)) {
      error.textContent = `Enter the ${label} price as a number, like 25 or 9.99.`;
      error.hidden = false;
      return;
    }
  }
  if (min !== "" && max !== "" && Number(min) > Number(max)) {
    error.textContent = "The minimum price is above the maximum: swap them or change one.";
    error.hidden = false;
    return;
  }
  const params = new URLSearchParams();
  const query = $("filter-query").value.trim();
  const category = $("filter-category").value.trim();
  if (query) params.set("q", query);
  if (category) params.set("category", category);
  if (min) params.set("min", min);
  if (max) params.set("max", max);
  const hash = "#/" + (params.toString() ? "?" + params : "");
  if (location.hash === hash) route();
  else location.hash = hash;
});

function clearFilters() {
  $("filter-error").hidden = true;
  location.hash = "#/";
}
$("filter-clear").addEventListener("click", clearFilters);
$("empty-clear").addEventListener("click", clearFilters);
$("load-more").addEventListener("click", () => loadPage());

// --------------------------------------------------------------------------------------
// One product
// --------------------------------------------------------------------------------------

const productView = { id: null, product: null, load: 0, imageId: null };

async function showProduct(id) {
  setView("product");
  const fresh = productView.id !== id;
  productView.id = id;
  const load = ++productView.load;
  $("product-error").hidden = true;
  if (fresh) {
    productView.product = null;
    productView.imageId = null;
    $("product-detail").hidden = false;
    $("product-thumbnails").replaceChildren();
    $("product-image").hidden = true;
    $("product-image").removeAttribute("src");
    $("image-status").hidden = true;
    $("upload-status").textContent = "";
    $("upload-progress").hidden = true;
  }
  const known = products.get(id);
  if (known) renderProduct(known);
  else if (fresh) {
    $("product-name").textContent = "Loading…";
    for (const field of ["product-category", "product-price", "product-stock", "product-description", "product-sku", "product-updated"]) $(field).textContent = "";
  }
  startChat(id);
  try {
    const { product } = await client.unary(`${PRODUCTS}/GetProduct`, { id });
    if (load !== productView.load) return;
    remember(product);
    renderProduct(product);
  } catch (error) {
    if (load !== productView.load) return;
    noteAuthError(error);
    $("product-error").textContent =
      error.code === "not_found"
        ? "This product isn't in the catalogue (any more). Go back to the catalogue to find another."
        : `The product couldn't be loaded. ${describeError(error, "see this product")}`;
    $("product-error").hidden = false;
    if (!known) $("product-detail").hidden = true;
  }
}

function renderProduct(product) {
  const previous = productView.product;
  productView.product = product;
  document.title = `${product.name} · Storefront`;
  $("product-detail").hidden = false;
  $("product-detail").dataset.productId = product.id;
  $("product-category").textContent = product.category || "";
  $("product-name").textContent = product.name;
  const price = $("product-price");
  const newPrice = formatPrice(product.priceCents, product.currency);
  if (previous && previous.id === product.id && price.textContent !== newPrice) flash(price);
  price.textContent = newPrice;
  price.dataset.priceCents = product.priceCents || "0";
  const stock = $("product-stock");
  const newStock = formatStock(product.stock);
  if (previous && previous.id === product.id && stock.textContent !== newStock) flash(stock);
  stock.textContent = newStock;
  stock.dataset.stock = String(product.stock || 0);
  stock.classList.toggle("out", !product.stock);
  $("product-description").textContent = product.description || "";
  $("product-sku").textContent = product.sku;
  $("product-updated").textContent = formatTime(product.updateTime);
  fillPlaceholder($("product-image-placeholder"), product);
  $("staff-tools").hidden = !isStaff();
  $("edit-product").href = `#/product/${encodeURIComponent(product.id)}/edit`;
  renderImages(product);
}

function renderImages(product) {
  const ids = product.imageIds || [];
  const thumbnails = $("product-thumbnails");
  const shown = [...thumbnails.children].map((item) => item.dataset.imageId).join(",");
  if (shown !== ids.join(",")) {
    thumbnails.replaceChildren(
      ...ids.map((imageId, index) => {
        const item = el("li", { "data-image-id": imageId });
        const button = el("button", { type: "button", class: "thumbnail", "aria-label": `Show image ${index + 1} of ${ids.length}`, "data-testid": "thumbnail" });
        item.append(button);
        image(imageId)
          .then(({ url }) => button.append(el("img", { src: url, alt: "" })))
          .catch(() => button.append(el("span", { class: "thumbnail-broken" }, "!")));
        button.addEventListener("click", () => showMainImage(imageId));
        return item;
      })
    );
    thumbnails.hidden = ids.length < 2;
  }
  if (!ids.length) {
    productView.imageId = null;
    $("product-image").hidden = true;
    $("product-image-placeholder").hidden = false;
    $("image-status").hidden = true;
    return;
  }
  if (!ids.includes(productView.imageId)) showMainImage(ids[0]);
}

async function showMainImage(imageId) {
  productView.imageId = imageId;
  const img = $("product-image");
  const status = $("image-status");
  for (const item of $("product-thumbnails").children) item.classList.toggle("selected", item.dataset.imageId === imageId);
  status.textContent = "Loading image…";
  status.hidden = false;
  try {
    const { url, meta } = await image(imageId, { priority: true });
    if (productView.imageId !== imageId) return;
    img.src = url;
    img.alt = productView.product ? `${productView.product.name}${meta.filename ? ` (${meta.filename})` : ""}` : meta.filename || "";
    img.dataset.imageId = imageId;
    img.hidden = false;
    $("product-image-placeholder").hidden = true;
    status.hidden = true;
  } catch (error) {
    if (productView.imageId !== imageId) return;
    status.textContent = "";
    status.append(el("span", {}, `The image couldn't be loaded. ${describeError(error, "see the image")} `), retryButton(() => showMainImage(imageId)));
  }
}

function leaveProduct() {
  stopChat();
  productView.id = null;
  productView.load++;
}

// Uploads (staff): one UploadProductImages client stream for every chosen file.
$("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const product = productView.product;
  const files = [...$("upload-files").files];
  const status = $("upload-status");
  const progress = $("upload-progress");
  status.dataset.state = "";
  if (!product) return;
  if (!files.length) {
    status.textContent = "Choose one or more image files first.";
    return;
  }
  const wrong = files.find((file) => !IMAGE_TYPES.includes(file.type));
  if (wrong) {
    status.textContent = `“${wrong.name}” isn't a PNG, JPEG, WebP or GIF image; choose another file.`;
    status.dataset.state = "error";
    return;
  }
  const button = $("upload-button");
  button.disabled = true;
  progress.hidden = false;
  progress.value = 0;
  status.textContent = "Preparing…";
  try {
    const messages = [];
    for (const file of files) {
      const bytes = new Uint8Array(await file.arrayBuffer());
      messages.push({ metadata: { productId: product.id, filename: file.name, contentType: file.type, sha256: await sha256Hex(bytes) } });
      for (let at = 0; at < bytes.length; at += UPLOAD_CHUNK) {
        messages.push({ chunk: bytesToBase64(bytes.subarray(at, at + UPLOAD_CHUNK)) });
      }
    }
    const response = await client.clientStream(`${PRODUCTS}/UploadProductImages`, messages, {
      onProgress: (sent, total) => {
        const percent = total ? Math.floor((sent / total) * 100) : 0;
        progress.value = percent;
        status.textContent = `Uploading ${files.length === 1 ? "1 image" : `${files.length} images`}… ${percent}%`;
      },
    });
    progress.value = 100;
    const count = (response.images || []).length;
    status.dataset.state = "done";
    status.textContent = `Uploaded ${count === 1 ? "1 image" : `${count} images`} (${formatBytes(response.totalBytes)}).`;
    $("upload-files").value = "";
    const { product: updated } = await client.unary(`${PRODUCTS}/GetProduct`, { id: product.id });
    remember(updated);
    if (productView.id === updated.id) {
      renderProduct(updated);
      const newest = (response.images || [])[0];
      if (newest) showMainImage(newest.imageId);
    }
    updateCards(updated);
  } catch (error) {
    noteAuthError(error);
    status.dataset.state = "error";
    status.textContent = `The upload failed: ${describeError(error, "upload images")}`;
  } finally {
    button.disabled = false;
    setTimeout(() => (progress.hidden = true), 1500);
  }
});

// --------------------------------------------------------------------------------------
// Live changes: one WatchProducts stream for the page, resumed with since_sequence
// --------------------------------------------------------------------------------------

const watch = { controller: null, sequence: null, backoff: 1000 };

function setLive(state, text) {
  const badge = $("live-status");
  badge.dataset.state = state;
  badge.textContent = text || { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", off: "Offline" }[state];
}

async function startWatch() {
  if (watch.controller) watch.controller.abort();
  const controller = new AbortController();
  watch.controller = controller;
  for (;;) {
    const request = watch.sequence !== null ? { sinceSequence: String(watch.sequence) } : {};
    setLive(watch.sequence === null ? "connecting" : "reconnecting");
    try {
      const stream = client.serverStream(`${PRODUCTS}/WatchProducts`, request, {
        signal: controller.signal,
        onHeaders: (headers) => {
          const head = headers.get("x-change-sequence");
          if (head !== null && watch.sequence === null) watch.sequence = head;
          setLive("live");
        },
      });
      for await (const change of stream) {
        if (controller !== watch.controller) return;
        setLive("live");
        watch.backoff = 1000;
        if (change.sequence) watch.sequence = change.sequence;
        $("footer-sequence").textContent = `change #${watch.sequence}`;
        applyChange(change);
      }
    } catch (error) {
      if (controller !== watch.controller || error.code === "canceled") return;
      if (error.code === "out_of_range" || error.code === "resource_exhausted") {
        // The log no longer holds where we were: start from the head and reload what is shown.
        watch.sequence = null;
        refreshShown();
      } else if (error.code === "unauthenticated" || error.code === "permission_denied") {
        noteAuthError(error);
        setLive("off", "Sign in for live prices");
        return;
      } else if (error.code === "unimplemented") {
        setLive("off", "Live updates unavailable");
        return;
      }
    }
    if (controller !== watch.controller) return;
    setLive("reconnecting");
    await sleep(watch.backoff);
    watch.backoff = Math.min(watch.backoff * 2, 15000);
    if (controller !== watch.controller) return;
  }
}

function updateCards(product) {
  for (const card of document.querySelectorAll(`[data-testid=product-card][data-product-id="${CSS.escape(product.id)}"]`)) {
    fillCard(card, product);
  }
}

function applyChange(change) {
  const product = change.product;
  if (!product || !product.id) return;
  if (change.kind === "DELETED") {
    products.delete(product.id);
    for (const card of document.querySelectorAll(`[data-testid=product-card][data-product-id="${CSS.escape(product.id)}"]`)) {
      card.classList.add("removed");
      card.querySelector("[data-testid=card-stock]").textContent = "No longer available";
    }
    if (productView.id === product.id) {
      $("product-error").textContent = "This product was just removed from the catalogue.";
      $("product-error").hidden = false;
    }
    return;
  }
  remember(product);
  updateCards(product);
  if (productView.id === product.id) renderProduct(product);
}

async function refreshShown() {
  if (productView.id) showProduct(productView.id);
  const ids = [...document.querySelectorAll("[data-testid=product-card]")].map((card) => card.dataset.productId);
  for (const id of ids.slice(0, 100)) {
    try {
      const { product } = await client.unary(`${PRODUCTS}/GetProduct`, { id });
      remember(product);
      updateCards(product);
    } catch (_) {
      // gone or unreachable: the next change or reload shows it
    }
  }
}

// --------------------------------------------------------------------------------------
// Chat: FollowChat (history, then live messages) and SendChatMessage
// --------------------------------------------------------------------------------------

const chat = { controller: null, room: null, lastSequence: 0, backoff: 1000 };

function setChatState(text, state = "") {
  $("chat-state").textContent = text;
  $("chat").dataset.state = state;
}

function showChatError(text) {
  $("chat-error").textContent = text;
  $("chat-error").hidden = !text;
}

function stopChat() {
  if (chat.controller) chat.controller.abort();
  chat.controller = null;
  chat.room = null;
}

function startChat(room) {
  if (chat.room === room && (chat.controller || !session)) return;
  stopChat();
  chat.room = room;
  chat.lastSequence = 0;
  $("chat-messages").replaceChildren();
  showChatError("");
  $("chat-signin").hidden = !!session;
  $("chat-form").hidden = !session;
  if (!session) {
    setChatState("", "signed-out");
    return;
  }
  const controller = new AbortController();
  chat.controller = controller;
  chat.backoff = 1000;
  followChat(controller, room);
}

async function followChat(controller, room) {
  for (;;) {
    setChatState("Connecting…", "connecting");
    try {
      // Connected once the first message comes (the history, or our own JOIN): only then is
      // this member in the room, so that SendChatMessage finds it.
      const stream = client.serverStream(`${PRODUCTS}/FollowChat`, { room, sender: session.username }, {
        signal: controller.signal,
      });
      for await (const message of stream) {
        if (controller !== chat.controller) return;
        setChatState("Connected", "connected");
        chat.backoff = 1000;
        appendChatMessage(message);
      }
    } catch (error) {
      if (controller !== chat.controller || error.code === "canceled") return;
      if (error.code === "unimplemented") {
        setChatState("", "unavailable");
        showChatError("Chat isn't available on this shop's server yet.");
        $("chat-form").hidden = true;
        return;
      }
      if (error.code === "unauthenticated" || error.code === "permission_denied" || error.code === "not_found" || error.code === "invalid_argument") {
        noteAuthError(error);
        setChatState("", "closed");
        showChatError(error.code === "not_found" ? "This product has no chat room." : describeError(error, "join the chat"));
        return;
      }
      showChatError(error.code === "resource_exhausted" ? `The chat dropped you: ${error.message}. Reconnecting…` : "");
    }
    if (controller !== chat.controller) return;
    setChatState("Reconnecting…", "reconnecting");
    await sleep(chat.backoff);
    chat.backoff = Math.min(chat.backoff * 2, 15000);
    if (controller !== chat.controller) return;
  }
}

function appendChatMessage(message) {
  const sequence = Number(message.sequence || 0);
  if (sequence && sequence <= chat.lastSequence) return;
  if (sequence) chat.lastSequence = sequence;
  const kind = message.kind || "KIND_UNSPECIFIED";
  const item = el("li", { class: `chat-message kind-${kind.toLowerCase()}`, "data-testid": "chat-message", "data-kind": kind, "data-sequence": String(sequence), "data-sender": message.sender || "" });
  if (kind === "MESSAGE") {
    if (session && message.sender === session.username) item.classList.add("mine");
    item.append(el("span", { class: "chat-sender" }, message.sender || "someone"), el("span", { class: "chat-text", "data-testid": "chat-text" }, message.text || ""));
    if (message.sentTime) item.append(el("time", { datetime: message.sentTime, class: "chat-time" }, new Date(message.sentTime).toLocaleTimeString("en", { hour: "2-digit", minute: "2-digit" })));
  } else if (kind === "JOIN") {
    item.textContent = `${message.sender || "Someone"} joined`;
  } else if (kind === "LEAVE") {
    item.textContent = `${message.sender || "Someone"} left`;
  } else {
    item.textContent = message.text || "";
  }
  const list = $("chat-messages");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  list.append(item);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

$("chat-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (!text || !chat.room || !session) return;
  const send = $("chat-send");
  send.disabled = true;
  showChatError("");
  try {
    await client.unary(`${PRODUCTS}/SendChatMessage`, { room: chat.room, sender: session.username, text });
    input.value = "";
  } catch (error) {
    noteAuthError(error);
    showChatError(
      error.code === "resource_exhausted"
        ? "You're sending messages too fast. Wait a moment, then send it again."
        : error.code === "unimplemented"
          ? "Chat isn't available on this shop's server yet."
          : `Your message wasn't sent. ${describeError(error, "chat")}`
    );
  } finally {
    send.disabled = false;
    input.focus();
  }
});

$("chat-signin-button").addEventListener("click", openSignIn);

// --------------------------------------------------------------------------------------
// The editor (staff): CreateProduct and UpdateProduct with the etag
// --------------------------------------------------------------------------------------

const editor = { id: null, product: null, load: 0 };
const EDITOR_FIELDS = ["name", "sku", "category", "price", "currency", "stock", "description"];

function clearEditorErrors() {
  for (const field of EDITOR_FIELDS) {
    $(`error-${field}`).hidden = true;
    $(`edit-${field}`).removeAttribute("aria-invalid");
  }
  $("editor-error").hidden = true;
  $("editor-reload").hidden = true;
}

function showFieldError(field, text) {
  $(`error-${field}`).textContent = text;
  $(`error-${field}`).hidden = false;
  $(`edit-${field}`).setAttribute("aria-invalid", "true");
}

function showEditorError(text, { reload = false } = {}) {
  $("editor-error-text").textContent = text;
  $("editor-error").hidden = false;
  $("editor-reload").hidden = !reload;
}

function fillEditor(product) {
  $("edit-name").value = product.name || "";
  $("edit-sku").value = product.sku || "";
  $("edit-category").value = product.category || "";
  $("edit-currency").value = product.currency || "USD";
  $("edit-price").value = product.id || product.priceCents ? minorToInput(product.priceCents, product.currency) : "";
  $("edit-stock").value = String(product.stock || 0);
  $("edit-description").value = product.description || "";
}

async function showEditor(id) {
  setView("editor");
  editor.id = id;
  editor.product = null;
  const load = ++editor.load;
  clearEditorErrors();
  $("editor-title").textContent = id ? "Edit product" : "New product";
  $("editor-submit").textContent = id ? "Save changes" : "Create product";
  $("editor-back").href = id ? `#/product/${encodeURIComponent(id)}` : "#/";
  $("editor-cancel").href = $("editor-back").href;
  document.title = `${id ? "Edit product" : "New product"} · Storefront`;
  const denied = $("editor-denied");
  if (!isStaff()) {
    denied.textContent = session
      ? `You're signed in as ${session.username} (${session.role}). Only staff can ${id ? "edit" : "add"} products; sign in with a staff account.`
      : `Only staff can ${id ? "edit" : "add"} products. Sign in with a staff account first.`;
    denied.hidden = false;
    $("editor-form").hidden = true;
    return;
  }
  denied.hidden = true;
  $("editor-form").hidden = false;
  if (!id) {
    fillEditor({ currency: "USD", stock: 0 });
    $("edit-name").focus();
    return;
  }
  $("editor-submit").disabled = true;
  try {
    const { product } = await client.unary(`${PRODUCTS}/GetProduct`, { id });
    if (load !== editor.load) return;
    editor.product = product;
    fillEditor(product);
  } catch (error) {
    if (load !== editor.load) return;
    noteAuthError(error);
    showEditorError(error.code === "not_found" ? "This product isn't in the catalogue any more." : `The product couldn't be loaded. ${describeError(error, "edit it")}`);
  } finally {
    if (load === editor.load) $("editor-submit").disabled = false;
  }
}

/** The form field a violation's path names ("product.price_cents" -> "price"). */
function fieldOfViolation(path) {
  const name = String(path || "").replace(/^product\./, "");
  const map = { price_cents: "price", priceCents: "price" };
  const field = map[name] || name;
  return EDITOR_FIELDS.includes(field) ? field : null;
}

$("editor-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!isStaff()) return;
  clearEditorErrors();
  const currency = $("edit-currency").value.trim().toUpperCase();
  const priceCents = parsePrice($("edit-price").value, currency);
  if (priceCents === null) {
    showFieldError("price", "Enter the price as a number, like 12.99.");
    $("edit-price").focus();
    return;
  }
  const stockText = $("edit-stock").value.trim();
  if (!/^-?\d+$/.test(stockText)) {
    showFieldError("stock", "Enter the number of units in stock, like 12.");
    $("edit-stock").focus();
    return;
  }
  const fields = {
    sku: $("edit-sku").value.trim(),
    name: $("edit-name").value.trim(),
    description: $("edit-description").value,
    category: $("edit-category").value.trim(),
    priceCents,
    currency,
    stock: Number(stockText),
  };
  const submit = $("editor-submit");
  submit.disabled = true;
  const id = editor.id;
  try {
    let product;
    if (id) {
      if (!editor.product) throw new ConnectError("failed_precondition", "the product has not loaded yet");
      ({ product } = await client.unary(`${PRODUCTS}/UpdateProduct`, { product: { ...fields, id, etag: editor.product.etag } }));
    } else {
      ({ product } = await client.unary(`${PRODUCTS}/CreateProduct`, { product: fields }));
    }
    remember(product);
    updateCards(product);
    catalogue.key = id ? catalogue.key : null; // a new product: list afresh next time
    showBanner(id ? `Saved “${product.name}”.` : `Created “${product.name}”.`, "success");
    location.hash = `#/product/${encodeURIComponent(product.id)}`;
  } catch (error) {
    noteAuthError(error);
    if (error.code === "aborted") {
      showEditorError("Someone changed this product meanwhile; reload it to see their changes, then make yours again.", { reload: true });
    } else if (error.code === "invalid_argument") {
      const violations = error.fieldViolations;
      const unplaced = [];
      let first = null;
      for (const { field, description } of violations) {
        const input = fieldOfViolation(field);
        if (input) {
          const text = description ? description[0].toUpperCase() + description.slice(1) : "This value isn't accepted";
          showFieldError(input, /[.!?]$/.test(text) ? text : text + ".");
          first = first || input;
        } else unplaced.push(description || field);
      }
      showEditorError(violations.length ? `Please fix the highlighted fields.${unplaced.length ? " " + unplaced.join(" ") : ""}` : `Please check what you entered: ${error.message}`);
      if (first) $(`edit-${first}`).focus();
    } else if (error.code === "already_exists") {
      showFieldError("sku", `Another product already has this SKU. ${error.message}`);
      showEditorError("Please fix the highlighted fields.");
      $("edit-sku").focus();
    } else if (error.code === "not_found" && id) {
      showEditorError("This product isn't in the catalogue any more; someone deleted it.");
    } else {
      showEditorError(describeError(error, id ? "edit products" : "add products"));
    }
  } finally {
    submit.disabled = false;
  }
});

$("editor-reload").addEventListener("click", async () => {
  if (!editor.id) return;
  try {
    const { product } = await client.unary(`${PRODUCTS}/GetProduct`, { id: editor.id });
    editor.product = product;
    fillEditor(product);
    clearEditorErrors();
    showBanner("Reloaded: these are the product's current values. Make your changes again.", "info");
  } catch (error) {
    showEditorError(`The product couldn't be reloaded. ${describeError(error, "edit it")}`);
  }
});

// --------------------------------------------------------------------------------------
// Signing in
// --------------------------------------------------------------------------------------

function renderSession() {
  const user = $("session-user");
  user.replaceChildren();
  if (session) {
    user.append(el("span", { class: "session-name", "data-testid": "session-name" }, session.username), el("span", { class: `role role-${session.role}`, "data-testid": "session-role" }, session.role));
  }
  user.hidden = !session;
  $("sign-in-button").hidden = !!session;
  $("sign-out-button").hidden = !session;
  $("nav-new-product").hidden = !isStaff();
  document.body.dataset.role = session ? session.role : "anonymous";
}

function openSignIn() {
  $("sign-in-error").hidden = true;
  $("sign-in-password").value = "";
  $("sign-in-dialog").showModal();
  $("sign-in-username").focus();
}

$("sign-in-button").addEventListener("click", openSignIn);
$("sign-in-cancel").addEventListener("click", () => $("sign-in-dialog").close());

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("sign-in-username").value.trim();
  const password = $("sign-in-password").value;
  const error = $("sign-in-error");
  error.hidden = true;
  if (!username || !password) {
    error.textContent = "Enter your username and password.";
    error.hidden = false;
    return;
  }
  const submit = $("sign-in-submit");
  submit.disabled = true;
  try {
    const response = await client.unary(`${AUTH}/Login`, { username, password });
    setSession({ token: response.accessToken, role: response.role || "shopper", username, expireTime: response.expireTime || null });
    $("sign-in-dialog").close();
    showBanner(`Welcome, ${username}.`, "success");
    afterSessionChange();
  } catch (failure) {
    error.textContent =
      failure.code === "unauthenticated"
        ? "That username and password don't match an account. Check them and try again."
        : failure.code === "resource_exhausted"
          ? describeError(failure)
          : failure.code === "invalid_argument"
            ? "Enter your username and password."
            : describeError(failure, "sign in");
    error.hidden = false;
  } finally {
    submit.disabled = false;
  }
});

$("sign-out-button").addEventListener("click", () => {
  setSession(null);
  showBanner("You're signed out.", "info");
  afterSessionChange();
});

function afterSessionChange() {
  stopChat();
  startWatch();
  route();
}

// --------------------------------------------------------------------------------------
// Start
// --------------------------------------------------------------------------------------

renderSession();
route();
startWatch();
