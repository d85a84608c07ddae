// Small DOM and formatting helpers. Data is only ever put into the page as text
// (textContent), never as markup.

export const $ = (selector, root = document) => root.querySelector(selector);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function setText(root, selector, value) {
  const node = root.querySelector(selector);
  if (node) node.textContent = value ?? "–";
}

// The two-digit country calling codes (ITU E.164 assignments); 1 and 7 are the one-digit
// ones, every other code has three digits.
const TWO_DIGIT_CODES = new Set(
  "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split(
    " ",
  ),
);

function countryCode(digits) {
  if (digits[0] === "1" || digits[0] === "7") return digits[0];
  return TWO_DIGIT_CODES.has(digits.slice(0, 2)) ? digits.slice(0, 2) : digits.slice(0, 3);
}

// "+27 **** 1234": the country code and the last four digits, as operators read them.
export function maskPhone(digits) {
  if (!digits) return "not paired";
  const clean = String(digits).replace(/\D/g, "");
  if (clean.length <= 7) return "+" + clean;
  return `+${countryCode(clean)} **** ${clean.slice(-4)}`;
}

export function when(iso) {
  if (!iso) return "never";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const seconds = Math.round((Date.now() - at.getTime()) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return at.toLocaleString();
}

export function clock(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

export function chatLabel(chat) {
  if (chat.name) return chat.name;
  const [user, server] = String(chat.jid).split("@");
  return server === "s.whatsapp.net" ? "+" + user.split(":")[0] : chat.jid;
}

// Runs `work` with the button disabled and spinning; shows the outcome next to it.
export async function busy(button, work) {
  button.disabled = true;
  button.classList.add("busy");
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.classList.remove("busy");
    button.removeAttribute("aria-busy");
  }
}
